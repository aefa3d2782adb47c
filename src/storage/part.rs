//! Inspecting one part from its footer alone: is it a readable Parquet file of this table,
//! how many rows, and which times do its row groups span (footer statistics, no scan).
//!
//! A part that fails any check becomes a [`BadPart`] whose message names the file and says
//! what is wrong in one line; callers skip it and read the rest of the tree.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::Statistics;

use super::foreign::Foreign;
use super::path::Partition;
use super::remote::PartFile;
use super::schema::{schema_difference, META_SCHEMA_VERSION, META_TABLE, SCHEMA_VERSION};

/// A file in the tree that cannot be read as a part of its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPart {
    pub path: PathBuf,
    pub kind: BadKind,
    pub reason: String,
}

/// What is wrong with a [`BadPart`], for `verify` to sort it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// Not named `part-*.parquet`: another tool's file, never read as data.
    Stray,
    /// Empty, not Parquet, or unreadable.
    Unreadable,
    /// A Parquet file cut short.
    Truncated,
    /// Parquet, but not this table's columns (missing, or of a type mdkit cannot read).
    Schema,
}

impl BadPart {
    pub fn new(path: &Path, kind: BadKind, reason: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), kind, reason: reason.into() }
    }
}

impl fmt::Display for BadPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Time span and size of one row group, from the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowGroupSpan {
    pub rows: u64,
    /// Smallest and largest value of the time column; `None` if statistics are missing.
    pub time: Option<(i64, i64)>,
}

/// A committed part that passed every footer check.
#[derive(Debug, Clone)]
pub struct PartInfo {
    pub path: PathBuf,
    pub partition: Partition,
    pub rows: u64,
    pub row_groups: Vec<RowGroupSpan>,
    pub(crate) metadata: ArrowReaderMetadata,
    /// `Some` when another tool wrote the part: how to turn its batches into the table's.
    pub(crate) foreign: Option<Foreign>,
}

impl PartInfo {
    /// Smallest and largest time in the part (from row-group statistics).
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let mut span: Option<(i64, i64)> = None;
        for group in &self.row_groups {
            let (lo, hi) = group.time?;
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        span
    }

    /// Smallest and largest value of another Int64 or timestamp column (e.g. `ts_event`),
    /// from row-group statistics; `None` when any row group lacks them (a foreign part may
    /// name its columns otherwise: callers then read the part).
    pub fn column_span(&self, column: &str) -> Option<(i64, i64)> {
        let meta = self.metadata.metadata();
        let index = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().string() == column)?;
        let mut span: Option<(i64, i64)> = None;
        for group in meta.row_groups() {
            let (lo, hi) = match group.column(index).statistics() {
                Some(Statistics::Int64(s)) => s.min_opt().copied().zip(s.max_opt().copied())?,
                _ => return None,
            };
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        span
    }
}

const MAGIC: &[u8; 4] = b"PAR1";

thread_local! {
    /// Footers read by [`inspect`] on this thread (for tests of the catalog: a count per
    /// thread is exact while other tests list other trees on theirs).
    static FOOTER_READS: Cell<u64> = const { Cell::new(0) };
}

/// How many part footers this thread has read so far ([`super::list`] reads them on the
/// calling thread).
pub fn footer_reads() -> u64 {
    FOOTER_READS.with(Cell::get)
}

/// Reads and checks a part's footer.
pub fn inspect(path: &Path, partition: &Partition) -> Result<PartInfo, BadPart> {
    FOOTER_READS.with(|n| n.set(n.get() + 1));
    let bad = |kind: BadKind, reason: String| BadPart::new(path, kind, reason);
    let file =
        PartFile::open(path).map_err(|e| bad(BadKind::Unreadable, format!("cannot open: {e}")))?;
    check_magic(&file).map_err(|(kind, reason)| bad(kind, reason))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| bad(BadKind::Unreadable, format!("corrupt Parquet footer: {e}")))?;
    let table = partition.table;
    let kv = metadata.metadata().file_metadata().key_value_metadata();
    let meta = |key: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == key)).and_then(|e| e.value.clone())
    };
    if let Some(found) = meta(META_TABLE).filter(|t| t != table.name()) {
        return Err(bad(
            BadKind::Schema,
            format!("holds the {found} table, but sits in the {table} tree"),
        ));
    }
    if let Some(version) = meta(META_SCHEMA_VERSION) {
        match version.parse::<u32>() {
            Ok(v) if v <= SCHEMA_VERSION => {}
            _ => {
                return Err(bad(BadKind::Schema, format!(
                    "written with schema version {version}; this mdkit reads up to {SCHEMA_VERSION}: upgrade mdkit"
                )))
            }
        }
    }
    let foreign = match schema_difference(&table.schema(), metadata.schema()) {
        None => None,
        Some(_) => Some(
            Foreign::plan(table, metadata.schema())
                .map_err(|diff| bad(BadKind::Schema, format!("not a {table} part: {diff}")))?,
        ),
    };
    // Statistics are per Parquet leaf column; find the time column by name.
    let time_index = metadata
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().string() == table.time_column())
        .ok_or_else(|| bad(BadKind::Schema, format!("not a {table} part: no time column")))?;
    let row_groups = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| RowGroupSpan {
            rows: rg.num_rows().max(0) as u64,
            time: match rg.column(time_index).statistics() {
                Some(Statistics::Int64(s)) => s.min_opt().copied().zip(s.max_opt().copied()),
                _ => None,
            },
        })
        .collect::<Vec<_>>();
    Ok(PartInfo {
        path: path.to_path_buf(),
        partition: partition.clone(),
        rows: row_groups.iter().map(|g| g.rows).sum(),
        row_groups,
        metadata,
        foreign,
    })
}

/// Tells "not Parquet at all" from "Parquet cut short" before the footer parser does.
fn check_magic(file: &PartFile) -> Result<(), (BadKind, String)> {
    let unreadable =
        |e: parquet::errors::ParquetError| (BadKind::Unreadable, format!("cannot read: {e}"));
    let len = file.len();
    if len == 0 {
        return Err((BadKind::Unreadable, "empty file (0 bytes)".into()));
    }
    let head =
        if len >= 4 { file.get_bytes(0, 4).map_err(unreadable)? } else { Default::default() };
    if len < 4 || head.as_ref() != MAGIC {
        return Err((
            BadKind::Unreadable,
            format!("not a Parquet file ({len} bytes, no PAR1 header)"),
        ));
    }
    if len < 12 {
        return Err((
            BadKind::Truncated,
            format!("truncated Parquet file ({len} bytes, no footer)"),
        ));
    }
    let tail = file.get_bytes(len - 4, 4).map_err(unreadable)?;
    if tail.as_ref() != MAGIC {
        return Err((BadKind::Truncated, format!("truncated Parquet file ({len} bytes, footer missing): was it copied or written completely?")));
    }
    Ok(())
}
