//! Bybit v5 public WebSocket (`wss://stream.bybit.com/v5/public/{spot,linear,inverse}`;
//! docs/VENUES.md §14): the messages of the `orderbook.{depth}` and `publicTrade` topics read
//! from the venue's text ([`wire`]), how a message changes a book kept to its depth
//! ([`book`]), the checks every value passes before it may change anything ([`check`]), the
//! link plan ([`link`]) and the recorder's rules ([`recorder`]).
//!
//! Continuity is the book's update id `u`, one more on every message (`seq` is a cross
//! sequence, increasing but not contiguous, and is not used); there is no checksum. Must not
//! open sockets, keep time or reconnect.
//!
//! Names: a Bybit symbol (`BTCUSDT`, `BTCUSD`, `BTCUSDT-26DEC25`) is already a safe folder
//! name, upper case. The same symbol can name a spot pair and a perpetual (`BTCUSDT` on both
//! `/spot` and `/linear`): the endpoint, a [`Category`], says which, so the category belongs
//! to the venue, as Binance's spot / USD-M / COIN-M do (docs/VENUES.md §14.1).

pub mod book;
pub mod check;
pub mod link;
pub mod recorder;
pub mod wire;

use crate::model::contract::Contract;
use crate::model::{Qty, UNIT};

pub use wire::{parse, BookData, BookMessage, Message, TradeId, TradesMessage, WireTrade};

/// The venue's name when one name covers every category (the wiring may instead name each
/// category, [`Category::venue`]).
pub const VENUE: &str = "bybit";

/// The product group an endpoint serves (docs/VENUES.md §14.1). Every category speaks the same
/// messages; they differ in URL and contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Spot pairs (`BTCUSDT`): linear of size 1.
    Spot,
    /// USDT and USDC perpetuals and futures (`BTCUSDT`, `BTCPERP`, `BTCUSDT-26DEC25`):
    /// quantities in the base coin, so linear of size 1.
    Linear,
    /// Coin-margined perpetuals and futures (`BTCUSD`, `BTCUSDH25`): quantities in contracts of
    /// 1 USD, so inverse of size 1.
    Inverse,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Spot, Category::Linear, Category::Inverse];

    /// The endpoint's last path part and the category's name in Bybit's API.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Spot => "spot",
            Category::Linear => "linear",
            Category::Inverse => "inverse",
        }
    }

    /// A venue name per category (`venue=` partition), for wiring that keeps a spot pair and a
    /// perpetual of one symbol apart, as Binance's venues do.
    pub const fn venue(self) -> &'static str {
        match self {
            Category::Spot => "bybit-spot",
            Category::Linear => "bybit-linear",
            Category::Inverse => "bybit-inverse",
        }
    }

    /// The category a [`Category::venue`] name names.
    pub fn of_venue(venue: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.venue() == venue)
    }

    /// The production endpoint (Bybit v5 "Connect").
    pub const fn url(self) -> &'static str {
        match self {
            Category::Spot => "wss://stream.bybit.com/v5/public/spot",
            Category::Linear => "wss://stream.bybit.com/v5/public/linear",
            Category::Inverse => "wss://stream.bybit.com/v5/public/inverse",
        }
    }

    /// The contract every market of this category trades (docs/VENUES.md §14.1): spot and
    /// linear quantities are amounts of the base coin (linear of size 1); an inverse contract
    /// is 1 USD (Bybit's "Inverse Perpetual Contract" specification: "1 USD per contract").
    pub fn contract(self) -> Contract {
        match self {
            Category::Spot | Category::Linear => Contract::LINEAR_1,
            Category::Inverse => Contract::Inverse { size: Qty::from_raw(UNIT) },
        }
    }
}

/// A market's name in the tables, which is also its symbol on the wire: upper case
/// (`btcusdt` → `BTCUSDT`).
pub fn market_name(market: &str) -> String {
    market.to_ascii_uppercase()
}

/// The contract of `market` in `category` ([`Category::contract`]); `None` for a symbol
/// Bybit would not spell so (lower case is upper-cased first).
pub fn contract(category: Category, market: &str) -> Option<Contract> {
    link::is_symbol(&market_name(market)).then(|| category.contract())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_and_names_follow_the_category() {
        assert_eq!(contract(Category::Linear, "btcusdt"), Some(Contract::LINEAR_1));
        assert_eq!(contract(Category::Spot, "BTCUSDT"), Some(Contract::LINEAR_1));
        let usd = Some(Contract::Inverse { size: Qty::from_raw(UNIT) });
        assert_eq!(contract(Category::Inverse, "BTCUSD"), usd);
        assert_eq!(contract(Category::Linear, "BTC/USDT"), None);
        assert_eq!(market_name("xrpusdt"), "XRPUSDT");
        for category in Category::ALL {
            assert_eq!(Category::of_venue(category.venue()), Some(category));
            assert!(category.url().ends_with(category.name()));
        }
    }
}
