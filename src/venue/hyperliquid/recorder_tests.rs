//! The Hyperliquid rules on hand-made sessions: snapshot pushes written as lossless changes,
//! an identical push writing only its `book_top` row, a push going back in time refused,
//! a refused frame changing nothing, an `error` ending the connection, trades deduplicated by
//! `tid` across connections and a save and restore.

use super::*;
use crate::model::{Price, TakerSide};
use crate::storage::{Cause, Entry, EventRow};
use crate::venue::rules::Rules as _;

/// 2025-01-26T19:14:00Z, the fixture's day, in ns and in ms.
const T0: i64 = 1_737_918_840_000_000_000;
const T0_MS: i64 = T0 / 1_000_000;

type Side<'a> = &'a [(&'a str, &'a str)];

fn push(coin: &str, time_ms: i64, bids: Side<'_>, asks: Side<'_>) -> String {
    let side = |levels: Side<'_>| {
        levels
            .iter()
            .map(|(p, s)| format!(r#"{{"n":1,"px":"{p}","sz":"{s}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"channel":"l2Book","data":{{"coin":"{coin}","levels":[[{}],[{}]],"time":{time_ms}}}}}"#,
        side(bids),
        side(asks)
    )
}

fn trades(ids: &[u64]) -> String {
    let rows: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"coin":"BTC","hash":"0x{}","px":"100.5","side":"A","sz":"0.25","tid":{id},"time":{T0_MS},"users":["0xa","0xb"]}}"#, "0".repeat(64)))
        .collect();
    format!(r#"{{"channel":"trades","data":[{}]}}"#, rows.join(","))
}

struct Run {
    rules: Rules,
    sink: Sink,
    jseq: u64,
}

impl Run {
    fn new() -> Self {
        Self { rules: Rules::restore("BTC", &Saved::default()), sink: Sink::new(20), jseq: 0 }
    }

    fn feed(&mut self, entry: Entry) -> Verdict {
        self.jseq += 1;
        let ts_recv = RecvTime::from_nanos(T0 + self.jseq as i64 * 1_000_000);
        self.rules.apply(&Record { jseq: self.jseq, ts_recv, entry }, &mut self.sink)
    }

    fn connect(&mut self, conn: u32, stream: Stream) {
        self.feed(Entry::Connect { conn, stream, url: "ws://127.0.0.1:1/ws".into() });
    }

    fn frame(&mut self, conn: u32, text: &str) -> Verdict {
        self.feed(Entry::Frame { conn, text: text.to_owned() })
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.sink.out.events.iter().map(|e| e.kind).collect()
    }

    /// The book `depth` rows of `conn` replay to after each of its pushes, by `seq`.
    fn replayed(&self, conn: u32) -> Vec<Book> {
        let mut book = Book::new();
        let mut out = Vec::new();
        for top in self.sink.out.book_top.iter().filter(|t| t.conn == conn) {
            if top.snapshot {
                book.clear();
            }
            for row in self.sink.out.depth.iter().filter(|d| d.conn == conn && d.seq == top.seq) {
                book.set(row.side, row.price, row.qty);
            }
            out.push(book.clone());
        }
        out
    }
}

fn book_of(bids: Side<'_>, asks: Side<'_>) -> Book {
    let mut book = Book::new();
    for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for (p, s) in levels {
            book.set(side, Price::parse(p).unwrap(), Qty::parse(s).unwrap());
        }
    }
    book
}

