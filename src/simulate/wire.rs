//! Extended's JSON, spelled the way the real venue spells it (docs/VENUES.md §1.3, §1.4, §2).
//!
//! Owns the text of every frame the simulator sends: v1 book and trades frames, the v1 error
//! envelope, and v2 JSON-RPC acks, errors and data envelopes. Pure functions from values to
//! `String`; no I/O, no sequencing (seq is chosen by the connection and passed in).
//!
//! The formatting trap is reproduced on purpose and deterministically: snapshot prices are
//! padded to at least six decimals (`"84050.000000"`), delta and trade prices use the short
//! form (`"84050"`), and sizes keep the lot's decimals (`"0.00020"`), so a parser that keys
//! levels by text instead of value fails against the simulator as it would against the venue.

use std::fmt::Write as _;

use serde_json::Value;

use super::market::Change;
use crate::model::{FrameKind, Level, Price, Qty, TakerSide, Trade, UNIT};

/// Decimal places used when spelling one market's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Decimals of a snapshot price (at least 6, more if the tick needs them).
    pub snapshot_price_decimals: u32,
    /// Decimals of every size: the lot's.
    pub size_decimals: u32,
}

impl Format {
    pub fn new(tick: Price, lot: Qty) -> Self {
        Self {
            snapshot_price_decimals: decimals(tick.raw()).max(6),
            size_decimals: decimals(lot.raw()),
        }
    }
}

/// The fewest decimals that spell `raw` (units of 10⁻⁸) exactly.
fn decimals(raw: i64) -> u32 {
    let mut places = 8;
    let mut rest = raw;
    while places > 0 && rest % 10 == 0 {
        rest /= 10;
        places -= 1;
    }
    places
}

/// `raw` spelled with exactly `places` decimals, or more if fewer would change the value.
fn fixed(raw: i64, places: u32) -> String {
    let places = places.max(decimals(raw)).min(8);
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let unit = UNIT as u64;
    let (int, frac) = (abs / unit, abs % unit);
    if places == 0 {
        return format!("{sign}{int}");
    }
    let frac_text = format!("{frac:08}");
    format!("{sign}{int}.{}", &frac_text[..places as usize])
}

fn kind_text(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Snapshot => "SNAPSHOT",
        FrameKind::Delta => "DELTA",
    }
}

fn side_text(side: TakerSide) -> &'static str {
    match side {
        TakerSide::Buy => "BUY",
        TakerSide::Sell => "SELL",
    }
}

fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}

/// The `data` of a SNAPSHOT: absolute sizes, bids descending, asks ascending. `depth` is the
/// `d` field: `"f"` for the full book, `"1"` for the best bid and ask.
pub fn snapshot_data(
    market: &str,
    format: Format,
    bids: impl Iterator<Item = Level>,
    asks: impl Iterator<Item = Level>,
    depth: &str,
) -> String {
    let side = |levels: &mut dyn Iterator<Item = Level>| {
        let mut out = String::from("[");
        for (n, level) in levels.enumerate() {
            if n > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"p":"{}","q":"{}"}}"#,
                fixed(level.price.raw(), format.snapshot_price_decimals),
                fixed(level.qty.raw(), format.size_decimals)
            );
        }
        out.push(']');
        out
    };
    let (mut bids, mut asks) = (bids, asks);
    format!(
        r#"{{"t":"SNAPSHOT","m":{},"b":{},"a":{},"d":{}}}"#,
        quoted(market),
        side(&mut bids),
        side(&mut asks),
        quoted(depth)
    )
}

/// The `data` of a DELTA: `q` the signed change, `c` the new absolute size (`"0"` removes).
pub fn delta_data(market: &str, format: Format, bids: &[Change], asks: &[Change]) -> String {
    let side = |changes: &[Change]| {
        let mut out = String::from("[");
        for (n, change) in changes.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let size = if change.size.is_zero() {
                "0".to_owned()
            } else {
                fixed(change.size.raw(), format.size_decimals)
            };
            let _ = write!(
                out,
                r#"{{"p":"{}","q":"{}","c":"{}"}}"#,
                change.price,
                fixed(change.change.raw(), format.size_decimals),
                size
            );
        }
        out.push(']');
        out
    };
    format!(
        r#"{{"t":"DELTA","m":{},"b":{},"a":{},"d":"f"}}"#,
        quoted(market),
        side(bids),
        side(asks)
    )
}

/// The `data` array of a trades frame.
pub fn trades_data<'a>(format: Format, trades: impl Iterator<Item = &'a Trade>) -> String {
    let mut out = String::from("[");
    for (n, trade) in trades.enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"i":{},"m":{},"S":"{}","tT":"TRADE","T":{},"p":"{}","q":"{}"}}"#,
            trade.id,
            quoted(&trade.market),
            side_text(trade.side),
            trade.ts_event.as_nanos() / 1_000_000,
            trade.price,
            fixed(trade.qty.raw(), format.size_decimals)
        );
    }
    out.push(']');
    out
}

