//! The replay: one market's `depth`, `book_top` and `trades` parts over a receive-time range,
//! merged into one stream of [`Event`]s in [`Event::order_key`] order.
//!
//! Each table is read by its own [`Scan`] (rows in `(ts_recv, seq)` order, one record batch
//! per part in flight) of only the columns its rows are made of (not the constant `venue`
//! and `market`), and decoded one batch at a time on its own reader thread, which hands
//! decoded batches to the merge over a channel of [`AHEAD`] batches: decoding overlaps the
//! merge and the engine, and memory stays a few decoded batches per table however long the
//! range (docs/ARCHITECTURE.md "Layering", backtest). An error reaches the merge in its place in the
//! stream, as the one-line error it would have been on one thread. Within a table, the reader
//! thread puts rows that share a `ts_recv` in `(conn, seq)` order (stable, so ties keep part
//! order; a run is never split between two batches), so the merge of the three tables by the
//! full key only compares their next keys. This module reads files and nothing else: no
//! engine, no printing.
//!
//! With [`Clock::Event`] (feed latency L) the strategy clock is derived from the venue's:
//! each table is still read in its stored `(ts_recv, seq)` order, and each row gets
//! `ts_recv := max(ts_event + L, the previous row's derived time in the same table)`. The
//! `max` keeps every table monotone (a row whose `ts_event` went backwards is delivered with
//! the row before it, not earlier), so the merge above stays a stable total order; the rows
//! of one frame share a `ts_event` and so keep one derived time. The rule starts at the
//! market's first stored row, whatever the range, so a row's derived time does not depend on
//! `--from/--to`. The range is then cut on the derived time; parts cannot be pruned by it
//! (their statistics are of `ts_recv`), so the replay reads the tables from their start and
//! stops at the first derived time at or after `to` — still one batch per table in memory.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;

use crate::model::RecvTime;
use crate::storage::{
    decoded, list, BadPart, BookTopRow, DepthRow, Listing, Rows, Scan, Selection, StorageError,
    Table, TimeRange, TradeRow,
};

use super::event::{Clock, Event};

/// The tables a replay reads, in the order their rows rank within one instant.
pub const TABLES: [Table; 3] = [Table::Depth, Table::BookTop, Table::Trades];

/// What the replay reads: one venue's market over `[from, to)` of the strategy clock (the
/// receive clock, or with [`Clock::Event`] the derived `ts_event + L`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub venue: String,
    pub market: String,
    pub from: RecvTime,
    pub to: RecvTime,
    pub clock: Clock,
}

impl Source {
    /// The rows to list: the range on the receive clock, or every row for the event clock
    /// (cut later, on the derived time).
    fn selection(&self) -> Selection {
        let range = match self.clock {
            Clock::Recv => TimeRange::new(Some(self.from.as_nanos()), Some(self.to.as_nanos())),
            Clock::Event { .. } => TimeRange::ALL,
        };
        Selection { venue: Some(self.venue.clone()), market: Some(self.market.clone()), range }
    }
}

/// What can stop a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{venue}/{market} has no book_top rows received in [{from}, {to}); {found}")]
    Empty { venue: String, market: String, from: RecvTime, to: RecvTime, found: String },
}

/// The parts of the three tables that can hold a source's rows.
#[derive(Debug, Clone)]
pub struct Listings {
    pub source: Source,
    /// Depth, book_top, trades.
    pub tables: [Listing; 3],
}

/// A market's whole `book_top` and `trades` listings (every part, all times): listed once
/// per backtest and narrowed in memory ([`Listing::narrow`]) for the replay, the spec
/// inference and the recalibration schedule, which all read them; listing the tree and
/// reading the footers again for each was a sixth of a short run (issue 22).
#[derive(Debug, Clone)]
pub struct Recording {
    pub book_top: Listing,
    pub trades: Listing,
}

impl Recording {
    /// Every part of the market's `book_top` and `trades`.
    pub fn list(root: &Path, venue: &str, market: &str) -> Result<Self, StorageError> {
        let whole = Selection {
            venue: Some(venue.to_owned()),
            market: Some(market.to_owned()),
            range: TimeRange::ALL,
        };
        Ok(Self {
            book_top: list(root, Table::BookTop, &whole)?,
            trades: list(root, Table::Trades, &whole)?,
        })
    }
}

