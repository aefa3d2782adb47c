//! `mdkit compact`: rewrite each closed day's parts of the recorded tables into a few large
//! parts, atomically and idempotently (docs/ARCHITECTURE.md "Compaction"). The work is
//! [`crate::record::compact_day`]; this module finds the days, takes each market's lock and
//! reports.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use chrono::NaiveDate;

use crate::record::{compact_day, DayOutcome, StateAccess, TABLES};
use crate::storage::{
    clear_market_staging, find_parts, CompactConfig, LockError, MarketLock, PartFilter,
};

/// `mdkit compact --help`.
pub const LONG_ABOUT: &str = "\
Rewrite each closed day's parts into a few large ones, atomically.

A day of recording leaves many small parts per table and market (one per checkpoint); every \
reader opens each. `compact` merges each day before --before into parts of up to --part-rows \
rows, in the order readers already read them: the same rows, the same query results. Each \
partition folder is swapped with its rewrite in one step, so a reader sees the old parts or the \
new, never both or neither; kill -9 at any instant leaves the tree readable and the next run \
finishes the job. Days already compacted are left alone.

A market being recorded is skipped (its `collect --compact-daily` compacts it). A partition \
folder holding anything but readable parts is left as it was, naming the file (it would be \
deleted with the old parts). The calibration table is not compacted.";

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Exit codes: 0 done, 1 some market or day was left as it was (named \
above), 2 could not run.

Examples:
  mdkit compact                         # every day before today (UTC)
  mdkit compact --before 2026-12-01 --market BTCUSDT
  mdkit compact --part-rows 5000000")]
pub struct Args {
    /// Compact the days before this UTC date (YYYY-MM-DD) [default: today, UTC]
    #[arg(long, value_name = "DATE")]
    pub before: Option<NaiveDate>,
    /// Only this market (default: every market in the tables)
    #[arg(long)]
    pub market: Option<String>,
    /// Only this venue (its folder name: extended, binance-spot, …)
    #[arg(long)]
    pub venue: Option<String>,
    /// Rows per compacted part at most
    #[arg(long, value_name = "ROWS", default_value_t = CompactConfig::default().part_max_rows,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub part_rows: u64,
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let before = args.before.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let last = before.pred_opt().unwrap_or(NaiveDate::MIN);
    let filter = PartFilter {
        venue: args.venue.as_deref(),
        market: args.market.as_deref(),
        dates: Some((NaiveDate::MIN, last)),
    };
    // (venue, market) → dates with parts in any recorded table.
    let mut days: BTreeMap<(String, String), Vec<NaiveDate>> = BTreeMap::new();
    for table in TABLES {
        let found = find_parts(data, table, &filter)
            .map_err(|e| anyhow::anyhow!("{}: {e}", data.join(table.name()).display()))?;
        for part in found.parts {
            let p = part.partition;
            let dates = days.entry((p.venue, p.market)).or_default();
            if !dates.contains(&p.date) {
                dates.push(p.date);
            }
        }
    }
    if days.is_empty() {
        eprintln!("compact: no parts dated before {before} under {}", data.display());
        return Ok(ExitCode::SUCCESS);
    }
    let config = CompactConfig { part_max_rows: args.part_rows, ..CompactConfig::default() };
    let mut left = 0usize;
    let (mut partitions, mut parts_before, mut parts_after) = (0usize, 0usize, 0usize);
    for ((venue, market), mut dates) in days {
        dates.sort();
        let _lock = match MarketLock::acquire(data, &venue, &market) {
            Ok(lock) => lock,
            Err(LockError::Busy { holder, .. }) => {
                eprintln!("compact: {venue}/{market} skipped: mdkit pid {holder} is recording it (its `collect --compact-daily` compacts it), or stop it first");
                left += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // What an interrupted compaction of this market left in staging, of any day.
        for table in TABLES {
            clear_market_staging(data, table, &venue, &market)?;
        }
        for date in dates {
            let outcome =
                match compact_day(data, &venue, &market, date, &config, StateAccess::Owned) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        eprintln!("compact: {venue}/{market} {date} left as it was: {e}");
                        left += 1;
                        continue;
                    }
                };
            let DayOutcome::Done(tables) = outcome else { continue };
            for (table, outcome) in tables {
                let done = match outcome {
                    Ok(Ok(done)) => done,
                    Ok(Err(_already_compact)) => continue,
                    Err(e) => {
                        eprintln!("compact: {table} {venue}/{market} {date} left as it was: {e}");
                        left += 1;
                        continue;
                    }
                };
                partitions += 1;
                parts_before += done.parts_before;
                parts_after += done.parts_after;
                println!(
                    "{:<10} {venue}/{market} {date}: {} parts -> {}, {} rows, {} -> {}",
                    done.partition.table.name(),
                    done.parts_before,
                    done.parts_after,
                    done.rows,
                    megabytes(done.bytes_before),
                    megabytes(done.bytes_after),
                );
            }
        }
    }
    println!(
        "compacted {partitions} partitions: {parts_before} parts -> {parts_after}{}",
        if partitions == 0 { " (every day before the date was compact already)" } else { "" }
    );
    if left > 0 {
        eprintln!("compact: {left} market(s) or partition(s) left as they were (named above)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
