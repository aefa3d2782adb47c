//! Venues: [`Venue`] is the one list of the venues mdkit records, and each venue is one
//! folder (`src/venue/<venue>/`) holding everything about it — wire text in and typed frames
//! (or typed errors) out, its sequence rule, its recorder rules ([`rules::Rules`]) and its
//! link plan ([`link::LinkSpec`]). Adding a venue is its folder, one [`Venue`] variant and its
//! tests (docs/VENUES.md "Adding a venue").
//!
//! Nothing here does I/O, spawns tasks or sleeps: sockets, reconnects and backoff live once,
//! in `collect`, which carries out a link plan for every venue. Dependencies point one way
//! (docs/ARCHITECTURE.md "Layering"): `venue → storage → book → model`. [`json`] and
//! [`ParseError`] are shared by every venue's parser.

pub mod binance;
pub mod bybit;
pub mod check;
pub mod coinbase;
pub mod conns;
pub mod dydx;
mod error;
pub mod extended;
pub mod hyperliquid;
mod json;
pub mod kraken;
pub mod link;
pub mod okx;
pub mod rules;

use std::fmt;
use std::str::FromStr;

pub use error::ParseError;

use crate::model::contract::Contract;
pub use link::{Endpoints, LinkSpec, PlanError, Wanted};
pub use rules::{Counters, Output, Rules, Saved, SavedConn, Sink, Verdict};

/// The `User-Agent` every connection sends (Extended refuses connections without one).
pub const USER_AGENT: &str = extended::USER_AGENT;
/// The largest WebSocket message any venue accepts (each venue's own limit is in its link
/// plan, [`Venue::max_message_bytes`]).
pub const MAX_MESSAGE_BYTES: usize = extended::MAX_MESSAGE_BYTES;

/// A venue mdkit records: the name is the `venue=` partition in the tables, the journal and
/// state folders, and the `--venue` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Venue {
    /// Extended (Starknet perpetuals), v1 streams.
    Extended,
    /// Extended over its v2 JSON-RPC stream (beta): one connection per market; the same
    /// tables, journal and state as `extended`.
    ExtendedV2,
    /// Binance spot.
    BinanceSpot,
    /// Binance USD-M futures.
    BinanceUsdm,
    /// Binance COIN-M futures.
    BinanceCoinm,
    /// Kraken spot over WebSocket v2: markets named like `BTC-USD` (the pair `BTC/USD`), the
    /// book at depth 10 proven by its CRC32 checksum.
    Kraken,
    /// OKX v5 public WebSocket: markets are instrument ids (`BTC-USDT`, `BTC-USDT-SWAP`),
    /// the 400-level book proven by `prevSeqId` chains and its signed CRC32 checksum.
    Okx,
    /// Hyperliquid perps and spot: markets are coins (`BTC`, `kPEPE`; `PURR/USDC` stored as
    /// `PURR-USDC`), every `l2Book` push a full snapshot diffed into `depth`.
    Hyperliquid,
    /// Bybit v5 spot: markets are symbols (`BTCUSDT`), the book at depth 50 proven by its
    /// update id `u`.
    BybitSpot,
    /// Bybit v5 USDT and USDC perpetuals and futures (`BTCUSDT`, `BTCPERP`).
    BybitLinear,
    /// Bybit v5 coin-margined perpetuals and futures (`BTCUSD`), 1 USD per contract.
    BybitInverse,
    /// dYdX v4 perpetuals through the indexer (`BTC-USD`): batched book updates proven by
    /// `message_id`; a crossed book is recorded as sent, with a `crossed` row.
    Dydx,
    /// Coinbase Advanced Trade spot (`BTC-USD`): `level2` and `market_trades`, each with
    /// `heartbeats`, proven by the connection's `sequence_num`.
    Coinbase,
}

impl Venue {
    pub const ALL: [Venue; 13] = [
        Venue::Extended,
        Venue::ExtendedV2,
        Venue::BinanceSpot,
        Venue::BinanceUsdm,
        Venue::BinanceCoinm,
        Venue::Kraken,
        Venue::Okx,
        Venue::Hyperliquid,
        Venue::BybitSpot,
        Venue::BybitLinear,
        Venue::BybitInverse,
        Venue::Dydx,
        Venue::Coinbase,
    ];

