//! Recorded order latency (docs/MODEL.md "Clocks and latency"): entry and response latency
//! read from a file of samples and interpolated linearly in time between them, after
//! hftbacktest's interpolated order latency. The feed latency stays what the recording says.
//!
//! A sample is `(req_ts, entry_ns, resp_ns)`: an order request sent at `req_ts` (ns since the
//! epoch on the strategy clock, or an RFC 3339 time) reached the exchange `entry_ns` later and
//! its answer came back `resp_ns` after that. The engine asks for the entry latency at the
//! time an action is written and for the response latency at the exchange time its answer is
//! produced, both read off the same `req_ts` axis:
//!
//! - between two samples the value is interpolated linearly, rounded down to the nanosecond;
//! - before the first sample it is the first sample's, after the last the last's (clamped).
//!
//! Files: CSV with a header naming at least `req_ts,entry_ns,resp_ns` (other columns are
//! ignored, `#` lines are comments), or Parquet (by the `.parquet` extension) with integer or
//! timestamp columns of those names. `req_ts` must increase strictly from row to row and the
//! latencies must not be negative; anything else is refused in one line that names the file
//! and what a good file looks like.

use std::fmt;
use std::path::Path;

use crate::model::{parse_time, RecvTime};

/// What a good latency file looks like, for every error.
const FIX: &str = "the file needs a header req_ts,entry_ns,resp_ns and one row per sample: \
                   the request time (ns since the epoch on the strategy clock, or an RFC 3339 \
                   time) increasing from row to row, then the entry and response latency in ns \
                   (not negative)";

/// A latency file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order latency file {path}: {}{message}; {FIX}", line.map_or_else(String::new, |l| format!("line {l}: ")))]
pub struct LatencyFileError {
    pub path: String,
    /// 1-based line (CSV) or row (Parquet, counting from the first data row as 2).
    pub line: Option<usize>,
    pub message: String,
}

/// One sample, ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    t: i64,
    entry: i64,
    resp: i64,
}

/// Entry and response latency through time, from recorded samples.
#[derive(Clone, PartialEq, Eq)]
pub struct OrderLatency {
    samples: Vec<Sample>,
}

impl fmt::Debug for OrderLatency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderLatency({} samples)", self.samples.len())
    }
}

impl OrderLatency {
    /// From `(req_ts, entry_ns, resp_ns)` samples; `req_ts` strictly increasing, latencies
    /// not negative, at least one sample. The error says which sample (1-based) is wrong.
    pub fn from_samples(rows: &[(i64, i64, i64)]) -> Result<Self, (usize, String)> {
        if rows.is_empty() {
            return Err((0, "it holds no sample".to_owned()));
        }
        let mut samples = Vec::with_capacity(rows.len());
        for (i, &(t, entry, resp)) in rows.iter().enumerate() {
            if entry < 0 || resp < 0 {
                return Err((i + 1, format!("a negative latency ({entry}, {resp})")));
            }
            if let Some(prev) = samples.last().map(|s: &Sample| s.t) {
                if t <= prev {
                    return Err((i + 1, format!("req_ts {t} does not come after {prev}")));
                }
            }
            samples.push(Sample { t, entry, resp });
        }
        Ok(Self { samples })
    }

    /// Reads a CSV or (by extension) Parquet file.
    pub fn read(path: &Path) -> Result<Self, LatencyFileError> {
        let name = path.display().to_string();
        let err = |line: Option<usize>, message: String| LatencyFileError {
            path: name.clone(),
            line,
            message,
        };
        let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if parquet {
            let rows = read_parquet(path).map_err(|m| err(None, m))?;
            return Self::from_samples(&rows).map_err(|(i, m)| err((i > 0).then_some(i + 1), m));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(None, e.to_string()))?;
        Self::parse_csv(&text).map_err(|(line, m)| err(line, m))
    }

