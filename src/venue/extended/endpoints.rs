//! Where the Extended streams live: the configurable WebSocket base and the URL of every
//! public stream under it (docs/VENUES.md §1.1, §2), plus the mandatory `User-Agent`.
//!
//! Builds strings only; must not connect, resolve hosts or read configuration files.

use std::time::Duration;

use super::Depth;

/// Mainnet v1 WebSocket base ([EXT-DOCS], [X10-CFG] `MAINNET_CONFIG`; docs/VENUES.md §1.1).
pub const MAINNET_BASE: &str = "wss://api.starknet.extended.exchange/stream.extended.exchange/v1";

/// Testnet (Sepolia) v1 WebSocket base. Sources disagree on the host; this is the official
/// SDK's ([X10-CFG] `TESTNET_CONFIG`), which docs/VENUES.md §1.1 says to default to.
pub const TESTNET_BASE: &str =
    "wss://api.starknet.sepolia.extended.exchange/stream.extended.exchange/v1";

/// The `User-Agent` header sent on every REST and WebSocket request.
///
/// Mandatory: Extended refuses the WebSocket upgrade with HTTP 403 when it is missing
/// (docs/VENUES.md §1.2, [EXT-DOCS] "Mandatory headers"). It is fixed and versioned so the venue
/// can tell our traffic apart.
pub const USER_AGENT: &str = concat!("mdkit/", env!("CARGO_PKG_VERSION"));

/// The venue pings every connection this often (WebSocket control frames, not JSON).
///
/// The client must answer each ping with a pong within [`PONG_DEADLINE`] or be dropped
/// (docs/VENUES.md §1.2). tokio-tungstenite queues that pong by itself while the stream is being
/// read, so the connection loop in `collect` answers pings as long as it keeps reading — it
/// must never stop reading a socket it keeps open. Client pings are answered but optional.
pub const SERVER_PING_INTERVAL: Duration = Duration::from_secs(15);
/// How long the venue waits for the pong to its ping.
pub const PONG_DEADLINE: Duration = Duration::from_secs(10);
/// A book stream silent this long is dead: close it and reconnect (docs/VENUES.md §1.2, the
/// default; make it configurable).
pub const STALE_AFTER: Duration = Duration::from_secs(90);
/// The largest message to accept: a full BTC-USD snapshot was 374 KB (docs/VENUES.md §1.2).
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// A base URL or market name that cannot be used to build a stream URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("WebSocket base {base:?} must start with ws:// or wss://, name a host, and have no query or fragment")]
    Base { base: String },
    #[error(
        "market {market:?} is not a market name like BTC-USD (letters, digits, '-' and '_' only)"
    )]
    Market { market: String },
}

/// The v1 WebSocket base and the stream URLs under it. All hosts and paths are configuration
/// (docs/VENUES.md §0); tests point this at `ws://127.0.0.1:<port>/…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    base: String,
}

impl Endpoints {
    pub fn mainnet() -> Self {
        Self { base: MAINNET_BASE.to_owned() }
    }

    pub fn testnet() -> Self {
        Self { base: TESTNET_BASE.to_owned() }
    }

