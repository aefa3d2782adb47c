//! Bybit v5's link plan (Bybit v5 "Connect", "Orderbook", "Trade"; docs/VENUES.md §14.2): one
//! connection per market and stream at the category's endpoint
//! (`wss://stream.bybit.com/v5/public/{spot,linear,inverse}`, or `--url`), each sending one
//! `{"op":"subscribe","args":[topic]}` once connected — `orderbook.{depth}.{symbol}` (a
//! snapshot, then deltas) or `publicTrade.{symbol}`. Bybit asks clients to send
//! `{"op":"ping"}` every 20 s to keep the connection; it answers with a pong. No REST
//! snapshot: the topic carries its own. Plain data: no sockets, no clocks.

use std::time::Duration;

use crate::storage::Stream;
use crate::venue::link::{AppPing, Endpoints, LinkSpec, PlanError, Wanted};

use super::Category;

/// The largest message accepted. The biggest Bybit sends are an `orderbook.1000` snapshot
/// (2,000 levels of about 20 bytes, some 40 KB; the fixture's `orderbook.500` snapshot is
/// 18 KB) and a `publicTrade` message, which holds up to 1,024 trades of about 230 bytes
/// (some 240 KB; a larger match is split). 1 MiB covers both with room.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How often the application ping is sent: Bybit's recommended 20 s.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// The application ping.
pub const PING: &str = r#"{"op":"ping"}"#;
/// The book depth subscribed unless another is asked for: 50 levels a side, pushed every
/// 20 ms on every category.
pub const DEFAULT_DEPTH: usize = 50;
/// Depths a book may be subscribed at: 1, 50, 200 and 1000 today on spot, linear and inverse;
/// 500 on older linear and inverse feeds and in Bybit's history files (the fixture's).
pub const DEPTHS: [usize; 5] = [1, 50, 200, 500, 1000];

/// The book topic of `symbol` at `depth` (`orderbook.50.BTCUSDT`).
pub fn book_topic(depth: usize, symbol: &str) -> String {
    format!("orderbook.{depth}.{symbol}")
}

/// The trades topic of `symbol` (`publicTrade.BTCUSDT`).
pub fn trade_topic(symbol: &str) -> String {
    format!("publicTrade.{symbol}")
}

/// The `subscribe` message of one topic.
pub fn subscribe(topic: &str) -> String {
    serde_json::json!({"op": "subscribe", "args": [topic]}).to_string()
}

/// Whether `symbol` is spelled as Bybit spells symbols: upper-case letters and digits, with
/// `-` between parts of a dated future (`BTCUSDT`, `1000PEPEUSDT`, `BTCUSDT-26DEC25`).
pub fn is_symbol(symbol: &str) -> bool {
    !symbol.is_empty()
        && symbol.split('-').all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// The plan for `symbol` (as Bybit spells it) of `category`, its book at `depth`.
pub fn plan(
    category: Category,
    symbol: &str,
    depth: usize,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by bybit: its orderbook topic carries its own snapshot".into(),
        ));
    }
    if !is_symbol(symbol) {
        return Err(PlanError(format!(
            "{symbol:?} is not a Bybit symbol (spelled like BTCUSDT, upper-case letters and digits)"
        )));
    }
    if !DEPTHS.contains(&depth) {
        return Err(PlanError(format!(
            "bybit books are subscribed at depth 1, 50, 200, 500 or 1000, not {depth}"
        )));
    }
    let url = endpoints.stream_url(category.url());
    let link = |stream, topic: &str| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe(topic)],
        ping: Some(AppPing { every: PING_EVERY, text: PING.to_owned() }),
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        let book = link(Stream::Book, &book_topic(depth, symbol));
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..book });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, &trade_topic(symbol)));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn the_plan_subscribes_the_book_and_trades_at_the_category_endpoint() {
        let links = plan(Category::Linear, "BTCUSDT", 50, &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://stream.bybit.com/v5/public/linear");
        assert_eq!(
            links[0].subscribe,
            vec![r#"{"args":["orderbook.50.BTCUSDT"],"op":"subscribe"}"#]
        );
        assert_eq!(
            (links[0].stream, links[0].stale_after),
            (Stream::Book, Some(Duration::from_secs(90)))
        );
        assert_eq!((links[1].stream, links[1].stale_after), (Stream::Trades, None));
        assert_eq!(
            links[1].subscribe,
            vec![r#"{"args":["publicTrade.BTCUSDT"],"op":"subscribe"}"#]
        );
        let ping = links[1].ping.as_ref().unwrap();
        assert_eq!((ping.text.as_str(), ping.every), (r#"{"op":"ping"}"#, Duration::from_secs(20)));
        assert_eq!(links[0].max_message_bytes, 1 << 20);
        let spot = plan(Category::Spot, "BTCUSDT", 200, &Endpoints::default(), BOTH).unwrap();
        assert_eq!(spot[0].url, "wss://stream.bybit.com/v5/public/spot");
        let local = Endpoints { url: Some("ws://127.0.0.1:4000".into()), rest_url: None };
        let inverse = plan(Category::Inverse, "BTCUSD", 1, &local, BOTH).unwrap();
        assert_eq!(inverse[1].url, "ws://127.0.0.1:4000/v5/public/inverse");
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let rest = Endpoints { url: None, rest_url: Some("http://x".into()) };
        let none = Endpoints::default();
        let cases = [
            (plan(Category::Linear, "btcusdt", 50, &none, BOTH), "not a Bybit symbol"),
            (plan(Category::Linear, "BTC/USDT", 50, &none, BOTH), "not a Bybit symbol"),
            (plan(Category::Linear, "BTCUSDT", 25, &none, BOTH), "not 25"),
            (plan(Category::Linear, "BTCUSDT", 50, &rest, BOTH), "--rest-url"),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert!(is_symbol("BTCUSDT-26DEC25") && is_symbol("1000PEPEUSDT") && !is_symbol("BTC--X"));
    }
}
