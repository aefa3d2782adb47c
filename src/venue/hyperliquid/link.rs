//! Hyperliquid's link plan (Hyperliquid docs, "Websocket" → "Subscriptions" and "Timeouts and
//! heartbeats"; docs/VENUES.md §13.2): one connection per market and stream at
//! `wss://api.hyperliquid.xyz/ws` (or `--url`), each sending one `subscribe` once connected —
//! `l2Book` (every push a full 20-level snapshot) and `trades` (the first push replays recent
//! trades, deduplicated by the rules). The server closes a connection it has sent nothing to
//! for 60 s, so the client pings `{"method":"ping"}` (answered on channel `pong`) every 30 s,
//! half that limit: a quiet coin's trades stream stays open. No REST snapshot: every book push
//! is one. Plain data: no sockets, no clocks.

use std::time::Duration;

use crate::storage::Stream;
use crate::venue::link::{AppPing, Endpoints, LinkSpec, PlanError, Wanted};

/// The public endpoint (mainnet; testnet is `wss://api.hyperliquid-testnet.xyz/ws`).
pub const URL: &str = "wss://api.hyperliquid.xyz/ws";
/// The largest message accepted. A book push is 20 + 20 levels, about 2.4 KB; a trades push
/// carries one block's trades of the coin at some 270 bytes each (with the two `users`
/// addresses): the fixture's largest, the 30-trade replay on subscribing, is 8.3 KB. A block
/// that sweeps a book (a liquidation cascade) can print thousands of fills; 2 MiB holds about
/// 7,500 of them and is the largest limit of any venue (`venue::MAX_MESSAGE_BYTES`, which the
/// simulator's oversize fault exceeds), so it must not grow past it.
pub const MAX_MESSAGE_BYTES: usize = 2 << 20;
/// How often the application ping is sent: half the 60 s after which the server closes a
/// connection it has sent nothing to (Hyperliquid docs, "Timeouts and heartbeats").
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// The application ping; the venue answers `{"channel":"pong"}`.
pub const PING: &str = r#"{"method":"ping"}"#;

/// The `subscribe` message of the `l2Book` channel for `coin` (as the wire spells it).
pub fn subscribe_book(coin: &str) -> String {
    subscribe("l2Book", coin)
}

/// The `subscribe` message of the `trades` channel for `coin`.
pub fn subscribe_trades(coin: &str) -> String {
    subscribe("trades", coin)
}

fn subscribe(channel: &str, coin: &str) -> String {
    // Written by hand so the key order is the documentation's (serde_json sorts keys).
    let coin = serde_json::Value::from(coin);
    format!(r#"{{"method":"subscribe","subscription":{{"type":"{channel}","coin":{coin}}}}}"#)
}

/// Whether `coin` can be a Hyperliquid coin: letters and digits, with the `/` of a spot pair,
/// the `@` of a spot index or the `:` of a builder-deployed perp (`BTC`, `kPEPE`,
/// `PURR/USDC`, `@107`, `xyz:XYZ100`).
pub fn is_coin(coin: &str) -> bool {
    !coin.is_empty()
        && coin.chars().any(|c| c.is_ascii_alphanumeric())
        && coin.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '@' | ':'))
}

/// The plan for `coin`, spelled as the wire does (`super::symbol` of the tables' name).
pub fn plan(coin: &str, endpoints: &Endpoints, wanted: Wanted) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by hyperliquid: every l2Book push is a full snapshot".into(),
        ));
    }
    if !is_coin(coin) {
        return Err(PlanError(format!(
            "{coin:?} is not a Hyperliquid coin (spelled like BTC, kPEPE, PURR/USDC or @107; case matters)"
        )));
    }
    let url = endpoints.stream_url(URL);
    let link = |stream, subscribe: String| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe],
        ping: Some(AppPing { every: PING_EVERY, text: PING.to_owned() }),
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        let book = link(Stream::Book, subscribe_book(coin));
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..book });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, subscribe_trades(coin)));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn the_plan_subscribes_l2book_and_trades_on_mainnet_by_default() {
        let links = plan("BTC", &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://api.hyperliquid.xyz/ws");
        assert_eq!(
            links[0].subscribe,
            vec![r#"{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}"#]
        );
        assert_eq!(
            links[1].subscribe,
            vec![r#"{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}"#]
        );
        assert_eq!(
            (links[0].stream, links[0].stale_after),
            (Stream::Book, Some(Duration::from_secs(90)))
        );
        assert_eq!((links[1].stream, links[1].stale_after), (Stream::Trades, None));
        for link in &links {
            let ping = link.ping.as_ref().unwrap();
            assert_eq!((ping.text.as_str(), ping.every), (r#"{"method":"ping"}"#, PING_EVERY));
            assert!(ping.every < Duration::from_secs(60));
            assert_eq!((link.rest.is_none(), link.max_message_bytes), (true, MAX_MESSAGE_BYTES));
        }
        let local = Endpoints { url: Some("ws://127.0.0.1:4000/ws".into()), rest_url: None };
        assert_eq!(plan("BTC", &local, BOTH).unwrap()[1].url, "ws://127.0.0.1:4000/ws");
        let books = Wanted { trades: false, ..BOTH };
        assert_eq!(plan("BTC", &local, books).unwrap().len(), 1);
    }

    #[test]
    fn coins_keep_their_case_and_spot_spellings() {
        for coin in ["kPEPE", "PURR/USDC", "@107", "xyz:XYZ100"] {
            let links = plan(coin, &Endpoints::default(), BOTH).unwrap();
            assert!(links[0].subscribe[0].contains(&format!(r#""coin":"{coin}""#)), "{coin}");
        }
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let rest = Endpoints { url: None, rest_url: Some("http://x".into()) };
        let cases = [
            (plan("BTC", &rest, BOTH), "--rest-url"),
            (plan("", &Endpoints::default(), BOTH), "is not a Hyperliquid coin"),
            (plan("BTC\"}", &Endpoints::default(), BOTH), "is not a Hyperliquid coin"),
            (plan("PURR-USDC", &Endpoints::default(), BOTH), "is not a Hyperliquid coin"),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
