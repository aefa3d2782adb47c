//! The five tables and their Arrow schemas: the contract between every mdkit command.
//!
//! `schemas/<table>.md` documents each column (type, unit, nullability, meaning) and the sort
//! order; a test holds these schemas equal to those documents, so change both together and
//! bump [`SCHEMA_VERSION`] when a change is not additive.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

use crate::model::SCALE;

/// Version of the table layout, stored in every part's key-value metadata.
pub const SCHEMA_VERSION: u32 = 1;
/// Key-value metadata keys written into every Parquet part.
pub const META_SCHEMA_VERSION: &str = "mdkit.schema_version";
pub const META_MDKIT_VERSION: &str = "mdkit.version";
pub const META_TABLE: &str = "mdkit.table";

/// Precision of every price and quantity column: 18 digits fit Parquet's INT64 decimal.
pub const DECIMAL_PRECISION: u8 = 18;
/// Levels per side in `book_top`.
pub const BOOK_TOP_LEVELS: usize = 20;

/// One of mdkit's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// One row per level change of an L2 book (snapshot rows flagged).
    Depth,
    /// One row per book frame, after it was applied: the top levels of both sides.
    BookTop,
    /// One row per trade.
    Trades,
    /// One row per connection event (connect, gap, stale, …).
    Events,
    /// One row per calibration window.
    Calibration,
}

impl Table {
    pub const ALL: [Table; 5] =
        [Table::Depth, Table::BookTop, Table::Trades, Table::Events, Table::Calibration];

    /// The table's name: its directory under the data root and its SQL name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Depth => "depth",
            Table::BookTop => "book_top",
            Table::Trades => "trades",
            Table::Events => "events",
            Table::Calibration => "calibration",
        }
    }

    /// The column that orders rows and names the `date=` partition (UTC).
    pub const fn time_column(self) -> &'static str {
        match self {
            Table::Calibration => "window_end",
            _ => "ts_recv",
        }
    }

    /// The tie-breaker after the time column, if the table has one.
    pub const fn seq_column(self) -> Option<&'static str> {
        match self {
            Table::Depth | Table::BookTop | Table::Trades => Some("seq"),
            Table::Events | Table::Calibration => None,
        }
    }

    /// Whether rows carry a connection number (used in part file names).
    pub const fn has_conn(self) -> bool {
        !matches!(self, Table::Calibration)
    }

    /// The Arrow schema of a part file (partition values included as columns).
    pub fn schema(self) -> SchemaRef {
        let mut fields = vec![utf8("venue", false), utf8("market", false)];
        match self {
            Table::Depth => {
                fields.extend(frame_key());
                fields.extend([
                    Field::new("snapshot", DataType::Boolean, false),
                    utf8("side", false),
                    decimal("price", false),
                    decimal("qty", false),
                ]);
            }
            Table::BookTop => {
                fields.extend(frame_key());
                fields.push(Field::new("snapshot", DataType::Boolean, false));
                for i in 0..BOOK_TOP_LEVELS {
                    fields.extend([
                        decimal(&format!("bid_price_{i}"), true),
                        decimal(&format!("bid_qty_{i}"), true),
                        decimal(&format!("ask_price_{i}"), true),
                        decimal(&format!("ask_qty_{i}"), true),
                    ]);
                }
            }
            Table::Trades => {
                fields.extend(frame_key());
                fields.extend([
                    Field::new("trade_id", DataType::Int64, false),
                    utf8("side", false),
                    decimal("price", false),
                    decimal("qty", false),
                    utf8("kind", false),
                ]);
            }
            Table::Events => {
                fields.extend([
                    timestamp("ts_recv", false),
                    Field::new("conn", DataType::UInt32, false),
                    utf8("kind", false),
                    Field::new("seq", DataType::Int64, true),
                    Field::new("expected_seq", DataType::Int64, true),
                    utf8("detail", true),
                ]);
            }
            Table::Calibration => {
                fields.extend([
                    timestamp("window_start", false),
                    timestamp("window_end", false),
                    Field::new("sigma", DataType::Float64, true),
                    Field::new("mid_samples", DataType::Int64, false),
                    Field::new("trades", DataType::Int64, false),
                ]);
                for side in ["bid", "ask"] {
                    fields.extend([
                        Field::new(format!("kappa_{side}"), DataType::Float64, true),
                        Field::new(format!("a_{side}"), DataType::Float64, true),
                        Field::new(format!("r2_{side}"), DataType::Float64, true),
                        Field::new(format!("points_{side}"), DataType::Int64, false),
                        Field::new(format!("orders_{side}"), DataType::Int64, false),
                        utf8(&format!("reason_{side}"), true),
                        utf8(&format!("quality_{side}"), true),
                    ]);
                }
                // Added after the first release, so nullable: older parts read as null.
                fields.extend([
                    timestamp("written_at", true),
                    utf8("grid", true),
                    decimal("depth_start", true),
                    decimal("depth_step", true),
                    Field::new("depth_levels", DataType::Int64, true),
                    Field::new("min_count", DataType::Int64, true),
                    Field::new("sample_interval_ns", DataType::Int64, true),
                ]);
            }
        }
        Arc::new(Schema::new(fields))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Table {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Table::ALL.into_iter().find(|t| t.name() == text).ok_or_else(|| {
            format!("{text:?} is not a table (depth, book_top, trades, events, calibration)")
        })
    }
}