    /// The name in the tables, the journal and state folders (`venue=`), and the `--venue`
    /// value except for a second transport of a venue (`extended-v2` records as `extended`).
    pub const fn name(self) -> &'static str {
        match self {
            Venue::Extended | Venue::ExtendedV2 => "extended",
            Venue::BinanceSpot => binance::Kind::Spot.venue(),
            Venue::BinanceUsdm => binance::Kind::UsdM.venue(),
            Venue::BinanceCoinm => binance::Kind::CoinM.venue(),
            Venue::Kraken => kraken::VENUE,
            Venue::Okx => okx::VENUE,
            Venue::Hyperliquid => hyperliquid::VENUE,
            Venue::BybitSpot => bybit::Category::Spot.venue(),
            Venue::BybitLinear => bybit::Category::Linear.venue(),
            Venue::BybitInverse => bybit::Category::Inverse.venue(),
            Venue::Dydx => dydx::VENUE,
            Venue::Coinbase => coinbase::VENUE,
        }
    }

    /// The `--venue` values, in order.
    pub fn known() -> Vec<String> {
        use clap::ValueEnum as _;
        Venue::ALL
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect()
    }

    /// The Binance market this venue is, if it is one.
    pub const fn binance(self) -> Option<binance::Kind> {
        match self {
            Venue::Extended
            | Venue::ExtendedV2
            | Venue::Kraken
            | Venue::Okx
            | Venue::Hyperliquid
            | Venue::BybitSpot
            | Venue::BybitLinear
            | Venue::BybitInverse
            | Venue::Dydx
            | Venue::Coinbase => None,
            Venue::BinanceSpot => Some(binance::Kind::Spot),
            Venue::BinanceUsdm => Some(binance::Kind::UsdM),
            Venue::BinanceCoinm => Some(binance::Kind::CoinM),
        }
    }

    /// The Bybit category this venue is, if it is one.
    pub const fn bybit(self) -> Option<bybit::Category> {
        match self {
            Venue::BybitSpot => Some(bybit::Category::Spot),
            Venue::BybitLinear => Some(bybit::Category::Linear),
            Venue::BybitInverse => Some(bybit::Category::Inverse),
            _ => None,
        }
    }

    /// A market's name as the tables spell it (Binance symbols are upper case: btcusdt →
    /// BTCUSDT; a Kraken pair is upper case with `-` for its `/`: btc/usd → BTC-USD, because
    /// the name is a folder; an OKX instrument id is upper case: btc-usdt → BTC-USDT).
    pub fn market_name(self, market: &str) -> String {
        match self {
            Venue::Extended | Venue::ExtendedV2 => market.to_owned(),
            Venue::BinanceSpot | Venue::BinanceUsdm | Venue::BinanceCoinm => {
                market.to_ascii_uppercase()
            }
            Venue::Kraken => kraken::market_name(market),
            Venue::Okx => okx::market_name(market),
            Venue::Hyperliquid => hyperliquid::market_name(market),
            Venue::BybitSpot | Venue::BybitLinear | Venue::BybitInverse => {
                bybit::market_name(market)
            }
            Venue::Dydx => dydx::market_name(market),
            Venue::Coinbase => coinbase::market_name(market),
        }
    }

    /// The contract `market` (as the tables spell it) trades, by the venue's documented rule
    /// (docs/VENUES.md "Contracts"): linear of size 1 — a quantity is an amount of base — on
    /// Extended, Binance spot and USD-M, Kraken, OKX spot, Hyperliquid and Bybit spot and linear;
    /// inverse of 1 USD per contract on Bybit's inverse category; inverse on Binance COIN-M, 100
    /// USD per contract for BTC and 10 USD for every other coin ([`binance::coinm_contract`]),
    /// and likewise on OKX's coin-margined swaps and futures. `None` where no rule tells: an
    /// OKX USDT- or USDC-margined derivative's contract value differs per instrument (its
    /// `ctVal`), so nothing is stored and a backtest asks for `--contract`.
    pub fn contract(self, market: &str) -> Option<Contract> {
        match (self, self.binance()) {
            (_, Some(binance::Kind::CoinM)) => Some(binance::coinm_contract(market)),
            (Venue::Okx, _) => okx::contract(market),
            (Venue::Dydx, _) => dydx::contract(market),
            (Venue::Coinbase, _) => coinbase::contract(market),
            _ => match self.bybit() {
                Some(category) => bybit::contract(category, market),
                None => Some(Contract::LINEAR_1),
            },
        }
    }

    /// The contract of a recording of venue `name` that stores none (one recorded before
    /// contracts were stored): linear of size 1 where every market of the venue is; `None`
    /// where it depends on the market's metadata (Binance COIN-M) or the venue is unknown.
    pub fn implied_contract(name: &str) -> Option<Contract> {
        let venue = Venue::ALL.into_iter().find(|v| v.name() == name)?;
        match (venue, venue.binance()) {
            (Venue::Okx, _) | (_, Some(binance::Kind::CoinM)) => None,
            _ => Some(venue.bybit().map_or(Contract::LINEAR_1, bybit::Category::contract)),
        }
    }

    /// Whether one connection carries all of a market's streams (so a capture of it is one
    /// combined stream, as `import --from-format hftbacktest-raw` reads).
    pub const fn combined(self) -> bool {
        self.binance().is_some()
    }

    /// The connections to keep open for `market`.
    pub fn plan(
        self,
        market: &str,
        endpoints: &Endpoints,
        wanted: Wanted,
    ) -> Result<Vec<LinkSpec>, PlanError> {
        if let Some(category) = self.bybit() {
            let symbol = bybit::market_name(market);
            let depth = bybit::link::DEFAULT_DEPTH;
            return bybit::link::plan(category, &symbol, depth, endpoints, wanted);
        }
        match (self, self.binance()) {
            (Venue::ExtendedV2, _) => extended::link::plan_v2(market, endpoints, wanted),
            (Venue::Kraken, _) => {
                let symbol = kraken::symbol(market);
                kraken::link::plan(&symbol, kraken::DEFAULT_DEPTH, endpoints, wanted)
            }
            (Venue::Okx, _) => okx::link::plan(&okx::market_name(market), endpoints, wanted),
            (Venue::Hyperliquid, _) => {
                hyperliquid::link::plan(&hyperliquid::symbol(market), endpoints, wanted)
            }
            (Venue::Dydx, _) => dydx::link::plan(&dydx::market_name(market), endpoints, wanted),
            (Venue::Coinbase, _) => {
                coinbase::link::plan(&coinbase::market_name(market), endpoints, wanted)
            }
            (_, None) => extended::link::plan(market, endpoints, wanted),
            (_, Some(kind)) => binance::link::plan(kind, market, endpoints, wanted),
        }
    }

    /// The largest WebSocket message this venue's streams may send; a larger one ends the
    /// connection (it cannot be read in part) and is named in its `disconnect` row.
    pub const fn max_message_bytes(self) -> usize {
        match (self, self.binance()) {
            (Venue::Kraken, _) => kraken::link::MAX_MESSAGE_BYTES,
            (Venue::Okx, _) => okx::link::MAX_MESSAGE_BYTES,
            (Venue::Hyperliquid, _) => hyperliquid::link::MAX_MESSAGE_BYTES,
            (Venue::Dydx, _) => dydx::link::MAX_MESSAGE_BYTES,
            (Venue::Coinbase, _) => coinbase::link::MAX_MESSAGE_BYTES,
            (Venue::BybitSpot | Venue::BybitLinear | Venue::BybitInverse, _) => {
                bybit::link::MAX_MESSAGE_BYTES
            }
            (_, None) => extended::MAX_MESSAGE_BYTES,
            (_, Some(_)) => binance::link::MAX_MESSAGE_BYTES,
        }
    }

    /// The recorder rules of `market` (as the tables spell it) of this venue, in the state
    /// `saved` describes.
    pub fn rules(self, market: &str, saved: &Saved) -> Box<dyn Rules> {
        match (self, self.binance()) {
            (Venue::Kraken, _) => Box::new(kraken::recorder::Rules::restore(
                &kraken::symbol(market),
                kraken::DEFAULT_DEPTH,
                saved,
            )),
            (Venue::Okx, _) => {
                Box::new(okx::recorder::Rules::restore(&okx::market_name(market), saved))
            }
            (Venue::Hyperliquid, _) => {
                Box::new(hyperliquid::recorder::Rules::restore(&hyperliquid::symbol(market), saved))
            }
            (Venue::Dydx, _) => {
                Box::new(dydx::recorder::Rules::restore(&dydx::market_name(market), saved))
            }
            (Venue::Coinbase, _) => {
                Box::new(coinbase::recorder::Rules::restore(&coinbase::market_name(market), saved))
            }
            (Venue::BybitSpot | Venue::BybitLinear | Venue::BybitInverse, _) => {
                Box::new(bybit::recorder::Rules::restore(
                    &bybit::market_name(market),
                    bybit::link::DEFAULT_DEPTH,
                    saved,
                ))
            }
            (_, None) => Box::new(extended::recorder::Rules::restore(market, saved)),
            (_, Some(kind)) => Box::new(binance::recorder::Rules::restore(kind, market, saved)),
        }
    }
}

