//! `mdkit calibrate`: σ, A and κ per side (docs/MODEL.md) by the SQL in `sql/`, per window, printed
//! with a quality verdict per side and written to the `calibration` table for `spread`.
//!
//! [`crate::estimate`] is the library part (one window on any registered table set: the
//! backtester uses it too); [`report`] prints the rows and the warnings on poor fits; [`store`]
//! writes them, one row per window and settings. This module owns the flags, the validated
//! [`Config`], the choice of markets, range, tick and windows, and [`run`]. It must not be
//! imported by other subcommands.

mod report;
mod store;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use arrow::array::{Array, StringArray, TimestampNanosecondArray};
use datafusion::prelude::SessionContext;
use indicatif::{ProgressBar, ProgressStyle};

pub use self::report::Format;
pub use crate::estimate::{
    fit, infer_market_tick, intensity, volatility, window, CalibrateError, DepthGrid, Fit,
    GridSpec, IntensityPoint, MarketKey, Settings, Volatility, Window, DEFAULT_LEVELS, LOOKBACK_NS,
    STRETCH_NS,
};
use crate::model::{parse_duration, parse_time, EventTime, Price, RecvTime};
use crate::storage::{CalibrationRow, Session};

const AFTER_HELP: &str = "\
Units: sigma in price/sqrt(s) (price = the market's quote currency, e.g. USDT), kappa in
1/price, A in 1/s; R2 is the R² of ln λ(δ) = ln A − κ·δ over the grid points used.

Without --every, one window covers the whole range (default: all book_top data of the market).
With --every E, windows of length --window end at from+window, from+window+E, ... up to --to;
one row per window end. A book frame up to 30 minutes (docs/MODEL.md's gap_threshold_seconds) or one
window length, whichever is longer, before a window's start may give the mid at its start.

The depth grid δ_k = start + k·step (k < --depth-levels) is chosen per window from the data:
the step is a round multiple of the market's tick (1, 2 or 5 × 10^n ticks) such that the last
point is still reached by 2 % of each side's orders (and at least 4 × --min-count of them), and
the start is half the step. --depth-step (and --depth-start) set it instead. The grid used is
printed and stored with each row.

Each side gets a quality verdict: good (R² ≥ 0.9 over ≥ 5 points), poor (a warning names the
setting to change), or none (no fit, with the reason). Each row stores when it was written
and the settings that produced it; running the same window again with the same settings
replaces its row, other settings add a row beside it, and readers (spread) take the
latest-written row. --no-write only prints.

A window is read 8 hours at a time (two such stretches and σ at once, one per core), so
memory follows 8 hours of data, not the window: about 450 MB for a week of a busy market.
--memory-limit (default 1GB) bounds the memory the queries hold: a sort or aggregate that
needs more spills to the OS temp directory (TMPDIR), so a denser market costs time, not memory.

Examples:
  mdkit calibrate --market BTCUSDT
  mdkit calibrate --market ETH-USD --from 2026-11-20T00:00Z --to 2026-11-21 --window 1h --every 10m
  mdkit calibrate --format json --depth-step 0.05 --min-count 10
  mdkit --data s3://bucket/rec calibrate --engine ballista://10.0.0.5:50050 --no-write";

/// Estimate sigma, A and kappa per side from book_top and trades, by the SQL in sql/.
///
/// Prints sigma (price/√s), kappa (1/price) and A (1/s) per side with R², fit points, order
/// counts, the quality verdict and the depth grid per window, and writes one row per window to
/// the calibration table. A window that cannot give a parameter (no trades on a side, too few
/// grid points) prints and stores it as null with the reason.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Venue of the market(s) to calibrate (default: every venue)
    #[arg(long)]
    pub venue: Option<String>,
    /// Market to calibrate (default: every market in book_top)
    #[arg(long)]
    pub market: Option<String>,
    /// Start of the range, venue clock (e.g. 2026-11-20T13:00Z); default: the first book frame
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, exclusive; default: just after the last book frame
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Window length for rolling calibration (with --every)
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub window: Duration,
    /// Rolling calibration: one window ending every this often
    #[arg(long, value_parser = parse_duration)]
    pub every: Option<Duration>,
    /// Δt of the mid sampling grid for sigma
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub sample_interval: Duration,
    /// Δ of the depth grid, in price (default: chosen from each window's orders, see below)
    #[arg(long, value_name = "PRICE", value_parser = Price::parse)]
    pub depth_step: Option<Price>,
    /// δ₀, the first grid depth, in price (default: half the depth step)
    #[arg(long, value_name = "PRICE", value_parser = Price::parse)]
    pub depth_start: Option<Price>,
    /// K, grid points per side
    #[arg(long, default_value_t = DEFAULT_LEVELS)]
    pub depth_levels: u32,
    /// Orders a grid point needs to enter the fit
    #[arg(long, default_value_t = 5)]
    pub min_count: i64,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only; do not write the calibration table
    #[arg(long)]
    pub no_write: bool,
    /// Memory the queries may hold (e.g. 2GB, 512MiB); sorts and aggregates that need more
    /// spill to the OS temp directory, so memory stays bounded however long the range
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MEMORY_LIMIT, value_parser = parse_memory_limit)]
    pub memory_limit: u64,
    /// Where the queries run: `local` (DataFusion in this process) or a Ballista scheduler,
    /// ballista://HOST:PORT, whose executors read the same --data (the fits run here)
    #[arg(long, value_name = "ENGINE", default_value = "local", env = "MDKIT_ENGINE")]
    pub engine: crate::storage::Engine,
}

