//! Hyperliquid's JSON as the local Hyperliquid venue spells it (docs/VENUES.md §13): `l2Book`
//! pushes (a full snapshot of the top 20 levels a side), `trades` pushes, the
//! `subscriptionResponse` acknowledgement, `error` and `pong`. Pure functions; no I/O.
//!
//! Prices and sizes are JSON strings in their shortest exact decimal text; `n` (orders at the
//! level) is an integer; times are epoch milliseconds as numbers on the simulated clock.
//! Every fourth trade carries an all-zero `hash`, as real ones sometimes do: it is not a key.

use std::fmt::Write as _;

use crate::model::{Level, TakerSide, Trade};

/// Levels a side in an `l2Book` push.
pub const BOOK_LEVELS: usize = 20;

fn levels(out: &mut String, levels: &[Level]) {
    out.push('[');
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        // One order per lot of size, at least one: a plausible count, not a fact.
        let _ = write!(
            out,
            r#"{comma}{{"px":"{}","sz":"{}","n":{}}}"#,
            level.price,
            level.qty,
            1 + n % 5
        );
    }
    out.push(']');
}

/// An `l2Book` push of `coin`'s top levels (bids best first, asks best first).
pub fn book(coin: &str, bids: &[Level], asks: &[Level], ts_ms: i64) -> String {
    let mut out =
        format!(r#"{{"channel":"l2Book","data":{{"coin":"{coin}","time":{ts_ms},"levels":["#);
    levels(&mut out, bids);
    out.push(',');
    levels(&mut out, asks);
    out.push_str("]}}");
    out
}

/// A `trades` push of `trades`.
pub fn trades(coin: &str, trades: &[Trade]) -> String {
    let mut out = r#"{"channel":"trades","data":["#.to_owned();
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let side = match trade.side {
            TakerSide::Buy => "B",
            TakerSide::Sell => "A",
        };
        let hash = if trade.id % 4 == 0 { 0 } else { trade.id.unsigned_abs() };
        let ts = trade.ts_event.as_nanos() / 1_000_000;
        let _ = write!(
            out,
            r#"{comma}{{"coin":"{coin}","side":"{side}","px":"{}","sz":"{}","hash":"0x{hash:064x}","time":{ts},"tid":{},"users":["0x{:040x}","0x{:040x}"]}}"#,
            trade.price,
            trade.qty,
            trade.id,
            trade.id,
            trade.id + 1
        );
    }
    out.push_str("]}");
    out
}

/// The acknowledgement of one subscription (`kind` is `l2Book` or `trades`).
pub fn subscribed(kind: &str, coin: &str) -> String {
    format!(
        r#"{{"channel":"subscriptionResponse","data":{{"method":"subscribe","subscription":{{"type":"{kind}","coin":"{coin}"}}}}}}"#
    )
}

/// An `error` push naming what was refused.
pub fn error(message: &str) -> String {
    format!(r#"{{"channel":"error","data":{}}}"#, serde_json::Value::from(message))
}

/// The answer to `{"method":"ping"}`.
pub const PONG: &str = r#"{"channel":"pong"}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty, TradeKind};

    #[test]
    fn pushes_are_json_in_the_venues_layout() {
        let lv = |p: &str, q: &str| Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap());
        let text =
            book("BTC", &[lv("105055", "3.03622")], &[lv("105056", "0.0001")], 1_737_918_843_542);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["data"]["levels"][0][0]["px"], "105055");
        assert_eq!(v["data"]["levels"][1][0]["sz"], "0.0001");
        let trade = Trade {
            market: "BTC".into(),
            id: 8,
            side: TakerSide::Sell,
            kind: TradeKind::Trade,
            ts_event: EventTime::from_nanos(1_737_918_843_542_000_000),
            price: Price::parse("105055").unwrap(),
            qty: Qty::parse("0.1").unwrap(),
        };
        let v: serde_json::Value = serde_json::from_str(&trades("BTC", &[trade])).unwrap();
        assert_eq!(
            (v["data"][0]["side"].as_str(), v["data"][0]["tid"].as_i64()),
            (Some("A"), Some(8))
        );
        assert_eq!(v["data"][0]["hash"], format!("0x{}", "0".repeat(64)));
        let v: serde_json::Value = serde_json::from_str(&subscribed("l2Book", "BTC")).unwrap();
        assert_eq!(v["data"]["subscription"]["type"], "l2Book");
        assert!(serde_json::from_str::<serde_json::Value>(&error("bad \"coin\"")).is_ok());
    }
}