#[test]
fn pushes_write_their_changes_and_depth_replays_to_every_push() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    let books: [(Side<'_>, Side<'_>); 4] = [
        (&[("100", "1"), ("99", "2")], &[("101", "1"), ("102", "3")]),
        // 100 resized, 99 gone, 98 new; asks: 101 gone, 102 unchanged, 103 new.
        (&[("100", "1.5"), ("98", "4")], &[("102", "3"), ("103", "0.5")]),
        // Identical to the previous push: its book_top row and no depth rows.
        (&[("100", "1.5"), ("98", "4")], &[("102", "3"), ("103", "0.5")]),
        // One side emptied.
        (&[], &[("102", "3")]),
    ];
    for (i, (bids, asks)) in books.iter().enumerate() {
        assert_eq!(run.frame(1, &push("BTC", T0_MS + i as i64, bids, asks)), Verdict::Continue);
    }
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    let per_seq: Vec<usize> =
        (1..=4).map(|s| run.sink.out.depth.iter().filter(|d| d.seq == s).count()).collect();
    assert_eq!(per_seq, vec![4, 5, 0, 3]);
    assert!(run.sink.out.depth.iter().all(|d| d.snapshot == (d.seq == 1)));
    let tops: Vec<(i64, bool)> =
        run.sink.out.book_top.iter().map(|t| (t.seq, t.snapshot)).collect();
    assert_eq!(tops, vec![(1, true), (2, false), (3, false), (4, false)]);
    let replayed = run.replayed(1);
    for (i, (bids, asks)) in books.iter().enumerate() {
        assert_eq!(replayed[i], book_of(bids, asks), "push {}", i + 1);
    }
    let gone = &run.sink.out.depth[4..9];
    assert!(gone.iter().any(|d| d.price.to_string() == "99" && d.qty.is_zero()), "{gone:?}");
    let third = &run.sink.out.book_top[2];
    assert_eq!(third.ts_event.as_nanos(), (T0_MS + 2) * 1_000_000, "venue time from data.time");
}

#[test]
fn a_push_back_in_time_or_otherwise_bad_is_refused_and_changes_nothing() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    let (bids, asks): (Side<'_>, Side<'_>) = (&[("100", "1")], &[("101", "1")]);
    run.frame(1, &push("BTC", T0_MS + 10, bids, asks));
    let before = (run.sink.out.depth.len(), run.sink.out.book_top.len());
    let bad = [
        push("BTC", T0_MS + 9, &[("100", "7")], asks),
        push("ETH", T0_MS + 11, &[("100", "7")], asks),
        push("BTC", T0_MS + 11, &[("100", "7"), ("100.5", "1")], asks),
        "{not json".to_owned(),
    ];
    for text in &bad {
        assert_eq!(run.frame(1, text), Verdict::Continue);
    }
    assert_eq!((run.sink.out.depth.len(), run.sink.out.book_top.len()), before);
    let refused: Vec<&EventRow> =
        run.sink.out.events.iter().filter(|e| e.kind == EventKind::Refused).collect();
    assert_eq!(refused.len(), 4);
    assert!(refused[0].detail.as_deref().unwrap().contains("field `data.time`"));
    assert_eq!(run.kinds().len(), 5, "one connect and one row per refusal: {:?}", run.kinds());
    // The next good push is judged against the last accepted one: an equal time is fine,
    // and its changes are against the book before the refusals.
    run.frame(1, &push("BTC", T0_MS + 10, &[("100", "2")], asks));
    let last: Vec<&DepthRow> = run.sink.out.depth.iter().filter(|d| d.seq == 2).collect();
    assert_eq!(last.len(), 1);
    assert_eq!((last[0].price.to_string(), last[0].qty.to_string()), ("100".into(), "2".into()));
    assert_eq!(run.sink.out.book_top.last().unwrap().seq, 2, "refused pushes take no seq");
}

