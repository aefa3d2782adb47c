//! OKX v5 public WebSocket (`wss://ws.okx.com:8443/ws/v5/public`; docs/VENUES.md §12): the
//! messages of the `books` and `trades` channels read from the venue's text ([`wire`]), the
//! book a `books` subscription maintains and OKX's signed CRC32 over its top 25 levels
//! ([`book`]), the checks every value passes before it may change anything ([`check`]), the
//! link plan ([`link`]) and the recorder's rules ([`recorder`]).
//!
//! Continuity is `prevSeqId == previous seqId` where the feed sends them, and the checksum on
//! every message where it is not 0; either failing is a break. Must not open sockets, keep
//! time or reconnect.
//!
//! Names: OKX instrument ids (`BTC-USDT`, `BTC-USDT-SWAP`, `BTC-USD-250926`) are already safe
//! folder names, so the tables use them as they are, upper case.

pub mod book;
pub mod check;
pub mod link;
pub mod recorder;
pub mod wire;

use crate::model::contract::Contract;
use crate::model::{Qty, UNIT};

pub use book::{OkxBook, CHECKSUM_LEVELS};
pub use wire::{parse, BookData, BookMessage, Message, WireLevel, WireTrade};

/// The venue's name in the tables, folders and on the command line.
pub const VENUE: &str = "okx";

/// A market's name in the tables, which is also its instrument id on the wire: upper case
/// (`btc-usdt` → `BTC-USDT`).
pub fn market_name(market: &str) -> String {
    market.to_ascii_uppercase()
}

/// The contract of instrument `market` by OKX's rule, where one rule tells: spot (`BTC-USDT`)
/// is linear of size 1; coin-margined swaps and futures (`BTC-USD-SWAP`, `ETH-USD-250926`) are
/// inverse, 100 USD per contract for BTC and 10 USD for every other coin. `None` for the USDT-
/// and USDC-margined derivatives, whose contract value (`ctVal`: 0.01 BTC, 0.1 ETH, …) is the
/// instrument's own.
pub fn contract(market: &str) -> Option<Contract> {
    let name = market_name(market);
    let parts: Vec<&str> = name.split('-').collect();
    match parts.as_slice() {
        [_, _] => Some(Contract::LINEAR_1),
        [base, "USD", ..] => {
            let usd = if *base == "BTC" { 100 } else { 10 };
            Some(Contract::Inverse { size: Qty::from_raw(usd * UNIT) })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_follow_the_instrument_kind() {
        assert_eq!(contract("btc-usdt"), Some(Contract::LINEAR_1));
        let inverse = |usd: i64| Some(Contract::Inverse { size: Qty::from_raw(usd * UNIT) });
        assert_eq!(contract("BTC-USD-SWAP"), inverse(100));
        assert_eq!(contract("ETH-USD-250926"), inverse(10));
        assert_eq!(contract("BTC-USDT-SWAP"), None);
    }
}
