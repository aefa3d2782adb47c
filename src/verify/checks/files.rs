//! The files checks: parts that cannot be read (unreadable, truncated, another schema), parts
//! whose rows fall outside their `date=` directory, temporary files a writer left behind, and
//! the resume state file against the committed parts.
//!
//! Reads directory entries, footers (through the storage listing) and the state JSON; never
//! the rows themselves, and it deletes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::model::RecvTime;
use crate::storage::{is_temp_name, BadKind, BadPart, PartInfo, Table};
use crate::verify::findings::{Findings, Key, Kind};

/// A temporary file younger than this may belong to a writer that is still running.
pub const OPEN_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

/// Sorts an unreadable part into the finding that says what is wrong with it.
pub fn bad_part(bad: &BadPart, f: &mut Findings) {
    let kind = match bad.kind {
        BadKind::Stray => Kind::StrayFile,
        BadKind::Truncated => Kind::TruncatedPart,
        BadKind::Schema => Kind::SchemaMismatch,
        BadKind::Unreadable => Kind::UnreadablePart,
    };
    f.add(kind, || bad.reason.clone(), vec![Key::File(bad.path.clone())]);
}

/// A part's rows must fall on the UTC date its directory names.
pub fn part_dates(parts: &[PartInfo], f: &mut Findings) {
    for part in parts {
        let Some((lo, hi)) = part.time_span() else { continue };
        let (first, last) =
            (RecvTime::from_nanos(lo).utc_date(), RecvTime::from_nanos(hi).utc_date());
        if first != part.partition.date || last != part.partition.date {
            f.add(
                Kind::PartOutsideDate,
                || {
                    format!(
                        "{} rows span {first} to {last}, but the part sits in date={}",
                        part.partition.table, part.partition.date
                    )
                },
                vec![Key::File(part.path.clone())],
            );
        }
    }
}

/// Temporary part files under the tables, by (venue, market) when their path names one.
pub fn temp_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for table in Table::ALL {
        let mut stack = vec![root.join(table.name())];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    stack.push(entry.path());
                } else if is_temp_name(&entry.file_name().to_string_lossy()) {
                    found.push(entry.path());
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The `venue=` and `market=` values a path names.
pub fn venue_market(path: &Path) -> Option<(String, String)> {
    let mut venue = None;
    let mut market = None;
    for part in path.components() {
        let text = part.as_os_str().to_string_lossy();
        if let Some(v) = text.strip_prefix("venue=") {
            venue = Some(v.to_owned());
        } else if let Some(m) = text.strip_prefix("market=") {
            market = Some(m.to_owned());
        }
    }
    venue.zip(market)
}

/// Reports one temporary file: leftover, or perhaps still being written.
pub fn temp_file(path: &Path, now: SystemTime, f: &mut Findings) {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| now.duration_since(t).ok());
    let recent = age.is_some_and(|a| a < OPEN_TEMP_AGE);
    let kind = if recent { Kind::OpenTempFile } else { Kind::LeftoverTempFile };
    f.add(
        kind,
        || match age {
            Some(age) => format!("temporary part, last written {} s ago", age.as_secs()),
            None => "temporary part".to_string(),
        },
        vec![Key::File(path.to_path_buf())],
    );
}

/// What verify reads of `data/_state/<venue>/<MARKET>.json` (collect writes more).
#[derive(Debug, Deserialize)]
pub struct State {
    pub checkpoint: u64,
    pub next_conn: u32,
    pub parts: Vec<String>,
    pub rows: BTreeMap<String, u64>,
}

pub fn state_path(root: &Path, venue: &str, market: &str) -> PathBuf {
    root.join("_state").join(venue).join(format!("{market}.json"))
}

/// What the parts hold, for comparing with the state.
pub struct Committed<'a> {
    /// Every readable part of the market, per table (all time).
    pub parts: &'a BTreeMap<Table, Vec<PartInfo>>,
    /// Whether rows were counted over all time (no `--from/--to`).
    pub all_time: bool,
    /// The highest connection number seen in any table.
    pub max_conn: Option<u32>,
}

/// Compares the state file of a market with the parts in the tree.
pub fn state(root: &Path, venue: &str, market: &str, committed: &Committed<'_>, f: &mut Findings) {
    let path = state_path(root, venue, market);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            f.add(
                Kind::StateMismatch,
                || format!("cannot read the state file: {e}"),
                vec![Key::File(path)],
            );
            return;
        }
    };
    let state: State = match serde_json::from_str(&text) {
        Ok(state) => state,
        Err(e) => {
            f.add(
                Kind::StateMismatch,
                || format!("state file is not valid: {e}"),
                vec![Key::File(path)],
            );
            return;
        }
    };
    let key = || vec![Key::File(path.clone())];
    for part in &state.parts {
        let full = root.join(part);
        let listed = committed.parts.values().flatten().any(|p| p.path == full);
        if !listed {
            let why = if full.exists() { "is not a readable part" } else { "does not exist" };
            f.add(
                Kind::StateMismatch,
                || format!("checkpoint {} names part {part}, which {why}", state.checkpoint),
                vec![Key::File(path.clone()), Key::File(full.clone())],
            );
        }
    }
    if committed.all_time {
        for table in [Table::Depth, Table::BookTop, Table::Trades, Table::Events] {
            let Some(&want) = state.rows.get(table.name()) else {
                f.add(Kind::StateMismatch, || format!("state has no row count for {table}"), key());
                continue;
            };
            let have: u64 =
                committed.parts.get(&table).map_or(0, |p| p.iter().map(|p| p.rows).sum());
            if have != want {
                let how = if have < want {
                    "rows are missing"
                } else {
                    "rows were committed after the checkpoint"
                };
                f.add(
                    Kind::StateMismatch,
                    || format!("checkpoint {} counts {want} {table} rows; the parts hold {have}: {how}", state.checkpoint),
                    key(),
                );
            }
        }
    }
    if let Some(max) = committed.max_conn.filter(|m| *m >= state.next_conn) {
        f.add(
            Kind::StateMismatch,
            || format!("next_conn is {}, but conn {max} is already in the tables", state.next_conn),
            key(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parts_are_sorted_by_kind() {
        let cases = [
            (BadKind::Truncated, Kind::TruncatedPart),
            (BadKind::Schema, Kind::SchemaMismatch),
            (BadKind::Unreadable, Kind::UnreadablePart),
            (BadKind::Stray, Kind::StrayFile),
        ];
        for (bad, kind) in cases {
            let mut f = Findings::new(1);
            bad_part(&BadPart::new(Path::new("x"), bad, "why"), &mut f);
            assert_eq!(f.count(kind), 1, "{bad:?}");
        }
    }

    #[test]
    fn venue_and_market_come_from_the_path() {
        let path =
            Path::new("/d/depth/venue=extended/market=ETH-USD/date=2026-11-20/.part-1.parquet.tmp");
        assert_eq!(venue_market(path), Some(("extended".into(), "ETH-USD".into())));
        assert_eq!(venue_market(Path::new("/d/depth/x")), None);
    }
}
