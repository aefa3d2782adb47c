//! One market, end to end: its parts per table, the files checks, the pass, the judgement
//! of breaks against `events`, the state file, and the places of the examples.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde::Serialize;

use super::checks::cursor::{Batches, PartTicker};
use super::checks::latency::LatencyStats;
use super::checks::trades::BookEnd;
use super::checks::{self, files, sequence, PassConfig, PassInput};
use super::findings::{Finding, Findings, Key, Kind};
use super::locate::Locator;
use super::{Config, VerifyError};
use crate::model::EventKind;
use arrow::array::RecordBatch;

use crate::storage::{
    BadPart, EventRow, Listing, PartInfo, Rows, Scan, StorageError, Table, TimeRange,
};

/// The tables verify reads (calibration is derived, not recorded).
pub const TABLES: [Table; 4] = [Table::Depth, Table::BookTop, Table::Trades, Table::Events];

/// What the tree holds for one market.
#[derive(Debug, Default)]
pub struct MarketTables {
    /// Readable parts per table, all time, by first time.
    pub parts: BTreeMap<Table, Vec<PartInfo>>,
    pub bad: Vec<BadPart>,
    pub temps: Vec<PathBuf>,
}

impl MarketTables {
    /// The parts of `table` that can hold rows of `range`.
    pub fn selected(&self, table: Table, range: TimeRange) -> impl Iterator<Item = &PartInfo> {
        self.parts.get(&table).into_iter().flatten().filter(move |p| {
            p.row_groups.iter().any(|g| g.time.is_none_or(|(lo, hi)| range.overlaps(lo, hi)))
        })
    }

    fn scan(
        &self,
        table: Table,
        range: TimeRange,
        bar: Option<ProgressBar>,
    ) -> (Batches, PartTicker) {
        let parts: Vec<PartInfo> = self.selected(table, range).cloned().collect();
        let ticker = PartTicker::new(bar, parts.iter().map(|p| p.rows));
        let listing = Listing { table, range, parts, bad: Vec::new() };
        // One market per pass: its venue and market columns are constants, never decoded.
        let scan = listing.scan_columns(|c| c != "venue" && c != "market").stored_types();
        (ahead(table, scan), ticker)
    }
}

/// Batches decoded ahead of the pass on a thread of their own (two in flight, so memory
/// stays a few batches per table): decoding the three tables overlaps the checks. Read in
/// place if no thread can be started; a panic on the thread is resumed in the pass.
fn ahead(table: Table, scan: Scan) -> Batches {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    // Shared so that the scan can be read in place when no thread can be started.
    let job = std::sync::Arc::new(std::sync::Mutex::new(Some(scan)));
    let theirs = std::sync::Arc::clone(&job);
    let spawned = std::thread::Builder::new().name(format!("verify-{table}")).spawn(move || {
        let scan = theirs.lock().ok().and_then(|mut s| s.take());
        for batch in scan.into_iter().flatten() {
            // The pass stopped reading (it ended early): stop too.
            if tx.send(batch).is_err() {
                break;
            }
        }
    });
    match spawned {
        Ok(thread) => Box::new(Ahead { rx, thread: Some(thread) }),
        Err(_) => Box::new(job.lock().ok().and_then(|mut s| s.take()).into_iter().flatten()),
    }
}

/// The receiving end of [`ahead`].
struct Ahead {
    rx: std::sync::mpsc::Receiver<Result<RecordBatch, StorageError>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Iterator for Ahead {
    type Item = Result<RecordBatch, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.rx.recv().ok();
        if next.is_none() {
            if let Some(Err(panic)) = self.thread.take().map(std::thread::JoinHandle::join) {
                std::panic::resume_unwind(panic);
            }
        }
        next
    }
}

/// Clock skew: rows whose ts_recv is before their ts_event.
#[derive(Debug, Clone, Serialize)]
pub struct Skew {
    pub rows: u64,
    pub of: u64,
    /// How far the venue's clock is ahead of ours at most, and typically.
    pub ahead_max_ns: i64,
    pub ahead_median_ns: Option<i64>,
}

/// The verdict on one market.
#[derive(Debug, Clone, Serialize)]
pub struct MarketReport {
    pub venue: String,
    pub market: String,
    pub parts: BTreeMap<&'static str, usize>,
    pub rows: BTreeMap<&'static str, u64>,
    pub book_conns: Vec<u32>,
    pub trade_conns: Vec<u32>,
    pub latency_book: Option<LatencyStats>,
    pub latency_trades: Option<LatencyStats>,
    pub skew: Option<Skew>,
    /// Trades compared with a fresh book.
    pub trades_compared: u64,
    pub violations: u64,
    pub findings: Vec<Finding>,
}

