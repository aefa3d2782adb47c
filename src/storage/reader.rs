//! Reading a table back: which parts hold a market and a time range (from directory names
//! and footer statistics, no full scan), and a stream of record batches in (time, seq) order.
//!
//! Parts of one market normally follow each other in time and stream through untouched;
//! parts that overlap (several markets in one scan, or a part rotated because the clock
//! stepped back) are merged row by row. A merge opens a part only when the stream reaches
//! its first time, so memory stays one batch per overlapping part, however long the range.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow::array::{Array, BooleanArray, Int64Array, RecordBatch, TimestampNanosecondArray};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;

use super::manifest;
use super::part::{inspect, BadPart, PartInfo};
use super::path::{find_parts, PartFilter};
use super::schema::{cast_batch, stored_schema, Table};
use super::StorageError;
use crate::model::Timestamp;

/// Rows per batch the scan yields.
pub const BATCH_ROWS: usize = 8192;

/// A half-open range `[start, end)` of the table's time column, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl TimeRange {
    /// Every row.
    pub const ALL: TimeRange = TimeRange { start: None, end: None };

    pub fn new(start: Option<i64>, end: Option<i64>) -> Self {
        Self { start, end }
    }

    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }

    /// Whether `[lo, hi]` (inclusive, as statistics are) meets the range.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        self.start.is_none_or(|s| hi >= s) && self.end.is_none_or(|e| lo < e)
    }

    fn covers(&self, lo: i64, hi: i64) -> bool {
        self.contains(lo) && self.contains(hi)
    }

    /// The UTC dates whose partitions can hold rows of the range.
    fn dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.start.map_or(NaiveDate::MIN, date_of);
        let last = self.end.map_or(NaiveDate::MAX, |e| date_of(e.saturating_sub(1)));
        Some((first, last))
    }
}

fn date_of(nanos: i64) -> NaiveDate {
    Timestamp::<crate::model::LocalClock>::from_nanos(nanos).utc_date()
}

/// What to read: `None` matches every venue or market.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub venue: Option<String>,
    pub market: Option<String>,
    pub range: TimeRange,
}

/// The parts that can hold selected rows, and the files that could not be read.
#[derive(Debug, Clone)]
pub struct Listing {
    pub table: Table,
    pub range: TimeRange,
    /// Readable parts, by first time.
    pub parts: Vec<PartInfo>,
    /// Files skipped, each with its one-line reason.
    pub bad: Vec<BadPart>,
}

impl Listing {
    pub fn rows(&self) -> u64 {
        self.parts.iter().map(|p| p.rows).sum()
    }

    /// The parts of this listing that can hold rows of `selection`, by the footers already
    /// read: what [`list`] of `selection` would give when this listing covers it (a listing
    /// of a whole market narrowed to a range), without listing the tree and reading every
    /// footer again. Skipped files are kept when they lie under the selected venue and market.
    pub fn narrow(&self, selection: &Selection) -> Listing {
        let named = |venue: &str, market: &str| {
            selection.venue.as_deref().is_none_or(|v| v == venue)
                && selection.market.as_deref().is_none_or(|m| m == market)
        };
        let parts = self.parts.iter().filter(|p| {
            named(&p.partition.venue, &p.partition.market)
                && p.row_groups
                    .iter()
                    .any(|g| g.time.is_none_or(|(lo, hi)| selection.range.overlaps(lo, hi)))
        });
        let under = |path: &Path| {
            let has = |key: &str, value: &Option<String>| {
                value.as_ref().is_none_or(|v| {
                    path.components().any(|c| c.as_os_str() == format!("{key}={v}").as_str())
                })
            };
            has("venue", &selection.venue) && has("market", &selection.market)
        };
        Listing {
            table: self.table,
            range: selection.range,
            parts: parts.cloned().collect(),
            bad: self.bad.iter().filter(|b| under(&b.path)).cloned().collect(),
        }
    }

    /// Streams the selected rows in (time, seq) order, every column of the table.
    pub fn scan(&self) -> Scan {
        self.scan_projected(None)
    }

    /// [`Listing::scan`] of the columns `keep` accepts (the time and seq columns are always
    /// read): batches hold them in table order, and the other columns are never decoded.
    pub fn scan_columns(&self, keep: impl Fn(&str) -> bool) -> Scan {
        let schema = self.table.schema();
        let wanted = |name: &str| {
            keep(name) || name == self.table.time_column() || self.table.seq_column() == Some(name)
        };
        let indices =
            schema.fields().iter().enumerate().filter(|(_, f)| wanted(f.name())).map(|(i, _)| i);
        self.scan_projected(Some(indices.collect()))
    }

