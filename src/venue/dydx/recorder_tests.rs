//! The dYdX rules on hand-made sessions: a snapshot then contiguous `message_id`s apply, a
//! hole ends the connection with its `seq_gap` and the next one rebuilds, a batch applies in
//! order, a crossed book is recorded with one `crossed` row and no close, a refused message is
//! never received (so the next `message_id` shows the hole), trades are deduplicated across
//! connections with the taker's side, and the state file carries `message_id` across a
//! restart.

use super::*;
use crate::model::{Price, Qty, TakerSide, TradeKind};
use crate::storage::{Cause, Entry};
use crate::venue::rules::Rules as _;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

fn levels(levels: &[(&str, &str)]) -> String {
    levels.iter().map(|(p, q)| format!(r#"["{p}","{q}"]"#)).collect::<Vec<_>>().join(",")
}

fn connected() -> String {
    r#"{"type":"connected","connection_id":"c","message_id":0}"#.to_owned()
}

/// The `subscribed` answer on `v4_orderbook`: the snapshot, levels as objects.
fn snapshot(id: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> String {
    let objects = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(p, q)| format!(r#"{{"price":"{p}","size":"{q}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"type":"subscribed","connection_id":"c","message_id":{id},"channel":"v4_orderbook","id":"BTC-USD","contents":{{"bids":[{}],"asks":[{}]}}}}"#,
        objects(bids),
        objects(asks)
    )
}

/// One `channel_data` update.
fn update(id: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> String {
    format!(
        r#"{{"type":"channel_data","connection_id":"c","message_id":{id},"channel":"v4_orderbook","id":"BTC-USD","version":"1.0.0","contents":{{"bids":[{}],"asks":[{}]}}}}"#,
        levels(bids),
        levels(asks)
    )
}

/// A `channel_batch_data` of one-level bid updates.
fn batch(id: i64, bids: &[(&str, &str)]) -> String {
    let entries: Vec<String> =
        bids.iter().map(|l| format!(r#"{{"bids":[{}]}}"#, levels(&[*l]))).collect();
    format!(
        r#"{{"type":"channel_batch_data","connection_id":"c","message_id":{id},"channel":"v4_orderbook","id":"BTC-USD","version":"1.0.0","contents":[{}]}}"#,
        entries.join(",")
    )
}

/// Trades `(height, event, side)` on `v4_trades`: the replay when `kind` is `subscribed`.
fn trades(kind: &str, id: i64, list: &[(u32, u32, &str)]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|(height, event, side)| {
            format!(
                r#"{{"id":"{height:08x}00000002{event:08x}","size":"0.25","price":"100.5","side":"{side}","createdAt":"2026-01-01T00:00:00.500Z","type":"LIMIT","createdAtHeight":"{height}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"type":"{kind}","connection_id":"c","message_id":{id},"channel":"v4_trades","id":"BTC-USD","contents":{{"trades":[{}]}}}}"#,
        items.join(",")
    )
}

fn table_id(height: u32, event: u32) -> i64 {
    (i64::from(height) << 32) | (2 << 20) | i64::from(event)
}

struct Run {
    rules: Rules,
    sink: Sink,
    jseq: u64,
}

impl Run {
    fn new() -> Self {
        Self { rules: Rules::restore("BTC-USD", &Saved::default()), sink: Sink::new(5), jseq: 0 }
    }

    fn feed(&mut self, entry: Entry) -> Verdict {
        self.jseq += 1;
        let ts_recv = RecvTime::from_nanos(T0 + self.jseq as i64 * 1_000_000);
        self.rules.apply(&Record { jseq: self.jseq, ts_recv, entry }, &mut self.sink)
    }

    fn connect(&mut self, conn: u32, stream: Stream) {
        let url = "ws://127.0.0.1:1/v4/ws".into();
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

fn qty(text: &str) -> Qty {
    Qty::parse(text).unwrap()
}

#[test]
fn a_snapshot_then_contiguous_message_ids_apply() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    assert_eq!(run.frame(1, &connected()), Verdict::Continue);
    run.frame(1, &snapshot(1, &[("100", "1"), ("99.5", "2")], &[("101", "0.5")]));
    let delta = update(2, &[("100", "3"), ("98", "0")], &[("101", "0"), ("102", "1")]);
    assert_eq!(run.frame(1, &delta), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    assert_eq!(
        run.sink.out.events[0].detail.as_deref(),
        Some("ws://127.0.0.1:1/v4/ws (v4_orderbook)")
    );
    // 3 snapshot levels, then 100 → 3, the ask 101 removed and 102 added; 98 was never there.
    let depth = &run.sink.out.depth;
    assert_eq!(depth.len(), 6);
    assert!(depth[..3].iter().all(|r| r.seq == 1 && r.snapshot));
    assert!(depth[3..].iter().all(|r| r.seq == 2 && !r.snapshot));
    // No venue time on book messages: the rows carry the receive time.
    assert!(depth.iter().all(|r| r.ts_event.as_nanos() == r.ts_recv.as_nanos()));
    assert_eq!(run.best(), (px("100"), px("102")));
    // The same message again writes nothing; the next one continues.
    let tops = run.sink.out.book_top.len();
    assert_eq!(run.frame(1, &delta), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops);
    assert_eq!(run.frame(1, &update(3, &[], &[])), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops + 1);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
}

#[test]
fn a_hole_in_message_id_ends_the_connection_and_the_next_one_rebuilds() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &connected());
    run.frame(1, &snapshot(1, &[("100", "1")], &[("101", "1")]));
    run.frame(1, &update(2, &[("100", "2")], &[]));
    let Verdict::Close { conn: 1, reason } = run.frame(1, &update(4, &[("99", "1")], &[])) else {
        panic!("not closed")
    };
    assert!(reason.contains("message_id 4 after 2: messages were lost"), "{reason}");
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(4), Some(3)));
    // The broken connection's later frames and its disconnect write nothing.
    let rows = run.sink.out.depth.len();
    run.frame(1, &update(5, &[("98", "1")], &[]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!((run.sink.out.depth.len(), run.kinds().len()), (rows, 2));
    assert_eq!(run.sink.counters.gaps, 1);

    run.connect(2, Stream::Book);
    run.frame(2, &connected());
    assert_eq!(run.frame(2, &snapshot(1, &[("100", "3")], &[("101", "1")])), Verdict::Continue);
    assert_eq!(run.kinds().last(), Some(&EventKind::Resnapshot));
    assert_eq!(run.sink.out.book_top.last().map(|t| (t.conn, t.seq)), Some((2, 1)));
    // message_id going back is a break too, and so is an update before the snapshot.
    let Verdict::Close { reason, .. } = run.frame(2, &update(0, &[], &[])) else {
        panic!("not closed")
    };
    assert!(reason.contains("message_id went back"), "{reason}");
    run.connect(3, Stream::Book);
    run.frame(3, &connected());
    let Verdict::Close { conn: 3, reason } = run.frame(3, &update(1, &[], &[])) else {
        panic!("not closed")
    };
    assert!(reason.contains("update before the snapshot"), "{reason}");
}

#[test]
fn a_batch_applies_in_order_and_writes_each_level_once() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &connected());
    run.frame(1, &snapshot(1, &[("100", "1"), ("99", "1")], &[("101", "1")]));
    let rows = run.sink.out.depth.len();
    // 100 is touched three times and ends at 0.5; 98 comes and goes.
    let text = batch(2, &[("100", "2"), ("98", "1"), ("100", "0"), ("98", "0"), ("100", "0.5")]);
    assert_eq!(run.frame(1, &text), Verdict::Continue);
    let made: Vec<_> = run.sink.out.depth[rows..].iter().map(|r| (r.price, r.qty)).collect();
    assert_eq!(made, vec![(px("100"), qty("0.5"))]);
    let top = run.sink.out.book_top.last().unwrap();
    assert_eq!((top.seq, top.bids[0].price, top.bids[0].qty), (2, px("100"), qty("0.5")));
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
}

#[test]
fn a_crossed_book_is_recorded_with_one_note_and_no_close() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &connected());
    run.frame(1, &snapshot(1, &[("100", "1")], &[("101", "1")]));
    // A bid at the ask crosses the book: recorded, one `crossed` row, the connection stays.
    assert_eq!(run.frame(1, &update(2, &[("101.5", "1")], &[])), Verdict::Continue);
    assert_eq!(run.best(), (px("101.5"), px("101")));
    let note = run.sink.out.events.last().unwrap();
    assert_eq!((note.kind, note.seq, note.expected_seq), (EventKind::Crossed, Some(2), None));
    let detail = note.detail.as_deref().unwrap();
    assert!(detail.starts_with("book crossed after book message 2 (message_id 2): best bid 101.5 at or above best ask 101; recorded as sent"), "{detail}");
    // Still crossed: no second row; uncrossed: none; crossed again: a new episode, one row.
    run.frame(1, &update(3, &[("101.2", "1")], &[]));
    run.frame(1, &update(4, &[("101.5", "0"), ("101.2", "0")], &[]));
    assert_eq!(run.best(), (px("100"), px("101")));
    run.frame(1, &update(5, &[], &[("100", "2")]));
    let crossed: Vec<_> = run
        .sink
        .out
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Crossed)
        .map(|e| e.seq)
        .collect();
    assert_eq!(crossed, vec![Some(2), Some(5)]);
    assert_eq!(run.sink.out.book_top.len(), 5);
    assert_eq!(run.sink.counters.gaps, 0);
}

#[test]
fn a_refused_message_is_never_received_so_the_next_message_id_shows_the_hole() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &connected());
    run.frame(1, &snapshot(1, &[("100", "1")], &[("101", "1")]));
    let other = update(2, &[("100", "9")], &[]).replace("BTC-USD", "ETH-USD");
    assert_eq!(run.frame(1, &other), Verdict::Continue);
    let markets = r#"{"type":"channel_data","connection_id":"c","message_id":2,"channel":"v4_markets","version":"1.0.0","contents":{}}"#;
    assert_eq!(run.frame(1, markets), Verdict::Continue);
    assert_eq!(run.frame(1, "{not json"), Verdict::Continue);
    assert_eq!(run.kinds()[1..], [EventKind::Refused; 3]);
    let refused = run.sink.out.events[2].detail.clone().unwrap();
    assert!(refused.starts_with("field `channel` = v4_markets is not a channel recorded here (v4_orderbook or v4_trades)"), "{refused}");
    assert_eq!(run.sink.out.book_top.len(), 1);
    // The venue sends message 2 properly: nothing was lost.
    assert_eq!(run.frame(1, &update(2, &[("100", "2")], &[])), Verdict::Continue);
    // Message 3 refused (a negative size), then 4: the hole is a break.
    run.frame(1, &update(3, &[("100", "-2")], &[]));
    assert!(matches!(run.frame(1, &update(4, &[], &[])), Verdict::Close { .. }));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(4), Some(3)));
    // An error, or the venue ending the subscription, is a venue error.
    run.connect(2, Stream::Book);
    assert_eq!(
        run.frame(2, r#"{"type":"pong","connection_id":"c","message_id":0}"#),
        Verdict::Continue
    );
    let failed = r#"{"type":"error","message":"Invalid subscription id for channel: (v4_orderbook-BTC-USD)","connection_id":"c","message_id":1}"#;
    let Verdict::Close { conn: 2, reason } = run.frame(2, failed) else { panic!("not closed") };
    assert_eq!(reason, "venue error: Invalid subscription id for channel: (v4_orderbook-BTC-USD)");
    run.connect(3, Stream::Book);
    run.frame(3, &connected());
    let gone = r#"{"type":"unsubscribed","connection_id":"c","message_id":1,"channel":"v4_orderbook","id":"BTC-USD"}"#;
    assert!(matches!(run.frame(3, gone), Verdict::Close { conn: 3, .. }));
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
}

