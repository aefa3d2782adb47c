//! Kraken spot over WebSocket v2 (`wss://ws.kraken.com/v2`; docs/VENUES.md §9 "Kraken v2"):
//! the messages of the `book` and `trade` channels read from the venue's text ([`wire`]),
//! the book a `book` subscription maintains and Kraken's CRC32 checksum over its top 10
//! levels ([`book`]), and the checks every value passes before it may change anything
//! ([`check`]).
//!
//! Kraken v2 has no sequence number: the checksum on every book message is what proves the
//! book continuous, so a mismatch is a break. Must not open sockets, keep time or reconnect.
//!
//! Names: the tables and folders call a market `BTC-USD` ([`market_name`]); the wire calls the
//! same pair `BTC/USD` ([`symbol`]), which cannot be a folder name.

pub mod book;
pub mod check;
pub mod link;
pub mod recorder;
mod scan;
pub mod wire;

pub use book::{KrakenBook, Precision, CHECKSUM_LEVELS};
pub use recorder::DEFAULT_DEPTH;
pub use wire::{parse, BookData, BookMessage, Message, Num, TradesMessage, WireLevel, WireTrade};

/// The venue's name in the tables, folders and on the command line.
pub const VENUE: &str = "kraken";

/// A market's name in the tables: the pair upper case with `-` for `/` (`btc/usd` →
/// `BTC-USD`).
pub fn market_name(market: &str) -> String {
    market.to_ascii_uppercase().replace('/', "-")
}

/// The pair as Kraken's messages spell it, from the tables' name (`BTC-USD` → `BTC/USD`):
/// the first `-` becomes `/` (Kraken's v2 pairs have one base and one quote).
pub fn symbol(market: &str) -> String {
    market_name(market).replacen('-', "/", 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_names_and_wire_symbols_map_both_ways() {
        assert_eq!(super::market_name("btc/usd"), "BTC-USD");
        assert_eq!(super::symbol("BTC-USD"), "BTC/USD");
        assert_eq!(super::symbol("btc/usd"), "BTC/USD");
        assert_eq!(super::symbol(&super::market_name("XBT/EUR")), "XBT/EUR");
    }
}
