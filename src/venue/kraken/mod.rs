//! Kraken spot over WebSocket v2 (`wss://ws.kraken.com/v2`; docs/VENUES.md §9 "Kraken v2"):
//! the messages of the `book` and `trade` channels read from the venue's text ([`wire`]),
//! the book a `book` subscription maintains and Kraken's CRC32 checksum over its top 10
//! levels ([`book`]), and the checks every value passes before it may change anything
//! ([`check`]).
//!
//! Kraken v2 has no sequence number: the checksum on every book message is what proves the
//! book continuous, so a mismatch is a break. Must not open sockets, keep time or reconnect.
//! Not yet a [`crate::venue::Venue`]: nothing outside this folder names it until `collect` and
//! `simulate` both speak it end to end.

pub mod book;
pub mod check;
pub mod link;
pub mod recorder;
mod scan;
pub mod wire;

pub use book::{KrakenBook, Precision, CHECKSUM_LEVELS};
pub use wire::{parse, BookData, BookMessage, Message, Num, TradesMessage, WireLevel, WireTrade};
