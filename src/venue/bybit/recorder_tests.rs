//! The Bybit rules on hand-made sessions: contiguous `u` applied, a hole or a step back ends the
//! connection with its `seq_gap` and the next one rebuilds, a snapshot with `u` = 1 replaces
//! the book mid-stream, a repeated `u` writes nothing, a refused message changes nothing (so
//! the next `u` shows the hole), trades deduplicated across reconnects with the taker's side,
//! and the state file carries `u` across a restart.

use super::*;
use crate::model::{Price, Qty, TakerSide};
use crate::storage::{Cause, Entry};
use crate::venue::rules::Rules as _;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

/// A `orderbook.50.BTCUSDT` message.
fn book(snapshot: bool, u: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> String {
    let json = |levels: &[(&str, &str)]| {
        levels.iter().map(|(p, q)| format!(r#"["{p}","{q}"]"#)).collect::<Vec<_>>().join(",")
    };
    format!(
        r#"{{"topic":"orderbook.50.BTCUSDT","type":"{}","ts":1767225600000,"data":{{"s":"BTCUSDT","b":[{}],"a":[{}],"u":{u},"seq":{}}},"cts":1767225599998}}"#,
        if snapshot { "snapshot" } else { "delta" },
        json(bids),
        json(asks),
        1000 + 37 * u,
    )
}

/// A `publicTrade.BTCUSDT` message of trades `(id, side)`.
fn trades(ids: &[(&str, &str)]) -> String {
    let trades: Vec<String> = ids
        .iter()
        .map(|(id, side)| format!(r#"{{"T":1767225600500,"s":"BTCUSDT","S":"{side}","v":"0.25","p":"100.5","L":"PlusTick","i":"{id}","BT":false}}"#))
        .collect();
    format!(
        r#"{{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1767225600501,"data":[{}]}}"#,
        trades.join(",")
    )
}

struct Run {
    rules: Rules,
    sink: Sink,
    jseq: u64,
}

impl Run {
    fn new() -> Self {
        Self {
            rules: Rules::restore("BTCUSDT", 50, &Saved::default()),
            sink: Sink::new(5),
            jseq: 0,
        }
    }

    fn feed(&mut self, entry: Entry) -> Verdict {
        self.jseq += 1;
        let ts_recv = RecvTime::from_nanos(T0 + self.jseq as i64 * 1_000_000);
        self.rules.apply(&Record { jseq: self.jseq, ts_recv, entry }, &mut self.sink)
    }

    fn connect(&mut self, conn: u32, stream: Stream) {
        let url = "ws://127.0.0.1:1/v5/public/linear".into();
        self.feed(Entry::Connect { conn, stream, url });
    }

    fn frame(&mut self, conn: u32, text: &str) -> Verdict {
        self.feed(Entry::Frame { conn, text: text.to_owned() })
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.sink.out.events.iter().map(|e| e.kind).collect()
    }

    fn best(&self) -> (Price, Price) {
        let top = self.sink.out.book_top.last().unwrap();
        (top.bids[0].price, top.asks[0].price)
    }
}

fn px(text: &str) -> Price {
    Price::parse(text).unwrap()
}

#[test]
fn contiguous_u_writes_rows_repeats_write_none_and_absent_deletes_are_no_change() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    assert_eq!(
        run.frame(1, &book(true, 100, &[("100", "1"), ("99.5", "2")], &[("101", "0.5")])),
        Verdict::Continue
    );
    let delta = book(false, 101, &[("100", "3"), ("98", "0")], &[("101", "0"), ("102", "1")]);
    assert_eq!(run.frame(1, &delta), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    assert_eq!(
        run.sink.out.events[0].detail.as_deref(),
        Some("ws://127.0.0.1:1/v5/public/linear (orderbook)")
    );
    // 3 snapshot levels, then 100 → 3, the ask 101 removed and 102 added; 98 was never there.
    let depth = &run.sink.out.depth;
    assert_eq!(depth.len(), 6);
    assert!(depth[..3].iter().all(|r| r.seq == 1 && r.snapshot));
    assert!(depth[3..].iter().all(|r| r.seq == 2 && !r.snapshot));
    assert_eq!(run.best(), (px("100"), px("102")));
    // The same message again, and an empty delta that continues: neither is a break.
    let tops = run.sink.out.book_top.len();
    assert_eq!(run.frame(1, &delta), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops);
    assert_eq!(run.frame(1, &book(false, 102, &[], &[])), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops + 1);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
}

#[test]
fn a_hole_in_u_ends_the_connection_and_the_next_one_rebuilds() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &book(true, 7, &[("100", "1")], &[("101", "1")]));
    run.frame(1, &book(false, 8, &[("100", "2")], &[]));
    let Verdict::Close { conn: 1, reason } = run.frame(1, &book(false, 10, &[("99", "1")], &[]))
    else {
        panic!("not closed")
    };
    assert!(reason.contains("u 10 but the previous one had u 8: updates were lost"), "{reason}");
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(10), Some(9)));
    // The broken connection's later frames and its disconnect write nothing.
    let rows = run.sink.out.depth.len();
    run.frame(1, &book(false, 11, &[("98", "1")], &[]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!((run.sink.out.depth.len(), run.kinds().len()), (rows, 2));
    assert_eq!(run.sink.counters.gaps, 1);

    run.connect(2, Stream::Book);
    assert_eq!(run.frame(2, &book(true, 500, &[("100", "3")], &[("101", "1")])), Verdict::Continue);
    assert_eq!(run.kinds().last(), Some(&EventKind::Resnapshot));
    assert_eq!(run.sink.out.book_top.last().map(|t| (t.conn, t.seq)), Some((2, 1)));
    // u going back without a snapshot is a break too (after a lost restart snapshot it is the
    // only sign), and so is a delta before any snapshot.
    let Verdict::Close { reason, .. } = run.frame(2, &book(false, 3, &[], &[])) else {
        panic!("not closed")
    };
    assert!(reason.contains("u went back without a snapshot"), "{reason}");
    run.connect(3, Stream::Book);
    let Verdict::Close { conn: 3, reason } = run.frame(3, &book(false, 501, &[], &[])) else {
        panic!("not closed")
    };
    assert!(reason.contains("delta before any snapshot"), "{reason}");
}

#[test]
fn a_snapshot_with_u_1_replaces_the_book_mid_stream() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &book(true, 900, &[("100", "1"), ("99", "1")], &[("101", "1")]));
    run.frame(1, &book(false, 901, &[("100", "2")], &[]));
    // The venue's service restarted: u starts again at 1 on a snapshot.
    assert_eq!(run.frame(1, &book(true, 1, &[("95", "4")], &[("96", "4")])), Verdict::Continue);
    assert_eq!(run.best(), (px("95"), px("96")));
    let top = run.sink.out.book_top.last().unwrap();
    assert!(top.snapshot && top.bids.len() == 1, "{top:?}");
    let event = run.sink.out.events.last().unwrap();
    assert_eq!((event.kind, event.seq), (EventKind::Resnapshot, Some(3)));
    assert!(event.detail.as_deref().unwrap().contains("u 1 after u 901 (its service restarted)"));
    // The deltas continue from 1.
    assert_eq!(run.frame(1, &book(false, 2, &[("95", "5")], &[])), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), 4);
    // A snapshot that continues u (the depth-1 topic sends only snapshots) says nothing, and
    // one repeating the last u (depth 1's unchanged book) writes nothing.
    let rows = run.sink.out.depth.len();
    run.frame(1, &book(true, 3, &[("95", "6")], &[("96", "1")]));
    run.frame(1, &book(true, 3, &[("95", "6")], &[("96", "1")]));
    assert_eq!(run.sink.out.book_top.len(), 5);
    // Written as its difference (95 → 6, 96 → 1), not as a new start.
    let diff: Vec<_> = run.sink.out.depth[rows..].iter().map(|r| (r.snapshot, r.qty)).collect();
    let q = |t| Qty::parse(t).unwrap();
    assert_eq!(diff, vec![(false, q("6")), (false, q("1"))]);
    assert!(!run.sink.out.book_top.last().unwrap().snapshot);
    assert_eq!(run.kinds().iter().filter(|k| **k == EventKind::Resnapshot).count(), 1);
}

