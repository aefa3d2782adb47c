//! Extended (Starknet perpetuals): endpoints, the v1 per-stream frames, the v2 JSON-RPC
//! multiplexed stream, and the sequence rules of both (docs/VENUES.md §1, §2, §8).
//!
//! Owns: turning one text frame into typed values ([`BookUpdate`], [`TradesFrame`],
//! [`PriceFrame`], [`FundingFrame`], [`VenueError`]) or a [`ParseError`] that names what is
//! wrong, building URLs and v2 requests, deciding when a connection's sequence broke, the
//! [`link`] plan `collect` carries out, and the [`recorder`] rules that turn journaled frames
//! into rows. Must not: open sockets, keep time, or reconnect — `collect` does that.
//!
//! Entry points: [`v1::parse_book`], [`v1::parse_trades`], [`v1::parse_prices`],
//! [`v1::parse_funding`] (one per v1 stream, docs/VENUES.md §1.2: the URL is the subscription) and
//! [`v2::parse`] for every frame of a v2 connection. [`seq`] holds the gap rules.

pub mod check;
mod endpoints;
mod fast;
mod frames;
pub mod link;
pub mod recorder;
pub mod seq;
pub mod v1;
pub mod v2;

/// The shared field readers (`venue::json`), under the name the frame parsers use.
use super::json;
pub use super::ParseError;
pub use endpoints::{
    EndpointError, Endpoints, MAINNET_BASE, MAX_MESSAGE_BYTES, PONG_DEADLINE, SERVER_PING_INTERVAL,
    STALE_AFTER, TESTNET_BASE, USER_AGENT,
};
pub use frames::{
    BookUpdate, ChangeMismatch, Depth, FundingFrame, PriceFrame, PriceKind, TradesFrame, VenueError,
};
