//! dYdX v4 indexer WebSocket (`wss://indexer.dydx.trade/v4/ws`; docs/VENUES.md §15): the
//! messages of the `v4_orderbook` and `v4_trades` channels read from the venue's text
//! ([`wire`]), how a snapshot or a list of updates changes a book ([`book`]), the checks every
//! value passes before it may change anything ([`check`]), the link plan ([`link`]) and the
//! recorder's rules ([`recorder`]).
//!
//! Continuity is `message_id`, one more on every message of a connection (one channel per
//! connection, so it is that channel's own sequence); there is no checksum and no venue time
//! on book messages. The indexer's book may be briefly **crossed** ("they should uncross
//! eventually", dYdX's guide "How to uncross the orderbook"): it is recorded as sent, with one
//! `crossed` events row per episode, never a break. Must not open sockets, keep time or
//! reconnect.
//!
//! Names: a market is the indexer's perpetual ticker (`BTC-USD`, `ETH-USD`), already a safe
//! folder name, kept upper case as the indexer spells it.

pub mod book;
pub mod check;
pub mod link;
pub mod recorder;
pub mod wire;

use crate::model::contract::Contract;

pub use wire::{parse, BookUpdate, Message, TradeId, WireTrade};

/// The venue's name in the tables, the journal and state folders (`venue=`).
pub const VENUE: &str = "dydx";

/// A market's name in the tables, which is also its ticker on the wire: upper case
/// (`btc-usd` → `BTC-USD`).
pub fn market_name(market: &str) -> String {
    market.to_ascii_uppercase()
}

/// The contract of `market` (docs/VENUES.md §15.1): every dYdX v4 market is a USDC-settled
/// perpetual quoted in USD whose sizes are amounts of the base asset (a trade's `size` "in the
/// base asset"), so linear of size 1. `None` for a name the indexer would not spell so.
pub fn contract(market: &str) -> Option<Contract> {
    link::is_market(&market_name(market)).then_some(Contract::LINEAR_1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markets_are_upper_case_tickers_of_linear_contracts() {
        assert_eq!(market_name("eth-usd"), "ETH-USD");
        assert_eq!(contract("BTC-USD"), Some(Contract::LINEAR_1));
        assert_eq!(contract("btc-usd"), Some(Contract::LINEAR_1));
        assert_eq!(contract("BTC/USD"), None);
    }
}
