//! Row cursors over the batches of `book_top`, `depth` and `trades`, scanned in their stored
//! types (`Scan::stored_types`: decimals as the INT64 they are, strings as dictionaries):
//! typed access to the columns verify reads (raw i64 prices, no per-row allocation), a check that rows arrive in
//! (ts_recv, seq) order, read errors turned into findings, and part progress.
//!
//! Cursors only read; deciding what a row means is the checks' job.

use arrow::array::{
    Array, BooleanArray, Decimal64Array, DictionaryArray, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampNanosecondArray, UInt32Array,
};
use arrow::datatypes::Int32Type;
use indicatif::ProgressBar;

use crate::book::RawLevel;
use crate::storage::{StorageError, Table, BOOK_TOP_LEVELS};
use crate::verify::findings::{Findings, Key, Kind};

/// Batches of one table, in (ts_recv, seq) order.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, StorageError>>>;

/// Read errors past this many in one table end its pass (the rest is unreadable anyway).
const MAX_READ_ERRORS: u32 = 100;

/// Advances a progress bar by one step per part, estimated from rows read.
#[derive(Debug, Default)]
pub struct PartTicker {
    bar: Option<ProgressBar>,
    /// Cumulative row counts at the end of each part, in listing order.
    ends: Vec<u64>,
    next: usize,
    rows: u64,
}

impl PartTicker {
    pub fn new(bar: Option<ProgressBar>, part_rows: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        let ends = part_rows
            .into_iter()
            .map(|r| {
                total += r;
                total
            })
            .collect();
        Self { bar, ends, next: 0, rows: 0 }
    }

    fn advance(&mut self, rows: u64) {
        self.rows += rows;
        while self.next < self.ends.len() && self.rows >= self.ends[self.next] {
            self.next += 1;
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.inc((self.ends.len() - self.next) as u64);
        }
        self.next = self.ends.len();
    }
}

/// One table's batches with its order check and error handling.
pub struct Source {
    table: Table,
    batches: Batches,
    errors: u32,
    last: (i64, i64),
    ticker: PartTicker,
    pub rows: u64,
}

impl Source {
    pub fn new(table: Table, batches: Batches, ticker: PartTicker) -> Self {
        Self { table, batches, errors: 0, last: (i64::MIN, i64::MIN), ticker, rows: 0 }
    }

    /// The next non-empty batch; read errors become findings and the pass goes on.
    fn next_batch(&mut self, f: &mut Findings) -> Option<RecordBatch> {
        loop {
            match self.batches.next() {
                None => {
                    self.ticker.finish();
                    return None;
                }
                Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                Some(Ok(batch)) => {
                    self.rows += batch.num_rows() as u64;
                    self.ticker.advance(batch.num_rows() as u64);
                    return Some(batch);
                }
                Some(Err(e)) => {
                    let table = self.table;
                    let keys = error_path(&e).map(|p| vec![Key::File(p)]).unwrap_or_default();
                    f.add(Kind::UnreadablePart, || format!("{table}: {e}"), keys);
                    self.errors += 1;
                    if self.errors >= MAX_READ_ERRORS {
                        self.ticker.finish();
                        return None;
                    }
                }
            }
        }
    }

    /// Checks that a row does not sort before the one read before it.
    #[inline]
    fn order(&mut self, ts_recv: i64, seq: i64, conn: u32, f: &mut Findings) {
        let key = (ts_recv, seq);
        if key < self.last {
            let (table, last) = (self.table, self.last);
            f.add(
                Kind::UnsortedPart,
                || {
                    format!(
                        "{table} row conn {conn} seq {seq} at ts_recv {} comes after a row at ts_recv {} seq {}",
                        fmt_ts(ts_recv),
                        fmt_ts(last.0),
                        last.1
                    )
                },
                vec![Key::Frame { table, conn, seq, ts_recv }],
            );
        }
        self.last = key;
    }
}

/// The file a storage error names, if any.
fn error_path(e: &StorageError) -> Option<std::path::PathBuf> {
    match e {
        StorageError::Io { path, .. }
        | StorageError::Parquet { path, .. }
        | StorageError::Read { path, .. } => Some(path.clone()),
        _ => None,
    }
}