impl Listings {
    /// Lists the parts of every table; a range with no book frames is an error that says
    /// what the market does hold, since a backtest without a book has nothing to quote on.
    pub fn open(root: &Path, source: &Source) -> Result<Self, ReplayError> {
        let selection = source.selection();
        let mut tables = Vec::with_capacity(3);
        for table in TABLES {
            tables.push(list(root, table, &selection)?);
        }
        Self::checked(root, source, tables.try_into().expect("three tables were listed"))
    }

    /// [`Listings::open`] with `book_top` and `trades` narrowed from the market's
    /// [`Recording`] (only `depth` is listed).
    pub fn within(
        root: &Path,
        source: &Source,
        recording: &Recording,
    ) -> Result<Self, ReplayError> {
        let selection = source.selection();
        let tables = [
            list(root, Table::Depth, &selection)?,
            recording.book_top.narrow(&selection),
            recording.trades.narrow(&selection),
        ];
        Self::checked(root, source, tables)
    }

    fn checked(root: &Path, source: &Source, tables: [Listing; 3]) -> Result<Self, ReplayError> {
        let selection = source.selection();
        if tables[1].rows() == 0 {
            let all = Selection { range: TimeRange::ALL, ..selection };
            let whole = list(root, Table::BookTop, &all)?;
            let found = match receive_span(&whole) {
                Some((lo, hi)) => format!("its book_top rows span {lo} .. {hi}"),
                None => "it has no book_top rows at all".to_owned(),
            };
            return Err(ReplayError::Empty {
                venue: source.venue.clone(),
                market: source.market.clone(),
                from: source.from,
                to: source.to,
                found,
            });
        }
        Ok(Self { source: source.clone(), tables })
    }

    /// Files skipped because they are not readable parts, each with its reason.
    pub fn bad(&self) -> impl Iterator<Item = &BadPart> {
        self.tables.iter().flat_map(|l| l.bad.iter())
    }

    /// Rows the parts hold in all (an upper bound of the replay's events: parts are pruned
    /// by row group, not row).
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(Listing::rows).sum()
    }

    /// Starts the merged stream.
    pub fn replay(&self) -> Replay {
        let derive = match self.source.clock {
            Clock::Recv => None,
            Clock::Event { feed_latency_ns } => Some(Derive {
                latency: feed_latency_ns,
                last: i64::MIN,
                from: self.source.from.as_nanos(),
                to: self.source.to.as_nanos(),
            }),
        };
        Replay {
            tables: [
                TableStream::new(Batches::start(&self.tables[0], depth, derive)),
                TableStream::new(Batches::start(&self.tables[1], top, derive)),
                TableStream::new(Batches::start(&self.tables[2], trades, derive)),
            ],
            last: None,
            failed: false,
        }
    }
}