#[test]
fn trades_keep_the_taker_side_and_are_deduplicated_across_connections() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &connected());
    // The replay comes newest first and is written oldest first.
    run.frame(1, &trades("subscribed", 1, &[(11, 5, "SELL"), (10, 3, "BUY")]));
    run.frame(1, &trades("channel_data", 2, &[(12, 1, "BUY")]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    run.frame(2, &connected());
    // The new connection's replay overlaps what was recorded: no hole is said.
    run.frame(2, &trades("subscribed", 1, &[(13, 0, "SELL"), (12, 1, "BUY"), (11, 5, "SELL")]));
    let rows: Vec<(i64, TakerSide, u32, i64)> =
        run.sink.out.trades.iter().map(|t| (t.trade_id, t.side, t.conn, t.seq)).collect();
    assert_eq!(
        rows,
        vec![
            (table_id(10, 3), TakerSide::Buy, 1, 1),
            (table_id(11, 5), TakerSide::Sell, 1, 1),
            (table_id(12, 1), TakerSide::Buy, 1, 2),
            (table_id(13, 0), TakerSide::Sell, 2, 1),
        ]
    );
    let first = &run.sink.out.trades[0];
    assert_eq!((first.price, first.qty, first.kind), (px("100.5"), qty("0.25"), TradeKind::Trade));
    assert_eq!(first.ts_event.as_nanos(), T0 + 500_000_000);
    assert!(!run.kinds().contains(&EventKind::TradeGap));
    // A reconnect whose replay is all new trades: trades between may be missing.
    run.feed(Entry::Disconnect { conn: 2, cause: Cause::Closed, detail: "closed".into() });
    run.connect(3, Stream::Trades);
    run.frame(3, &connected());
    run.frame(3, &trades("subscribed", 1, &[(20, 1, "BUY"), (20, 0, "BUY")]));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq), (EventKind::TradeGap, Some(table_id(20, 0))));
    assert!(gap.detail.as_deref().unwrap().contains("trade 0000001400000002"), "{gap:?}");
    assert_eq!(run.sink.out.trades.len(), 6);
    // A hole in message_id on the trades connection ends it, so its replay can fill the hole.
    assert!(matches!(
        run.frame(3, &trades("channel_data", 3, &[(21, 0, "BUY")])),
        Verdict::Close { .. }
    ));
    assert_eq!(run.sink.out.trades.len(), 6);
}

