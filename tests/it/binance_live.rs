//! `mdkit collect --venue binance-*` end to end against `mdkit simulate --venue binance-*`
//! on 127.0.0.1: the combined stream spliced onto the lagging REST snapshot, a chain break
//! and its fresh snapshot, a rate-limited snapshot request, and the journal re-imported row
//! for row. Checked against the simulator's own log of the market; nothing sleeps.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use mdkit::model::EventKind;
use mdkit::storage::{Entry, Journal};

use crate::common::{mdkit, stderr, stdout};
use crate::live::{replayed_checksums, truth_checksums, truth_trades, Collector, Recording, Sim};

/// A market like the ETH-USD preset (mid 3000, tick 0.01), under a Binance symbol.
const SPEC: &str = "mid=3000,lot=0.001,sigma=0.5";

fn sim(log: &Path, venue: &str, market: &str, extra: &[&str]) -> Sim {
    let spec = format!("{market}:{SPEC}");
    let mut args = vec!["--venue", venue, "--market", &spec, "--seed", "7"];
    args.extend_from_slice(extra);
    Sim::start(log, &args)
}

fn collect_args<'a>(venue: &'a str, market: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![market, "--venue", venue, "--url", url, "--backoff-min", "10ms", "--backoff-max", "50ms"]
}

/// The recorded book equals the venue's at every book frame; every recorded trade is one the
/// venue made, field for field; trades missing inside the recorded id range are flagged by
/// a `trade_gap` event.
fn assert_matches_truth(rec: &Recording, log: &Path, market: &str) {
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    let truth = truth_checksums(log, market);
    let replayed = replayed_checksums(rec);
    assert!(replayed.len() > 100, "only {} book frames", replayed.len());
    for (ts, checksum) in replayed {
        assert_eq!(truth.get(&ts), Some(&checksum), "book differs from the venue's at ts {ts}");
    }
    let trades = truth_trades(log, market);
    let by_id: HashMap<i64, _> = trades.iter().map(|t| (t.id, t)).collect();
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
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let (lo, hi) = (recorded.iter().min().copied(), recorded.iter().max().copied());
    let (Some(lo), Some(hi)) = (lo, hi) else { panic!("no trades recorded") };
    let missing = trades.iter().filter(|t| t.id >= lo && t.id <= hi && !recorded.contains(&t.id));
    if missing.count() > 0 {
        assert!(rec.events.iter().any(|e| e.kind == EventKind::TradeGap), "unflagged trade hole");
    }
}

/// Journal frames of `market`: (conn, text) in journal order.
fn journal_frames(data: &Path, venue: &str, market: &str) -> Vec<(u32, String)> {
    let records = Journal::read_all(&Journal::dir(data, venue, market)).expect("read the journal");
    records
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Frame { conn, text } => Some((conn, text)),
            _ => None,
        })
        .collect()
}

fn sorted<T: std::fmt::Debug>(rows: &[T]) -> Vec<String> {
    let mut text: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    text.sort();
    text
}

