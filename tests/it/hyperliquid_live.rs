//! `mdkit collect --venue hyperliquid` end to end against `mdkit simulate --venue hyperliquid`
//! on 127.0.0.1: a session with a malformed push, a dropped book push, a repeated trades push
//! and cut sockets — a full-snapshot feed has no chain to break, so the malformed push is one
//! `refused` row, the dropped one is healed by the next push, the repeat writes no trade twice,
//! and each cut is a `disconnect` row; `verify` exits 0 and the journal re-imports row for
//! row — and `kill -9` at random moments loses nothing the journal holds (the first trades
//! push of every connection replays recent trades: deduplicated by `tid`). Checked against
//! the simulator's own log; nothing sleeps.

use std::collections::HashSet;

use mdkit::model::EventKind;
use mdkit::storage::{Entry, EventRow, Journal};
use mdkit::venue::hyperliquid;
use rand::Rng as _;

use crate::common::{mdkit, stderr, stdout};
use crate::live::{
    assert_journal_reimports, assert_matches_truth, conns, Collector, Recording, Sim,
};

const MARKET: &str = "BTC";
/// The `BTC-USD` preset's market under the coin's name (the default market's trades can sweep
/// more than `verify`'s 50 bps tolerance past the book).
const SPEC: &str = "BTC:mid=84000,tick=1,lot=0.00001,sigma=10,kappa_bid=0.15,kappa_ask=0.15";

fn collect_args(url: &str) -> Vec<String> {
    let url = format!("{url}/ws");
    [
        "BTC",
        "--venue",
        "hyperliquid",
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
fn a_hyperliquid_session_with_faults_is_explained_verified_and_reimported() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let faults = [
        "malformed=10@book:1",
        "skip=20@book:1",
        "disconnect=40@book:1",
        "duplicate=5@trades:1",
        "disconnect=50@trades:1",
    ];
    let mut args = vec!["--venue", "hyperliquid", "--market", SPEC, "--seed", "7"];
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
    assert_eq!(rec.conns("/ws (l2Book)"), book, "connect rows name the channel");
    assert!(book.len() >= 2, "book conns {book:?} {:?}", rec.events);
    let first = rec.events_of(book[0]);
    let refused = first.iter().filter(|e| e.kind == EventKind::Refused).count();
    assert_eq!(refused, 1, "the malformed push is refused once: {first:?}");
    assert!(!first.iter().any(|e| e.kind == EventKind::SeqGap), "no chain to break: {first:?}");
    assert!(first.iter().any(|e| e.kind == EventKind::Disconnect), "{first:?}");
    let resnapshots = rec.events.iter().filter(|e| e.kind == EventKind::Resnapshot).count();
    assert!(resnapshots >= 1, "{resnapshots} resnapshots");
    let trades = conns(rec.trades.iter().map(|t| t.conn));
    assert!(trades.len() >= 2, "trades conns {trades:?}");
    let cut = rec.events_of(trades[0]).into_iter().any(|e| e.kind == EventKind::Disconnect);
    assert!(cut, "{:?}", rec.events_of(trades[0]));

    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("hyperliquid BTC"), "{}", stdout(&out));
    assert_journal_reimports(&data, "hyperliquid", MARKET, &rec);
}

#[test]
fn kill_9_of_a_hyperliquid_recorder_loses_nothing_that_reached_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--venue", "hyperliquid", "--market", SPEC, "--speed", "20"]);
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
    let dir = Journal::dir(&data, "hyperliquid", MARKET);
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let mut journaled = 0;
    for record in Journal::read_all(&dir).expect("read the journal") {
        let Entry::Frame { text, .. } = record.entry else { continue };
        if let Ok(hyperliquid::Message::Trades(trades)) = hyperliquid::parse(&text) {
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
    assert_journal_reimports(&data, "hyperliquid", MARKET, &rec);
}
