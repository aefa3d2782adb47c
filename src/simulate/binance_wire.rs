//! Binance's JSON as the local Binance venue spells it (docs/VENUES.md §3): combined-stream diff
//! depth and trade frames, the REST depth snapshot body, COIN-M's exchangeInfo, and error
//! bodies, for spot, USD-M and COIN-M.
//!
//! Update ids are a pure function of the simulation step, so every connection and every
//! REST snapshot agree on them: step `i` ends at `u = BASE_UPDATE_ID + 3·i`. Spot chains
//! `U = previous u + 1`; futures jump (`U = u − 1`, not previous `u` + 1) and carry `pu` =
//! the previous step's `u`, as the real futures streams do. Pure functions; no I/O.

use std::fmt::Write as _;

use super::market::Change;
use crate::model::{Level, TakerSide, Trade};
use crate::venue::binance::Kind;

/// A COIN-M `/dapi/v1/exchangeInfo` body listing `markets` with Binance's contract sizes
/// (the fields mdkit reads, and the pair and contract type around them).
pub fn exchange_info(markets: &[String]) -> String {
    let mut out = String::from(r#"{"timezone":"UTC","symbols":["#);
    for (n, symbol) in markets.iter().enumerate() {
        let size = crate::venue::binance::coinm_contract(symbol).size();
        let _ = write!(
            out,
            r#"{}{{"symbol":"{symbol}","pair":"{}","contractType":"PERPETUAL","contractSize":{size},"marginAsset":"{}"}}"#,
            if n > 0 { "," } else { "" },
            pair(symbol),
            symbol.split("USD").next().unwrap_or(symbol)
        );
    }
    out.push_str("]}");
    out
}

/// Update id of the state before the first simulated step.
pub const BASE_UPDATE_ID: u64 = 7_000_000_000;

/// `u` of step `index` (the last update id it contains).
pub fn last_update_id(index: u64) -> u64 {
    BASE_UPDATE_ID + 3 * index
}

/// Binance spells prices and sizes with a fixed number of decimals (spot: 8).
fn number(raw: i64) -> String {
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    format!("{sign}{}.{:08}", abs / 100_000_000, abs % 100_000_000)
}

fn pairs(out: &mut String, levels: impl Iterator<Item = (i64, i64)>) {
    out.push('[');
    for (n, (price, qty)) in levels.enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"["{}","{}"]"#, number(price), number(qty));
    }
    out.push(']');
}

/// COIN-M's `ps`: the symbol before `_` (`BTCUSD_PERP` → `BTCUSD`).
fn pair(symbol: &str) -> &str {
    symbol.split_once('_').map_or(symbol, |(p, _)| p)
}

