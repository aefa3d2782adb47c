//! [`CalibrationRow`]: one window's fit in the `calibration` table, with the settings that
//! produced it and when it was written (schemas/calibration.md).
//!
//! The columns added after the first release (`quality_*`, `written_at` and the settings) are
//! nullable: a part written before they existed reads with them null.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray,
};

use super::super::schema::Table;
use super::super::StorageError;
use super::{constant, decimals, finish, i64s, opt, timestamps, Columns, Rows};
use crate::model::{BookSide, EventTime, FitQuality, GridSource, Price, RecvTime};

/// One row of `calibration`: the fit of one window (docs/MODEL.md).
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRow {
    pub window_start: EventTime,
    pub window_end: EventTime,
    /// σ, price / √second.
    pub sigma: Option<f64>,
    pub mid_samples: i64,
    pub trades: i64,
    pub bid: SideFit,
    pub ask: SideFit,
    /// When the row was written, on this machine's wall clock; `None` until it is written
    /// and in parts from before the column existed.
    pub written_at: Option<RecvTime>,
    /// The settings that produced the row; `None` in parts from before the columns existed.
    pub settings: Option<FitSettings>,
}

/// The intensity fit of one side: λ(δ) = A·e^(−κδ).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SideFit {
    /// κ, 1 / price.
    pub kappa: Option<f64>,
    /// A, 1 / second.
    pub a: Option<f64>,
    pub r2: Option<f64>,
    pub points: i64,
    pub orders: i64,
    /// Why the fit is null, when it is.
    pub reason: Option<String>,
    /// The verdict on the fit; `None` in parts from before the column existed.
    pub quality: Option<FitQuality>,
}

/// What a calibration row was computed with: the depth grid δₖ = start + k·step (k < levels)
/// and where it came from, the orders a grid point needs, and the σ sampling interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitSettings {
    pub depth_start: Price,
    pub depth_step: Price,
    pub depth_levels: u32,
    pub grid: GridSource,
    pub min_count: i64,
    pub sample_interval_ns: i64,
}

impl CalibrationRow {
    /// The fit of one side.
    pub fn side(&self, side: BookSide) -> &SideFit {
        match side {
            BookSide::Bid => &self.bid,
            BookSide::Ask => &self.ask,
        }
    }

    /// Whether `other` is the same window computed with the same settings, so that writing
    /// it replaces this row.
    pub fn same_fit(&self, other: &CalibrationRow) -> bool {
        self.window_start == other.window_start
            && self.window_end == other.window_end
            && self.settings == other.settings
    }
}

impl Rows for CalibrationRow {
    const TABLE: Table = Table::Calibration;

