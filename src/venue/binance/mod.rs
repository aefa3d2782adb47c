//! Binance spot, USD-M and COIN-M market data (docs/VENUES.md §3): the venue names mdkit uses,
//! their default endpoints, the frames of the combined streams and the REST depth snapshot
//! ([`frames`]), and the splice-and-chain rule of diff depth ([`seq`]).
//!
//! All three markets share one wire format and differ in the chain rule (spot `U == prev
//! u + 1`, futures `pu == prev u`) and in optional fields. Must not open sockets, keep time
//! or reconnect: `collect` carries out
//! the [`link`] plan, and the [`recorder`] rules apply frames to a book.

pub mod check;
pub mod frames;
pub mod link;
pub mod recorder;
pub mod seq;

pub use frames::{parse, BookTicker, DepthUpdate, Message, Snapshot};
pub use recorder::{SavedBook, SavedSync};
pub use seq::{Chain, ChainBreak, DepthSync, DiffStep, SnapshotStep, Splice, Sync};

use crate::model::contract::Contract;

/// The contract of a Binance COIN-M symbol, by Binance's rule (its exchangeInfo
/// `contractSize`, and the COIN-M contract specifications): every COIN-M contract is inverse,
/// worth 100 USD for BTC (`BTCUSD_PERP`, `BTCUSD_250926`, ...) and 10 USD for every other coin.
pub fn coinm_contract(symbol: &str) -> Contract {
    let usd = if symbol.to_ascii_uppercase().starts_with("BTCUSD") { 100 } else { 10 };
    Contract::Inverse { size: crate::model::Qty::from_raw(usd * crate::model::UNIT) }
}

/// The exchangeInfo URL next to a COIN-M REST depth URL (`…/dapi/v1/depth?…` →
/// `…/dapi/v1/exchangeInfo`); `None` when the URL has no `/depth` path to replace.
pub fn exchange_info_url(depth_url: &str) -> Option<String> {
    let base = depth_url.split_once('?').map_or(depth_url, |(path, _)| path);
    base.strip_suffix("/depth").map(|root| format!("{root}/exchangeInfo"))
}

/// The contract of `symbol` in a COIN-M `/dapi/v1/exchangeInfo` body: inverse, of the
/// symbol's `contractSize` USD. The error says what is missing.
pub fn contract_from_exchange_info(body: &str, symbol: &str) -> Result<Contract, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("exchangeInfo is not JSON: {e}"))?;
    let entry = value["symbols"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["symbol"].as_str() == Some(symbol)))
        .ok_or_else(|| format!("exchangeInfo lists no symbol {symbol}"))?;
    let size = match &entry["contractSize"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return Err(format!("exchangeInfo gives {symbol} no contractSize")),
    };
    format!("inverse:{size}")
        .parse()
        .map_err(|e| format!("exchangeInfo contractSize of {symbol}: {e}"))
}

/// One of Binance's three markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Spot,
    UsdM,
    CoinM,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Spot, Kind::UsdM, Kind::CoinM];

    /// The venue name in the tables (`venue=` partition) and on the command line.
    pub const fn venue(self) -> &'static str {
        match self {
            Kind::Spot => "binance-spot",
            Kind::UsdM => "binance-usdm",
            Kind::CoinM => "binance-coinm",
        }
    }

    /// The kind a venue name names, if it is a Binance one.
    pub fn of_venue(venue: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.venue() == venue)
    }

    pub const fn chain(self) -> Chain {
        match self {
            Kind::Spot => Chain::Spot,
            Kind::UsdM | Kind::CoinM => Chain::Futures,
        }
    }

    /// Default WebSocket base (§3.1); combined streams live at `/stream?streams=…`.
    pub const fn ws_base(self) -> &'static str {
        match self {
            Kind::Spot => "wss://stream.binance.com:9443",
            Kind::UsdM => "wss://fstream.binance.com",
            Kind::CoinM => "wss://dstream.binance.com",
        }
    }

    /// Default REST depth endpoint (§3.1), without the query.
    pub const fn depth_url(self) -> &'static str {
        match self {
            Kind::Spot => "https://api.binance.com/api/v3/depth",
            Kind::UsdM => "https://fapi.binance.com/fapi/v1/depth",
            Kind::CoinM => "https://dapi.binance.com/dapi/v1/depth",
        }
    }

    /// The diff-depth stream name for `symbol` (lower case, as Binance wants it).
    pub fn depth_stream(symbol: &str) -> String {
        format!("{}@depth@100ms", symbol.to_ascii_lowercase())
    }

    /// Guesses the market from a diff-depth frame: futures frames carry `pu`, COIN-M frames
    /// also `ps` (the pair); spot frames neither (docs/VENUES.md §3.2).
    pub fn infer(pu: bool, pair: bool) -> Kind {
        match (pu, pair) {
            (_, true) => Kind::CoinM,
            (true, false) => Kind::UsdM,
            (false, false) => Kind::Spot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_names_round_trip_and_pick_the_chain_rule() {
        for kind in Kind::ALL {
            assert_eq!(Kind::of_venue(kind.venue()), Some(kind));
        }
        assert_eq!(Kind::of_venue("extended"), None);
        assert_eq!(Kind::Spot.chain(), Chain::Spot);
        assert_eq!(Kind::CoinM.chain(), Chain::Futures);
        assert_eq!(Kind::infer(true, true), Kind::CoinM);
        assert_eq!(coinm_contract("BTCUSD_PERP").to_string(), "inverse:100");
        assert_eq!(coinm_contract("btcusd_250926").to_string(), "inverse:100");
        assert_eq!(coinm_contract("ETHUSD_PERP").to_string(), "inverse:10");
        let url = exchange_info_url("http://127.0.0.1:9/dapi/v1/depth?symbol=X&limit=1000");
        assert_eq!(url.as_deref(), Some("http://127.0.0.1:9/dapi/v1/exchangeInfo"));
        assert_eq!(exchange_info_url("http://h/other"), None);
        let body = r#"{"timezone":"UTC","symbols":[{"symbol":"ETHUSD_PERP","contractSize":10},
            {"symbol":"BTCUSD_PERP","pair":"BTCUSD","contractSize":100}]}"#;
        let c = contract_from_exchange_info(body, "BTCUSD_PERP").unwrap();
        assert_eq!(c.to_string(), "inverse:100");
        let err = contract_from_exchange_info(body, "XRPUSD_PERP").unwrap_err();
        assert!(err.contains("no symbol XRPUSD_PERP"), "{err}");
        let err = contract_from_exchange_info(r#"{"symbols":[{"symbol":"A"}]}"#, "A").unwrap_err();
        assert!(err.contains("no contractSize"), "{err}");
        assert_eq!(Kind::depth_stream("BTCUSDT"), "btcusdt@depth@100ms");
    }
}
