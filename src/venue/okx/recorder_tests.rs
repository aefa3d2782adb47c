//! The OKX rules on hand-made sessions: checksums and `prevSeqId` chains verified, either
//! break ends the connection with its event, a refused message changes nothing, trades
//! deduplicated across reconnects with their gaps said, and the state file carries the
//! received text so checksums match after a restart.

use super::*;
use crate::model::RecvTime;
use crate::storage::{Cause, Entry};
use crate::venue::okx::wire::WireLevel;
use crate::venue::rules::Rules as _;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

/// Builds `books` messages whose checksums and sequence ids are a mirror book's.
struct Venue {
    book: OkxBook,
    seq_id: i64,
}

impl Venue {
    fn new() -> Self {
        Self { book: OkxBook::new(), seq_id: 100 }
    }

    /// A `books` message; `skew` is added to the checksum sent (0: the right one), `hop` to
    /// the sequence step past the one `prevSeqId` names (0: unbroken).
    fn book(
        &mut self,
        snapshot: bool,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
        skew: i32,
        hop: i64,
    ) -> String {
        let wire = |levels: &[(&str, &str)]| -> Vec<WireLevel> {
            levels.iter().map(|(p, q)| lv(p, q)).collect()
        };
        self.book.apply(snapshot, &wire(bids), &wire(asks));
        let json = |levels: &[(&str, &str)]| {
            levels.iter().map(|(p, q)| format!(r#"["{p}","{q}","0","1"]"#)).collect::<Vec<_>>()
        };
        let prev = if snapshot { -1 } else { self.seq_id + hop };
        self.seq_id += 7;
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{}","data":[{{"asks":[{}],"bids":[{}],"ts":"1767225600000","checksum":{},"seqId":{},"prevSeqId":{prev}}}]}}"#,
            if snapshot { "snapshot" } else { "update" },
            json(asks).join(","),
            json(bids).join(","),
            self.book.checksum().wrapping_add(skew),
            self.seq_id,
        )
    }
}

fn lv(px: &str, sz: &str) -> WireLevel {
    let level = crate::model::Level::new(
        crate::model::Price::parse(px).unwrap(),
        crate::model::Qty::parse(sz).unwrap(),
    );
    WireLevel { level, px: px.to_owned(), sz: sz.to_owned() }
}

fn trades(ids: &[i64]) -> String {
    let trades: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"instId":"BTC-USDT","tradeId":"{id}","px":"100.5","sz":"0.25","side":"sell","ts":"1767225600500"}}"#))
        .collect();
    format!(r#"{{"arg":{{"channel":"trades","instId":"BTC-USDT"}},"data":[{}]}}"#, trades.join(","))
}

struct Run {
    rules: Rules,
    sink: Sink,
    jseq: u64,
}

impl Run {
    fn new() -> Self {
        Self { rules: Rules::restore("BTC-USDT", &Saved::default()), sink: Sink::new(5), jseq: 0 }
    }

    fn feed(&mut self, entry: Entry) -> Verdict {
        self.jseq += 1;
        let ts_recv = RecvTime::from_nanos(T0 + self.jseq as i64 * 1_000_000);
        self.rules.apply(&Record { jseq: self.jseq, ts_recv, entry }, &mut self.sink)
    }

    fn connect(&mut self, conn: u32, stream: Stream) {
        self.feed(Entry::Connect { conn, stream, url: "ws://127.0.0.1:1/ws/v5/public".into() });
    }

    fn frame(&mut self, conn: u32, text: &str) -> Verdict {
        self.feed(Entry::Frame { conn, text: text.to_owned() })
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.sink.out.events.iter().map(|e| e.kind).collect()
    }
}

#[test]
fn matching_checksums_and_chains_write_rows_and_absent_deletes_write_none() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    let snap = venue.book(true, &[("100", "1"), ("99.5", "2")], &[("101", "0.5")], 0, 0);
    assert_eq!(run.frame(1, &snap), Verdict::Continue);
    let update = venue.book(false, &[("100", "3"), ("98", "0")], &[("101", "0")], 0, 0);
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    assert_eq!(
        run.sink.out.events[0].detail.as_deref(),
        Some("ws://127.0.0.1:1/ws/v5/public (books)")
    );
    // 3 snapshot levels, then 100 → 3 and the ask removed; 98 was never in the book.
    let depth = &run.sink.out.depth;
    assert_eq!(depth.len(), 5);
    assert!(depth[3..].iter().all(|r| r.seq == 2 && !r.snapshot));
    assert_eq!(run.sink.out.book_top.len(), 2);
    // An empty update chains like any other.
    assert_eq!(run.frame(1, &venue.book(false, &[], &[], 0, 0)), Verdict::Continue);
    // The same message twice: the repeat is skipped, not a break.
    let update = venue.book(false, &[("100", "4")], &[], 0, 0);
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    let tops = run.sink.out.book_top.len();
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    assert_eq!((run.sink.out.book_top.len(), run.kinds().len()), (tops, 1));
}

