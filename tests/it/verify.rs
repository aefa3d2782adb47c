//! `mdkit verify` on a recording written with the storage writer: two book connections with a
//! recorded gap between them, a trades connection, mid-stream snapshots and empty deltas. The
//! clean tree exits 0; each corruption exits 1 and the report names the fault and its place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Decimal128Array, RecordBatch};
use arrow::compute::concat_batches;
use mdkit::book::Book;
use mdkit::model::{
    BookFrame, BookSide, EventKind, EventTime, FrameKind, Level, Price, Qty, RecvTime, TakerSide,
    TradeKind,
};
use mdkit::storage::{
    list, BookTopRow, DepthRow, EventRow, Rows, Selection, Table, TopLevels, TradeRow, Writer,
    WriterConfig, BOOK_TOP_LEVELS,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::common::{mdkit, stderr, stdout, DAY_20, SEC};
use crate::live::{Collector, Sim};

const MS: i64 = 1_000_000;
const VENUE: &str = "extended";
const MARKET: &str = "ETH-USD";
/// 01:00 on 2026-11-20: the first book frame arrives 100 ms later.
const T0: i64 = DAY_20 + 3600 * SEC;

/// How to build the recording.
#[derive(Clone, Copy, Default)]
struct Shape {
    /// Venue time minus receive time; 0 means the usual 3 ms of latency.
    ts_event_ahead: Option<i64>,
    /// A frame of conn 1 that adds a bid above the best ask (removed by the next frame).
    crossed_at: Option<i64>,
}

#[derive(Default)]
struct Recording {
    depth: Vec<DepthRow>,
    tops: Vec<BookTopRow>,
    trades: Vec<TradeRow>,
    events: Vec<EventRow>,
}

fn price(ticks: i64) -> Price {
    Price::from_raw(ticks * 1_000_000)
}

fn lots(n: i64) -> Qty {
    Qty::from_raw(n * 10_000_000)
}

fn event(ts: i64, conn: u32, kind: EventKind, seq: Option<(i64, i64)>, detail: &str) -> EventRow {
    EventRow {
        ts_recv: RecvTime::from_nanos(ts),
        conn,
        kind,
        seq: seq.map(|s| s.0),
        expected_seq: seq.map(|s| s.1),
        detail: (!detail.is_empty()).then(|| detail.to_owned()),
    }
}

/// The frame a book connection sends as `seq`: a snapshot first, deltas (some empty), and
/// the minutely snapshot at seq 25 that must equal the book built so far.
fn frame(seq: i64, book: &Book, shape: Shape, conn: u32) -> (FrameKind, Vec<Level>, Vec<Level>) {
    const MID: i64 = 300_000;
    if seq == 1 {
        let bids = (0..6).map(|k| Level::new(price(MID - k), lots(k + 1))).collect();
        let asks = (0..6).map(|k| Level::new(price(MID + 1 + k), lots(k + 2))).collect();
        return (FrameKind::Snapshot, bids, asks);
    }
    if seq == 25 {
        return (FrameKind::Snapshot, book.top(BookSide::Bid, 100), book.top(BookSide::Ask, 100));
    }
    if seq % 7 == 0 {
        return (FrameKind::Delta, vec![], vec![]);
    }
    let mut bids = vec![Level::new(price(MID - seq % 6), lots((seq * 37) % 50 + 1))];
    let asks = vec![Level::new(price(MID + 1 + (seq + 2) % 6), lots((seq * 13) % 40 + 1))];
    if seq % 11 == 0 {
        bids.push(Level::new(price(MID - (seq + 3) % 6), Qty::ZERO));
    }
    if conn == 1 && shape.crossed_at == Some(seq) {
        bids.push(Level::new(price(MID + 2), lots(1)));
    }
    if conn == 1 && shape.crossed_at == Some(seq - 1) {
        bids.push(Level::new(price(MID + 2), Qty::ZERO));
    }
    (FrameKind::Delta, bids, asks)
}

/// One book connection of `frames` frames from `start`, with a trade on conn 2 after every
/// third frame.
fn book_conn(
    rec: &mut Recording,
    conn: u32,
    start: i64,
    frames: i64,
    shape: Shape,
    trade_seq: &mut i64,
) {
    let ahead = shape.ts_event_ahead.unwrap_or(-3 * MS);
    let mut book = Book::new();
    for seq in 1..=frames {
        let ts = start + seq * 100 * MS;
        let (kind, bids, asks) = frame(seq, &book, shape, conn);
        let ts_event = EventTime::from_nanos(ts + ahead);
        let f = BookFrame { market: MARKET.into(), kind, seq: seq as u64, ts_event, bids, asks };
        book.apply(&f).expect("valid frame");
        let ts_recv = RecvTime::from_nanos(ts);
        let snapshot = kind == FrameKind::Snapshot;
        for (side, levels) in [(BookSide::Bid, &f.bids), (BookSide::Ask, &f.asks)] {
            for l in levels {
                rec.depth.push(DepthRow {
                    ts_event,
                    ts_recv,
                    conn,
                    seq,
                    snapshot,
                    side,
                    price: l.price,
                    qty: l.qty,
                });
            }
        }
        rec.tops.push(BookTopRow {
            ts_event,
            ts_recv,
            conn,
            seq,
            snapshot,
            bids: TopLevels::of(&book, BookSide::Bid, BOOK_TOP_LEVELS),
            asks: TopLevels::of(&book, BookSide::Ask, BOOK_TOP_LEVELS),
        });
        if seq % 3 == 0 {
            *trade_seq += 1;
            let side = if seq % 2 == 0 { TakerSide::Buy } else { TakerSide::Sell };
            let best = book.best(side.hits()).expect("both sides have levels");
            let t = ts + 50 * MS;
            rec.trades.push(TradeRow {
                ts_event: EventTime::from_nanos(t + ahead),
                ts_recv: RecvTime::from_nanos(t),
                conn: 2,
                seq: *trade_seq,
                trade_id: 2_103_821_900_219_158_529 + *trade_seq,
                side,
                price: best.price,
                qty: lots(1),
                kind: TradeKind::Trade,
            });
        }
    }
}

/// Conn 1 (book, 40 frames) breaks with a recorded seq_gap; conn 3 (book, 30 frames) takes
/// over and is shut down; conn 2 carries trades throughout.
fn recording(shape: Shape) -> Recording {
    let mut rec = Recording::default();
    let mut trade_seq = 0;
    book_conn(&mut rec, 1, T0, 40, shape, &mut trade_seq);
    book_conn(&mut rec, 3, T0 + 5 * SEC, 30, shape, &mut trade_seq);
    rec.events = vec![
        event(T0 - 10 * MS, 1, EventKind::Connect, None, ""),
        event(T0 - 5 * MS, 2, EventKind::Connect, None, ""),
        event(T0 + 4150 * MS, 1, EventKind::SeqGap, Some((42, 41)), ""),
        event(T0 + 5 * SEC, 3, EventKind::Connect, None, ""),
        event(T0 + 8200 * MS, 3, EventKind::Disconnect, None, "shutdown"),
        event(T0 + 8300 * MS, 2, EventKind::Disconnect, None, "shutdown"),
    ];
    rec
}

fn write<R: Rows>(root: &Path, rows: &[R]) -> Vec<PathBuf> {
    // Small parts, so the recording spans several files and rows have places inside them.
    let config = WriterConfig { row_group_rows: 40, part_max_rows: 120, ..WriterConfig::default() };
    let mut writer = Writer::new(root, R::TABLE, VENUE, MARKET, config).expect("writer");
    writer.write(&R::to_batch(VENUE, MARKET, rows)).expect("write");
    writer.close().expect("close")
}

/// Writes the recording and the state file collect would leave after its last checkpoint.
fn write_tree(root: &Path, rec: &Recording) {
    let mut parts = Vec::new();
    parts.extend(write(root, &rec.depth));
    parts.extend(write(root, &rec.tops));
    parts.extend(write(root, &rec.trades));
    parts.extend(write(root, &rec.events));
    let relative: Vec<String> =
        parts.iter().map(|p| p.strip_prefix(root).unwrap().display().to_string()).collect();
    let state = serde_json::json!({
        "checkpoint": 7,
        "next_conn": 4,
        "parts": relative,
        "rows": {
            "depth": rec.depth.len(),
            "book_top": rec.tops.len(),
            "trades": rec.trades.len(),
            "events": rec.events.len(),
        },
    });
    let dir = root.join("_state").join(VENUE);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{MARKET}.json")), state.to_string()).unwrap();
}

fn clean_tree() -> (tempfile::TempDir, Recording) {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(Shape::default());
    write_tree(dir.path(), &rec);
    (dir, rec)
}

fn parts(root: &Path, table: Table) -> Vec<PathBuf> {
    list(root, table, &Selection::default()).unwrap().parts.into_iter().map(|p| p.path).collect()
}

fn read_part(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// Rewrites a part in place with `edit` applied to its rows (row order kept as edited).
fn edit_part(path: &Path, table: Table, edit: impl FnOnce(RecordBatch) -> RecordBatch) {
    let batch = edit(read_part(path));
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "mdkit.table".into(),
            table.name().to_string(),
        )]))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The part of `table` holding the frame (conn, seq), and the rows of that frame in it.