#[test]
fn a_crossed_book_is_a_break() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &book(true, 1, &[("100", "1")], &[("101", "1")]));
    let tops = run.sink.out.book_top.len();
    let Verdict::Close { reason, .. } = run.frame(1, &book(false, 2, &[("101.5", "1")], &[]))
    else {
        panic!("not closed")
    };
    assert!(reason.contains("best bid 101.5 at or above best ask 101"), "{reason}");
    assert_eq!((run.sink.out.book_top.len(), run.kinds().last()), (tops, Some(&EventKind::SeqGap)));
}

#[test]
fn a_refused_message_is_never_received_so_the_next_u_shows_the_hole() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &book(true, 1, &[("100", "1")], &[("101", "1")]));
    let other =
        book(false, 2, &[("100", "9")], &[]).replace("\"s\":\"BTCUSDT\"", "\"s\":\"ETHUSDT\"");
    assert_eq!(run.frame(1, &other), Verdict::Continue);
    let deeper = book(false, 2, &[("100", "9")], &[]).replace("orderbook.50.", "orderbook.200.");
    assert_eq!(run.frame(1, &deeper), Verdict::Continue);
    assert_eq!(run.frame(1, "{not json"), Verdict::Continue);
    assert_eq!(
        run.frame(1, r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{}}"#),
        Verdict::Continue
    );
    assert_eq!(run.kinds()[1..], [EventKind::Refused; 4]);
    let refused = run.sink.out.events[2].detail.clone().unwrap();
    assert!(refused.starts_with("field `topic` = orderbook.200.BTCUSDT is not a topic subscribed here (orderbook.50.BTCUSDT or publicTrade.BTCUSDT)"), "{refused}");
    assert_eq!(run.sink.out.book_top.len(), 1);
    // The venue re-sends u 2 properly: nothing was lost.
    assert_eq!(run.frame(1, &book(false, 2, &[("100", "2")], &[])), Verdict::Continue);
    // u 3 refused (a negative size), then u 4: the hole is a break.
    run.frame(1, &book(false, 3, &[("100", "-2")], &[]));
    assert!(matches!(run.frame(1, &book(false, 4, &[], &[])), Verdict::Close { .. }));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(4), Some(3)));
    // Replies: an acknowledgement and both pongs write nothing; a failure is a venue error.
    run.connect(2, Stream::Book);
    let quiet = [
        r#"{"success":true,"ret_msg":"subscribe","conn_id":"c","op":"subscribe"}"#,
        r#"{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}"#,
        r#"{"req_id":"","op":"pong","args":["1767225600000"],"conn_id":"c"}"#,
    ];
    let events = run.kinds().len();
    for text in quiet {
        assert_eq!(run.frame(2, text), Verdict::Continue);
    }
    assert_eq!(run.kinds().len(), events);
    let failed = r#"{"success":false,"ret_msg":"Invalid symbol :[orderbook.50.BTCUSDT]","conn_id":"c","op":"subscribe"}"#;
    let Verdict::Close { conn: 2, reason } = run.frame(2, failed) else { panic!("not closed") };
    assert_eq!(reason, "venue error on subscribe: Invalid symbol :[orderbook.50.BTCUSDT]");
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
}

