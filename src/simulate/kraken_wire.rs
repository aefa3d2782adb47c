//! Kraken v2's JSON as the local Kraken venue spells it (docs/VENUES.md §9 "Kraken v2"): the
//! `book` snapshot and update messages with their CRC32 checksum, `trade` messages, the
//! `status` greeting, `heartbeat`, subscribe responses and `pong`. Pure functions; no I/O.
//!
//! Prices and quantities are JSON numbers whose text carries the pair's precision — prices
//! with the places of the market's tick, quantities with 8 — because Kraken's checksum is
//! computed over that text. Times are RFC 3339 with microseconds on the simulated clock.

use std::fmt::Write as _;

use crate::model::{Level, TakerSide, Trade, SCALE};
use crate::venue::kraken::wire::{Num, WireLevel};

/// Places Kraken prints quantities with.
pub const QTY_PLACES: u8 = 8;

/// The places of `tick` (in 10⁻⁸ units): the price precision of a pair with that tick.
pub fn places_of(tick: i64) -> u8 {
    let mut places = SCALE as u8;
    let mut raw = tick;
    while places > 0 && raw != 0 && raw % 10 == 0 {
        raw /= 10;
        places -= 1;
    }
    places
}

/// A level as its wire text will carry it (value and places).
pub fn wire_level(level: &Level, price_places: u8) -> WireLevel {
    WireLevel {
        price: Num { raw: level.price.raw(), scale: price_places },
        qty: Num { raw: level.qty.raw(), scale: QTY_PLACES },
    }
}

/// The JSON number text of `num`: exactly `num.scale` places (a value finer than that is
/// printed at the tables' full 8).
pub fn number(num: Num) -> String {
    let wanted = u32::from(num.scale).min(SCALE);
    let scale = if num.raw % 10_i64.pow(SCALE - wanted) == 0 { wanted } else { SCALE };
    let sign = if num.raw < 0 { "-" } else { "" };
    let abs = num.raw.unsigned_abs();
    let unit = 10_u64.pow(SCALE);
    let (whole, frac) = (abs / unit, abs % unit);
    if scale == 0 {
        return format!("{sign}{whole}");
    }
    let frac = frac / 10_u64.pow(SCALE - scale);
    format!("{sign}{whole}.{frac:0width$}", width = scale as usize)
}

/// RFC 3339 with microseconds, as Kraken writes times (`2026-01-01T00:00:00.100000Z`).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn levels(out: &mut String, name: &str, levels: &[WireLevel]) {
    let _ = write!(out, r#""{name}":["#);
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let (price, qty) = (number(level.price), number(level.qty));
        let _ = write!(out, r#"{comma}{{"price":{price},"qty":{qty}}}"#);
    }
    out.push(']');
}

