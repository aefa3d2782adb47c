//! `mdkit collect --venue coinbase` end to end against `mdkit simulate --venue coinbase` on
//! 127.0.0.1: a session with a malformed message, a dropped book update, a repeated one and a
//! cut trades socket — each ends in the event that explains it (Advanced Trade's
//! `sequence_num` rises by one per message of a connection, heartbeats included, so every
//! loss shows at the very next message),
//! `verify` exits 0, and the journal re-imports row for row — and `kill -9` at random moments
//! loses nothing the journal holds. Checked against the simulator's own log; nothing sleeps.

use std::collections::HashSet;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, EventRow, Journal};
use mdkit::venue::coinbase;
use rand::Rng as _;

use crate::common::{mdkit, stderr, stdout};
use crate::live::{
    assert_journal_reimports, assert_matches_truth, conns, Collector, Recording, Sim,
};

const MARKET: &str = "BTC-USD";
const VENUE: &str = "coinbase";

fn collect_args(url: &str) -> Vec<String> {
    // Advanced Trade serves its streams at the host's root.
    [MARKET, "--venue", VENUE, "--url", url, "--backoff-min", "10ms", "--backoff-max", "50ms"]
        .map(str::to_owned)
        .to_vec()
}

/// The `seq` of the first `seq_gap` of `conn`: the book message (counted from 1, the
/// snapshot) at which the break was seen.
fn first_gap(rec: &Recording, conn: u32) -> EventRow {
    let gap = rec.events_of(conn).into_iter().find(|e| e.kind == EventKind::SeqGap).cloned();
    gap.unwrap_or_else(|| panic!("book conn {conn} has no seq_gap: {:?}", rec.events))
}

#[test]
fn a_coinbase_session_with_sequence_breaks_is_explained_verified_and_reimported() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // Each book connection loses one message a different way; frame 1 is the snapshot.
    let faults =
        ["malformed=10@book:1", "skip=20@book:2", "duplicate=20@book:3", "disconnect=50@trades:1"];
    let mut args = vec!["--venue", VENUE, "--market", MARKET, "--seed", "7"];
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
    assert!(book.len() >= 3, "book conns {book:?} {:?}", rec.events);
    // 1: message 10 arrived unreadable (refused): the next sequence_num skips one.
    let gap = first_gap(&rec, book[0]);
    assert_eq!(gap.seq.zip(gap.expected_seq).map(|(s, e)| s - e), Some(1), "{gap:?}");
    let refused = rec.events_of(book[0]).into_iter().filter(|e| e.kind == EventKind::Refused);
    assert_eq!(refused.count(), 1, "the malformed message is refused once");
    let rows = rec.book_top.iter().filter(|b| b.conn == book[0]).count();
    assert_eq!(rows, 9, "book conn 1 applied messages 1-9, then broke");
    // 2: message 20 never arrived: the same break at the 20th message.
    let gap = first_gap(&rec, book[1]);
    assert_eq!(gap.seq.zip(gap.expected_seq).map(|(s, e)| s - e), Some(1), "{gap:?}");
    let rows = rec.book_top.iter().filter(|b| b.conn == book[1]).count();
    assert_eq!(rows, 19, "book conn 2 applied messages 1-19, then broke");
    // 3: a repeated update is recognised by its sequence_num and changes nothing.
    let later = rec.events_of(book[2]).into_iter().filter(|e| e.kind == EventKind::SeqGap);
    assert_eq!(later.count(), 0, "{:?}", rec.events_of(book[2]));
    let resnapshots = rec.events.iter().filter(|e| e.kind == EventKind::Resnapshot).count();
    assert!(resnapshots >= 2, "{resnapshots} resnapshots");
    let trades = conns(rec.trades.iter().map(|t| t.conn));
    assert!(trades.len() >= 2, "trades conns {trades:?}");
    let cut = rec.events_of(trades[0]).into_iter().any(|e| e.kind == EventKind::Disconnect);
    assert!(cut, "{:?}", rec.events_of(trades[0]));

    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("recorded as seq_gap"), "{report}");
    assert!(report.contains(&format!("{VENUE} {MARKET}")), "{report}");
    assert_journal_reimports(&data, VENUE, MARKET, &rec);
}

#[test]
fn kill_9_of_a_coinbase_recorder_loses_nothing_that_reached_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--venue", VENUE, "--market", MARKET, "--speed", "20"]);
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
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let mut journaled = 0;
    for record in Journal::read_all(&Journal::dir(&data, VENUE, MARKET)).expect("read the journal")
    {
        let Entry::Frame { text, .. } = record.entry else { continue };
        let Ok(coinbase::Message::Data(envelope)) = coinbase::parse(&text) else { continue };
        let coinbase::Body::Trades(events) = envelope.body else { continue };
        for event in events {
            for trade in event.trades {
                journaled += 1;
                let id = trade.id;
                assert!(recorded.contains(&id), "journaled trade {} not recorded", trade.id);
            }
        }
    }
    assert!(journaled > 100, "only {journaled} journaled trades");
    let restarted = |e: &&EventRow| e.detail.as_deref() == Some("recorder restarted");
    let restarts = rec.events.iter().filter(restarted).count();
    assert!(restarts >= 5, "{restarts} restarts");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_journal_reimports(&data, VENUE, MARKET, &rec);
}
