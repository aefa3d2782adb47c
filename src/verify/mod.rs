//! `mdkit verify`: is this recording a consistent book, and where is it not?
//!
//! For every venue and market in the selection, one pass over `book_top`, `depth` and
//! `trades` checks sequence continuity per connection, duplicates, the replay of `depth`
//! against `book_top`, both clocks and the trades against the book; the files, the state
//! file and `events` are checked around it. Breaks that an `events` row explains are
//! recorded gaps; any other break is an unexplained gap. Exit 0 clean, 1 violations, 2 could
//! not run.
//!
//! Reads the tree, writes nothing. Does not import other subcommands: what it shares with
//! them lives in `model`, `book` and `storage`.

pub mod checks;
pub mod findings;
mod locate;
mod market;
pub mod report;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::RecvTime;
use crate::storage::{list, Selection, StorageError, Table, TimeRange};
pub use market::MarketReport;
pub use report::Report;

/// Check that the recorded tables are a consistent book.
///
/// Per venue and market: sequence continuity per connection (gaps the recorder logged in
/// `events` are told from unexplained ones), duplicate frames and trades, the replay of
/// `depth` (sizes, crossed books, snapshot drift, `book_top` equal to the replayed top),
/// both clocks (ts_recv going back, latency, clock skew), trades against the book, and the
/// files (unreadable or truncated parts, other schemas, state file, leftover temporary files).
/// Examples name the part file and the row (0-based) at fault.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Exit codes: 0 clean, 1 violations found, 2 could not run.\n\nExamples:\n  mdkit verify\n  mdkit verify --market ETH-USD --from 2026-11-20 --to 2026-11-21\n  mdkit verify --from 24h --format json > verify.json\n  mdkit verify --format csv   # one line per kind of finding"
)]
pub struct Args {
    /// Market to check (default: every market in the tables)
    #[arg(long)]
    pub market: Option<String>,
    /// Venue to check (default: every venue)
    #[arg(long)]
    pub venue: Option<String>,
    /// Start of the range, inclusive, on the receive clock (2026-11-20, 2026-11-20T13:00Z, or 24h for 24 hours ago)
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, exclusive
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// How far beyond the best bid or ask a trade may print, in basis points of that price
    #[arg(long, value_name = "BPS", default_value_t = 50)]
    pub price_tolerance: u32,
    /// Examples shown per kind of finding
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub examples: usize,
    /// Same as --format json (kept for scripts written before --format)
    #[arg(long, hide = true)]
    pub json: bool,
    /// table (for people), json (the whole report), or csv (one line per kind of finding)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub venue: Option<String>,
    pub market: Option<String>,
    pub range: TimeRange,
    pub tolerance_bps: u32,
    pub examples: usize,
    /// Show a progress bar over parts on stderr.
    pub progress: bool,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Why verify could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    BadTime(#[from] crate::model::TimeTextError),
    #[error("--from {from} is not before --to {to}: nothing to check")]
    EmptyRange { from: RecvTime, to: RecvTime },
    #[error("data directory {} does not exist: pass --data DIR (or set MDKIT_DATA)", .0.display())]
    NoDataDir(PathBuf),
    #[error("no recording under {}{filter}: nothing to verify", root.display())]
    NothingToVerify { root: PathBuf, filter: String },
    #[error("cannot list {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no rows {range} under {}{filter}: nothing was verified (the range holds no recording)", root.display())]
    NoRowsInRange { root: PathBuf, range: String, filter: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Config {
    pub fn from_args(args: &Args, now: RecvTime) -> Result<Self, VerifyError> {
        let time = |t: &Option<String>| {
            t.as_deref().map(|t| crate::model::parse_time_or_ago(t, now)).transpose()
        };
        let (from, to) = (time(&args.from)?, time(&args.to)?);
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                return Err(VerifyError::EmptyRange { from, to });
            }
        }
        Ok(Self {
            venue: args.venue.clone(),
            market: args.market.clone(),
            range: TimeRange::new(from.map(RecvTime::as_nanos), to.map(RecvTime::as_nanos)),
            tolerance_bps: args.price_tolerance,
            examples: args.examples,
            progress: false,
        })
    }
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::from_args(&args, RecvTime::now())?;
    if crate::storage::remote::is_remote(data) {
        // A bucket that cannot be listed says why (keys, endpoint, bucket name).
        crate::process::require_data_dir(data)?;
    }
    config.progress = std::io::stderr().is_terminal();
    let report = verify(data, &config)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let format = if args.json { Format::Json } else { args.format };
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report).context("cannot write the report")?;
            writeln!(out).context("cannot write the report")?;
        }
        Format::Csv => report::write_csv(&mut out, &report).context("cannot write the report")?,
        Format::Table => {
            report::write_human(&mut out, &report).context("cannot write the report")?
        }
    }
    out.flush().context("cannot write the report")?;
    Ok(if report.violations > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Checks every selected market under `root`.
pub fn verify(root: &Path, config: &Config) -> Result<Report, VerifyError> {
    if !crate::storage::remote::is_dir(root) {
        return Err(VerifyError::NoDataDir(root.to_path_buf()));
    }
    let selection = Selection {
        venue: config.venue.clone(),
        market: config.market.clone(),
        range: TimeRange::ALL,
    };
    let mut markets: BTreeMap<(String, String), market::MarketTables> = BTreeMap::new();
    let mut tree = findings::Findings::new(config.examples);
    // The calibration table is derived, not a recording: only its files are checked.
    for table in market::TABLES.into_iter().chain([Table::Calibration]) {
        let listing = list(root, table, &selection)?;
        for part in listing.parts.into_iter().filter(|_| table != Table::Calibration) {
            let key = (part.partition.venue.clone(), part.partition.market.clone());
            markets.entry(key).or_default().parts.entry(table).or_default().push(part);
        }
        for bad in listing.bad {
            match checks::files::venue_market(&bad.path) {
                Some(key) => markets.entry(key).or_default().bad.push(bad),
                None => checks::files::bad_part(&bad, &mut tree),
            }
        }
    }
    for key in state_markets(root, config)? {
        markets.entry(key).or_default();
    }
    let temps = checks::files::temp_files(root)
        .map_err(|source| VerifyError::Io { path: root.to_path_buf(), source })?;
    let now = std::time::SystemTime::now();
    for temp in temps {
        match checks::files::venue_market(&temp) {
            Some((v, m)) if selected(config, &v, &m) => {
                markets.entry((v, m)).or_default().temps.push(temp)
            }
            Some(_) => {}
            None => checks::files::temp_file(&temp, now, &mut tree),
        }
    }
    if markets.is_empty() {
        let filter = filter_text(config);
        return Err(VerifyError::NothingToVerify { root: root.to_path_buf(), filter });
    }
    let bar = progress_bar(config, markets.values());
    let mut reports = Vec::new();
    for ((venue, market), tables) in &markets {
        if let Some(bar) = &bar {
            bar.set_message(format!("{venue} {market}"));
        }
        reports.push(market::check(root, venue, market, tables, config, bar.clone())?);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Events are connection facts, not a recording of the book.
    let read: u64 = reports
        .iter()
        .flat_map(|r| r.rows.iter().filter(|(t, _)| **t != "events").map(|(_, n)| n))
        .sum();
    if config.range != TimeRange::ALL && read == 0 {
        let at =
            |t: Option<i64>| t.map_or("…".to_owned(), |t| RecvTime::from_nanos(t).to_string());
        return Err(VerifyError::NoRowsInRange {
            root: root.to_path_buf(),
            range: format!("in [{}, {})", at(config.range.start), at(config.range.end)),
            filter: filter_text(config),
        });
    }
    Ok(Report::new(root, config, reports, tree))
}

/// ` for venue V for market M`, as far as they were given.
fn filter_text(config: &Config) -> String {
    let mut filter = String::new();
    for (what, value) in [("venue", &config.venue), ("market", &config.market)] {
        if let Some(v) = value {
            filter.push_str(&format!(" for {what} {v}"));
        }
    }
    filter
}

fn selected(config: &Config, venue: &str, market: &str) -> bool {
    config.venue.as_deref().is_none_or(|v| v == venue)
        && config.market.as_deref().is_none_or(|m| m == market)
}

/// Markets that have a state file, even with no parts left.
fn state_markets(root: &Path, config: &Config) -> Result<Vec<(String, String)>, VerifyError> {
    let dir = root.join("_state");
    let mut found = Vec::new();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VerifyError::Io { path, source }
    };
    let venues = match std::fs::read_dir(&dir) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io(&dir)(e)),
    };
    for venue in venues {
        let venue = venue.map_err(io(&dir))?;
        if !venue.file_type().map_err(io(&dir))?.is_dir() {
            continue;
        }
        let venue_name = venue.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(venue.path()).map_err(io(&venue.path()))? {
            let name = file.map_err(io(&venue.path()))?.file_name().to_string_lossy().into_owned();
            if let Some(market) = name.strip_suffix(".json").filter(|m| !m.starts_with('.')) {
                if selected(config, &venue_name, market) {
                    found.push((venue_name.clone(), market.to_owned()));
                }
            }
        }
    }
    Ok(found)
}

