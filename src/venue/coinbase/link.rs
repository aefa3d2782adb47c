//! Coinbase Advanced Trade's link plan (Coinbase "WebSocket Overview", "Channels";
//! docs/VENUES.md §16.2): one connection per market and stream at
//! `wss://advanced-trade-ws.coinbase.com` (or `--url`), each sending two subscribe messages
//! once connected — its data channel (`level2` or `market_trades`) and `heartbeats`.
//!
//! Why one connection per stream: `sequence_num` counts every message of a connection
//! across all its channels, so a hole anywhere on a connection makes its book suspect. With
//! the book alone on its connection, a lost trades or ticker message cannot cost a book
//! resubscribe, and a book break does not cut the trades stream (Kraken, OKX, Bybit and
//! Hyperliquid are planned the same way; Binance combines because its REST splice needs
//! one stream). Why `heartbeats` on each: Coinbase closes a connection whose channels send
//! nothing for 60–90 s; heartbeats arrive every second, so a quiet product's trades
//! connection stays open, and silence on either connection means it is dead (both get the
//! staleness limit). No application ping, no REST snapshot: `level2` sends its own snapshot.
//! Plain data: no sockets, no clocks.

use crate::storage::Stream;
use crate::venue::link::{Endpoints, LinkSpec, PlanError, Wanted};

/// The production endpoint (market data needs no authentication).
pub const URL: &str = "wss://advanced-trade-ws.coinbase.com";

/// The largest message accepted. `level2` opens with the whole book in one message, with no
/// depth limit: some 100 bytes per level (`{"side":"bid","event_time":"…","price_level":
/// "21921.73","new_quantity":"0.06317902"}`), so a deep book of 50,000 levels a side is
/// about 10 MB (the legacy feed's snapshots in the fixture already reach 1,341 levels a
/// side on a small product). 16 MiB leaves room; a larger message ends the connection with
/// a `disconnect` row that names the limit (docs/VENUES.md §10).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// The channel a stream subscribes (besides `heartbeats`).
pub fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "level2",
        Stream::Trades => "market_trades",
        Stream::Combined => "level2+market_trades",
    }
}

/// The `subscribe` message of `channel` for `product` (`level2`, `market_trades`).
pub fn subscribe(channel: &str, product: &str) -> String {
    serde_json::json!({"type": "subscribe", "product_ids": [product], "channel": channel})
        .to_string()
}

/// The `subscribe` message of `heartbeats` (it takes no product).
pub fn subscribe_heartbeats() -> String {
    serde_json::json!({"type": "subscribe", "channel": "heartbeats"}).to_string()
}

/// Whether `product` is spelled as Coinbase spells product ids: two or more parts of
/// upper-case letters and digits joined by `-` (`BTC-USD`, `1INCH-USD`).
pub fn is_product(product: &str) -> bool {
    let mut parts = 0;
    for part in product.split('-') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// The plan for `product` (as Coinbase spells it).
pub fn plan(
    product: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by coinbase: its level2 channel carries its own snapshot"
                .into(),
        ));
    }
    if !is_product(product) {
        return Err(PlanError(format!(
            "{product:?} is not a Coinbase product id (spelled like BTC-USD, upper case)"
        )));
    }
    let url = endpoints.stream_url(URL);
    let link = |stream| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe(channel(stream), product), subscribe_heartbeats()],
        ping: None,
        rest: None,
        // Heartbeats every second: silence means the connection is dead, on either stream.
        stale_after: Some(wanted.stale_after),
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        links.push(link(Stream::Book));
    }
    if wanted.trades {
        links.push(link(Stream::Trades));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn each_stream_has_its_connection_with_heartbeats() {
        let links = plan("BTC-USD", &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://advanced-trade-ws.coinbase.com");
        assert_eq!(
            links[0].subscribe,
            vec![
                r#"{"channel":"level2","product_ids":["BTC-USD"],"type":"subscribe"}"#,
                r#"{"channel":"heartbeats","type":"subscribe"}"#
            ]
        );
        assert_eq!(links[0].stream, Stream::Book);
        assert_eq!(
            (links[1].stream, links[1].stale_after),
            (Stream::Trades, Some(Duration::from_secs(90)))
        );
        assert!(links[1].subscribe[0].contains(r#""channel":"market_trades""#));
        assert!(links[1].ping.is_none() && links[1].rest.is_none());
        assert_eq!(links[0].max_message_bytes, 16 << 20);
        let local = Endpoints { url: Some("ws://127.0.0.1:4000".into()), rest_url: None };
        assert_eq!(plan("ETH-USD", &local, BOTH).unwrap()[1].url, "ws://127.0.0.1:4000");
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let rest = Endpoints { url: None, rest_url: Some("http://x".into()) };
        let none = Endpoints::default();
        for (result, want) in [
            (plan("btc-usd", &none, BOTH), "not a Coinbase product id"),
            (plan("BTCUSD", &none, BOTH), "not a Coinbase product id"),
            (plan("BTC-USD", &rest, BOTH), "--rest-url"),
        ] {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert!(is_product("1INCH-USD") && !is_product("BTC--USD") && !is_product("-USD"));
    }
}
