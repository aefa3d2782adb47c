//! `mdkit collect --venue extended-v2` end to end against `mdkit simulate`'s v2 JSON-RPC
//! server on 127.0.0.1: one connection subscribes to the book and the trades, the
//! connection-global `seq` is checked, a skipped data frame ends the connection and the next
//! one resubscribes; the tables equal the venue's book and trades, `verify` is clean and the
//! journal re-imports row for row. The real v2 frames in `../shared/fixtures/extended/rpc_v2/`
//! are replayed through the same rules when that folder is present. Nothing sleeps.

use std::path::{Path, PathBuf};

use mdkit::model::{EventKind, RecvTime};
use mdkit::record::Recorder;
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::{Venue, Verdict};

use crate::common::{mdkit, stderr, stdout};
use crate::live::{replayed_checksums, truth_checksums, truth_trades, Collector, Recording, Sim};

const MARKET: &str = "ETH-USD";

fn collect_args(url: &str) -> Vec<&str> {
    vec![
        MARKET,
        "--venue",
        "extended-v2",
        "--url",
        url,
        "--backoff-min",
        "10ms",
        "--backoff-max",
        "50ms",
    ]
}

fn sorted<T: std::fmt::Debug>(rows: &[T]) -> Vec<String> {
    let mut text: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    text.sort();
    text
}

