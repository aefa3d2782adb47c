//! `mdkit collect` end to end against `mdkit simulate`: faults, kill -9, Ctrl+C and two
//! markets, checked against the simulator's own log of what it sent.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, Journal, Record};
use mdkit::venue::extended::v1::{self, Message};
use rand::Rng as _;

use crate::common::{mdkit, stdout};
use crate::live::{
    replayed_checksums, truth_checksums, truth_trades, Collector, Recording, Sim, TruthTrade,
};

const MARKET: &str = "ETH-USD";

fn collect_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![MARKET, "--url", url, "--backoff-min", "10ms", "--backoff-max", "50ms"];
    args.extend_from_slice(extra);
    args
}

/// Every recorded trade is one the simulator made, field for field; every simulated trade
/// inside the span a trades connection covered is recorded; a hole between two connections
/// is allowed only when the later one flagged it with a `trade_gap` event.
fn assert_trades_match_truth(rec: &Recording, truth: &[TruthTrade]) -> usize {
    let by_id: HashMap<i64, &TruthTrade> = truth.iter().map(|t| (t.id, t)).collect();
    for t in &rec.trades {
        let want =
            by_id.get(&t.trade_id).unwrap_or_else(|| panic!("trade {} never sent", t.trade_id));
        assert_eq!(
            (t.side, t.price, t.qty, t.ts_event.as_nanos() / 1_000_000),
            (want.side, want.price, want.qty, want.ts_ms),
            "trade {}",
            t.trade_id
        );
    }
    // The simulator numbers trades in order, so a connection covers an id range.
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let mut windows: Vec<(u32, i64, i64)> = Vec::new();
    for conn in rec.conns("publicTrades") {
        let ids = rec.trades.iter().filter(|t| t.conn == conn).map(|t| t.trade_id);
        if let (Some(lo), Some(hi)) = (ids.clone().min(), ids.max()) {
            windows.push((conn, lo, hi));
        }
    }
    assert!(!windows.is_empty(), "no trades recorded");
    let missing = |lo: i64, hi: i64| {
        truth.iter().filter(|t| t.id >= lo && t.id <= hi && !recorded.contains(&t.id)).count()
    };
    let mut flagged_holes = 0;
    for (i, &(conn, lo, hi)) in windows.iter().enumerate() {
        let gone: Vec<i64> = truth
            .iter()
            .filter(|t| t.id >= lo && t.id <= hi && !recorded.contains(&t.id))
            .map(|t| t.id)
            .collect();
        assert!(
            gone.is_empty(),
            "trades {gone:?} missing while conn {conn} ({lo}..={hi}) was open; its events {:?}",
            rec.events_of(conn)
        );
        if let Some(&(next, next_lo, _)) = windows.get(i + 1) {
            let hole = missing(hi + 1, next_lo - 1);
            if hole > 0 {
                let flagged = rec.events_of(next).iter().any(|e| e.kind == EventKind::TradeGap);
                assert!(flagged, "{hole} trades lost between conns {conn} and {next}, unflagged");
                flagged_holes += 1;
            }
        }
    }
    flagged_holes
}

fn assert_book_matches_truth(rec: &Recording, log: &Path, market: &str) {
    let truth = truth_checksums(log, market);
    let replayed = replayed_checksums(rec);
    assert!(replayed.len() > 100, "only {} book frames", replayed.len());
    for (ts, checksum) in replayed {
        assert_eq!(truth.get(&ts), Some(&checksum), "book differs from the venue's at ts {ts}");
    }
}

/// Reads `market`'s tables and checks them against the simulator's log: no duplicate, no hole
/// inside a book connection, the venue's book at every frame, the trades it sent.
fn read_checked(data: &Path, log: &Path, market: &str) -> Recording {
    let rec = Recording::read(data, market);
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    assert_book_matches_truth(&rec, log, market);
    assert_trades_match_truth(&rec, &truth_trades(log, market));
    rec
}

/// The kind of the event that ended `conn` (its last event other than connect/resnapshot).
fn terminal(rec: &Recording, conn: u32) -> EventKind {
    rec.events_of(conn)
        .iter()
        .rev()
        .map(|e| e.kind)
        .find(|k| !matches!(k, EventKind::Connect | EventKind::Resnapshot | EventKind::TradeGap))
        .unwrap_or_else(|| panic!("conn {conn} has no terminal event"))
}

