//! Binance's link plan (docs/VENUES.md §3.1): one combined-stream connection per market
//! carrying `<symbol>@depth@100ms` and `<symbol>@trade`, and after its first diff the REST
//! depth snapshot, journaled as a frame of that connection so the recorder can splice the
//! diffs onto it. The URL is the subscription; Binance pings at the WebSocket level only.

use super::Kind;
use crate::storage::Stream;
use crate::venue::link::{Endpoints, LinkSpec, PlanError, RestSnapshot, Wanted};

/// The largest WebSocket message to accept. The combined stream carries diffs and trades
/// only (the snapshot comes over REST): the largest diff in the shipped real captures
/// (`../shared/realdata/hftbacktest-binance`, spot BTCUSDT) is 64 KB, so 1 MiB is 16 times
/// that, and anything larger is not a frame of this venue.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Snapshot depth asked for: the most USD-M and COIN-M serve (spot serves up to 5000).
pub const SNAPSHOT_LIMIT: u32 = 1000;

/// The plan for `market` (upper case) of a `kind` market.
pub fn plan(
    kind: Kind,
    market: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    let (ws_base, rest_url) = bases(kind, endpoints)?;
    let symbol = market.to_ascii_lowercase();
    let mut streams = Vec::new();
    if wanted.book {
        streams.push(Kind::depth_stream(&symbol));
    }
    if wanted.trades {
        streams.push(format!("{symbol}@trade"));
    }
    let rest = wanted.book.then(|| RestSnapshot {
        url: format!("{rest_url}?symbol={market}&limit={SNAPSHOT_LIMIT}"),
        after_frame_containing: "@depth",
    });
    Ok(vec![LinkSpec {
        stream: Stream::Combined,
        url: format!("{ws_base}/stream?streams={}", streams.join("/")),
        subscribe: Vec::new(),
        ping: None,
        rest,
        // One connection carries the book: it must not go silent.
        stale_after: Some(wanted.stale_after),
        max_message_bytes: MAX_MESSAGE_BYTES,
    }])
}

/// The combined-stream base and the REST depth endpoint (without its query).
fn bases(kind: Kind, endpoints: &Endpoints) -> Result<(String, String), PlanError> {
    let ws_base = endpoints.url.as_deref().unwrap_or(kind.ws_base());
    let ws_base = ws_base.trim_end_matches('/').to_owned();
    if !(ws_base.starts_with("ws://") || ws_base.starts_with("wss://")) {
        return Err(PlanError(format!(
            "bad --url {ws_base:?}: a {} stream base is ws://HOST[:PORT] or wss://HOST[:PORT]",
            kind.venue()
        )));
    }
    let rest_url = match (&endpoints.rest_url, ws_base.strip_prefix("ws://")) {
        (Some(rest), _) => rest.clone(),
        // A local venue (plain ws://) serves REST on the same host and port.
        (None, Some(local)) => {
            let host = local.split('/').next().unwrap_or(local);
            let path = kind.depth_url().splitn(4, '/').nth(3).unwrap_or("");
            format!("http://{host}/{path}")
        }
        (None, None) => kind.depth_url().to_owned(),
    };
    if !(rest_url.starts_with("http://") || rest_url.starts_with("https://")) {
        return Err(PlanError(format!("bad --rest-url {rest_url:?}: use http:// or https://")));
    }
    Ok((ws_base, rest_url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wanted(book: bool, trades: bool) -> Wanted {
        Wanted { book, trades, stale_after: Duration::from_secs(90) }
    }

    #[test]
    fn urls_default_to_the_venue_and_a_local_ws_url_serves_rest_too() {
        let plan =
            super::plan(Kind::UsdM, "BTCUSDT", &Endpoints::default(), wanted(true, true)).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].stream, Stream::Combined);
        assert_eq!(
            plan[0].url,
            "wss://fstream.binance.com/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
        );
        let rest = plan[0].rest.as_ref().unwrap();
        assert_eq!(rest.url, "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
        assert!(rest.triggered_by(r#"{"stream":"btcusdt@depth@100ms","data":{}}"#));
        assert!(!rest.triggered_by(r#"{"stream":"btcusdt@trade","data":{}}"#));

        let local = Endpoints { url: Some("ws://127.0.0.1:9/".into()), rest_url: None };
        let plan = super::plan(Kind::Spot, "ETHUSDT", &local, wanted(true, true)).unwrap();
        let rest = plan[0].rest.as_ref().unwrap();
        assert_eq!(rest.url, "http://127.0.0.1:9/api/v3/depth?symbol=ETHUSDT&limit=1000");

        let given = Endpoints { url: None, rest_url: Some("http://h/d".into()) };
        let plan = super::plan(Kind::CoinM, "X", &given, wanted(true, false)).unwrap();
        assert_eq!(plan[0].url, "wss://dstream.binance.com/stream?streams=x@depth@100ms");
        assert_eq!(plan[0].rest.as_ref().unwrap().url, "http://h/d?symbol=X&limit=1000");
        let trades_only = super::plan(Kind::Spot, "X", &given, wanted(false, true)).unwrap();
        assert_eq!(trades_only[0].rest, None);
    }

    #[test]
    fn bad_bases_are_refused_with_the_flag_named() {
        let bad = Endpoints { url: Some("http://h".into()), rest_url: None };
        let err = plan(Kind::Spot, "X", &bad, wanted(true, true)).unwrap_err();
        assert!(err.0.contains("bad --url"), "{err}");
        let bad = Endpoints { url: None, rest_url: Some("ftp://h".into()) };
        let err = plan(Kind::Spot, "X", &bad, wanted(true, true)).unwrap_err();
        assert!(err.0.contains("bad --rest-url"), "{err}");
    }
}