#[test]
fn a_v2_session_with_a_skipped_frame_matches_the_venue_and_reimports_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let args = ["--speed", "30", "--duration", "2m", "--seed", "5", "--fault", "skip=400@rpc:1"];
    let mut sim = Sim::start(&log, &args);
    let collector = Collector::start(&data, &collect_args(&sim.url), false);
    sim.wait();
    assert!(collector.interrupt().success());

    // The same tables as v1: venue=extended.
    let rec = Recording::read(&data, MARKET);
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    let truth = truth_checksums(&log, MARKET);
    let replayed = replayed_checksums(&rec);
    assert!(replayed.len() > 100, "only {} book frames", replayed.len());
    for (ts, checksum) in replayed {
        assert_eq!(truth.get(&ts), Some(&checksum), "book differs from the venue's at ts {ts}");
    }
    let sent = truth_trades(&log, MARKET);
    for t in &rec.trades {
        let want = sent.iter().find(|s| s.id == t.trade_id);
        let want = want.unwrap_or_else(|| panic!("trade {} never sent", t.trade_id));
        assert_eq!((t.side, t.price, t.qty), (want.side, want.price, want.qty));
    }
    assert!(rec.trades.len() > 20, "{} trades", rec.trades.len());

    let conns = rec.conns("/v2/rpc");
    assert!(conns.len() >= 2, "{:?}", rec.events);
    let gap = rec.events_of(conns[0]).into_iter().find(|e| e.kind == EventKind::SeqGap);
    let gap = gap.unwrap_or_else(|| panic!("no seq_gap on conn {}: {:?}", conns[0], rec.events));
    // v2 counts data frames from 0: frame 400 (1-based) carries seq 399; its successor came.
    assert_eq!((gap.expected_seq, gap.seq), (Some(399), Some(400)), "{gap:?}");
    let second = rec.events_of(conns[1]);
    assert!(second.iter().any(|e| e.kind == EventKind::Resnapshot), "{second:?}");
    assert!(rec.book_top.iter().any(|b| b.conn == conns[1] && b.snapshot && b.seq == 1));

    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    let journal = data.join("_journal").join("extended").join(MARKET);
    let rebuilt = dir.path().join("rebuilt");
    let out = mdkit(&rebuilt, &["import", "--from-format", "journal", journal.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = Recording::read(&rebuilt, MARKET);
    assert_eq!(sorted(&rec.depth), sorted(&again.depth));
    assert_eq!(sorted(&rec.book_top), sorted(&again.book_top));
    assert_eq!(sorted(&rec.trades), sorted(&again.trades));
    assert_eq!(sorted(&rec.events), sorted(&again.events));
}

fn fixtures() -> Option<PathBuf> {
    crate::common::shared_fixtures("extended/rpc_v2")
}

/// The frames of one fixture file: a JSON array of frames, or one frame.
fn frames(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    match value {
        serde_json::Value::Array(items) => items.iter().map(ToString::to_string).collect(),
        one => vec![one.to_string()],
    }
}

#[test]
fn the_real_v2_frames_record_a_book_and_trades_through_the_v2_rules() {
    let Some(dir) = fixtures() else { return };
    let mut recorder = Recorder::new(Venue::ExtendedV2, "BTC-USD", 20);
    // Just before the fixture was captured (its venue times must not be a day ahead).
    let at = RecvTime::from_nanos(1_790_425_400_000_000_000);
    let mut ts = at.as_nanos();
    let mut apply = |recorder: &mut Recorder, text: String| {
        ts += 1_000_000;
        let entry = Entry::Frame { conn: 1, text };
        recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(ts), entry })
    };
    let url = "wss://api.starknet.extended.exchange/stream.extended.exchange/v2/rpc".to_owned();
    let connect = Entry::Connect { conn: 1, stream: Stream::Combined, url };
    assert_eq!(recorder.apply(&Record { jseq: 0, ts_recv: at, entry: connect }), Verdict::Continue);
    // One connection, in the venue's order: the acks, the book snapshot (seq 0) and the
    // delta right after it (seq 1).
    let files = [
        "ws_rpc_responses_btc.json",
        "ws_orderbook_snapshot_btc.top50.json",
        "ws_orderbook_delta_btc.json",
    ];
    for name in files {
        for text in frames(&dir.join(name)) {
            let verdict = apply(&mut recorder, text.clone());
            assert_eq!(verdict, Verdict::Continue, "{name}: {text:.200}");
        }
    }
    let out = recorder.output();
    assert_eq!(out.book_top.len(), 2, "{:?}", out.events);
    assert!(out.book_top[0].snapshot && out.book_top[0].seq == 1);
    assert!(!out.book_top[1].snapshot && out.book_top[1].seq == 2);
    // The delta's `c` (new absolute size) is what the book holds: bid 84073 became 0.00175.
    let bid = out.depth.iter().find(|d| d.seq == 2 && d.price.to_string() == "84073");
    assert_eq!(bid.map(|d| d.qty.to_string()), Some("0.00175".to_owned()), "{:?}", out.depth);
    // The captured trades frame came 298 data frames later on that connection (seq 299):
    // here it is the next frame, so it is a gap that ends the connection.
    let trades = frames(&dir.join("ws_trades_replay_btc.json")).remove(0);
    let verdict = apply(&mut recorder, trades.clone());
    assert!(matches!(verdict, Verdict::Close { conn: 1, .. }), "{verdict:?}");
    let gap = recorder.output().events.iter().find(|e| e.kind == EventKind::SeqGap).cloned();
    assert_eq!(gap.map(|g| (g.seq, g.expected_seq)), Some((Some(299), Some(2))));
    // Renumbered to follow on, the real replay records its 50 trades once each.
    let mut recorder = Recorder::new(Venue::ExtendedV2, "BTC-USD", 20);
    let connect = Entry::Connect { conn: 1, stream: Stream::Combined, url: String::new() };
    recorder.apply(&Record { jseq: 0, ts_recv: at, entry: connect });
    for text in frames(&dir.join("ws_rpc_responses_btc.json")) {
        assert_eq!(apply(&mut recorder, text), Verdict::Continue);
    }
    let renumbered = trades.replacen("\"seq\":299", "\"seq\":0", 1);
    assert_ne!(renumbered, trades, "the capture's seq is 299");
    assert_eq!(apply(&mut recorder, renumbered.clone()), Verdict::Continue);
    assert_eq!(recorder.output().trades.len(), 50);
    let again = renumbered.replacen("\"seq\":0", "\"seq\":1", 1);
    assert_eq!(apply(&mut recorder, again), Verdict::Continue);
    assert_eq!(recorder.output().trades.len(), 50, "a replayed trade is recorded once");
}
