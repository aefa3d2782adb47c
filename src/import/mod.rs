//! `mdkit import`: turn raw captures into the tables through the recorder `collect` uses
//! (`record::Market`), so a parser fix can be re-applied to old captures and imported data
//! is checked by the same rules as live data.
//!
//! * `--from-format hftbacktest-raw`: gzip text, one `<receive time ns> <frame>` per line
//!   ([`raw`]). Each file's Binance market is inferred from its frames (or folder); files of
//!   one market given together are one continuous stream in receive-time order, recorded as
//!   one connection (a chain break starts a new one, as `collect` would reconnect).
//! * `--from-format coinbase-legacy`: cryptofeed's raw recordings of the legacy Coinbase
//!   Exchange feed (`snapshot` / `l2update` / `match`), one market per product under venue
//!   `coinbase-exchange` ([`coinbase`], docs/VENUES.md §16.6).
//! * `--from-format journal`: mdkit's own journal (`<data>/_journal/<venue>/<MARKET>`, archived
//!   segments included), replayed record by record: connections, frames, disconnects and
//!   restarts exactly as `collect` journaled them, so the rows come out as `collect` wrote
//!   them.
//!
//! Re-importing never duplicates rows: a market that already holds rows at or after the
//! capture's first receive time is refused, unless `--replace` deletes that market's tables
//! and state first. Owns flags and the summary; must not parse frames (the recorder does).

mod coinbase;
mod journal;
pub mod raw;

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::contract::Contract;
use crate::model::RecvTime;
use crate::record::{Market, MarketConfig};
use crate::storage::{
    check_name, list, Selection, StoredContract, Table, TimeRange, CONTRACT_VERSION,
};
use crate::venue::Venue;

const LONG_ABOUT: &str = "\
Import raw captures into the depth, book_top, trades and events tables, through the same \
recorder `collect` uses.

Formats:
  hftbacktest-raw  gzip text, one `<receive time ns> <raw frame>` per line, as hftbacktest's \
collector writes Binance combined streams and REST depth snapshots. The Binance market \
(binance-spot, binance-usdm, binance-coinm) and the symbol are inferred from the frames \
unless --venue/--market are given. Files of one market are one continuous stream: give a \
day's files together (e.g. btcusdt_20240808.gz btcusdt_20240809.gz), since a file without \
a REST snapshot has no book on its own.
  coinbase-legacy  cryptofeed raw recordings of the legacy Coinbase Exchange feed (line 1 \
`<url> <-> <connect time>`, then `<receive time>: <frame>`): level2 `snapshot`/`l2update` and \
`match`/`last_match` become each product's depth, book_top, trades (taker side: the opposite of \
the maker `side`) and events under venue coinbase-exchange; every product in the file, or \
--market. l2update has no sequence number, so book continuity cannot be proven.
  journal          mdkit's own journal directory, <data>/_journal/<venue>/<MARKET> (or a \
data root holding _journal/): replayed as collect recorded it.

The market's contract is stored with the tables (<data>/_contract/<venue>/<MARKET>.json) for \
the backtest: --contract, else the venue's rule (linear:1; binance-coinm: inverse:100 for BTC \
symbols, inverse:10 otherwise, Binance's contract sizes).

Importing twice does not duplicate rows: a market whose tables already hold rows at or after \
the capture's first receive time is refused; --replace deletes that market's tables and \
state first.

Examples:
  mdkit import spot/btcusdt_20240808.gz spot/btcusdt_20240809.gz --from-format hftbacktest-raw
  mdkit --data rebuilt import data/_journal/extended/ETH-USD --from-format journal
  mdkit import COINBASE.ws.28.0 --from-format coinbase-legacy --market SKL-USD";

/// Import raw captures (mdkit journals, hftbacktest Binance files, legacy Coinbase captures)
/// into the tables.
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// Capture files (hftbacktest-raw) or journal directories (journal)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What the files are (--format is the output format of the commands that print results)
    #[arg(long = "from-format", value_name = "KIND", value_enum)]
    pub format: Format,
    /// Venue for the tables (default: inferred from the frames or the journal's folder)
    #[arg(long, value_enum)]
    pub venue: Option<Venue>,
    /// Market name for the tables (default: the stream's symbol, or the journal's folder)
    #[arg(long)]
    pub market: Option<String>,
    /// Delete the market's existing tables and state before importing
    #[arg(long)]
    pub replace: bool,
    /// Book levels per side in book_top (1-20)
    #[arg(long, default_value_t = crate::storage::BOOK_TOP_LEVELS)]
    pub levels: usize,
    /// What one unit of quantity is, stored with the recording for the backtest:
    /// linear:SIZE (SIZE base per contract) or inverse:SIZE (SIZE quote per contract)
    /// [default: the venue's rule: linear:1, or on binance-coinm inverse:100 for BTC and
    /// inverse:10 otherwise]
    #[arg(long, value_name = "KIND:SIZE")]
    pub contract: Option<Contract>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Journal,
    HftbacktestRaw,
    /// cryptofeed raw recordings of the legacy Coinbase Exchange feed.
    CoinbaseLegacy,
}

