//! `mdkit collect --venue kraken` end to end against `mdkit simulate --venue kraken` on
//! 127.0.0.1: a session with a corrupted checksum, a dropped book update, a malformed
//! message, a repeated one and a cut trades socket — each ends in the event that explains it,
//! `verify` exits 0, and the journal re-imports row for row — and `kill -9` at random moments
//! loses nothing the journal holds. Checked against the simulator's own log; nothing sleeps.

use std::collections::HashSet;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, EventRow, Journal};
use mdkit::venue::kraken;
use rand::Rng as _;

use crate::common::{mdkit, stderr, stdout};
use crate::live::{
    assert_journal_reimports, assert_matches_truth, conns, Collector, Recording, Sim,
};

const MARKET: &str = "BTC-USD";

fn collect_args(url: &str) -> Vec<String> {
    let url = format!("{url}/v2");
    // The pair as Kraken spells it on the command line; stored as BTC-USD.
    [
        "btc/usd",
        "--venue",
        "kraken",
        "--url",
        &url,
        "--backoff-min",
        "10ms",
        "--backoff-max",
        "50ms",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn a_kraken_session_with_checksum_faults_is_explained_verified_and_reimported_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // Kraken has no sequence number: a lost update shows only when it leaves the book
    // different, and one that a later update overwrites heals unseen (the checksum then
    // proves the book right again). So the first book connection loses one message to a
    // malformed frame and one to a skip — either may or may not break the checksum chain —
    // and then gets a wrong checksum at 40, which always does; the second gets a repeated
    // update, which changes nothing (sizes are absolute).
    let faults = [
        "malformed=10@book:1",
        "skip=20@book:1",
        "checksum=40@book:1",
        "duplicate=20@book:2",
        "disconnect=50@trades:1",
    ];
    let mut args = vec!["--venue", "kraken", "--market", MARKET, "--seed", "7"];
    args.extend(["--speed", "30", "--duration", "2m"]);
    faults.iter().for_each(|f| args.extend(["--fault", f]));
    let mut sim = Sim::start(&log, &args);
    let collect = collect_args(&sim.url);
    let collect: Vec<&str> = collect.iter().map(String::as_str).collect();
    let collector = Collector::start(&data, &collect, false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = Recording::read(&data, MARKET);
    assert_matches_truth(&rec, &log, MARKET, Some(10));
    // Both streams connect to the same URL: a connection is a book one if it wrote a book row.
    let book = conns(rec.book_top.iter().map(|b| b.conn));
    assert!(book.len() >= 2, "book conns {book:?} {:?}", rec.events);
    let gap = |conn| rec.events_of(conn).into_iter().find(|e| e.kind == EventKind::SeqGap).cloned();
    let first = gap(book[0]).unwrap_or_else(|| panic!("book conn {} has no seq_gap", book[0]));
    let detail = first.detail.clone().unwrap_or_default();
    assert!(detail.contains("checksum mismatch"), "{detail}");
    let ended_at: u32 = detail
        .split("after book message ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    // Messages 10 and 20 never arrived as sent, so book message 40 on the wire is the 38th
    // applied: the break is there or earlier, never later.
    assert!(ended_at <= 38, "{detail}");
    if ended_at == 38 {
        let skew = first.seq.zip(first.expected_seq).map(|(s, e)| s - e);
        assert_eq!(skew, Some(1), "the wrong checksum is one off: {first:?}");
    }
    let refused = rec.events_of(book[0]).into_iter().filter(|e| e.kind == EventKind::Refused);
    assert_eq!(refused.count(), 1, "the malformed message is refused once");
    assert!(gap(book[1]).is_none(), "a repeated update changes nothing: {:?}", rec.events);
    let resnapshots = rec.events.iter().filter(|e| e.kind == EventKind::Resnapshot).count();
    assert!(resnapshots >= 1, "{resnapshots} resnapshots");
    let trades = conns(rec.trades.iter().map(|t| t.conn));
    assert_eq!(rec.conns("/v2 (book)"), book, "connect rows name the channel");
    assert!(trades.len() >= 2, "trades conns {trades:?}");
    let cut = rec.events_of(trades[0]).into_iter().any(|e| e.kind == EventKind::Disconnect);
    assert!(cut, "{:?}", rec.events_of(trades[0]));

    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("recorded as seq_gap"), "{report}");
    assert!(report.contains("kraken BTC-USD"), "{report}");
    assert_journal_reimports(&data, "kraken", MARKET, &rec);
}

#[test]
fn kill_9_of_a_kraken_recorder_loses_nothing_that_reached_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--venue", "kraken", "--market", MARKET, "--speed", "20"]);
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
    assert_matches_truth(&rec, &log, MARKET, Some(10));
    // Every trade any journaled message carried is in the table, exactly once.
    let dir = Journal::dir(&data, "kraken", MARKET);
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let mut journaled = 0;
    for record in Journal::read_all(&dir).expect("read the journal") {
        let Entry::Frame { text, .. } = record.entry else { continue };
        if let Ok(kraken::Message::Trades(message)) = kraken::parse(&text) {
            for trade in message.trades {
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
    // The tables are the journal's: a fresh import of it gives the same rows.
    assert_journal_reimports(&data, "kraken", MARKET, &rec);
}
