//! Where parts live: `<root>/<table>/venue=<v>/market=<m>/date=<YYYY-MM-DD>/part-<HHMMSS>-<conn>-<n>.parquet`.
//!
//! Hive-style directories, so DataFusion, DuckDB, Polars and pyarrow read the tree as it is.
//! A part is written as `.part-….parquet.tmp` beside its final name and becomes visible only
//! by an atomic rename once closed; everything here that lists parts ignores other names.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::part::{BadKind, BadPart};
use super::schema::Table;

/// The partition a part belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub table: Table,
    pub venue: String,
    pub market: String,
    pub date: NaiveDate,
}

impl Partition {
    /// The partition's directory under `root`.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(self.table.name())
            .join(format!("venue={}", self.venue))
            .join(format!("market={}", self.market))
            .join(format!("date={}", self.date.format("%Y-%m-%d")))
    }
}

/// Why a venue or market name cannot name a directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {name:?} cannot name a partition: use letters, digits, '-', '_' or '.', not starting with '.'")]
pub struct BadName {
    pub what: &'static str,
    pub name: String,
}

/// Venue and market names become directory names; keep them to a safe alphabet.
pub fn check_name(what: &'static str, name: &str) -> Result<(), BadName> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BadName { what, name: name.to_owned() })
    }
}

/// `part-<HHMMSS>-<conn>-<n>.parquet`.
pub fn part_name(hhmmss: &str, conn: u32, n: u32) -> String {
    format!("part-{hhmmss}-{conn}-{n}.parquet")
}

/// The hidden name a part is written under until it is closed.
pub fn temp_name(final_name: &str) -> String {
    format!(".{final_name}.tmp")
}

/// Whether a file name is a committed part (not hidden, not temporary).
pub fn is_part_name(name: &str) -> bool {
    name.starts_with("part-") && name.ends_with(".parquet")
}

/// Whether a file name is a temporary part left by a writer that never closed it.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(".part-") && name.ends_with(".parquet.tmp")
}

/// A part file found in the tree, with the partition its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartPath {
    pub path: PathBuf,
    pub partition: Partition,
}

/// Filters for [`find_parts`]; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct PartFilter<'a> {
    pub venue: Option<&'a str>,
    pub market: Option<&'a str>,
    /// Inclusive range of partition dates.
    pub dates: Option<(NaiveDate, NaiveDate)>,
}

/// What [`find_parts`] found under a table folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Files named like parts, in path order (still to be checked by [`super::inspect`]).
    pub parts: Vec<PartPath>,
    /// Every other visible file under the selected folders: never read as data.
    pub strays: Vec<BadPart>,
}

/// Lists the committed parts of `table` under `root` whose directories match `filter`, in
/// path order, and names every other file found on the way (a missing table directory is
/// an empty table). Hidden files (a writer's `.part-*.tmp`) are neither.
pub fn find_parts(root: &Path, table: Table, filter: &PartFilter<'_>) -> io::Result<Found> {
    let mut found = Found::default();
    let table_dir = root.join(table.name());
    let (venues, other) = hive_dirs(&table_dir, "venue")?;
    found.strays.extend(other);
    for (venue, venue_dir) in venues {
        if filter.venue.is_some_and(|v| v != venue) {
            continue;
        }
        let (markets, other) = hive_dirs(&venue_dir, "market")?;
        found.strays.extend(other);
        for (market, market_dir) in markets {
            if filter.market.is_some_and(|m| m != market) {
                continue;
            }
            let (dates, other) = hive_dirs(&market_dir, "date")?;
            found.strays.extend(other);
            for (date_text, date_dir) in dates {
                let Ok(date) = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d") else {
                    found.strays.extend(all_files(&date_dir, "date= is not YYYY-MM-DD")?);
                    continue;
                };
                if filter.dates.is_some_and(|(from, to)| date < from || date > to) {
                    continue;
                }
                let partition =
                    Partition { table, venue: venue.clone(), market: market.clone(), date };
                for (name, is_dir) in super::remote::entries(&date_dir)? {
                    let path = date_dir.join(&name);
                    if name.starts_with('.') {
                        continue;
                    }
                    if is_dir {
                        found.strays.extend(all_files(&path, "not in a date= folder")?);
                    } else if is_part_name(&name) {
                        found.parts.push(PartPath { path, partition: partition.clone() });
                    } else {
                        found.strays.push(stray(&path, "not named part-*.parquet"));
                    }
                }
            }
        }
    }
    Ok(found)
}

fn stray(path: &Path, why: &str) -> BadPart {
    BadPart::new(path, BadKind::Stray, format!("{why}: not an mdkit part, not read"))
}

/// Every visible file at or below `dir`, as strays.
fn all_files(dir: &Path, why: &str) -> io::Result<Vec<BadPart>> {
    let mut out = Vec::new();
    for (name, is_dir) in super::remote::entries(dir)? {
        if name.starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        if is_dir {
            out.extend(all_files(&path, why)?);
        } else {
            out.push(stray(&path, why));
        }
    }
    Ok(out)
}

/// Deletes temporary parts that writers left behind (after a crash) anywhere under `root`,
/// and returns their paths. Call it only when no writer is running on the tree.
pub fn sweep_temp_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else if is_temp_name(&name) {
                fs::remove_file(entry.path())?;
                removed.push(entry.path());
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// Sub-directories named `<key>=<value>`, sorted by value; every other visible file at or
/// below `dir` is a stray.
#[allow(clippy::type_complexity)]
fn hive_dirs(dir: &Path, key: &str) -> io::Result<(Vec<(String, PathBuf)>, Vec<BadPart>)> {
    let prefix = format!("{key}=");
    let mut found = Vec::new();
    let mut strays = Vec::new();
    for (name, is_dir) in super::remote::entries(dir)? {
        if name.starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        match (name.strip_prefix(&prefix), is_dir) {
            (Some(value), true) => found.push((value.to_owned(), path)),
            (_, true) => strays.extend(all_files(&path, &format!("not in a {key}= folder"))?),
            (_, false) => strays.push(stray(&path, &format!("not in a {key}= folder"))),
        }
    }
    Ok((found, strays))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dir_is_hive_style() {
        let p = Partition {
            table: Table::Trades,
            venue: "extended".into(),
            market: "ETH-USD".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        };
        assert_eq!(
            p.dir(Path::new("data")),
            Path::new("data/trades/venue=extended/market=ETH-USD/date=2026-11-21")
        );
    }

    #[test]
    fn names_are_told_apart() {
        let name = part_name("130501", 3, 0);
        assert_eq!(name, "part-130501-3-0.parquet");
        assert!(is_part_name(&name));
        assert!(!is_part_name(&temp_name(&name)));
        assert!(is_temp_name(&temp_name(&name)));
        assert!(!is_part_name("notes.txt"));
    }

    #[test]
    fn unsafe_names_are_refused() {
        assert!(check_name("market", "ETH-USD").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b", "x=y"] {
            assert!(check_name("market", bad).is_err(), "{bad}");
        }
    }
}