/// What one market's import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub venue: String,
    pub market: String,
    /// How the venue was found (`None`: given with --venue).
    pub inferred: Option<String>,
    pub files: Vec<PathBuf>,
    pub lines: u64,
    /// Frames per kind (hftbacktest-raw) or records (journal).
    pub frames: BTreeMap<&'static str, u64>,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    pub first: Option<RecvTime>,
    pub last: Option<RecvTime>,
    /// Connections recorded.
    pub conns: u32,
    /// Connections ended by a break, with the place and the reason.
    pub breaks: Vec<String>,
}

/// Settings shared by both formats.
#[derive(Debug, Clone)]
pub struct Config {
    pub venue: Option<Venue>,
    pub market: Option<String>,
    pub replace: bool,
    pub market_config: MarketConfig,
    pub progress: bool,
    /// `--contract`: stored instead of the venue's rule.
    pub contract: Option<Contract>,
}

impl Config {
    pub fn from_args(args: &Args) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (1..=crate::storage::BOOK_TOP_LEVELS).contains(&args.levels),
            "--levels must be 1 to {}, not {}",
            crate::storage::BOOK_TOP_LEVELS,
            args.levels
        );
        if let Some(market) = &args.market {
            check_name("market", market)?;
        }
        Ok(Self {
            venue: args.venue,
            market: args.market.clone(),
            replace: args.replace,
            market_config: MarketConfig { levels: args.levels, ..MarketConfig::default() },
            progress: std::io::stderr().is_terminal(),
            contract: args.contract,
        })
    }
}

/// Imports into `data`; with `upload`, each committed part is also published to a remote
/// tree (`--data s3://…` imports into the spool).
pub fn run(
    data: &Path,
    upload: Option<crate::storage::Uploader>,
    args: Args,
) -> anyhow::Result<()> {
    let mut config = Config::from_args(&args)?;
    config.market_config.upload = upload;
    let imported = match args.format {
        Format::HftbacktestRaw => import_raw(data, &args.files, &config)?,
        Format::Journal => journal::import(data, &args.files, &config)?,
        Format::CoinbaseLegacy => coinbase::import(data, &args.files, &config)?,
    };
    for one in &imported {
        print!("{}", summary(one));
        if let Some(stored) = StoredContract::load(data, &one.venue, &one.market)? {
            println!("  contract: {} ({})", stored.contract, stored.source);
        }
    }
    Ok(())
}

/// The summary printed after an import.
pub fn summary(m: &Imported) -> String {
    let how = m.inferred.as_deref().map(|h| format!(" (venue inferred {h})")).unwrap_or_default();
    let frames: Vec<String> = m.frames.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let span = match (m.first, m.last) {
        (Some(a), Some(b)) => format!(", received {a} → {b}"),
        _ => String::new(),
    };
    let rows: Vec<String> = m.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let mut text = format!(
        "{} {}{how}: {} file(s), {} lines ({}){span}\n  rows written: {}; connections: {}\n",
        m.venue,
        m.market,
        m.files.len(),
        m.lines,
        frames.join(", "),
        rows.join(", "),
        m.conns
    );
    for b in &m.breaks {
        text.push_str(&format!("  break: {b}\n"));
    }
    text
}

/// Imports hftbacktest raw captures, one market at a time (see the module header).
pub fn import_raw(
    root: &Path,
    files: &[PathBuf],
    config: &Config,
) -> anyhow::Result<Vec<Imported>> {
    // (venue, market) → the files, with their first receive time and how the venue was found.
    type Files = Vec<(RecvTime, PathBuf, &'static str)>;
    let mut groups: BTreeMap<(Venue, String), Files> = BTreeMap::new();
    for path in files {
        let sniffed = raw::sniff(path)?;
        let venue = config.venue.unwrap_or(Venue::from(sniffed.kind));
        let how = if config.venue.is_some() { "" } else { sniffed.how };
        let market = config.market.clone().unwrap_or(sniffed.market);
        check_name("market", &market)?;
        groups.entry((venue, market)).or_default().push((sniffed.first_ts, path.clone(), how));
    }
    let mut out = Vec::new();
    for ((venue, market), mut files) in groups {
        files.sort();
        let first = files[0].0;
        prepare(root, venue.name(), &market, first, config)?;
        let paths: Vec<PathBuf> = files.iter().map(|f| f.1.clone()).collect();
        let inferred = (!files[0].2.is_empty()).then(|| files[0].2.to_owned());
        let imported = record_raw(root, venue, &market, &paths, config)
            .with_context(|| format!("cannot import {venue}/{market}"))?;
        out.push(Imported { inferred, ..imported });
    }
    Ok(out)
}

/// Refuses to write rows twice (or clears the market with `--replace`).
fn prepare(
    root: &Path,
    venue: &str,
    market: &str,
    first: RecvTime,
    config: &Config,
) -> anyhow::Result<()> {
    if config.replace {
        for table in [Table::Depth, Table::BookTop, Table::Trades, Table::Events] {
            let dir = root
                .join(table.name())
                .join(format!("venue={venue}"))
                .join(format!("market={market}"));
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot delete {}", dir.display()))
                }
            }
        }
        let state = crate::record::State::path(root, venue, market);
        let contract = StoredContract::path(root, venue, market);
        for file in [state, contract] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot delete {}", file.display()))
                }
            }
        }
        return store_contract(root, venue, market, config);
    }
    let selection = Selection {
        venue: Some(venue.to_owned()),
        market: Some(market.to_owned()),
        range: TimeRange::new(Some(first.as_nanos()), None),
    };
    for table in [Table::Depth, Table::BookTop, Table::Trades, Table::Events] {
        let listing = list(root, table, &selection)?;
        if let Some(part) = listing.parts.iter().find(|p| p.rows > 0) {
            anyhow::bail!(
                "{venue}/{market} already has {} rows at or after {first} (e.g. {}): importing again would write them twice; pass --replace to delete the market's tables and state and import afresh",
                table.name(),
                part.path.display()
            );
        }
    }
    store_contract(root, venue, market, config)
}

