//! The calibration of one window, by the SQL in `sql/`: σ (`volatility.sql`), the window's
//! aggressive orders by side and distance (`orders.sql`), the depth grid from them ([`grid`],
//! `reach.sql`), λ(δ) per side from them (`intensity.sql`) and the fit of A and κ (`fit.sql`)
//! with its quality verdict, assembled into a [`CalibrationRow`]. The book and trade tables are
//! read twice per window — once for σ, once for the orders — and the grid and λ(δ) are read
//! from the orders' small histogram ([`Orders`]).
//!
//! It lives below the commands so that `calibrate` and `backtest` share it without one
//! command importing the other (docs/ARCHITECTURE.md "Layering"): [`window`] runs on any [`SessionContext`] that has
//! `book_top` and `trades` registered with mdkit's SQL schema (a data tree opened by
//! [`crate::storage::Session`], or in-memory tables), so the backtester can recalibrate with
//! exactly this code; [`rows`] computes the same numbers for many windows in one pass over rows
//! in memory, for the backtester's schedule. It never prints, writes files or reads flags. The SQL files are embedded,
//! so the binary works from any directory; parameters are bound, never pasted into the text.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures_util::StreamExt;

use crate::model::{
    quote::infer_tick, BookSide, EventTime, FitQuality, GridSource, Price, NANOS_PER_SEC, SCALE,
};
use crate::storage::{CalibrationRow, FitSettings, SideFit};

pub use grid::{choose as choose_grid, DepthGrid, GridSpec, DEFAULT_LEVELS, REACH_SQL};

mod grid;
pub mod rows;

/// `sql/volatility.sql`.
pub const VOLATILITY_SQL: &str = include_str!("../../sql/volatility.sql");
/// `sql/orders.sql`.
pub const ORDERS_SQL: &str = include_str!("../../sql/orders.sql");
/// `sql/intensity.sql`.
pub const INTENSITY_SQL: &str = include_str!("../../sql/intensity.sql");
/// `sql/fit.sql`.
pub const FIT_SQL: &str = include_str!("../../sql/fit.sql");
/// `sql/tick.sql`.
pub const TICK_SQL: &str = include_str!("../../sql/tick.sql");
/// `sql/buckets.sql`.
pub const BUCKETS_SQL: &str = include_str!("../../sql/buckets.sql");
/// `sql/last_frame.sql`.
pub const LAST_FRAME_SQL: &str = include_str!("../../sql/last_frame.sql");

/// The longest stretch of a window one query reads, by default: σ's buckets and the orders
/// are read a stretch at a time, two stretches of orders and one of buckets at once, so a
/// calibration's memory follows eight hours of rows, not the window (7 simulated days: 651 MiB
/// read whole, 451 MiB in 8-hour stretches; 12-hour stretches came to 500).
pub const STRETCH_NS: i64 = 28_800 * NANOS_PER_SEC;

/// Fewer fit points than this give a null side (docs/MODEL.md step 5).
/// How far before a window a book frame may still give the mid at its start, at least: a gap
/// longer than docs/MODEL.md's `gap_threshold_seconds` (1800) is no book at all.
pub const LOOKBACK_NS: i64 = 1800 * 1_000_000_000;

pub const MIN_FIT_POINTS: i64 = 3;

/// A fit with R² below this is `poor` (docs/MODEL.md "Fit quality").
pub const GOOD_R2: f64 = 0.9;
/// A fit over fewer grid points than this is `poor`.
pub const GOOD_POINTS: i64 = 5;

/// What can stop a calibration query (bad data gives null results with a reason instead).
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error("{query}: {source}")]
    Query { query: &'static str, source: Box<datafusion::error::DataFusionError> },
    #[error("{query}: unexpected result: {detail}")]
    Result { query: &'static str, detail: String },
    #[error("invalid calibration setting: {0}")]
    Setting(String),
}

/// Which market's rows to read: the `venue` and `market` partition values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MarketKey {
    pub venue: String,
    pub market: String,
}

impl MarketKey {
    /// The keys `--venue` and `--market` select (`None` selects all): a market is a
    /// (venue, market) pair, so BTCUSDT on two venues is two markets.
    pub fn choose(known: &[MarketKey], venue: Option<&str>, market: Option<&str>) -> Vec<Self> {
        known
            .iter()
            .filter(|k| venue.is_none_or(|v| v == k.venue))
            .filter(|k| market.is_none_or(|m| m == k.market))
            .cloned()
            .collect()
    }