/// A bar over the parts the pass reads, on a terminal only.
fn progress_bar<'a>(
    config: &Config,
    markets: impl Iterator<Item = &'a market::MarketTables>,
) -> Option<ProgressBar> {
    if !config.progress {
        return None;
    }
    let parts: usize = markets
        .map(|m| {
            [Table::Depth, Table::BookTop, Table::Trades]
                .iter()
                .map(|t| m.selected(*t, config.range).count())
                .sum::<usize>()
        })
        .sum();
    let bar = ProgressBar::new(parts as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} parts  {msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn config(flags: &[&str]) -> Result<Config, VerifyError> {
        let cli = Cli::try_parse_from(std::iter::once("verify").chain(flags.iter().copied()))
            .expect("flags parse");
        Config::from_args(&cli.args, RecvTime::from_nanos(1_795_132_800_000_000_000))
    }

    #[test]
    fn flags_become_a_config() {
        let c = config(&["--from", "2026-11-19", "--to", "1h", "--price-tolerance", "20"]).unwrap();
        assert_eq!(c.range.start, Some(1_795_046_400_000_000_000));
        assert_eq!(c.range.end, Some(1_795_129_200_000_000_000));
        assert_eq!((c.tolerance_bps, c.examples), (20, 5));
        for bad in [&["--from", "2026-11-20", "--to", "2026-11-19"][..], &["--to", "soon"]] {
            assert!(config(bad).is_err(), "{bad:?}");
        }
    }
}
