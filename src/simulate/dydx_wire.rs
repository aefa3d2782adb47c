//! dYdX v4 indexer JSON as the local dYdX venue spells it (docs/VENUES.md §15): the
//! `connected` greeting, `subscribed` answers carrying the book snapshot (levels as objects)
//! or the recent trades, `channel_data` and `channel_batch_data` updates (levels as arrays),
//! and `error`. Every message carries the connection's `message_id`. Pure functions; no I/O.
//!
//! Prices and sizes are JSON strings in their shortest exact decimal text; trade times are
//! RFC 3339 with milliseconds on the simulated clock.

use std::fmt::Write as _;

use chrono::{SecondsFormat, TimeZone as _, Utc};

use crate::model::{Level, TakerSide, Trade};

/// The channel versions the indexer stamps on its updates.
const BOOK_VERSION: &str = "1.0.0";
const TRADES_VERSION: &str = "2.1.0";

/// The `connected` greeting, message 0 of a connection.
pub fn connected(connection_id: &str) -> String {
    format!(r#"{{"type":"connected","connection_id":"{connection_id}","message_id":0}}"#)
}

fn object_levels(out: &mut String, name: &str, levels: &[Level]) {
    let _ = write!(out, r#""{name}":["#);
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let _ = write!(out, r#"{comma}{{"price":"{}","size":"{}"}}"#, level.price, level.qty);
    }
    out.push(']');
}

fn array_levels(out: &mut String, name: &str, levels: &[Level]) {
    let _ = write!(out, r#""{name}":["#);
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let _ = write!(out, r#"{comma}["{}","{}"]"#, level.price, level.qty);
    }
    out.push(']');
}

/// The answer to a `v4_orderbook` subscription: the book snapshot.
pub fn book_snapshot(
    conn: &str,
    message_id: u64,
    market: &str,
    bids: &[Level],
    asks: &[Level],
) -> String {
    let mut out = format!(
        r#"{{"type":"subscribed","connection_id":"{conn}","message_id":{message_id},"channel":"v4_orderbook","id":"{market}","contents":{{"#
    );
    object_levels(&mut out, "bids", bids);
    out.push(',');
    object_levels(&mut out, "asks", asks);
    out.push_str("}}");
    out
}

/// One book update's `contents`: only the sides that changed are present.
fn update_contents(out: &mut String, bids: &[Level], asks: &[Level]) {
    out.push('{');
    if !bids.is_empty() {
        array_levels(out, "bids", bids);
    }
    if !asks.is_empty() {
        if !bids.is_empty() {
            out.push(',');
        }
        array_levels(out, "asks", asks);
    }
    out.push('}');
}

/// A `channel_data` book update of one side's or both sides' changed levels (size 0 removes).
pub fn book_update(
    conn: &str,
    message_id: u64,
    market: &str,
    bids: &[Level],
    asks: &[Level],
) -> String {
    let mut out = format!(
        r#"{{"type":"channel_data","connection_id":"{conn}","message_id":{message_id},"id":"{market}","channel":"v4_orderbook","version":"{BOOK_VERSION}","contents":"#
    );
    update_contents(&mut out, bids, asks);
    out.push('}');
    out
}

/// A `channel_batch_data` book update: `updates` in the order they are to be applied.
pub fn book_batch(
    conn: &str,
    message_id: u64,
    market: &str,
    updates: &[(Vec<Level>, Vec<Level>)],
) -> String {
    let mut out = format!(
        r#"{{"type":"channel_batch_data","connection_id":"{conn}","message_id":{message_id},"id":"{market}","channel":"v4_orderbook","version":"{BOOK_VERSION}","contents":["#
    );
    for (n, (bids, asks)) in updates.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        update_contents(&mut out, bids, asks);
    }
    out.push_str("]}");
    out
}

/// A trade's id as the indexer spells it: 24 hex digits, block height, transaction field and
/// event index, 32 bits each — chosen so that the tables' exact reading of them
/// (docs/VENUES.md §15.4: `height << 32 | tx << 20 | event`) is the simulator's own id again.
pub fn trade_id(id: i64) -> String {
    let id = id as u64;
    format!("{:08x}{:08x}{:08x}", id >> 32, (id >> 20) & 0xfff, id & 0xf_ffff)
}

fn trades_contents(out: &mut String, trades: &[Trade]) {
    out.push_str(r#"{"trades":["#);
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let side = match trade.side {
            TakerSide::Buy => "BUY",
            TakerSide::Sell => "SELL",
        };
        let at = Utc.timestamp_nanos(trade.ts_event.as_nanos());
        let _ = write!(
            out,
            r#"{comma}{{"id":"{}","side":"{side}","size":"{}","price":"{}","type":"LIMIT","createdAt":"{}","createdAtHeight":"{}"}}"#,
            trade_id(trade.id),
            trade.qty,
            trade.price,
            at.to_rfc3339_opts(SecondsFormat::Millis, true),
            20_000_000 + trade.id / 8
        );
    }
    out.push_str("]}");
}

/// The answer to a `v4_trades` subscription: the most recent trades, newest first.
pub fn trades_snapshot(conn: &str, message_id: u64, market: &str, trades: &[Trade]) -> String {
    let mut out = format!(
        r#"{{"type":"subscribed","connection_id":"{conn}","message_id":{message_id},"channel":"v4_trades","id":"{market}","contents":"#
    );
    trades_contents(&mut out, trades);
    out.push('}');
    out
}

/// A `channel_data` trades message.
pub fn trades(conn: &str, message_id: u64, market: &str, trades: &[Trade]) -> String {
    let mut out = format!(
        r#"{{"type":"channel_data","connection_id":"{conn}","message_id":{message_id},"id":"{market}","channel":"v4_trades","version":"{TRADES_VERSION}","contents":"#
    );
    trades_contents(&mut out, trades);
    out.push('}');
    out
}

/// An `error` message naming what was refused.
pub fn error(conn: &str, message_id: u64, message: &str) -> String {
    let message = serde_json::Value::from(message);
    format!(
        r#"{{"type":"error","message":{message},"connection_id":"{conn}","message_id":{message_id}}}"#
    )
}
