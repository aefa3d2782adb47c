//! `mdkit backtest`: event replay of a market maker over recorded tables (docs/MODEL.md).
//!
//! The contract between the halves is [`event`]: [`replay`] turns Parquet parts into
//! [`event::Event`]s in strategy-clock order, [`schedule`] computes the recalibrations the
//! strategy may use (past data only), [`spec`] finds the market's tick and lot, and the engine
//! consumes them and streams fills and equity to [`output`]. This module owns the flags, the
//! validated [`Config`] and [`run`]; [`sweep`] runs a grid of settings in parallel. It must
//! not be imported by other subcommands.

pub mod contract;
pub mod diagnose;
pub mod engine;
pub mod event;
pub mod exchange;
pub mod latency;
pub mod metrics;
pub mod queue;
pub mod report;
pub mod settings;
pub mod strategy;

pub mod chart;
pub mod output;
pub mod replay;
pub mod schedule;
pub mod spec;
pub mod sweep;
pub mod walkforward;

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use self::event::{Clock, MarketSpec, Recalibration};
use self::output::{Destination, Output};
use self::replay::{receive_span, Listings, Recording, Replay, Source};
use self::report::{Format, Summary};
use self::schedule::{Calibrator, Plan};
use self::settings::{Latency, Settings};
use crate::estimate::{
    self as calibrate, GridSpec, MarketKey, DEFAULT_LEVELS, LOOKBACK_NS, STRETCH_NS,
};
use crate::model::contract::Contract;
use crate::model::{parse_duration, parse_time, Price, Qty, RecvTime, NANOS_PER_SEC};
use crate::storage::{list, Listing, Selection, Session, Table};

const AFTER_HELP: &str = "\
Settings: docs/MODEL.md's defaults, then --config FILE (a JSON object; keys other commands use are
ignored), then the flags above, then each --set KEY=VALUE, then one value of each --sweep. Keys
are docs/MODEL.md's names (risk_aversion_gamma, inventory_horizon_seconds, fill_cooldown_seconds,
order_size, max_inventory, maker_fee_bps, ...) or short aliases (gamma, horizon, cooldown,
warmup, window, every, ...); an unknown key is an error. Durations take units (90s, 15m).

Range: --from/--to are on the strategy clock and cover whole rows, [from, to); by default
every book frame of the market. With one market in the tree, --venue and --market may be left
out.

Clocks: the simulated exchange sees each row at ts_event; the strategy at ts_recv (--clock
recv, the default). Use --clock event on a recording of `mdkit simulate --speed N` with N > 1,
or a capture whose receive clock is unusable: the recorder stamps ts_recv with the wall clock,
so there warm-up, cooldowns and recalibration windows would be N times too long. With --clock
event each row's ts_recv is replaced by ts_event + --feed-latency (default 5ms; kept monotone
per table: a row whose ts_event went backwards takes the previous row's time), and --from/--to,
warm-up, cooldowns, the recalibration cut and --latency feed (= that constant) all run on that
clock. A hint is printed when ts_event spans over twice what ts_recv does.

Market increments: the tick is the gcd of the distinct best prices (as in `mdkit calibrate`),
the lot (minimum order size) the gcd of the distinct trade quantities, both over all of the
market's rows; --tick/--lot or tick_size/lot_size in the config override them. order_size
defaults to ten lots.

Recalibration: sigma, A and kappa are re-estimated every recalibration_interval_seconds (600)
from the trailing calibration_window_seconds (3600) by calibrate's SQL, over the rows received
before that instant only. The first fit, at --from, sees only data recorded before it (none at
the start of a recording): a side without a fit does not quote, and warmup_period_seconds (900)
holds all quoting at the start and after a data gap. On a range shorter than warm-up + one
interval (and at least 2 minutes), with all three at their default values, they are sized to
the range (interval = warm-up = range/10, window = 3 x that) and a warning says so. Each fit chooses its depth grid from its
own window's orders, as `mdkit calibrate` does. When a run sends no order or gets no
fill, a `note:` line after the summary says why (warm-up, no fit, quotes too far).

Risk aversion: by default gamma_mode is inventory_skew, scale-free: at q_max the reservation
price moves by `skew` (default 1) mean base half-spreads (1/kappa_bid + 1/kappa_ask)/2. Setting
gamma (1/price) alone selects gamma_mode constant.

Contracts: fills are valued by the market's contract (docs/MODEL.md, Contracts): linear:SIZE
(q contracts at p are worth q*SIZE*p quote; spot, USD-M, Extended: linear:1) or inverse:SIZE
(worth q*SIZE/p base: Binance COIN-M, 100 USD for BTC and 10 USD otherwise; PnL, fees, cash
and turnover are then in the base asset). It is the one stored with the recording
(_contract/<venue>/<MARKET>.json, written by collect and import), or --contract; a recording
without one on a venue whose markets are not all linear:1 is refused.

