//! What a run leaves in its output folder: `fills.parquet` and `equity.parquet` written as the
//! engine streams them (through [`Output`], a [`Sink`]), `recalibrations.parquet` (the
//! schedule of fits the strategy was given, [`Output::recalibrations`]), `chart.svg`, and
//! `summary.json` (each documented in `schemas/`); and which folder that is ([`Destination`]).
//!
//! Outputs never overwrite each other: without `--out` every run or sweep claims a new
//! numbered folder, and a given `--out` that already holds files is refused unless `--force`
//! (which writes over the files of the same names and deletes nothing else).
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

use anyhow::Context;
use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use indicatif::ProgressBar;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::chart::{Chart, Point};
use super::event::Recalibration;
use super::report::{EquitySample, Fill, Sink, SinkError, Summary};
use crate::model::money::{Money, MONEY_SCALE};
use crate::model::{BookSide, FitQuality, Price, Qty, RecvTime, SCALE};
use crate::storage::SideFit;

/// The folder default output folders are made in, relative to the working directory.
pub const DEFAULT_PARENT: &str = "backtest";

/// Where a run or a sweep writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `--out DIR`: used if it is missing or empty, or with `force`.
    Given { dir: PathBuf, force: bool },
    /// No `--out`: the first free `<parent>/<stem>-<n>`, n above every existing one.
    Numbered { parent: PathBuf, stem: String },
}

impl Destination {
    /// Refuses a given folder that cannot be used, before any work is done. A numbered
    /// folder is always available.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            Destination::Given { dir, force } => check_given(dir, *force),
            Destination::Numbered { .. } => Ok(()),
        }
    }

    /// Creates the folder (checking a given one again) and returns it.
    pub fn claim(&self) -> anyhow::Result<PathBuf> {
        match self {
            Destination::Given { dir, force } => {
                check_given(dir, *force)?;
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the output folder {}", dir.display())
                })?;
                Ok(dir.clone())
            }
            Destination::Numbered { parent, stem } => claim_numbered(parent, stem),
        }
    }
}

/// A folder or file name made of `text`: path separators become `_`.
pub fn component(text: &str) -> String {
    text.chars().map(|c| if c == '/' || c == '\\' { '_' } else { c }).collect()
}

/// `dir` may be written: it does not exist, is an empty folder, or `force` is given.
fn check_given(dir: &Path, force: bool) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    anyhow::ensure!(
        dir.is_dir(),
        "--out {} is a file, not a folder: choose another --out",
        dir.display()
    );
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the output folder {}", dir.display()))?;
    anyhow::ensure!(
        force || entries.next().is_none(),
        "output folder {} is not empty: add --force to write over its files, or choose another --out",
        dir.display()
    );
    Ok(())
}

