//! Compaction: one closed day of one table, venue and market — a partition directory of many
//! small parts — rewritten as a few large parts, atomically (docs/OPERATIONS.md
//! "Compaction").
//!
//! The new parts are built, complete and fsynced, in a staging directory outside the table
//! trees (`<root>/_compact/<table>/venue=…/market=…/date=…`), in the (time, seq) order every
//! reader already merges the old parts into. Then one `renameat2(RENAME_EXCHANGE)` swaps the
//! staging directory with the partition directory: a reader lists either every old part or
//! every new one, never both or neither. Last, the staging path — which now holds the old
//! parts — is deleted.
//!
//! A `kill -9` at any instant leaves the partition whole: before the exchange it holds the
//! old parts and the staging path a partial new set; after it, the new parts and the old set.
//! Either way what sits at the staging path is not the table, so the next compaction (or
//! [`clear_staging`]) deletes it and starts again. The caller holds the market's lock: no
//! writer may add a part to a partition while it is compacted.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;

use super::part::{inspect, PartInfo};
use super::path::{is_part_name, is_temp_name, Partition};
use super::reader::{sort_parts, Listing, TimeRange};
use super::writer::{writer_properties, WriterConfig};
use super::StorageError;
use crate::model::RecvTime;

/// Settings of a compaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactConfig {
    /// A new part is closed once it holds this many rows (default 20,000,000: a busy
    /// market's day of depth in a few parts).
    pub part_max_rows: u64,
    /// Rows per row group, as the recorder writes them (default 100,000), so readers prune
    /// a compacted day as finely as a fresh one.
    pub row_group_rows: usize,
}

impl Default for CompactConfig {
    fn default() -> Self {
        Self { part_max_rows: 20_000_000, row_group_rows: WriterConfig::default().row_group_rows }
    }
}

/// What compacting one partition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    pub partition: Partition,
    pub parts_before: usize,
    pub parts_after: usize,
    pub rows: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Why a partition was left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// One part, or only parts a compaction wrote: nothing to gain.
    AlreadyCompact { parts: usize },
}

/// The directory a partition's new parts are built in.
pub fn staging_dir(root: &Path, partition: &Partition) -> PathBuf {
    partition.dir(&root.join(STAGING))
}

/// The staging folder under the data root; not a table, so no reader lists it.
pub const STAGING: &str = "_compact";

/// `part-<HHMMSS>-compact-<n>.parquet`: the name says a compaction wrote it.
fn compact_name(hhmmss: &str, n: u32) -> String {
    format!("part-{hhmmss}-compact-{n}.parquet")
}

fn is_compact_name(name: &str) -> bool {
    is_part_name(name) && name.contains("-compact-")
}

/// Deletes what an interrupted compaction of `partition` left at its staging path (a partial
/// new set, or the old set after the exchange: never the table's rows).
pub fn clear_staging(root: &Path, partition: &Partition) -> Result<(), StorageError> {
    let dir = staging_dir(root, partition);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::io(&dir, e)),
    }
    // The emptied folders above it, up to `_compact` itself; one still in use stays.
    let top = root.join(STAGING);
    let mut parent = dir.parent();
    while let Some(folder) = parent.filter(|p| p.starts_with(&top)) {
        if fs::remove_dir(folder).is_err() {
            break;
        }
        parent = folder.parent();
    }
    Ok(())
}

/// Deletes whatever interrupted compactions of `venue`/`market`'s `table` left in staging, for
/// any day. The caller holds the market's lock (so no compaction of it runs).
pub fn clear_market_staging(
    root: &Path,
    table: super::Table,
    venue: &str,
    market: &str,
) -> Result<(), StorageError> {
    let dir = root
        .join(STAGING)
        .join(table.name())
        .join(format!("venue={venue}"))
        .join(format!("market={market}"));
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io(&dir, e)),
    }
}

/// Rewrites the parts of `partition` as parts of at most `config.part_max_rows` rows, in
/// (time, seq) order, and swaps them in atomically. The caller holds the market's lock.
///
/// Refuses (an error naming the file) a partition holding anything but readable parts and a
/// writer's temporary files: another tool's file, or a damaged part, would be deleted with
/// the old parts.
pub fn compact_partition(
    root: &Path,
    partition: &Partition,
    config: &CompactConfig,
) -> Result<Result<Compacted, Skipped>, StorageError> {
    clear_staging(root, partition)?;
    let dir = partition.dir(root);
    if dir.join(super::LEDGER).exists() {
        return Err(StorageError::Refused(format!(
            "{}: its parts were published to object storage ({} names them), and a compacted part would be published beside them: not compacted",
            dir.display(),
            super::LEDGER
        )));
    }
    let (parts, names) = read_partition(&dir, partition)?;
    if parts.len() <= 1 || names.iter().all(|n| is_compact_name(n)) {
        return Ok(Err(Skipped::AlreadyCompact { parts: parts.len() }));
    }
    let rows: u64 = parts.iter().map(|p| p.rows).sum();
    let bytes_before = file_bytes(&parts)?;
    let parts_before = parts.len();
    let staging = staging_dir(root, partition);
    fs::create_dir_all(&staging).map_err(|e| StorageError::io(&staging, e))?;
    let written = write_merged(partition, parts, &staging, config)?;
    if written.rows != rows {
        return Err(StorageError::Refused(format!(
            "compaction of {} read {} rows but its parts hold {rows}: left as it was",
            dir.display(),
            written.rows
        )));
    }
    sync_dir(&staging)?;
    tracing::trace!("compact: exchanging {} with its rewrite", dir.display());
    exchange(&staging, &dir)?;
    tracing::trace!("compact: exchanged {}", dir.display());
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    if let Some(parent) = staging.parent() {
        sync_dir(parent)?;
    }
    clear_staging(root, partition)?;
    tracing::trace!("compact: old parts of {} deleted", dir.display());
    Ok(Ok(Compacted {
        partition: partition.clone(),
        parts_before,
        parts_after: written.paths.len(),
        rows,
        bytes_before,
        bytes_after: written.bytes,
    }))
}

