//! Every value an OKX message puts in the tables, checked in one place before the message may
//! change anything (docs/VENUES.md §10 "Bad venue data"): the instrument (`arg.instId` and a
//! trade's `instId`: the subscribed one), each `ts` (not before 2010, not a day after the
//! receive clock), each level's price (above zero) and size (not below zero: zero deletes),
//! each trade's price and size (above zero). Number syntax, sides and ids are refused by the
//! parser itself ([`super::wire`]), naming the field.

use crate::model::BookSide;
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{BookMessage, WireLevel, WireTrade};

/// A `books` message whose every value the tables can hold.
pub fn book(message: &BookMessage, want: &Expect<'_>) -> Result<(), ParseError> {
    want.market("arg.instId", &message.inst_id)?;
    for (index, data) in message.data.iter().enumerate() {
        want.time(&format!("data[{index}].ts"), data.ts_event)?;
        for (side, name, wire) in
            [(BookSide::Bid, "bids", &data.bids), (BookSide::Ask, "asks", &data.asks)]
        {
            let levels: Vec<_> = wire.iter().map(|l: &WireLevel| l.level).collect();
            check::levels(side, &levels, |i| format!("data[{index}].{name}[{i}][0]"))?;
        }
    }
    Ok(())
}

/// A `trades` message whose every trade the tables can hold.
pub fn trades(trades: &[WireTrade], want: &Expect<'_>) -> Result<(), ParseError> {
    for (index, trade) in trades.iter().enumerate() {
        let at = |name: &str| format!("data[{index}].{name}");
        want.market(&at("instId"), &trade.inst_id)?;
        want.time(&at("ts"), trade.ts_event)?;
        check::price(&at("px"), trade.price)?;
        check::trade_size(&at("sz"), trade.qty)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::okx::wire::{parse, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_652_459_225_500_000_000); // 2022-05-13

    fn run(text: &str) -> Result<(), String> {
        let want = Expect { market: "BTC-USDT", ts_recv: RECV };
        match parse(text).map_err(|e| e.to_string())? {
            Message::Book(m) => book(&m, &want),
            Message::Trades(t) => trades(&t, &want),
            other => panic!("{other:?}"),
        }
        .map_err(|e| e.to_string())
    }

    fn book_text(inst: &str, px: &str, sz: &str, ts: &str) -> String {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"{inst}"}},"action":"update","data":[{{"bids":[["{px}","{sz}","0","1"]],"asks":[],"ts":"{ts}","checksum":1}}]}}"#
        )
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        assert_eq!(run(&book_text("BTC-USDT", "30182.6", "0", "1652459225464")), Ok(()));
        let cases = [
            (book_text("ETH-USDT", "1", "1", "1652459225464"), "field `arg.instId` = \"ETH-USDT\" names another market"),
            (book_text("BTC-USDT", "-1", "1", "1652459225464"), "field `data[0].bids[0][0]` = -1 is not a price above zero"),
            (book_text("BTC-USDT", "1", "-1", "1652459225464"), "bid level 1 has negative absolute size -1"),
            (book_text("BTC-USDT", "1", "1", "1262303999999"), "field `data[0].ts` = 2009-12-31T23:59:59.999Z is before 2010-01-01"),
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"0","side":"buy","ts":"1652459225464"}]}"#.to_owned(),
                "field `data[0].sz` = 0 is not a traded size above zero",
            ),
        ];
        for (text, want) in cases {
            let err = run(&text).unwrap_err();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
