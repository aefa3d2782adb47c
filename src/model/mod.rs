//! The domain values every other module speaks: exact prices and quantities, timestamps that
//! name their clock, sides and kinds, and the typed frames a venue adapter produces.
//!
//! Pure: no I/O, no async, no dependency on storage or venues.

pub mod contract;
mod duration;
mod event;
mod fixed;
mod kind;
pub mod money;
pub mod quote;
mod time;
mod time_text;

pub use duration::{parse_duration, DurationError};
pub use event::{BookFrame, Level, Trade};
pub use fixed::{parse_raw, parse_short_quoted, DecimalError, Price, Qty, SCALE, UNIT};
pub use kind::{
    BookSide, EventKind, FitQuality, FrameKind, GridSource, TakerSide, TradeKind, UnknownName,
};
pub use time::{
    Clock, EventTime, LocalClock, RecvTime, Timestamp, VenueClock, NANOS_PER_DAY, NANOS_PER_MILLI,
    NANOS_PER_SEC,
};
pub use time_text::{parse_time, parse_time_or_ago, TimeTextError};
