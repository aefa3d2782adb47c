//! The recorder: journal records in, table rows out, by the rules of the market's venue.
//!
//! Deterministic: the same records in the same order give the same rows, whether they come
//! live from a socket, from the journal after a crash, or from `import`. The venue name picks
//! the rules — [`super::extended`] (VENUES.md §1) or [`super::binance`] (§3) — and both write
//! through one [`Sink`], so the tables and the events contract are the same for every venue.
//!
//! Must not do I/O or read clocks: times come from the records.

use std::collections::{HashSet, VecDeque};

use super::{binance, extended};
use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, RecvTime};
use crate::storage::{BookTopRow, DepthRow, EventRow, Record, Stream, TopLevels, TradeRow};
use crate::venue::binance::Kind;

/// Trade ids remembered for deduplication: far more than the 50 a reconnect replays.
const REMEMBERED_TRADES: usize = 10_000;

/// What the connection task must do after a record was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    /// Close connection `conn`: its stream can no longer be trusted (`reason` for logs).
    Close {
        conn: u32,
        reason: String,
    },
}

/// Rows produced and not yet handed to the writers.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub depth: Vec<DepthRow>,
    pub book_top: Vec<BookTopRow>,
    pub trades: Vec<TradeRow>,
    pub events: Vec<EventRow>,
}

impl Output {
    pub fn rows(&self) -> usize {
        self.depth.len() + self.book_top.len() + self.trades.len() + self.events.len()
    }
}

/// Running counts for a status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    pub connects: u64,
    /// Breaks, stale streams and possible trade gaps.
    pub gaps: u64,
    pub last_book_seq: u64,
    /// `ts_recv − ts_event` of the last book frame, ns.
    pub lag_ns: i64,
}

/// Where every venue's rules put their rows and counts.
#[derive(Debug, Clone)]
pub(super) struct Sink {
    /// Levels per side in `book_top`.
    pub levels: usize,
    pub counters: Counters,
    pub out: Output,
}

impl Sink {
    pub(super) fn event(
        &mut self,
        ts_recv: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: Option<String>,
    ) {
        self.out.events.push(EventRow { ts_recv, conn, kind, seq, expected_seq, detail });
    }

    /// The `book_top` row of a frame just applied to `book`, and the counters it moves.
    pub(super) fn book_top(
        &mut self,
        book: &Book,
        ts_event: EventTime,
        ts_recv: RecvTime,
        conn: u32,
        seq: i64,
        snapshot: bool,
    ) {
        let (bids, asks) = (TopLevels::new(), TopLevels::new());
        self.out.book_top.push(BookTopRow { ts_event, ts_recv, conn, seq, snapshot, bids, asks });
        // Filled where it lies: a row is some 700 bytes, and building the sides first and
        // moving them in copied each twice.
        if let Some(row) = self.out.book_top.last_mut() {
            book.extend_top(BookSide::Bid, self.levels, &mut row.bids);
            book.extend_top(BookSide::Ask, self.levels, &mut row.asks);
        }
        self.counters.last_book_seq = seq as u64;
        self.counters.lag_ns = ts_recv.as_nanos() - ts_event.as_nanos();
    }
}

/// A venue name the recorder has no rules for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no recorder rules for venue {venue:?} (known: extended, binance-spot, binance-usdm, binance-coinm)")]
pub struct UnknownVenue {
    pub venue: String,
}

#[derive(Debug, Clone)]
enum Rules {
    Extended(extended::Rules),
    Binance(binance::Rules),
}

/// The recorder of one venue and market.
#[derive(Debug, Clone)]
pub struct Recorder {
    rules: Rules,
    sink: Sink,
}

impl Recorder {
    /// A fresh recorder for `venue` that writes `levels` levels per side to `book_top`.
    pub fn new(venue: &str, levels: usize) -> Result<Self, UnknownVenue> {
        Self::restore(venue, levels, &Saved::default())
    }

    /// A recorder for `venue` in the state [`Recorder::save`] returned.
    pub fn restore(venue: &str, levels: usize, saved: &Saved) -> Result<Self, UnknownVenue> {
        let rules = match (venue, Kind::of_venue(venue)) {
            ("extended", _) => Rules::Extended(extended::Rules::restore(saved)),
            (_, Some(kind)) => Rules::Binance(binance::Rules::restore(kind, saved)),
            (_, None) => return Err(UnknownVenue { venue: venue.to_owned() }),
        };
        let sink = Sink { levels, counters: Counters::default(), out: Output::default() };
        Ok(Self { rules, sink })
    }

    pub fn counters(&self) -> Counters {
        self.sink.counters
    }

    /// The highest connection number seen.
    pub fn max_conn(&self) -> u32 {
        match &self.rules {
            Rules::Extended(r) => r.max_conn(),
            Rules::Binance(r) => r.max_conn(),
        }
    }

    /// Connections open and not ended.
    pub fn open_conns(&self) -> Vec<u32> {
        match &self.rules {
            Rules::Extended(r) => r.open_conns(),
            Rules::Binance(r) => r.open_conns(),
        }
    }

    /// The stream a new connection of this venue carries: Extended has one stream per
    /// connection; Binance one combined stream (depth, trades, bookTicker) per market.
    pub fn combined(&self) -> bool {
        matches!(self.rules, Rules::Binance(_))
    }

    /// Applies one journal record.
    pub fn apply(&mut self, record: &Record) -> Verdict {
        match &mut self.rules {
            Rules::Extended(r) => r.apply(record, &mut self.sink),
            Rules::Binance(r) => r.apply(record, &mut self.sink),
        }
    }

    /// Rows produced and not yet taken.
    pub fn output(&self) -> &Output {
        &self.sink.out
    }

    /// Forgets the rows produced so far (after they were written), keeping the buffers.
    pub fn clear_output(&mut self) {
        let out = &mut self.sink.out;
        out.depth.clear();
        out.book_top.clear();
        out.trades.clear();
        out.events.clear();
    }

    /// What must survive a restart, for the state file.
    pub fn save(&self) -> Saved {
        match &self.rules {
            Rules::Extended(r) => r.save(),
            Rules::Binance(r) => r.save(),
        }
    }
}

/// A book's levels in raw 1e-8 units, best first, for the state file.
pub(super) fn levels(book: &Book, side: BookSide) -> Vec<[i64; 2]> {
    book.levels(side).map(|l| [l.price.raw(), l.qty.raw()]).collect()
}

/// The recorder's state in the state file: open connections with their books (raw 1e-8
/// units) and the trade ids remembered for deduplication, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    pub conns: Vec<SavedConn>,
    pub trade_ids: Vec<i64>,
    pub max_conn: u32,
    pub had_book: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedConn {
    pub conn: u32,
    /// `None`: the connection was ended by a break.
    pub stream: Option<Stream>,
    pub last_seq: Option<u64>,
    pub bids: Vec<[i64; 2]>,
    pub asks: Vec<[i64; 2]>,
    pub replayed: bool,
    /// Binance: where the splice of this connection stood (absent on Extended, so Extended
    /// state files are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<super::binance::SavedSync>,
}

/// The last [`REMEMBERED_TRADES`] trade ids, in arrival order, with a set for lookups.
#[derive(Debug, Clone, Default)]
pub(super) struct RecentIds {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl RecentIds {
    /// Remembers `id`; false if it was already known.
    pub(super) fn insert(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED_TRADES {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub(super) fn set(&self) -> &HashSet<i64> {
        &self.set
    }

    /// The ids remembered, oldest first.
    pub(super) fn ids(&self) -> impl Iterator<Item = &i64> {
        self.order.iter()
    }
}
