//! The rows a recorder would write for the synthetic market, built in-process: the fast way
//! to a long tree with a usable receive clock for tests, benches and `examples/simulated_tree`.
//!
//! Recording `mdkit simulate` at high `--speed` compresses `ts_recv` (wall time); stepping the
//! [`Market`] here instead stamps `ts_recv` = `ts_event` + a constant delay, on one connection,
//! with one book frame (`seq`) per 100 ms step, as the Extended recorder numbers them.

use super::market::Market;
use crate::model::{BookSide, EventTime, RecvTime};
use crate::storage::{BookTopRow, DepthRow, TopLevels, TradeRow, BOOK_TOP_LEVELS};

/// Rows of `depth`, `book_top` and `trades`, in receive order per table, not yet written.
#[derive(Debug, Clone, Default)]
pub struct SimulatedRows {
    /// `ts_recv` − `ts_event`, ns.
    pub recv_delay_ns: i64,
    pub depth: Vec<DepthRow>,
    pub book_top: Vec<BookTopRow>,
    pub trades: Vec<TradeRow>,
}

impl SimulatedRows {
    pub fn new(recv_delay_ns: i64) -> Self {
        Self { recv_delay_ns, ..Self::default() }
    }

    /// The market's current book as frame 1, a snapshot at `ts_ns`: every level as a depth
    /// row, and its top.
    pub fn snapshot(&mut self, market: &Market, ts_ns: i64) {
        for side in [BookSide::Bid, BookSide::Ask] {
            for level in market.book().levels(side) {
                self.depth.push(self.depth_row(ts_ns, 1, true, side, level.price, level.qty));
            }
        }
        self.top(market, ts_ns, 1);
    }

    /// Steps `market` to `ts_ns` as frame `seq`: the step's trades, its level changes and the
    /// top after them.
    pub fn step(&mut self, market: &mut Market, ts_ns: i64, seq: i64) {
        let outcome = market.step(ts_ns / 1_000_000);
        let ts_recv = self.recv(ts_ns);
        self.trades.extend(outcome.trades.iter().map(|t| TradeRow {
            ts_event: t.ts_event,
            ts_recv,
            conn: 1,
            seq,
            trade_id: t.id,
            side: t.side,
            price: t.price,
            qty: t.qty,
            kind: t.kind,
        }));
        for (side, changes) in [(BookSide::Bid, &outcome.bids), (BookSide::Ask, &outcome.asks)] {
            for c in changes {
                self.depth.push(self.depth_row(ts_ns, seq, false, side, c.price, c.size));
            }
        }
        self.top(market, ts_ns, seq);
    }

    /// Hands over the rows gathered so far (depth, book_top, trades) and starts again.
    pub fn take(&mut self) -> (Vec<DepthRow>, Vec<BookTopRow>, Vec<TradeRow>) {
        (
            std::mem::take(&mut self.depth),
            std::mem::take(&mut self.book_top),
            std::mem::take(&mut self.trades),
        )
    }

    fn top(&mut self, market: &Market, ts_ns: i64, seq: i64) {
        self.book_top.push(BookTopRow {
            ts_event: EventTime::from_nanos(ts_ns),
            ts_recv: self.recv(ts_ns),
            conn: 1,
            seq,
            snapshot: seq == 1,
            bids: TopLevels::of(market.book(), BookSide::Bid, BOOK_TOP_LEVELS),
            asks: TopLevels::of(market.book(), BookSide::Ask, BOOK_TOP_LEVELS),
        });
    }

    fn depth_row(
        &self,
        ts_ns: i64,
        seq: i64,
        snapshot: bool,
        side: BookSide,
        price: crate::model::Price,
        qty: crate::model::Qty,
    ) -> DepthRow {
        DepthRow {
            ts_event: EventTime::from_nanos(ts_ns),
            ts_recv: self.recv(ts_ns),
            conn: 1,
            seq,
            snapshot,
            side,
            price,
            qty,
        }
    }

    fn recv(&self, ts_ns: i64) -> RecvTime {
        RecvTime::from_nanos(ts_ns + self.recv_delay_ns)
    }
}
