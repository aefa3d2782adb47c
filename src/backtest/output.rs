//! What a run leaves in its output folder: `fills.parquet` and `equity.parquet` written as the
//! engine streams them (through [`Output`], a [`Sink`]), `chart.svg`, and `summary.json`.
//!
//! Determinism is part of the format: the same tables, settings and seed give byte-identical
//! `summary.json` and `fills.parquet`. So nothing here records a wall-clock time, a host or a
//! path; the Parquet writer's properties are fixed (ZSTD(3), `created_by` = mdkit's version)
//! and rows are written in the order the engine produced them. Prices and quantities are
//! `Decimal128(18, 8)` like the recorded tables; money is `Decimal128(38, 16)`, exact (see
//! [`crate::model::money`]); times are `Timestamp(ns, UTC)` on the clock their name says.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use indicatif::ProgressBar;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::chart::{Chart, Point};
use super::report::{EquitySample, Fill, Sink, SinkError, Summary};
use crate::model::money::{Money, MONEY_SCALE};
use crate::model::{Price, Qty, RecvTime, SCALE};

/// Rows gathered before a batch is encoded.
const BATCH_ROWS: usize = 8192;

/// An output file that cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn fail(path: &Path, source: impl std::error::Error + Send + Sync + 'static) -> OutputError {
    OutputError { path: path.to_path_buf(), source: Box::new(source) }
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn decimal() -> DataType {
    DataType::Decimal128(18, SCALE as i8)
}

fn money() -> DataType {
    DataType::Decimal128(38, MONEY_SCALE as i8)
}

/// The schema of `fills.parquet`.
pub fn fills_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ts_exchange", timestamp(), false),
        Field::new("ts_report", timestamp(), false),
        Field::new("ts_event", timestamp(), false),
        Field::new("order_id", DataType::UInt64, false),
        Field::new("side", DataType::Utf8, false),
        Field::new("price", decimal(), false),
        Field::new("qty", decimal(), false),
        Field::new("liquidity", DataType::Utf8, false),
        Field::new("fee", money(), false),
        Field::new("position", decimal(), false),
        Field::new("cash", money(), false),
        Field::new("mid", decimal(), true),
    ]))
}

/// The schema of `equity.parquet`.
pub fn equity_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ts", timestamp(), false),
        Field::new("mid", decimal(), true),
        Field::new("bid", decimal(), true),
        Field::new("ask", decimal(), true),
        Field::new("position", decimal(), false),
        Field::new("cash", money(), false),
        Field::new("equity", money(), false),
    ]))
}

fn times(values: impl Iterator<Item = RecvTime>) -> ArrayRef {
    Arc::new(
        TimestampNanosecondArray::from_iter_values(values.map(|t| t.as_nanos()))
            .with_timezone("UTC"),
    )
}

fn decimals(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    let array: Decimal128Array = values.map(|v| v.map(i128::from)).collect();
    Arc::new(array.with_precision_and_scale(18, SCALE as i8).expect("18, 8 is a valid decimal"))
}

fn moneys(values: impl Iterator<Item = Money>) -> ArrayRef {
    let array: Decimal128Array = values.map(|m| Some(m.raw())).collect();
    Arc::new(
        array.with_precision_and_scale(38, MONEY_SCALE as i8).expect("38, 16 is a valid decimal"),
    )
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn price(p: Price) -> Option<i64> {
    Some(p.raw())
}

fn qty(q: Qty) -> Option<i64> {
    Some(q.raw())
}

/// The fills as a record batch of [`fills_schema`].
pub fn fills_batch(rows: &[Fill]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        times(rows.iter().map(|r| r.ts_exchange)),
        times(rows.iter().map(|r| r.ts_report)),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_event.as_nanos()))
                .with_timezone("UTC"),
        ),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.order_id))),
        strings(rows.iter().map(|r| r.side.as_str())),
        decimals(rows.iter().map(|r| price(r.price))),
        decimals(rows.iter().map(|r| qty(r.qty))),
        strings(rows.iter().map(|r| r.liquidity.as_str())),
        moneys(rows.iter().map(|r| r.fee)),
        decimals(rows.iter().map(|r| qty(r.position))),
        moneys(rows.iter().map(|r| r.cash)),
        decimals(rows.iter().map(|r| r.mid.map(Price::raw))),
    ];
    RecordBatch::try_new(fills_schema(), columns)
}

