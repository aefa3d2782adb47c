//! Typed rows of each table and their conversion to and from Arrow record batches.
//!
//! A batch always belongs to one venue and one market (one partition directory), so the
//! constant `venue` and `market` columns are filled from the arguments, not stored per row.
//! Decoding (`from_batch`) checks the schema and reports the column at fault.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array,
};

use super::schema::{schema_difference, Table, BOOK_TOP_LEVELS, DECIMAL_PRECISION};
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
        if let Some(detail) = schema_difference(&expected, &batch.schema()) {
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

    fn decimal(&self, name: &str, array: &Decimal128Array, i: usize) -> Result<i64, StorageError> {
        i64::try_from(array.value(i)).map_err(|_| StorageError::Schema {
            table: self.table,
            detail: format!("column {name}: value out of the 18-digit range"),
        })
    }

    fn opt_decimal(
        &self,
        name: &str,
        array: &Decimal128Array,
        i: usize,
    ) -> Result<Option<i64>, StorageError> {
        if array.is_null(i) {
            Ok(None)
        } else {
            self.decimal(name, array, i).map(Some)
        }
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

/// Reads the frame key of each row of a batch.
struct FrameKeys<'a> {
    ts_event: &'a TimestampNanosecondArray,
    ts_recv: &'a TimestampNanosecondArray,
    conn: &'a UInt32Array,
    seq: &'a Int64Array,
}

impl<'a> FrameKeys<'a> {
    fn of(c: &Columns<'a>) -> Result<Self, StorageError> {
        Ok(Self {
            ts_event: c.get("ts_event")?,
            ts_recv: c.get("ts_recv")?,
            conn: c.get("conn")?,
            seq: c.get("seq")?,
        })
    }

    fn at(&self, i: usize) -> FrameKey {
        FrameKey {
            ts_event: EventTime::from_nanos(self.ts_event.value(i)),
            ts_recv: RecvTime::from_nanos(self.ts_recv.value(i)),
            conn: self.conn.value(i),
            seq: self.seq.value(i),
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
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let snapshot = c.get::<BooleanArray>("snapshot")?;
        let side = c.get::<StringArray>("side")?;
        let price = c.get::<Decimal128Array>("price")?;
        let qty = c.get::<Decimal128Array>("qty")?;
        (0..batch.num_rows())
            .map(|i| {
                let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
                Ok(DepthRow {
                    ts_event,
                    ts_recv,
                    conn,
                    seq,
                    snapshot: snapshot.value(i),
                    side: c.parse("side", side.value(i))?,
                    price: Price::from_raw(c.decimal("price", price, i)?),
                    qty: Qty::from_raw(c.decimal("qty", qty, i)?),
                })
            })
            .collect()
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
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let snapshot = c.get::<BooleanArray>("snapshot")?;
        let mut level_columns = Vec::with_capacity(BOOK_TOP_LEVELS * 2);
        for level in 0..BOOK_TOP_LEVELS {
            for side in ["bid", "ask"] {
                let price = format!("{side}_price_{level}");
                let qty = format!("{side}_qty_{level}");
                let arrays = (c.get::<Decimal128Array>(&price)?, c.get::<Decimal128Array>(&qty)?);
                level_columns.push((side, price, qty, arrays));
            }
        }
        (0..batch.num_rows())
            .map(|i| {
                let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
                let mut row = BookTopRow {
                    ts_event,
                    ts_recv,
                    conn,
                    seq,
                    snapshot: snapshot.value(i),
                    bids: TopLevels::new(),
                    asks: TopLevels::new(),
                };
                for (side, price_name, qty_name, (price, qty)) in &level_columns {
                    let p = c.opt_decimal(price_name, price, i)?;
                    let q = c.opt_decimal(qty_name, qty, i)?;
                    if let (Some(p), Some(q)) = (p, q) {
                        let levels = if *side == "bid" { &mut row.bids } else { &mut row.asks };
                        levels.push(Level::new(Price::from_raw(p), Qty::from_raw(q)));
                    }
                }
                Ok(row)
            })
            .collect()
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
        let c = Columns::new(Self::TABLE, batch)?;
        let keys = FrameKeys::of(&c)?;
        let trade_id = c.get::<Int64Array>("trade_id")?;
        let side = c.get::<StringArray>("side")?;
        let price = c.get::<Decimal128Array>("price")?;
        let qty = c.get::<Decimal128Array>("qty")?;
        let kind = c.get::<StringArray>("kind")?;
        (0..batch.num_rows())
            .map(|i| {
                let FrameKey { ts_event, ts_recv, conn, seq } = keys.at(i);
                Ok(TradeRow {
                    ts_event,
                    ts_recv,
                    conn,
                    seq,
                    trade_id: trade_id.value(i),
                    side: c.parse("side", side.value(i))?,
                    price: Price::from_raw(c.decimal("price", price, i)?),
                    qty: Qty::from_raw(c.decimal("qty", qty, i)?),
                    kind: c.parse("kind", kind.value(i))?,
                })
            })
            .collect()
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