    /// Parses CSV text; errors carry the 1-based line.
    pub fn parse_csv(text: &str) -> Result<Self, (Option<usize>, String)> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let Some((header_line, header)) = lines.next() else {
            return Err((None, "it is empty".to_owned()));
        };
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let column = |want: &str| {
            names.iter().position(|n| *n == want).ok_or_else(|| {
                (Some(header_line), format!("the header {header:?} has no column {want}"))
            })
        };
        let (ti, ei, ri) = (column("req_ts")?, column("entry_ns")?, column("resp_ns")?);
        let mut rows = Vec::new();
        let mut line_of = Vec::new();
        for (n, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |i: usize, what: &str| {
                cells.get(i).copied().ok_or_else(|| (Some(n), format!("no {what} value")))
            };
            let t = cell(ti, "req_ts")?;
            let t = t.parse::<i64>().ok().or_else(|| parse_time(t).ok().map(RecvTime::as_nanos));
            let t = t.ok_or_else(|| (Some(n), format!("req_ts {:?} is not a time", cells[ti])))?;
            let ns = |i: usize, what: &str| -> Result<i64, (Option<usize>, String)> {
                let v = cell(i, what)?;
                v.parse::<i64>()
                    .map_err(|_| (Some(n), format!("{what} {v:?} is not a whole number of ns")))
            };
            rows.push((t, ns(ei, "entry_ns")?, ns(ri, "resp_ns")?));
            line_of.push(n);
        }
        Self::from_samples(&rows).map_err(|(i, m)| (i.checked_sub(1).map(|i| line_of[i]), m))
    }

    /// The entry latency of an action written at strategy time `t`, ns.
    pub fn entry(&self, t: i64) -> i64 {
        self.at(t, |s| s.entry)
    }

    /// The response latency of an answer produced at exchange time `t`, ns.
    pub fn response(&self, t: i64) -> i64 {
        self.at(t, |s| s.resp)
    }

    /// Linear interpolation of `value` at `t`, clamped to the first and last sample.
    fn at(&self, t: i64, value: impl Fn(&Sample) -> i64) -> i64 {
        let i = self.samples.partition_point(|s| s.t <= t);
        let (Some(a), Some(b)) = (i.checked_sub(1).map(|i| &self.samples[i]), self.samples.get(i))
        else {
            // Before the first sample or at/after the last: clamped.
            let edge = if i == 0 { self.samples.first() } else { self.samples.last() };
            return edge.map_or(0, value);
        };
        // a.t <= t < b.t: exact in i128, rounded down.
        let (va, vb) = (i128::from(value(a)), i128::from(value(b)));
        let span = i128::from(b.t) - i128::from(a.t);
        let v = va + ((vb - va) * (i128::from(t) - i128::from(a.t))).div_euclid(span);
        v as i64
    }
}