/// A timestamp for messages (RFC 3339, UTC).
pub fn fmt_ts(nanos: i64) -> String {
    crate::model::RecvTime::from_nanos(nanos).to_string()
}

fn column<'a, T: Array + 'static>(
    table: Table,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a T, StorageError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| {
        StorageError::Schema {
            table,
            detail: format!("column {name} is missing or has another type"),
        }
    })
}

/// A side column: the dictionary keys of its rows, and what each dictionary value means
/// (the scan reads stored types, `Scan::stored_types`: strings as their dictionaries, so a
/// row's side is a key, and each distinct text is looked at once per batch).
struct Sides {
    keys: Int32Array,
    /// Per dictionary value: (the first side, a valid side at all).
    meaning: Vec<(bool, bool)>,
}

impl Sides {
    fn of(
        table: Table,
        batch: &RecordBatch,
        name: &str,
        classify: fn(&[u8]) -> (bool, bool),
    ) -> Result<Self, StorageError> {
        let column = column::<DictionaryArray<Int32Type>>(table, batch, name)?;
        let values = column.values().as_any().downcast_ref::<StringArray>().ok_or_else(|| {
            StorageError::Schema {
                table,
                detail: format!("column {name} is a dictionary of another type"),
            }
        })?;
        let meaning = (0..values.len()).map(|i| classify(values.value(i).as_bytes())).collect();
        Ok(Self { keys: column.keys().clone(), meaning })
    }

    #[inline]
    fn at(&self, i: usize) -> (bool, bool) {
        let key = usize::try_from(self.keys.value(i)).unwrap_or(usize::MAX);
        self.meaning.get(key).copied().unwrap_or((false, false))
    }
}

/// The frame key columns every frame table starts with.
struct KeyColumns {
    ts_event: TimestampNanosecondArray,
    ts_recv: TimestampNanosecondArray,
    conn: UInt32Array,
    seq: Int64Array,
}

impl KeyColumns {
    fn of(table: Table, batch: &RecordBatch) -> Result<Self, StorageError> {
        Ok(Self {
            ts_event: column::<TimestampNanosecondArray>(table, batch, "ts_event")?.clone(),
            ts_recv: column::<TimestampNanosecondArray>(table, batch, "ts_recv")?.clone(),
            conn: column::<UInt32Array>(table, batch, "conn")?.clone(),
            seq: column::<Int64Array>(table, batch, "seq")?.clone(),
        })
    }
}

/// The top levels a `book_top` row recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Top {
    pub bids: [RawLevel; BOOK_TOP_LEVELS],
    pub asks: [RawLevel; BOOK_TOP_LEVELS],
    pub n_bids: usize,
    pub n_asks: usize,
    /// A null level before a non-null one.
    pub holes: bool,
}

impl Top {
    pub const EMPTY: Top = Top {
        bids: [(0, 0); BOOK_TOP_LEVELS],
        asks: [(0, 0); BOOK_TOP_LEVELS],
        n_bids: 0,
        n_asks: 0,
        holes: false,
    };

    pub fn level(&self, bid: bool, i: usize) -> Option<RawLevel> {
        let (levels, n) = if bid { (&self.bids, self.n_bids) } else { (&self.asks, self.n_asks) };
        (i < n).then(|| levels[i])
    }
}

/// One book frame as `book_top` recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    pub ts_event: i64,
    pub ts_recv: i64,
    pub conn: u32,
    pub seq: i64,
    pub snapshot: bool,
    pub top: Top,
}

impl FrameHead {
    pub const EMPTY: FrameHead =
        FrameHead { ts_event: 0, ts_recv: 0, conn: 0, seq: 0, snapshot: false, top: Top::EMPTY };
}

