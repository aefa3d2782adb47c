//! OKX v5's link plan (OKX API v5, "WebSocket" overview and "Order book channel"): one
//! connection per market and stream at `wss://ws.okx.com:8443/ws/v5/public` (or `--url`),
//! each sending one `subscribe` once connected — `books` (400 levels, snapshot then updates
//! every 100 ms) or `trades`. OKX closes a connection that receives nothing for 30 s, so the
//! text `ping` (answered by the text `pong`) goes out every [`PING_EVERY`]. No REST snapshot:
//! the channel carries its own. Plain data: no sockets, no clocks.

use std::time::Duration;

use crate::storage::Stream;
use crate::venue::link::{AppPing, Endpoints, LinkSpec, PlanError, Wanted};

/// The public endpoint (production).
pub const URL: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// The largest message accepted: a 400-level snapshot is 800 levels of some 35 bytes (about
/// 28 KB; the fixture's largest frame is 31 KB); 1 MiB leaves room for long instruments and
/// batched trades.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How often the application ping is sent: under the venue's 30 s idle limit with margin.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// The `subscribe` message of `channel` (`books`, `trades`) for `inst_id`.
pub fn subscribe(channel: &str, inst_id: &str) -> String {
    serde_json::json!({"op": "subscribe", "args": [{"channel": channel, "instId": inst_id}]})
        .to_string()
}

/// Whether `inst_id` is spelled as OKX spells instruments: upper-case letters and digits in
/// `-`-separated parts, at least two (`BTC-USDT`, `BTC-USD-SWAP`, `BTC-USD-220527`).
pub fn is_inst_id(inst_id: &str) -> bool {
    let parts: Vec<&str> = inst_id.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// The plan for `inst_id` (as OKX spells it).
pub fn plan(
    inst_id: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by okx: its books channel carries its own snapshot".into(),
        ));
    }
    if !is_inst_id(inst_id) {
        return Err(PlanError(format!(
            "{inst_id:?} is not an OKX instrument id (spelled like BTC-USDT or BTC-USDT-SWAP)"
        )));
    }
    let url = endpoints.stream_url(URL);
    let link = |stream, channel: &str| LinkSpec {
        stream,
        url: url.clone(),
        subscribe: vec![subscribe(channel, inst_id)],
        ping: Some(AppPing { every: PING_EVERY, text: "ping".to_owned() }),
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    };
    let mut links = Vec::new();
    if wanted.book {
        let book = link(Stream::Book, "books");
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..book });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, "trades"));
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Wanted = Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn the_plan_subscribes_books_and_trades_on_mainnet_by_default() {
        let links = plan("BTC-USDT", &Endpoints::default(), BOTH).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].url, "wss://ws.okx.com:8443/ws/v5/public");
        assert_eq!(
            links[0].subscribe,
            vec![r#"{"args":[{"channel":"books","instId":"BTC-USDT"}],"op":"subscribe"}"#]
        );
        assert_eq!(
            (links[0].stream, links[0].stale_after),
            (Stream::Book, Some(Duration::from_secs(90)))
        );
        assert_eq!((links[1].stream, links[1].stale_after), (Stream::Trades, None));
        assert!(links[1].subscribe[0].contains(r#""channel":"trades""#));
        assert_eq!(links[1].ping.as_ref().unwrap().text, "ping");
        let local = Endpoints { url: Some("ws://127.0.0.1:4000".into()), rest_url: None };
        assert_eq!(
            plan("BTC-USD-SWAP", &local, BOTH).unwrap()[1].url,
            "ws://127.0.0.1:4000/ws/v5/public"
        );
    }

    #[test]
    fn bad_settings_are_refused_in_one_line() {
        let rest = Endpoints { url: None, rest_url: Some("http://x".into()) };
        let cases = [
            (plan("BTCUSDT", &Endpoints::default(), BOTH), "not an OKX instrument id"),
            (plan("btc-usdt", &Endpoints::default(), BOTH), "not an OKX instrument id"),
            (plan("BTC-USDT", &rest, BOTH), "--rest-url"),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        assert!(is_inst_id("BTC-USD-220527"));
    }
}
