//! What a venue adapter produces: typed book frames and trades, venue-neutral.
//!
//! These are the values between `venue/` (text in) and `book/`, `collect/` and the tables.
//! A frame keeps the venue's sequence number and both clocks; levels hold the *new absolute
//! size* of a price level (0 removes it), whatever the venue's wire form was.

use super::{BookSide, EventTime, FrameKind, Price, Qty, TakerSide, TradeKind};

/// One price level: the new absolute size at `price` (0 = level removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Level {
    pub price: Price,
    pub qty: Qty,
}

impl Level {
    pub fn new(price: Price, qty: Qty) -> Self {
        Self { price, qty }
    }
}

/// A book frame as the venue sent it: a full snapshot or a set of level changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFrame {
    pub market: String,
    pub kind: FrameKind,
    /// The venue's sequence number for this frame (per connection on Extended v1).
    pub seq: u64,
    pub ts_event: EventTime,
    /// Bids, in the venue's order (best first in a snapshot).
    pub bids: Vec<Level>,
    /// Asks, in the venue's order (best first in a snapshot).
    pub asks: Vec<Level>,
}

impl BookFrame {
    /// The levels of one side.
    pub fn side(&self, side: BookSide) -> &[Level] {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// An empty DELTA: no level changed, but the frame still consumes a seq.
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }
}

/// One public trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub market: String,
    /// The venue's trade id (Extended ids exceed 2⁵³: never through f64).
    pub id: i64,
    /// Side of the aggressive order.
    pub side: TakerSide,
    pub kind: TradeKind,
    pub ts_event: EventTime,
    pub price: Price,
    pub qty: Qty,
}