Output: summary.json, fills.parquet, equity.parquet (one row per second: mid, our quotes,
position, cash, equity; schemas/ documents these three) and chart.svg in --out, or without it
in a new folder each run, ./backtest/<MARKET>-<FROM>-<N> (N counts up; nothing is overwritten). An
--out that already holds files is refused unless --force. The summary table goes to stdout,
then the folder. Same tables, settings and seed: byte-identical summary.json and fills.parquet.
--sweep KEY=V1,V2,... (repeatable) runs every combination in parallel into its own folder
(./backtest/<MARKET>-<FROM>-sweep-<N> without --out), one sub-folder per point (named
KEY=VALUE,...), and prints a comparison table, also kept in sweep.txt. --format csv prints one
row per run (per point), --format json each summary object on its own line; the folder then
goes to stderr.

Walk-forward: --walk-forward train=6h,test=1h[,step=1h] cuts the range into folds; each fold runs
the --sweep grid over its train span only, picks the best point by --select (sharpe, pnl or
pnl_dd; the first point on a tie) and runs it over the test span after it. Every run starts flat
and reads only its own span; the recalibrations it uses are fitted on data received before them.
Output: fold-NN/train/<point>/ and fold-NN/test/, walkforward.txt and walkforward.json (each
fold's choice and its in-sample and out-of-sample figures side by side) and, at the top, the
test runs stitched into one account (equity.parquet, fills.parquet, summary.json, chart.svg).

Examples:
  mdkit backtest
  mdkit backtest --market ETH-USD --from 2026-11-20T00:00Z --to 2026-11-21 --fill-model cross
  mdkit backtest --set gamma=0.05 --latency 25ms --sweep gamma=0.05,0.1,0.2 --sweep cooldown=30,60
  mdkit backtest --clock event --set warmup=2m --set window=10m --set every=2m --set gamma=0.001
  mdkit backtest --walk-forward train=6h,test=1h --sweep gamma=0.0005,0.002,0.01 --select pnl_dd";

/// Replay a recording through a market-making strategy and report PnL, risk and fills.
///
/// Replays the recorded depth, book_top and trades of one market over a receive-time range,
/// on two clocks (the simulated exchange at ts_event, the strategy at ts_recv) with order
/// latency and queue-position fill models, and reports every metric of docs/MODEL.md.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Venue to replay (default: the only venue with book_top data)
    #[arg(long)]
    pub venue: Option<String>,
    /// Market to replay (default: the only market with book_top data)
    #[arg(long)]
    pub market: Option<String>,
    /// Strategy clock: recv (ts_recv as recorded) or event (ts_event + --feed-latency; for
    /// `mdkit simulate --speed N` recordings, see below)
    #[arg(long, value_name = "CLOCK", value_parser = ["recv", "event"], default_value = "recv")]
    pub clock: String,
    /// With --clock event: the constant delay from ts_event to the strategy
    #[arg(long, value_name = "DURATION", default_value = "5ms")]
    pub feed_latency: String,
    /// Start of the replay, strategy clock (e.g. 2026-11-20T13:00Z) [default: first book frame]
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the replay, exclusive [default: just after the last book frame]
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// JSON settings file (docs/MODEL.md names; no file is read unless given)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output folder; one that holds files is refused unless --force [default: a new
    /// ./backtest/MARKET-FROM-N each run, e.g. backtest/ETH-USD-20261120T130000Z-1]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that already holds files, over the files of the same names
    /// (nothing else in it is deleted)
    #[arg(long)]
    pub force: bool,
    /// Fill model: cross (optimistic) or queue (queue position) [default: queue]
    #[arg(long, value_name = "MODEL", value_parser = ["cross", "queue"])]
    pub fill_model: Option<String>,
    /// Queue model: risk_averse, prob_power(N) or prob_log [default: risk_averse]
    #[arg(long, value_name = "MODEL")]
    pub queue_model: Option<String>,
    /// Let a fill take part of an order's size (reaches position and cash) [default: off]
    #[arg(long)]
    pub partial_fills: bool,
    /// Order entry and response latency, each: a duration (10ms) or `feed` (the recorded
    /// ts_recv - ts_event of the latest event) [default: 10ms]
    #[arg(long, value_name = "LATENCY")]
    pub latency: Option<String>,
    /// Recorded order latency: a CSV (header req_ts,entry_ns,resp_ns) or Parquet file of
    /// samples, interpolated in time; replaces --latency for the order path (docs/MODEL.md)
    #[arg(long, value_name = "FILE")]
    pub order_latency: Option<String>,
    /// Seed recorded with the run [default: 0, or the config's seed]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Strategy: as (Avellaneda-Stoikov market maker), imbalance (L2 order-book imbalance)
    /// or glft (Gueant-Lehalle-Fernandez-Tapia market maker) [default: as]
    #[arg(long, value_name = "NAME", value_parser = strategy_names())]
    pub strategy: Option<String>,
    /// Price increment [default: inferred, see below]
    #[arg(long, value_name = "PRICE", value_parser = Price::parse)]
    pub tick: Option<Price>,
    /// Minimum order size [default: inferred, see below]
    #[arg(long, value_name = "QTY", value_parser = Qty::parse)]
    pub lot: Option<Qty>,
    /// What one unit of quantity is: linear:SIZE or inverse:SIZE (e.g. inverse:100 for
    /// Binance COIN-M BTC) [default: stored with the recording, see below]
    #[arg(long, value_name = "KIND:SIZE")]
    pub contract: Option<Contract>,
    /// Set one setting, repeatable (e.g. --set gamma=0.05 --set cooldown=30s)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run a grid: every combination of the values of all --sweep flags, in parallel
    #[arg(long = "sweep", value_name = "KEY=V1,V2,...")]
    pub sweep: Vec<String>,
    /// Runs at once in a sweep [default: available cores, at least 2]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Walk-forward evaluation: fold after fold, run the --sweep grid on TRAIN, pick the best
    /// point by --select, and run it on the TEST span that follows (STEP apart, default TEST)
    #[arg(long, value_name = "train=D,test=D[,step=D]")]
    pub walk_forward: Option<String>,
    /// What a walk-forward fold maximises on its train span: sharpe, pnl (net) or pnl_dd (net
    /// PnL / max drawdown)
    #[arg(long, value_name = "METRIC", value_parser = ["sharpe", "pnl", "pnl_dd"], default_value = "sharpe")]
    pub select: String,
    /// What to print: table (the summary; a comparison for a sweep), csv (one row per run,
    /// per point for a sweep) or json (each run's summary object, one per line)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `--strategy`'s values: the registered strategies' names.
fn strategy_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(strategy::ALL.iter().map(|k| k.name()))
}