#[test]
fn a_new_connection_resnapshots_and_an_error_ends_its_connection() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &push("BTC", T0_MS + 5, &[("100", "1")], &[("101", "1")]));
    assert_eq!(run.frame(1, r#"{"channel":"pong"}"#), Verdict::Continue);
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Stale, detail: "silent".into() });
    run.connect(2, Stream::Book);
    let ack = r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}}"#;
    assert_eq!(run.frame(2, ack), Verdict::Continue);
    // Another connection may be served by another API server: its time is its own.
    run.frame(2, &push("BTC", T0_MS + 1, &[("100", "3")], &[("101", "1")]));
    assert_eq!(
        run.kinds(),
        vec![EventKind::Connect, EventKind::Stale, EventKind::Connect, EventKind::Resnapshot]
    );
    let second: Vec<&DepthRow> = run.sink.out.depth.iter().filter(|d| d.conn == 2).collect();
    assert!(second.len() == 2 && second.iter().all(|d| d.snapshot && d.seq == 1));
    let error = r#"{"channel":"error","data":"Invalid subscription {\"type\":\"l2Book\",\"coin\":\"NOPE\"}"}"#;
    let Verdict::Close { conn: 2, reason } = run.frame(2, error) else { panic!("not closed") };
    assert!(reason.starts_with("venue error: Invalid subscription"), "{reason}");
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
    let rows = run.sink.out.rows();
    run.frame(2, &push("BTC", T0_MS + 6, &[("100", "4")], &[("101", "1")]));
    run.feed(Entry::Disconnect { conn: 2, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!(run.sink.out.rows(), rows, "nothing after the error is recorded");
    assert_eq!(run.rules.open_conns(), Vec::<u32>::new());
}

#[test]
fn trades_are_written_once_across_connections_and_a_restore() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &trades(&[900, 17, 555]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    // The replay repeats 17 and 555 (it overlaps) and brings 3; ids are not consecutive: no
    // trade_gap.
    run.frame(2, &trades(&[17, 555, 3]));
    let ids: Vec<(i64, u32)> = run.sink.out.trades.iter().map(|t| (t.trade_id, t.conn)).collect();
    assert_eq!(ids, vec![(900, 1), (17, 1), (555, 1), (3, 2)]);
    assert_eq!(run.kinds(), vec![EventKind::Connect, EventKind::Disconnect, EventKind::Connect]);
    let row = run.sink.out.trades[0];
    assert_eq!((row.side, row.kind, row.seq), (TakerSide::Sell, TradeKind::Trade, 1));
    assert_eq!(row.ts_event.as_nanos(), T0_MS * 1_000_000);
    // A tid past i64 is refused whole, naming the field, and dedups nothing.
    run.frame(2, &trades(&[4, 9_223_372_036_854_775_808]));
    let refused = run.sink.out.events.last().unwrap();
    assert_eq!(refused.kind, EventKind::Refused);
    assert!(refused.detail.as_deref().unwrap().contains("field `data[1].tid`"));
    // Through the state file: the restored rules remember every id and the connection.
    let json = serde_json::to_string(&run.rules.save()).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again =
        Run { rules: Rules::restore("BTC", &saved), sink: Sink::new(20), jseq: run.jseq };
    assert_eq!(again.rules.open_conns(), vec![2]);
    again.frame(2, &trades(&[900, 3, 4]));
    let ids: Vec<(i64, i64)> = again.sink.out.trades.iter().map(|t| (t.trade_id, t.seq)).collect();
    assert_eq!(ids, vec![(4, 2)], "only 4 is new; the connection's second trades push");
    again.connect(3, Stream::Trades);
    again.frame(3, &trades(&[17, 555, 4, 5]));
    assert_eq!(again.sink.out.trades.len(), 2);
    assert!(again.kinds().iter().all(|k| *k == EventKind::Connect), "{:?}", again.kinds());
}

#[test]
fn the_book_and_its_time_survive_a_restore() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &push("BTC", T0_MS + 50, &[("100", "1"), ("99", "1")], &[("101", "1")]));
    let saved = run.rules.save();
    let mut again = Run { rules: Rules::restore("BTC", &saved), sink: Sink::new(20), jseq: 9 };
    again.frame(1, &push("BTC", T0_MS + 49, &[("100", "1")], &[("101", "1")]));
    assert_eq!(again.kinds(), vec![EventKind::Refused], "the restored time still judges");
    again.frame(1, &push("BTC", T0_MS + 51, &[("100", "1")], &[("101", "1")]));
    let rows: Vec<(i64, bool, String, bool)> = again
        .sink
        .out
        .depth
        .iter()
        .map(|d| (d.seq, d.snapshot, d.price.to_string(), d.qty.is_zero()))
        .collect();
    assert_eq!(rows, vec![(2, false, "99".to_owned(), true)], "a change, not a snapshot");
    assert_eq!(again.kinds(), vec![EventKind::Refused], "no resnapshot after a restore");
    again.feed(Entry::Restart);
    assert_eq!(again.kinds().last(), Some(&EventKind::Disconnect));
}

#[test]
fn a_replay_that_reaches_back_to_no_recorded_trade_is_a_trade_gap() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &trades(&[10, 11]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    // The replay on connection 2 starts after everything recorded: 12.. may be lost.
    run.frame(2, &trades(&[20, 21]));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq), (EventKind::TradeGap, Some(20)));
    assert_eq!(run.sink.counters.gaps, 1);
    // Later pushes of the connection are not replays: no more gaps.
    run.frame(2, &trades(&[40]));
    assert_eq!(run.kinds().iter().filter(|k| **k == EventKind::TradeGap).count(), 1);
    assert_eq!(run.sink.out.trades.len(), 5);
}
