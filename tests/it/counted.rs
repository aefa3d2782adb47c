//! The end-to-end tests every venue shares whose book messages carry a number one up per
//! message of a connection (Bybit's `u`, dYdX's `message_id`, Coinbase's `sequence_num`):
//! `mdkit collect` against `mdkit simulate` on 127.0.0.1 with a malformed message, a dropped
//! one, a repeated one and a cut trades socket — each ends in the event that explains it, at
//! the very next message — `verify` exits 0 and the journal re-imports row for row; and
//! `kill -9` at random moments loses nothing the journal holds. Checked against the
//! simulator's own log; nothing sleeps. Each venue's file says only what is its own.

use std::collections::HashSet;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, EventRow, Journal};
use rand::Rng as _;

use crate::common::{mdkit, stderr, stdout};
use crate::live::{
    assert_journal_reimports, assert_matches_truth, assert_matches_truth_untimed_book, conns,
    Collector, Recording, Sim,
};

/// What differs between the venues.
pub struct Counted {
    /// `--venue` and the tables' `venue=`.
    pub venue: &'static str,
    /// The market as the tables and the simulator name it.
    pub market: &'static str,
    /// The path appended to the simulator's URL ("": the link plan's own, from a bare URL).
    pub path: &'static str,
    /// Whether book messages carry the venue's time (dYdX's do not: book frames then cannot
    /// be paired with the simulator's steps).
    pub timed_book: bool,
    /// The table trade ids of the trades in one journaled frame's text (none for others).
    pub trade_ids: fn(&str) -> Vec<i64>,
}

impl Counted {
    fn collect_args(&self, url: &str) -> Vec<String> {
        let url = format!("{url}{}", self.path);
        let lower = self.market.to_ascii_lowercase();
        [
            &lower,
            "--venue",
            self.venue,
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

    fn matches_truth(&self, rec: &Recording, log: &std::path::Path) {
        if self.timed_book {
            assert_matches_truth(rec, log, self.market, None);
        } else {
            assert_matches_truth_untimed_book(rec, log, self.market);
        }
    }
}

/// The first `seq_gap` of `conn`.
fn first_gap(rec: &Recording, conn: u32) -> EventRow {
    let gap = rec.events_of(conn).into_iter().find(|e| e.kind == EventKind::SeqGap).cloned();
    gap.unwrap_or_else(|| panic!("book conn {conn} has no seq_gap: {:?}", rec.events))
}

/// A session with one fault per book connection and a cut trades socket.
pub fn session_with_breaks(v: &Counted) {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    // Each book connection loses one message a different way; frame 1 is the snapshot.
    let faults =
        ["malformed=10@book:1", "skip=20@book:2", "duplicate=20@book:3", "disconnect=50@trades:1"];
    let mut args = vec!["--venue", v.venue, "--market", v.market, "--seed", "7"];
    args.extend(["--speed", "30", "--duration", "2m"]);
    faults.iter().for_each(|f| args.extend(["--fault", f]));
    let mut sim = Sim::start(&log, &args);
    let collect = v.collect_args(&sim.url);
    let collect: Vec<&str> = collect.iter().map(String::as_str).collect();
    let collector = Collector::start(&data, &collect, false);
    sim.wait();
    assert!(collector.interrupt().success());

    let rec = Recording::read(&data, v.market);
    v.matches_truth(&rec, &log);
    let book = conns(rec.book_top.iter().map(|b| b.conn));
    assert!(book.len() >= 3, "book conns {book:?} {:?}", rec.events);
    // 1: message 10 arrived unreadable (refused): the next message's number skips one.
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
    // 3: a repeated message is recognised by its number and changes nothing.
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
    assert!(report.contains(&format!("{} {}", v.venue, v.market)), "{report}");
    assert_journal_reimports(&data, v.venue, v.market, &rec);
}

/// Five `kill -9` at random moments, then a clean stop: every journaled trade is recorded.
pub fn kill_9_loses_nothing_journaled(v: &Counted) {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--venue", v.venue, "--market", v.market, "--speed", "20"]);
    let args = v.collect_args(&sim.url);
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

    let rec = Recording::read(&data, v.market);
    v.matches_truth(&rec, &log);
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let dir = Journal::dir(&data, v.venue, v.market);
    let mut journaled = 0;
    for record in Journal::read_all(&dir).expect("read the journal") {
        let Entry::Frame { text, .. } = record.entry else { continue };
        for id in (v.trade_ids)(&text) {
            journaled += 1;
            assert!(recorded.contains(&id), "journaled trade {id} not recorded");
        }
    }
    assert!(journaled > 100, "only {journaled} journaled trades");
    let restarted = |e: &&EventRow| e.detail.as_deref() == Some("recorder restarted");
    let restarts = rec.events.iter().filter(restarted).count();
    assert!(restarts >= 5, "{restarts} restarts");
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_journal_reimports(&data, v.venue, v.market, &rec);
}
