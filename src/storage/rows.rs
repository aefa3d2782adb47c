//! Typed rows of each table and their conversion to and from Arrow record batches.
//!
//! A batch always belongs to one venue and one market (one partition directory), so the
//! constant `venue` and `market` columns are filled from the arguments, not stored per row.
//! Decoding (`from_batch`) checks the schema and reports the column at fault.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Decimal64Array, DictionaryArray, Int64Array,
    RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::Int32Type;

use super::schema::{schema_difference, stored_schema, Table, BOOK_TOP_LEVELS, DECIMAL_PRECISION};
use super::StorageError;
use crate::model::{
    BookSide, EventKind, EventTime, Level, Price, Qty, RecvTime, TakerSide, TradeKind, SCALE,
};

pub use calibration::{CalibrationRow, FitSettings, SideFit};
pub use top::TopLevels;

mod calibration;
mod top;

/// One row of `depth`: a level's new absolute size after a frame (0 = removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthRow {
    pub ts_event: EventTime,
    pub ts_recv: RecvTime,
    pub conn: u32,
    pub seq: i64,
    pub snapshot: bool,
    pub side: BookSide,
    pub price: Price,
    pub qty: Qty,
}

/// One row of `book_top`: the best levels after a frame was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTopRow {
    pub ts_event: EventTime,
    pub ts_recv: RecvTime,
    pub conn: u32,
    pub seq: i64,
    pub snapshot: bool,
    /// Best first; at most [`BOOK_TOP_LEVELS`] are kept.
    pub bids: TopLevels,
    pub asks: TopLevels,
}

/// One row of `trades`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeRow {
    pub ts_event: EventTime,
    pub ts_recv: RecvTime,
    pub conn: u32,
    pub seq: i64,
    pub trade_id: i64,
    pub side: TakerSide,
    pub price: Price,
    pub qty: Qty,
    pub kind: TradeKind,
}

/// One row of `events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub ts_recv: RecvTime,
    pub conn: u32,
    pub kind: EventKind,
    pub seq: Option<i64>,
    pub expected_seq: Option<i64>,
    pub detail: Option<String>,
}

/// Whether [`Rows::from_batch`] of `table` reads `column`. The frame tables' `venue` and
/// `market` are constant per partition and not part of their rows, so a reader that only
/// decodes rows can skip them ([`super::Listing::scan_columns`]); `from_batch` accepts a
/// batch of the whole table or of exactly these columns.
pub fn decoded(table: Table, column: &str) -> bool {
    match table {
        Table::Depth | Table::BookTop | Table::Trades => !matches!(column, "venue" | "market"),
        Table::Events | Table::Calibration => true,
    }
}

/// Rows of one table, convertible to and from record batches.
pub trait Rows: Sized {
    const TABLE: Table;
    /// Builds a batch of `rows` for one venue and market.
    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch;
    /// Decodes every row of a batch of this table.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError>;
    /// Decodes every row and maps it with `f` into one vector, with no vector of rows in
    /// between: the backtest's replay builds its events this way (issue 22).
    fn from_batch_map<T>(
        batch: &RecordBatch,
        f: impl FnMut(Self) -> T,
    ) -> Result<Vec<T>, StorageError> {
        Ok(Self::from_batch(batch)?.into_iter().map(f).collect())
    }
}

fn finish(table: Table, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(table.schema(), columns)
        .expect("row builders produce exactly the table schema")
}

fn constant(value: &str, len: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(value, len)))
}

fn timestamps(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter_values(values).with_timezone("UTC"))
}

fn decimals(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    let array: Decimal128Array = values.map(|v| v.map(i128::from)).collect();
    Arc::new(
        array
            .with_precision_and_scale(DECIMAL_PRECISION, SCALE as i8)
            .expect("precision 18 and scale 8 are valid"),
    )
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn u32s(values: impl Iterator<Item = u32>) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(values))
}

fn i64s(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values))
}

