//! Venue wire protocols: text in, typed model values (or typed errors) out, plus each venue's
//! gap rule as a small pure state machine.
//!
//! Nothing here does I/O, spawns tasks or sleeps: sockets, reconnects and backoff live once,
//! in `collect`, for every venue (STYLE.md "Layout and boundaries"). Dependencies point one
//! way: `venue → model`. [`json`] and [`ParseError`] are shared by every venue's parser.

pub mod binance;
mod error;
pub mod extended;
mod json;

pub use error::ParseError;
