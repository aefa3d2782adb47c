//! dYdX v4's link plan (the indexer WebSocket documentation and v4-chain
//! `indexer/services/socks`; docs/VENUES.md §15.2): one connection per market and stream at
//! `wss://indexer.dydx.trade/v4/ws` (or `--url`), each sending one subscribe once connected —
//! `{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD","batched":true}` (the answer
//! is the snapshot, then updates) or `{"type":"subscribe","channel":"v4_trades","id":…}` (the
//! answer replays recent trades). `message_id` counts every message of a connection, so one
//! channel per connection makes it that channel's own sequence.
//!
//! No application ping: the indexer sends a WebSocket ping every 30 s and closes a connection
//! whose pong is 10 s late; the connection loop answers WebSocket pings as it reads. No REST
//! snapshot: the subscription answer is the snapshot. Plain data: no sockets, no clocks.

use crate::storage::Stream;
use crate::venue::link::{Endpoints, LinkSpec, PlanError, Wanted};

use super::wire::{BOOK_CHANNEL, TRADES_CHANNEL};

/// The production indexer (DYDX token holders' deployment).
pub const URL: &str = "wss://indexer.dydx.trade/v4/ws";
/// The largest message accepted. The largest the indexer sends are a snapshot (100 levels a
/// side, `API_ORDERBOOK_LEVELS_PER_SIDE_LIMIT`: the fixture's is 19 KB pretty-printed, some
/// 7 KB on the wire), the trades replay (at most `API_LIMIT_V4` trades — 100, 1,000 on newer
/// deployments — of about 150 bytes: 150 KB) and a batch, which holds every update of its
/// 250 ms (`BATCH_SEND_INTERVAL_MS`) at about 50 bytes each (the fixture's 41 are 6 KB
/// pretty-printed). 1 MiB holds 1,000 trades six times over and some 20,000 updates in a
/// quarter second.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Whether the book is subscribed `batched` unless told otherwise: yes. A batch carries every
/// update of 250 ms in order, so nothing is lost but the `book_top` rows between updates of
/// one batch, and a busy market sends 4 messages a second instead of one per update.
pub const BATCHED: bool = true;

/// The `subscribe` message of `channel` for `market`; `batched` only for the book.
pub fn subscribe(channel: &str, market: &str, batched: Option<bool>) -> String {
    let mut message = serde_json::json!({"type": "subscribe", "channel": channel, "id": market});
    if let (Some(batched), Some(fields)) = (batched, message.as_object_mut()) {
        fields.insert("batched".to_owned(), serde_json::Value::Bool(batched));
    }
    message.to_string()
}

/// Whether `market` is spelled as the indexer spells perpetual tickers: upper-case letters and
/// digits in `-`-separated parts (`BTC-USD`, `1INCH-USD`); such a name is a safe folder name.
pub fn is_market(market: &str) -> bool {
    market.contains('-')
        && market.split('-').all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// The plan for `market` (as the indexer spells it), the book subscribed [`BATCHED`].
pub fn plan(
    market: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    plan_batched(market, BATCHED, endpoints, wanted)
}

/// The plan for `market` with the book subscribed `batched` or not.
pub fn plan_batched(
    market: &str,
    batched: bool,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by dydx: the v4_orderbook subscription answers with its snapshot"
                .into(),
        ));
    }
    if !is_market(market) {
        return Err(PlanError(format!(
            "{market:?} is not a dYdX market (spelled like BTC-USD, upper-case letters and digits)"
        )));
    }
    let url = endpoints.stream_url(URL);
    let link = |stream, subscribe: String| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe],
        ping: None,
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        let book = link(Stream::Book, subscribe(BOOK_CHANNEL, market, Some(batched)));
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..book });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, subscribe(TRADES_CHANNEL, market, None)));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn the_plan_subscribes_the_book_and_trades_on_their_own_connections() {
        let links = plan("BTC-USD", &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://indexer.dydx.trade/v4/ws");
        assert_eq!(
            links[0].subscribe,
            vec![r#"{"batched":true,"channel":"v4_orderbook","id":"BTC-USD","type":"subscribe"}"#]
        );
        assert_eq!(
            (links[0].stream, links[0].stale_after),
            (Stream::Book, Some(Duration::from_secs(90)))
        );
        assert_eq!(
            links[1].subscribe,
            vec![r#"{"channel":"v4_trades","id":"BTC-USD","type":"subscribe"}"#]
        );
        assert_eq!((links[1].stream, links[1].stale_after), (Stream::Trades, None));
        assert!(links.iter().all(|l| l.ping.is_none() && l.max_message_bytes == 1 << 20));
        let single = plan_batched("ETH-USD", false, &Endpoints::default(), BOTH).unwrap();
        assert!(single[0].subscribe[0].starts_with(r#"{"batched":false,"#));
        let local = Endpoints { url: Some("ws://127.0.0.1:4000".into()), rest_url: None };
        assert_eq!(plan("ETH-USD", &local, BOTH).unwrap()[1].url, "ws://127.0.0.1:4000/v4/ws");
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let rest = Endpoints { url: None, rest_url: Some("http://x".into()) };
        let none = Endpoints::default();
        let cases = [
            (plan("btc-usd", &none, BOTH), "not a dYdX market"),
            (plan("BTCUSD", &none, BOTH), "not a dYdX market"),
            (plan("BTC/USD", &none, BOTH), "not a dYdX market"),
            (plan("BTC-USD", &rest, BOTH), "--rest-url"),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert!(is_market("1INCH-USD") && !is_market("BTC--USD") && !is_market("-USD"));
    }
}
