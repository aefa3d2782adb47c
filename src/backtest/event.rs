//! What the replay hands the backtest engine: market events with both clocks, the market's
//! increments, and the calibrations the strategy may use, each from past data only.
//!
//! Order: events arrive sorted by the key of [`Event::order_key`], a stable total order in the
//! strategy's clock (`ts_recv`; with [`Clock::Event`] the replay has put the derived
//! `ts_event + feed latency` there). The rows of one book frame share `(ts_recv, conn, seq)`; its
//! `depth` rows come before its `book_top` row, so a [`Event::Top`] always describes the book
//! after the frame's depth rows. The exchange side of the engine sees the same events at
//! `ts_event`, which may be earlier (feed latency) or, on a skewed receive clock, later.

use crate::model::contract::Contract;
use crate::model::{Price, Qty, RecvTime};
use crate::storage::{BookTopRow, CalibrationRow, DepthRow, TradeRow};

/// Which recorded clock drives the strategy.
///
/// `Recv` (the default) is the recorder's receive clock, as recorded. `Event` is for a
/// recording whose receive clock is unusable, above all one of `mdkit simulate --speed N`
/// with N > 1, where `ts_recv` runs N times slower than the venue clock: there the replay
/// replaces each row's `ts_recv` by `ts_event + feed_latency_ns` (kept monotone per table, see
/// [`super::replay`]), so every later stage — range, order, warm-up, cooldowns, the
/// recalibration cut — runs on the venue clock shifted by one constant feed latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    Recv,
    Event {
        /// The constant delay between the venue's stamp and the strategy seeing the row, ns.
        feed_latency_ns: i64,
    },
}

impl Clock {
    /// `recv` or `event`, as the `--clock` flag spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Clock::Recv => "recv",
            Clock::Event { .. } => "event",
        }
    }
}

/// One recorded market event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A level's new absolute size after a frame (0 = removed). The rows of a frame with
    /// `snapshot = true` replace the whole book of that connection.
    Depth(DepthRow),
    /// The best levels after a frame was applied. Strategies refresh quotes on these.
    Top(Box<BookTopRow>),
    /// A public trade.
    Trade(TradeRow),
}

/// Rank of each table within one `(ts_recv)` instant: a frame's depth, then its top, then trades.
const DEPTH: u8 = 0;
const TOP: u8 = 1;
const TRADE: u8 = 2;

impl Event {
    /// When the strategy sees the event (local receive clock, ns).
    pub fn ts_recv(&self) -> RecvTime {
        match self {
            Event::Depth(r) => r.ts_recv,
            Event::Top(r) => r.ts_recv,
            Event::Trade(r) => r.ts_recv,
        }
    }

    /// Replaces the strategy-clock stamp (the [`Clock::Event`] replay's derived time).
    pub fn set_ts_recv(&mut self, t: RecvTime) {
        match self {
            Event::Depth(r) => r.ts_recv = t,
            Event::Top(r) => r.ts_recv = t,
            Event::Trade(r) => r.ts_recv = t,
        }
    }

    /// The venue's stamp, ns.
    pub fn ts_event_nanos(&self) -> i64 {
        match self {
            Event::Depth(r) => r.ts_event.as_nanos(),
            Event::Top(r) => r.ts_event.as_nanos(),
            Event::Trade(r) => r.ts_event.as_nanos(),
        }
    }

    /// The replay's sort key: `(ts_recv ns, table rank, conn, seq)`. Ties beyond it keep the
    /// order of the rows within their part.
    pub fn order_key(&self) -> (i64, u8, u32, i64) {
        match self {
            Event::Depth(r) => (r.ts_recv.as_nanos(), DEPTH, r.conn, r.seq),
            Event::Top(r) => (r.ts_recv.as_nanos(), TOP, r.conn, r.seq),
            Event::Trade(r) => (r.ts_recv.as_nanos(), TRADE, r.conn, r.seq),
        }
    }
}

/// The market's increments, inferred from the recording when not configured, and its
/// contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketSpec {
    /// Price increment.
    pub tick: Price,
    /// Minimum order size (lot); `order_size` defaults to ten of them (docs/MODEL.md).
    pub lot: Qty,
    /// What one unit of quantity is worth: the contract stored with the recording, or
    /// linear of size 1 on venues where every market is (see [`super::contract`]).
    pub contract: Contract,
}

/// A calibration the strategy may use from strategy time `at` on. `fit.window_end` ≤ `at`,
/// and every row the fit read was received (`ts_recv`) before `at`: no look-ahead.
///
/// How [`super::schedule`] guarantees it: the fit for `at` covers the venue-clock window
/// `[at − W, at)` and runs calibrate's SQL over views of `book_top` and `trades` cut to the
/// rows with `ts_recv < at`. The times `at` are fixed in advance (`from + k·interval`), so
/// neither a fit nor when it becomes usable depends on rows received at or after `at`.
/// With [`Clock::Event`] (feed latency L) the same holds on the derived clock: the window is
/// `[at − L − W, at − L)` and the views hold the rows with `ts_event + L < at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalibration {
    pub at: RecvTime,
    pub fit: CalibrationRow,
}
