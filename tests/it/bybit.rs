//! Bybit v5 against the real frames in `../shared/fixtures/bybit/` (origin and license in its
//! README: Bybit's own published `orderbook.500` history for the USDT perpetual XRPUSDT on
//! 2024-12-01, one snapshot and 49 deltas, via nautilus_trader under the LGPL-3.0): every line
//! parses; replayed in order the book holds 500 levels a side after every message, never
//! crosses and `u` is contiguous; the recorder's rules write 50 `book_top` rows and no event
//! but the connect; dropping one delta makes the next one a `seq_gap` and a close. Skipped,
//! saying so, when `../shared` is absent.

use mdkit::book::Book;
use mdkit::model::{BookSide, EventKind, RecvTime};
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::bybit::{self, recorder::Rules, Message};
use mdkit::venue::{Rules as _, Saved, Sink, Verdict};

use crate::common::shared_fixtures;

const FILE: &str = "2024-12-01_XRPUSDT_ob500.data";
const DEPTH: usize = 500;

/// The file's lines (CRLF ends stripped), each received 5 ms after its venue time `ts`.
fn lines() -> Option<Vec<(RecvTime, String)>> {
    let dir = shared_fixtures("bybit")?;
    let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
    assert!(text.ends_with("\r\n"), "the README says every line ends in CRLF");
    let frames = text
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| {
            let at = line.find("\"ts\":").unwrap() + 5;
            let ts: i64 = line[at..at + 13].parse().unwrap();
            (RecvTime::from_nanos((ts + 5) * 1_000_000), line.to_owned())
        })
        .collect();
    Some(frames)
}

#[test]
fn every_line_parses_and_u_is_contiguous() {
    let Some(frames) = lines() else { return };
    assert_eq!(frames.len(), 50);
    let mut last_u = None;
    let (mut snapshots, mut deltas) = (0, 0);
    for (index, (_, text)) in frames.iter().enumerate() {
        let message = bybit::parse(text).unwrap_or_else(|e| panic!("line {}: {e}", index + 1));
        let Message::Book(book) = message else { panic!("line {}: {message:?}", index + 1) };
        assert_eq!(book.topic, "orderbook.500.XRPUSDT");
        if book.snapshot {
            snapshots += 1;
        } else {
            deltas += 1;
            assert_eq!(Some(book.data.u), last_u.map(|u: i64| u + 1), "line {}", index + 1);
        }
        // cts is the matching engine's time, before the push time ts.
        assert!(book.cts.unwrap() <= book.ts_event, "line {}", index + 1);
        last_u = Some(book.data.u);
    }
    assert_eq!((snapshots, deltas, last_u), (1, 49, Some(20_254_918)));
}

#[test]
fn the_book_holds_500_levels_a_side_after_every_message_and_never_crosses() {
    let Some(frames) = lines() else { return };
    let mut book = Book::new();
    let (mut changes, mut cut) = (0, 0);
    for (index, (_, text)) in frames.iter().enumerate() {
        let Ok(Message::Book(message)) = bybit::parse(text) else { panic!("line {index}") };
        let d = &message.data;
        let made = bybit::book::apply(&mut book, message.snapshot, &d.bids, &d.asks, DEPTH);
        // Nothing is cut: the venue deletes what leaves its 500 itself.
        cut += made.len() - (d.bids.len() + d.asks.len());
        changes += made.len();
        for side in [BookSide::Bid, BookSide::Ask] {
            assert_eq!(book.depth(side), DEPTH, "line {} {side}", index + 1);
        }
        assert!(!bybit::book::is_crossed(&book), "line {} crossed", index + 1);
    }
    assert_eq!(cut, 0, "no level was cut and no delete was of an absent level");
    // Every level named is a change: 1,000 in the snapshot, 2,966 in the deltas.
    assert_eq!(changes, 3966);
}

/// The frames through the recorder's rules on one book connection: the rules, the sink and
/// each frame's verdict.
fn record(frames: &[(RecvTime, String)]) -> (Rules, Sink, Vec<Verdict>) {
    let mut rules = Rules::restore("XRPUSDT", DEPTH, &Saved::default());
    let mut sink = Sink::new(10);
    let url = "wss://stream.bybit.com/v5/public/linear".into();
    let connect = Entry::Connect { conn: 1, stream: Stream::Book, url };
    let first = frames.first().map_or(RecvTime::from_nanos(0), |(t, _)| *t);
    let mut verdicts =
        vec![rules.apply(&Record { jseq: 0, ts_recv: first, entry: connect }, &mut sink)];
    for (jseq, (ts_recv, text)) in (1..).zip(frames) {
        let entry = Entry::Frame { conn: 1, text: text.clone() };
        verdicts.push(rules.apply(&Record { jseq, ts_recv: *ts_recv, entry }, &mut sink));
        // The state the rules would save holds the whole book: 500 levels a side.
        let saved = rules.save();
        let conn = &saved.conns[0];
        if conn.stream.is_some() {
            assert_eq!((conn.bids.len(), conn.asks.len()), (DEPTH, DEPTH), "frame {jseq}");
        }
    }
    (rules, sink, verdicts)
}

#[test]
fn the_recorder_rules_write_50_book_top_rows_and_no_event() {
    let Some(frames) = lines() else { return };
    let (_, sink, verdicts) = record(&frames);
    assert!(verdicts.iter().all(|v| *v == Verdict::Continue));
    let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::Connect], "{:?}", sink.out.events);
    assert_eq!(sink.out.book_top.len(), 50);
    for (n, row) in (1..).zip(&sink.out.book_top) {
        assert_eq!((row.seq, row.snapshot), (n, n == 1));
        assert!(row.bids[0].price < row.asks[0].price, "seq {n} crossed");
    }
    let top = &sink.out.book_top[0];
    assert_eq!(
        (top.bids[0].price.to_string(), top.asks[0].price.to_string()),
        ("1.9531".into(), "1.9532".into())
    );
    // The snapshot's 1,000 levels, then one depth row per level a delta names.
    assert!(sink.out.depth.iter().take(1000).all(|r| r.snapshot && r.seq == 1));
    assert_eq!(sink.out.depth.len(), 3966);
    assert_eq!(sink.counters.refused, 0);
}

#[test]
fn dropping_one_delta_is_a_seq_gap_at_the_next() {
    let Some(mut frames) = lines() else { return };
    frames.remove(20); // the delta with u 20254889
    let (rules, sink, verdicts) = record(&frames);
    let Verdict::Close { conn: 1, reason } = &verdicts[21] else { panic!("{:?}", verdicts[21]) };
    assert!(reason.contains("u 20254890 but the previous one had u 20254888"), "{reason}");
    let gap = sink.out.events.iter().find(|e| e.kind == EventKind::SeqGap).unwrap();
    assert_eq!((gap.seq, gap.expected_seq), (Some(20_254_890), Some(20_254_889)));
    assert_eq!(sink.out.events.len(), 2, "one terminal event; later frames are ignored");
    assert_eq!(sink.out.book_top.len(), 20);
    assert!(rules.open_conns().is_empty());
}