    /// The one-line error when nothing is selected: what was asked, where, and what exists.
    pub fn none_found(
        what: &str,
        root: &std::path::Path,
        known: &[MarketKey],
        venue: Option<&str>,
        market: Option<&str>,
    ) -> String {
        if venue.is_none() && market.is_none() {
            return format!("no {what} under {}: record or import some data first", root.display());
        }
        let known: Vec<String> = known.iter().map(ToString::to_string).collect();
        format!(
            "no {what} for {}/{} under {}; markets with data: {}",
            venue.unwrap_or("*"),
            market.unwrap_or("*"),
            root.display(),
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )
    }
}

impl std::fmt::Display for MarketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.venue, self.market)
    }
}

/// A window [start, end) on the venue clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: EventTime,
    pub end: EventTime,
}

impl Window {
    pub fn secs(&self) -> f64 {
        (self.end.as_nanos() - self.start.as_nanos()) as f64 / NANOS_PER_SEC as f64
    }
}

/// Validated settings of one window's calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Δt of the σ grid, ns (docs/MODEL.md default 1 s).
    pub sample_interval_ns: i64,
    /// The δ grid, or how to choose it from each window's data.
    pub grid: GridSpec,
    /// Orders a grid point needs to enter the fit (default 5).
    pub min_count: i64,
    /// How far before the window start a book frame may still give the mid at the start, ns.
    pub lookback_ns: i64,
    /// The longest stretch of the window one query reads, ns ([`STRETCH_NS`] by default);
    /// the results do not depend on it.
    pub stretch_ns: i64,
}

impl Settings {
    pub fn validate(&self) -> Result<(), CalibrateError> {
        let bad = |m: &str| Err(CalibrateError::Setting(m.to_owned()));
        if self.sample_interval_ns <= 0 {
            return bad("the sample interval must be above zero");
        }
        self.grid.validate()?;
        if self.min_count < 1 || self.lookback_ns < 0 {
            return bad("min count must be at least 1 and the lookback not negative");
        }
        if self.stretch_ns <= 0 {
            return bad("the stretch a query reads must be above zero");
        }
        Ok(())
    }
}

/// The result of `volatility.sql`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Volatility {
    pub sigma: Option<f64>,
    pub mid_samples: i64,
    pub returns: i64,
    pub mean_mid: Option<f64>,
}

/// One row of `intensity.sql`: λ at one grid point of one side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntensityPoint {
    pub side: BookSide,
    pub k: i64,
    pub delta: Price,
    pub orders: i64,
    pub lambda: f64,
    pub side_orders: i64,
    pub side_trades: i64,
}

/// One row of `fit.sql`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub side: BookSide,
    pub kappa: Option<f64>,
    pub a: Option<f64>,
    pub r2: Option<f64>,
    pub points: i64,
}

fn ts(t: EventTime) -> ScalarValue {
    ScalarValue::TimestampNanosecond(Some(t.as_nanos()), Some(Arc::from("UTC")))
}

fn decimal(p: Price) -> ScalarValue {
    ScalarValue::Decimal128(Some(i128::from(p.raw())), 18, SCALE as i8)
}

/// Runs one embedded query with named parameters and collects its batches.
pub async fn run_query(
    ctx: &SessionContext,
    query: &'static str,
    text: &str,
    params: Vec<(&str, ScalarValue)>,
) -> Result<Vec<RecordBatch>, CalibrateError> {
    Ok(run_query_with_schema(ctx, query, text, params).await?.1)
}

/// [`run_query`], with the result's schema (which an empty result has no batch to carry).
async fn run_query_with_schema(
    ctx: &SessionContext,
    query: &'static str,
    text: &str,
    params: Vec<(&str, ScalarValue)>,
) -> Result<(SchemaRef, Vec<RecordBatch>), CalibrateError> {
    let wrap = |e| CalibrateError::Query { query, source: Box::new(e) };
    let started = std::time::Instant::now();
    tracing::debug!("{query}: {}", describe(&params));
    let df = ctx.sql(text).await.map_err(wrap)?;
    let df = df.with_param_values(ParamValues::from(params)).map_err(wrap)?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(wrap)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    tracing::debug!("{query}: {rows} rows in {:.3} s", started.elapsed().as_secs_f64());
    let schema = batches.first().map_or(schema, RecordBatch::schema);
    Ok((schema, batches))
}

