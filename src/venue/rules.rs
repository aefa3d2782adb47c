//! The recorder's vocabulary that every venue's rules speak: journal records in, table rows
//! out through one [`Sink`], a [`Verdict`] back to the connection loop, and a [`Saved`] state
//! for the state file. A venue implements [`Rules`] in its own folder
//! (`src/venue/<venue>/recorder.rs`); `record::Recorder` holds one behind this trait and never
//! names a venue (docs/ARCHITECTURE.md "Layering").
//!
//! Deterministic and pure: the same records in the same order give the same rows, whether
//! they come live from a socket, from the journal after a crash, or from `import`. Must not
//! do I/O or read clocks: times come from the records.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, Price, Qty, RecvTime, NANOS_PER_SEC};
use crate::storage::{BookTopRow, Cause, DepthRow, EventRow, Record, Stream, TopLevels, TradeRow};

/// Trade ids remembered for deduplication: far more than the 50 a reconnect replays.
pub const REMEMBERED_TRADES: usize = 10_000;
/// The window over which a connection's share of refused frames is judged.
pub const REFUSED_WINDOW_NS: i64 = 60 * NANOS_PER_SEC;
/// A connection whose refused share over a window exceeds 1 / this gets a `refused_share` row.
pub const REFUSED_SHARE_DIVISOR: u64 = 10;
/// Fewer frames than this in a window say nothing about a share.
const REFUSED_WINDOW_MIN_FRAMES: u64 = 20;
/// The first bytes of a refused frame kept in its `refused` row (the journal keeps it all).
pub const REFUSED_EXCERPT_BYTES: usize = 120;

/// A venue's recorder rules for one market (docs/VENUES.md "Adding a venue").
pub trait Rules: std::fmt::Debug + Send {
    /// Applies one journal record, writing rows and counts to `sink`.
    fn apply(&mut self, record: &Record, sink: &mut Sink) -> Verdict;
    /// What must survive a restart, for the state file.
    fn save(&self) -> Saved;
    /// The highest connection number seen.
    fn max_conn(&self) -> u32;
    /// Connections open and not ended.
    fn open_conns(&self) -> Vec<u32>;
}

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

    /// Forgets the rows (after they were written), keeping the buffers.
    pub fn clear(&mut self) {
        self.depth.clear();
        self.book_top.clear();
        self.trades.clear();
        self.events.clear();
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
    /// Frames refused (each an `events` row of kind `refused`).
    pub refused: u64,
}

/// One connection's frames and refusals in the current window (windows follow `ts_recv`,
/// so a replay of the journal judges them exactly as the live run did).
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ns: i64,
    frames: u64,
    refused: u64,
    /// A `refused_share` row was written and the share has not fallen back since.
    flagged: bool,
}

/// Where every venue's rules put their rows and counts.
#[derive(Debug, Clone)]
pub struct Sink {
    /// Levels per side in `book_top`.
    pub levels: usize,
    pub counters: Counters,
    pub out: Output,
    windows: BTreeMap<u32, Window>,
}

impl Sink {
    pub fn new(levels: usize) -> Self {
        Self {
            levels,
            counters: Counters::default(),
            out: Output::default(),
            windows: BTreeMap::new(),
        }
    }

    /// A frame arrived on `conn` (call once per frame, before it is handled).
    pub fn frame(&mut self, ts_recv: RecvTime, conn: u32) {
        self.counters.frames += 1;
        let now = ts_recv.as_nanos();
        let window =
            self.windows.entry(conn).or_insert(Window { start_ns: now, ..Window::default() });
        if now - window.start_ns >= REFUSED_WINDOW_NS {
            let flagged = window.flagged && window.refused * REFUSED_SHARE_DIVISOR > window.frames;
            *window = Window { start_ns: now, flagged, ..Window::default() };
        }
        window.frames += 1;
    }

    /// Refuses the frame `text` just counted on `conn`: one `refused` row with the reason and
    /// the frame's first bytes, and nothing else — the caller changes no state of its own
    /// (docs/VENUES.md "Bad venue data"). When refusals pass a tenth of the connection's
    /// frames in a window of at least [`REFUSED_WINDOW_MIN_FRAMES`], one `refused_share` row.
    pub fn refuse(&mut self, ts_recv: RecvTime, conn: u32, reason: &dyn fmt::Display, text: &str) {
        self.counters.refused += 1;
        let reason = reason.to_string();
        // Unreadable JSON names its own start already.
        let detail = if reason.contains("frame starts") {
            format!("{reason} ({} bytes)", text.len())
        } else {
            let head = crate::venue::json::excerpt_of(text, REFUSED_EXCERPT_BYTES);
            format!("{reason}; frame starts {head:?} ({} bytes)", text.len())
        };
        self.event(ts_recv, conn, EventKind::Refused, None, None, Some(detail));
        let Some(window) = self.windows.get_mut(&conn) else { return };
        window.refused += 1;
        let many = window.frames >= REFUSED_WINDOW_MIN_FRAMES
            && window.refused * REFUSED_SHARE_DIVISOR > window.frames;
        if many && !window.flagged {
            window.flagged = true;
            let detail = format!(
                "{} of the last {} frames of this connection were refused (over a tenth within {} s); recording goes on",
                window.refused,
                window.frames,
                REFUSED_WINDOW_NS / NANOS_PER_SEC
            );
            self.event(ts_recv, conn, EventKind::RefusedShare, None, None, Some(detail));
        }
    }

