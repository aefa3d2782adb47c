//! Coinbase (docs/VENUES.md §16): the Advanced Trade WebSocket
//! (`wss://advanced-trade-ws.coinbase.com`) that the recorder targets — the `level2` channel
//! (messages on `l2_data`), `market_trades` and `heartbeats` read from the venue's text
//! ([`wire`]), the checks every value passes before it may change anything ([`check`]), the
//! link plan ([`link`]) and the recorder's rules ([`recorder`]) — and the legacy Coinbase
//! Exchange feed (`wss://ws-feed.exchange.coinbase.com`, formerly Pro) whose old captures
//! `import` reads ([`legacy`], [`legacy_rules`]).
//!
//! Continuity on Advanced Trade is `sequence_num`, one more on every message of a
//! **connection**, whatever its channel (heartbeats and subscription acknowledgements
//! included); there is no checksum. The legacy `level2` feed has no sequence number on book
//! messages at all: its continuity cannot be proven. Must not open sockets, keep time or
//! reconnect.
//!
//! Names: a Coinbase product id (`BTC-USD`, `ETH-USDC`) is already a safe folder name, upper
//! case. Every product is spot: linear of size 1.

pub mod check;
pub mod legacy;
pub mod legacy_rules;
pub mod link;
pub mod recorder;
pub mod wire;

use crate::model::contract::Contract;

pub use wire::{parse, Body, Envelope, L2Event, Message, TradesEvent, WireTrade};

/// The Advanced Trade venue's name (`venue=` partition).
pub const VENUE: &str = "coinbase";

/// The venue name legacy Coinbase Exchange captures are imported under (docs/VENUES.md
/// §16.6). Not [`VENUE`]: the legacy feed proves nothing about book continuity and numbers
/// its connections and trades in its own captures, so its rows, state and trade
/// deduplication must not mix with what the Advanced Trade recorder writes for the same
/// product.
pub const LEGACY_VENUE: &str = "coinbase-exchange";

/// A market's name in the tables, which is also its product id on the wire: upper case
/// (`btc-usd` → `BTC-USD`).
pub fn market_name(market: &str) -> String {
    market.to_ascii_uppercase()
}

/// The contract of `market`: every Coinbase product is spot, quantities in the base asset
/// (linear of size 1); `None` for a name Coinbase would not spell so (lower case is
/// upper-cased first).
pub fn contract(market: &str) -> Option<Contract> {
    link::is_product(&market_name(market)).then_some(Contract::LINEAR_1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_spot_and_upper_case() {
        assert_eq!(market_name("btc-usd"), "BTC-USD");
        assert_eq!(contract("eth-usdc"), Some(Contract::LINEAR_1));
        assert_eq!(contract("BTC/USD"), None);
        assert_eq!(contract("BTCUSD"), None);
        assert_ne!(VENUE, LEGACY_VENUE);
        assert!(crate::storage::check_name("venue", LEGACY_VENUE).is_ok());
    }
}