fn find_frame(root: &Path, table: Table, conn: u32, seq: i64) -> (PathBuf, Vec<usize>) {
    for path in parts(root, table) {
        let batch = read_part(&path);
        let conns = batch
            .column_by_name("conn")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::UInt32Array>()
            .unwrap();
        let seqs = batch
            .column_by_name("seq")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        let rows: Vec<usize> = (0..batch.num_rows())
            .filter(|&i| conns.value(i) == conn && seqs.value(i) == seq)
            .collect();
        if !rows.is_empty() {
            return (path, rows);
        }
    }
    panic!("no {table} rows for conn {conn} seq {seq}");
}

fn without_row(batch: RecordBatch, row: usize) -> RecordBatch {
    let n = batch.num_rows();
    concat_batches(&batch.schema(), &[batch.slice(0, row), batch.slice(row + 1, n - row - 1)])
        .unwrap()
}

fn with_rows_repeated(batch: RecordBatch, first: usize, count: usize) -> RecordBatch {
    let end = first + count;
    let n = batch.num_rows();
    let pieces = [batch.slice(0, end), batch.slice(first, count), batch.slice(end, n - end)];
    concat_batches(&batch.schema(), &pieces).unwrap()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs verify and asserts exit 1 with every fragment in the report.
fn assert_violation(root: &Path, fragments: &[&str]) -> String {
    let out = mdkit(root, &["verify"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    for fragment in fragments {
        assert!(text.contains(fragment), "{fragment:?} not in:\n{text}");
    }
    text
}

#[test]
fn a_clean_recording_verifies_with_exit_0() {
    let (dir, rec) = clean_tree();
    let out = mdkit(dir.path(), &["verify"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("result: clean"), "{text}");
    assert!(text.contains("connections: book 1, 3; trades 2"), "{text}");
    assert!(text.contains("recorded as seq_gap (received seq 42, expected 41)"), "{text}");
    assert!(text.contains("p50 3.000 ms"), "{text}");
    assert!(!text.contains("clock skew"), "{text}");

    let out = mdkit(dir.path(), &["verify", "--json", "--market", MARKET]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["violations"], 0);
    let market = &json["markets"][0];
    assert_eq!(market["rows"]["depth"], rec.depth.len());
    assert_eq!(market["rows"]["book_top"], rec.tops.len());
    assert_eq!(market["trades_compared"], rec.trades.len());
    assert_eq!(market["latency_book"]["p50_ns"], 3 * MS);
}

#[test]
fn a_range_and_filters_select_what_is_checked() {
    let (dir, _) = clean_tree();
    // From the middle of conn 1: it starts mid-stream there, which is no fault.
    let from = "2026-11-20T01:00:02Z";
    let out = mdkit(dir.path(), &["verify", "--from", from, "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["from"], "2026-11-20T01:00:02Z");
    assert_eq!(json["markets"][0]["rows"]["book_top"], 70 - 19);

    let out = mdkit(dir.path(), &["verify", "--market", "BTC-USD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no recording under"), "{}", stderr(&out));
    let out = mdkit(dir.path(), &["verify", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"yesterday\" is not a time"), "{}", stderr(&out));
}

#[test]
fn a_deleted_depth_row_is_named_with_its_frame_and_file() {
    let (dir, _) = clean_tree();
    let (path, rows) = find_frame(dir.path(), Table::Depth, 1, 10);
    assert!(rows.len() >= 2, "the frame keeps a row, so its place can be shown");
    edit_part(&path, Table::Depth, |b| without_row(b, rows[0]));
    let text = assert_violation(
        dir.path(),
        &[
            "top_mismatch",
            "conn 1 seq 10: bid level",
            "in the replay of depth but",
            &file_name(&path),
        ],
    );
    assert!(text.contains(&format!("row {}", rows[0])), "{text}");
}

#[test]
fn a_duplicated_trade_is_named_with_both_rows() {
    let (dir, rec) = clean_tree();
    let path = parts(dir.path(), Table::Trades).remove(0);
    edit_part(&path, Table::Trades, |b| with_rows_repeated(b, 4, 1));
    let id = rec.trades[4].trade_id;
    assert_violation(
        dir.path(),
        &[
            "duplicate_trade",
            &format!("trade_id {id}"),
            &format!("{} rows 4–5 (2 rows)", file_name(&path)),
        ],
    );
}

#[test]
fn a_duplicated_frame_is_named() {
    let (dir, _) = clean_tree();
    let (top_path, top_rows) = find_frame(dir.path(), Table::BookTop, 1, 12);
    edit_part(&top_path, Table::BookTop, |b| with_rows_repeated(b, top_rows[0], 1));
    let (depth_path, depth_rows) = find_frame(dir.path(), Table::Depth, 1, 12);
    edit_part(&depth_path, Table::Depth, |b| {
        with_rows_repeated(b, depth_rows[0], depth_rows.len())
    });
    assert_violation(
        dir.path(),
        &[
            "duplicate_frame",
            "conn 1 seq 12 (ts_recv 2026-11-20T01:00:01.200Z) was already recorded",
            "duplicate_level",
            &file_name(&top_path),
            &file_name(&depth_path),
        ],
    );
}

#[test]
fn a_crossed_book_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &recording(Shape { crossed_at: Some(16), ..Shape::default() }));
    let (path, rows) = find_frame(dir.path(), Table::BookTop, 1, 16);
    let text = assert_violation(
        dir.path(),
        &[
            "crossed_book",
            "crossed after conn 1 seq 16 (replayed book): best bid 3000.02",
            &file_name(&path),
        ],
    );
    assert!(text.contains(&format!("row {}", rows[0])), "{text}");
    assert!(text.contains("VIOLATION crossed or locked book after a frame: 1 "), "{text}");
}

#[test]
fn a_removed_gap_event_leaves_an_unexplained_gap() {
    let (dir, _) = clean_tree();
    let path = parts(dir.path(), Table::Events).remove(0);
    // Rows sorted by ts_recv: connect 1, connect 2, seq_gap 1, …
    edit_part(&path, Table::Events, |b| without_row(b, 2));
    let (last, _) = find_frame(dir.path(), Table::BookTop, 1, 40);
    assert_violation(
        dir.path(),
        &[
            "unexplained_gap",
            "book conn 1 ends after seq 40 (2026-11-20T01:00:04Z) with no terminal event; conn 3 follows",
            &file_name(&last),
        ],
    );
}

#[test]
fn a_truncated_part_is_named() {
    let (dir, _) = clean_tree();
    let path = parts(dir.path(), Table::Depth).remove(1);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_violation(dir.path(), &["truncated_part", "truncated Parquet file", &file_name(&path)]);
}

#[test]
fn a_part_with_another_schema_is_named() {
    let (dir, _) = clean_tree();
    let trades = parts(dir.path(), Table::Trades).remove(0);
    let other = trades.with_file_name("part-010000-9-0.parquet");
    // A depth part where a trades part should be.
    std::fs::copy(parts(dir.path(), Table::Depth).remove(0), &other).unwrap();
    assert_violation(dir.path(), &["schema_mismatch", "holds the depth table", &file_name(&other)]);
}

#[test]
fn a_leftover_temp_file_is_named() {
    let (dir, _) = clean_tree();
    let depth = parts(dir.path(), Table::Depth).remove(0);
    let temp = depth.with_file_name(".part-020000-3-0.parquet.tmp");
    std::fs::write(&temp, b"PAR1").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&temp).unwrap().set_modified(old).unwrap();
    assert_violation(dir.path(), &["leftover_temp_file", ".part-020000-3-0.parquet.tmp"]);
}

#[test]
fn a_timestamp_shifted_back_is_named() {
    let (dir, _) = clean_tree();
    for table in [Table::BookTop, Table::Depth] {
        let (path, rows) = find_frame(dir.path(), table, 3, 18);
        edit_part(&path, table, |b| {
            let ts = b.column_by_name("ts_recv").unwrap();
            let ts = ts.as_any().downcast_ref::<arrow::array::TimestampNanosecondArray>().unwrap();
            let shifted: arrow::array::TimestampNanosecondArray = (0..b.num_rows())
                .map(|i| Some(ts.value(i) - if rows.contains(&i) { 2 * SEC } else { 0 }))
                .collect::<arrow::array::TimestampNanosecondArray>()
                .with_timezone("UTC");
            let index = b.schema().index_of("ts_recv").unwrap();
            let mut columns = b.columns().to_vec();
            columns[index] = Arc::new(shifted);
            RecordBatch::try_new(b.schema(), columns).unwrap()
        });
    }
    let (path, _) = find_frame(dir.path(), Table::BookTop, 3, 18);
    assert_violation(
        dir.path(),
        &[
            "recv_went_back",
            "book conn 3 seq 18: ts_recv 2026-11-20T01:00:04.800Z is 1.900 s before seq 17's",
            &file_name(&path),
        ],
    );
}

#[test]
fn clock_skew_alone_is_reported_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &recording(Shape { ts_event_ahead: Some(1300 * MS), ..Shape::default() }),
    );
    let out = mdkit(dir.path(), &["verify"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("result: clean"), "{text}");
    assert!(
        text.contains("clock skew: 93 of 93 rows were received before the venue stamped them"),
        "{text}"
    );
    assert!(text.contains("ahead of this machine's by up to 1.300 s, typically 1.300 s"), "{text}");
    assert!(text.contains("p50 -1.300 s"), "{text}");
}

#[test]
fn a_missing_or_empty_tree_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for data in [dir.path().to_path_buf(), dir.path().join("nowhere")] {
        let out = mdkit(&data, &["verify"]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(err.starts_with("mdkit: "), "{err}");
        assert!(err.contains("no recording under") || err.contains("does not exist"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn a_state_file_that_disagrees_with_the_parts_is_named() {
    let (dir, rec) = clean_tree();
    let path = dir.path().join("_state").join(VENUE).join(format!("{MARKET}.json"));
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["parts"]
        .as_array_mut()
        .unwrap()
        .push("depth/venue=extended/market=ETH-USD/date=2026-11-20/part-090000-3-0.parquet".into());
    state["rows"]["trades"] = (rec.trades.len() + 2).into();
    state["next_conn"] = 3.into();
    std::fs::write(&path, state.to_string()).unwrap();
    assert_violation(
        dir.path(),
        &[
            "state_mismatch",
            "names part depth/venue=extended/market=ETH-USD/date=2026-11-20/part-090000-3-0.parquet, which does not exist",
            &format!("counts {} trades rows; the parts hold {}: rows are missing", rec.trades.len() + 2, rec.trades.len()),
            "next_conn is 3, but conn 3 is already in the tables",
            "at _state/extended/ETH-USD.json",
        ],
    );
}

/// `batch` with the `qty` of `row` raised by 0.01: a size no delta ever sent.
fn with_qty_raised(batch: RecordBatch, row: usize) -> RecordBatch {
    let column = batch.schema().index_of("qty").unwrap();
    let qty = batch.column(column).as_any().downcast_ref::<Decimal128Array>().unwrap();
    let raised: Decimal128Array = (0..qty.len())
        .map(|r| Some(qty.value(r) + if r == row { 1_000_000 } else { 0 }))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(18, 8)
        .unwrap();
    let mut columns = batch.columns().to_vec();
    columns[column] = Arc::new(raised);
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// `verify --json`'s findings of `kind` for the one market of the tree.
fn findings_of(root: &Path, kind: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let out = mdkit(root, &["verify", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let found = json["markets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .cloned()
        .collect();
    (json, found)
}

/// A recording of `mdkit simulate` (tests/it/live.rs) over the real sockets: its minutely
/// snapshots equal the book its deltas built, as a real venue's do (docs/VENUES.md §1.3 rule
/// 4), so verify notes no snapshot_drift. One size changed in a mid-stream snapshot — drift
/// injected on purpose — is then reported, with its frame.
#[test]
fn a_simulated_recording_has_no_snapshot_drift_until_one_is_injected() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // The clock waits for collect's book and trades streams (--wait-streams 2): the book
    // connection sees all three minutely snapshots of the three minutes, the last one as the
    // session's last frame.
    let args = [
        "--speed",
        "60",
        "--duration",
        "3m",
        "--seed",
        "7",
        "--start",
        "2026-01-01T00:00:00Z",
        "--wait-streams",
        "2",
    ];
    let mut sim = Sim::start(&log, &args);
    let collect = [MARKET, "--url", &sim.url, "--backoff-min", "10ms", "--backoff-max", "50ms"];
    let collector = Collector::start(&data, &collect, false);
    sim.wait();
    assert!(collector.interrupt().success());

    let tops: Vec<BookTopRow> = crate::live::read(&data, MARKET);
    let mid_stream: Vec<&BookTopRow> = tops.iter().filter(|t| t.snapshot && t.seq > 1).collect();
    assert_eq!(mid_stream.len(), 3, "minutely snapshots after the first frame");
    let (json, drift) = findings_of(&data, "snapshot_drift");
    assert_eq!(json["violations"], 0, "{json:#}");
    assert!(drift.is_empty(), "a clean simulated recording has drift: {drift:#?}");

    // The last snapshot ends the session, so nothing replays on the altered book. Its last
    // depth row is its deepest ask, below the levels book_top keeps.
    let last = mid_stream.iter().max_by_key(|t| t.seq).unwrap();
    assert!(tops.iter().all(|t| t.conn != last.conn || t.seq <= last.seq));
    let (path, rows) = find_frame(&data, Table::Depth, last.conn, last.seq);
    assert!(rows.len() > BOOK_TOP_LEVELS * 2, "{} rows", rows.len());
    edit_part(&path, Table::Depth, |b| with_qty_raised(b, *rows.last().unwrap()));
    let (json, drift) = findings_of(&data, "snapshot_drift");
    assert_eq!(json["violations"], 0, "drift is a note, not a violation: {json:#}");
    assert_eq!(drift.len(), 1, "{json:#}");
    assert_eq!(drift[0]["count"], 1, "{json:#}");
    let message = drift[0]["examples"][0]["message"].as_str().unwrap();
    let frame = format!("snapshot at conn {} seq {} differs", last.conn, last.seq);
    assert!(message.contains(&frame), "{message}");
    assert!(message.contains("at 1 level(s): ask ") && message.contains("(+0.01)"), "{message}");
}