/// A context of its own holding one in-memory table.
fn table_context(
    query: &'static str,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<SessionContext, CalibrateError> {
    let wrap = |e| CalibrateError::Query { query, source: Box::new(e) };
    let table = MemTable::try_new(schema, vec![batches]).map_err(wrap)?;
    // One partition: the rows are few (a window's σ buckets at most), a single partition sums
    // them in one order every run, and a repartition would wait for runtime workers that the
    // window's other queries keep busy.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    ctx.register_table(name, Arc::new(table)).map_err(wrap)?;
    Ok(ctx)
}

/// `$name=value, …` for a debug line.
fn describe(params: &[(&str, ScalarValue)]) -> String {
    params.iter().map(|(name, value)| format!("${name}={value}")).collect::<Vec<_>>().join(", ")
}

/// The parameters every stretch query binds: `$venue`, `$market`, `$from`, `$to` (ns).
fn stretch_params(market: &MarketKey, from: i64, to: i64) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("venue", ScalarValue::from(market.venue.as_str())),
        ("market", ScalarValue::from(market.market.as_str())),
        ("from", at(from)),
        ("to", at(to)),
    ]
}

fn lookback_start(window: Window, settings: &Settings) -> EventTime {
    window.start.saturating_add_nanos(-settings.lookback_ns)
}

/// A window cut into stretches of at most `settings.stretch_ns`, as boundaries
/// `start = b₀ < b₁ < … < bₙ = end` (ns): `bⱼ = start + j·M·Δt + 1` is the first instant of σ
/// bucket j·M + 1 (M = stretch / Δt, at least 1), so no bucket of `sql/buckets.sql` spans two
/// stretches.
fn stretches(window: Window, settings: &Settings) -> Vec<i64> {
    let (start, end) = (window.start.as_nanos(), window.end.as_nanos());
    let interval = settings.sample_interval_ns;
    let step = (settings.stretch_ns / interval).max(1).saturating_mul(interval);
    let mut cuts = vec![start];
    let mut next = start.saturating_add(step).saturating_add(1);
    while next < end {
        cuts.push(next);
        next = next.saturating_add(step);
    }
    cuts.push(end.max(start));
    cuts
}

fn at(ns: i64) -> ScalarValue {
    ts(EventTime::from_nanos(ns))
}

/// σ of `market` over `window`: the occupied buckets of each stretch (`sql/buckets.sql`), then
/// σ from all of them (`sql/volatility.sql`).
pub async fn volatility(
    ctx: &SessionContext,
    market: &MarketKey,
    window: Window,
    settings: &Settings,
) -> Result<Volatility, CalibrateError> {
    settings.validate()?;
    let span = (window.end.as_nanos() - window.start.as_nanos()).max(0);
    // ceil(span / Δt): grid points start + k·Δt < end.
    let grid_points = (span + settings.sample_interval_ns - 1) / settings.sample_interval_ns;
    let cuts = stretches(window, settings);
    let (mut schema, mut buckets) = (None, Vec::new());
    for (j, stretch) in cuts.windows(2).enumerate() {
        // The first stretch reaches back to the look-back start: its frames all fall in
        // bucket 0, whose last frame gives the mid at the window start.
        let from = if j == 0 { lookback_start(window, settings).as_nanos() } else { stretch[0] };
        let mut params = stretch_params(market, from, stretch[1]);
        params.extend([
            ("start_ns", ScalarValue::from(window.start.as_nanos())),
            ("interval_ns", ScalarValue::from(settings.sample_interval_ns)),
            ("grid_points", ScalarValue::from(grid_points)),
        ]);
        let (s, batches) = run_query_with_schema(ctx, "buckets.sql", BUCKETS_SQL, params).await?;
        schema.get_or_insert(s);
        buckets.extend(batches);
    }
    let schema = schema.ok_or_else(|| CalibrateError::Setting("an empty window".into()))?;
    let table = table_context("volatility.sql", "buckets", schema, buckets)?;
    let params = vec![
        ("interval_secs", ScalarValue::from(settings.sample_interval_ns as f64 / 1e9)),
        ("grid_points", ScalarValue::from(grid_points)),
    ];
    let batches = run_query(&table, "volatility.sql", VOLATILITY_SQL, params).await?;
    let rows = QueryTable::new("volatility.sql", &batches)?;
    if rows.len() != 1 {
        return Err(rows.bad(format!("{} rows instead of one", rows.len())));
    }
    Ok(Volatility {
        sigma: rows.f64("sigma", 0)?,
        mid_samples: rows.i64("mid_samples", 0)?.unwrap_or(0),
        returns: rows.i64("returns", 0)?.unwrap_or(0),
        mean_mid: rows.f64("mean_mid", 0)?,
    })
}