    /// Any `ws://` or `wss://` base, e.g. `ws://127.0.0.1:9001/stream.extended.exchange/v1`.
    /// A trailing `/` is dropped.
    pub fn new(base: &str) -> Result<Self, EndpointError> {
        let trimmed = base.trim_end_matches('/');
        let host = trimmed
            .strip_prefix("wss://")
            .or_else(|| trimmed.strip_prefix("ws://"))
            .map(|rest| rest.split('/').next().unwrap_or(""));
        let valid = matches!(host, Some(h) if !h.is_empty())
            && !trimmed.contains(['?', '#'])
            && !trimmed.contains(char::is_whitespace);
        if !valid {
            return Err(EndpointError::Base { base: base.to_owned() });
        }
        Ok(Self { base: trimmed.to_owned() })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `/orderbooks/{market}`; [`Depth::Top`] adds `?depth=1` (best bid and ask only,
    /// every frame a SNAPSHOT, docs/VENUES.md §1.3). `None` streams every market on one socket.
    pub fn orderbooks(&self, market: Option<&str>, depth: Depth) -> Result<String, EndpointError> {
        let url = self.stream("orderbooks", market)?;
        Ok(match depth {
            Depth::Full => url,
            Depth::Top => format!("{url}?depth=1"),
        })
    }

    /// `/publicTrades/{market}` (docs/VENUES.md §1.4).
    pub fn public_trades(&self, market: Option<&str>) -> Result<String, EndpointError> {
        self.stream("publicTrades", market)
    }

    /// `/prices/mark/{market}` (docs/VENUES.md §1.5).
    pub fn mark_prices(&self, market: Option<&str>) -> Result<String, EndpointError> {
        self.stream("prices/mark", market)
    }

    /// `/prices/index/{market}` (docs/VENUES.md §1.5).
    pub fn index_prices(&self, market: Option<&str>) -> Result<String, EndpointError> {
        self.stream("prices/index", market)
    }

    /// `/funding/{market}` (docs/VENUES.md §1.1).
    pub fn funding(&self, market: Option<&str>) -> Result<String, EndpointError> {
        self.stream("funding", market)
    }

    /// The v2 JSON-RPC URL beside this v1 base: a trailing `/v1` becomes `/v2/rpc`
    /// (`…/stream.extended.exchange/v1` → `…/stream.extended.exchange/v2/rpc`, docs/VENUES.md §2);
    /// a base without `/v1` gets `/v2/rpc` appended.
    pub fn rpc(&self) -> String {
        let root = self.base.strip_suffix("/v1").unwrap_or(&self.base);
        format!("{root}/v2/rpc")
    }

    fn stream(&self, path: &str, market: Option<&str>) -> Result<String, EndpointError> {
        match market {
            None => Ok(format!("{}/{path}", self.base)),
            Some(market) => {
                let valid = !market.is_empty()
                    && market.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(EndpointError::Market { market: market.to_owned() });
                }
                Ok(format!("{}/{path}/{market}", self.base))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_urls_match_the_docs() {
        let ep = Endpoints::mainnet();
        let base = "wss://api.starknet.extended.exchange/stream.extended.exchange";
        let cases = [
            (ep.orderbooks(Some("BTC-USD"), Depth::Full), format!("{base}/v1/orderbooks/BTC-USD")),
            (
                ep.orderbooks(Some("ETH-USD"), Depth::Top),
                format!("{base}/v1/orderbooks/ETH-USD?depth=1"),
            ),
            (ep.orderbooks(None, Depth::Full), format!("{base}/v1/orderbooks")),
            (ep.public_trades(Some("BTC-USD")), format!("{base}/v1/publicTrades/BTC-USD")),
            (ep.mark_prices(Some("BTC-USD")), format!("{base}/v1/prices/mark/BTC-USD")),
            (ep.index_prices(Some("BTC-USD")), format!("{base}/v1/prices/index/BTC-USD")),
            (ep.funding(Some("BTC-USD")), format!("{base}/v1/funding/BTC-USD")),
        ];
        for (got, want) in cases {
            assert_eq!(got.unwrap(), want);
        }
        assert_eq!(ep.rpc(), format!("{base}/v2/rpc"));
    }

    #[test]
    fn testnet_uses_the_sdk_host() {
        let ep = Endpoints::testnet();
        assert!(ep.base().starts_with("wss://api.starknet.sepolia.extended.exchange/"));
        assert_eq!(
            ep.rpc(),
            "wss://api.starknet.sepolia.extended.exchange/stream.extended.exchange/v2/rpc"
        );
    }

    #[test]
    fn local_test_base_is_accepted_and_trailing_slash_dropped() {
        let ep = Endpoints::new("ws://127.0.0.1:9001/stream.extended.exchange/v1/").unwrap();
        assert_eq!(
            ep.public_trades(Some("BTC-USD")).unwrap(),
            "ws://127.0.0.1:9001/stream.extended.exchange/v1/publicTrades/BTC-USD"
        );
        assert_eq!(ep.rpc(), "ws://127.0.0.1:9001/stream.extended.exchange/v2/rpc");
        let bare = Endpoints::new("ws://localhost:1").unwrap();
        assert_eq!(bare.rpc(), "ws://localhost:1/v2/rpc");
    }

    #[test]
    fn bad_bases_and_markets_are_refused() {
        for bad in ["https://x/v1", "ws://", "wss:///v1", "ws://h/v1?x=1", "h/v1", "ws://h /v1"] {
            assert_eq!(
                Endpoints::new(bad),
                Err(EndpointError::Base { base: bad.to_owned() }),
                "{bad}"
            );
        }
        let ep = Endpoints::mainnet();
        for bad in ["", "BTC/USD", "BTC-USD?depth=1", "BTC USD"] {
            assert_eq!(
                ep.public_trades(Some(bad)),
                Err(EndpointError::Market { market: bad.to_owned() }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_agent_is_versioned() {
        assert_eq!(USER_AGENT, format!("mdkit/{}", env!("CARGO_PKG_VERSION")));
    }
}