/// The columns of one `book_top` batch.
struct TopColumns {
    keys: KeyColumns,
    snapshot: BooleanArray,
    /// Per level: bid price, bid qty, ask price, ask qty.
    levels: Vec<[Decimal64Array; 4]>,
    /// No level column has a null in this batch (a book deeper than the top N): rows are
    /// read without validity checks, from [`TopCursor::rows`].
    dense: bool,
}

/// One dense `book_top` row, row-major: the bid levels, then the ask levels.
type TopRow = [RawLevel; 2 * BOOK_TOP_LEVELS];

/// Rows transposed per chunk: 4 columns × 20 levels of this many rows stay in L2 while
/// they are read, and each row is written once.
const TRANSPOSE_ROWS: usize = 256;

/// Copies the level columns of a dense batch into `rows`, one [`TopRow`] per row. Reading
/// 80 columns per frame in place touches 80 cache lines a frame, more streams than the
/// prefetcher follows; this reads each column sequentially instead.
fn transpose(levels: &[[Decimal64Array; 4]], n: usize, rows: &mut Vec<TopRow>) {
    rows.clear();
    rows.resize(n, [(0, 0); 2 * BOOK_TOP_LEVELS]);
    for start in (0..n).step_by(TRANSPOSE_ROWS) {
        let chunk = &mut rows[start..(start + TRANSPOSE_ROWS).min(n)];
        for (l, c) in levels.iter().enumerate() {
            let [bp, bq, ap, aq] = c.each_ref().map(|a| &a.values()[start..start + chunk.len()]);
            for (k, row) in chunk.iter_mut().enumerate() {
                row[l] = (bp[k], bq[k]);
                row[BOOK_TOP_LEVELS + l] = (ap[k], aq[k]);
            }
        }
    }
}

/// Reads `book_top` rows one frame at a time.
pub struct TopCursor {
    source: Source,
    batch: Option<TopColumns>,
    /// The current batch's levels row-major, when it is dense.
    rows: Vec<TopRow>,
    pos: usize,
    len: usize,
}

impl TopCursor {
    pub fn new(source: Source) -> Self {
        Self { source, batch: None, rows: Vec::new(), pos: 0, len: 0 }
    }

    pub fn rows(&self) -> u64 {
        self.source.rows
    }

    fn load(&mut self, f: &mut Findings) -> Result<bool, StorageError> {
        let Some(batch) = self.source.next_batch(f) else { return Ok(false) };
        let t = Table::BookTop;
        let keys = KeyColumns::of(t, &batch)?;
        let snapshot = column::<BooleanArray>(t, &batch, "snapshot")?.clone();
        let mut levels = Vec::with_capacity(BOOK_TOP_LEVELS);
        for i in 0..BOOK_TOP_LEVELS {
            let get = |name: String| column::<Decimal64Array>(t, &batch, &name).cloned();
            levels.push([
                get(format!("bid_price_{i}"))?,
                get(format!("bid_qty_{i}"))?,
                get(format!("ask_price_{i}"))?,
                get(format!("ask_qty_{i}"))?,
            ]);
        }
        let dense = levels.iter().flatten().all(|c| c.null_count() == 0);
        self.len = batch.num_rows();
        if dense {
            transpose(&levels, self.len, &mut self.rows);
        }
        self.pos = 0;
        self.batch = Some(TopColumns { keys, snapshot, levels, dense });
        Ok(true)
    }

