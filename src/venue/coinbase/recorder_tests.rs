//! The Advanced Trade rules on hand-made sessions: a snapshot then updates, a hole in
//! `sequence_num` on any channel (a missing heartbeat too) ends the connection with its
//! `seq_gap` and the next one rebuilds, a refused message is never received (so the next
//! number shows the hole), the opening trades replay deduplicated across reconnects with a
//! `trade_gap` when it overlaps nothing, the maker's `side` stored as the taker's, and the
//! state file carries the sequence across a restart.

use super::*;
use crate::model::{Price, Qty, TakerSide};
use crate::storage::{Cause, Entry};
use crate::venue::rules::Rules as _;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

/// An `l2_data` message with one event of `(side, price, size)` updates.
fn l2(seq: i64, snapshot: bool, updates: &[(&str, &str, &str)]) -> String {
    let updates: Vec<String> = updates
        .iter()
        .map(|(side, px, qty)| format!(r#"{{"side":"{side}","event_time":"2026-01-01T00:00:00.1Z","price_level":"{px}","new_quantity":"{qty}"}}"#))
        .collect();
    format!(
        r#"{{"channel":"l2_data","client_id":"","timestamp":"2026-01-01T00:00:00.123456789Z","sequence_num":{seq},"events":[{{"type":"{}","product_id":"BTC-USD","updates":[{}]}}]}}"#,
        if snapshot { "snapshot" } else { "update" },
        updates.join(",")
    )
}

fn heartbeat(seq: i64) -> String {
    format!(
        r#"{{"channel":"heartbeats","client_id":"","timestamp":"2026-01-01T00:00:01Z","sequence_num":{seq},"events":[{{"current_time":"2026-01-01 00:00:01.0 +0000 UTC m=+1.0","heartbeat_counter":"{seq}"}}]}}"#
    )
}

fn subscriptions(seq: i64) -> String {
    format!(
        r#"{{"channel":"subscriptions","client_id":"","timestamp":"2026-01-01T00:00:00Z","sequence_num":{seq},"events":[{{"subscriptions":{{"level2":["BTC-USD"],"heartbeats":["heartbeats"]}}}}]}}"#
    )
}

/// A `market_trades` message of trades `(id, maker side)`.
fn trades(seq: i64, snapshot: bool, ids: &[(&str, &str)]) -> String {
    let trades: Vec<String> = ids
        .iter()
        .map(|(id, side)| format!(r#"{{"trade_id":"{id}","product_id":"BTC-USD","price":"100.5","size":"0.25","side":"{side}","time":"2026-01-01T00:00:00.5Z"}}"#))
        .collect();
    format!(
        r#"{{"channel":"market_trades","client_id":"","timestamp":"2026-01-01T00:00:00.6Z","sequence_num":{seq},"events":[{{"type":"{}","trades":[{}]}}]}}"#,
        if snapshot { "snapshot" } else { "update" },
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
        Self { rules: Rules::restore("BTC-USD", &Saved::default()), sink: Sink::new(5), jseq: 0 }
    }

    fn feed(&mut self, entry: Entry) -> Verdict {
        self.jseq += 1;
        let ts_recv = RecvTime::from_nanos(T0 + self.jseq as i64 * 1_000_000);
        self.rules.apply(&Record { jseq: self.jseq, ts_recv, entry }, &mut self.sink)
    }

    fn connect(&mut self, conn: u32, stream: Stream) {
        let url = "wss://advanced-trade-ws.coinbase.com".into();
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
fn a_snapshot_then_updates_across_channels_of_one_sequence() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    assert_eq!(run.frame(1, &subscriptions(0)), Verdict::Continue);
    let snapshot =
        l2(1, true, &[("bid", "100", "1"), ("bid", "99.5", "2"), ("offer", "101", "0.5")]);
    assert_eq!(run.frame(1, &snapshot), Verdict::Continue);
    assert_eq!(run.frame(1, &heartbeat(2)), Verdict::Continue);
    let update = l2(
        3,
        false,
        &[("bid", "100", "3"), ("bid", "98", "0.00"), ("offer", "101", "0"), ("offer", "102", "1")],
    );
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    assert_eq!(
        run.sink.out.events[0].detail.as_deref(),
        Some("wss://advanced-trade-ws.coinbase.com (level2+heartbeats)")
    );
    // 3 snapshot levels, then 100 → 3, 101 removed and 102 added; 98 was never there.
    let depth = &run.sink.out.depth;
    assert_eq!(depth.len(), 6);
    assert!(depth[..3].iter().all(|r| r.seq == 1 && r.snapshot));
    assert!(depth[3..].iter().all(|r| r.seq == 2 && !r.snapshot));
    assert_eq!(depth[0].ts_event.as_nanos(), T0 + 123_456_789);
    assert_eq!(run.best(), (px("100"), px("102")));
    // The same message again writes nothing; the next number goes on.
    let tops = run.sink.out.book_top.len();
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops);
    assert_eq!(run.frame(1, &l2(4, false, &[])), Verdict::Continue);
    assert_eq!(run.sink.out.book_top.len(), tops + 1);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
}

#[test]
fn a_missing_heartbeat_number_ends_the_connection_and_the_next_one_rebuilds() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &l2(0, true, &[("bid", "100", "1"), ("offer", "101", "1")]));
    run.frame(1, &heartbeat(1));
    // Heartbeat 2 never arrived: the book may have lost nothing, but nothing proves it.
    let Verdict::Close { conn: 1, reason } = run.frame(1, &l2(3, false, &[("bid", "99", "1")]))
    else {
        panic!("not closed")
    };
    assert!(
        reason.contains(
            "l2_data message has sequence_num 3 but the previous one had 1: messages were lost"
        ),
        "{reason}"
    );
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(3), Some(2)));
    // The broken connection's later frames and its disconnect write nothing.
    let rows = run.sink.out.depth.len();
    run.frame(1, &l2(4, false, &[("bid", "98", "1")]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!((run.sink.out.depth.len(), run.kinds().len()), (rows, 2));

    run.connect(2, Stream::Book);
    run.frame(2, &subscriptions(0));
    assert_eq!(
        run.frame(2, &l2(1, true, &[("bid", "100", "3"), ("offer", "101", "1")])),
        Verdict::Continue
    );
    assert_eq!(run.kinds().last(), Some(&EventKind::Resnapshot));
    assert_eq!(run.sink.out.book_top.last().map(|t| (t.conn, t.seq)), Some((2, 1)));
    // A hole seen on a heartbeat is a break too, and so is a number going back.
    let Verdict::Close { reason, .. } = run.frame(2, &heartbeat(5)) else { panic!("not closed") };
    assert!(
        reason.starts_with("heartbeats message has sequence_num 5 but the previous one had 1"),
        "{reason}"
    );
    run.connect(3, Stream::Book);
    run.frame(3, &l2(7, true, &[("bid", "1", "1")]));
    let Verdict::Close { reason, .. } = run.frame(3, &heartbeat(6)) else { panic!("not closed") };
    assert!(reason.contains("the sequence went back"), "{reason}");
    // An update before any snapshot, and a crossed book, are breaks.
    run.connect(4, Stream::Book);
    let Verdict::Close { reason, .. } = run.frame(4, &l2(0, false, &[("bid", "1", "1")])) else {
        panic!("not closed")
    };
    assert!(reason.contains("update before any snapshot"), "{reason}");
    run.connect(5, Stream::Book);
    run.frame(5, &l2(0, true, &[("bid", "100", "1"), ("offer", "101", "1")]));
    let Verdict::Close { reason, .. } = run.frame(5, &l2(1, false, &[("bid", "101.5", "1")]))
    else {
        panic!("not closed")
    };
    assert!(reason.contains("best bid 101.5 at or above best ask 101"), "{reason}");
    assert_eq!(run.sink.counters.gaps, 5);
}

#[test]
fn a_refused_message_is_never_received_so_the_next_number_shows_the_hole() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &l2(0, true, &[("bid", "100", "1"), ("offer", "101", "1")]));
    let other = l2(1, false, &[("bid", "100", "9")]).replace("BTC-USD", "ETH-USD");
    assert_eq!(run.frame(1, &other), Verdict::Continue);
    assert_eq!(run.frame(1, &trades(1, false, &[("7", "BUY")])), Verdict::Continue);
    assert_eq!(run.frame(1, "{not json"), Verdict::Continue);
    assert_eq!(run.kinds()[1..], [EventKind::Refused; 3]);
    let refused = run.sink.out.events[2].detail.clone().unwrap();
    assert!(refused.starts_with("field `channel` = market_trades is not a channel subscribed on this connection (level2, heartbeats)"), "{refused}");
    // The venue re-sends number 1 properly: nothing was lost.
    assert_eq!(run.frame(1, &l2(1, false, &[("bid", "100", "2")])), Verdict::Continue);
    // Number 2 refused (a negative size): the next one, 3, is a break.
    run.frame(1, &l2(2, false, &[("bid", "100", "-2")]));
    assert!(matches!(run.frame(1, &heartbeat(3)), Verdict::Close { .. }));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::SeqGap, Some(3), Some(2)));
    // An error message ends the connection with a venue error.
    run.connect(2, Stream::Book);
    let failed = r#"{"type":"error","message":"failure to subscribe"}"#;
    let Verdict::Close { conn: 2, reason } = run.frame(2, failed) else { panic!("not closed") };
    assert_eq!(reason, "venue error: failure to subscribe");
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
}