/// The `n` of a folder named `<stem>-<n>`.
fn number(name: &str, stem: &str) -> Option<u64> {
    let n = name.strip_prefix(stem)?.strip_prefix('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Creates `<parent>/<stem>-<n>` with n one above the highest existing (1 for the first), so
/// the numbers follow the order of the runs. Creating the folder is the claim: a second
/// process that picked the same n moves on to the next.
fn claim_numbered(parent: &Path, stem: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the output folder {}", parent.display()))?;
    let mut highest = 0;
    let entries = std::fs::read_dir(parent)
        .with_context(|| format!("cannot read the output folder {}", parent.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", parent.display()))?;
        if let Some(n) = entry.file_name().to_str().and_then(|name| number(name, stem)) {
            highest = highest.max(n);
        }
    }
    let mut n = highest;
    loop {
        n = n.checked_add(1).context("no free output folder number")?;
        let dir = parent.join(format!("{stem}-{n}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create the output folder {}", dir.display()))
            }
        }
    }
}

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
        Field::new("cause", DataType::Utf8, false),
        Field::new("fee", money(), false),
        Field::new("position", decimal(), false),
        Field::new("cash", money(), false),
        Field::new("mid", decimal(), true),
        Field::new("queue_ahead", decimal(), true),
        Field::new("mid_1s", decimal(), true),
        Field::new("mid_10s", decimal(), true),
        Field::new("mid_60s", decimal(), true),
        Field::new("markout_1s", decimal(), true),
        Field::new("markout_10s", decimal(), true),
        Field::new("markout_60s", decimal(), true),
        Field::new("markout_1s_bps", DataType::Float64, true),
        Field::new("markout_10s_bps", DataType::Float64, true),
        Field::new("markout_60s_bps", DataType::Float64, true),
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
    let mut columns: Vec<ArrayRef> = vec![
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
        strings(rows.iter().map(|r| r.cause.as_str())),
        moneys(rows.iter().map(|r| r.fee)),
        decimals(rows.iter().map(|r| qty(r.position))),
        moneys(rows.iter().map(|r| r.cash)),
        decimals(rows.iter().map(|r| r.mid.map(Price::raw))),
        decimals(rows.iter().map(|r| r.queue_ahead.map(Qty::raw))),
    ];
    // The markouts: the mids at +1 s, +10 s, +60 s, then the markouts, then in bps.
    for k in 0..3 {
        columns.push(decimals(rows.iter().map(|r| r.mid_after(k).map(Price::raw))));
    }
    for k in 0..3 {
        columns.push(decimals(rows.iter().map(|r| r.markout(k).map(Price::raw))));
    }
    for k in 0..3 {
        columns.push(Arc::new(rows.iter().map(|r| r.markout_bps(k)).collect::<Float64Array>()));
    }
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

/// The schema of `recalibrations.parquet` (schemas/recalibrations.md): one row per fit of the
/// schedule, the per-side columns bid first, as in the `calibration` table.
pub fn recalibrations_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("at", timestamp(), false),
        Field::new("window_start", timestamp(), false),
        Field::new("window_end", timestamp(), false),
        Field::new("sigma", DataType::Float64, true),
        Field::new("mid_samples", DataType::Int64, false),
        Field::new("trades", DataType::Int64, false),
    ];
    for side in ["bid", "ask"] {
        fields.extend([
            Field::new(format!("kappa_{side}"), DataType::Float64, true),
            Field::new(format!("a_{side}"), DataType::Float64, true),
            Field::new(format!("r2_{side}"), DataType::Float64, true),
            Field::new(format!("points_{side}"), DataType::Int64, false),
            Field::new(format!("orders_{side}"), DataType::Int64, false),
            Field::new(format!("reason_{side}"), DataType::Utf8, true),
            Field::new(format!("quality_{side}"), DataType::Utf8, true),
        ]);
    }
    Arc::new(Schema::new(fields))
}

