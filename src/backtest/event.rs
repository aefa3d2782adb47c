//! What the replay hands the backtest engine: market events with both clocks, the market's
//! increments, and the calibrations the strategy may use, each from past data only.
//!
//! Order: events arrive sorted by the key of [`Event::order_key`], a stable total order in the
//! strategy's clock (`ts_recv`). The rows of one book frame share `(ts_recv, conn, seq)`; its
//! `depth` rows come before its `book_top` row, so a [`Event::Top`] always describes the book
//! after the frame's depth rows. The exchange side of the engine sees the same events at
//! `ts_event`, which may be earlier (feed latency) or, on a skewed receive clock, later.

use crate::model::{Price, Qty, RecvTime};
use crate::storage::{BookTopRow, CalibrationRow, DepthRow, TradeRow};

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

/// The market's increments, inferred from the recording when not configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketSpec {
    /// Price increment.
    pub tick: Price,
    /// Minimum order size (lot); `order_size` defaults to ten of them (MODEL.md).
    pub lot: Qty,
}

/// A calibration the strategy may use from strategy time `at` on. `fit.window_end` ≤ `at`,
/// and every row the fit read was received (`ts_recv`) before `at`: no look-ahead.
///
/// How [`super::schedule`] guarantees it: the fit for `at` covers the venue-clock window
/// `[at − W, at)` and runs calibrate's SQL over views of `book_top` and `trades` cut to the
/// rows with `ts_recv < at`. The times `at` are fixed in advance (`from + k·interval`), so
/// neither a fit nor when it becomes usable depends on rows received at or after `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalibration {
    pub at: RecvTime,
    pub fit: CalibrationRow,
}