/// The combined-stream diff-depth frame of step `index` on stream `stream`.
pub fn diff(
    kind: Kind,
    stream: &str,
    symbol: &str,
    index: u64,
    ts_ms: i64,
    bids: &[Change],
    asks: &[Change],
) -> String {
    let u = last_update_id(index);
    let prev = last_update_id(index.saturating_sub(1));
    let mut out = format!(r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","E":{ts_ms},"#);
    match kind {
        Kind::Spot => {
            let _ = write!(out, r#""s":"{symbol}","U":{},"u":{u},"#, prev + 1);
        }
        Kind::UsdM | Kind::CoinM => {
            let _ = write!(out, r#""T":{ts_ms},"s":"{symbol}","#);
            if kind == Kind::CoinM {
                let _ = write!(out, r#""ps":"{}","#, pair(symbol));
            }
            let _ = write!(out, r#""U":{},"u":{u},"pu":{prev},"#, u - 1);
        }
    }
    out.push_str(r#""b":"#);
    pairs(&mut out, bids.iter().map(|c| (c.price.raw(), c.size.raw())));
    out.push_str(r#","a":"#);
    pairs(&mut out, asks.iter().map(|c| (c.price.raw(), c.size.raw())));
    out.push_str("}}");
    out
}

/// The combined-stream frame of one trade, sent at `ts_ms`.
pub fn trade(kind: Kind, stream: &str, symbol: &str, ts_ms: i64, trade: &Trade) -> String {
    let t = trade.ts_event.as_nanos() / 1_000_000;
    // `m`: the buyer is the maker, i.e. the taker sold (docs/VENUES.md §3.4).
    let m = trade.side == TakerSide::Sell;
    let (p, q) = (number(trade.price.raw()), number(trade.qty.raw()));
    let id = trade.id;
    match kind {
        Kind::Spot => format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{ts_ms},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","T":{t},"m":{m},"M":true}}}}"#
        ),
        Kind::UsdM | Kind::CoinM => format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{ts_ms},"T":{t},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","X":"MARKET","m":{m}}}}}"#
        ),
    }
}

/// The REST depth snapshot body of the book after step `index`, best levels first, at most
/// `limit` per side.
pub fn snapshot(
    kind: Kind,
    symbol: &str,
    index: u64,
    ts_ms: i64,
    bids: &[Level],
    asks: &[Level],
    limit: usize,
) -> String {
    let mut out = format!(r#"{{"lastUpdateId":{},"#, last_update_id(index));
    match kind {
        Kind::Spot => {}
        Kind::UsdM => {
            let _ = write!(out, r#""E":{ts_ms},"T":{ts_ms},"#);
        }
        Kind::CoinM => {
            let _ = write!(
                out,
                r#""E":{ts_ms},"T":{ts_ms},"symbol":"{symbol}","pair":"{}","#,
                pair(symbol)
            );
        }
    }
    let raw = |l: &Level| (l.price.raw(), l.qty.raw());
    out.push_str(r#""bids":"#);
    pairs(&mut out, bids.iter().take(limit).map(raw));
    out.push_str(r#","asks":"#);
    pairs(&mut out, asks.iter().take(limit).map(raw));
    out.push('}');
    out
}

/// Binance's error body, e.g. `{"code":-1003,"msg":"Too many requests"}`.
pub fn error(code: i64, message: &str) -> String {
    serde_json::json!({ "code": code, "msg": message }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty, TradeKind};
    use crate::venue::binance::{self, Message};

    fn change(p: &str, q: &str) -> Change {
        let size = Qty::parse(q).unwrap();
        Change { price: Price::parse(p).unwrap(), change: size, size }
    }

    #[test]
    fn frames_parse_back_with_the_chain_rule_of_each_market() {
        let bids = [change("100.01", "2.5")];
        let asks = [change("100.02", "0")];
        for kind in Kind::ALL {
            let text = diff(kind, "x@depth@100ms", "BTCUSD_PERP", 5, 1_000, &bids, &asks);
            let Message::Depth(d) = binance::parse(&text).unwrap() else { panic!("{text}") };
            assert_eq!(d.last_id, last_update_id(5));
            match kind {
                Kind::Spot => {
                    assert_eq!((d.first_id, d.prev_last_id), (last_update_id(4) + 1, None))
                }
                _ => assert_eq!(d.prev_last_id, Some(last_update_id(4))),
            }
            assert_eq!(d.bids[0].qty, Qty::parse("2.5").unwrap());
            assert_eq!(d.asks[0].qty, Qty::ZERO);
            let t = Trade {
                market: "X".into(),
                id: 42,
                side: TakerSide::Sell,
                kind: TradeKind::Trade,
                ts_event: EventTime::from_millis(999).unwrap(),
                price: Price::parse("100.01").unwrap(),
                qty: Qty::parse("0.5").unwrap(),
            };
            let Message::Trade(back) =
                binance::parse(&trade(kind, "x@trade", "X", 1_000, &t)).unwrap()
            else {
                panic!("trade")
            };
            assert_eq!(
                (back.id, back.side, back.ts_event, back.qty),
                (42, t.side, t.ts_event, t.qty)
            );
            let level = Level::new(Price::parse("1").unwrap(), Qty::parse("1").unwrap());
            let body = snapshot(kind, "X", 5, 1_000, &[level, level], &[level], 1);
            let Message::Snapshot(s) = binance::parse(&body).unwrap() else { panic!("snapshot") };
            assert_eq!((s.last_update_id, s.bids.len()), (last_update_id(5), 1));
            assert!(body.starts_with("{\"lastUpdateId\""), "{body}");
        }
    }
}
