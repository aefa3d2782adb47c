//! Results on stdout: a boxed table for people, CSV, or JSON lines. In the table, durations
//! and intervals read like `1.27s`, `3m 2s` or `1mo 2d 3.5s` instead of arrow's ISO 8601
//! (`PT1.27S`) or `0 years 0 mons …` text; CSV and JSON keep arrow's exact forms for programs.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Field, IntervalDayTimeType,
    IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType, Schema, SchemaRef, TimeUnit,
};
use arrow::error::ArrowError;

use super::{Format, SqlError};

/// Writes batches in the chosen format; an empty result still prints its header.
pub fn write_batches(
    out: &mut dyn Write,
    format: Format,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), SqlError> {
    let empty;
    let batches = if batches.is_empty() {
        empty = [RecordBatch::new_empty(schema)];
        &empty[..]
    } else {
        batches
    };
    match format {
        Format::Table => {
            let readable = batches
                .iter()
                .map(readable_batch)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SqlError::query_text(&e.to_string()))?;
            let table = arrow::util::pretty::pretty_format_batches(&readable)
                .map_err(|e| SqlError::query_text(&e.to_string()))?;
            writeln!(out, "{table}").map_err(SqlError::Write)?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            for batch in batches {
                writer.write(batch).map_err(SqlError::Output)?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>()).map_err(SqlError::Output)?;
            writer.finish().map_err(SqlError::Output)?;
        }
    }
    out.flush().map_err(SqlError::Write)
}