    fn to_batch(venue: &str, market: &str, rows: &[Self]) -> RecordBatch {
        let n = rows.len();
        let floats = |f: &dyn Fn(&Self) -> Option<f64>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<Float64Array>())
        };
        let texts = |f: &dyn Fn(&Self) -> Option<&'static str>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        };
        let ints = |f: &dyn Fn(&FitSettings) -> i64| -> ArrayRef {
            Arc::new(rows.iter().map(|r| r.settings.as_ref().map(f)).collect::<Int64Array>())
        };
        let mut columns = vec![
            constant(venue, n),
            constant(market, n),
            timestamps(rows.iter().map(|r| r.window_start.as_nanos())),
            timestamps(rows.iter().map(|r| r.window_end.as_nanos())),
            floats(&|r| r.sigma),
            i64s(rows.iter().map(|r| r.mid_samples)),
            i64s(rows.iter().map(|r| r.trades)),
        ];
        for side in [BookSide::Bid, BookSide::Ask] {
            let fit = move |r: &Self| r.side(side).clone();
            columns.push(floats(&|r| fit(r).kappa));
            columns.push(floats(&|r| fit(r).a));
            columns.push(floats(&|r| fit(r).r2));
            columns.push(i64s(rows.iter().map(|r| fit(r).points)));
            columns.push(i64s(rows.iter().map(|r| fit(r).orders)));
            columns.push(Arc::new(rows.iter().map(|r| fit(r).reason).collect::<StringArray>()));
            columns.push(texts(&|r| fit(r).quality.map(FitQuality::as_str)));
        }
        let written: TimestampNanosecondArray =
            rows.iter().map(|r| r.written_at.map(RecvTime::as_nanos)).collect();
        columns.push(Arc::new(written.with_timezone("UTC")));
        columns.push(texts(&|r| r.settings.map(|s| s.grid.as_str())));
        columns.push(decimals(rows.iter().map(|r| r.settings.map(|s| s.depth_start.raw()))));
        columns.push(decimals(rows.iter().map(|r| r.settings.map(|s| s.depth_step.raw()))));
        columns.push(ints(&|s| i64::from(s.depth_levels)));
        columns.push(ints(&|s| s.min_count));
        columns.push(ints(&|s| s.sample_interval_ns));
        finish(Self::TABLE, columns)
    }

    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, StorageError> {
        let c = Columns::new(Self::TABLE, batch)?;
        let start = c.get::<TimestampNanosecondArray>("window_start")?;
        let end = c.get::<TimestampNanosecondArray>("window_end")?;
        let sigma = c.get::<Float64Array>("sigma")?;
        let samples = c.get::<Int64Array>("mid_samples")?;
        let trades = c.get::<Int64Array>("trades")?;
        let written = c.get::<TimestampNanosecondArray>("written_at")?;
        let grid = c.get::<StringArray>("grid")?;
        let depth_start = c.get::<Decimal128Array>("depth_start")?;
        let depth_step = c.get::<Decimal128Array>("depth_step")?;
        let depth_levels = c.get::<Int64Array>("depth_levels")?;
        let min_count = c.get::<Int64Array>("min_count")?;
        let interval = c.get::<Int64Array>("sample_interval_ns")?;
        let side = |side: &str| -> Result<_, StorageError> {
            Ok((
                c.get::<Float64Array>(&format!("kappa_{side}"))?,
                c.get::<Float64Array>(&format!("a_{side}"))?,
                c.get::<Float64Array>(&format!("r2_{side}"))?,
                c.get::<Int64Array>(&format!("points_{side}"))?,
                c.get::<Int64Array>(&format!("orders_{side}"))?,
                c.get::<StringArray>(&format!("reason_{side}"))?,
                c.get::<StringArray>(&format!("quality_{side}"))?,
            ))
        };
        let (bid, ask) = (side("bid")?, side("ask")?);
        let fit = |(kappa, a, r2, points, orders, reason, quality): &(
            &Float64Array,
            &Float64Array,
            &Float64Array,
            &Int64Array,
            &Int64Array,
            &StringArray,
            &StringArray,
        ),
                   i: usize|
         -> Result<SideFit, StorageError> {
            Ok(SideFit {
                kappa: opt(*kappa, i).then(|| kappa.value(i)),
                a: opt(*a, i).then(|| a.value(i)),
                r2: opt(*r2, i).then(|| r2.value(i)),
                points: points.value(i),
                orders: orders.value(i),
                reason: opt(*reason, i).then(|| reason.value(i).to_owned()),
                quality: if opt(*quality, i) {
                    Some(c.parse("quality", quality.value(i))?)
                } else {
                    None
                },
            })
        };
        let settings = |i: usize| -> Result<Option<FitSettings>, StorageError> {
            let known = [opt(grid, i), opt(depth_start, i), opt(depth_step, i)]
                .into_iter()
                .chain([depth_levels, min_count, interval].map(|a| opt(a, i)))
                .all(|v| v);
            if !known {
                return Ok(None);
            }
            Ok(Some(FitSettings {
                depth_start: Price::from_raw(c.decimal("depth_start", depth_start, i)?),
                depth_step: Price::from_raw(c.decimal("depth_step", depth_step, i)?),
                depth_levels: u32::try_from(depth_levels.value(i)).map_err(|_| {
                    StorageError::Schema {
                        table: Self::TABLE,
                        detail: "column depth_levels: out of range".into(),
                    }
                })?,
                grid: c.parse("grid", grid.value(i))?,
                min_count: min_count.value(i),
                sample_interval_ns: interval.value(i),
            }))
        };
        (0..batch.num_rows())
            .map(|i| {
                Ok(CalibrationRow {
                    window_start: EventTime::from_nanos(start.value(i)),
                    window_end: EventTime::from_nanos(end.value(i)),
                    sigma: opt(sigma, i).then(|| sigma.value(i)),
                    mid_samples: samples.value(i),
                    trades: trades.value(i),
                    bid: fit(&bid, i)?,
                    ask: fit(&ask, i)?,
                    written_at: opt(written, i).then(|| RecvTime::from_nanos(written.value(i))),
                    settings: settings(i)?,
                })
            })
            .collect()
    }
}