/// The three columns of a Parquet latency file as `(req_ts, entry_ns, resp_ns)` rows.
fn read_parquet(path: &Path) -> Result<Vec<(i64, i64, i64)>, String> {
    use arrow::array::{Array, Int64Array};
    use arrow::compute::cast;
    use arrow::datatypes::{DataType, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("not a readable Parquet file ({e})"))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let column = |name: &str| -> Result<Int64Array, String> {
            let c = batch.column_by_name(name).ok_or_else(|| format!("no column {name}"))?;
            // A timestamp column is read as its nanoseconds.
            let c = match c.data_type() {
                DataType::Timestamp(unit, _) if *unit != TimeUnit::Nanosecond => {
                    cast(c, &DataType::Timestamp(TimeUnit::Nanosecond, None))
                        .map_err(|e| format!("column {name}: {e}"))?
                }
                _ => c.clone(),
            };
            let c = cast(&c, &DataType::Int64).map_err(|e| format!("column {name}: {e}"))?;
            let c = c.as_any().downcast_ref::<Int64Array>().cloned();
            let c = c.ok_or_else(|| format!("column {name} is not an integer"))?;
            if c.null_count() > 0 {
                return Err(format!("column {name} has nulls"));
            }
            Ok(c)
        };
        let (t, e, r) = (column("req_ts")?, column("entry_ns")?, column("resp_ns")?);
        for i in 0..batch.num_rows() {
            rows.push((t.value(i), e.value(i), r.value(i)));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn table() -> OrderLatency {
        // 10 ms / 20 ms at t = 1 s, 30 ms / 10 ms at t = 3 s, 30 ms / 40 ms at t = 4 s.
        OrderLatency::parse_csv(
            "# recorded\nreq_ts,entry_ns,resp_ns\n1000000000,10000000,20000000\n\
             3000000000, 30000000 ,10000000\n4000000000,30000000,40000000\n",
        )
        .unwrap()
    }

    #[test]
    fn values_at_and_between_samples_are_linear_and_clamped_at_the_ends() {
        let l = table();
        let s = 1_000 * MS;
        // At the samples: the samples.
        assert_eq!((l.entry(s), l.response(s)), (10 * MS, 20 * MS));
        assert_eq!((l.entry(3 * s), l.response(3 * s)), (30 * MS, 10 * MS));
        assert_eq!((l.entry(4 * s), l.response(4 * s)), (30 * MS, 40 * MS));
        // Half way from 1 s to 3 s: 20 ms entry, 15 ms response; a quarter: 15 ms, 17.5 ms.
        assert_eq!((l.entry(2 * s), l.response(2 * s)), (20 * MS, 15 * MS));
        assert_eq!((l.entry(1_500 * MS), l.response(1_500 * MS)), (15 * MS, 17_500_000));
        // 3.5 s: entry flat at 30 ms, response 25 ms.
        assert_eq!((l.entry(3_500 * MS), l.response(3_500 * MS)), (30 * MS, 25 * MS));
        // One ns after 1 s: 10 ms + 20 ms / 2e9 ns, rounded down: 10 ms exactly; and the
        // falling response 20 ms − 10 ms / 2e9 rounds down to 1 ns below 20 ms.
        assert_eq!((l.entry(s + 1), l.response(s + 1)), (10 * MS, 20 * MS - 1));
        // Clamped: before the first sample and after the last.
        assert_eq!((l.entry(0), l.response(-5)), (10 * MS, 20 * MS));
        assert_eq!((l.entry(9 * s), l.response(i64::MAX)), (30 * MS, 40 * MS));
    }

    #[test]
    fn times_may_be_written_as_rfc3339_and_extra_columns_are_ignored() {
        let l = OrderLatency::parse_csv(
            "note,resp_ns,req_ts,entry_ns\nx,5,2026-01-01T00:00:00Z,7\ny,9,2026-01-01T00:00:01Z,11\n",
        )
        .unwrap();
        let t0 = 1_767_225_600_000_000_000;
        assert_eq!((l.entry(t0), l.response(t0)), (7, 5));
        assert_eq!((l.entry(t0 + 500 * MS), l.response(t0 + 500 * MS)), (9, 7));
    }

    #[test]
    fn a_bad_file_is_one_line_naming_the_file_the_line_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("empty.csv", "", "it is empty"),
            (
                "header.csv",
                "req_ts,entry\n1,2\n",
                "line 1: the header \"req_ts,entry\" has no column entry_ns",
            ),
            (
                "word.csv",
                "req_ts,entry_ns,resp_ns\n1,2,3\n2,fast,3\n",
                "line 3: entry_ns \"fast\" is not a whole number of ns",
            ),
            (
                "order.csv",
                "req_ts,entry_ns,resp_ns\n5,2,3\n5,2,3\n",
                "line 3: req_ts 5 does not come after 5",
            ),
            (
                "negative.csv",
                "req_ts,entry_ns,resp_ns\n5,-2,3\n",
                "line 2: a negative latency (-2, 3)",
            ),
            (
                "time.csv",
                "req_ts,entry_ns,resp_ns\nnoon,2,3\n",
                "line 2: req_ts \"noon\" is not a time",
            ),
        ];
        for (name, text, want) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = OrderLatency::read(&path).unwrap_err().to_string();
            assert!(err.starts_with(&format!("order latency file {}: ", path.display())), "{err}");
            assert!(err.contains(want), "{name}: {err}");
            assert!(err.contains("needs a header req_ts,entry_ns,resp_ns"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let missing = OrderLatency::read(&dir.path().join("none.csv")).unwrap_err().to_string();
        assert!(missing.contains("none.csv") && missing.contains("req_ts,entry_ns"), "{missing}");
    }

    #[test]
    fn a_parquet_file_reads_like_the_csv() {
        use std::sync::Arc;

        use arrow::array::{Int64Array, RecordBatch, TimestampNanosecondArray};
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

        let schema = Arc::new(Schema::new(vec![
            Field::new("req_ts", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            Field::new("entry_ns", DataType::Int64, false),
            Field::new("resp_ns", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(TimestampNanosecondArray::from(vec![1_000 * MS, 3_000 * MS, 4_000 * MS])),
                Arc::new(Int64Array::from(vec![10 * MS, 30 * MS, 30 * MS])),
                Arc::new(Int64Array::from(vec![20 * MS, 10 * MS, 40 * MS])),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latency.parquet");
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        assert_eq!(OrderLatency::read(&path).unwrap(), table());
        std::fs::write(dir.path().join("bad.parquet"), b"PAR1 not really").unwrap();
        let err = OrderLatency::read(&dir.path().join("bad.parquet")).unwrap_err().to_string();
        assert!(err.contains("bad.parquet: not a readable Parquet file"), "{err}");
    }
}