    /// Reads the next frame into `head` (in place: a frame is over 600 bytes); false at the
    /// end of the table.
    pub fn next_into(
        &mut self,
        head: &mut FrameHead,
        f: &mut Findings,
    ) -> Result<bool, StorageError> {
        while self.pos >= self.len {
            if !self.load(f)? {
                return Ok(false);
            }
        }
        let Some(b) = &self.batch else { return Ok(false) };
        let i = self.pos;
        self.pos += 1;
        head.ts_event = b.keys.ts_event.value(i);
        head.ts_recv = b.keys.ts_recv.value(i);
        head.conn = b.keys.conn.value(i);
        head.seq = b.keys.seq.value(i);
        head.snapshot = b.snapshot.value(i);
        let top = &mut head.top;
        if b.dense {
            let (bids, asks) = self.rows[i].split_at(BOOK_TOP_LEVELS);
            top.bids.copy_from_slice(bids);
            top.asks.copy_from_slice(asks);
            top.n_bids = b.levels.len();
            top.n_asks = b.levels.len();
            top.holes = false;
        } else {
            top.n_bids = 0;
            top.n_asks = 0;
            top.holes = false;
            let mut gap = [false, false];
            for columns in &b.levels {
                for (s, bid) in [(0usize, true), (1, false)] {
                    let (price, qty) = (&columns[2 * s], &columns[2 * s + 1]);
                    if price.is_valid(i) && qty.is_valid(i) {
                        top.holes |= gap[s];
                        let level = (price.value(i), qty.value(i));
                        if bid {
                            top.bids[top.n_bids] = level;
                            top.n_bids += 1;
                        } else {
                            top.asks[top.n_asks] = level;
                            top.n_asks += 1;
                        }
                    } else {
                        gap[s] = true;
                    }
                }
            }
        }
        self.source.order(head.ts_recv, head.seq, head.conn, f);
        Ok(true)
    }
}

/// One `depth` row, as the replay needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthLevel {
    pub bid: bool,
    /// False when `side` is neither `bid` nor `ask`.
    pub side_ok: bool,
    pub price: i64,
    pub qty: i64,
}

struct DepthColumns {
    keys: KeyColumns,
    side: Sides,
    price: Decimal64Array,
    qty: Decimal64Array,
}

/// Reads `depth` rows one at a time.
pub struct DepthCursor {
    source: Source,
    batch: Option<DepthColumns>,
    pos: usize,
    len: usize,
    checked: usize,
}

impl DepthCursor {
    pub fn new(source: Source) -> Self {
        Self { source, batch: None, pos: 0, len: 0, checked: 0 }
    }

    pub fn rows(&self) -> u64 {
        self.source.rows
    }

    /// The key (ts_recv, seq, conn) of the next row, or `None` at the end.
    #[inline]
    pub fn peek(&mut self, f: &mut Findings) -> Result<Option<(i64, i64, u32)>, StorageError> {
        while self.pos >= self.len {
            let Some(batch) = self.source.next_batch(f) else { return Ok(None) };
            let t = Table::Depth;
            self.batch = Some(DepthColumns {
                keys: KeyColumns::of(t, &batch)?,
                side: Sides::of(t, &batch, "side", |s| (s == b"bid", s == b"bid" || s == b"ask"))?,
                price: column::<Decimal64Array>(t, &batch, "price")?.clone(),
                qty: column::<Decimal64Array>(t, &batch, "qty")?.clone(),
            });
            self.len = batch.num_rows();
            self.pos = 0;
            self.checked = usize::MAX;
        }
        let Some(b) = &self.batch else { return Ok(None) };
        let i = self.pos;
        let key = (b.keys.ts_recv.value(i), b.keys.seq.value(i), b.keys.conn.value(i));
        if self.checked != i {
            self.checked = i;
            self.source.order(key.0, key.1, key.2, f);
        }
        Ok(Some(key))
    }

    /// Consumes the row [`DepthCursor::peek`] returned.
    #[inline]
    pub fn take(&mut self) -> Option<DepthLevel> {
        let b = self.batch.as_ref()?;
        let i = self.pos;
        if i >= self.len {
            return None;
        }
        self.pos += 1;
        let (bid, side_ok) = b.side.at(i);
        Some(DepthLevel { bid, side_ok, price: b.price.value(i), qty: b.qty.value(i) })
    }
}

/// One `trades` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeRaw {
    pub ts_event: i64,
    pub ts_recv: i64,
    pub conn: u32,
    pub seq: i64,
    pub trade_id: i64,
    /// The taker sold (hit the bids).
    pub sell: bool,
    pub side_ok: bool,
    pub price: i64,
    pub qty: i64,
}

struct TradeColumns {
    keys: KeyColumns,
    trade_id: Int64Array,
    side: Sides,
    price: Decimal64Array,
    qty: Decimal64Array,
}