/// The samples as a record batch of [`equity_schema`].
pub fn equity_batch(rows: &[EquitySample]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        times(rows.iter().map(|r| r.ts)),
        decimals(rows.iter().map(|r| r.mid.map(Price::raw))),
        decimals(rows.iter().map(|r| r.bid.map(Price::raw))),
        decimals(rows.iter().map(|r| r.ask.map(Price::raw))),
        decimals(rows.iter().map(|r| qty(r.position))),
        moneys(rows.iter().map(|r| r.cash)),
        moneys(rows.iter().map(|r| r.equity)),
    ];
    RecordBatch::try_new(equity_schema(), columns)
}

/// Fixed writer properties: nothing in them varies between runs.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("3 is a valid level")))
        .set_created_by(format!("mdkit {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One Parquet file written a batch at a time.
struct Table<R> {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: Vec<R>,
    batch: fn(&[R]) -> Result<RecordBatch, arrow::error::ArrowError>,
}

impl<R: Clone> Table<R> {
    fn create(
        path: PathBuf,
        schema: SchemaRef,
        batch: fn(&[R]) -> Result<RecordBatch, arrow::error::ArrowError>,
    ) -> Result<Self, OutputError> {
        let file = File::create(&path).map_err(|e| fail(&path, e))?;
        let writer =
            ArrowWriter::try_new(file, schema, Some(properties())).map_err(|e| fail(&path, e))?;
        Ok(Self { path, writer, rows: Vec::with_capacity(BATCH_ROWS), batch })
    }

    fn push(&mut self, row: &R) -> Result<(), OutputError> {
        self.rows.push(row.clone());
        if self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = (self.batch)(&self.rows).map_err(|e| fail(&self.path, e))?;
        self.writer.write(&batch).map_err(|e| fail(&self.path, e))?;
        self.rows.clear();
        Ok(())
    }

    fn close(mut self) -> Result<(), OutputError> {
        self.flush()?;
        let file = self.writer.into_inner().map_err(|e| fail(&self.path, e))?;
        file.sync_all().map_err(|e| fail(&self.path, e))
    }
}

/// The sink of one run: both Parquet files, the chart, and the progress bar.
pub struct Output {
    dir: PathBuf,
    fills: Table<Fill>,
    equity: Table<EquitySample>,
    chart: Chart,
    start_equity: Option<Money>,
    progress: ProgressBar,
    from_ns: i64,
}

impl Output {
    /// Creates `dir` and opens its files. `progress` counts whole seconds of strategy time
    /// from `from`.
    pub fn create(
        dir: &Path,
        title: String,
        from: RecvTime,
        to: RecvTime,
        progress: ProgressBar,
    ) -> Result<Self, OutputError> {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            fills: Table::create(dir.join("fills.parquet"), fills_schema(), fills_batch)?,
            equity: Table::create(dir.join("equity.parquet"), equity_schema(), equity_batch)?,
            chart: Chart::new(title, from.as_nanos(), to.as_nanos()),
            start_equity: None,
            progress,
            from_ns: from.as_nanos(),
        })
    }

    /// Closes the Parquet files and writes `chart.svg` and `summary.json`.
    pub fn finish(self, summary: &Summary) -> Result<(), OutputError> {
        self.fills.close()?;
        self.equity.close()?;
        write_file(&self.dir.join("chart.svg"), self.chart.svg().as_bytes())?;
        let mut json = serde_json::to_vec_pretty(summary)
            .map_err(|e| fail(&self.dir.join("summary.json"), e))?;
        json.push(b'\n');
        write_file(&self.dir.join("summary.json"), &json)?;
        self.progress.finish_and_clear();
        Ok(())
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut file = File::create(path).map_err(|e| fail(path, e))?;
    file.write_all(bytes).map_err(|e| fail(path, e))?;
    file.sync_all().map_err(|e| fail(path, e))
}

impl Sink for Output {
    fn fill(&mut self, fill: &Fill) -> Result<(), SinkError> {
        self.fills.push(fill).map_err(Into::into)
    }

    fn equity(&mut self, sample: &EquitySample) -> Result<(), SinkError> {
        let start = *self.start_equity.get_or_insert(sample.equity);
        let price = |p: Option<Price>| p.map_or(f64::NAN, Price::to_f64);
        self.chart.push(Point {
            t_ns: sample.ts.as_nanos(),
            mid: price(sample.mid),
            bid: price(sample.bid),
            ask: price(sample.ask),
            equity: sample.equity.to_f64(),
            inventory: sample.position.to_f64(),
            pnl: (sample.equity - start).to_f64(),
        });
        self.equity.push(sample).map_err(Into::into)
    }

    fn progress(&mut self, _events: u64, now: RecvTime) {
        let secs = (now.as_nanos() - self.from_ns).max(0) / 1_000_000_000;
        self.progress.set_position(secs as u64);
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::backtest::report::Liquidity;
    use crate::model::{BookSide, EventTime};

    const T: i64 = 1_795_132_800_000_000_000;

    fn fill(i: i64) -> Fill {
        Fill {
            ts_exchange: RecvTime::from_nanos(T + i),
            ts_report: RecvTime::from_nanos(T + i + 10_000_000),
            ts_event: EventTime::from_nanos(T + i - 3_000_000),
            order_id: i as u64,
            side: if i % 2 == 0 { BookSide::Bid } else { BookSide::Ask },
            price: Price::parse("3000.01").unwrap(),
            qty: Qty::parse("0.01").unwrap(),
            liquidity: Liquidity::Maker,
            fee: Money::from_raw(45_000_150_000_000),
            position: Qty::parse("-0.01").unwrap(),
            cash: Money::from_units(-30),
            mid: (i % 2 == 0).then(|| Price::parse("3000.015").unwrap()),
        }
    }

    fn sample(s: i64) -> EquitySample {
        EquitySample {
            ts: RecvTime::from_nanos(T + s * 1_000_000_000),
            mid: Some(Price::parse("3000.015").unwrap()),
            bid: Some(Price::parse("3000").unwrap()),
            ask: None,
            position: Qty::parse("0.01").unwrap(),
            cash: Money::from_units(-30),
            equity: Money::from_raw(150_000_000_000_000),
        }
    }

    fn run(dir: &Path) {
        let mut out = Output::create(
            dir,
            "test".into(),
            RecvTime::from_nanos(T),
            RecvTime::from_nanos(T + 10_000_000_000),
            ProgressBar::hidden(),
        )
        .unwrap();
        for i in 0..3 {
            out.fill(&fill(i)).unwrap();
        }
        for s in 0..10 {
            out.equity(&sample(s)).unwrap();
        }
        out.finish(&Summary::default()).unwrap();
    }

    fn read(path: &Path) -> RecordBatch {
        let file = File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    #[test]
    fn fills_and_equity_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path());
        let fills = read(&dir.path().join("fills.parquet"));
        assert_eq!(fills.schema(), fills_schema());
        assert_eq!(fills.num_rows(), 3);
        let fee = fills.column_by_name("fee").unwrap();
        let fee = fee.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(fee.value_as_string(0), "0.0045000150000000", "money keeps 16 decimals");
        let mid = fills.column_by_name("mid").unwrap();
        assert_eq!((mid.is_valid(0), mid.is_valid(1)), (true, false));
        let side = fills.column_by_name("side").unwrap();
        let side = side.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((side.value(0), side.value(1)), ("bid", "ask"));

        let equity = read(&dir.path().join("equity.parquet"));
        assert_eq!(equity.schema(), equity_schema());
        assert_eq!(equity.num_rows(), 10);
        let price = equity.column_by_name("mid").unwrap();
        let price = price.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(price.value_as_string(0), "3000.01500000");
        assert!(std::fs::read_to_string(dir.path().join("chart.svg")).unwrap().contains("<svg"));
        let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
        assert!(summary.ends_with("}\n"));
    }

    #[test]
    fn the_same_rows_give_the_same_bytes() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run(a.path());
        run(b.path());
        for file in ["fills.parquet", "equity.parquet", "summary.json", "chart.svg"] {
            let bytes = |d: &Path| std::fs::read(d.join(file)).unwrap();
            assert!(bytes(a.path()) == bytes(b.path()), "{file} differs");
        }
    }
}