/// The readable parts of a partition directory in reading order, and their file names.
fn read_partition(
    dir: &Path,
    partition: &Partition,
) -> Result<(Vec<PartInfo>, Vec<String>), StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(StorageError::io(dir, e)),
    };
    let mut parts = Vec::new();
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // The catalog is ours and describes the old parts: it goes with the folder, and the
        // compacted day starts without one (docs/ARCHITECTURE.md "Catalog").
        if is_temp_name(&name) || name == super::manifest::MANIFEST {
            continue;
        }
        let is_file = entry.file_type().map_err(|e| StorageError::io(&path, e))?.is_file();
        if !is_file || !is_part_name(&name) {
            return Err(StorageError::Refused(format!(
                "{} is not a part: move it out of {} before compacting (compaction replaces the whole folder)",
                path.display(),
                dir.display()
            )));
        }
        let part = inspect(&path, partition).map_err(|bad| {
            StorageError::Refused(format!(
                "{bad}; compaction would delete it with the old parts: move it out first"
            ))
        })?;
        parts.push(part);
        names.push(name);
    }
    sort_parts(&mut parts);
    Ok((parts, names))
}

struct Written {
    paths: Vec<PathBuf>,
    rows: u64,
    bytes: u64,
}

/// Streams the parts' rows in the merged (time, seq) order into new parts under `staging`.
fn write_merged(
    partition: &Partition,
    parts: Vec<PartInfo>,
    staging: &Path,
    config: &CompactConfig,
) -> Result<Written, StorageError> {
    let table = partition.table;
    let writer_config =
        WriterConfig { row_group_rows: config.row_group_rows, ..WriterConfig::default() };
    let props = writer_properties(table, &writer_config)?;
    let listing = Listing { table, range: TimeRange::ALL, parts, bad: Vec::new() };
    let mut out = Written { paths: Vec::new(), rows: 0, bytes: 0 };
    let mut open: Option<(ArrowWriter<File>, PathBuf, u64)> = None;
    for batch in listing.scan() {
        let batch = batch?;
        let mut start = 0;
        while start < batch.num_rows() {
            if open.is_none() {
                let first = first_time(&batch, table.time_column(), start)?;
                let hhmmss = first.to_datetime().format("%H%M%S").to_string();
                let path = staging.join(compact_name(&hhmmss, out.paths.len() as u32));
                let file = File::create_new(&path).map_err(|e| StorageError::io(&path, e))?;
                let writer = ArrowWriter::try_new(file, table.schema(), Some(props.clone()))
                    .map_err(|e| StorageError::parquet(&path, e))?;
                open = Some((writer, path, 0));
            }
            let Some((writer, path, rows)) = open.as_mut() else { continue };
            let room = usize::try_from(config.part_max_rows.saturating_sub(*rows))
                .unwrap_or(usize::MAX)
                .max(1);
            let take = room.min(batch.num_rows() - start);
            writer.write(&batch.slice(start, take)).map_err(|e| StorageError::parquet(path, e))?;
            tracing::trace!(rows = take, "compact: rows written to {}", path.display());
            *rows += take as u64;
            out.rows += take as u64;
            start += take;
            if *rows >= config.part_max_rows {
                if let Some(part) = open.take() {
                    finish(part, &mut out)?;
                }
            }
        }
    }
    if let Some(part) = open.take() {
        finish(part, &mut out)?;
    }
    Ok(out)
}

fn finish(
    (writer, path, _): (ArrowWriter<File>, PathBuf, u64),
    out: &mut Written,
) -> Result<(), StorageError> {
    let file = writer.into_inner().map_err(|e| StorageError::parquet(&path, e))?;
    file.sync_all().map_err(|e| StorageError::io(&path, e))?;
    out.bytes += file.metadata().map_err(|e| StorageError::io(&path, e))?.len();
    tracing::trace!("compact: part {} closed", path.display());
    out.paths.push(path);
    Ok(())
}

fn first_time(
    batch: &arrow::array::RecordBatch,
    column: &str,
    row: usize,
) -> Result<RecvTime, StorageError> {
    use arrow::array::{Array, TimestampNanosecondArray};
    let time = batch
        .column_by_name(column)
        .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
        .filter(|t| row < t.len())
        .ok_or_else(|| StorageError::Config(format!("time column {column} missing")))?;
    Ok(RecvTime::from_nanos(time.value(row)))
}

fn file_bytes(parts: &[PartInfo]) -> Result<u64, StorageError> {
    let mut bytes = 0;
    for part in parts {
        bytes += fs::metadata(&part.path).map_err(|e| StorageError::io(&part.path, e))?.len();
    }
    Ok(bytes)
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StorageError::io(dir, e))
}

/// Swaps two directories in one step: a reader of either path sees one whole directory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> Result<(), StorageError> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
        .map_err(|e| StorageError::io(b, io::Error::from(e)))
}

/// Where the OS has no atomic exchange: two renames, with an instant between them in which
/// a reader finds the partition empty (docs/ARCHITECTURE.md "Compaction").
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(a: &Path, b: &Path) -> Result<(), StorageError> {
    let aside = a.with_extension("old");
    fs::rename(b, &aside).map_err(|e| StorageError::io(b, e))?;
    fs::rename(a, b).map_err(|e| StorageError::io(b, e))?;
    fs::rename(&aside, a).map_err(|e| StorageError::io(a, e))
}