/// The smallest and largest receive time a listing's part statistics show.
pub fn receive_span(listing: &Listing) -> Option<(RecvTime, RecvTime)> {
    let mut span: Option<(i64, i64)> = None;
    for part in &listing.parts {
        if let Some((lo, hi)) = part.time_span() {
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
    }
    span.map(|(lo, hi)| (RecvTime::from_nanos(lo), RecvTime::from_nanos(hi)))
}

type Decoder = fn(&RecordBatch) -> Result<Vec<Event>, StorageError>;

fn depth(batch: &RecordBatch) -> Result<Vec<Event>, StorageError> {
    DepthRow::from_batch_map(batch, Event::Depth)
}

fn top(batch: &RecordBatch) -> Result<Vec<Event>, StorageError> {
    BookTopRow::from_batch_map(batch, |r| Event::Top(Box::new(r)))
}

fn trades(batch: &RecordBatch) -> Result<Vec<Event>, StorageError> {
    TradeRow::from_batch_map(batch, Event::Trade)
}

/// The [`Clock::Event`] rule for one table: derived time and the range cut on it.
#[derive(Debug, Clone, Copy)]
struct Derive {
    latency: i64,
    /// The previous row's derived time.
    last: i64,
    from: i64,
    to: i64,
}

impl Derive {
    /// Stamps a decoded batch (in stored order) with derived times and keeps the rows in
    /// `[from, to)`; true once a row reached `to` (every later row is at or after it).
    fn apply(&mut self, events: &mut Vec<Event>) -> bool {
        let mut ended = false;
        let mut keep = 0;
        for i in 0..events.len() {
            let t = events[i].ts_event_nanos().saturating_add(self.latency).max(self.last);
            self.last = t;
            if t >= self.to {
                ended = true;
                break;
            }
            if t >= self.from {
                events[i].set_ts_recv(RecvTime::from_nanos(t));
                events.swap(keep, i);
                keep += 1;
            }
        }
        events.truncate(keep);
        ended
    }
}

/// Decoded batches a reader thread may hold ready for the merge, per table.
const AHEAD: usize = 2;

/// One table's rows as events, a decoded batch at a time, ready to merge: scan, decode, with
/// [`Clock::Event`] the derived time and the range cut, and each run of rows with one
/// `ts_recv` in key order. A batch's last run is held back and put in front of the next
/// batch (it may go on there), so no run spans two batches and the merge only compares the
/// heads of the three tables. All of this is on the reader thread, off the merge's.
struct Reader {
    scan: Scan,
    decode: Decoder,
    derive: Option<Derive>,
    /// The last run of the batch before, not sent yet.
    carry: Vec<Event>,
    /// An error met after `carry` was read: sent after it.
    error: Option<StorageError>,
    done: bool,
}

impl Reader {
    /// Reads only the columns the rows are made of ([`decoded`]).
    fn new(listing: &Listing, decode: Decoder, derive: Option<Derive>) -> Self {
        let table = listing.table;
        let scan = listing.scan_columns(|column| decoded(table, column)).stored_types();
        Self { scan, decode, derive, carry: Vec::new(), error: None, done: false }
    }

    /// The next decoded batch in stored order (possibly empty), or `None` at the end.
    fn read(&mut self) -> Result<Option<Vec<Event>>, StorageError> {
        let Some(batch) = self.scan.next() else { return Ok(None) };
        let mut events = (self.decode)(&batch?)?;
        if let Some(derive) = &mut self.derive {
            self.done = derive.apply(&mut events);
        }
        Ok(Some(events))
    }

    fn next_batch(&mut self) -> Option<Result<Vec<Event>, StorageError>> {
        while !self.done {
            let mut events = match self.read() {
                Ok(Some(events)) => events,
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    self.error = Some(e);
                    break;
                }
            };
            if !self.carry.is_empty() {
                let mut joined = std::mem::take(&mut self.carry);
                joined.append(&mut events);
                events = joined;
            }
            if !self.done {
                if let Some(last) = events.last().map(Event::ts_recv) {
                    let start =
                        events.iter().rposition(|e| e.ts_recv() != last).map_or(0, |i| i + 1);
                    self.carry = events.split_off(start);
                }
            }
            if !events.is_empty() {
                sort_runs(&mut events);
                return Some(Ok(events));
            }
        }
        if !self.carry.is_empty() {
            let mut rest = std::mem::take(&mut self.carry);
            sort_runs(&mut rest);
            return Some(Ok(rest));
        }
        self.error.take().map(Err)
    }
}

/// Puts each run of rows with one `ts_recv` in key order; stable, so ties keep part order.
fn sort_runs(events: &mut [Event]) {
    // Usually the whole batch is in key order already: one pass says so.
    if events.is_sorted_by_key(Event::order_key) {
        return;
    }
    for run in events.chunk_by_mut(|a, b| a.ts_recv() == b.ts_recv()) {
        if run.len() > 1 && !run.is_sorted_by_key(Event::order_key) {
            run.sort_by_key(Event::order_key);
        }
    }
}

/// Where a table's decoded batches come from: a reader thread that decodes up to [`AHEAD`]
/// batches ahead of the merge over a bounded channel (so decoding overlaps the merge and the
/// engine, and memory stays a few batches per table), or, if no thread could be started, the
/// same reader on the caller's thread.
enum Batches {
    Ahead {
        /// `None` once dropped, which tells the thread to stop.
        rx: Option<Receiver<Result<Vec<Event>, StorageError>>>,
        thread: Option<JoinHandle<()>>,
    },
    /// Boxed: the rare case, and far larger than the other.
    Inline(Box<Reader>),
}

