//! Compacting one market's closed day: every recorded table's partition of that date
//! rewritten into a few parts ([`crate::storage::compact_partition`]), with the state file
//! kept consistent (docs/ARCHITECTURE.md "Compaction").
//!
//! The state file names the parts its checkpoint published, so a restart can finish
//! publishing them. Before a day is compacted, any of those that sit in the day are finished
//! and dropped from the list (they are published: nothing is left to finish), and the state is
//! saved — only then are the parts swapped. A crash between the two leaves a state that names
//! fewer parts, all of them present. The calibration table is not compacted: `calibrate`
//! rewrites it without the market's lock.

use std::path::Path;

use chrono::NaiveDate;

use super::{staged, RecordError, State, TABLES};
use crate::storage::{
    compact_partition, publish, CompactConfig, Compacted, Partition, Skipped, Staged, StorageError,
    Table,
};

/// Who may rewrite the state file while the day is compacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAccess {
    /// This caller holds the market's lock and nothing else writes the state (`mdkit
    /// compact`): parts of the day the state names are finished and dropped from it.
    Owned,
    /// A running recorder owns the state (`collect --compact-daily`): a day the last
    /// checkpoint still names parts of is not closed yet, and is left for later.
    Recorder,
}

/// What compacting one table's partition of the day did; an error leaves that partition as
/// it was (the other tables are still compacted).
pub type TableOutcome = Result<Result<Compacted, Skipped>, StorageError>;

/// What compacting a day did, per table.
#[derive(Debug)]
pub enum DayOutcome {
    Done(Vec<(Table, TableOutcome)>),
    /// The running recorder's last checkpoint still names parts of this day.
    NotClosed,
}

/// Compacts `venue`/`market`'s partitions of `date` under `root`. The caller holds the
/// market's lock (directly, or through the recorder that has the market open).
pub fn compact_day(
    root: &Path,
    venue: &str,
    market: &str,
    date: NaiveDate,
    config: &CompactConfig,
    access: StateAccess,
) -> Result<DayOutcome, RecordError> {
    let day_dirs: Vec<_> = TABLES
        .iter()
        .map(|&table| {
            Partition { table, venue: venue.to_owned(), market: market.to_owned(), date }
                .dir(Path::new(""))
        })
        .collect();
    let state_path = State::path(root, venue, market);
    if let Some(mut state) = State::load(&state_path)? {
        let (in_day, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut state.parts)
            .into_iter()
            .partition(|rel| rel.parent().is_some_and(|dir| day_dirs.iter().any(|d| d == dir)));
        if !in_day.is_empty() {
            if access == StateAccess::Recorder {
                return Ok(DayOutcome::NotClosed);
            }
            let staged: Vec<Staged> = in_day
                .iter()
                .map(|rel| staged(root, rel))
                .filter(|s| s.temp.exists() || s.path.exists())
                .collect();
            publish(&staged)?;
            state.parts = rest;
            state.save(&state_path)?;
        }
    }
    let mut done = Vec::new();
    for table in TABLES {
        let partition =
            Partition { table, venue: venue.to_owned(), market: market.to_owned(), date };
        done.push((table, compact_partition(root, &partition, config)));
    }
    Ok(DayOutcome::Done(done))
}
