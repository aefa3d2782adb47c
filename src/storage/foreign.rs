//! Parts written by other tools (pyarrow, DuckDB, Polars) or by an older mdkit: read when they
//! carry the documented columns (a nullable column they lack reads as null), whatever their order, extra columns, decimal scale (up to 8), string encoding
//! (plain, large, view or dictionary) or side case (`BUY`, `buy`), and normalised batch by
//! batch into the table's own schema (docs/ARCHITECTURE.md "Layout on disk").
//!
//! mdkit's own parts match the schema exactly and never pass through here.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Schema, TimeUnit};
use arrow::error::ArrowError;

use super::path::Partition;
use super::schema::{type_label, Table};

/// Where each column of the table comes from in a foreign part.
#[derive(Debug, Clone)]
pub struct Foreign {
    columns: Vec<Source>,
}

#[derive(Debug, Clone)]
enum Source {
    /// The file's column of this name, cast to the table's type.
    File {
        name: String,
        lower: bool,
    },
    /// Not in the file: the partition's venue or market (hive tools leave them in the path).
    Venue,
    Market,
    /// A nullable column the file lacks (a part written before the column existed): null.
    Null,
}

impl Foreign {
    /// How to read a file of schema `file` as `table`, or the first column that prevents it,
    /// worded for a user.
    pub fn plan(table: Table, file: &Schema) -> Result<Self, String> {
        let mut columns = Vec::new();
        for want in table.schema().fields() {
            let name = want.name();
            let Ok(have) = file.field_with_name(name) else {
                columns.push(match name.as_str() {
                    "venue" => Source::Venue,
                    "market" => Source::Market,
                    _ if want.is_nullable() => Source::Null,
                    _ => return Err(format!("required column {name:?} is missing")),
                });
                continue;
            };
            if !readable_as(have.data_type(), want.data_type()) {
                return Err(format!(
                    "column {name} is {}, expected {}",
                    type_label(have.data_type()),
                    expected_label(want.data_type())
                ));
            }
            columns.push(Source::File { name: name.clone(), lower: name == "side" });
        }
        Ok(Self { columns })
    }

    /// The batch in the table's schema: columns cast, sides lower-cased, venue and market
    /// taken from the partition when the file has none.
    pub fn normalize(
        &self,
        table: Table,
        partition: &Partition,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, ArrowError> {
        let schema = table.schema();
        let rows = batch.num_rows();
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (source, field) in self.columns.iter().zip(schema.fields()) {
            let column: ArrayRef = match source {
                Source::Venue => Arc::new(StringArray::from(vec![partition.venue.as_str(); rows])),
                Source::Market => {
                    Arc::new(StringArray::from(vec![partition.market.as_str(); rows]))
                }
                Source::Null => new_null_array(field.data_type(), rows),
                Source::File { name, lower } => {
                    let have = batch.column_by_name(name).ok_or_else(|| {
                        ArrowError::SchemaError(format!("column {name} is missing"))
                    })?;
                    let cast = cast(have, field.data_type())?;
                    if *lower {
                        lowercase(&cast)?
                    } else {
                        cast
                    }
                }
            };
            out.push(column);
        }
        RecordBatch::try_new(schema, out)
    }
}

fn lowercase(column: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let strings = column
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ArrowError::CastError("side is not a string column".into()))?;
    if strings.iter().flatten().all(|s| !s.bytes().any(|b| b.is_ascii_uppercase())) {
        return Ok(column.clone());
    }
    let lowered: StringArray = strings.iter().map(|s| s.map(str::to_ascii_lowercase)).collect();
    Ok(Arc::new(lowered))
}

/// Whether a file column of type `have` is read as the table's `want` without loss.
fn readable_as(have: &DataType, want: &DataType) -> bool {
    use DataType::*;
    match want {
        Utf8 => is_string(have),
        Decimal128(_, _) => match have {
            Decimal32(_, s) | Decimal64(_, s) | Decimal128(_, s) => (0..=8).contains(s),
            _ => false,
        },
        Timestamp(TimeUnit::Nanosecond, _) => match have {
            Timestamp(TimeUnit::Nanosecond, None) => true,
            Timestamp(TimeUnit::Nanosecond, Some(tz)) => is_utc(tz),
            _ => false,
        },
        Int64 => matches!(have, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32),
        UInt32 => matches!(have, UInt8 | UInt16 | UInt32),
        Float64 => matches!(have, Float32 | Float64),
        other => have == other,
    }
}