#[test]
fn a_usdm_session_matches_the_venue_and_its_journal_reimports_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let venue = "binance-usdm";
    let mut sim = sim(&log, venue, "BTCUSDT", &["--speed", "30", "--duration", "2m"]);
    // Lower case on the command line; stored upper case, as import stores Binance symbols.
    let collector = Collector::start(&data, &collect_args(venue, "btcusdt", &sim.url), false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = Recording::read(&data, "BTCUSDT");
    assert_matches_truth(&rec, &log, "BTCUSDT");
    // One combined connection carried the session (a reconnect racing the venue's shutdown
    // may add one that sees nothing).
    let conns = rec.conns("@depth@100ms/btcusdt@trade");
    assert_eq!(conns.first(), Some(&1), "{:?}", rec.events);
    assert!(rec.book_top.iter().all(|b| b.conn == 1), "no other connection had a book");
    assert!(rec.book_top[0].snapshot, "the first book frame is the splice");
    // The trap: the snapshot lags, so diffs newer than it were journaled before it and the
    // splice applied them on top.
    let frames = journal_frames(&data, venue, "BTCUSDT");
    let snapshot_at = frames.iter().position(|(_, t)| t.starts_with("{\"lastUpdateId\""));
    let snapshot_at = snapshot_at.expect("the REST snapshot is journaled as a frame");
    let diffs_before = frames[..snapshot_at].iter().filter(|(_, t)| t.contains("@depth")).count();
    assert!(diffs_before >= 3, "{diffs_before} diffs before the snapshot");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    let journal = data.join("_journal").join(venue).join("BTCUSDT");
    let rebuilt = dir.path().join("rebuilt");
    let out = mdkit(&rebuilt, &["import", "--from-format", "journal", journal.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = Recording::read(&rebuilt, "BTCUSDT");
    assert_eq!(sorted(&rec.depth), sorted(&again.depth));
    assert_eq!(sorted(&rec.book_top), sorted(&again.book_top));
    assert_eq!(sorted(&rec.trades), sorted(&again.trades));
    assert_eq!(sorted(&rec.events), sorted(&again.events));
}

#[test]
fn a_skipped_spot_diff_ends_the_connection_and_the_next_one_resplices_a_fresh_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let venue = "binance-spot";
    let args = ["--speed", "30", "--duration", "2m", "--fault", "skip=150"];
    let mut sim = sim(&log, venue, "ETHUSDT", &args);
    let collector = Collector::start(&data, &collect_args(venue, "ETHUSDT", &sim.url), false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = Recording::read(&data, "ETHUSDT");
    assert_matches_truth(&rec, &log, "ETHUSDT");
    let conns = rec.conns("ethusdt@depth@100ms");
    assert!(conns.len() >= 2, "{:?}", rec.events);
    let gap = rec.events_of(conns[0]).into_iter().find(|e| e.kind == EventKind::SeqGap);
    let gap = gap.unwrap_or_else(|| panic!("no seq_gap on conn {}", conns[0]));
    // Spot: the received U is 3 update ids past the due one (one step of ids is missing).
    let (received, expected) = (gap.seq.unwrap(), gap.expected_seq.unwrap());
    assert_eq!(received - expected, 3, "{gap:?}");
    let second = rec.events_of(conns[1]);
    assert!(second.iter().any(|e| e.kind == EventKind::Resnapshot), "{second:?}");
    assert!(rec.book_top.iter().any(|b| b.conn == conns[1] && b.snapshot));
    let snapshots: Vec<u32> = journal_frames(&data, venue, "ETHUSDT")
        .into_iter()
        .filter(|(_, t)| t.starts_with("{\"lastUpdateId\""))
        .map(|(conn, _)| conn)
        .collect();
    assert_eq!(snapshots[..2], conns[..2], "one REST snapshot per connection");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_rate_limited_snapshot_is_retried_and_named_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let venue = "binance-coinm";
    let market = "BTCUSD_PERP";
    let sim =
        sim(&log, venue, market, &["--speed", "10", "--duration", "2h", "--fault", "http429=1"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
        .arg("--data")
        .arg(&data)
        .arg("collect")
        .args(collect_args(venue, market, &sim.url))
        .env("RUST_LOG", "warn,mdkit::collect=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mdkit collect");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut next = |what: &str| loop {
        let line = lines.next().expect("collect ended early").expect("read stderr");
        if line.contains(what) {
            return line;
        }
    };
    let failed = next("REST snapshot failed");
    assert!(failed.contains("HTTP 429") && failed.contains("-1003"), "{failed}");
    assert!(failed.contains("/dapi/v1/depth?symbol=BTCUSD_PERP"), "{failed}");
    // Binance's Retry-After (1 s) outranks the 50 ms backoff cap.
    assert!(failed.contains("retrying in 1s"), "{failed}");
    next("REST snapshot received");
    drop(lines);
    let kill = Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status();
    assert!(kill.expect("run kill").success());
    let status = child.wait().expect("wait for collect");
    assert!(status.success(), "Ctrl+C must exit 0, not {status}");
    sim.stop();
    let rec = Recording::read(&data, market);
    assert!(rec.book_top.first().is_some_and(|b| b.snapshot), "the book was built");
    // collect stored the market's contract for the backtest, as the venue's exchangeInfo
    // gives it: COIN-M BTC, inverse, 100 USD.
    let contract = data.join("_contract/binance-coinm/BTCUSD_PERP.json");
    let contract = std::fs::read_to_string(&contract).expect("the contract is stored");
    assert!(contract.contains("\"contract\": \"inverse:100\""), "{contract}");
    assert!(contract.contains("contractSize of http://127.0.0.1:"), "{contract}");
    assert!(contract.contains("/dapi/v1/exchangeInfo"), "{contract}");
    let truth = truth_checksums(&log, market);
    for (ts, checksum) in replayed_checksums(&rec) {
        assert_eq!(truth.get(&ts), Some(&checksum), "book differs at ts {ts}");
    }
}