/// Validated flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub venue: Option<String>,
    pub market: Option<String>,
    pub from: Option<RecvTime>,
    pub to: Option<RecvTime>,
    pub out: Option<PathBuf>,
    /// `--force`: a non-empty `--out` may be written over.
    pub force: bool,
    /// Defaults, config file, flags and `--set` applied.
    pub settings: Settings,
    pub tick: Option<Price>,
    pub lot: Option<Qty>,
    /// `--contract`: overrides the stored contract.
    pub contract: Option<Contract>,
    /// `--sweep` axes, in flag order.
    pub sweep: Vec<sweep::Axis>,
    pub jobs: usize,
    pub clock: Clock,
    pub format: Format,
    /// `--walk-forward` fold lengths, and `--select`.
    pub walk_forward: Option<walkforward::Spec>,
    pub select: walkforward::Select,
}

/// Every key a settings file may hold for the backtest.
pub fn config_keys() -> Vec<&'static str> {
    let mut keys = settings::known_names();
    keys.extend(["tick_size", "lot_size"]);
    keys
}

/// Whether a settings file's backtest keys have values of the right type.
pub fn check_config(path: &Path) -> anyhow::Result<()> {
    Settings::from_config_file(path)?;
    increments_from_config(path)?;
    Ok(())
}

/// Every backtest setting as the settings file `path` (or none) leaves it, with `true` where
/// the file set it: for `mdkit config show`.
pub fn effective_config(path: Option<&Path>) -> anyhow::Result<Vec<(String, String, bool)>> {
    let (settings, file) = match path {
        Some(p) => (
            Settings::from_config_file(p)?,
            crate::process::read_config(&crate::process::ConfigSource {
                path: p.to_path_buf(),
                origin: crate::process::ConfigOrigin::Flag,
            })?,
        ),
        None => (Settings::default(), serde_json::Map::new()),
    };
    let from_file: Vec<&str> = file.keys().filter_map(|k| settings::canonical_key(k)).collect();
    Ok(settings
        .entries()
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value, from_file.contains(&key)))
        .collect())
}

