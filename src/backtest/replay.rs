//! The replay: one market's `depth`, `book_top` and `trades` parts over a receive-time range,
//! merged into one stream of [`Event`]s in [`Event::order_key`] order.
//!
//! Each table is read by its own [`Scan`] (rows in `(ts_recv, seq)` order, one record batch
//! per part in flight) and decoded one batch at a time, so memory is three decoded batches
//! however long the range. Within a table, rows that share a `ts_recv` are put in
//! `(conn, seq)` order (stable, so ties keep part order) before the three tables are merged by
//! the full key. This module reads files and nothing else: no engine, no printing.

use std::collections::VecDeque;
use std::path::Path;

use arrow::array::RecordBatch;

use crate::model::RecvTime;
use crate::storage::{
    list, BadPart, BookTopRow, DepthRow, Listing, Rows, Scan, Selection, StorageError, Table,
    TimeRange, TradeRow,
};

use super::event::Event;

/// The tables a replay reads, in the order their rows rank within one instant.
pub const TABLES: [Table; 3] = [Table::Depth, Table::BookTop, Table::Trades];

/// What the replay reads: one venue's market over `[from, to)` of the receive clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub venue: String,
    pub market: String,
    pub from: RecvTime,
    pub to: RecvTime,
}

impl Source {
    fn selection(&self) -> Selection {
        Selection {
            venue: Some(self.venue.clone()),
            market: Some(self.market.clone()),
            range: TimeRange::new(Some(self.from.as_nanos()), Some(self.to.as_nanos())),
        }
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

impl Listings {
    /// Lists the parts of every table; a range with no book frames is an error that says
    /// what the market does hold, since a backtest without a book has nothing to quote on.
    pub fn open(root: &Path, source: &Source) -> Result<Self, ReplayError> {
        let selection = source.selection();
        let mut tables = Vec::with_capacity(3);
        for table in TABLES {
            tables.push(list(root, table, &selection)?);
        }
        let tables: [Listing; 3] = tables.try_into().expect("three tables were listed");
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
        Replay {
            depth: TableStream::new(self.tables[0].scan(), depth),
            top: TableStream::new(self.tables[1].scan(), top),
            trades: TableStream::new(self.tables[2].scan(), trades),
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
    Ok(DepthRow::from_batch(batch)?.into_iter().map(Event::Depth).collect())
}

fn top(batch: &RecordBatch) -> Result<Vec<Event>, StorageError> {
    Ok(BookTopRow::from_batch(batch)?.into_iter().map(|r| Event::Top(Box::new(r))).collect())
}

fn trades(batch: &RecordBatch) -> Result<Vec<Event>, StorageError> {
    Ok(TradeRow::from_batch(batch)?.into_iter().map(Event::Trade).collect())
}

/// One table's events, a run of equal `ts_recv` at a time, sorted by the full key.
struct TableStream {
    scan: Scan,
    decode: Decoder,
    /// The decoded batch being consumed, reversed so rows pop from the back.
    batch: Vec<Event>,
    /// The current run of rows with one `ts_recv`, in key order.
    run: VecDeque<Event>,
    done: bool,
}

impl TableStream {
    fn new(scan: Scan, decode: Decoder) -> Self {
        Self { scan, decode, batch: Vec::new(), run: VecDeque::new(), done: false }
    }

    /// The next row of the table in part order, loading batches as needed.
    fn next_row(&mut self) -> Result<Option<Event>, StorageError> {
        loop {
            if let Some(event) = self.batch.pop() {
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            match self.scan.next() {
                Some(batch) => {
                    let mut events = (self.decode)(&batch?)?;
                    events.reverse();
                    self.batch = events;
                }
                None => self.done = true,
            }
        }
    }

    /// The table's next event in key order, without taking it.
    fn peek(&mut self) -> Result<Option<&Event>, StorageError> {
        if self.run.is_empty() {
            let Some(first) = self.next_row()? else { return Ok(None) };
            let t = first.ts_recv();
            self.run.push_back(first);
            loop {
                match self.batch.last() {
                    Some(next) if next.ts_recv() == t => {
                        let next = self.batch.pop().expect("last() was Some");
                        self.run.push_back(next);
                    }
                    Some(_) => break,
                    // The batch ended inside the run: the next batch may continue it.
                    None => match self.next_row()? {
                        Some(next) if next.ts_recv() == t => self.run.push_back(next),
                        Some(next) => {
                            self.batch.push(next);
                            break;
                        }
                        None => break,
                    },
                }
            }
            if self.run.len() > 1 {
                let run = self.run.make_contiguous();
                if !run.is_sorted_by_key(Event::order_key) {
                    run.sort_by_key(Event::order_key);
                }
            }
        }
        Ok(self.run.front())
    }
}

/// The merged events of a listing, in [`Event::order_key`] order. Ends after the first
/// error it yields.
pub struct Replay {
    depth: TableStream,
    top: TableStream,
    trades: TableStream,
    failed: bool,
}

impl Replay {
    fn step(&mut self) -> Result<Option<Event>, StorageError> {
        let keys = [
            self.depth.peek()?.map(Event::order_key),
            self.top.peek()?.map(Event::order_key),
            self.trades.peek()?.map(Event::order_key),
        ];
        // Strictly smaller wins, so on equal keys the earlier table goes first (equal keys
        // across tables cannot occur: the table rank is part of the key).
        let mut best: Option<(usize, (i64, u8, u32, i64))> = None;
        for (i, key) in keys.into_iter().enumerate() {
            if let Some(key) = key {
                if best.is_none_or(|(_, b)| key < b) {
                    best = Some((i, key));
                }
            }
        }
        let stream = match best {
            None => return Ok(None),
            Some((0, _)) => &mut self.depth,
            Some((1, _)) => &mut self.top,
            Some(_) => &mut self.trades,
        };
        Ok(stream.run.pop_front())
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
            bids: vec![Level::new(Price::from_raw(100), Qty::from_raw(1))],
            asks: vec![Level::new(Price::from_raw(101), Qty::from_raw(1))],
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