/// Typed access to a batch's columns, with errors that name the table and column.
struct Columns<'a> {
    table: Table,
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    /// Checks a batch of the whole table, or of the [`decoded`] columns only (a scan that
    /// skipped the others, as the backtest's replay does).
    fn new(table: Table, batch: &'a RecordBatch) -> Result<Self, StorageError> {
        let full = table.schema();
        let expected = if batch.num_columns() == full.fields().len() {
            full
        } else {
            let names = full.fields().iter().enumerate();
            let indices: Vec<usize> =
                names.filter(|(_, f)| decoded(table, f.name())).map(|(i, _)| i).collect();
            Arc::new(
                full.project(&indices)
                    .map_err(|e| StorageError::Schema { table, detail: e.to_string() })?,
            )
        };
        // A scan of stored types reads decimals as Decimal64 and strings as dictionaries:
        // either form of a column is this table's (the accessors below take both).
        if let Some(detail) =
            schema_difference(&stored_schema(&expected), &stored_schema(&batch.schema()))
        {
            return Err(StorageError::Schema { table, detail });
        }
        Ok(Self { table, batch })
    }

    fn get<T: Array + 'static>(&self, name: &str) -> Result<&'a T, StorageError> {
        self.batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(
            || StorageError::Schema {
                table: self.table,
                detail: format!("column {name} is missing or has another type"),
            },
        )
    }

    fn parse<T: std::str::FromStr>(&self, name: &str, text: &str) -> Result<T, StorageError>
    where
        T::Err: std::fmt::Display,
    {
        text.parse().map_err(|e: T::Err| StorageError::Schema {
            table: self.table,
            detail: format!("column {name}: {e}"),
        })
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef, StorageError> {
        self.batch.column_by_name(name).ok_or_else(|| StorageError::Schema {
            table: self.table,
            detail: format!("column {name} is missing"),
        })
    }

    /// A decimal column's values as the raw i64s of [`Price`] and [`Qty`], one per row:
    /// borrowed when the scan read it as `Decimal64` ([`super::Scan::stored_types`]), else
    /// converted from `Decimal128` with a range check. A null slot holds an arbitrary value
    /// (0 after a conversion): callers that allow nulls check the column's null buffer.
    fn raws(&self, name: &str) -> Result<Cow<'a, [i64]>, StorageError> {
        let n = self.batch.num_rows();
        let column = self.column(name)?.as_any();
        if let Some(array) = column.downcast_ref::<Decimal64Array>() {
            return Ok(Cow::Borrowed(&array.values()[..n]));
        }
        let array = self.get::<Decimal128Array>(name)?;
        let values = array.values()[..n].iter().enumerate().map(|(i, v)| match i64::try_from(*v) {
            Ok(v) => Ok(v),
            Err(_) if array.is_null(i) => Ok(0),
            Err(_) => self.raw(name, *v),
        });
        values.collect::<Result<Vec<_>, _>>().map(Cow::Owned)
    }

    /// A string column parsed, one value per row: a dictionary's values are parsed once
    /// each ([`super::Scan::stored_types`]), a plain column's row by row. A value that does
    /// not parse is an error only if a row holds it.
    fn parsed<T>(&self, name: &str) -> Result<Vec<T>, StorageError>
    where
        T: std::str::FromStr + Copy,
        T::Err: std::fmt::Display,
    {
        let n = self.batch.num_rows();
        let column = self.column(name)?.as_any();
        if let Some(array) = column.downcast_ref::<DictionaryArray<Int32Type>>() {
            let values =
                array.values().as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                    StorageError::Schema {
                        table: self.table,
                        detail: format!("column {name} is a dictionary of another type"),
                    }
                })?;
            let parsed: Vec<Result<T, String>> = (0..values.len())
                .map(|i| values.value(i).parse().map_err(|e: T::Err| e.to_string()))
                .collect();
            let keys = &array.keys().values()[..n];
            return keys
                .iter()
                .map(|k| match parsed.get(*k as usize) {
                    Some(Ok(v)) => Ok(*v),
                    Some(Err(e)) => Err(StorageError::Schema {
                        table: self.table,
                        detail: format!("column {name}: {e}"),
                    }),
                    None => Err(StorageError::Schema {
                        table: self.table,
                        detail: format!("column {name}: dictionary key {k} out of range"),
                    }),
                })
                .collect();
        }
        let array = self.get::<StringArray>(name)?;
        (0..n).map(|i| self.parse(name, array.value(i))).collect()
    }

    fn decimal(&self, name: &str, array: &Decimal128Array, i: usize) -> Result<i64, StorageError> {
        self.raw(name, array.value(i))
    }

    /// One raw decimal as the i64 of [`Price`] and [`Qty`].
    #[inline]
    fn raw(&self, name: &str, value: i128) -> Result<i64, StorageError> {
        i64::try_from(value).map_err(|_| StorageError::Schema {
            table: self.table,
            detail: format!("column {name}: value out of the 18-digit range"),
        })
    }
}