    fn scan_projected(&self, projection: Option<Vec<usize>>) -> Scan {
        Scan {
            table: self.table,
            range: self.range,
            projection,
            pending: self.parts.iter().cloned().collect(),
            stored: false,
            streams: Vec::new(),
            heap: BinaryHeap::new(),
            deferred: None,
        }
    }
}

/// Lists the parts of `table` under `root` that can hold rows of `selection`, pruning by
/// directory names and then by footer statistics. Unreadable files are reported in
/// [`Listing::bad`], not fatal.
pub fn list(root: &Path, table: Table, selection: &Selection) -> Result<Listing, StorageError> {
    let filter = PartFilter {
        venue: selection.venue.as_deref(),
        market: selection.market.as_deref(),
        dates: selection.range.dates(),
    };
    let table_dir = root.join(table.name());
    let found = find_parts(root, table, &filter).map_err(|e| StorageError::io(&table_dir, e))?;
    let mut parts = Vec::new();
    let mut bad = found.strays;
    // The manifests of the partitions met so far (docs/ARCHITECTURE.md "Catalog").
    let mut manifests: Vec<(PathBuf, HashMap<String, manifest::Entry>)> = Vec::new();
    let candidates: Vec<_> = found
        .parts
        .into_iter()
        .filter(|found| {
            selection.range == TimeRange::ALL
                || !outside(&mut manifests, &found.path, &selection.range)
        })
        .collect();
    for inspected in inspect_all(&candidates) {
        match inspected {
            Ok(part) => {
                let keep = part
                    .row_groups
                    .iter()
                    .any(|g| g.time.is_none_or(|(lo, hi)| selection.range.overlaps(lo, hi)));
                if keep {
                    parts.push(part);
                }
            }
            Err(problem) => bad.push(problem),
        }
    }
    bad.sort_by(|a, b| a.path.cmp(&b.path));
    tracing::debug!(
        "{table}: {} parts ({} rows) selected under {}, {} files skipped",
        parts.len(),
        parts.iter().map(|p| p.rows).sum::<u64>(),
        table_dir.display(),
        bad.len()
    );
    for problem in &bad {
        warn_once(problem);
    }
    sort_parts(&mut parts);
    Ok(Listing { table, range: selection.range, parts, bad })
}