#[test]
fn a_checksum_mismatch_or_a_broken_chain_ends_the_connection_and_the_next_one_rebuilds() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100", "1")], &[("101", "1")], 0, 0));
    let bad = venue.book(false, &[("100", "2")], &[], 1, 0);
    let Verdict::Close { conn: 1, reason } = run.frame(1, &bad) else { panic!("not closed") };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq.unwrap() - gap.expected_seq.unwrap()), (EventKind::SeqGap, 1));
    let rows = run.sink.out.depth.len();
    run.frame(1, &venue.book(false, &[("99", "1")], &[], 0, 0));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!((run.sink.out.depth.len(), run.kinds().len()), (rows, 2));

    let mut venue = Venue::new();
    run.connect(2, Stream::Book);
    run.frame(2, &venue.book(true, &[("100", "3")], &[("101", "1")], 0, 0));
    assert_eq!(run.kinds().last(), Some(&EventKind::Resnapshot));
    // prevSeqId names a message that never arrived: a break, whatever the checksum says.
    let Verdict::Close { conn: 2, reason } = run.frame(2, &venue.book(false, &[], &[], 0, 7))
    else {
        panic!("not closed")
    };
    assert!(reason.contains("prevSeqId 114 but the previous one had seqId 107"), "{reason}");
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.seq, gap.expected_seq), (Some(114), Some(107)));
    // An update before any snapshot is a break too.
    run.connect(3, Stream::Book);
    assert!(matches!(
        run.frame(3, &venue.book(false, &[], &[], 0, 0)),
        Verdict::Close { conn: 3, .. }
    ));
}

#[test]
fn a_refused_message_changes_nothing_and_the_next_checksum_still_matches() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100", "1")], &[("101", "1")], 0, 0));
    let mut other = Venue::new();
    let bad = other.book(false, &[("100", "9")], &[], 0, 0).replace("BTC-USDT", "ETH-USDT");
    assert_eq!(run.frame(1, &bad), Verdict::Continue);
    assert_eq!(run.frame(1, "{not json"), Verdict::Continue);
    let next = venue.book(false, &[("100", "2")], &[], 0, 0);
    assert_eq!(run.frame(1, &next), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect, EventKind::Refused, EventKind::Refused]);
    // An update that drops the chain's ids cannot be placed: refused, nothing changed.
    let unchained = venue.book(false, &[("100", "5")], &[], 0, 0);
    let stripped = unchained.replace(r#","seqId""#, r#","seqIdx""#);
    assert_eq!(run.frame(1, &stripped), Verdict::Continue);
    assert_eq!(run.kinds().last(), Some(&EventKind::Refused));
    let refused = run.sink.out.events.last().unwrap().detail.clone().unwrap();
    assert!(refused.starts_with("missing field `data[0].seqId`"), "{refused}");
    assert_eq!(run.frame(1, "pong"), Verdict::Continue);
    let failed = r#"{"event":"error","code":"60018","msg":"Wrong URL or channel","connId":"x"}"#;
    assert!(matches!(run.frame(1, failed), Verdict::Close { .. }), "{:?}", run.kinds());
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
}

#[test]
fn trades_are_deduplicated_across_reconnects_and_id_jumps_are_gaps() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &trades(&[10, 11, 12]));
    run.frame(1, &trades(&[13]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    run.frame(2, &trades(&[11, 12, 13, 14]));
    run.frame(2, &trades(&[16]));
    let ids: Vec<i64> = run.sink.out.trades.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids, vec![10, 11, 12, 13, 14, 16]);
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::TradeGap, Some(16), Some(15)));
    // An aggregate of 3 fills may advance the id by 3 without a gap.
    let aggregated = trades(&[19]).replace(r#""ts""#, r#""count":"3","ts""#);
    run.frame(2, &aggregated);
    assert_eq!(run.kinds().iter().filter(|k| **k == EventKind::TradeGap).count(), 1);
}

#[test]
fn the_state_file_keeps_the_received_text_so_checksums_match_after_a_restart() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100.0", "0.10")], &[("101", "1.50")], 0, 0));
    run.connect(2, Stream::Trades);
    run.frame(2, &trades(&[7]));
    let json = serde_json::to_string(&run.rules.save()).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again = Run { rules: Rules::restore("BTC-USDT", &saved), sink: Sink::new(5), jseq: 10 };
    assert_eq!(again.rules.open_conns(), vec![1, 2]);
    let next = venue.book(false, &[], &[("101.5", "2")], 0, 0);
    assert_eq!(again.frame(1, &next), Verdict::Continue);
    assert_eq!(again.sink.out.book_top.last().unwrap().seq, 2);
    again.frame(2, &trades(&[7, 8]));
    assert_eq!(again.sink.out.trades.len(), 1);
    assert!(again.kinds().is_empty(), "{:?}", again.kinds());
}