fn opt<T: Array>(array: &T, i: usize) -> bool {
    array.is_valid(i)
}

/// The key every venue-frame row starts with, after `venue` and `market`.
#[derive(Clone, Copy)]
struct FrameKey {
    ts_event: EventTime,
    ts_recv: RecvTime,
    conn: u32,
    seq: i64,
}

/// The `venue, market, ts_event, ts_recv, conn, seq` columns of a batch of frame rows.
fn frame_key_columns(
    venue: &str,
    market: &str,
    keys: impl Iterator<Item = FrameKey> + Clone,
) -> Vec<ArrayRef> {
    let n = keys.clone().count();
    vec![
        constant(venue, n),
        constant(market, n),
        timestamps(keys.clone().map(|k| k.ts_event.as_nanos())),
        timestamps(keys.clone().map(|k| k.ts_recv.as_nanos())),
        u32s(keys.clone().map(|k| k.conn)),
        i64s(keys.map(|k| k.seq)),
    ]
}

/// Reads the frame key of each row of a batch (the columns as slices of the batch's length,
/// so the hot decoding loops index them without further checks).
struct FrameKeys<'a> {
    ts_event: &'a [i64],
    ts_recv: &'a [i64],
    conn: &'a [u32],
    seq: &'a [i64],
}

impl<'a> FrameKeys<'a> {
    fn of(c: &Columns<'a>) -> Result<Self, StorageError> {
        let n = c.batch.num_rows();
        Ok(Self {
            ts_event: &c.get::<TimestampNanosecondArray>("ts_event")?.values()[..n],
            ts_recv: &c.get::<TimestampNanosecondArray>("ts_recv")?.values()[..n],
            conn: &c.get::<UInt32Array>("conn")?.values()[..n],
            seq: &c.get::<Int64Array>("seq")?.values()[..n],
        })
    }

    #[inline]
    fn at(&self, i: usize) -> FrameKey {
        FrameKey {
            ts_event: EventTime::from_nanos(self.ts_event[i]),
            ts_recv: RecvTime::from_nanos(self.ts_recv[i]),
            conn: self.conn[i],
            seq: self.seq[i],
        }
    }
}

impl DepthRow {
    fn key(&self) -> FrameKey {
        FrameKey { ts_event: self.ts_event, ts_recv: self.ts_recv, conn: self.conn, seq: self.seq }
    }
}

impl BookTopRow {
    fn key(&self) -> FrameKey {
        FrameKey { ts_event: self.ts_event, ts_recv: self.ts_recv, conn: self.conn, seq: self.seq }
    }
}

impl TradeRow {
    fn key(&self) -> FrameKey {
        FrameKey { ts_event: self.ts_event, ts_recv: self.ts_recv, conn: self.conn, seq: self.seq }
    }
}