impl Batches {
    fn start(listing: &Listing, decode: Decoder, derive: Option<Derive>) -> Self {
        let table = listing.table;
        let (tx, rx) = sync_channel(AHEAD);
        let mut reader = Reader::new(listing, decode, derive);
        let spawned =
            std::thread::Builder::new().name(format!("replay-{table}")).spawn(move || {
                while let Some(batch) = reader.next_batch() {
                    // A closed channel: the replay was dropped.
                    if tx.send(batch).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(thread) => Batches::Ahead { rx: Some(rx), thread: Some(thread) },
            Err(e) => {
                tracing::debug!("the replay decodes {table} on the caller's thread: {e}");
                Batches::Inline(Box::new(Reader::new(listing, decode, derive)))
            }
        }
    }

    fn next(&mut self) -> Option<Result<Vec<Event>, StorageError>> {
        match self {
            Batches::Inline(reader) => reader.next_batch(),
            Batches::Ahead { rx, thread } => {
                let received = rx.as_ref().and_then(|rx| rx.recv().ok());
                if received.is_none() {
                    // The thread ended: at the end of the table, or by a panic, which is the
                    // caller's as it would be without the thread.
                    rx.take();
                    if let Some(Err(panic)) = thread.take().map(JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                }
                received
            }
        }
    }
}
impl Drop for Batches {
    /// Closes the channel, so a thread blocked on it stops, and waits for the thread (at
    /// most the batch it is decoding), so no reading outlives the replay.
    fn drop(&mut self) {
        if let Batches::Ahead { rx, thread } = self {
            rx.take();
            if let Some(thread) = thread.take() {
                // A panic there has no caller left to reach.
                let _ = thread.join();
            }
        }
    }
}

/// One table's events in key order, a batch from its reader at a time, with the key of the
/// next one kept so the merge compares three cached keys per event.
struct TableStream {
    batches: Batches,
    batch: std::vec::IntoIter<Event>,
    /// The key of the batch's next event; `None` once the batch is consumed.
    key: Option<Key>,
    done: bool,
}

/// [`Event::order_key`].
type Key = (i64, u8, u32, i64);

impl TableStream {
    fn new(batches: Batches) -> Self {
        Self { batches, batch: Vec::new().into_iter(), key: None, done: false }
    }

    /// The key of the table's next event, taking the next batch when this one is consumed.
    fn head(&mut self) -> Result<Option<Key>, StorageError> {
        while self.key.is_none() && !self.done {
            match self.batches.next() {
                Some(batch) => {
                    self.batch = batch?.into_iter();
                    self.key = self.batch.as_slice().first().map(Event::order_key);
                }
                None => self.done = true,
            }
        }
        Ok(self.key)
    }

    fn pop(&mut self) -> Option<Event> {
        let event = self.batch.next();
        self.key = self.batch.as_slice().first().map(Event::order_key);
        event
    }
}

/// The merged events of a listing, in [`Event::order_key`] order. Ends after the first
/// error it yields.
pub struct Replay {
    /// Depth, book_top, trades.
    tables: [TableStream; 3],
    /// The table the last event came from, and the smallest next key of the other two
    /// (`None`: they are done). Those do not change until that table's events pass it, so
    /// a run of one table's rows (a frame's depth rows) goes on with one comparison each.
    last: Option<(usize, Option<Key>)>,
    failed: bool,
}

impl Replay {
    fn step(&mut self) -> Result<Option<Event>, StorageError> {
        if let Some((i, bound)) = self.last {
            let table = &mut self.tables[i];
            if table.head()?.is_some_and(|key| bound.is_none_or(|b| key < b)) {
                return Ok(table.pop());
            }
        }
        // Strictly smaller wins, so on equal keys the earlier table goes first (equal keys
        // across tables cannot occur: the table rank is part of the key).
        let mut keys = [None; 3];
        for (key, table) in keys.iter_mut().zip(&mut self.tables) {
            *key = table.head()?;
        }
        let mut best: Option<(usize, Key)> = None;
        for (i, key) in keys.iter().enumerate() {
            if let Some(key) = *key {
                if best.is_none_or(|(_, b)| key < b) {
                    best = Some((i, key));
                }
            }
        }
        let Some((i, _)) = best else {
            self.last = None;
            return Ok(None);
        };
        let bound = keys.iter().enumerate().filter(|(j, _)| *j != i).filter_map(|(_, k)| *k).min();
        self.last = Some((i, bound));
        Ok(self.tables[i].pop())
    }
}

impl Iterator for Replay {
    type Item = Result<Event, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(event) => event.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{BookSide, EventTime, Level, Price, Qty, TakerSide, TradeKind};
    use crate::storage::{Writer, WriterConfig};

    /// 2026-11-20T00:00:00Z.
    const DAY: i64 = 1_795_132_800_000_000_000;
    const MS: i64 = 1_000_000;

    fn depth_row(recv_ms: i64, conn: u32, seq: i64, price: i64) -> DepthRow {
        DepthRow {
            ts_event: EventTime::from_nanos(DAY + recv_ms * MS - MS),
            ts_recv: RecvTime::from_nanos(DAY + recv_ms * MS),
            conn,
            seq,
            snapshot: false,
            side: BookSide::Bid,
            price: Price::from_raw(price),
            qty: Qty::from_raw(1),
        }
    }

    fn top_row(recv_ms: i64, conn: u32, seq: i64) -> BookTopRow {
        BookTopRow {
            ts_event: EventTime::from_nanos(DAY + recv_ms * MS - MS),
            ts_recv: RecvTime::from_nanos(DAY + recv_ms * MS),
            conn,
            seq,
            snapshot: false,
            bids: vec![Level::new(Price::from_raw(100), Qty::from_raw(1))].into(),
            asks: vec![Level::new(Price::from_raw(101), Qty::from_raw(1))].into(),
        }
    }

    fn trade_row(recv_ms: i64, conn: u32, seq: i64, id: i64) -> TradeRow {
        TradeRow {
            ts_event: EventTime::from_nanos(DAY + recv_ms * MS - MS),
            ts_recv: RecvTime::from_nanos(DAY + recv_ms * MS),
            conn,
            seq,
            trade_id: id,
            side: TakerSide::Buy,
            price: Price::from_raw(101),
            qty: Qty::from_raw(1),
            kind: TradeKind::Trade,
        }
    }

    fn write<R: Rows>(root: &Path, rows: &[R]) {
        if rows.is_empty() {
            return;
        }
        let mut w =
            Writer::new(root, R::TABLE, "extended", "ETH-USD", WriterConfig::default()).unwrap();
        w.write(&R::to_batch("extended", "ETH-USD", rows)).unwrap();
        w.close().unwrap();
    }

    fn source(from_ms: i64, to_ms: i64) -> Source {
        Source {
            venue: "extended".into(),
            market: "ETH-USD".into(),
            from: RecvTime::from_nanos(DAY + from_ms * MS),
            to: RecvTime::from_nanos(DAY + to_ms * MS),
            clock: Clock::Recv,
        }
    }

    fn replay_all(root: &Path, source: &Source) -> Vec<Event> {
        Listings::open(root, source).unwrap().replay().collect::<Result<_, _>>().unwrap()
    }

    /// What the merge must give: the writer's stable (ts_recv, seq) order per table, then a
    /// stable sort of depth, top, trades by the order key.
    fn expected(depth: &[DepthRow], tops: &[BookTopRow], trades: &[TradeRow]) -> Vec<Event> {
        fn by_file<T: Clone>(rows: &[T], key: impl Fn(&T) -> (i64, i64)) -> Vec<T> {
            let mut rows = rows.to_vec();
            rows.sort_by_key(|r| key(r));
            rows
        }
        let mut all: Vec<Event> = by_file(depth, |r| (r.ts_recv.as_nanos(), r.seq))
            .into_iter()
            .map(Event::Depth)
            .chain(
                by_file(tops, |r| (r.ts_recv.as_nanos(), r.seq))
                    .into_iter()
                    .map(|r| Event::Top(Box::new(r))),
            )
            .chain(by_file(trades, |r| (r.ts_recv.as_nanos(), r.seq)).into_iter().map(Event::Trade))
            .collect();
        all.sort_by_key(Event::order_key);
        all
    }

    #[test]
    fn a_frames_depth_comes_before_its_top_and_trades_after() {
        let dir = tempfile::tempdir().unwrap();
        let depth = [depth_row(10, 1, 5, 1), depth_row(10, 1, 5, 2), depth_row(20, 1, 6, 3)];
        let tops = [top_row(10, 1, 5), top_row(20, 1, 6)];
        let trades = [trade_row(5, 1, 4, 1), trade_row(10, 1, 5, 2)];
        write(dir.path(), &depth);
        write(dir.path(), &tops);
        write(dir.path(), &trades);
        let got = replay_all(dir.path(), &source(0, 1000));
        let kinds: Vec<(i64, &str)> = got
            .iter()
            .map(|e| {
                let kind = match e {
                    Event::Depth(_) => "depth",
                    Event::Top(_) => "top",
                    Event::Trade(_) => "trade",
                };
                ((e.ts_recv().as_nanos() - DAY) / MS, kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (5, "trade"),
                (10, "depth"),
                (10, "depth"),
                (10, "top"),
                (10, "trade"),
                (20, "depth"),
                (20, "top")
            ]
        );
        assert_eq!(got, expected(&depth, &tops, &trades));
    }

    #[test]
    fn the_range_is_half_open_on_the_receive_clock() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[top_row(10, 1, 1), top_row(20, 1, 2), top_row(30, 1, 3)]);
        let got = replay_all(dir.path(), &source(10, 30));
        let times: Vec<i64> = got.iter().map(|e| (e.ts_recv().as_nanos() - DAY) / MS).collect();
        assert_eq!(times, [10, 20]);
    }

    #[test]
    fn a_range_without_book_frames_says_what_the_market_holds() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[top_row(10, 1, 1), top_row(20, 1, 2)]);
        let err = Listings::open(dir.path(), &source(1000, 2000)).unwrap_err().to_string();
        assert!(err.contains("extended/ETH-USD has no book_top rows"), "{err}");
        assert!(err.contains("2026-11-20T00:00:00.010Z .. 2026-11-20T00:00:00.020Z"), "{err}");
        let err = Listings::open(dir.path(), &Source { market: "BTC-USD".into(), ..source(0, 1) })
            .unwrap_err()
            .to_string();
        assert!(err.contains("no book_top rows at all"), "{err}");
    }