/// The schedule as a record batch of [`recalibrations_schema`], in the order given (`at`
/// ascending, as [`super::schedule`] makes it).
pub fn recalibrations_batch(
    rows: &[Recalibration],
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let stamp = |f: fn(&Recalibration) -> i64| -> ArrayRef {
        Arc::new(
            TimestampNanosecondArray::from_iter_values(rows.iter().map(f)).with_timezone("UTC"),
        )
    };
    let floats = |f: &dyn Fn(&Recalibration) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let ints = |f: &dyn Fn(&Recalibration) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
    };
    let mut columns: Vec<ArrayRef> = vec![
        stamp(|r| r.at.as_nanos()),
        stamp(|r| r.fit.window_start.as_nanos()),
        stamp(|r| r.fit.window_end.as_nanos()),
        floats(&|r| r.fit.sigma),
        ints(&|r| r.fit.mid_samples),
        ints(&|r| r.fit.trades),
    ];
    for side in [BookSide::Bid, BookSide::Ask] {
        let fits: Vec<&SideFit> = rows.iter().map(|r| r.fit.side(side)).collect();
        let side_floats = |f: fn(&SideFit) -> Option<f64>| -> ArrayRef {
            Arc::new(fits.iter().map(|s| f(s)).collect::<Float64Array>())
        };
        let side_ints = |f: fn(&SideFit) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(fits.iter().map(|s| f(s))))
        };
        columns.extend([
            side_floats(|s| s.kappa),
            side_floats(|s| s.a),
            side_floats(|s| s.r2),
            side_ints(|s| s.points),
            side_ints(|s| s.orders),
            Arc::new(fits.iter().map(|s| s.reason.as_deref()).collect::<StringArray>()) as ArrayRef,
            Arc::new(
                fits.iter().map(|s| s.quality.map(FitQuality::as_str)).collect::<StringArray>(),
            ),
        ]);
    }
    RecordBatch::try_new(recalibrations_schema(), columns)
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

    /// Shades `[from, to)` on the chart with `label` (walk-forward folds; [`Chart::shade`]).
    pub fn shade(&mut self, from: RecvTime, to: RecvTime, label: &str) {
        self.chart.shade(from.as_nanos(), to.as_nanos(), label);
    }

    /// Writes `recalibrations.parquet`: every fit of the schedule the run was given, so a
    /// reader (or another backtester) can see which σ, κ and A the strategy had when.
    pub fn recalibrations(&self, rows: &[Recalibration]) -> Result<(), OutputError> {
        let path = self.dir.join("recalibrations.parquet");
        let mut table = Table::create(path, recalibrations_schema(), recalibrations_batch)?;
        table.rows.extend_from_slice(rows);
        table.close()
    }

    /// Closes the Parquet files and writes `chart.svg` and `summary.json`.
    pub fn finish(mut self, summary: &Summary) -> Result<(), OutputError> {
        self.fills.close()?;
        self.equity.close()?;
        self.chart.annotate(summary);
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
        let buy = fill.side == BookSide::Bid;
        self.chart.fill(fill.ts_exchange.as_nanos(), fill.price.to_f64(), buy);
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
    use crate::backtest::report::{FillCause, Liquidity};
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
            cause: FillCause::Queue,
            fee: Money::from_raw(45_000_150_000_000),
            position: Qty::parse("-0.01").unwrap(),
            cash: Money::from_units(-30),
            mid: (i % 2 == 0).then(|| Price::parse("3000.015").unwrap()),
            mid2: (i % 2 == 0).then(|| Price::parse("6000.03").unwrap().raw()),
            queue_ahead: (i == 0).then(|| Qty::parse("1.5").unwrap()),
            later_mid2: [Some(Price::parse("6000.05").unwrap().raw()), None, None],
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
        let decimal = |name: &str, row: usize| {
            let c = fills.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<Decimal128Array>().unwrap();
            c.is_valid(row).then(|| c.value_as_string(row))
        };
        // The bid at 3000.01 with mid 3000.015: 1 s later 3000.025, +0.01 (0.0333 bps).
        assert_eq!(decimal("queue_ahead", 0).as_deref(), Some("1.50000000"));
        assert_eq!(decimal("queue_ahead", 1), None);
        assert_eq!(decimal("mid_1s", 0).as_deref(), Some("3000.02500000"));
        assert_eq!(decimal("markout_1s", 0).as_deref(), Some("0.01000000"));
        assert_eq!(decimal("mid_10s", 0), None, "the run ended first");
        assert_eq!(decimal("markout_1s", 1), None, "no mid at the fill");
        let bps = fills.column_by_name("markout_1s_bps").unwrap();
        let bps = bps.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((bps.value(0) - 0.01 / 3000.015 * 1e4).abs() < 1e-12);
        assert!(bps.is_null(1) && !bps.is_null(2));

        let equity = read(&dir.path().join("equity.parquet"));
        assert_eq!(equity.schema(), equity_schema());
        assert_eq!(equity.num_rows(), 10);
        let price = equity.column_by_name("mid").unwrap();
        let price = price.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(price.value_as_string(0), "3000.01500000");
        let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
        assert_eq!(svg.matches(r#"class="fill "#).count(), fills.num_rows(), "a marker per fill");
        let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
        assert!(summary.ends_with("}\n"));
    }

    #[test]
    fn numbered_folders_count_up_and_never_reuse_a_name() {
        let root = tempfile::tempdir().unwrap();
        let parent = root.path().join("backtest");
        let numbered = Destination::Numbered { parent: parent.clone(), stem: "ETH-USD-X".into() };
        assert_eq!(numbered.claim().unwrap(), parent.join("ETH-USD-X-1"));
        assert_eq!(numbered.claim().unwrap(), parent.join("ETH-USD-X-2"));
        // After a gap (a deleted folder) the next is above the highest, and other stems and
        // names that only look alike do not count.
        std::fs::remove_dir(parent.join("ETH-USD-X-1")).unwrap();
        for other in ["ETH-USD-X-sweep-7", "ETH-USD-X-9a", "ETH-USD-Y-5", "ETH-USD-X-"] {
            std::fs::create_dir(parent.join(other)).unwrap();
        }
        assert_eq!(numbered.claim().unwrap(), parent.join("ETH-USD-X-3"));
        let sweep =
            Destination::Numbered { parent: parent.clone(), stem: "ETH-USD-X-sweep".into() };
        assert_eq!(sweep.claim().unwrap(), parent.join("ETH-USD-X-sweep-8"));
    }

    #[test]
    fn a_given_folder_with_files_is_refused_without_force() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let given = |force| Destination::Given { dir: dir.clone(), force };
        given(false).check().unwrap();
        assert_eq!(given(false).claim().unwrap(), dir, "a missing folder is created");
        given(false).claim().unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = format!("{:#}", given(false).check().unwrap_err());
        assert!(err.contains(&dir.display().to_string()) && err.contains("--force"), "{err}");
        assert!(err.contains("another --out") && !err.contains('\n'), "{err}");
        assert_eq!(given(true).claim().unwrap(), dir);
        assert!(dir.join("notes.txt").is_file(), "--force deletes nothing");
        let file = Destination::Given { dir: dir.join("notes.txt"), force: true };
        assert!(format!("{:#}", file.check().unwrap_err()).contains("is a file"));
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