#[test]
fn ten_simulated_minutes_with_every_fault_kind_are_recorded_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let faults = [
        "disconnect=300@book:1",
        "skip=300@book:2",
        "duplicate=300@book:3",
        "swap=300@book:4",
        "malformed=300@book:5",
        "stall=300@book:6",
        "burst=100:30@book:7",
        "disconnect=40@trades:1",
        "malformed=40@trades:2",
        "skip=30@trades:3",
        "duplicate=35@trades:4",
        "burst=60:5@trades:4",
        "disconnect=80@trades:4",
        "swap=50@trades:5",
    ];
    let mut args = vec!["--speed", "30", "--duration", "10m", "--seed", "11"];
    for fault in &faults {
        args.extend(["--fault", fault]);
    }
    let mut sim = Sim::start(&log, &args);
    let collector =
        Collector::start(&data, &collect_args(&sim.url, &["--stale-after", "1s"]), false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = read_checked(&data, &log, MARKET);

    let book = rec.conns("orderbooks");
    assert!(book.len() >= 7, "book conns {book:?}");
    let ends: Vec<EventKind> = book[..6].iter().map(|&c| terminal(&rec, c)).collect();
    use EventKind::*;
    // The malformed frame is refused and changes nothing; the next frame's seq then shows
    // the hole, which breaks the sequence as a skip does.
    assert_eq!(ends, [Disconnect, SeqGap, SeqGap, SeqGap, SeqGap, Stale]);
    assert!(rec.events_of(book[4]).iter().any(|e| e.kind == Refused), "{:?}", rec.events);
    // skip: 301 where 300 was due; duplicate: 300 again where 301 was due; swap: 301 first.
    let seq_gaps = [(300, 301), (301, 300), (300, 301), (300, 301)];
    for (&conn, (expected, received)) in book[1..5].iter().zip(seq_gaps) {
        let gap = rec.events_of(conn).into_iter().find(|e| e.kind == SeqGap).unwrap();
        assert_eq!((gap.expected_seq, gap.seq), (Some(expected), Some(received)), "{gap:?}");
    }
    let trades = rec.conns("publicTrades");
    assert!(trades.len() >= 6, "trades conns {trades:?}");
    // A trades seq jump (after a refused frame, a skip or a swap) ends the connection, so
    // the next one's replay fills the hole; a repeated frame or a burst does not.
    let ends: Vec<EventKind> = trades[..5].iter().map(|&c| terminal(&rec, c)).collect();
    assert_eq!(ends, [Disconnect, SeqGap, SeqGap, Disconnect, SeqGap]);
    assert!(rec.events_of(trades[1]).iter().any(|e| e.kind == Refused));
    // verify finds every one of those breaks explained by its events row.
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), crate::common::stderr(&out));
    // Every connection but the ones open at the end has exactly one terminal event.
    for conn in book.iter().chain(&trades) {
        let ends = rec
            .events_of(*conn)
            .iter()
            .filter(|e| matches!(e.kind, Disconnect | SeqGap | Malformed | Stale | VenueError))
            .count();
        assert_eq!(ends, 1, "conn {conn}");
    }
}

/// The frames and trade ids a journal holds, by jseq (a torn record's jseq is reused after a
/// restart, so later reads replace earlier ones).
fn journal_frames(data: &Path, into: &mut HashMap<u64, Record>) {
    let dir = Journal::dir(data, "extended", MARKET);
    for record in Journal::read(&dir, 0).expect("read the journal") {
        into.insert(record.jseq, record);
    }
}

#[test]
fn kill_9_at_random_instants_loses_nothing_that_reached_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--speed", "20", "--duration", "2h", "--seed", "5"]);
    let args = collect_args(&sim.url, &[]);
    let mut journaled = HashMap::new();
    let mut rng = rand::rng();
    let kills = 12;
    for _ in 0..kills {
        let mut collector = Collector::start(&data, &args, true);
        collector.wait_journaled(rng.random_range(20..400));
        collector.kill();
        journal_frames(&data, &mut journaled);
    }
    let mut last = Collector::start(&data, &args, true);
    last.wait_journaled(200);
    sim.stop();
    assert!(last.interrupt().success());
    journal_frames(&data, &mut journaled);

    let rec = Recording::read(&data, MARKET);
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    let frames: HashSet<(u32, i64)> = rec.book_top.iter().map(|b| (b.conn, b.seq)).collect();
    let trades: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let (mut book_frames, mut trade_frames) = (0, 0);
    for record in journaled.values() {
        let Entry::Frame { conn, text } = &record.entry else { continue };
        if let Ok(Message::Data(update)) = v1::parse_book(text) {
            book_frames += 1;
            let key = (*conn, update.frame.seq as i64);
            assert!(frames.contains(&key), "journaled book frame {key:?} is not in book_top");
        } else if let Ok(Message::Data(frame)) = v1::parse_trades(text) {
            trade_frames += 1;
            for t in &frame.trades {
                assert!(trades.contains(&t.id), "journaled trade {} is not in trades", t.id);
            }
        }
    }
    assert!(
        book_frames > 500 && trade_frames > 50,
        "{book_frames} book, {trade_frames} trade frames"
    );
    let restarts =
        rec.events.iter().filter(|e| e.detail.as_deref() == Some("recorder restarted")).count();
    assert!(restarts >= kills, "{restarts} connections closed by a restart");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), crate::common::stderr(&out));
    for table in ["depth", "book_top", "trades", "events"] {
        let out = mdkit(&data, &["sql", &format!("SELECT count(*) AS n FROM {table}")]);
        assert!(out.status.success(), "{table}: {}", crate::common::stderr(&out));
        assert!(!stdout(&out).contains("| 0 "), "{table} is empty");
    }
}

