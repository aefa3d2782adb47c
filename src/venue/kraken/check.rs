//! Every value a Kraken v2 message puts in the tables, checked in one place before the
//! message may change anything (docs/VENUES.md "Bad venue data"): each `data` element's
//! `symbol` (the subscribed pair), its `timestamp` (not before 2010, not a day after the
//! receive clock), each level's price (above zero) and qty (not below zero: zero removes the
//! level), each trade's price and qty (above zero). Sides, ids, number syntax and decimals
//! beyond the tables' scale are refused by the parser itself ([`super::wire`]), naming the
//! field. A book element without a `timestamp` is refused: the documentation gives every
//! snapshot and update one, and a row needs its venue time.

use crate::model::{BookSide, Level, Price, Qty};
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{BookMessage, TradesMessage, WireLevel};

/// A `book` message whose every value the tables can hold.
pub fn book(message: &BookMessage, want: &Expect<'_>) -> Result<(), ParseError> {
    for (index, data) in message.data.iter().enumerate() {
        let at = |name: &str| format!("data[{index}].{name}");
        want.market(&at("symbol"), &data.symbol)?;
        match data.ts_event {
            Some(ts) => want.time(&at("timestamp"), ts)?,
            None => return Err(ParseError::MissingField { field: at("timestamp") }),
        }
        let bids = levels(&data.bids);
        check::levels(BookSide::Bid, &bids, |i| format!("data[{index}].bids[{i}].price"))?;
        let asks = levels(&data.asks);
        check::levels(BookSide::Ask, &asks, |i| format!("data[{index}].asks[{i}].price"))?;
    }
    Ok(())
}

/// A `trade` message whose every trade the tables can hold.
pub fn trades(message: &TradesMessage, want: &Expect<'_>) -> Result<(), ParseError> {
    for (index, trade) in message.trades.iter().enumerate() {
        let at = |name: &str| format!("data[{index}].{name}");
        want.market(&at("symbol"), &trade.symbol)?;
        want.time(&at("timestamp"), trade.ts_event)?;
        check::price(&at("price"), Price::from_raw(trade.price.raw))?;
        check::trade_size(&at("qty"), Qty::from_raw(trade.qty.raw))?;
    }
    Ok(())
}

fn levels(wire: &[WireLevel]) -> Vec<Level> {
    wire.iter()
        .map(|l| Level::new(Price::from_raw(l.price.raw), Qty::from_raw(l.qty.raw)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::kraken::wire::{parse, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_690_731_015_000_000_000); // 2023-07-30

    fn run(text: &str) -> Result<(), String> {
        let want = Expect { market: "BTC/USD", ts_recv: RECV };
        match parse(text).map_err(|e| e.to_string())? {
            Message::Book(m) => book(&m, &want),
            Message::Trades(m) => trades(&m, &want),
            other => panic!("{other:?}"),
        }
        .map_err(|e| e.to_string())
    }

    fn book_text(symbol: &str, price: &str, qty: &str, ts: &str) -> String {
        format!(
            r#"{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}","bids":[{{"price":{price},"qty":{qty}}}],"asks":[],"checksum":1{ts}}}]}}"#
        )
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let ts = r#","timestamp":"2023-07-30T15:30:15.230502Z""#;
        assert_eq!(run(&book_text("BTC/USD", "29430.3", "0.0", ts)), Ok(()));
        let cases = [
            (book_text("ETH/USD", "29430.3", "1.0", ts), "field `data[0].symbol` = \"ETH/USD\" names another market"),
            (book_text("BTC/USD", "-1.0", "1.0", ts), "field `data[0].bids[0].price` = -1 is not a price above zero"),
            (book_text("BTC/USD", "1.0", "-1.0", ts), "bid level 1 has negative absolute size -1"),
            (book_text("BTC/USD", "1.0", "1.0", ""), "missing field `data[0].timestamp`"),
            (
                book_text("BTC/USD", "1.0", "1.0", r#","timestamp":"2009-12-31T23:59:59Z""#),
                "field `data[0].timestamp` = 2009-12-31T23:59:59.000Z is before 2010-01-01",
            ),
            (
                r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1.0,"qty":0.0,"trade_id":1,"timestamp":"2023-07-30T15:30:15Z"}]}"#.to_owned(),
                "field `data[0].qty` = 0 is not a traded size above zero",
            ),
        ];
        for (text, want) in cases {
            let err = run(&text).unwrap_err();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