    /// The event clock: `ts_recv` becomes `ts_event + L`, a `ts_event` that goes backwards is
    /// held at the previous row's time, the range is cut on the derived time, and the three
    /// tables still merge in key order.
    #[test]
    fn the_event_clock_derives_a_monotone_time_from_ts_event() {
        let dir = tempfile::tempdir().unwrap();
        // Received 1 ms apart, stamped by the venue 1 s apart (a 1000× accelerated recording),
        // except the third top, stamped before the second.
        let at = |mut top: BookTopRow, event_ms: i64| {
            top.ts_event = EventTime::from_nanos(DAY + event_ms * MS);
            top
        };
        let tops = [
            at(top_row(1, 1, 1), 1_000),
            at(top_row(2, 1, 2), 3_000),
            at(top_row(3, 1, 3), 2_000),
            at(top_row(4, 1, 4), 4_000),
            at(top_row(5, 1, 5), 9_000),
        ];
        let mut trade = trade_row(3, 2, 1, 7);
        trade.ts_event = EventTime::from_nanos(DAY + 2_500 * MS);
        write(dir.path(), &tops);
        write(dir.path(), &[trade]);
        let event = |from_ms, to_ms| Source {
            clock: Clock::Event { feed_latency_ns: 5 * MS },
            ..source(from_ms, to_ms)
        };
        let got = replay_all(dir.path(), &event(0, 100_000));
        let times: Vec<(i64, i64)> = got
            .iter()
            .map(|e| ((e.ts_recv().as_nanos() - DAY) / MS, (e.ts_event_nanos() - DAY) / MS))
            .collect();
        assert_eq!(
            times,
            [
                (1_005, 1_000),
                (2_505, 2_500),
                (3_005, 3_000),
                (3_005, 2_000),
                (4_005, 4_000),
                (9_005, 9_000)
            ]
        );
        // The cut is on the derived time, and a row keeps its derived time in a sub-range.
        let got = replay_all(dir.path(), &event(3_005, 4_005));
        let times: Vec<i64> = got.iter().map(|e| (e.ts_recv().as_nanos() - DAY) / MS).collect();
        assert_eq!(times, [3_005, 3_005]);
        assert!(matches!(&got[1], Event::Top(r) if r.seq == 3));
    }

