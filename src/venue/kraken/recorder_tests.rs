//! The Kraken rules on hand-made sessions: checksums verified, a mismatch ends the
//! connection with its event, a refused message changes nothing, trades deduplicated across
//! reconnects with their gaps said, and the state file carries the book's wire places.

use super::*;
use crate::model::RecvTime;
use crate::storage::{Cause, Entry};
use crate::venue::kraken::wire::WireLevel;
use crate::venue::rules::Rules as _;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

/// Builds messages whose checksums are those of a mirror of the venue's book.
struct Venue {
    book: KrakenBook,
}

impl Venue {
    fn new() -> Self {
        Self { book: KrakenBook::new(DEFAULT_DEPTH) }
    }

    /// A `book` message; `skew` is added to the checksum sent (0: the right one).
    fn book(
        &mut self,
        snapshot: bool,
        bids: &[(&str, &str)],
        asks: &[(&str, &str)],
        skew: u32,
    ) -> String {
        let wire = |levels: &[(&str, &str)]| -> Vec<WireLevel> {
            levels.iter().map(|(p, q)| WireLevel { price: num(p), qty: num(q) }).collect()
        };
        self.book.apply(snapshot, &wire(bids), &wire(asks));
        let json = |levels: &[(&str, &str)]| {
            levels
                .iter()
                .map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            r#"{{"channel":"book","type":"{}","data":[{{"symbol":"BTC/USD","bids":[{}],"asks":[{}],"checksum":{},"timestamp":"2026-01-01T00:00:00.000001Z"}}]}}"#,
            if snapshot { "snapshot" } else { "update" },
            json(bids),
            json(asks),
            self.book.checksum(None).wrapping_add(skew)
        )
    }
}

fn num(text: &str) -> wire::Num {
    let scale = text.split_once('.').map_or(0, |(_, f)| f.len()) as u8;
    wire::Num { raw: crate::model::parse_raw(text).unwrap(), scale }
}

fn trades(snapshot: bool, ids: &[i64]) -> String {
    let trades: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"symbol":"BTC/USD","side":"sell","price":100.5,"qty":0.25000000,"ord_type":"market","trade_id":{id},"timestamp":"2026-01-01T00:00:00.5Z"}}"#))
        .collect();
    let kind = if snapshot { "snapshot" } else { "update" };
    format!(r#"{{"channel":"trade","type":"{kind}","data":[{}]}}"#, trades.join(","))
}

struct Run {
    rules: Rules,
    sink: Sink,
    jseq: u64,
}

impl Run {
    fn new() -> Self {
        Self {
            rules: Rules::restore("BTC/USD", DEFAULT_DEPTH, &Saved::default()),
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
        self.feed(Entry::Connect { conn, stream, url: "ws://127.0.0.1:1/v2".into() });
    }

    fn frame(&mut self, conn: u32, text: &str) -> Verdict {
        self.feed(Entry::Frame { conn, text: text.to_owned() })
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.sink.out.events.iter().map(|e| e.kind).collect()
    }
}

#[test]
fn matching_checksums_write_rows_and_truncated_levels_as_removals() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    let bids: Vec<(String, String)> =
        (0..10).map(|i| (format!("{}.0", 100 - i), "1.00000000".to_owned())).collect();
    let bids: Vec<(&str, &str)> = bids.iter().map(|(p, q)| (p.as_str(), q.as_str())).collect();
    let snap = venue.book(true, &bids, &[("101.0", "0.50000000")], 0);
    assert_eq!(run.frame(1, &snap), Verdict::Continue);
    // A new best bid pushes 91.0 out of the top 10: no delete is sent for it.
    let update = venue.book(false, &[("100.5", "2.00000000")], &[], 0);
    assert_eq!(run.frame(1, &update), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect]);
    let depth = &run.sink.out.depth;
    assert_eq!(depth.len(), 11 + 2);
    let last = depth.last().unwrap();
    assert_eq!(
        (last.seq, last.side, last.price.to_string(), last.qty.is_zero()),
        (2, BookSide::Bid, "91".to_owned(), true)
    );
    assert_eq!(run.sink.out.book_top.len(), 2);
}