/// `tick_size` and `lot_size` from a config file, the two keys the settings do not hold.
fn increments_from_config(path: &Path) -> anyhow::Result<(Option<Price>, Option<Qty>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --config {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--config {} is not JSON", path.display()))?;
    let text_of = |key: &str| -> Option<String> {
        match value.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let tick = text_of("tick_size")
        .map(|t| Price::parse(&t).with_context(|| format!("bad tick_size {t:?} in --config")))
        .transpose()?;
    let lot = text_of("lot_size")
        .map(|t| Qty::parse(&t).with_context(|| format!("bad lot_size {t:?} in --config")))
        .transpose()?;
    Ok((tick, lot))
}

impl Config {
    pub fn from_args(args: &Args) -> anyhow::Result<Self> {
        let time = |flag: &str, text: &Option<String>| -> anyhow::Result<Option<RecvTime>> {
            text.as_deref()
                .map(|t| parse_time(t).with_context(|| format!("bad --{flag}")))
                .transpose()
        };
        let (from, to) = (time("from", &args.from)?, time("to", &args.to)?);
        if let (Some(from), Some(to)) = (from, to) {
            anyhow::ensure!(from < to, "empty range: --from {from} is not before --to {to}");
        }
        let (mut settings, mut tick, mut lot) =
            match crate::process::config_source(args.config.as_deref()) {
                Some(source) => {
                    let settings = Settings::from_config_file(&source.path)?;
                    let (tick, lot) = increments_from_config(&source.path)?;
                    (settings, tick, lot)
                }
                None => (Settings::default(), None, None),
            };
        // (flag, setting, value), applied in this order.
        let mut flags: Vec<(&str, &str, String)> = Vec::new();
        if let Some(v) = &args.fill_model {
            flags.push(("fill-model", "fill_model", v.clone()));
        }
        if let Some(v) = &args.queue_model {
            flags.push(("queue-model", "queue_model", v.clone()));
        }
        if args.partial_fills {
            flags.push(("partial-fills", "partial_fills", "true".into()));
        }
        if let Some(v) = &args.latency {
            flags.push(("latency", "entry_latency", v.clone()));
            flags.push(("latency", "response_latency", v.clone()));
        }
        if let Some(v) = &args.order_latency {
            flags.push(("order-latency", "order_latency", v.clone()));
        }
        if let Some(v) = args.seed {
            flags.push(("seed", "seed", v.to_string()));
        }
        if let Some(v) = &args.strategy {
            flags.push(("strategy", "strategy", v.clone()));
        }
        for (flag, key, value) in flags {
            settings.set(key, &value).with_context(|| format!("bad --{flag}"))?;
        }
        for pair in &args.set {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--set {pair:?}: expected KEY=VALUE"))?;
            settings.set(key, value).with_context(|| format!("bad --set {pair}"))?;
        }
        tick = args.tick.or(tick);
        lot = args.lot.or(lot);
        anyhow::ensure!(tick.is_none_or(|t| t.raw() > 0), "the tick must be above zero");
        anyhow::ensure!(lot.is_none_or(|l| l.raw() > 0), "the lot must be above zero");
        let sweep = sweep::axes(&args.sweep, &settings)?;
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()).max(2));
        anyhow::ensure!(jobs >= 1, "--jobs must be at least 1");
        let walk_forward = args
            .walk_forward
            .as_deref()
            .map(|text| text.parse::<walkforward::Spec>().context("bad --walk-forward"))
            .transpose()?;
        let select = walkforward::Select::parse(&args.select)?;
        let clock = match args.clock.as_str() {
            "event" => {
                let latency = parse_duration(&args.feed_latency).context("bad --feed-latency")?;
                let feed_latency_ns =
                    i64::try_from(latency.as_nanos()).context("bad --feed-latency: too long")?;
                Clock::Event { feed_latency_ns }
            }
            // An empty value is `Args::default()`'s (clap fills in `recv`).
            "recv" | "" => Clock::Recv,
            other => anyhow::bail!("bad --clock {other:?}: recv or event"),
        };
        Ok(Self {
            clock,
            venue: args.venue.clone(),
            market: args.market.clone(),
            from,
            to,
            out: args.out.clone(),
            force: args.force,
            settings,
            tick,
            lot,
            contract: args.contract,
            sweep,
            jobs,
            format: args.format,
            walk_forward,
            select,
        })
    }
}

impl Config {
    /// Where the output goes: `--out`, or a new numbered folder under ./backtest named after
    /// the market and the start of the range (`-sweep` in the name for a sweep).
    fn destination(&self, market: &str, from: RecvTime) -> Destination {
        match &self.out {
            Some(dir) => Destination::Given { dir: dir.clone(), force: self.force },
            None => {
                let from = from.to_datetime().format("%Y%m%dT%H%M%SZ");
                let sweep = match (&self.walk_forward, self.sweep.is_empty()) {
                    (Some(_), _) => "-walkforward",
                    (None, true) => "",
                    (None, false) => "-sweep",
                };
                Destination::Numbered {
                    parent: PathBuf::from(output::DEFAULT_PARENT),
                    stem: output::component(&format!("{market}-{from}{sweep}")),
                }
            }
        }
    }
}

