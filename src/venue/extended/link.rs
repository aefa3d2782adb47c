//! Extended's link plans. v1 (docs/VENUES.md §1.1–§1.2): one connection per market and
//! stream, the URL being the subscription (`/orderbooks/{market}`, `/publicTrades/{market}`),
//! no message to send and no application ping (the venue pings at the WebSocket level every
//! 15 s). v2 (§2): one JSON-RPC connection per market at `…/v2/rpc`, subscribing to the full
//! book and the trades of the market once connected. A bare `ws://HOST:PORT` — what
//! `mdkit simulate` prints — gets the v1 path (v2: the rpc path beside it).

use super::v2::{self, BookView, Subscription};
use super::{Depth, Endpoints as Urls};
use crate::storage::Stream;
use crate::venue::link::{Endpoints, LinkSpec, PlanError, Wanted};
use crate::venue::MAX_MESSAGE_BYTES;

/// The v1 plan for `market`: a book and a trades connection, as wanted.
pub fn plan(
    market: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    let urls = urls(endpoints)?;
    let bad = |e: super::EndpointError| PlanError(e.to_string());
    let mut links = Vec::new();
    if wanted.book {
        let url = urls.orderbooks(Some(market), Depth::Full).map_err(bad)?;
        links.push(LinkSpec { stale_after: Some(wanted.stale_after), ..link(Stream::Book, url) });
    }
    if wanted.trades {
        links.push(link(Stream::Trades, urls.public_trades(Some(market)).map_err(bad)?));
    }
    Ok(links)
}

/// The v2 plan for `market`: one connection that subscribes to what is wanted.
pub fn plan_v2(
    market: &str,
    endpoints: &Endpoints,
    wanted: Wanted,
) -> Result<Vec<LinkSpec>, PlanError> {
    let urls = urls(endpoints)?;
    // The v1 URL check refuses a market name the venue cannot have.
    urls.orderbooks(Some(market), Depth::Full).map_err(|e| PlanError(e.to_string()))?;
    let market = Some(market.to_owned());
    let mut subscriptions = Vec::new();
    if wanted.book {
        subscriptions
            .push(Subscription::OrderBook { market: market.clone(), view: BookView::Full });
    }
    if wanted.trades {
        subscriptions.push(Subscription::Trades { market });
    }
    let subscribe = subscriptions.iter().zip(1..).map(|(s, id)| v2::subscribe(id, s)).collect();
    Ok(vec![LinkSpec {
        subscribe,
        stale_after: wanted.book.then_some(wanted.stale_after),
        ..link(Stream::Combined, urls.rpc())
    }])
}

fn urls(endpoints: &Endpoints) -> Result<Urls, PlanError> {
    if endpoints.rest_url.is_some() {
        return Err(PlanError(
            "--rest-url is not used by extended: its book stream carries its own snapshots".into(),
        ));
    }
    match &endpoints.url {
        None => Ok(Urls::mainnet()),
        Some(url) => {
            Urls::new(&with_v1_path(url)).map_err(|e| PlanError(format!("bad --url {url:?}: {e}")))
        }
    }
}

fn link(stream: Stream, url: String) -> LinkSpec {
    LinkSpec {
        stream,
        url,
        subscribe: Vec::new(),
        ping: None,
        rest: None,
        stale_after: None,
        max_message_bytes: MAX_MESSAGE_BYTES,
    }
}

/// `ws://127.0.0.1:PORT` (what `mdkit simulate` prints) → the same host with the v1 path.
fn with_v1_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    if rest.trim_end_matches('/').contains('/') {
        url.to_owned()
    } else {
        format!("{}/stream.extended.exchange/v1", url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const WANT_BOTH: Wanted =
        Wanted { book: true, trades: true, stale_after: Duration::from_secs(90) };

    #[test]
    fn a_bare_local_url_gets_the_v1_path_and_only_the_book_is_watched() {
        let local = Endpoints { url: Some("ws://127.0.0.1:9".into()), rest_url: None };
        let plan = plan("ETH-USD", &local, WANT_BOTH).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(
            (plan[0].stream, plan[0].url.as_str(), plan[0].stale_after),
            (
                Stream::Book,
                "ws://127.0.0.1:9/stream.extended.exchange/v1/orderbooks/ETH-USD",
                Some(Duration::from_secs(90))
            )
        );
        assert_eq!((plan[1].stream, plan[1].stale_after), (Stream::Trades, None));
        let mainnet = super::plan("BTC-USD", &Endpoints::default(), WANT_BOTH).unwrap();
        assert!(
            mainnet[1].url.starts_with("wss://")
                && mainnet[1].url.ends_with("/publicTrades/BTC-USD")
        );
    }

    #[test]
    fn v2_is_one_connection_that_subscribes_to_the_book_and_the_trades() {
        let local = Endpoints { url: Some("ws://127.0.0.1:9".into()), rest_url: None };
        let plan = plan_v2("ETH-USD", &local, WANT_BOTH).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].stream, Stream::Combined);
        assert_eq!(plan[0].url, "ws://127.0.0.1:9/stream.extended.exchange/v2/rpc");
        assert_eq!(plan[0].stale_after, Some(Duration::from_secs(90)));
        assert_eq!(plan[0].subscribe.len(), 2);
        let book: serde_json::Value = serde_json::from_str(&plan[0].subscribe[0]).unwrap();
        assert_eq!(book["method"], "subscribe");
        assert_eq!(book["params"]["scope"], "orderbooks");
        assert_eq!(book["params"]["selector"]["market"], "ETH-USD");
        assert_eq!(book["params"]["selector"]["depth"], "full");
        let trades: serde_json::Value = serde_json::from_str(&plan[0].subscribe[1]).unwrap();
        assert_eq!(
            (trades["id"].as_str(), trades["params"]["scope"].as_str()),
            (Some("2"), Some("trades"))
        );
        let trades_only = Wanted { book: false, ..WANT_BOTH };
        let plan = plan_v2("ETH-USD", &local, trades_only).unwrap();
        assert_eq!((plan[0].subscribe.len(), plan[0].stale_after), (1, None));
        assert!(plan_v2("ETH USD", &local, WANT_BOTH).is_err());
    }

    #[test]
    fn a_rest_url_or_a_bad_base_is_refused() {
        let rest = Endpoints { url: None, rest_url: Some("http://h/d".into()) };
        assert!(plan("ETH-USD", &rest, WANT_BOTH)
            .unwrap_err()
            .0
            .contains("--rest-url is not used"));
        let bad = Endpoints { url: Some("http://h".into()), rest_url: None };
        assert!(plan("ETH-USD", &bad, WANT_BOTH).unwrap_err().0.contains("bad --url"));
    }
}