/// A v1 order book frame.
pub fn v1_book(kind: FrameKind, data: &str, ts_ms: i64, seq: u64) -> String {
    format!(r#"{{"type":"{}","data":{data},"ts":{ts_ms},"seq":{seq}}}"#, kind_text(kind))
}

/// A v1 public trades frame.
pub fn v1_trades(data: &str, ts_ms: i64, seq: u64) -> String {
    format!(r#"{{"ts":{ts_ms},"seq":{seq},"data":{data}}}"#)
}

/// The v1 error envelope (docs/VENUES.md §1.5).
pub fn error_envelope(code: i64, message: &str) -> String {
    format!(r#"{{"status":"ERROR","error":{{"code":{code},"message":{}}}}}"#, quoted(message))
}

/// The v2 data envelope around a v1 payload; `kind` is e.g. `ORDERBOOKS.DELTA`, `TRADES`.
pub fn v2_data(kind: &str, data: &str, ts_ms: i64, seq: u64, topic: &str) -> String {
    format!(
        r#"{{"type":"{kind}","data":{data},"ts":{ts_ms},"seq":{seq},"subscription":{}}}"#,
        quoted(topic)
    )
}

/// The v2 `type` of a book frame.
pub fn v2_book_type(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Snapshot => "ORDERBOOKS.SNAPSHOT",
        FrameKind::Delta => "ORDERBOOKS.DELTA",
    }
}

/// A successful v2 response, in the venue's key order; `extra` holds the method-specific
/// fields (`subscription`, `subscriptions`).
pub fn rpc_ok(id: &Value, method: &str, extra: &[(&str, Value)]) -> String {
    let mut result = format!(r#"{{"method":{},"status":"OK""#, quoted(method));
    for (key, value) in extra {
        let _ = write!(result, ",{}:{value}", quoted(key));
    }
    result.push('}');
    format!(r#"{{"id":{id},"result":{result},"jsonrpc":"2.0"}}"#)
}

/// A failed v2 response.
pub fn rpc_error(id: &Value, code: i64, message: &str) -> String {
    format!(
        r#"{{"id":{id},"error":{{"code":{code},"message":{}}},"jsonrpc":"2.0"}}"#,
        quoted(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;

    fn btc() -> Format {
        Format::new(Price::parse("1").unwrap(), Qty::parse("0.00001").unwrap())
    }

    #[test]
    fn snapshot_pads_prices_and_keeps_lot_decimals() {
        let level = Level::new(Price::parse("84050").unwrap(), Qty::parse("0.0002").unwrap());
        let data = snapshot_data("BTC-USD", btc(), [level].into_iter(), std::iter::empty(), "f");
        assert_eq!(
            data,
            r#"{"t":"SNAPSHOT","m":"BTC-USD","b":[{"p":"84050.000000","q":"0.00020"}],"a":[],"d":"f"}"#
        );
    }

    #[test]
    fn delta_uses_short_prices_signed_change_and_zero_removal() {
        let p = Price::parse("84050").unwrap();
        let changes = [
            Change { price: p, change: Qty::parse("-0.0002").unwrap(), size: Qty::ZERO },
            Change {
                price: Price::parse("84049").unwrap(),
                change: Qty::parse("0.0013").unwrap(),
                size: Qty::parse("0.5").unwrap(),
            },
        ];
        let data = delta_data("BTC-USD", btc(), &changes, &[]);
        assert_eq!(
            data,
            r#"{"t":"DELTA","m":"BTC-USD","b":[{"p":"84050","q":"-0.00020","c":"0"},{"p":"84049","q":"0.00130","c":"0.50000"}],"a":[],"d":"f"}"#
        );
    }

    #[test]
    fn trades_keep_big_ids_as_integers() {
        let trade = Trade {
            market: "BTC-USD".into(),
            id: 2_103_821_900_219_158_529,
            side: TakerSide::Sell,
            kind: crate::model::TradeKind::Trade,
            ts_event: EventTime::from_millis(1_700_000_000_123).unwrap(),
            price: Price::parse("84050").unwrap(),
            qty: Qty::parse("0.01").unwrap(),
        };
        let frame = v1_trades(&trades_data(btc(), [&trade].into_iter()), 1_700_000_000_200, 7);
        assert_eq!(
            frame,
            r#"{"ts":1700000000200,"seq":7,"data":[{"i":2103821900219158529,"m":"BTC-USD","S":"SELL","tT":"TRADE","T":1700000000123,"p":"84050","q":"0.01000"}]}"#
        );
    }

    #[test]
    fn rpc_ack_and_error_shapes() {
        let id = Value::from("1");
        assert_eq!(
            rpc_ok(&id, "subscribe", &[("subscription", Value::from("orderbooks.ETH-USD"))]),
            r#"{"id":"1","result":{"method":"subscribe","status":"OK","subscription":"orderbooks.ETH-USD"},"jsonrpc":"2.0"}"#
        );
        assert_eq!(
            rpc_error(&id, 1001, "Market not found"),
            r#"{"id":"1","error":{"code":1001,"message":"Market not found"},"jsonrpc":"2.0"}"#
        );
        assert_eq!(
            error_envelope(1001, "Market not found"),
            r#"{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}"#
        );
    }

    #[test]
    fn fixed_never_drops_digits() {
        assert_eq!(fixed(123_456_789, 2), "1.23456789");
        assert_eq!(fixed(-50_000_000, 3), "-0.500");
        assert_eq!(fixed(8_405_000_000_000, 0), "84050");
    }
}
