//! Coinbase Advanced Trade's JSON as the local Coinbase venue spells it (docs/VENUES.md §16):
//! `l2_data` snapshot and update events, `market_trades` snapshot and update events,
//! `heartbeats` and `subscriptions`, each message carrying the connection's `sequence_num`;
//! and `error`. Pure functions; no I/O.
//!
//! Prices and sizes are JSON strings in their shortest exact decimal text; times are RFC 3339
//! with nanoseconds (message `timestamp`) or microseconds (`event_time`, trade `time`) on the
//! simulated clock. A trade's `side` is the maker's, as observed on the venue (§16.4): a
//! taker buy prints as `SELL`.

use std::fmt::Write as _;

use chrono::{SecondsFormat, TimeZone as _, Utc};

use crate::model::{Level, TakerSide, Trade};

fn rfc3339(ms: i64, format: SecondsFormat) -> String {
    Utc.timestamp_nanos(ms.saturating_mul(1_000_000)).to_rfc3339_opts(format, true)
}

fn head(out: &mut String, channel: &str, ts_ms: i64, sequence_num: u64) {
    let _ = write!(
        out,
        r#"{{"channel":"{channel}","client_id":"","timestamp":"{}","sequence_num":{sequence_num},"events":["#,
        rfc3339(ts_ms, SecondsFormat::Nanos)
    );
}

/// An `l2_data` message of one event: the `snapshot` of a product's book or an `update` of
/// its changed levels (a quantity of 0 removes the level).
pub fn l2(
    product: &str,
    snapshot: bool,
    (bids, asks): (&[Level], &[Level]),
    ts_ms: i64,
    sequence_num: u64,
) -> String {
    let mut out = String::with_capacity(64 * (bids.len() + asks.len()) + 200);
    head(&mut out, "l2_data", ts_ms, sequence_num);
    let kind = if snapshot { "snapshot" } else { "update" };
    let _ = write!(out, r#"{{"type":"{kind}","product_id":"{product}","updates":["#);
    let event_time = rfc3339(ts_ms, SecondsFormat::Micros);
    let sides = bids.iter().map(|l| ("bid", l)).chain(asks.iter().map(|l| ("offer", l)));
    for (n, (side, level)) in sides.enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let _ = write!(
            out,
            r#"{comma}{{"side":"{side}","event_time":"{event_time}","price_level":"{}","new_quantity":"{}"}}"#,
            level.price, level.qty
        );
    }
    out.push_str("]}]}");
    out
}

/// A `market_trades` message of one event (`snapshot`: the replay after subscribing).
pub fn trades(
    snapshot: bool,
    product: &str,
    trades: &[Trade],
    ts_ms: i64,
    sequence_num: u64,
) -> String {
    let mut out = String::new();
    head(&mut out, "market_trades", ts_ms, sequence_num);
    let kind = if snapshot { "snapshot" } else { "update" };
    let _ = write!(out, r#"{{"type":"{kind}","trades":["#);
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        // The maker's side: the opposite of the taker's.
        let side = match trade.side {
            TakerSide::Buy => "SELL",
            TakerSide::Sell => "BUY",
        };
        let time = rfc3339(trade.ts_event.as_nanos() / 1_000_000, SecondsFormat::Micros);
        let _ = write!(
            out,
            r#"{comma}{{"trade_id":"{}","product_id":"{product}","price":"{}","size":"{}","side":"{side}","time":"{time}"}}"#,
            trade.id, trade.price, trade.qty
        );
    }
    out.push_str("]}]}");
    out
}

/// A `heartbeats` message.
pub fn heartbeat(counter: u64, ts_ms: i64, sequence_num: u64) -> String {
    let mut out = String::new();
    head(&mut out, "heartbeats", ts_ms, sequence_num);
    let now = Utc.timestamp_nanos(ts_ms.saturating_mul(1_000_000));
    let _ = write!(
        out,
        r#"{{"current_time":"{} +0000 UTC","heartbeat_counter":"{counter}"}}]}}"#,
        now.format("%Y-%m-%d %H:%M:%S%.9f")
    );
    out
}

/// The `subscriptions` message listing what the connection is subscribed to.
pub fn subscriptions(channels: &[(&str, Vec<String>)], ts_ms: i64, sequence_num: u64) -> String {
    let mut out = String::new();
    head(&mut out, "subscriptions", ts_ms, sequence_num);
    let list: serde_json::Map<String, serde_json::Value> =
        channels.iter().map(|(c, p)| ((*c).to_owned(), serde_json::json!(p))).collect();
    let _ = write!(out, r#"{{"subscriptions":{}}}]}}"#, serde_json::Value::Object(list));
    out
}

/// An `error` message (Coinbase sends it outside the sequence).
pub fn error(message: &str) -> String {
    let message = serde_json::Value::from(message);
    format!(r#"{{"type":"error","message":{message}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty, TradeKind};
    use crate::venue::coinbase::{parse, Body, Message};

    fn level(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    #[test]
    fn every_message_reads_back_through_the_venue_parser_with_its_sequence_num() {
        let read = |text: &str| match parse(text) {
            Ok(Message::Data(envelope)) => envelope,
            other => panic!("{text}: {other:?}"),
        };
        let bids = [level("84000", "0.5")];
        let asks = [level("84001", "0")];
        let l2 = read(&l2("BTC-USD", false, (&bids, &asks), 1_767_225_600_000, 7));
        assert_eq!(l2.sequence_num, 7);
        assert!(matches!(l2.body, Body::L2(_)), "{l2:?}");

        let trade = Trade {
            market: "BTC-USD".into(),
            id: 42,
            ts_event: EventTime::from_nanos(1_767_225_600_123_000_000),
            price: Price::parse("84000.5").unwrap(),
            qty: Qty::parse("0.01").unwrap(),
            side: TakerSide::Buy,
            kind: TradeKind::Trade,
        };
        let got = read(&trades(false, "BTC-USD", &[trade], 1_767_225_600_200, 8));
        let Body::Trades(events) = got.body else { panic!() };
        let wire = &events[0].trades[0];
        // Printed as the maker's SELL, read back as the taker's buy.
        assert_eq!((wire.id, wire.side), (42, TakerSide::Buy));

        assert_eq!(read(&heartbeat(3, 1_767_225_600_000, 9)).body, Body::Heartbeat);
        let subs = subscriptions(&[("level2", vec!["BTC-USD".into()])], 1_767_225_600_000, 10);
        assert_eq!(read(&subs).body, Body::Subscriptions);
        assert!(matches!(parse(&error("nope")), Ok(Message::Error { .. })));
    }
}