/// `--memory-limit` unless set.
pub const DEFAULT_MEMORY_LIMIT: &str = "1GB";

/// A `--memory-limit`: a size with its unit (KB, MB, GB, TB, or KiB … TiB), at least 32 MB.
fn parse_memory_limit(text: &str) -> Result<u64, String> {
    match text.parse::<crate::storage::Retention>() {
        Ok(crate::storage::Retention::Bytes(n)) if n >= 32_000_000 => Ok(n),
        _ => Err(format!("{text:?} is not a memory size of at least 32MB: use e.g. 1GB, 512MiB")),
    }
}

/// Validated flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub venue: Option<String>,
    pub market: Option<String>,
    pub from: Option<EventTime>,
    pub to: Option<EventTime>,
    pub window_ns: i64,
    pub every_ns: Option<i64>,
    pub sample_interval_ns: i64,
    pub depth_step: Option<Price>,
    pub depth_start: Option<Price>,
    pub depth_levels: u32,
    pub min_count: i64,
    pub format: Format,
    pub write: bool,
    /// Bytes DataFusion may hold before it spills.
    pub memory_limit: u64,
    /// Where the SQL runs.
    pub engine: crate::storage::Engine,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Config {
    pub fn from_args(args: &Args) -> anyhow::Result<Self> {
        let time = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<EventTime>> {
            text.as_deref()
                .map(|t| parse_time(t).with_context(|| format!("bad --{flag}")))
                .transpose()
        };
        let config = Self {
            venue: args.venue.clone(),
            market: args.market.clone(),
            from: time("from", &args.from)?,
            to: time("to", &args.to)?,
            window_ns: nanos(args.window),
            every_ns: args.every.map(nanos),
            sample_interval_ns: nanos(args.sample_interval),
            depth_step: args.depth_step,
            depth_start: args.depth_start,
            depth_levels: args.depth_levels,
            min_count: args.min_count,
            format: args.format,
            write: !args.no_write,
            memory_limit: args.memory_limit,
            engine: args.engine.clone(),
        };
        if let (Some(from), Some(to)) = (config.from, config.to) {
            anyhow::ensure!(from < to, "empty range: --from {from} is not before --to {to}");
        }
        anyhow::ensure!(config.window_ns > 0, "--window must be above zero");
        anyhow::ensure!(config.every_ns != Some(0), "--every must be above zero");
        anyhow::ensure!(config.sample_interval_ns > 0, "--sample-interval must be above zero");
        anyhow::ensure!(config.depth_levels > 0, "--depth-levels must be at least 1");
        anyhow::ensure!(config.min_count >= 1, "--min-count must be at least 1");
        if let Some(step) = config.depth_step {
            anyhow::ensure!(step.raw() > 0, "--depth-step must be above zero");
        }
        if let Some(start) = config.depth_start {
            anyhow::ensure!(!start.is_negative(), "--depth-start must not be negative");
        }
        Ok(config)
    }
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<()> {
    crate::process::require_data_dir(data)?;
    let config = Config::from_args(&args)?;
    let runtime = crate::process::query_runtime()?;
    let mut results = runtime.block_on(calibrate(data, &config))?;
    if config.write {
        let now = RecvTime::now();
        for row in results.iter_mut().flat_map(|(_, rows)| rows.iter_mut()) {
            row.written_at = Some(now);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    report::write(&mut out, config.format, &results)?;
    out.flush().context("cannot write the result")?;
    for (key, rows) in &results {
        report::warn_poor_fits(key, rows, &config);
    }
    if config.write {
        for (key, rows) in &results {
            let written = store::write(data, key, rows)?;
            if written.replaced > 0 {
                tracing::info!(
                    "{key}: replaced {} row(s) of the same windows and settings",
                    written.replaced
                );
            }
        }
    }
    Ok(())
}

async fn calibrate(
    data: &Path,
    config: &Config,
) -> anyhow::Result<Vec<(MarketKey, Vec<CalibrationRow>)>> {
    let session = Session::open_on(data, &config.engine, Some(config.memory_limit))
        .await
        .with_context(|| format!("cannot open the data tree at {}", data.display()))?;
    // One partition per query: a window's stretches and its σ already run two at a time, one
    // per core (estimate::orders, estimate::window), and a single partition spares each query
    // its repartitioning, its partial aggregates and its merge of sorted partitions.
    session.ctx.state_ref().write().config_mut().options_mut().execution.target_partitions = 1;
    let ctx = &session.ctx;
    let all = markets(ctx).await?;
    let chosen = MarketKey::choose(&all, config.venue.as_deref(), config.market.as_deref());
    if chosen.is_empty() {
        anyhow::bail!(
            "{}",
            MarketKey::none_found(
                "book_top rows",
                data,
                &all,
                config.venue.as_deref(),
                config.market.as_deref()
            )
        );
    }
    let mut results = Vec::new();
    for key in chosen {
        let rows = calibrate_market(ctx, &key, config)
            .await
            .with_context(|| format!("calibrating {key}"))?;
        results.push((key, rows));
    }
    Ok(results)
}

async fn calibrate_market(
    ctx: &SessionContext,
    key: &MarketKey,
    config: &Config,
) -> anyhow::Result<Vec<CalibrationRow>> {
    let (first, last) = frame_range(ctx, key).await?;
    let from = config.from.unwrap_or(first);
    let to = config.to.unwrap_or(last.saturating_add_nanos(1));
    anyhow::ensure!(from < to, "empty range: {from} is not before {to}");
    let range = Window { start: from, end: to };
    let grid = match config.depth_step {
        Some(step) => GridSpec::Set(DepthGrid {
            start: config.depth_start.unwrap_or(Price::from_raw(step.raw() / 2)),
            step,
            levels: config.depth_levels,
        }),
        None => {
            let all = Window { start: first, end: last.saturating_add_nanos(1) };
            let tick = infer_market_tick(ctx, key, all)
                .await?
                .context("no book prices to infer the tick from: pass --depth-step")?;
            GridSpec::FromData { tick, levels: config.depth_levels, start: config.depth_start }
        }
    };
    let windows = windows(range, config.window_ns, config.every_ns);
    if windows.is_empty() {
        anyhow::bail!(
            "the range {from} .. {to} is shorter than one --window; shorten --window or widen the range"
        );
    }
    let lookback_ns = (windows[0].end.as_nanos() - windows[0].start.as_nanos()).max(LOOKBACK_NS);
    let settings = Settings {
        sample_interval_ns: config.sample_interval_ns,
        grid,
        min_count: config.min_count,
        lookback_ns,
        stretch_ns: STRETCH_NS,
    };
    let progress = if windows.len() > 1 && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(windows.len() as u64).with_message(key.market.clone());
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} windows {eta}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut rows = Vec::with_capacity(windows.len());
    for w in windows {
        rows.push(window(ctx, key, w, &settings).await?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(rows)
}

/// The windows of a run: the whole range, or rolling windows of `window_ns` every `every_ns`.
pub fn windows(range: Window, window_ns: i64, every_ns: Option<i64>) -> Vec<Window> {
    let Some(every) = every_ns else {
        return vec![range];
    };
    let mut out = Vec::new();
    let mut end = range.start.as_nanos().saturating_add(window_ns);
    while end <= range.end.as_nanos() {
        out.push(Window {
            start: EventTime::from_nanos(end - window_ns),
            end: EventTime::from_nanos(end),
        });
        end = end.saturating_add(every);
    }
    out
}

/// Every (venue, market) with book frames.
async fn markets(ctx: &SessionContext) -> anyhow::Result<Vec<MarketKey>> {
    let df = ctx
        .sql("SELECT DISTINCT venue, market FROM book_top ORDER BY venue, market")
        .await
        .context("listing markets")?;
    let mut keys = Vec::new();
    for batch in df.collect().await.context("listing markets")? {
        let column = |i: usize| {
            arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8)
                .context("listing markets")
        };
        let (venues, names) = (column(0)?, column(1)?);
        let venues = venues.as_any().downcast_ref::<StringArray>().context("venue column")?;
        let names = names.as_any().downcast_ref::<StringArray>().context("market column")?;
        for i in 0..batch.num_rows() {
            keys.push(MarketKey {
                venue: venues.value(i).to_owned(),
                market: names.value(i).to_owned(),
            });
        }
    }
    Ok(keys)
}

/// The first and last ts_event of a market's book frames.
async fn frame_range(
    ctx: &SessionContext,
    key: &MarketKey,
) -> anyhow::Result<(EventTime, EventTime)> {
    let batches = crate::estimate::run_query(
        ctx,
        "range",
        "SELECT min(ts_event) AS first, max(ts_event) AS last FROM book_top \
         WHERE venue = $venue AND market = $market",
        vec![("venue", key.venue.as_str().into()), ("market", key.market.as_str().into())],
    )
    .await?;
    let batch = batches.first().context("the range query returned nothing")?;
    let get = |i: usize| -> anyhow::Result<EventTime> {
        let column = batch
            .column(i)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .context("the range query returned no timestamps")?;
        anyhow::ensure!(column.len() == 1 && column.is_valid(0), "no book frames");
        Ok(EventTime::from_nanos(column.value(0)))
    };
    Ok((get(0)?, get(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn range(start: i64, end: i64) -> Window {
        Window { start: EventTime::from_nanos(start), end: EventTime::from_nanos(end) }
    }

    #[test]
    fn without_every_one_window_covers_the_range() {
        assert_eq!(windows(range(0, 100 * S), 3600 * S, None), vec![range(0, 100 * S)]);
    }

    #[test]
    fn rolling_windows_end_every_step_until_the_range_ends() {
        let got = windows(range(0, 10 * S), 4 * S, Some(3 * S));
        assert_eq!(got, vec![range(0, 4 * S), range(3 * S, 7 * S), range(6 * S, 10 * S)]);
        assert!(windows(range(0, 3 * S), 4 * S, Some(S)).is_empty(), "shorter than a window");
    }

    #[test]
    fn memory_limits_are_sizes_with_a_unit() {
        assert_eq!(parse_memory_limit(DEFAULT_MEMORY_LIMIT), Ok(1_000_000_000));
        assert_eq!(parse_memory_limit("512MiB"), Ok(512 << 20));
        assert_eq!(parse_memory_limit("2GB"), Ok(2_000_000_000));
        for bad in ["", "1000000000", "1h", "1KB", "-1GB", "lots"] {
            assert!(parse_memory_limit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_refuse_what_the_sql_cannot_use() {
        let good = Settings {
            sample_interval_ns: S,
            grid: DepthGrid::for_tick(Price::from_raw(1_000_000)).into(),
            min_count: 5,
            lookback_ns: LOOKBACK_NS,
            stretch_ns: STRETCH_NS,
        };
        assert!(good.validate().is_ok());
        assert_eq!(
            DepthGrid::for_tick(Price::from_raw(1_000_000)).start,
            Price::from_raw(500_000),
            "δ₀ = tick / 2"
        );
        let tick = Price::from_raw(1_000_000);
        for bad in [
            Settings { sample_interval_ns: 0, ..good },
            Settings { min_count: 0, ..good },
            Settings { grid: GridSpec::FromData { tick, levels: 0, start: None }, ..good },
            Settings {
                grid: GridSpec::FromData { tick: Price::ZERO, levels: 20, start: None },
                ..good
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