/// A `book` message for `symbol` (`BTC/USD`).
pub fn book(
    snapshot: bool,
    symbol: &str,
    bids: &[WireLevel],
    asks: &[WireLevel],
    checksum: u32,
    ts_ms: i64,
) -> String {
    let kind = if snapshot { "snapshot" } else { "update" };
    let mut out = format!(r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}","#);
    levels(&mut out, "bids", bids);
    out.push(',');
    levels(&mut out, "asks", asks);
    let _ = write!(out, r#","checksum":{checksum},"timestamp":"{}"}}]}}"#, time(ts_ms));
    out
}

/// A `trade` message of `trades` (the snapshot on subscribing, then one update per step).
pub fn trades(snapshot: bool, symbol: &str, trades: &[Trade], price_places: u8) -> String {
    let kind = if snapshot { "snapshot" } else { "update" };
    let mut out = format!(r#"{{"channel":"trade","type":"{kind}","data":["#);
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let side = match trade.side {
            TakerSide::Buy => "buy",
            TakerSide::Sell => "sell",
        };
        let price = number(Num { raw: trade.price.raw(), scale: price_places });
        let qty = number(Num { raw: trade.qty.raw(), scale: QTY_PLACES });
        let ts = time(trade.ts_event.as_nanos() / 1_000_000);
        let _ = write!(
            out,
            r#"{comma}{{"symbol":"{symbol}","side":"{side}","price":{price},"qty":{qty},"ord_type":"market","trade_id":{},"timestamp":"{ts}"}}"#,
            trade.id
        );
    }
    out.push_str("]}");
    out
}

/// The `status` message sent on connecting.
pub fn status(connection: u64) -> String {
    format!(
        r#"{{"channel":"status","type":"update","data":[{{"api_version":"v2","connection_id":{connection},"system":"online","version":"2.0.0"}}]}}"#
    )
}

/// The message sent about once a second on a connection with nothing else to send.
pub const HEARTBEAT: &str = r#"{"channel":"heartbeat"}"#;

/// A successful `subscribe` response.
pub fn subscribed(channel: &str, symbol: &str, depth: Option<usize>, ts_ms: i64) -> String {
    let depth = depth.map(|d| format!(r#""depth":{d},"#)).unwrap_or_default();
    let t = time(ts_ms);
    format!(
        r#"{{"method":"subscribe","result":{{"channel":"{channel}",{depth}"snapshot":true,"symbol":"{symbol}"}},"success":true,"time_in":"{t}","time_out":"{t}"}}"#
    )
}

/// A failed request's response, naming what failed.
pub fn failed(method: &str, error: &str, ts_ms: i64) -> String {
    let t = time(ts_ms);
    let error = serde_json::Value::from(error);
    let method = serde_json::Value::from(method);
    format!(
        r#"{{"error":{error},"method":{method},"success":false,"time_in":"{t}","time_out":"{t}"}}"#
    )
}

/// The answer to `{"method":"ping"}`.
pub fn pong(ts_ms: i64) -> String {
    let t = time(ts_ms);
    format!(r#"{{"method":"pong","time_in":"{t}","time_out":"{t}"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty, TradeKind};
    use crate::venue::kraken::{parse, KrakenBook, Message};

    #[test]
    fn numbers_carry_the_pairs_places() {
        assert_eq!(places_of(100_000_000), 0);
        assert_eq!(places_of(10_000_000), 1);
        assert_eq!(places_of(1_000_000), 2);
        assert_eq!(places_of(1), 8);
        assert_eq!(number(Num { raw: 8_400_010_000_000, scale: 1 }), "84000.1");
        assert_eq!(number(Num { raw: 8_400_000_000_000, scale: 0 }), "84000");
        assert_eq!(number(Num { raw: 50_000_000, scale: 8 }), "0.50000000");
        assert_eq!(number(Num { raw: 12_345, scale: 2 }), "0.00012345");
        assert_eq!(time(1_767_225_600_100), "2026-01-01T00:00:00.100000Z");
    }

    #[test]
    fn the_venues_own_parser_reads_every_message_and_its_checksum_holds() {
        let level = |p: i64, q: i64| Level::new(Price::from_raw(p), Qty::from_raw(q));
        let bids = [wire_level(&level(8_399_900_000_000, 50_000_000), 0)];
        let asks = [wire_level(&level(8_400_100_000_000, 1_000_000), 0)];
        let mut view = KrakenBook::new(10);
        view.apply(true, &bids, &asks);
        let text = book(true, "BTC/USD", &bids, &asks, view.checksum(None), 1_767_225_600_000);
        let Ok(Message::Book(message)) = parse(&text) else { panic!("{text}") };
        let mut client = KrakenBook::new(10);
        let data = &message.data[0];
        client.apply(true, &data.bids, &data.asks);
        assert_eq!(client.checksum(None), data.checksum);
        let trade = Trade {
            market: "BTC-USD".into(),
            id: 7,
            side: TakerSide::Sell,
            kind: TradeKind::Trade,
            ts_event: EventTime::from_nanos(1_767_225_600_050_000_000),
            price: Price::from_raw(8_399_900_000_000),
            qty: Qty::from_raw(10_000),
        };
        let text = trades(false, "BTC/USD", &[trade], 0);
        let Ok(Message::Trades(message)) = parse(&text) else { panic!("{text}") };
        assert_eq!((message.trades[0].id, message.trades[0].side), (7, TakerSide::Sell));
        assert_eq!(message.trades[0].qty, Num { raw: 10_000, scale: 8 });
        for other in
            [status(1), HEARTBEAT.to_owned(), pong(0), subscribed("book", "BTC/USD", Some(10), 0)]
        {
            assert!(parse(&other).is_ok(), "{other}");
        }
        let Ok(Message::Response { success: false, error: Some(error), .. }) =
            parse(&failed("subscribe", "Currency pair not supported XBT/ABC", 0))
        else {
            panic!("failed response")
        };
        assert!(error.contains("XBT/ABC"));
    }
}
