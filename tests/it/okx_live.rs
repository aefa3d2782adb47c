//! `mdkit collect --venue okx` end to end against `mdkit simulate --venue okx` on 127.0.0.1:
//! a session with a malformed message, a dropped book update, a corrupted checksum, a repeated
//! update and a cut trades socket — each ends in the event that explains it (OKX's `seqId`
//! chain makes every loss visible at the very next message), `verify` exits 0, and the journal
//! re-imports row for row — and `kill -9` at random moments loses nothing the journal holds.
//! Checked against the simulator's own log; nothing sleeps.

use std::collections::HashSet;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, EventRow, Journal};
use mdkit::venue::okx;
use rand::Rng as _;

use crate::common::{mdkit, stderr, stdout};
use crate::live::{
    assert_journal_reimports, assert_matches_truth, conns, Collector, Recording, Sim,
};

const MARKET: &str = "ETH-USDT";

fn collect_args(url: &str) -> Vec<String> {
    let url = format!("{url}/ws/v5/public");
    ["eth-usdt", "--venue", "okx", "--url", &url, "--backoff-min", "10ms", "--backoff-max", "50ms"]
        .map(str::to_owned)
        .to_vec()
}

/// The first `seq_gap` of `conn`, with the book message its detail names.
fn first_gap(rec: &Recording, conn: u32) -> (EventRow, u32) {
    let gap = rec.events_of(conn).into_iter().find(|e| e.kind == EventKind::SeqGap).cloned();
    let gap = gap.unwrap_or_else(|| panic!("book conn {conn} has no seq_gap: {:?}", rec.events));
    let detail = gap.detail.clone().unwrap_or_default();
    let message = ["book message ", "after book message "]
        .iter()
        .filter_map(|at| detail.split(at).nth(1))
        .find_map(|rest| rest.split([' ', ':']).next().and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("{detail}"));
    (gap, message)
}

#[test]
fn an_okx_session_with_chain_and_checksum_faults_is_explained_verified_and_reimported() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // Each book connection loses one message a different way; frame 1 is the snapshot.
    let faults = [
        "malformed=10@book:1",
        "skip=20@book:2",
        "checksum=30@book:3",
        "duplicate=20@book:4",
        "disconnect=50@trades:1",
    ];
    let mut args = vec!["--venue", "okx", "--market", MARKET, "--seed", "7"];
    args.extend(["--speed", "30", "--duration", "2m"]);
    faults.iter().for_each(|f| args.extend(["--fault", f]));
    let mut sim = Sim::start(&log, &args);
    let collect = collect_args(&sim.url);
    let collect: Vec<&str> = collect.iter().map(String::as_str).collect();
    let collector = Collector::start(&data, &collect, false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = Recording::read(&data, MARKET);
    assert_matches_truth(&rec, &log, MARKET, None);
    let book = conns(rec.book_top.iter().map(|b| b.conn));
    assert_eq!(rec.conns("/ws/v5/public (books)"), book, "connect rows name the channel");
    assert!(book.len() >= 4, "book conns {book:?} {:?}", rec.events);
    // 1: message 10 arrived unreadable (refused), so the 10th applied is the wire's 11th,
    // whose prevSeqId names the lost one.
    let (gap, at) = first_gap(&rec, book[0]);
    assert!(gap.detail.as_deref().unwrap_or("").contains("prevSeqId"), "{gap:?}");
    assert_eq!(at, 10, "{gap:?}");
    let refused = rec.events_of(book[0]).into_iter().filter(|e| e.kind == EventKind::Refused);
    assert_eq!(refused.count(), 1, "the malformed message is refused once");
    // 2: message 20 never arrived: the 20th applied is the wire's 21st.
    let (gap, at) = first_gap(&rec, book[1]);
    assert!(gap.detail.as_deref().unwrap_or("").contains("prevSeqId"), "{gap:?}");
    assert_eq!(at, 20, "{gap:?}");
    // 3: message 30's checksum is one off.
    let (gap, at) = first_gap(&rec, book[2]);
    assert!(gap.detail.as_deref().unwrap_or("").contains("checksum mismatch"), "{gap:?}");
    assert_eq!((at, gap.seq.zip(gap.expected_seq).map(|(s, e)| s - e)), (30, Some(1)));
    // 4: a repeated update is recognised by its seqId and changes nothing.
    let later = rec.events_of(book[3]).into_iter().filter(|e| e.kind == EventKind::SeqGap);
    assert_eq!(later.count(), 0, "{:?}", rec.events_of(book[3]));
    let resnapshots = rec.events.iter().filter(|e| e.kind == EventKind::Resnapshot).count();
    assert!(resnapshots >= 3, "{resnapshots} resnapshots");
    let trades = conns(rec.trades.iter().map(|t| t.conn));
    assert!(trades.len() >= 2, "trades conns {trades:?}");
    let cut = rec.events_of(trades[0]).into_iter().any(|e| e.kind == EventKind::Disconnect);
    assert!(cut, "{:?}", rec.events_of(trades[0]));

    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("recorded as seq_gap"), "{report}");
    assert!(report.contains("okx ETH-USDT"), "{report}");
    assert_journal_reimports(&data, "okx", MARKET, &rec);
}

#[test]
fn kill_9_of_an_okx_recorder_loses_nothing_that_reached_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--venue", "okx", "--market", MARKET, "--speed", "20"]);
    let args = collect_args(&sim.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut rng = rand::rng();
    for _ in 0..5 {
        let mut collector = Collector::start(&data, &args, true);
        collector.wait_journaled(rng.random_range(20..300));
        collector.kill();
    }
    let mut last = Collector::start(&data, &args, true);
    last.wait_journaled(200);
    sim.stop();
    assert!(last.interrupt().success());

    let rec = Recording::read(&data, MARKET);
    assert_matches_truth(&rec, &log, MARKET, None);
    let dir = Journal::dir(&data, "okx", MARKET);
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let mut journaled = 0;
    for record in Journal::read_all(&dir).expect("read the journal") {
        let Entry::Frame { text, .. } = record.entry else { continue };
        if let Ok(okx::Message::Trades(trades)) = okx::parse(&text) {
            for trade in trades {
                journaled += 1;
                assert!(recorded.contains(&trade.id), "journaled trade {} not recorded", trade.id);
            }
        }
    }
    assert!(journaled > 100, "only {journaled} journaled trades");
    let restarted = |e: &&EventRow| e.detail.as_deref() == Some("recorder restarted");
    let restarts = rec.events.iter().filter(restarted).count();
    assert!(restarts >= 5, "{restarts} restarts");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_journal_reimports(&data, "okx", MARKET, &rec);
}