#[test]
fn ctrl_c_and_a_restart_leave_no_duplicate_and_record_the_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // A deep backlog: on a loaded CI host a starved debug recorder can fall 4,096 steps
    // behind and be closed as too slow (a third connection, seen once); this test is about
    // the restart, not about slow clients.
    let args = ["--speed", "10", "--duration", "2h", "--seed", "9", "--backlog", "80000"];
    let sim = Sim::start(&log, &args);
    let args = collect_args(&sim.url, &[]);
    let mut first = Collector::start(&data, &args, true);
    first.wait_journaled(400);
    let status = first.interrupt();
    assert!(status.success(), "Ctrl+C must exit 0, not {status}");
    let state = std::fs::read_to_string(data.join("_state/extended/ETH-USD.json")).unwrap();
    assert!(state.contains("\"checkpoint\": 1"), "{state}");
    let mut second = Collector::start(&data, &args, true);
    second.wait_journaled(400);
    sim.stop();
    assert!(second.interrupt().success());

    let rec = read_checked(&data, &log, MARKET);
    let book = rec.conns("orderbooks");
    assert_eq!(book.len(), 2, "one book connection per run");
    let stop = rec.events_of(book[0]).into_iter().last().unwrap();
    assert_eq!(
        (stop.kind, stop.detail.as_deref()),
        (EventKind::Disconnect, Some("recorder stopped"))
    );
    // The downtime is the time between the first run's disconnect and the second's connect.
    let resumed = rec.events_of(book[1])[0];
    assert_eq!(resumed.kind, EventKind::Connect);
    assert!(resumed.ts_recv > stop.ts_recv);
}

#[test]
fn two_markets_in_one_process_are_recorded_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let mut sim = Sim::start(
        &log,
        &["--market", "ETH-USD", "--market", "BTC-USD", "--speed", "30", "--duration", "2m"],
    );
    let collector = Collector::start(
        &data,
        &["ETH-USD", "BTC-USD", "--url", &sim.url, "--backoff-min", "10ms"],
        false,
    );
    sim.wait();
    assert!(collector.interrupt().success());
    // Each market's rows match its own simulator log (ETH near 3000, BTC near 84000), field
    // for field, so nothing of one market landed under the other.
    for market in ["ETH-USD", "BTC-USD"] {
        read_checked(&data, &log, market);
    }
}