#[test]
fn a_checksum_mismatch_ends_the_connection_and_the_next_one_rebuilds() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100.0", "1.0")], &[("101.0", "1.0")], 0));
    let bad = venue.book(false, &[("100.0", "2.0")], &[], 1);
    let Verdict::Close { conn: 1, reason } = run.frame(1, &bad) else { panic!("not closed") };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!(gap.kind, EventKind::SeqGap);
    assert_eq!(gap.seq.unwrap() - gap.expected_seq.unwrap(), 1);
    let rows = run.sink.out.depth.len();
    // Frames after the break and its disconnect write nothing.
    run.frame(1, &venue.book(false, &[("99.0", "1.0")], &[], 0));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    assert_eq!((run.sink.out.depth.len(), run.kinds().len()), (rows, 2));
    run.connect(2, Stream::Book);
    let mut venue = Venue::new();
    run.frame(2, &venue.book(true, &[("100.0", "3.0")], &[("101.0", "1.0")], 0));
    assert_eq!(run.kinds().last(), Some(&EventKind::Resnapshot));
    // An update before any snapshot is a break too.
    run.connect(3, Stream::Book);
    assert!(matches!(
        run.frame(3, &venue.book(false, &[], &[], 0)),
        Verdict::Close { conn: 3, .. }
    ));
}

#[test]
fn a_refused_message_changes_nothing_and_the_next_checksum_still_matches() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100.0", "1.0")], &[("101.0", "1.0")], 0));
    let mut other = Venue::new();
    let bad = other.book(false, &[("100.0", "9.0")], &[], 0).replace("BTC/USD", "ETH/USD");
    assert_eq!(run.frame(1, &bad), Verdict::Continue);
    assert_eq!(run.frame(1, "{not json"), Verdict::Continue);
    assert_eq!(run.frame(1, &venue.book(false, &[("100.0", "2.0")], &[], 0)), Verdict::Continue);
    assert_eq!(run.kinds(), vec![EventKind::Connect, EventKind::Refused, EventKind::Refused]);
    assert_eq!(run.frame(1, r#"{"channel":"heartbeat"}"#), Verdict::Continue);
    let failed = r#"{"method":"subscribe","error":"Currency pair not supported","success":false}"#;
    assert!(matches!(run.frame(1, failed), Verdict::Close { .. }));
    assert_eq!(run.kinds().last(), Some(&EventKind::VenueError));
}

#[test]
fn trades_are_deduplicated_across_reconnects_and_id_jumps_are_gaps() {
    let mut run = Run::new();
    run.connect(1, Stream::Trades);
    run.frame(1, &trades(true, &[10, 11, 12]));
    run.frame(1, &trades(false, &[13]));
    run.feed(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
    run.connect(2, Stream::Trades);
    // The replay repeats 11..13 and brings 14; then 16 skips 15.
    run.frame(2, &trades(true, &[11, 12, 13, 14]));
    run.frame(2, &trades(false, &[16]));
    let ids: Vec<i64> = run.sink.out.trades.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids, vec![10, 11, 12, 13, 14, 16]);
    let gap = run.sink.out.events.last().unwrap();
    assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::TradeGap, Some(16), Some(15)));
    assert_eq!(run.sink.out.trades[0].kind, TradeKind::Trade);
}

#[test]
fn the_state_file_keeps_the_wire_places_so_checksums_match_after_a_restart() {
    let (mut venue, mut run) = (Venue::new(), Run::new());
    run.connect(1, Stream::Book);
    run.frame(1, &venue.book(true, &[("100.0", "0.10000000")], &[("101.0", "1.50")], 0));
    run.connect(2, Stream::Trades);
    run.frame(2, &trades(true, &[7]));
    let saved = run.rules.save();
    let json = serde_json::to_string(&saved).unwrap();
    let saved: Saved = serde_json::from_str(&json).unwrap();
    let mut again = Run {
        rules: Rules::restore("BTC/USD", DEFAULT_DEPTH, &saved),
        sink: Sink::new(5),
        jseq: 10,
    };
    assert_eq!(again.rules.open_conns(), vec![1, 2]);
    assert_eq!(again.frame(1, &venue.book(false, &[], &[("101.5", "2.0")], 0)), Verdict::Continue);
    assert_eq!(again.sink.out.book_top.last().unwrap().seq, 2);
    again.frame(2, &trades(false, &[7, 8]));
    assert_eq!(again.sink.out.trades.len(), 1);
    assert!(again.kinds().is_empty(), "{:?}", again.kinds());
}