    pub fn event(
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

    /// A connection broken by what it sent (a sequence or checksum break, a venue error): its
    /// one terminal event, counted as a gap, and the verdict that closes its socket.
    #[allow(clippy::too_many_arguments)]
    pub fn broken(
        &mut self,
        ts_recv: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: String,
    ) -> Verdict {
        self.counters.gaps += 1;
        self.event(ts_recv, conn, kind, seq, expected_seq, Some(detail.clone()));
        Verdict::Close { conn, reason: detail }
    }

    /// A connection opened (its `Connect` record): counted, and its `connect` row.
    pub fn connected(&mut self, ts_recv: RecvTime, conn: u32, url: &str) {
        self.counters.connects += 1;
        self.event(ts_recv, conn, EventKind::Connect, None, None, Some(url.to_owned()));
    }

    /// A live connection ended (its `Disconnect` record): a `stale` row (counted as a gap)
    /// when the watchdog ended it, else a `disconnect` row.
    pub fn disconnected(&mut self, ts_recv: RecvTime, conn: u32, cause: Cause, detail: &str) {
        let kind = match cause {
            Cause::Stale => {
                self.counters.gaps += 1;
                EventKind::Stale
            }
            Cause::Closed | Cause::Shutdown => EventKind::Disconnect,
        };
        self.event(ts_recv, conn, kind, None, None, Some(detail.to_owned()));
    }

    /// A connection the journal left open when the recorder restarted.
    pub fn restarted(&mut self, ts_recv: RecvTime, conn: u32) {
        let detail = Some("recorder restarted".to_owned());
        self.event(ts_recv, conn, EventKind::Disconnect, None, None, detail);
    }

    /// The `book_top` row of a frame just applied to `book`, and the counters it moves.
    pub fn book_top(
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
    /// A venue's own state of this connection, opaque to the recorder (Binance: where its
    /// splice stood). Absent for venues that need none, so their state files are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<serde_json::Value>,
}

impl SavedConn {
    /// A connection ended by a break, or one with nothing but its number.
    pub fn ended(conn: u32) -> Self {
        Self {
            conn,
            stream: None,
            last_seq: None,
            bids: Vec::new(),
            asks: Vec::new(),
            replayed: false,
            sync: None,
        }
    }

    /// The book this connection held at the checkpoint.
    pub fn book(&self) -> Book {
        let mut book = Book::new();
        for (side, list) in [(BookSide::Bid, &self.bids), (BookSide::Ask, &self.asks)] {
            for [price, qty] in list {
                book.set(side, Price::from_raw(*price), Qty::from_raw(*qty));
            }
        }
        book
    }
}

/// A book's levels in raw 1e-8 units, best first, for the state file.
pub fn levels(book: &Book, side: BookSide) -> Vec<[i64; 2]> {
    book.levels(side).map(|l| [l.price.raw(), l.qty.raw()]).collect()
}

/// Trade ids that rise by a known step per trade (Kraken: 1; OKX: the trade's `count`): an id
/// past the next expected one writes a `trade_gap` row (docs/VENUES.md §5). Fed only trades
/// not seen before.
#[derive(Debug, Clone)]
pub struct IdChain {
    last: Option<i64>,
    /// The step after `last` (1 after a restart, when the count is not known).
    last_count: i64,
}

impl Default for IdChain {
    fn default() -> Self {
        Self::after(None)
    }
}

impl IdChain {
    /// Continues after `last`, the highest id recorded (none on a fresh tree).
    pub fn after(last: Option<i64>) -> Self {
        Self { last, last_count: 1 }
    }

    /// A new trade `id` that stands for `count` ids.
    pub fn trade(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, id: i64, count: i64) {
        let step = self.last_count.max(count);
        if let Some(last) = self.last.filter(|last| id > last.saturating_add(step)) {
            sink.counters.gaps += 1;
            let missing = id - last - step;
            let detail =
                format!("trade ids jumped from {last} to {id}: {missing} trades may be missing");
            sink.event(ts, conn, EventKind::TradeGap, Some(id), Some(last + step), Some(detail));
        }
        if self.last.is_none_or(|last| id > last) {
            (self.last, self.last_count) = (Some(id), count);
        }
    }
}

/// The last [`REMEMBERED_TRADES`] trade ids, in arrival order, with a set for lookups.
#[derive(Debug, Clone, Default)]
pub struct RecentIds {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl RecentIds {
    /// The ids a state file remembered, oldest first.
    pub fn restore(ids: &[i64]) -> Self {
        let mut recent = Self::default();
        for id in ids {
            recent.insert(*id);
        }
        recent
    }

    /// Remembers `id`; false if it was already known.
    pub fn insert(&mut self, id: i64) -> bool {
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

    pub fn set(&self) -> &HashSet<i64> {
        &self.set
    }

    /// The ids remembered, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &i64> {
        self.order.iter()
    }
}