/// The aggressive orders of one window by side and exact distance (`sql/orders.sql`), held in
/// memory as the table `orders` that `reach.sql` and `intensity.sql` read: a few hundred rows
/// however long the window, so the book and the trades are matched once per window.
pub struct Orders {
    ctx: SessionContext,
}

/// The orders of `market` over `window`: each stretch's histogram (`sql/orders.sql`), its
/// first orders measured from the latest frame before it (`sql/last_frame.sql`).
pub async fn orders(
    ctx: &SessionContext,
    market: &MarketKey,
    window: Window,
    settings: &Settings,
) -> Result<Orders, CalibrateError> {
    settings.validate()?;
    let cuts = stretches(window, settings);
    // [look-back start, window start) and then each stretch: where a stretch's carry is found.
    let mut before = vec![(lookback_start(window, settings).as_nanos(), window.start.as_nanos())];
    before.extend(cuts.windows(2).map(|c| (c[0], c[1])));
    let before = Arc::new(before);
    // Two stretches at a time, each on a task of its own: the running window at the end of
    // each plan runs on one core whatever the partitions.
    let tasks = cuts.windows(2).enumerate().map(|(j, stretch)| {
        let (ctx, market, before) = (ctx.clone(), market.clone(), Arc::clone(&before));
        let (from, to) = (stretch[0], stretch[1]);
        tokio::spawn(async move {
            // The latest frame before the stretch: in the stretch before it, or further back.
            let mut carry = ScalarValue::Decimal128(None, 19, SCALE as i8);
            for &(a, b) in before[..=j].iter().rev() {
                carry = last_frame(&ctx, &market, a, b).await?;
                if !carry.is_null() {
                    break;
                }
            }
            let mut params = stretch_params(&market, from, to);
            params.push(("carry", carry));
            run_query_with_schema(&ctx, "orders.sql", ORDERS_SQL, params).await
        })
    });
    let mut done = futures_util::stream::iter(tasks).buffered(2);
    let (mut schema, mut histogram) = (None, Vec::new());
    while let Some(task) = done.next().await {
        let (s, batches) = joined("orders.sql", task)?;
        schema.get_or_insert(s);
        histogram.extend(batches);
    }
    let schema = schema.ok_or_else(|| CalibrateError::Setting("an empty window".into()))?;
    Ok(Orders { ctx: table_context("orders.sql", "orders", schema, histogram)? })
}

/// bid + ask of the latest frame in [from, to) (`sql/last_frame.sql`), as `orders.sql`'s
/// `$carry`: a null `Decimal128(19, 8)` when there is none. The last minute of the range is
/// looked at first: its parts' statistics let DataFusion skip every other row group, so the
/// carry of a busy market costs one row group, not a stretch of frames.
async fn last_frame(
    ctx: &SessionContext,
    market: &MarketKey,
    from: i64,
    to: i64,
) -> Result<ScalarValue, CalibrateError> {
    const RECENT_NS: i64 = 60 * NANOS_PER_SEC;
    let recent = to.saturating_sub(RECENT_NS).max(from);
    let last = latest_frame(ctx, market, recent, to).await?;
    if !last.is_null() || recent == from {
        return Ok(last);
    }
    latest_frame(ctx, market, from, recent).await
}