#[test]
fn two_ids_folding_to_one_table_id_are_both_recorded() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &connected());
    // Event indexes from 2^20 fold: the fold XORs the event index into the rest rotated left
    // 20, so bit 21 can come from the transaction field (2 << 20) or the event index.
    let a = TradeId(0x0000_0001_0000_0000_0030_0000);
    let b = TradeId(0x0000_0001_0000_0002_0010_0000);
    assert_eq!((a.table_id() & FOLDED, b.table_id() & FOLDED), (FOLDED, FOLDED));
    assert_eq!(a.table_id(), b.table_id());
    assert!(run.rules.remember(a) && run.rules.remember(b) && !run.rules.remember(a));
}

#[test]
fn the_state_file_keeps_message_id_and_the_book_across_a_restart() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &connected());
    run.frame(1, &snapshot(1, &[("100.0", "0.10")], &[("101", "1.50")]));
    run.frame(1, &update(2, &[("101.5", "1")], &[]));
    run.connect(2, Stream::Trades);
    run.frame(2, &connected());
    run.frame(2, &trades("subscribed", 1, &[(10, 3, "BUY")]));
    let json = serde_json::to_string(&run.rules.save()).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again = Run { rules: Rules::restore("BTC-USD", &saved), sink: Sink::new(5), jseq: 10 };
    assert_eq!(again.rules.open_conns(), vec![1, 2]);
    // Still crossed after the restart: no second `crossed` row.
    assert_eq!(again.frame(1, &update(3, &[], &[("102", "2")])), Verdict::Continue);
    let top = again.sink.out.book_top.last().unwrap();
    assert_eq!((top.seq, top.bids[0].price, top.asks.len()), (3, px("101.5"), 2));
    again.frame(2, &trades("channel_data", 2, &[(10, 3, "BUY"), (11, 0, "SELL")]));
    assert_eq!(again.sink.out.trades.len(), 1);
    assert!(again.kinds().is_empty(), "{:?}", again.kinds());
    assert!(matches!(again.frame(1, &update(5, &[], &[])), Verdict::Close { .. }));
}