impl Rows for DepthRow {
    const TABLE: Table = Table::Depth;

    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch {
        let mut columns = frame_key_columns(venue, market, rows.iter().map(Self::key));
        columns.extend([
            Arc::new(rows.iter().map(|r| Some(r.snapshot)).collect::<BooleanArray>()) as ArrayRef,
            strings(rows.iter().map(|r| r.side.as_str())),
            decimals(rows.iter().map(|r| Some(r.price.raw()))),
            decimals(rows.iter().map(|r| Some(r.qty.raw()))),
        ]);
        finish(Self::TABLE, columns)
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError> {
        Self::from_batch_map(batch, |row| row)
    }

    fn from_batch_map<T>(
        batch: &RecordBatch,
        mut f: impl FnMut(Self) -> T,
    ) -> Result<Vec<T>, StorageError> {
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let n = batch.num_rows();
        let snapshot = c.get::<BooleanArray>("snapshot")?.values();
        let side = &c.parsed::<BookSide>("side")?[..n];
        let price = &c.raws("price")?[..n];
        let qty = &c.raws("qty")?[..n];
        let mut rows = Vec::with_capacity(n);
        for (i, snapshot) in snapshot.iter().enumerate().take(n) {
            let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
            rows.push(f(DepthRow {
                ts_event,
                ts_recv,
                conn,
                seq,
                snapshot,
                side: side[i],
                price: Price::from_raw(price[i]),
                qty: Qty::from_raw(qty[i]),
            }));
        }
        Ok(rows)
    }
}

impl Rows for BookTopRow {
    const TABLE: Table = Table::BookTop;

    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch {
        let mut columns = frame_key_columns(venue, market, rows.iter().map(Self::key));
        columns.push(Arc::new(rows.iter().map(|r| Some(r.snapshot)).collect::<BooleanArray>()));
        for level in 0..BOOK_TOP_LEVELS {
            for side in [BookSide::Bid, BookSide::Ask] {
                let at = |r: &BookTopRow| {
                    let levels = if side == BookSide::Bid { &r.bids } else { &r.asks };
                    levels.get(level).copied()
                };
                columns.push(decimals(rows.iter().map(|r| at(r).map(|l| l.price.raw()))));
                columns.push(decimals(rows.iter().map(|r| at(r).map(|l| l.qty.raw()))));
            }
        }
        finish(Self::TABLE, columns)
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError> {
        Self::from_batch_map(batch, |row| row)
    }

    /// The 80 level columns are read as raw slices, and a column pair without nulls (the
    /// usual case: the book is deeper than the kept levels) skips the null checks: decoding
    /// book_top was the replay's largest cost (issue 22, BENCHMARKS.md).
    fn from_batch_map<T>(
        batch: &RecordBatch,
        mut f: impl FnMut(Self) -> T,
    ) -> Result<Vec<T>, StorageError> {
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let snapshot = c.get::<BooleanArray>("snapshot")?;
        let mut levels = Vec::with_capacity(BOOK_TOP_LEVELS * 2);
        for level in 0..BOOK_TOP_LEVELS {
            for side in [BookSide::Bid, BookSide::Ask] {
                levels.push(LevelColumns::of(&c, side, level)?);
            }
        }
        let n = batch.num_rows();
        let mut rows = Vec::with_capacity(n);
        // A block of rows at a time, filled column by column: each of the 80 columns is read
        // in order over the block, rather than all 80 at once for each row, which missed the
        // cache on every column (a third of decoding book_top, issue 22).
        let mut block: Vec<BookTopRow> = Vec::with_capacity(TOP_BLOCK);
        for start in (0..n).step_by(TOP_BLOCK) {
            let span = start..(start + TOP_BLOCK).min(n);
            block.extend(span.clone().map(|i| {
                let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
                BookTopRow {
                    ts_event,
                    ts_recv,
                    conn,
                    seq,
                    snapshot: snapshot.value(i),
                    bids: TopLevels::new(),
                    asks: TopLevels::new(),
                }
            }));
            for column in &levels {
                for (row, i) in block.iter_mut().zip(span.clone()) {
                    if let Some(level) = column.at(i) {
                        match column.side {
                            BookSide::Bid => row.bids.push(level),
                            BookSide::Ask => row.asks.push(level),
                        };
                    }
                }
            }
            rows.extend(block.drain(..).map(&mut f));
        }
        Ok(rows)
    }
}

/// Rows of a `book_top` batch decoded together, column by column.
const TOP_BLOCK: usize = 32;

/// One level of one side of a `book_top` batch: its price and size columns.
struct LevelColumns<'a> {
    side: BookSide,
    price: Cow<'a, [i64]>,
    qty: Cow<'a, [i64]>,
    /// The columns' null buffers; `None` when neither has a null.
    nulls: Option<(Option<&'a NullBuffer>, Option<&'a NullBuffer>)>,
}

impl<'a> LevelColumns<'a> {
    fn of(c: &Columns<'a>, side: BookSide, level: usize) -> Result<Self, StorageError> {
        let price_name = format!("{side}_price_{level}");
        let qty_name = format!("{side}_qty_{level}");
        let (price_column, qty_column) = (c.column(&price_name)?, c.column(&qty_name)?);
        let nulls = (price_column.null_count() > 0 || qty_column.null_count() > 0)
            .then(|| (price_column.nulls(), qty_column.nulls()));
        Ok(Self { side, price: c.raws(&price_name)?, qty: c.raws(&qty_name)?, nulls })
    }