/// One run of `sql/last_frame.sql` over [from, to).
async fn latest_frame(
    ctx: &SessionContext,
    market: &MarketKey,
    from: i64,
    to: i64,
) -> Result<ScalarValue, CalibrateError> {
    let params = stretch_params(market, from, to);
    let batches = run_query(ctx, "last_frame.sql", LAST_FRAME_SQL, params).await?;
    let carry = DataType::Decimal128(19, SCALE as i8);
    let bad = |detail: String| CalibrateError::Result { query: "last_frame.sql", detail };
    match batches.iter().find(|b| b.num_rows() > 0) {
        None => ScalarValue::try_from(&carry).map_err(|e| bad(e.to_string())),
        Some(batch) => ScalarValue::try_from_array(batch.column(0), 0)
            .and_then(|v| v.cast_to(&carry))
            .map_err(|e| bad(e.to_string())),
    }
}

/// λ(δₖ) per side of `market` over `window` (`sql/orders.sql`, then `sql/intensity.sql`), on
/// the settings' grid (chosen from the window's orders unless it is set).
pub async fn intensity(
    ctx: &SessionContext,
    market: &MarketKey,
    window: Window,
    settings: &Settings,
) -> Result<Vec<IntensityPoint>, CalibrateError> {
    settings.validate()?;
    let orders = orders(ctx, market, window, settings).await?;
    let (grid, _) = grid::resolve(&orders, settings).await?;
    intensity_on(&orders, window, grid).await
}

/// λ(δₖ) per side from a window's orders on `grid` (`sql/intensity.sql`).
async fn intensity_on(
    orders: &Orders,
    window: Window,
    grid: DepthGrid,
) -> Result<Vec<IntensityPoint>, CalibrateError> {
    let params = vec![
        ("window_secs", ScalarValue::from(window.secs())),
        ("depth_start", decimal(grid.start)),
        ("depth_step", decimal(grid.step)),
        ("depth_levels", ScalarValue::from(i64::from(grid.levels))),
    ];
    let batches = run_query(&orders.ctx, "intensity.sql", INTENSITY_SQL, params).await?;
    let rows = QueryTable::new("intensity.sql", &batches)?;
    (0..rows.len())
        .map(|i| {
            let need = |v: Option<i64>, c: &str| v.ok_or_else(|| rows.bad(format!("null {c}")));
            Ok(IntensityPoint {
                side: rows.side(i)?,
                k: need(rows.i64("k", i)?, "k")?,
                delta: rows.price("delta", i)?,
                orders: need(rows.i64("orders", i)?, "orders")?,
                lambda: rows.f64("lambda", i)?.unwrap_or(0.0),
                side_orders: need(rows.i64("side_orders", i)?, "side_orders")?,
                side_trades: need(rows.i64("side_trades", i)?, "side_trades")?,
            })
        })
        .collect()
}

/// The least-squares fit of ln λ on δ per side (`sql/fit.sql`), over the given points (in
/// their own in-memory table, so the fit can be run on any λ(δ)).
pub async fn fit(points: &[IntensityPoint], min_count: i64) -> Result<Vec<Fit>, CalibrateError> {
    let batch = intensity_batch(points)
        .map_err(|e| CalibrateError::Query { query: "fit.sql", source: Box::new(e.into()) })?;
    let ctx = table_context("fit.sql", "intensity", batch.schema(), vec![batch])?;
    let batches =
        run_query(&ctx, "fit.sql", FIT_SQL, vec![("min_count", ScalarValue::from(min_count))])
            .await?;
    let rows = QueryTable::new("fit.sql", &batches)?;
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    (0..rows.len())
        .map(|i| {
            Ok(Fit {
                side: rows.side(i)?,
                kappa: finite(rows.f64("kappa", i)?),
                a: finite(rows.f64("a", i)?),
                r2: finite(rows.f64("r2", i)?),
                points: rows.i64("points", i)?.unwrap_or(0),
            })
        })
        .collect()
}

/// The `intensity` table `fit.sql` reads.
fn intensity_batch(points: &[IntensityPoint]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let delta: Decimal128Array = points.iter().map(|p| Some(i128::from(p.delta.raw()))).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("side", Arc::new(StringArray::from_iter_values(points.iter().map(|p| p.side.as_str())))),
        ("k", Arc::new(Int64Array::from_iter_values(points.iter().map(|p| p.k)))),
        ("delta", Arc::new(delta.with_precision_and_scale(18, SCALE as i8)?)),
        ("orders", Arc::new(Int64Array::from_iter_values(points.iter().map(|p| p.orders)))),
        ("lambda", Arc::new(Float64Array::from_iter_values(points.iter().map(|p| p.lambda)))),
    ];
    RecordBatch::try_from_iter(columns)
}

