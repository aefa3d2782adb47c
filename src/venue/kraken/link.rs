//! Kraken v2's link plan (docs.kraken.com, "Spot WebSocket" v2): one connection per market
//! and stream at `wss://ws.kraken.com/v2` (or `--url`), each sending one `subscribe` once
//! connected — `book` at the chosen depth with its snapshot, `trade` with its snapshot of the
//! last 50 trades (deduplicated by the rules). Kraken sends a `heartbeat` about every second
//! without other traffic, so a book stream is never silent for long; the client ping
//! `{"method":"ping"}` (answered by `pong`) keeps a quiet trades stream's path alive too.
//! No REST snapshot: the book channel carries its own. Plain data: no sockets, no clocks.

use std::time::Duration;

use crate::storage::Stream;
use crate::venue::link::{AppPing, Endpoints, LinkSpec, PlanError, Wanted};

/// The public v2 endpoint (production).
pub const URL: &str = "wss://ws.kraken.com/v2";
/// The depths the `book` channel offers.
pub const DEPTHS: [usize; 5] = [10, 25, 100, 500, 1000];
/// The largest message accepted: a depth-1000 snapshot is 2,000 levels of some 45 bytes
/// (about 90 KB); 1 MiB leaves room for longer number text and batched trades.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How often the application ping is sent.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// The `subscribe` message of the `book` channel for `symbol` (`BTC/USD`) at `depth`.
pub fn subscribe_book(symbol: &str, depth: usize) -> String {
    serde_json::json!({
        "method": "subscribe",
        "params": {"channel": "book", "symbol": [symbol], "depth": depth, "snapshot": true},
    })
    .to_string()
}

/// The `subscribe` message of the `trade` channel for `symbol`.
pub fn subscribe_trades(symbol: &str) -> String {
    serde_json::json!({
        "method": "subscribe",
        "params": {"channel": "trade", "symbol": [symbol], "snapshot": true},
    })
    .to_string()
}

/// The plan for `symbol` (as Kraken spells it) with the book at `depth`.
pub fn plan(
    symbol: &str,
    depth: usize,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by kraken: its book channel carries its own snapshot".into(),
        ));
    }
    if !DEPTHS.contains(&depth) {
        return Err(PlanError(format!(
            "kraken book depth {depth} is not one of 10, 25, 100, 500, 1000"
        )));
    }
    if symbol.is_empty() || !symbol.contains('/') {
        return Err(PlanError(format!(
            "{symbol:?} is not a Kraken v2 pair (spelled like BTC/USD)"
        )));
    }
    let url = endpoints.stream_url(URL);
    let link = |stream, subscribe: String| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe],
        ping: Some(AppPing { every: PING_EVERY, text: r#"{"method":"ping"}"#.to_owned() }),
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        let book = link(Stream::Book, subscribe_book(symbol, depth));
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..book });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, subscribe_trades(symbol)));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn the_plan_subscribes_book_and_trades_on_mainnet_by_default() {
        let links = plan("BTC/USD", 10, &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://ws.kraken.com/v2");
        assert_eq!(
            links[0].subscribe,
            vec![
                r#"{"method":"subscribe","params":{"channel":"book","depth":10,"snapshot":true,"symbol":["BTC/USD"]}}"#
            ]
        );
        assert_eq!(
            (links[0].stream, links[0].stale_after),
            (Stream::Book, Some(Duration::from_secs(90)))
        );
        assert_eq!((links[1].stream, links[1].stale_after), (Stream::Trades, None));
        assert!(links[1].subscribe[0].contains(r#""channel":"trade""#));
        assert_eq!(links[1].ping.as_ref().unwrap().text, r#"{"method":"ping"}"#);
        let local = Endpoints { url: Some("ws://127.0.0.1:4000".into()), rest_url: None };
        assert_eq!(plan("BTC/USD", 25, &local, BOTH).unwrap()[1].url, "ws://127.0.0.1:4000/v2");
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let cases = [
            (plan("BTC/USD", 20, &Endpoints::default(), BOTH), "depth 20"),
            (plan("BTCUSD", 10, &Endpoints::default(), BOTH), "spelled like BTC/USD"),
            (
                plan(
                    "BTC/USD",
                    10,
                    &Endpoints { url: None, rest_url: Some("http://x".into()) },
                    BOTH,
                ),
                "--rest-url",
            ),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