    /// A part that breaks after it was listed: the reader thread's error reaches the merge
    /// as the one-line error naming the file, and the replay ends there.
    #[test]
    fn a_read_error_on_the_reader_thread_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let tops: Vec<BookTopRow> = (0..100).map(|i| top_row(i, 1, i)).collect();
        write(dir.path(), &tops);
        let listings = Listings::open(dir.path(), &source(0, 1000)).unwrap();
        let part = &listings.tables[1].parts[0].path;
        let bytes = std::fs::read(part).unwrap();
        // Keep the footer (the listing holds it), zero the data pages.
        let mut broken = bytes.clone();
        broken[4..bytes.len() / 2].fill(0);
        std::fs::write(part, &broken).unwrap();
        let got: Vec<Result<Event, StorageError>> = listings.replay().collect();
        let last = got.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(last.contains(&part.display().to_string()), "{last}");
        assert!(!last.contains('\n'), "{last}");
        assert!(got[..got.len() - 1].iter().all(Result::is_ok));
        // Reading ahead of a replay dropped early stops the threads (no hang).
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &tops);
        let listings = Listings::open(dir.path(), &source(0, 1000)).unwrap();
        assert!(listings.replay().next().unwrap().is_ok());
    }

    /// The reader on the caller's thread (used when no thread can be started) gives the
    /// same batches as the reader thread.
    #[test]
    fn the_inline_reader_gives_what_the_thread_gives() {
        let dir = tempfile::tempdir().unwrap();
        let depth: Vec<DepthRow> = (0..50).map(|i| depth_row(i / 3, 1, i / 3, i)).collect();
        write(dir.path(), &depth);
        write(dir.path(), &[top_row(1, 1, 1)]);
        let listings = Listings::open(dir.path(), &source(0, 1000)).unwrap();
        let drain = |mut batches: Batches| {
            let mut all = Vec::new();
            while let Some(batch) = batches.next() {
                all.push(batch.unwrap());
            }
            all
        };
        let threaded = drain(Batches::start(&listings.tables[0], super::depth, None));
        let inline =
            drain(Batches::Inline(Box::new(Reader::new(&listings.tables[0], super::depth, None))));
        assert_eq!(threaded, inline);
        assert_eq!(threaded.concat().len(), depth.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Rows of two connections with clashing receive times and seqs, split over several
        /// parts and batches: the merge is sorted by the key and keeps part order on ties.
        #[test]
        fn the_merge_is_sorted_and_stable(
            depth in prop::collection::vec((0i64..6, 1u32..3, 0i64..4, 0i64..1000), 0..40),
            tops in prop::collection::vec((0i64..6, 1u32..3, 0i64..4), 1..20),
            trades in prop::collection::vec((0i64..6, 1u32..3, 0i64..4), 0..20),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let depth: Vec<DepthRow> =
                depth.iter().map(|&(t, c, s, p)| depth_row(t, c, s, p)).collect();
            let tops: Vec<BookTopRow> = tops.iter().map(|&(t, c, s)| top_row(t, c, s)).collect();
            let trades: Vec<TradeRow> = trades
                .iter()
                .enumerate()
                .map(|(i, &(t, c, s))| trade_row(t, c, s, i as i64))
                .collect();
            // Two writes of depth make two parts that overlap in time.
            let half = depth.len() / 2;
            write(dir.path(), &depth[..half]);
            write(dir.path(), &depth[half..]);
            write(dir.path(), &tops);
            write(dir.path(), &trades);
            let got = replay_all(dir.path(), &source(0, 100));
            let keys: Vec<_> = got.iter().map(Event::order_key).collect();
            prop_assert!(keys.is_sorted());
            prop_assert_eq!(got.len(), depth.len() + tops.len() + trades.len());
            // With one depth part the whole order is fixed by the rule.
            if half == 0 {
                prop_assert_eq!(got, expected(&depth, &tops, &trades));
            }
        }
    }
}
