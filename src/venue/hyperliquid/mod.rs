//! Hyperliquid over its public WebSocket (`wss://api.hyperliquid.xyz/ws`; docs/VENUES.md §13):
//! the `l2Book` and `trades` channels and the messages around them read from the venue's
//! text ([`wire`]), the checks every value passes before it may change anything ([`check`]),
//! the link plan ([`link`]) and the recorder's rules ([`recorder`]).
//!
//! Every `l2Book` push is a full snapshot of the top 20 levels per side: there is no sequence
//! number and no checksum, so continuity is only staleness (a push at least every block or
//! 0.5 s). The recorder writes a push's changes against the previous push as `depth` rows.
//! Must not open sockets, keep time or reconnect.
//!
//! Names: Hyperliquid calls a market by its `coin`, case-sensitive (`BTC`, `kPEPE`); spot
//! markets are `PURR/USDC` or `@107`, builder-deployed (HIP-3) perps `dex:COIN`. The tables
//! and folders need letters, digits, `-`, `_` and `.` only, so [`market_name`] maps `/` → `-`,
//! `@` → `_` and `:` → `.` and keeps the case; [`symbol`] maps them back for the wire. Coin
//! names themselves hold none of `-`, `_`, `.`, so the mapping is one-to-one.

pub mod check;
pub mod link;
pub mod recorder;
pub mod wire;

pub use wire::{parse, parse_rest_book, BookPush, Message, WireLevel, WireTrade};

/// The venue's name in the tables, folders and on the command line.
pub const VENUE: &str = "hyperliquid";

/// The wire characters that cannot be in a folder name and what the tables write instead.
const MAPPED: [(char, char); 3] = [('/', '-'), ('@', '_'), (':', '.')];

/// A market's name in the tables from the coin as the user or the wire spells it, case kept:
/// `BTC` → `BTC`, `kPEPE` → `kPEPE`, `PURR/USDC` → `PURR-USDC`, `@107` → `_107`,
/// `xyz:XYZ100` → `xyz.XYZ100`. A name already in table form is returned unchanged.
pub fn market_name(market: &str) -> String {
    market
        .chars()
        .map(|c| MAPPED.iter().find(|(wire, _)| *wire == c).map_or(c, |(_, table)| *table))
        .collect()
}

/// The coin as Hyperliquid's messages spell it, from the tables' name (`PURR-USDC` →
/// `PURR/USDC`, `_107` → `@107`); a wire spelling is returned unchanged.
pub fn symbol(market: &str) -> String {
    market
        .chars()
        .map(|c| MAPPED.iter().find(|(_, table)| *table == c).map_or(c, |(wire, _)| *wire))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{market_name, symbol};

    #[test]
    fn table_names_and_wire_coins_map_both_ways_keeping_case() {
        let cases = [
            ("BTC", "BTC"),
            ("kPEPE", "kPEPE"),
            ("PURR/USDC", "PURR-USDC"),
            ("@107", "_107"),
            ("xyz:XYZ100", "xyz.XYZ100"),
        ];
        for (wire, table) in cases {
            assert_eq!(market_name(wire), table);
            assert_eq!(market_name(table), table, "a table name stays");
            assert_eq!(symbol(table), wire);
            assert_eq!(symbol(wire), wire, "a wire name stays");
            assert!(crate::storage::check_name("market", table).is_ok(), "{table}");
        }
        assert_ne!(market_name("kpepe"), market_name("kPEPE"), "case is the venue's");
    }
}