/// `ts_event, ts_recv, conn, seq`: what orders and identifies a venue frame.
fn frame_key() -> [Field; 4] {
    [
        timestamp("ts_event", false),
        timestamp("ts_recv", false),
        Field::new("conn", DataType::UInt32, false),
        Field::new("seq", DataType::Int64, false),
    ]
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn decimal(name: &str, nullable: bool) -> Field {
    Field::new(name, decimal_type(), nullable)
}

fn timestamp(name: &str, nullable: bool) -> Field {
    Field::new(name, timestamp_type(), nullable)
}

/// `Decimal128(18, 8)`: every price and quantity column.
pub fn decimal_type() -> DataType {
    DataType::Decimal128(DECIMAL_PRECISION, SCALE as i8)
}

/// `Timestamp(Nanosecond, "UTC")`: every timestamp column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The label the schema documents use for a type (stable across arrow releases).
pub fn type_label(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 => "Utf8".into(),
        DataType::Boolean => "Boolean".into(),
        DataType::Int64 => "Int64".into(),
        DataType::UInt32 => "UInt32".into(),
        DataType::Float64 => "Float64".into(),
        DataType::Date32 => "Date32".into(),
        DataType::Decimal128(p, s) => format!("Decimal128({p}, {s})"),
        DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) => format!("Timestamp(ns, {tz})"),
        other => format!("{other:?}"),
    }
}

/// How a scan of stored types ([`super::Scan::stored_types`]) reads a column stored as `data_type`:
/// a decimal of at most 18 digits (stored as INT64) as `Decimal64`, the same integers with no
/// widening to i128, and a string as a dictionary, as parquet stores it, with no per-row copy
/// (issue 22: both were a tenth of the replay's decoding). Other types are read as they are.
pub fn stored_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Decimal128(p, s) if *p <= 18 => DataType::Decimal64(*p, *s),
        DataType::Utf8 => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        other => other.clone(),
    }
}

/// `schema` with every column's type [`stored_type`] (names, nullability and metadata kept).
pub fn stored_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(stored_type(f.data_type())))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch`'s columns, in order, cast to the types of `schema`'s (which names them).
pub fn cast_batch(batch: &RecordBatch, schema: SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

/// Whether two schemas have the same columns (names, types, nullability, order); metadata
/// is ignored. Returns the first difference, worded for a user.
pub fn schema_difference(expected: &Schema, found: &Schema) -> Option<String> {
    for (i, want) in expected.fields().iter().enumerate() {
        let Some(have) = found.fields().get(i) else {
            return Some(format!("column {} ({}) is missing", i, want.name()));
        };
        if have.name() != want.name() {
            return Some(format!("column {i} is {:?}, expected {:?}", have.name(), want.name()));
        }
        if have.data_type() != want.data_type() {
            return Some(format!(
                "column {} is {}, expected {}",
                want.name(),
                type_label(have.data_type()),
                type_label(want.data_type())
            ));
        }
        if have.is_nullable() != want.is_nullable() {
            return Some(format!(
                "column {} is {}, expected {}",
                want.name(),
                if have.is_nullable() { "nullable" } else { "not null" },
                if want.is_nullable() { "nullable" } else { "not null" }
            ));
        }
    }
    if found.fields().len() > expected.fields().len() {
        let extra = &found.fields()[expected.fields().len()];
        return Some(format!("unexpected column {:?}", extra.name()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_orders_by_a_column_it_has() {
        for table in Table::ALL {
            let schema = table.schema();
            assert!(schema.field_with_name(table.time_column()).is_ok(), "{table}");
            if let Some(seq) = table.seq_column() {
                assert!(schema.field_with_name(seq).is_ok(), "{table}");
            }
            assert_eq!(table.name().parse::<Table>().unwrap(), table);
        }
    }

    #[test]
    fn differences_are_named() {
        let depth = Table::Depth.schema();
        assert_eq!(schema_difference(&depth, &depth), None);
        let trades = Table::Trades.schema();
        let diff = schema_difference(&depth, &trades).unwrap();
        assert!(diff.contains("snapshot") || diff.contains("trade_id"), "{diff}");
    }
}