pub fn check(
    root: &Path,
    venue: &str,
    market: &str,
    tables: &MarketTables,
    config: &Config,
    bar: Option<ProgressBar>,
) -> Result<MarketReport, VerifyError> {
    let mut f = Findings::new(config.examples);
    let range = config.range;
    for bad in &tables.bad {
        files::bad_part(bad, &mut f);
    }
    let now = std::time::SystemTime::now();
    for temp in &tables.temps {
        files::temp_file(temp, now, &mut f);
    }
    for table in TABLES {
        let selected: Vec<PartInfo> = tables.selected(table, range).cloned().collect();
        files::part_dates(&selected, &mut f);
    }
    let events = read_events(tables, &mut f);
    let input = PassInput {
        book_top: tables.scan(Table::BookTop, range, bar.clone()),
        depth: tables.scan(Table::Depth, range, bar.clone()),
        trades: tables.scan(Table::Trades, range, bar),
    };
    let by_conn = sequence::by_conn(&events);
    let fresh_conns = match range.start {
        Some(start) => by_conn
            .iter()
            .filter(|(_, e)| e.connects.iter().any(|t| *t >= start))
            .map(|(c, _)| *c)
            .collect(),
        None => Vec::new(),
    };
    let pass_config = PassConfig {
        tolerance_bps: config.tolerance_bps,
        mid_stream_start: range.start.is_some(),
        fresh_conns,
        may_cross: events.iter().filter(|e| e.kind == EventKind::Crossed).map(|e| e.conn).collect(),
        ends: by_conn
            .iter()
            .filter_map(|(c, e)| {
                let end = e.terminals.iter().min_by_key(|t| t.ts_recv.as_nanos())?;
                let seq_gap = end.kind == EventKind::SeqGap;
                Some((*c, BookEnd { ts_recv: end.ts_recv.as_nanos(), seq_gap }))
            })
            .collect(),
    };
    let result = checks::pass(input, pass_config, &mut f)?;
    sequence::judge(
        &result.book.conns,
        &result.trades.conns,
        &by_conn,
        range.start.is_some(),
        &mut f,
    );
    let max_conn = result
        .book
        .conns
        .iter()
        .map(|c| c.conn)
        .chain(result.trades.conns.iter().map(|c| c.conn))
        .chain(by_conn.keys().copied())
        .max();
    let all_time = range == TimeRange::ALL;
    files::state(
        root,
        venue,
        market,
        &files::Committed { parts: &tables.parts, all_time, max_conn },
        &mut f,
    );
    Locator { parts: &tables.parts }.resolve(&mut f);

    let latency_book = result.book.latency.stats();
    let latency_trades = result.trades.latency.stats();
    let skew = skew(latency_book, latency_trades);
    let mut rows: BTreeMap<&'static str, u64> =
        result.rows.iter().map(|(t, n)| (t.name(), *n)).collect();
    rows.insert(Table::Events.name(), events.len() as u64);
    Ok(MarketReport {
        venue: venue.to_owned(),
        market: market.to_owned(),
        parts: TABLES.iter().map(|t| (t.name(), tables.selected(*t, range).count())).collect(),
        rows,
        book_conns: result.book.conns.iter().map(|c| c.conn).collect(),
        trade_conns: result.trades.conns.iter().map(|c| c.conn).collect(),
        latency_book,
        latency_trades,
        skew,
        trades_compared: result.trades.compared,
        violations: f.violations(),
        findings: f.iter().cloned().collect(),
    })
}

/// Every events row of the market (all time: a connection's terminal row may lie past `--to`).
fn read_events(tables: &MarketTables, f: &mut Findings) -> Vec<EventRow> {
    let parts = tables.parts.get(&Table::Events).cloned().unwrap_or_default();
    let listing = Listing { table: Table::Events, range: TimeRange::ALL, parts, bad: Vec::new() };
    let mut events = Vec::new();
    for batch in listing.scan() {
        match batch.and_then(|b| EventRow::from_batch(&b)) {
            Ok(rows) => events.extend(rows),
            Err(e) => f.add(Kind::UnreadablePart, || format!("events: {e}"), error_keys(&e)),
        }
    }
    events
}

fn error_keys(e: &crate::storage::StorageError) -> Vec<Key> {
    use crate::storage::StorageError as E;
    match e {
        E::Io { path, .. } | E::Parquet { path, .. } | E::Read { path, .. } => {
            vec![Key::File(path.clone())]
        }
        _ => Vec::new(),
    }
}

fn skew(book: Option<LatencyStats>, trades: Option<LatencyStats>) -> Option<Skew> {
    let all = [book, trades];
    let rows: u64 = all.iter().flatten().map(|s| s.negative).sum();
    if rows == 0 {
        return None;
    }
    let of = all.iter().flatten().map(|s| s.count).sum();
    let ahead_max_ns = all.iter().flatten().map(|s| -s.min_ns).max().unwrap_or(0);
    let ahead_median_ns = all.iter().flatten().find(|s| s.p50_ns < 0).map(|s| -s.p50_ns);
    Some(Skew { rows, of, ahead_max_ns, ahead_median_ns })
}
