//! Bybit v5's public JSON as the local Bybit venue spells it (docs/VENUES.md §14):
//! `orderbook.{depth}.{symbol}` snapshots and deltas with `u` and `seq`, `publicTrade` messages
//! (typed "snapshot" though each carries new trades; `S` is the taker's side; `i` a UUID, as on
//! the derivatives endpoints), the
//! `subscribe` response and the pong. Pure functions; no I/O.
//!
//! Prices and sizes are JSON strings in their shortest exact decimal text (`"3000.5"`,
//! `"0.02"`); times are epoch milliseconds as numbers, on the simulated clock.

use std::fmt::Write as _;

use crate::model::{Level, TakerSide, Trade};

fn levels(out: &mut String, name: &str, levels: &[Level]) {
    let _ = write!(out, r#""{name}":["#);
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let _ = write!(out, r#"{comma}["{}","{}"]"#, level.price, level.qty);
    }
    out.push(']');
}

/// Where a book message sits: `u` rises by one per message of a subscription, `seq` is the
/// venue's cross sequence (rises, not by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub u: i64,
    pub seq: i64,
}

/// An `orderbook.{depth}.{symbol}` message; deletes are levels of size 0.
pub fn book(
    depth: usize,
    symbol: &str,
    snapshot: bool,
    (bids, asks): (&[Level], &[Level]),
    ids: Ids,
    ts_ms: i64,
) -> String {
    let kind = if snapshot { "snapshot" } else { "delta" };
    let mut out = format!(
        r#"{{"topic":"orderbook.{depth}.{symbol}","type":"{kind}","ts":{ts_ms},"data":{{"s":"{symbol}","#
    );
    levels(&mut out, "b", bids);
    out.push(',');
    levels(&mut out, "a", asks);
    // The matching engine's time is a little before the push's.
    let cts = ts_ms - 2;
    let _ = write!(out, r#","u":{},"seq":{}}},"cts":{cts}}}"#, ids.u, ids.seq);
    out
}

/// The high half of every simulated trade's UUID.
const UUID_HIGH: u64 = 0x20f4_3950_d8dd_5b31;

/// Trade `id` as a UUID, the way Bybit's derivatives spell `i`, chosen so that the tables'
/// fold of it (the halves XORed, docs/VENUES.md §14.4) is `id` again: the simulator's log and
/// the recorded `trade_id` then name the same trade.
pub fn trade_uuid(id: i64) -> String {
    let low = UUID_HIGH ^ id as u64;
    let hex = format!("{UUID_HIGH:016x}{low:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A `publicTrade.{symbol}` message of `trades`, one row each.
pub fn trades(symbol: &str, trades: &[Trade], ts_ms: i64) -> String {
    let mut out =
        format!(r#"{{"topic":"publicTrade.{symbol}","type":"snapshot","ts":{ts_ms},"data":["#);
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let side = match trade.side {
            TakerSide::Buy => "Buy",
            TakerSide::Sell => "Sell",
        };
        let ts = trade.ts_event.as_nanos() / 1_000_000;
        let _ = write!(
            out,
            r#"{comma}{{"T":{ts},"s":"{symbol}","S":"{side}","v":"{}","p":"{}","L":"ZeroPlusTick","i":"{}","BT":false}}"#,
            trade.qty,
            trade.price,
            trade_uuid(trade.id)
        );
    }
    out.push_str("]}");
    out
}

/// The response to a `subscribe` request; `failed`: the topics refused.
pub fn subscribed(req_id: &str, conn_id: &str, failed: &[String]) -> String {
    let (success, ret_msg) = match failed {
        [] => (true, String::new()),
        topics => (false, format!("error:handler not found,topic:{}", topics.join(","))),
    };
    let ret_msg = serde_json::Value::from(ret_msg);
    let req_id = serde_json::Value::from(req_id);
    format!(
        r#"{{"success":{success},"ret_msg":{ret_msg},"conn_id":"{conn_id}","req_id":{req_id},"op":"subscribe"}}"#
    )
}

/// The answer to `{"op":"ping"}` on the linear and inverse endpoints.
pub fn pong(req_id: &str, conn_id: &str, ts_ms: i64) -> String {
    let req_id = serde_json::Value::from(req_id);
    format!(r#"{{"req_id":{req_id},"op":"pong","args":["{ts_ms}"],"conn_id":"{conn_id}"}}"#)
}

/// The answer to a request that is not JSON or names no known operation.
pub fn refused(conn_id: &str, text: &str) -> String {
    let ret_msg = serde_json::Value::from(format!("error:request not supported: {text}"));
    format!(r#"{{"success":false,"ret_msg":{ret_msg},"conn_id":"{conn_id}","op":""}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty, TradeKind};
    use crate::venue::bybit::{parse, Message, TradeId};

    fn level(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    #[test]
    fn every_message_reads_back_through_the_venue_parser() {
        let bids = [level("3000.5", "0.02")];
        let asks = [level("3001", "0")];
        let ids = Ids { u: 20_000_007, seq: 130_000_000_021 };
        let text = book(50, "ETHUSDT", false, (&bids, &asks), ids, 1_767_225_600_000);
        let Ok(Message::Book(message)) = parse(&text) else { panic!("{text}") };
        assert!(!message.snapshot);
        assert_eq!((message.data.u, message.data.seq), (ids.u, Some(ids.seq)));
        assert_eq!(
            (message.data.bids.as_slice(), message.data.asks.as_slice()),
            (&bids[..], &asks[..])
        );

        let trade = Trade {
            market: "ETHUSDT".into(),
            id: 2_103_821_900_219_160_858,
            ts_event: EventTime::from_nanos(1_767_225_600_123_000_000),
            price: Price::parse("3000.5").unwrap(),
            qty: Qty::parse("0.01").unwrap(),
            side: TakerSide::Sell,
            kind: TradeKind::Trade,
        };
        let text = trades("ETHUSDT", std::slice::from_ref(&trade), 1_767_225_600_200);
        let Ok(Message::Trades(message)) = parse(&text) else { panic!("{text}") };
        let got = &message.trades[0];
        assert!(matches!(got.id, TradeId::Uuid(_)), "{text}");
        assert_eq!(got.id.table_id(), trade.id, "the fold of the UUID is the simulator's id");
        assert_eq!((got.side, got.price, got.qty), (TakerSide::Sell, trade.price, trade.qty));

        assert_eq!(parse(&subscribed("1", "c", &[])), Ok(Message::Subscribed));
        let failed = parse(&subscribed("1", "c", &["orderbook.7.ETHUSDT".into()]));
        assert!(matches!(failed, Ok(Message::Error { .. })), "{failed:?}");
        assert_eq!(parse(&pong("", "c", 1)), Ok(Message::Pong));
    }
}
