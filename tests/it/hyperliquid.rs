//! Hyperliquid against the real frames in `../shared/fixtures/hyperliquid/` (origin, license
//! and traps in its README): every line of the 25 s BTC capture parses (46 `l2Book`, 9
//! `trades`, 64 trades); the whole capture through the recorder's rules, as the one combined
//! connection it was captured on (the interleaving of books and trades is the capture's own),
//! writes 46 `book_top` rows whose `depth` rows replay to each push's book, 64 distinct trades,
//! no refusal, never a crossed book, and every taker side on the right side of the book
//! before it; a second connection replaying the file writes no trade twice. The REST `l2Book`
//! body reads as a book. Skipped, saying so, when `../shared` is absent.

use mdkit::book::Book;
use mdkit::model::{BookSide, EventKind, RecvTime, TakerSide};
use mdkit::storage::{Cause, Entry, Record, Stream};
use mdkit::venue::hyperliquid::{self, recorder::Rules, BookPush, Message};
use mdkit::venue::{Rules as _, Saved, Sink, Verdict};

use crate::common::shared_fixtures;

const CAPTURE: &str = "hftbacktest_btcusd_20250126.txt";

/// `(local receive time ns, frame text)` per line.
fn lines(dir: &std::path::Path) -> Vec<(i64, String)> {
    let text = std::fs::read_to_string(dir.join(CAPTURE)).unwrap();
    text.lines()
        .map(|line| {
            let (ns, frame) = line.split_once(' ').unwrap();
            (ns.parse().unwrap(), frame.to_owned())
        })
        .collect()
}

fn book_of(push: &BookPush) -> Book {
    let mut book = Book::new();
    for (side, levels) in [(BookSide::Bid, &push.bids), (BookSide::Ask, &push.asks)] {
        for level in levels {
            book.set(side, level.price, level.qty);
        }
    }
    book
}

#[test]
fn every_line_of_the_capture_parses() {
    let Some(dir) = shared_fixtures("hyperliquid") else { return };
    let lines = lines(&dir);
    assert_eq!(lines.len(), 55);
    let (mut books, mut frames, mut trades) = (0, 0, 0);
    for (index, (_, text)) in lines.iter().enumerate() {
        match hyperliquid::parse(text) {
            Ok(Message::Book(push)) => {
                assert_eq!((push.bids.len(), push.asks.len()), (20, 20), "line {index}");
                books += 1;
            }
            Ok(Message::Trades(list)) => {
                frames += 1;
                trades += list.len();
            }
            other => panic!("line {index}: {other:?}"),
        }
    }
    assert_eq!((books, frames, trades), (46, 9, 64));
}

#[test]
fn the_rest_body_reads_as_a_book() {
    let Some(dir) = shared_fixtures("hyperliquid") else { return };
    let body = std::fs::read_to_string(dir.join("rest_info_l2Book_DYDX_20230717.json")).unwrap();
    let push = hyperliquid::parse_rest_book(&body).unwrap();
    assert_eq!((push.coin.as_str(), push.bids.len(), push.asks.len()), ("DYDX", 20, 20));
    assert_eq!(push.ts_event.as_nanos(), 1_689_630_203_930_000_000);
    let book = book_of(&push);
    assert_eq!(book.best_bid().unwrap().price.to_string(), "2.111");
    assert_eq!(book.best_ask().unwrap().price.to_string(), "2.1124");
}

/// Feeds `lines` on connection `conn` (receive times shifted by `shift_ns`).
fn feed(rules: &mut Rules, sink: &mut Sink, conn: u32, lines: &[(i64, String)], shift_ns: i64) {
    let connect = Entry::Connect { conn, stream: Stream::Combined, url: "wss://hl".into() };
    let ts = RecvTime::from_nanos(lines[0].0 + shift_ns - 1);
    assert_eq!(
        rules.apply(&Record { jseq: 0, ts_recv: ts, entry: connect }, sink),
        Verdict::Continue
    );
    for (jseq, (ns, text)) in (1..).zip(lines) {
        let record = Record {
            jseq,
            ts_recv: RecvTime::from_nanos(ns + shift_ns),
            entry: Entry::Frame { conn, text: text.clone() },
        };
        assert_eq!(rules.apply(&record, sink), Verdict::Continue, "line {jseq}");
    }
}

#[test]
fn the_capture_records_losslessly_and_a_replay_writes_no_trade_twice() {
    let Some(dir) = shared_fixtures("hyperliquid") else { return };
    let lines = lines(&dir);
    let mut rules = Rules::restore("BTC", &Saved::default());
    let mut sink = Sink::new(20);
    feed(&mut rules, &mut sink, 1, &lines, 0);
    let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::Connect], "{:?}", sink.out.events);
    let out = &sink.out;
    assert_eq!(out.book_top.len(), 46);
    // depth replays to each push's book; one push repeats the previous one and writes none.
    let pushes: Vec<BookPush> = lines
        .iter()
        .filter_map(|(_, t)| match hyperliquid::parse(t).unwrap() {
            Message::Book(push) => Some(push),
            _ => None,
        })
        .collect();
    let mut book = Book::new();
    let mut silent = 0;
    for (top, push) in out.book_top.iter().zip(&pushes) {
        let rows: Vec<_> = out.depth.iter().filter(|d| d.seq == top.seq).collect();
        silent += usize::from(rows.is_empty());
        for row in rows {
            book.set(row.side, row.price, row.qty);
        }
        assert_eq!(book, book_of(push), "push {}", top.seq);
        assert!(top.bids[0].price < top.asks[0].price, "push {} crossed", top.seq);
        assert_eq!(top.ts_event, push.ts_event);
    }
    assert_eq!(silent, 1, "the one re-push without change");
    assert_eq!(out.depth.iter().filter(|d| d.snapshot).count(), 40);
    // 64 distinct trades, each taker on the right side of the book before it.
    assert_eq!(out.trades.len(), 64);
    let mut ids: Vec<i64> = out.trades.iter().map(|t| t.trade_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 64);
    for trade in &out.trades {
        let before = out.book_top.iter().rev().find(|t| t.ts_recv < trade.ts_recv).unwrap();
        match trade.side {
            TakerSide::Buy => assert!(trade.price >= before.asks[0].price, "{trade:?}"),
            TakerSide::Sell => assert!(trade.price <= before.bids[0].price, "{trade:?}"),
        }
    }
    // A second connection replaying the file: its books are new rows, its trades are not.
    let end = Record {
        jseq: 0,
        ts_recv: RecvTime::from_nanos(lines[54].0 + 1),
        entry: Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() },
    };
    rules.apply(&end, &mut sink);
    feed(&mut rules, &mut sink, 2, &lines, 60_000_000_000);
    assert_eq!(sink.out.trades.len(), 64, "no trade written twice");
    assert_eq!(sink.out.book_top.len(), 92);
    let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EventKind::Connect, EventKind::Disconnect, EventKind::Connect, EventKind::Resnapshot]
    );
}