/// Everything a run needs, found and checked before any output is written.
pub struct Prepared {
    /// The data tree.
    pub root: PathBuf,
    pub key: MarketKey,
    /// The market's whole `book_top` and `trades` listings.
    pub recording: Recording,
    pub listings: Listings,
    pub spec: MarketSpec,
    /// The output folder, claimed only once everything else has been checked.
    pub destination: Destination,
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<()> {
    crate::process::require_data_dir(data)?;
    let mut config = Config::from_args(&args)?;
    // A given --out that may not be written is refused before anything is read.
    if let Some(dir) = &config.out {
        Destination::Given { dir: dir.clone(), force: config.force }.check()?;
    }
    let runtime = crate::process::query_runtime()?;
    let prepared = prepare(data, &config)?;
    let source = &prepared.listings.source;
    let span_ns = source.to.as_nanos().saturating_sub(source.from.as_nanos());
    if let Some(spec) = config.walk_forward {
        // Each fold's runs are separate backtests over their own spans; a schedule sized to
        // the whole range would not fit them, so the settings stay as given.
        anyhow::ensure!(
            !walkforward::folds(source.from, source.to, spec).is_empty(),
            "--walk-forward: the range {} .. {} is shorter than one fold (train {} s + test {} s): \
             shorten train/test or widen --from/--to",
            source.from,
            source.to,
            spec.train_ns / NANOS_PER_SEC,
            spec.test_ns / NANOS_PER_SEC
        );
    } else if let Some(note) = size_to_range(&mut config.settings, span_ns) {
        tracing::warn!("{note}");
    }
    let points = sweep::points(&config.settings, &config.sweep)?;
    // Every point's settings must resolve before anything is written.
    for point in &points {
        point.settings.resolve(prepared.spec).with_context(|| {
            if point.label.is_empty() {
                "bad settings".to_owned()
            } else {
                format!("bad settings for sweep point {}", point.label)
            }
        })?;
    }
    // A single run starts reading its events now, so the reader threads decode the first
    // batches while the schedule is computed (issue 22: a short run's fixed costs).
    let single = config.walk_forward.is_none() && config.sweep.is_empty();
    let early = single.then(|| prepared.listings.replay());
    let schedules = runtime.block_on(sweep::schedules(&prepared, &points))?;
    drop(runtime);
    let dir = prepared.destination.claim()?;
    if let Some(spec) = config.walk_forward {
        walkforward::run(
            data,
            &prepared,
            &points,
            &schedules,
            spec,
            config.select,
            config.jobs,
            &dir,
            config.format,
        )
    } else if let Some(replay) = early {
        let point = &points[0];
        let recalibrations = sweep::schedule_of(&schedules, &point.settings)?;
        let summary =
            run_one(&prepared, replay, &point.settings, recalibrations, &dir, visible_bar(), None)?;
        print(config.format, &report::table(&summary), &[("", &summary)], &dir)
    } else {
        sweep::run(&prepared, &points, &schedules, config.jobs, &dir, config.format)
    }
}

/// Prints the results of `runs` (`(sweep point label, summary)`) in `format` (`table` is
/// already made) and names the output folder last: on stdout after a table, on stderr after
/// CSV or JSON so that stdout stays one format.
pub fn print(
    format: Format,
    table: &str,
    runs: &[(&str, &Summary)],
    dir: &Path,
) -> anyhow::Result<()> {
    let body = match format {
        Format::Table => table.to_owned(),
        Format::Csv => report::csv(runs).context("cannot format the summary as CSV")?,
        Format::Json => report::json_lines(runs).context("cannot format the summary as JSON")?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(body.as_bytes())
        .and_then(|()| match format {
            Format::Table => writeln!(out, "output: {}", dir.display()),
            Format::Csv | Format::Json => Ok(()),
        })
        .and_then(|()| out.flush())
        .context("cannot write the results")?;
    if format != Format::Table {
        // Nothing to do if stderr is closed: the results are out.
        let _ = writeln!(std::io::stderr(), "output: {}", dir.display());
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal.
fn visible_bar() -> ProgressBar {
    if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    }
}

/// Both an [`Output`] and a second sink get every fill and second (walk-forward's stitched
/// account).
struct Both<'a, 'b> {
    out: &'a mut Output,
    tee: Option<&'a mut (dyn report::Sink + 'b)>,
}

impl report::Sink for Both<'_, '_> {
    fn fill(&mut self, fill: &report::Fill) -> Result<(), report::SinkError> {
        if let Some(tee) = &mut self.tee {
            tee.fill(fill)?;
        }
        self.out.fill(fill)
    }

    fn equity(&mut self, sample: &report::EquitySample) -> Result<(), report::SinkError> {
        if let Some(tee) = &mut self.tee {
            tee.equity(sample)?;
        }
        self.out.equity(sample)
    }

    fn progress(&mut self, events: u64, now: RecvTime) {
        self.out.progress(events, now);
    }
}

/// One backtest into `dir`: replay, engine, output files; every fill and second also goes to
/// `tee` when given. Returns the summary. `replay` is `prepared.listings.replay()`, which the
/// caller may start early so its reader threads decode while the schedule is computed.
pub fn run_one(
    prepared: &Prepared,
    replay: Replay,
    settings: &Settings,
    recalibrations: &[Recalibration],
    dir: &Path,
    progress: ProgressBar,
    tee: Option<&mut dyn report::Sink>,
) -> anyhow::Result<Summary> {
    let source = &prepared.listings.source;
    let span = (source.to.as_nanos() - source.from.as_nanos()).max(0) / NANOS_PER_SEC;
    progress.set_length(span as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} s of strategy time {eta}")
    {
        progress.set_style(style);
    }
    progress.set_message(source.market.clone());
    let second = |t: RecvTime| t.to_datetime().format("%Y-%m-%d %H:%M:%S");
    let title = format!(
        "{} {} .. {} UTC ({})",
        source.market,
        second(source.from),
        second(source.to),
        settings_label(settings)
    );
    let mut sink = Output::create(dir, title, source.from, source.to, progress)
        .with_context(|| format!("cannot create the output in {}", dir.display()))?;
    sink.recalibrations(recalibrations)
        .with_context(|| format!("cannot write the output in {}", dir.display()))?;
    let clock = source.clock;
    let engine_settings = on_clock(settings, clock);
    let mut summary = engine::run(
        replay,
        prepared.spec,
        &engine_settings,
        recalibrations,
        &mut Both { out: &mut sink, tee },
    )
    .with_context(|| format!("backtest of {}", source.market))?;
    // Record the settings as given (`feed`, not the constant it stood for).
    summary.settings = settings.entries().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    summary.clock = clock.name().to_owned();
    summary.feed_latency_ns = match clock {
        Clock::Recv => None,
        Clock::Event { feed_latency_ns } => Some(feed_latency_ns),
    };
    summary.venue = source.venue.clone();
    summary.market = source.market.clone();
    let currencies = report::currencies(&source.market);
    let contract = prepared.spec.contract;
    summary.units = report::units_for(currencies.as_ref(), contract);
    summary.contract = contract.to_string();
    summary.settlement_currency =
        currencies.as_ref().map(|(b, q)| contract.settlement(b, q).to_owned());
    (summary.base_asset, summary.quote_currency) = currencies.unzip();
    summary.notes = diagnose::notes(&summary, settings, recalibrations);
    sink.finish(&summary)
        .with_context(|| format!("cannot write the output in {}", dir.display()))?;
    Ok(summary)
}

/// The settings the engine runs with on `clock`: with the event clock, `--latency feed` is
/// the clock's constant feed latency (the derived ts_recv − ts_event).
fn on_clock(settings: &Settings, clock: Clock) -> Settings {
    let mut settings = settings.clone();
    if let Clock::Event { feed_latency_ns } = clock {
        for l in [&mut settings.entry_latency, &mut settings.response_latency] {
            if *l == Latency::Feed {
                *l = Latency::Constant(feed_latency_ns);
            }
        }
    }
    settings
}

/// Strategy and fill model, for chart titles.
fn settings_label(settings: &Settings) -> String {
    let entries = settings.entries();
    let get = |key: &str| {
        entries.iter().find(|(k, _)| *k == key).map_or_else(String::new, |(_, v)| v.clone())
    };
    format!("strategy {}, fill model {}", get("strategy"), get("fill_model"))
}

/// Finds the market and range, lists the parts, and infers the increments.
fn prepare(data: &Path, config: &Config) -> anyhow::Result<Prepared> {
    let (key, all_books) = choose_market(data, config)?;
    // Every reader names each file of the tree that is not a readable part, once (listing
    // warns); the replay lists depth, book_top and trades, so the other tables are listed
    // for that alone.
    for table in [Table::Events, Table::Calibration] {
        list(data, table, &Selection::default())
            .with_context(|| format!("cannot list {}", data.display()))?;
    }
    let whole = Selection {
        venue: Some(key.venue.clone()),
        market: Some(key.market.clone()),
        ..Selection::default()
    };
    // book_top and trades are listed once, here, and narrowed for every later reader.
    let recording = Recording {
        book_top: all_books.narrow(&whole),
        trades: list(data, Table::Trades, &whole)
            .with_context(|| format!("cannot list {}", data.display()))?,
    };
    let book = &recording.book_top;
    let (first, last) = receive_span(book)
        .with_context(|| format!("{}/{} has no book_top rows", key.venue, key.market))?;
    let venue_span = spec::event_span(book)?;
    // The default range on the strategy clock: every book frame.
    let (first, last) = match (config.clock, venue_span) {
        (Clock::Recv, span) => {
            if let Some((lo, hi)) = span {
                let event = hi.as_nanos().saturating_sub(lo.as_nanos());
                let recv = last.as_nanos().saturating_sub(first.as_nanos());
                if let Some(hint) = diagnose::clock_hint(event, recv) {
                    eprintln!("{hint}");
                }
            }
            (first, last)
        }
        (Clock::Event { feed_latency_ns }, Some((lo, hi))) => (
            RecvTime::from_nanos(lo.as_nanos().saturating_add(feed_latency_ns)),
            RecvTime::from_nanos(hi.as_nanos().saturating_add(feed_latency_ns)),
        ),
        (Clock::Event { .. }, None) => {
            anyhow::bail!("{}/{} has no book_top rows", key.venue, key.market)
        }
    };
    let source = Source {
        venue: key.venue.clone(),
        market: key.market.clone(),
        from: config.from.unwrap_or(first),
        to: config.to.unwrap_or(last.saturating_add_nanos(1)),
        clock: config.clock,
    };
    anyhow::ensure!(
        source.from < source.to,
        "empty range: {} is not before {}",
        source.from,
        source.to
    );
    let listings = Listings::within(data, &source, &recording)?;
    // Footer statistics only say a part may hold rows of the range; make sure one does before
    // anything is written (a range inside a recording gap has parts around it but no rows).
    // On the receive clock a row group whose smallest or largest receive time (exact
    // values of its rows) lies in the range says so without reading anything; else each
    // table's time column alone decides (the replay would start a reader thread per table
    // and decode batches ahead, only to drop them).
    let empty = match config.clock {
        Clock::Recv => {
            let sure = listings.tables.iter().any(|l| {
                l.parts.iter().flat_map(|p| &p.row_groups).any(|g| {
                    g.rows > 0
                        && g.time
                            .is_some_and(|(lo, hi)| l.range.contains(lo) || l.range.contains(hi))
                })
            });
            let mut empty = !sure;
            for listing in listings.tables.iter().take_while(|_| !sure) {
                empty &= listing.scan_columns(|_| false).next().transpose()?.is_none();
            }
            empty
        }
        Clock::Event { .. } => listings.replay().next().transpose()?.is_none(),
    };
    if empty {
        anyhow::bail!(
            "{}/{} has no rows {} in [{}, {}): the range falls in a gap of the recording",
            key.venue,
            key.market,
            match config.clock {
                Clock::Recv => "received",
                Clock::Event { .. } => "(ts_event + feed latency)",
            },
            source.from,
            source.to
        );
    }
    let (contract, _) = contract::resolve(data, &key.venue, &key.market, config.contract)?;
    let spec = spec::market_spec(&recording, &key, config.tick, config.lot, contract)?;
    let destination = config.destination(&key.market, source.from);
    Ok(Prepared { root: data.to_path_buf(), key, recording, listings, spec, destination })
}

/// The venue and market to replay: as named, or the only one in `book_top`; with the
/// listing of every market's `book_top`.
fn choose_market(data: &Path, config: &Config) -> anyhow::Result<(MarketKey, Listing)> {
    let all = list(data, Table::BookTop, &Selection::default())
        .with_context(|| format!("cannot list {}", data.display()))?;
    let known: Vec<MarketKey> = all
        .parts
        .iter()
        .map(|p| MarketKey { venue: p.partition.venue.clone(), market: p.partition.market.clone() })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (venue, market) = (config.venue.as_deref(), config.market.as_deref());
    match MarketKey::choose(&known, venue, market).as_slice() {
        [one] => Ok((one.clone(), all)),
        [] => {
            anyhow::bail!("{}", MarketKey::none_found("book_top rows", data, &known, venue, market))
        }
        several => anyhow::bail!(
            "several markets have data ({}): choose one with --venue and --market",
            several.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Recalibrations per range when the schedule is sized to a short range.
const SIZED_FITS: f64 = 10.0;
/// A range shorter than this (seconds) is not sized: its fits would see a few seconds each.
const SIZED_MIN_SPAN: f64 = 120.0;

/// On a range too short for the default schedule to ever quote (shorter than the warm-up plus
/// one recalibration interval) but at least two minutes long, and only when warm-up, window
/// and interval are all at their default values: interval = warm-up = range / 10 and window =
/// 3 × that, in whole seconds. Returns the line that says so.
pub fn size_to_range(settings: &mut Settings, span_ns: i64) -> Option<String> {
    let defaults = Settings::default();
    let untouched = settings.warmup_period_seconds == defaults.warmup_period_seconds
        && settings.calibration_window_seconds == defaults.calibration_window_seconds
        && settings.recalibration_interval_seconds == defaults.recalibration_interval_seconds;
    let span = span_ns as f64 / NANOS_PER_SEC as f64;
    let needed = settings.warmup_period_seconds + settings.recalibration_interval_seconds;
    if !untouched || span >= needed || span < SIZED_MIN_SPAN {
        return None;
    }
    let every = (span / SIZED_FITS).floor();
    settings.warmup_period_seconds = every;
    settings.recalibration_interval_seconds = every;
    settings.calibration_window_seconds = 3.0 * every;
    Some(format!(
        "the range is {span:.0} s, shorter than the default warm-up + recalibration interval \
         ({needed:.0} s), so nothing would be quoted: sized to the data: warmup={every}s, \
         every={every}s, window={}s (set warmup, every and window to choose them)",
        3.0 * every
    ))
}

/// The calibration settings a schedule uses: `mdkit calibrate`'s defaults (the depth grid chosen from
/// each window's orders, in multiples of the market's tick).
pub fn calibration_settings(spec: MarketSpec, window_ns: i64) -> calibrate::Settings {
    calibrate::Settings {
        sample_interval_ns: NANOS_PER_SEC,
        grid: GridSpec::FromData { tick: spec.tick, levels: DEFAULT_LEVELS, start: None },
        min_count: 5,
        lookback_ns: window_ns.max(LOOKBACK_NS),
        stretch_ns: STRETCH_NS,
    }
}

/// The schedule of one (window, interval) pair over the prepared range.
pub async fn recalibrations(
    prepared: &Prepared,
    window_ns: i64,
    interval_ns: i64,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Recalibration>> {
    let source = &prepared.listings.source;
    let plan = Plan { from: source.from, to: source.to, window_ns, interval_ns };
    let settings = calibration_settings(prepared.spec, window_ns);
    let progress = |done: usize, total: usize| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    };
    let schedule = match source.clock {
        // One pass over the tables, equal to the SQL (src/estimate/rows.rs).
        Clock::Recv => {
            schedule::one_pass(&prepared.recording, &prepared.key, &settings, &plan, progress)?
        }
        // The event clock cuts on ts_event, which the tables are not stored in order of.
        Clock::Event { .. } => {
            let session = Session::open(&prepared.root).await.with_context(|| {
                format!("cannot open the data tree at {}", prepared.root.display())
            })?;
            Calibrator::new(&session.ctx, prepared.key.clone(), settings)
                .await?
                .on_clock(source.clock)
                .schedule(&plan, progress)
                .await?
        }
    };
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(settings: &Settings, key: &str) -> String {
        settings.entries().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v).unwrap()
    }

    #[test]
    fn defaults_then_config_then_flags_then_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"risk_aversion_gamma": 0.2, "fill_model": "cross", "seed": 3,
                "tick_size": "0.05", "lot_size": 0.01, "data_directory": "elsewhere"}"#,
        )
        .unwrap();
        let args = Args {
            config: Some(path),
            fill_model: Some("queue".into()),
            set: vec!["gamma=0.3".into()],
            lot: Some(Qty::parse("0.001").unwrap()),
            ..Args::default()
        };
        let config = Config::from_args(&args).unwrap();
        assert_eq!(entry(&config.settings, "risk_aversion_gamma"), "0.3", "--set wins");
        assert_eq!(entry(&config.settings, "fill_model"), "queue", "a flag beats the config");
        assert_eq!(entry(&config.settings, "seed"), "3", "the config beats the default");
        assert_eq!(config.tick, Some(Price::parse("0.05").unwrap()));
        assert_eq!(config.lot, Some(Qty::parse("0.001").unwrap()), "--lot beats lot_size");

        let defaults = Config::from_args(&Args::default()).unwrap();
        assert_eq!(
            entry(&defaults.settings, "risk_aversion_gamma"),
            "0.1",
            "docs/MODEL.md default"
        );
        assert_eq!((defaults.tick, defaults.lot), (None, None), "inferred later");
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let bad = |args: Args| format!("{:#}", Config::from_args(&args).unwrap_err());
        let err = bad(Args { set: vec!["gamma".into()], ..Args::default() });
        assert!(err.contains("--set \"gamma\": expected KEY=VALUE"), "{err}");
        let err = bad(Args { latency: Some("fast".into()), ..Args::default() });
        assert!(err.contains("bad --latency") && err.contains("fast"), "{err}");
        let err = bad(Args {
            from: Some("2026-11-21".into()),
            to: Some("2026-11-20".into()),
            ..Args::default()
        });
        assert!(err.contains("empty range"), "{err}");
    }
}