/// Stores `--contract` with the market, over any contract stored before; without the flag
/// the recorder stores the venue's rule when the market has none.
fn store_contract(root: &Path, venue: &str, market: &str, config: &Config) -> anyhow::Result<()> {
    let Some(contract) = config.contract else { return Ok(()) };
    StoredContract {
        version: CONTRACT_VERSION,
        venue: venue.to_owned(),
        market: market.to_owned(),
        contract,
        source: "import --contract".to_owned(),
    }
    .save(root)?;
    Ok(())
}

fn progress(config: &Config, total: u64) -> Option<ProgressBar> {
    if !config.progress {
        return None;
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} compressed  {msg}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Rows committed per table in the market's state, to report what an import added.
fn rows_of(market: &Market) -> BTreeMap<String, u64> {
    market.committed_rows().clone()
}

fn added(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after.iter().map(|(t, n)| (t.clone(), n - before.get(t).copied().unwrap_or(0))).collect()
}

fn record_raw(
    root: &Path,
    venue: Venue,
    market_name: &str,
    files: &[PathBuf],
    config: &Config,
) -> anyhow::Result<Imported> {
    use crate::storage::{Cause, Entry, Record, Stream};
    let combined: Vec<&str> =
        Venue::ALL.into_iter().filter(|v| v.combined()).map(Venue::name).collect();
    anyhow::ensure!(
        venue.combined(),
        "{venue} is not a venue whose captures are combined streams (hftbacktest-raw holds Binance captures: use --venue {})",
        combined.join(", ")
    );
    let mut market =
        Market::without_journal(root, venue, market_name, config.market_config.clone())?;
    let before = rows_of(&market);
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = progress(config, total);
    let mut imported = Imported {
        venue: venue.name().to_owned(),
        market: market_name.to_owned(),
        files: files.to_vec(),
        ..Imported::default()
    };
    let mut conn = None;
    let mut done_bytes = 0;
    for path in files {
        let url = format!("file://{}", path.display());
        let mut lines = raw::Lines::open(path)?;
        if let Some(bar) = &bar {
            bar.set_message(path.display().to_string());
        }
        while let Some(line) = lines.next_line()? {
            imported.lines += 1;
            *imported.frames.entry(raw::FrameClass::of(&line.text).name()).or_default() += 1;
            imported.first.get_or_insert(line.ts_recv);
            imported.last = Some(line.ts_recv);
            let c = match conn {
                Some(c) => c,
                None => {
                    let c = market.next_conn();
                    let entry =
                        Entry::Connect { conn: c, stream: Stream::Combined, url: url.clone() };
                    market.apply(&Record { jseq: 0, ts_recv: line.ts_recv, entry })?;
                    imported.conns += 1;
                    conn = Some(c);
                    c
                }
            };
            let entry = Entry::Frame { conn: c, text: line.text };
            let verdict = market.apply(&Record { jseq: 0, ts_recv: line.ts_recv, entry })?;
            if let crate::record::Verdict::Close { reason, .. } = verdict {
                let place = format!("{}:{}", path.display(), line.number);
                tracing::warn!(
                    "{place}: {reason}; continuing on a new connection, as collect would reconnect"
                );
                imported.breaks.push(format!("{place}: {reason}"));
                conn = None;
            }
            if let Some(bar) = &bar {
                if imported.lines.is_multiple_of(4096) {
                    bar.set_position(
                        done_bytes + lines.bytes.load(std::sync::atomic::Ordering::Relaxed),
                    );
                }
            }
        }
        done_bytes += lines.bytes.load(std::sync::atomic::Ordering::Relaxed);
    }
    if let (Some(c), Some(last)) = (conn, imported.last) {
        let detail = "end of the capture".to_owned();
        let entry = Entry::Disconnect { conn: c, cause: Cause::Shutdown, detail };
        market.apply(&Record { jseq: 0, ts_recv: last, entry })?;
    }
    market.checkpoint()?;
    imported.rows = added(&before, &rows_of(&market));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(imported)
}