#[test]
fn bad_flags_are_refused_with_one_line_and_nothing_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (args, says) in [
        (vec!["collect"], "name at least one market"),
        (vec!["collect", "ETH-USD", "--levels", "0"], "--levels must be 1 to 20"),
        (vec!["collect", "../x"], "market"),
        (vec!["collect", "ETH-USD", "ETH-USD"], "named twice"),
    ] {
        let out = mdkit(&data, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = crate::common::stderr(&out);
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
    assert!(!data.exists(), "a refused run must not create the data directory");
}

#[test]
fn a_write_error_stops_the_recorder_with_one_line_and_the_journal_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // A file where today's depth partition directory must go: the first part write fails
    // mid-run, as on a disk that refuses writes.
    let today = chrono::Utc::now().date_naive();
    let market_dir = data.join("depth/venue=extended/market=ETH-USD");
    std::fs::create_dir_all(&market_dir).unwrap();
    for date in [today, today.succ_opt().unwrap()] {
        std::fs::write(market_dir.join(format!("date={date}")), "not a directory").unwrap();
    }
    let sim = Sim::start(&log, &["--speed", "20", "--duration", "2h"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mdkit"))
        .arg("--data")
        .arg(&data)
        .args(["collect", MARKET, "--url", &sim.url])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = crate::common::stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("mdkit: recording extended/ETH-USD stopped") && last.contains("depth"),
        "{err}"
    );
    let records = Journal::read(&Journal::dir(&data, "extended", MARKET), 0).unwrap();
    assert!(records.iter().filter(|r| matches!(r.entry, Entry::Frame { .. })).count() > 10);
    assert!(!data.join("_state").exists(), "no checkpoint could be taken");
    drop(sim);
}

#[test]
fn calibrate_recovers_the_simulators_truth_from_a_two_hour_recording() {
    use mdkit::simulate::market::MarketParams;
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // Two simulated hours at 300x: 24 s of wall time, recorded over the real WebSocket path.
    // The backlog holds all 72,000 steps, so a collector slowed by a loaded machine lags
    // instead of being dropped: every frame after it connects must then be recorded.
    let args = ["--speed", "300", "--duration", "2h", "--seed", "42", "--backlog", "80000"];
    let mut sim = Sim::start(&log, &args);
    let collector = Collector::start(&data, &collect_args(&sim.url, &[]), false);
    sim.wait();
    assert!(collector.interrupt().success());
    let rec = read_checked(&data, &log, MARKET);
    assert!(rec.book_top.len() > 70_000, "{} book frames", rec.book_top.len());
    let truth = crate::calibrate::Truth::of(&MarketParams::preset(MARKET));
    let row = crate::calibrate::assert_recovers_truth(&data, &truth);
    eprintln!("recovered from a 2 h recording: {row}");
}

/// One recorder per market and tree: a second `collect` of the same market into the same
/// `--data` is refused at once with the first one's pid and writes nothing; after `kill -9`
/// of the first, the OS has released its lock and the next one records at once.
#[test]
fn a_second_recorder_of_the_same_market_and_tree_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--speed", "20", "--duration", "2h", "--seed", "9"]);
    let args = collect_args(&sim.url, &[]);
    let mut first = Collector::start(&data, &args, true);
    first.wait_journaled(50);
    let mut all = vec!["collect"];
    all.extend_from_slice(&args);
    let out = mdkit(&data, &all);
    assert_eq!(out.status.code(), Some(2), "{}", crate::common::stderr(&out));
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("extended/ETH-USD is already being recorded")
            && err.contains(&format!("(pid {})", first.pid())),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    first.wait_journaled(50);
    first.kill();
    let mut next = Collector::start(&data, &args, true);
    next.wait_journaled(50);
    sim.stop();
    assert!(next.interrupt().success());
    let rec = Recording::read(&data, MARKET);
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
}

/// Bytes of the archived journal segments of the market.
fn archive_bytes(data: &Path) -> (usize, u64) {
    let dir = Journal::dir(data, "extended", MARKET).join("archive");
    let files: Vec<u64> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().metadata().unwrap().len()).collect(),
        Err(_) => Vec::new(),
    };
    (files.len(), files.iter().sum())
}

/// `--keep-journal SIZE`: the archive stays under the limit, oldest segments go first, and
/// nothing uncommitted is deleted: after `kill -9` mid-run the restart replays the live
/// journal and the book is still contiguous, with no row twice.
#[test]
fn journal_retention_keeps_the_archive_under_its_limit_and_loses_nothing_uncommitted() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--speed", "20", "--duration", "2h", "--seed", "12"]);
    let limit: u64 = 40_000;
    let args = collect_args(&sim.url, &["--commit-every", "100ms", "--keep-journal", "40KB"]);
    let mut first = Collector::start(&data, &args, true);
    first.wait_journaled(3_000);
    first.kill();
    let (_, after_kill) = archive_bytes(&data);
    assert!(after_kill <= limit, "{after_kill} archived bytes over the {limit} limit");
    let mut next = Collector::start(&data, &args, true);
    next.wait_journaled(3_000);
    sim.stop();
    assert!(next.interrupt().success());
    let (segments, bytes) = archive_bytes(&data);
    assert!(bytes <= limit && segments > 0, "{segments} segments, {bytes} bytes");
    let oldest = Journal::dir(&data, "extended", MARKET)
        .join("archive")
        .join(format!("{:020}.journal.zst", 0));
    assert!(!oldest.exists(), "the oldest segments were pruned first");
    let rec = Recording::read(&data, MARKET);
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    let checkpoints = rec.events.iter().filter(|e| e.kind == EventKind::Connect).count();
    eprintln!(
        "retention: {segments} archived segments, {bytes} bytes kept; {checkpoints} connects"
    );
}
