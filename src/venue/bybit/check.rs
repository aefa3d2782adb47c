//! Every value a Bybit message puts in the tables, checked in one place before the message may
//! change anything (docs/VENUES.md §10, §14.5): the symbol (`data.s`, a trade's `s`: the
//! subscribed one), each venue time (`ts`, `cts`, a trade's `T`: not before 2010, not a day
//! after the receive clock), the update id `u` (above zero), each level's price (above zero)
//! and size (not below zero: zero deletes), each trade's price and size (above zero). Number
//! syntax, sides and ids are refused by the parser itself ([`super::wire`]), naming the field;
//! the topic is the rules' to judge (it says which subscription a message belongs to).

use crate::model::BookSide;
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{BookMessage, TradesMessage};

/// An `orderbook` message whose every value the tables can hold.
pub fn book(message: &BookMessage, want: &Expect<'_>) -> Result<(), ParseError> {
    let data = &message.data;
    want.market("data.s", &data.symbol)?;
    want.time("ts", message.ts_event)?;
    if let Some(cts) = message.cts {
        want.time("cts", cts)?;
    }
    if data.u <= 0 {
        return Err(ParseError::Impossible {
            field: "data.u".to_owned(),
            value: data.u.to_string(),
            rule: "is not an update id above zero".to_owned(),
        });
    }
    for (side, name, levels) in [(BookSide::Bid, "b", &data.bids), (BookSide::Ask, "a", &data.asks)]
    {
        check::levels(side, levels, |i| format!("data.{name}[{i}][0]"))?;
    }
    Ok(())
}

/// A `publicTrade` message whose every trade the tables can hold.
pub fn trades(message: &TradesMessage, want: &Expect<'_>) -> Result<(), ParseError> {
    want.time("ts", message.ts_event)?;
    for (index, trade) in message.trades.iter().enumerate() {
        let at = |name: &str| format!("data[{index}].{name}");
        want.market(&at("s"), &trade.symbol)?;
        want.time(&at("T"), trade.ts_event)?;
        check::price(&at("p"), trade.price)?;
        check::trade_size(&at("v"), trade.qty)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::bybit::wire::{parse, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_733_011_201_000_000_000); // 2024-12-01

    fn run(text: &str) -> Result<(), String> {
        let want = Expect { market: "XRPUSDT", ts_recv: RECV };
        match parse(text).map_err(|e| e.to_string())? {
            Message::Book(m) => book(&m, &want),
            Message::Trades(t) => trades(&t, &want),
            other => panic!("{other:?}"),
        }
        .map_err(|e| e.to_string())
    }

    fn book_text(symbol: &str, px: &str, sz: &str, ts: &str, u: &str) -> String {
        format!(
            r#"{{"topic":"orderbook.50.{symbol}","type":"delta","ts":{ts},"data":{{"s":"{symbol}","b":[["{px}","{sz}"]],"a":[],"u":{u},"seq":7}},"cts":{ts}}}"#
        )
    }

    fn trade_text(px: &str, sz: &str, time: &str) -> String {
        format!(
            r#"{{"topic":"publicTrade.XRPUSDT","type":"snapshot","ts":1733011200691,"data":[{{"T":{time},"s":"XRPUSDT","S":"Sell","v":"{sz}","p":"{px}","i":"1","BT":false}}]}}"#
        )
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        const TS: &str = "1733011200691";
        assert_eq!(run(&book_text("XRPUSDT", "1.9531", "0", TS, "5")), Ok(()));
        assert_eq!(run(&trade_text("1.9531", "10", TS)), Ok(()));
        let cases = [
            (
                book_text("BTCUSDT", "1", "1", TS, "5"),
                "field `data.s` = \"BTCUSDT\" names another market",
            ),
            (
                book_text("XRPUSDT", "0", "1", TS, "5"),
                "field `data.b[0][0]` = 0 is not a price above zero",
            ),
            (book_text("XRPUSDT", "1", "-1", TS, "5"), "bid level 1 has negative absolute size -1"),
            (
                book_text("XRPUSDT", "1", "1", "1262303999999", "5"),
                "field `ts` = 2009-12-31T23:59:59.999Z is before 2010-01-01",
            ),
            (
                book_text("XRPUSDT", "1", "1", TS, "0"),
                "field `data.u` = 0 is not an update id above zero",
            ),
            (trade_text("1", "0", TS), "field `data[0].v` = 0 is not a traded size above zero"),
            (trade_text("-1", "1", TS), "field `data[0].p` = -1 is not a price above zero"),
            (trade_text("1", "1", "1833011200691"), "field `data[0].T` = 2028-"),
        ];
        for (text, want) in cases {
            let err = run(&text).unwrap_err();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