/// One window's calibration (docs/MODEL.md σ, A and κ per side), ready for the `calibration`
/// table, with its grid, settings and a quality verdict per side (`written_at` is left for the
/// writer). Data that cannot give a parameter (no frames, a side without trades, too few grid
/// points) gives a null with the reason, never an error.
pub async fn window(
    ctx: &SessionContext,
    market: &MarketKey,
    window: Window,
    settings: &Settings,
) -> Result<CalibrationRow, CalibrateError> {
    // σ on a task of its own, beside the orders: each query runs on one core (`calibrate` sets
    // one partition a query), so the two overlap on two.
    let vol = {
        let (ctx, market, settings) = (ctx.clone(), market.clone(), *settings);
        tokio::spawn(async move { volatility(&ctx, &market, window, &settings).await })
    };
    let orders = orders(ctx, market, window, settings).await?;
    let vol = joined("volatility.sql", vol.await)?;
    let (grid, source) = grid::resolve(&orders, settings).await?;
    let points = intensity_on(&orders, window, grid).await?;
    let fits = fit(&points, settings.min_count).await?;
    Ok(assemble(window, vol, grid, source, &points, &fits, settings))
}

/// The result of a query run on a task of its own; a panic in it goes on in the caller.
fn joined<T>(
    query: &'static str,
    task: Result<Result<T, CalibrateError>, tokio::task::JoinError>,
) -> Result<T, CalibrateError> {
    match task {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(CalibrateError::Result { query, detail: format!("cancelled: {e}") }),
    }
}

/// The calibration row of a window from its σ, λ(δ) and fits (by SQL or by [`rows`]).
fn assemble(
    window: Window,
    vol: Volatility,
    grid: DepthGrid,
    source: GridSource,
    points: &[IntensityPoint],
    fits: &[Fit],
    settings: &Settings,
) -> CalibrationRow {
    let side_fit = |side: BookSide| {
        let mine: Vec<&IntensityPoint> = points.iter().filter(|p| p.side == side).collect();
        let orders = mine.first().map_or(0, |p| p.side_orders);
        side_verdict(side, orders, fits.iter().find(|f| f.side == side), settings.min_count)
    };
    let trades = points.iter().filter(|p| p.k == 0).map(|p| p.side_trades).sum();
    CalibrationRow {
        window_start: window.start,
        window_end: window.end,
        sigma: vol.sigma,
        mid_samples: vol.mid_samples,
        trades,
        bid: side_fit(BookSide::Bid),
        ask: side_fit(BookSide::Ask),
        written_at: None,
        settings: Some(FitSettings {
            depth_start: grid.start,
            depth_step: grid.step,
            depth_levels: grid.levels,
            grid: source,
            min_count: settings.min_count,
            sample_interval_ns: settings.sample_interval_ns,
        }),
    }
}

/// One side's fit with the reason when it is null and its quality verdict.
fn side_verdict(side: BookSide, orders: i64, fit: Option<&Fit>, min_count: i64) -> SideFit {
    let points = fit.map_or(0, |f| f.points);
    let taker = if side == BookSide::Bid { "sell" } else { "buy" };
    let reason = if orders == 0 {
        Some(format!("no taker {taker} orders with an earlier book frame in the window"))
    } else if points < MIN_FIT_POINTS {
        Some(format!(
            "only {points} grid points with at least {min_count} orders (need {MIN_FIT_POINTS}); \
             widen the window or lower --min-count or --depth-step"
        ))
    } else if fit.is_some_and(|f| f.kappa.is_none() || f.a.is_none()) {
        Some("the fit is degenerate (λ does not vary with δ)".to_owned())
    } else {
        None
    };
    match (reason, fit) {
        (None, Some(f)) => SideFit {
            kappa: f.kappa,
            a: f.a,
            r2: f.r2,
            points,
            orders,
            reason: None,
            quality: Some(quality(f.r2, points)),
        },
        (reason, _) => SideFit {
            points,
            orders,
            reason,
            quality: Some(FitQuality::Missing),
            ..SideFit::default()
        },
    }
}