impl From<binance::Kind> for Venue {
    fn from(kind: binance::Kind) -> Self {
        match kind {
            binance::Kind::Spot => Venue::BinanceSpot,
            binance::Kind::UsdM => Venue::BinanceUsdm,
            binance::Kind::CoinM => Venue::BinanceCoinm,
        }
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A venue name mdkit has no folder for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown venue {name:?} (known: {})", Venue::known().join(", "))]
pub struct UnknownVenue {
    pub name: String,
}

impl FromStr for Venue {
    type Err = UnknownVenue;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        // A table name first, so `extended` is the v1 venue whose rules read both transports.
        Venue::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .or_else(|| <Venue as clap::ValueEnum>::from_str(name, false).ok())
            .ok_or_else(|| UnknownVenue { name: name.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    #[test]
    fn names_round_trip_and_are_the_command_line_values() {
        for venue in Venue::ALL {
            let flag = venue.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(flag.parse::<Venue>(), Ok(venue));
            if venue != Venue::ExtendedV2 {
                assert_eq!(flag, venue.name());
            }
        }
        // Both Extended transports write one venue's tables, read back by the v1 rules.
        assert_eq!(Venue::ExtendedV2.name(), "extended");
        assert_eq!("extended".parse::<Venue>(), Ok(Venue::Extended));
        assert_eq!(Venue::value_variants().len(), Venue::ALL.len());
        let err = "bybit".parse::<Venue>().unwrap_err().to_string();
        assert!(err.contains("known: extended, extended-v2, binance-spot"), "{err}");
        assert!(err.ends_with("bybit-spot, bybit-linear, bybit-inverse, dydx, coinbase)"), "{err}");
        assert_eq!(Venue::BybitLinear.market_name("ethusdt"), "ETHUSDT");
        let usd = Contract::Inverse { size: crate::model::Qty::from_raw(crate::model::UNIT) };
        assert_eq!(Venue::BybitInverse.contract("BTCUSD"), Some(usd));
        assert_eq!(Venue::implied_contract("bybit-spot"), Some(Contract::LINEAR_1));
        assert_eq!(Venue::Kraken.market_name("btc/usd"), "BTC-USD");
        assert_eq!(Venue::Kraken.market_name("ETH-USD"), "ETH-USD");
        assert_eq!(Venue::Okx.market_name("btc-usdt-swap"), "BTC-USDT-SWAP");
        assert_eq!(Venue::BinanceUsdm.market_name("btcusdt"), "BTCUSDT");
        assert_eq!(Venue::Extended.market_name("ETH-USD"), "ETH-USD");
        for kind in binance::Kind::ALL {
            assert_eq!(Venue::from(kind).binance(), Some(kind));
        }
    }
}