#[test]
fn trades_keep_the_taker_side_and_the_replay_is_deduplicated() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    assert_eq!(
        run.sink.out.events[0].detail.as_deref(),
        Some("wss://advanced-trade-ws.coinbase.com (market_trades+heartbeats)")
    );
    // The replay lists the newest first; rows come in id order. `side` is the maker's.
    run.frame(1, &trades(0, true, &[("102", "SELL"), ("101", "BUY")]));
    run.frame(1, &heartbeat(1));
    run.frame(1, &trades(2, false, &[("103", "BUY")]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    // The new replay overlaps what was recorded: no hole is said, 102 and 103 are dropped.
    run.frame(2, &trades(0, true, &[("104", "SELL"), ("103", "BUY"), ("102", "SELL")]));
    let rows: Vec<(i64, TakerSide, u32, i64)> =
        run.sink.out.trades.iter().map(|t| (t.trade_id, t.side, t.conn, t.seq)).collect();
    assert_eq!(
        rows,
        vec![
            (101, TakerSide::Sell, 1, 1),
            (102, TakerSide::Buy, 1, 1),
            (103, TakerSide::Sell, 1, 2),
            (104, TakerSide::Buy, 2, 1)
        ]
    );
    let first = &run.sink.out.trades[0];
    assert_eq!((first.price, first.qty), (px("100.5"), Qty::parse("0.25").unwrap()));
    assert!(!run.kinds().contains(&EventKind::TradeGap));
    // A reconnect whose replay is all new: trades between may be missing.
    run.feed(Entry::Disconnect { conn: 2, cause: Cause::Closed, detail: "closed".into() });
    run.connect(3, Stream::Trades);
    run.frame(3, &trades(0, true, &[("250", "BUY"), ("200", "BUY")]));
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq), (EventKind::TradeGap, Some(200)));
    assert!(gap.detail.as_deref().unwrap().contains("(trade 200)"), "{gap:?}");
    assert_eq!(run.sink.out.trades.len(), 6);
    // Book data on the trades connection is refused, not applied.
    run.frame(3, &l2(1, true, &[("bid", "1", "1")]));
    assert_eq!(run.kinds().last(), Some(&EventKind::Refused));
    assert!(run.sink.out.book_top.is_empty());
}

#[test]
fn the_state_file_keeps_the_sequence_and_the_book_across_a_restart() {
    let mut run = Run::new();
    run.connect(1, Stream::Book);
    run.frame(1, &l2(10, true, &[("bid", "100.0", "0.10"), ("offer", "101", "1.50")]));
    run.connect(2, Stream::Trades);
    run.frame(2, &trades(0, true, &[("5", "BUY")]));
    let json = serde_json::to_string(&run.rules.save()).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again = Run { rules: Rules::restore("BTC-USD", &saved), sink: Sink::new(5), jseq: 10 };
    assert_eq!(again.rules.open_conns(), vec![1, 2]);
    assert_eq!(again.frame(1, &l2(11, false, &[("offer", "101.5", "2")])), Verdict::Continue);
    let top = again.sink.out.book_top.last().unwrap();
    assert_eq!((top.seq, top.bids[0].price, top.asks.len()), (2, px("100"), 2));
    again.frame(2, &trades(1, false, &[("5", "BUY"), ("6", "SELL")]));
    assert_eq!(again.sink.out.trades.len(), 1);
    assert!(again.kinds().is_empty(), "{:?}", again.kinds());
    assert!(matches!(again.frame(1, &heartbeat(13)), Verdict::Close { .. }));
}