/// The verdict on a fit that exists: `good` with R² ≥ [`GOOD_R2`] over ≥ [`GOOD_POINTS`] points.
pub fn quality(r2: Option<f64>, points: i64) -> FitQuality {
    if r2.is_some_and(|r| r >= GOOD_R2) && points >= GOOD_POINTS {
        FitQuality::Good
    } else {
        FitQuality::Poor
    }
}

/// The market's tick as the gcd of the distinct best prices in `range` (`sql/tick.sql`);
/// `None` when the range has no book prices.
pub async fn infer_market_tick(
    ctx: &SessionContext,
    market: &MarketKey,
    range: Window,
) -> Result<Option<Price>, CalibrateError> {
    let params = vec![
        ("venue", ScalarValue::from(market.venue.as_str())),
        ("market", ScalarValue::from(market.market.as_str())),
        ("window_start", ts(range.start)),
        ("window_end", ts(range.end)),
    ];
    let batches = run_query(ctx, "tick.sql", TICK_SQL, params).await?;
    let rows = QueryTable::new("tick.sql", &batches)?;
    let prices = (0..rows.len()).map(|i| rows.price("price", i)).collect::<Result<Vec<_>, _>>()?;
    Ok(infer_tick(prices))
}

/// A query's result concatenated into one batch, with typed, named access.
struct QueryTable {
    query: &'static str,
    batch: RecordBatch,
}

impl QueryTable {
    fn new(query: &'static str, batches: &[RecordBatch]) -> Result<Self, CalibrateError> {
        let bad = |detail: String| CalibrateError::Result { query, detail };
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => {
                return Ok(Self {
                    query,
                    batch: RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty())),
                })
            }
        };
        let batch =
            arrow::compute::concat_batches(&schema, batches).map_err(|e| bad(e.to_string()))?;
        Ok(Self { query, batch })
    }

    fn len(&self) -> usize {
        self.batch.num_rows()
    }

    fn bad(&self, detail: String) -> CalibrateError {
        CalibrateError::Result { query: self.query, detail }
    }

    fn column(&self, name: &str, to: &DataType) -> Result<ArrayRef, CalibrateError> {
        let column =
            self.batch.column_by_name(name).ok_or_else(|| self.bad(format!("no column {name}")))?;
        cast(column, to).map_err(|e| self.bad(format!("column {name}: {e}")))
    }

    fn f64(&self, name: &str, i: usize) -> Result<Option<f64>, CalibrateError> {
        let column = self.column(name, &DataType::Float64)?;
        let values =
            column.as_any().downcast_ref::<Float64Array>().ok_or_else(|| self.bad(name.into()))?;
        Ok(values.is_valid(i).then(|| values.value(i)))
    }

    fn i64(&self, name: &str, i: usize) -> Result<Option<i64>, CalibrateError> {
        let column = self.column(name, &DataType::Int64)?;
        let values =
            column.as_any().downcast_ref::<Int64Array>().ok_or_else(|| self.bad(name.into()))?;
        Ok(values.is_valid(i).then(|| values.value(i)))
    }

    fn price(&self, name: &str, i: usize) -> Result<Price, CalibrateError> {
        let column = self.column(name, &DataType::Decimal128(18, SCALE as i8))?;
        let values = column
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or_else(|| self.bad(name.into()))?;
        if values.is_null(i) {
            return Err(self.bad(format!("null {name}")));
        }
        i64::try_from(values.value(i))
            .map(Price::from_raw)
            .map_err(|_| self.bad(format!("{name} out of range")))
    }

    fn opt_price(&self, name: &str, i: usize) -> Result<Option<Price>, CalibrateError> {
        let column = self.column(name, &DataType::Decimal128(18, SCALE as i8))?;
        if column.is_null(i) {
            return Ok(None);
        }
        self.price(name, i).map(Some)
    }

    fn side(&self, i: usize) -> Result<BookSide, CalibrateError> {
        let column = self.column("side", &DataType::Utf8)?;
        let values =
            column.as_any().downcast_ref::<StringArray>().ok_or_else(|| self.bad("side".into()))?;
        values.value(i).parse().map_err(|e: crate::model::UnknownName| self.bad(e.to_string()))
    }
}