/// Reads the footers of `parts`, in order. A remote tree's footers are fetched by
/// [`REMOTE_READERS`] threads at once (each a request's round trip; one after another, a
/// month of parts takes minutes on S3); a local tree's are read on this thread.
fn inspect_all(parts: &[super::path::PartPath]) -> Vec<Result<PartInfo, BadPart>> {
    let remote = parts.first().is_some_and(|p| super::remote::is_remote(&p.path));
    if !remote || parts.len() < 2 {
        return parts.iter().map(|p| inspect(&p.path, &p.partition)).collect();
    }
    let chunk = parts.len().div_ceil(REMOTE_READERS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .chunks(chunk)
            .map(|some| {
                scope.spawn(move || {
                    some.iter().map(|p| inspect(&p.path, &p.partition)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a footer reader panicked")).collect()
    })
}

/// Footers of a remote tree fetched at once.
const REMOTE_READERS: usize = 16;

/// Whether the manifest of `path`'s directory says the part holds no row of `range`: it must
/// describe the part at its current size (else the footer decides).
fn outside(
    manifests: &mut Vec<(PathBuf, HashMap<String, manifest::Entry>)>,
    path: &Path,
    range: &TimeRange,
) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return false;
    };
    let i = match manifests.iter().position(|(d, _)| d == dir) {
        Some(i) => i,
        None => {
            manifests.push((dir.to_path_buf(), manifest::read(dir)));
            manifests.len() - 1
        }
    };
    let Some(entry) = manifests[i].1.get(name) else { return false };
    let Some((lo, hi)) = entry.time else { return false };
    let same_size = super::remote::size(path).is_ok_and(|len| len == entry.bytes);
    same_size && !range.overlaps(lo, hi)
}

/// Puts parts in reading order: by first time; parts that start at the same time (one frame
/// split by the row limit) follow each other in the order they were written: by part
/// number, then by name.
pub(crate) fn sort_parts(parts: &mut [PartInfo]) {
    parts.sort_by(|a, b| {
        let key = |p: &PartInfo| {
            let start = p.time_span().map_or(i64::MIN, |(lo, _)| lo);
            (start, part_number(&p.path), p.path.clone())
        };
        key(a).cmp(&key(b))
    });
}

/// Names a skipped file on stderr (a `warn` event), once per process however many times the
/// tree is listed: a backtest lists it at every recalibration.
fn warn_once(problem: &BadPart) {
    static WARNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let first = WARNED.lock().map(|mut seen| seen.insert(problem.path.clone())).unwrap_or(true);
    if first {
        tracing::warn!("skipped {problem}");
    }
}

/// The `<n>` of `part-<HHMMSS>-<conn>-<n>.parquet`.
fn part_number(path: &Path) -> u32 {
    path.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

/// One part being read.
struct PartStream {
    part: PartInfo,
    reader: ParquetRecordBatchReader,
    batch: RecordBatch,
    time: TimestampNanosecondArray,
    seq: Option<Int64Array>,
    pos: usize,
    /// Counts loaded batches, so a merge knows when a stream's batch changed under it.
    generation: u64,
}

impl PartStream {
    fn key(&self) -> (i64, i64) {
        (self.time.value(self.pos), self.seq.as_ref().map_or(0, |s| s.value(self.pos)))
    }
}

/// The selected rows of a listing, in (time, seq) order; ties keep part order.
pub struct Scan {
    table: Table,
    range: TimeRange,
    /// Indices of the table's columns to read, ascending; `None` = all.
    projection: Option<Vec<usize>>,
    pending: VecDeque<PartInfo>,
    /// Decimals as `Decimal64` and strings as dictionaries ([`Scan::stored_types`]).
    stored: bool,
    streams: Vec<Option<PartStream>>,
    heap: BinaryHeap<Reverse<(i64, i64, usize)>>,
    deferred: Option<StorageError>,
}

impl Scan {
    /// Reads decimal columns as `Decimal64` and string columns as dictionaries
    /// ([`super::schema::stored_type`]): an own part is read so by parquet directly, a
    /// foreign part is cast after it is normalised. The table decoders (`Rows`) accept either
    /// form; the backtest's replay and `verify` read this way.
    pub fn stored_types(mut self) -> Self {
        self.stored = true;
        self
    }

    /// Opens a part and positions it on its first selected row; `None` if it has none.
    fn open(&self, part: PartInfo) -> Result<Option<PartStream>, StorageError> {
        let file = super::remote::PartFile::open_whole(&part.path)
            .map_err(|e| StorageError::io(&part.path, e))?;
        let groups: Vec<usize> = part
            .row_groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.time.is_none_or(|(lo, hi)| self.range.overlaps(lo, hi)))
            .map(|(i, _)| i)
            .collect();
        let metadata = match (self.stored, &part.foreign) {
            (true, None) => {
                let options =
                    ArrowReaderOptions::new().with_schema(stored_schema(part.metadata.schema()));
                ArrowReaderMetadata::try_new(part.metadata.metadata().clone(), options)
                    .map_err(|e| StorageError::parquet(&part.path, e))?
            }
            _ => part.metadata.clone(),
        };
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_row_groups(groups)
            .with_batch_size(BATCH_ROWS);
        // An own part has the table's columns in the table's order, so the projection is
        // one of the file's root columns; a foreign part is read whole, normalised, and
        // projected after (see `refill`).
        if let (Some(columns), None) = (&self.projection, &part.foreign) {
            let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(|e| StorageError::parquet(&part.path, e))?;
        let mut stream = PartStream {
            part,
            reader,
            batch: RecordBatch::new_empty(self.table.schema()),
            time: TimestampNanosecondArray::from(Vec::<i64>::new()),
            seq: None,
            pos: 0,
            generation: 0,
        };
        Ok(self.refill(&mut stream)?.then_some(stream))
    }

    /// Loads the stream's next non-empty batch; false at the end of the part.
    fn refill(&self, stream: &mut PartStream) -> Result<bool, StorageError> {
        for next in stream.reader.by_ref() {
            let batch = next.map_err(|e| StorageError::read(&stream.part.path, e))?;
            let batch = match (&stream.part.foreign, &self.projection) {
                (None, _) => batch,
                (Some(foreign), projection) => {
                    let ours = foreign
                        .normalize(self.table, &stream.part.partition, &batch)
                        .map_err(|e| StorageError::read(&stream.part.path, e))?;
                    let ours = match projection {
                        None => ours,
                        Some(columns) => ours
                            .project(columns)
                            .map_err(|e| StorageError::read(&stream.part.path, e))?,
                    };
                    if self.stored {
                        stored_batch(&ours).map_err(|e| StorageError::read(&stream.part.path, e))?
                    } else {
                        ours
                    }
                }
            };
            let batch = self.filter(batch).map_err(|e| StorageError::read(&stream.part.path, e))?;
            if batch.num_rows() == 0 {
                continue;
            }
            let column = |name: &str| batch.column_by_name(name).map(|c| c.as_any());
            stream.time = column(self.table.time_column())
                .and_then(|c| c.downcast_ref::<TimestampNanosecondArray>())
                .cloned()
                .ok_or_else(|| StorageError::Schema {
                    table: self.table,
                    detail: "time column missing".into(),
                })?;
            stream.seq = self
                .table
                .seq_column()
                .and_then(column)
                .and_then(|c| c.downcast_ref::<Int64Array>())
                .cloned();
            stream.batch = batch;
            stream.pos = 0;
            stream.generation += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Keeps the rows of a batch that fall in the range.
    fn filter(&self, batch: RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
        if self.range == TimeRange::ALL {
            return Ok(batch);
        }
        let time = batch
            .column_by_name(self.table.time_column())
            .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
            .ok_or_else(|| arrow::error::ArrowError::SchemaError("time column missing".into()))?;
        let values = time.values();
        match (values.first(), values.last()) {
            (Some(lo), Some(hi)) if self.range.covers(*lo, *hi) => return Ok(batch),
            _ => {}
        }
        let mask: BooleanArray = values.iter().map(|t| Some(self.range.contains(*t))).collect();
        filter_record_batch(&batch, &mask)
    }

    /// Moves stream `index` past its current row; re-queues it or ends it.
    fn advance(&mut self, index: usize, rows: usize) -> Result<(), StorageError> {
        let Some(mut stream) = self.streams[index].take() else {
            return Ok(());
        };
        stream.pos += rows;
        let more = stream.pos < stream.batch.num_rows() || self.refill(&mut stream)?;
        if more {
            let (t, s) = stream.key();
            self.heap.push(Reverse((t, s, index)));
            self.streams[index] = Some(stream);
        }
        Ok(())
    }

    /// Opens every pending part that starts at or before the smallest queued time.
    fn open_due(&mut self) -> Result<(), StorageError> {
        while let Some(first) = self.pending.front() {
            let starts = first.time_span().map_or(i64::MIN, |(lo, _)| lo);
            if self.heap.peek().is_some_and(|Reverse((t, _, _))| starts > *t) {
                break;
            }
            let part = self.pending.pop_front().expect("front exists");
            if let Some(stream) = self.open(part)? {
                let (t, s) = stream.key();
                self.streams.push(Some(stream));
                self.heap.push(Reverse((t, s, self.streams.len() - 1)));
            }
        }
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, StorageError> {
        self.open_due()?;
        let Some(&Reverse((_, _, index))) = self.heap.peek() else {
            return Ok(None);
        };
        // One part in play: pass its rows through without copying, up to where the next
        // part could start.
        if self.heap.len() == 1 {
            let next_start = self.pending.front().and_then(|p| p.time_span()).map(|(lo, _)| lo);
            let stream = self.streams[index].as_ref().expect("queued stream exists");
            let times = &stream.time.values()[stream.pos..];
            let take = next_start.map_or(times.len(), |lo| times.partition_point(|t| *t < lo));
            if take > 0 {
                let slice = stream.batch.slice(stream.pos, take);
                self.heap.pop();
                self.advance(index, take)?;
                return Ok(Some(slice));
            }
        }
        // Several parts in play: merge row by row.
        let mut sources: Vec<RecordBatch> = Vec::new();
        let mut source_of: Vec<Option<(usize, u64)>> = vec![None; self.streams.len()];
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(BATCH_ROWS);
        while picks.len() < BATCH_ROWS {
            let Some(&Reverse((t, _, index))) = self.heap.peek() else { break };
            if self.pending.front().is_some_and(|p| p.time_span().is_none_or(|(lo, _)| lo <= t)) {
                break;
            }
            self.heap.pop();
            let stream = self.streams[index].as_ref().expect("queued stream exists");
            let source = match source_of[index] {
                Some((s, generation)) if generation == stream.generation => s,
                _ => {
                    sources.push(stream.batch.clone());
                    source_of[index] = Some((sources.len() - 1, stream.generation));
                    sources.len() - 1
                }
            };
            picks.push((source, stream.pos));
            if let Err(e) = self.advance(index, 1) {
                self.deferred = Some(e);
                break;
            }
        }
        if picks.is_empty() {
            return match self.deferred.take() {
                Some(e) => Err(e),
                None => self.next_batch(),
            };
        }
        let refs: Vec<&RecordBatch> = sources.iter().collect();
        interleave_record_batch(&refs, &picks).map(Some).map_err(StorageError::arrow)
    }
}

/// A batch with its columns cast to their [`super::schema::stored_type`]s (a foreign part's,
/// normalised to the table's types, in a scan of stored types: every batch of one scan has the
/// same types; and tests' batches made by `Rows::to_batch`).
pub fn stored_batch(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    cast_batch(batch, stored_schema(&batch.schema()))
}

impl Iterator for Scan {
    type Item = Result<RecordBatch, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.deferred.take() {
            return Some(Err(e));
        }
        self.next_batch().transpose()
    }
}