const A: &str = "20f43950-d8dd-5b31-9112-a178eb6023af";
const B: &str = "d9cd8295-40dc-5dce-8deb-42882580a7ab";
const C: &str = "638616f7-4330-5a94-ab18-cfcbea8558c2";
const D: &str = "b8f6fe84-7e7e-522b-8317-41258ccc2d73";

#[test]
fn trades_keep_the_taker_side_and_are_deduplicated_across_reconnects() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &trades(&[(A, "Buy"), (B, "Sell")]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    // The new connection's first message overlaps what was recorded: no hole is said.
    run.frame(2, &trades(&[(B, "Sell"), (C, "Sell")]));
    let rows: Vec<(i64, TakerSide, i64)> =
        run.sink.out.trades.iter().map(|t| (t.trade_id, t.side, t.conn as i64)).collect();
    let id = |text: &str| {
        let Ok(Message::Trades(m)) = wire::parse(&trades(&[(text, "Buy")])) else { panic!() };
        m.trades[0].id.table_id()
    };
    assert_eq!(
        rows,
        vec![(id(A), TakerSide::Buy, 1), (id(B), TakerSide::Sell, 1), (id(C), TakerSide::Sell, 2)]
    );
    let first = &run.sink.out.trades[0];
    assert_eq!((first.price, first.qty, first.seq), (px("100.5"), Qty::parse("0.25").unwrap(), 1));
    assert!(!run.kinds().contains(&EventKind::TradeGap));
    // A reconnect whose first message is all new trades: trades between may be missing.
    run.feed(Entry::Disconnect { conn: 2, cause: Cause::Closed, detail: "closed".into() });
    run.connect(3, Stream::Trades);
    run.frame(3, &trades(&[(D, "Buy")]));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!(gap.kind, EventKind::TradeGap);
    assert!(gap.detail.as_deref().unwrap().contains(D), "{gap:?}");
    assert_eq!(run.sink.out.trades.len(), 4);
    // Numeric spot ids are kept exactly.
    run.frame(3, &trades(&[("2290000000061666327", "Sell")]).replace("BT\":false", "BT\":true"));
    assert_eq!(run.sink.out.trades.last().unwrap().trade_id, 2_290_000_000_061_666_327);
}

#[test]
fn two_uuids_folding_to_one_id_are_both_recorded() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    // Swapping the halves of a UUID keeps its fold (hi ^ lo) but makes another trade.
    let swapped = "9112a178-eb60-23af-20f4-3950d8dd5b31";
    run.frame(1, &trades(&[(A, "Buy"), (swapped, "Buy"), (A, "Buy")]));
    let ids: Vec<i64> = run.sink.out.trades.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn the_state_file_keeps_u_and_the_book_across_a_restart() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &book(true, 41, &[("100.0", "0.10")], &[("101", "1.50")]));
    run.connect(2, Stream::Trades);
    run.frame(2, &trades(&[(A, "Buy")]));
    let json = serde_json::to_string(&run.rules.save()).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again =
        Run { rules: Rules::restore("BTCUSDT", 50, &saved), sink: Sink::new(5), jseq: 10 };
    assert_eq!(again.rules.open_conns(), vec![1, 2]);
    assert_eq!(again.frame(1, &book(false, 42, &[], &[("101.5", "2")])), Verdict::Continue);
    let top = again.sink.out.book_top.last().unwrap();
    assert_eq!((top.seq, top.bids[0].price, top.asks.len()), (2, px("100"), 2));
    again.frame(2, &trades(&[(A, "Buy"), (B, "Sell")]));
    assert_eq!(again.sink.out.trades.len(), 1);
    assert!(again.kinds().is_empty(), "{:?}", again.kinds());
    assert!(matches!(again.frame(1, &book(false, 44, &[], &[])), Verdict::Close { .. }));
}