/// Reads `trades` rows one at a time.
pub struct TradeCursor {
    source: Source,
    batch: Option<TradeColumns>,
    pos: usize,
    len: usize,
}

impl TradeCursor {
    pub fn new(source: Source) -> Self {
        Self { source, batch: None, pos: 0, len: 0 }
    }

    pub fn rows(&self) -> u64 {
        self.source.rows
    }

    /// The next trade received before `before` (all remaining with `None`).
    pub fn next_before(
        &mut self,
        before: Option<i64>,
        f: &mut Findings,
    ) -> Result<Option<TradeRaw>, StorageError> {
        while self.pos >= self.len {
            let Some(batch) = self.source.next_batch(f) else { return Ok(None) };
            let t = Table::Trades;
            self.batch = Some(TradeColumns {
                keys: KeyColumns::of(t, &batch)?,
                trade_id: column::<Int64Array>(t, &batch, "trade_id")?.clone(),
                side: Sides::of(t, &batch, "side", |s| {
                    (s == b"sell", s == b"sell" || s == b"buy")
                })?,
                price: column::<Decimal64Array>(t, &batch, "price")?.clone(),
                qty: column::<Decimal64Array>(t, &batch, "qty")?.clone(),
            });
            self.len = batch.num_rows();
            self.pos = 0;
        }
        let Some(b) = &self.batch else { return Ok(None) };
        let i = self.pos;
        let ts_recv = b.keys.ts_recv.value(i);
        if before.is_some_and(|t| ts_recv >= t) {
            return Ok(None);
        }
        self.pos += 1;
        let (sell, side_ok) = b.side.at(i);
        let trade = TradeRaw {
            ts_event: b.keys.ts_event.value(i),
            ts_recv,
            conn: b.keys.conn.value(i),
            seq: b.keys.seq.value(i),
            trade_id: b.trade_id.value(i),
            sell,
            side_ok,
            price: b.price.value(i),
            qty: b.qty.value(i),
        };
        self.source.order(trade.ts_recv, trade.seq, trade.conn, f);
        Ok(Some(trade))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Level, Price, Qty, RecvTime};
    use crate::storage::{stored_batch, BookTopRow, Rows};

    fn row(seq: i64, levels: i64) -> BookTopRow {
        let side = |sign: i64| {
            (0..levels)
                .map(|l| Level::new(Price::from_raw(1000 + sign * l), Qty::from_raw(seq + l)))
                .collect()
        };
        BookTopRow {
            ts_event: EventTime::from_nanos(seq),
            ts_recv: RecvTime::from_nanos(seq),
            conn: 1,
            seq,
            snapshot: seq == 1,
            bids: side(-1),
            asks: side(1),
        }
    }

    #[test]
    fn dense_and_sparse_batches_read_the_same_levels() {
        // (levels per side in every row: 25 fills all 20 columns, 3 leaves nulls)
        for levels in [25, 3, 0] {
            let rows: Vec<BookTopRow> = (1..=4).map(|s| row(s, levels)).collect();
            let batch = stored_batch(&BookTopRow::to_batch("v", "m", &rows)).unwrap();
            let source = Source::new(
                Table::BookTop,
                Box::new(vec![Ok(batch)].into_iter()),
                PartTicker::default(),
            );
            let mut cursor = TopCursor::new(source);
            let mut f = Findings::new(1);
            let mut head = FrameHead::EMPTY;
            for want in &rows {
                assert!(cursor.next_into(&mut head, &mut f).unwrap());
                assert_eq!((head.seq, head.snapshot), (want.seq, want.snapshot));
                for (bid, levels) in [(true, &want.bids), (false, &want.asks)] {
                    for i in 0..BOOK_TOP_LEVELS {
                        let expected = levels.get(i).map(|l| (l.price.raw(), l.qty.raw()));
                        assert_eq!(head.top.level(bid, i), expected, "{levels:?} level {i}");
                    }
                }
                assert!(!head.top.holes);
            }
            assert!(!cursor.next_into(&mut head, &mut f).unwrap());
        }
    }
}