    /// Row `i`'s level, if both its price and size are set.
    #[inline]
    fn at(&self, i: usize) -> Option<Level> {
        if let Some((price, qty)) = self.nulls {
            let valid = |n: Option<&NullBuffer>| n.is_none_or(|n| n.is_valid(i));
            if !(valid(price) && valid(qty)) {
                return None;
            }
        }
        Some(Level::new(Price::from_raw(self.price[i]), Qty::from_raw(self.qty[i])))
    }
}

impl Rows for TradeRow {
    const TABLE: Table = Table::Trades;

    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch {
        let mut columns = frame_key_columns(venue, market, rows.iter().map(Self::key));
        columns.extend([
            i64s(rows.iter().map(|r| r.trade_id)),
            strings(rows.iter().map(|r| r.side.as_str())),
            decimals(rows.iter().map(|r| Some(r.price.raw()))),
            decimals(rows.iter().map(|r| Some(r.qty.raw()))),
            strings(rows.iter().map(|r| r.kind.as_str())),
        ]);
        finish(Self::TABLE, columns)
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError> {
        Self::from_batch_map(batch, |row| row)
    }

    fn from_batch_map<T>(
        batch: &RecordBatch,
        mut f: impl FnMut(Self) -> T,
    ) -> Result<Vec<T>, StorageError> {
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let n = batch.num_rows();
        let trade_id = &c.get::<Int64Array>("trade_id")?.values()[..n];
        let side = &c.parsed::<TakerSide>("side")?[..n];
        let price = &c.raws("price")?[..n];
        let qty = &c.raws("qty")?[..n];
        let kind = &c.parsed::<TradeKind>("kind")?[..n];
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
            rows.push(f(TradeRow {
                ts_event,
                ts_recv,
                conn,
                seq,
                trade_id: trade_id[i],
                side: side[i],
                price: Price::from_raw(price[i]),
                qty: Qty::from_raw(qty[i]),
                kind: kind[i],
            }));
        }
        Ok(rows)
    }
}

impl Rows for EventRow {
    const TABLE: Table = Table::Events;

    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch {
        let n = rows.len();
        finish(
            Self::TABLE,
            vec![
                constant(venue, n),
                constant(market, n),
                timestamps(rows.iter().map(|r| r.ts_recv.as_nanos())),
                u32s(rows.iter().map(|r| r.conn)),
                strings(rows.iter().map(|r| r.kind.as_str())),
                Arc::new(rows.iter().map(|r| r.seq).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.expected_seq).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.detail.as_deref()).collect::<StringArray>()),
            ],
        )
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError> {
        let c = Columns::new(Self::TABLE, batch)?;
        let ts_recv = c.get::<TimestampNanosecondArray>("ts_recv")?;
        let conn = c.get::<UInt32Array>("conn")?;
        let kind = c.get::<StringArray>("kind")?;
        let seq = c.get::<Int64Array>("seq")?;
        let expected = c.get::<Int64Array>("expected_seq")?;
        let detail = c.get::<StringArray>("detail")?;
        (0..batch.num_rows())
            .map(|i| {
                Ok(EventRow {
                    ts_recv: RecvTime::from_nanos(ts_recv.value(i)),
                    conn: conn.value(i),
                    kind: c.parse("kind", kind.value(i))?,
                    seq: opt(seq, i).then(|| seq.value(i)),
                    expected_seq: opt(expected, i).then(|| expected.value(i)),
                    detail: opt(detail, i).then(|| detail.value(i).to_owned()),
                })
            })
            .collect()
    }
}
