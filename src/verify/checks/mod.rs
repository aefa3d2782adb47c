//! The checks of one market, in one pass over its tables: `book_top` frames joined with their
//! `depth` rows by (ts_recv, seq, conn) — both tables are sorted that way, so the join is a
//! merge — and `trades` interleaved by ts_recv so each trade meets the book of its moment.
//!
//! Each check lives in its own file; this one only drives them. Nothing here touches the
//! file system: the caller hands in batches (from the tree, or from memory in the benchmark).

pub mod book;
pub mod cursor;
pub mod files;
pub mod latency;
mod repeats;
pub mod sequence;
pub mod trades;

use std::collections::{HashMap, HashSet};

use book::{BookCheck, BookSummary};
use cursor::{
    fmt_ts, Batches, DepthCursor, DepthLevel, FrameHead, PartTicker, Source, TopCursor, TradeCursor,
};
use trades::{BookEnd, TradeCheck, TradeSummary};

use crate::storage::{StorageError, Table};
use crate::verify::findings::{Findings, Key, Kind};

/// The batches of one market's frame tables, each in (ts_recv, seq) order.
pub struct PassInput {
    pub book_top: (Batches, PartTicker),
    pub depth: (Batches, PartTicker),
    pub trades: (Batches, PartTicker),
}

/// Settings of the pass.
#[derive(Debug, Clone, Default)]
pub struct PassConfig {
    /// Basis points a trade may lie beyond the best bid or ask.
    pub tolerance_bps: u32,
    /// The selection starts mid-recording (`--from`): connections may begin mid-stream.
    pub mid_stream_start: bool,
    /// Connections whose connect event lies inside the range: they must still start at
    /// seq 1 with a snapshot.
    pub fresh_conns: Vec<u32>,
    /// The terminal event of each ended connection (see `trades`).
    pub ends: HashMap<u32, BookEnd>,
    /// Connections with a `crossed` events row (see `book`).
    pub may_cross: HashSet<u32>,
}

/// What the pass saw.
pub struct PassResult {
    pub book: BookSummary,
    pub trades: TradeSummary,
    pub rows: [(Table, u64); 3],
}

/// Runs the book, replay, time and trades checks over one market.
pub fn pass(
    input: PassInput,
    config: PassConfig,
    f: &mut Findings,
) -> Result<PassResult, StorageError> {
    let mut tops = TopCursor::new(Source::new(Table::BookTop, input.book_top.0, input.book_top.1));
    let mut depth = DepthCursor::new(Source::new(Table::Depth, input.depth.0, input.depth.1));
    let mut trade_rows =
        TradeCursor::new(Source::new(Table::Trades, input.trades.0, input.trades.1));
    let mut book =
        BookCheck::new(config.mid_stream_start, config.fresh_conns).may_cross(config.may_cross);
    let mut trades = TradeCheck::new(config.tolerance_bps, config.ends);
    let mut rows: Vec<DepthLevel> = Vec::with_capacity(1024);
    let mut strays = Strays::default();
    let mut head = FrameHead::EMPTY;
    while tops.next_into(&mut head, f)? {
        while let Some(t) = trade_rows.next_before(Some(head.ts_recv), f)? {
            trades.trade(&t, book.market_top(), f);
        }
        let frame = (head.ts_recv, head.seq);
        rows.clear();
        while let Some((ts, seq, conn)) = depth.peek(f)? {
            if (ts, seq) < frame || ((ts, seq) == frame && conn != head.conn) {
                let level = depth.take();
                strays.row(ts, seq, conn, level, f);
            } else if (ts, seq) == frame {
                rows.extend(depth.take());
            } else {
                break;
            }
        }
        if rows.is_empty() {
            if let Some(early) = strays.claim(head.conn, head.seq, head.ts_recv) {
                rows = early;
            }
        }
        book.frame(&head, &rows, f);
    }
    while let Some((ts, seq, conn)) = depth.peek(f)? {
        let level = depth.take();
        strays.row(ts, seq, conn, level, f);
    }
    strays.report(f);
    while let Some(t) = trade_rows.next_before(None, f)? {
        trades.trade(&t, book.market_top(), f);
    }
    let rows = [
        (Table::Depth, depth.rows()),
        (Table::BookTop, tops.rows()),
        (Table::Trades, trade_rows.rows()),
    ];
    let book = book.finish(f);
    let trades = trades.finish(&book.conns, f);
    Ok(PassResult { book, trades, rows })
}

/// Depth rows that met no `book_top` row where the merge expected it. They wait here, in
/// case a part out of order put them early, and are reported at the end if no frame claims
/// them: one finding per frame.
#[derive(Default)]
struct Strays {
    frames: HashMap<(u32, i64, i64), Vec<DepthLevel>>,
    rows: usize,
}

/// Stray rows kept at most; past this they are reported at once.
const MAX_STRAY_ROWS: usize = 1 << 20;

impl Strays {
    fn row(
        &mut self,
        ts_recv: i64,
        seq: i64,
        conn: u32,
        level: Option<DepthLevel>,
        f: &mut Findings,
    ) {
        let Some(level) = level else { return };
        self.frames.entry((conn, seq, ts_recv)).or_default().push(level);
        self.rows += 1;
        if self.rows > MAX_STRAY_ROWS {
            self.report(f);
        }
    }

    /// The rows of a frame that arrived before it, if any did.
    fn claim(&mut self, conn: u32, seq: i64, ts_recv: i64) -> Option<Vec<DepthLevel>> {
        if self.frames.is_empty() {
            return None;
        }
        let rows = self.frames.remove(&(conn, seq, ts_recv))?;
        self.rows -= rows.len();
        Some(rows)
    }

    fn report(&mut self, f: &mut Findings) {
        let mut keys: Vec<(u32, i64, i64)> = self.frames.drain().map(|(k, _)| k).collect();
        keys.sort_unstable_by_key(|&(conn, seq, ts)| (ts, seq, conn));
        for (conn, seq, ts_recv) in keys {
            f.add(
                Kind::OrphanDepth,
                || {
                    format!(
                        "depth rows of conn {conn} seq {seq} (ts_recv {}) have no book_top row",
                        fmt_ts(ts_recv)
                    )
                },
                vec![Key::Frame { table: Table::Depth, conn, seq, ts_recv }],
            );
        }
        self.rows = 0;
    }
}