/// The batch with every duration and interval column turned into human text.
fn readable_batch(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_time_span(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        match human_text(column) {
            Some(text) => {
                fields.push(Arc::new(Field::new(
                    field.name(),
                    DataType::Utf8,
                    field.is_nullable(),
                )));
                columns.push(Arc::new(text) as ArrayRef);
            }
            None => {
                fields.push(field.clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

fn is_time_span(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Duration(_) | DataType::Interval(_))
}

/// Human text for a duration or interval column; `None` for any other type.
fn human_text(array: &ArrayRef) -> Option<StringArray> {
    let text = match array.data_type() {
        DataType::Duration(TimeUnit::Second) => {
            each(array.as_primitive::<DurationSecondType>(), |v| duration(i128::from(v) * SEC))
        }
        DataType::Duration(TimeUnit::Millisecond) => {
            each(array.as_primitive::<DurationMillisecondType>(), |v| {
                duration(i128::from(v) * 1_000_000)
            })
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            each(array.as_primitive::<DurationMicrosecondType>(), |v| {
                duration(i128::from(v) * 1_000)
            })
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            each(array.as_primitive::<DurationNanosecondType>(), |v| duration(i128::from(v)))
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            each(array.as_primitive::<IntervalYearMonthType>(), |v| interval(v, 0, 0))
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            each(array.as_primitive::<IntervalDayTimeType>(), |v| {
                interval(0, v.days, i128::from(v.milliseconds) * 1_000_000)
            })
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            each(array.as_primitive::<IntervalMonthDayNanoType>(), |v| {
                interval(v.months, v.days, i128::from(v.nanoseconds))
            })
        }
        _ => return None,
    };
    Some(text)
}

fn each<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    text: impl Fn(T::Native) -> String,
) -> StringArray {
    array.iter().map(|v| v.map(&text)).collect()
}

const SEC: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SEC;
const HOUR: i128 = 60 * MINUTE;
const DAY: i128 = 24 * HOUR;

/// Nanoseconds as `0s`, `850ns`, `1.5µs`, `2.346ms`, `1.27s`, `3m 2s`, `1h 5m 0.25s`,
/// `2d 3h`: the largest unit that fits, three decimals at most below a minute and on the
/// seconds above it, rounded half up; zero parts are left out.
pub fn duration(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let a = nanos.abs();
    if a == 0 {
        return "0s".to_owned();
    }
    if a < 1_000 {
        return format!("{sign}{a}ns");
    }
    if a < 1_000_000 {
        return format!("{sign}{}µs", decimal(a, 1_000));
    }
    let micros = round_to(a, 1_000);
    if micros < SEC {
        return format!("{sign}{}ms", decimal(micros, 1_000_000));
    }
    let millis = round_to(a, 1_000_000);
    if millis < MINUTE {
        return format!("{sign}{}s", decimal(millis, SEC));
    }
    let mut parts = Vec::with_capacity(4);
    let whole = [(millis / DAY, "d"), (millis % DAY / HOUR, "h"), (millis % HOUR / MINUTE, "m")];
    for (count, name) in whole {
        if count > 0 {
            parts.push(format!("{count}{name}"));
        }
    }
    let seconds = millis % MINUTE;
    if seconds > 0 {
        parts.push(format!("{}s", decimal(seconds, SEC)));
    }
    format!("{sign}{}", parts.join(" "))
}

/// An interval's calendar parts and its time, as `1y 2mo 3d 4.5s`; `0s` when all are zero.
fn interval(months: i32, days: i32, nanos: i128) -> String {
    let mut parts = Vec::with_capacity(4);
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        parts.push(format!("{years}y"));
    }
    if months != 0 {
        parts.push(format!("{months}mo"));
    }
    if days != 0 {
        parts.push(format!("{days}d"));
    }
    if nanos != 0 || parts.is_empty() {
        parts.push(duration(nanos));
    }
    parts.join(" ")
}

/// `value` rounded half up to a multiple of `unit`.
fn round_to(value: i128, unit: i128) -> i128 {
    (value + unit / 2) / unit * unit
}

/// `value / unit` with up to three decimals, trailing zeros left out (`value` is a multiple
/// of `unit / 1000`, so nothing is cut).
fn decimal(value: i128, unit: i128) -> String {
    let whole = value / unit;
    let thousandths = value % unit * 1_000 / unit;
    if thousandths == 0 {
        return whole.to_string();
    }
    let text = format!("{whole}.{thousandths:03}");
    text.trim_end_matches('0').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        let cases = [
            (0, "0s"),
            (850, "850ns"),
            (1_500, "1.5µs"),
            (999_999, "999.999µs"),
            (2_345_600, "2.346ms"),
            (999_999_600, "1s"),
            (1_270_000_000, "1.27s"),
            (-1_270_000_000, "-1.27s"),
            (59_999_600_000, "1m"),
            (182 * SEC, "3m 2s"),
            (650_437_534_265, "10m 50.438s"),
            (HOUR + 250_000_000, "1h 0.25s"),
            (2 * DAY + 3 * HOUR, "2d 3h"),
            (400 * DAY + 59 * MINUTE + SEC, "400d 59m 1s"),
        ];
        for (nanos, want) in cases {
            assert_eq!(duration(nanos), want, "{nanos}");
        }
    }

    #[test]
    fn intervals_show_calendar_parts_then_time() {
        assert_eq!(interval(14, 2, 3_500_000_000), "1y 2mo 2d 3.5s");
        assert_eq!(interval(0, 0, 0), "0s");
        assert_eq!(interval(-1, 0, 0), "-1mo");
        assert_eq!(interval(0, 0, 1_270_000_000), "1.27s");
    }

    #[test]
    fn a_table_shows_durations_and_intervals_in_human_text_and_csv_stays_exact() {
        use arrow::array::{DurationNanosecondArray, Int64Array, IntervalMonthDayNanoArray};
        use arrow::datatypes::IntervalMonthDayNano;
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "d",
                Arc::new(DurationNanosecondArray::from(vec![Some(1_270_000_000), None]))
                    as ArrayRef,
            ),
            (
                "i",
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    IntervalMonthDayNano::new(0, 0, 182 * 1_000_000_000),
                    IntervalMonthDayNano::new(1, 2, 0),
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        write_batches(&mut out, Format::Table, batch.schema(), std::slice::from_ref(&batch))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| 1 | 1.27s | 3m 2s  |"), "{text}");
        assert!(text.contains("| 2 |       | 1mo 2d |"), "{text}");
        let mut out = Vec::new();
        write_batches(&mut out, Format::Csv, batch.schema(), &[batch]).unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert!(csv.contains("PT1.27S"), "{csv}");
    }
}