fn is_string(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_string(value),
        _ => false,
    }
}

fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "utc" | "+00:00" | "Etc/UTC" | "Z")
}

fn expected_label(want: &DataType) -> String {
    match want {
        DataType::Utf8 => "a string".into(),
        DataType::Decimal128(_, _) => "a decimal of scale 0 to 8".into(),
        DataType::Timestamp(_, _) => "Timestamp(ns, UTC)".into(),
        DataType::Int64 => "an integer".into(),
        other => type_label(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, DictionaryArray, Int32Array, TimestampNanosecondArray};
    use arrow::datatypes::{Field, Int32Type};
    use chrono::NaiveDate;

    fn partition() -> Partition {
        Partition {
            table: Table::Trades,
            venue: "binance-spot".into(),
            market: "BTCUSDT".into(),
            date: NaiveDate::from_ymd_opt(2024, 8, 9).expect("valid date"),
        }
    }

    #[test]
    fn another_tools_trades_become_ours() {
        let ts = || TimestampNanosecondArray::from(vec![1, 2]).with_timezone("UTC");
        let side: DictionaryArray<Int32Type> = vec!["BUY", "sell"].into_iter().collect();
        let price = Decimal128Array::from(vec![6000012, 6000013])
            .with_precision_and_scale(18, 2)
            .expect("valid decimal");
        let qty = price.clone();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("kind", Arc::new(StringArray::from(vec!["trade", "trade"]))),
            ("ts_event", Arc::new(ts())),
            ("ts_recv", Arc::new(ts())),
            ("conn", Arc::new(arrow::array::UInt32Array::from(vec![1, 1]))),
            ("seq", Arc::new(Int32Array::from(vec![1, 2]))),
            ("trade_id", Arc::new(Int32Array::from(vec![7, 8]))),
            ("side", Arc::new(side)),
            ("price", Arc::new(price)),
            ("qty", Arc::new(qty)),
            ("extra", Arc::new(StringArray::from(vec!["x", "y"]))),
        ];
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let foreign = Foreign::plan(Table::Trades, &batch.schema()).expect("readable");
        let ours = foreign.normalize(Table::Trades, &partition(), &batch).expect("normalised");
        assert_eq!(ours.schema(), Table::Trades.schema());
        let side = ours.column_by_name("side").expect("side");
        let side = side.as_any().downcast_ref::<StringArray>().expect("strings");
        assert_eq!(side.iter().flatten().collect::<Vec<_>>(), ["buy", "sell"]);
        let price = ours.column_by_name("price").expect("price");
        let price = price.as_any().downcast_ref::<Decimal128Array>().expect("decimal");
        assert_eq!(price.value(0), 6_000_012_000_000); // 60000.12 at scale 8
        let venue = ours.column_by_name("venue").expect("venue");
        let venue = venue.as_any().downcast_ref::<StringArray>().expect("strings");
        assert_eq!(venue.value(1), "binance-spot");
    }

    #[test]
    fn unreadable_columns_are_named() {
        let schema = Schema::new(vec![Field::new("price", DataType::Float64, false)]);
        let err = Foreign::plan(Table::Trades, &schema).unwrap_err();
        assert!(err.contains("required column \"ts_event\" is missing"), "{err}");
        let mut fields: Vec<Field> =
            Table::Trades.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        let price = fields.iter().position(|f| f.name() == "price").expect("price");
        fields[price] = Field::new("price", DataType::Decimal128(18, 9), false);
        let err = Foreign::plan(Table::Trades, &Schema::new(fields)).unwrap_err();
        assert_eq!(err, "column price is Decimal128(18, 9), expected a decimal of scale 0 to 8");
    }
}
