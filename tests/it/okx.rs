//! OKX v5 against the real frames in `../shared/fixtures/okx/` (origin, license and traps in
//! its README; "This product includes software developed by Bryant Moscon
//! (http://www.bryantmoscon.com/)" — the capture comes from cryptofeed): every received frame
//! parses; the three instruments' 290 `books` messages, replayed in order, match all 290
//! signed checksums from the received text (deletes of absent levels ignored) and never cross;
//! the recorder's rules record each instrument without an event; a one-byte change to a level
//! makes that message's checksum fail and the rules write the `seq_gap` and close. Skipped,
//! saying so, when `../shared` is absent.

use mdkit::model::{EventKind, RecvTime};
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::okx::{self, recorder::Rules, Message, OkxBook};
use mdkit::venue::{Rules as _, Saved, Sink, Verdict};

use crate::common::shared_fixtures;

const CAPTURE: &str = "OKX.ws.1.0";
const INSTRUMENTS: [&str; 3] = ["BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"];

/// The received frames: `(receive time, frame text)`; sent frames and the connect line are
/// skipped (they hold ` <- ` and ` <-> `).
fn received(dir: &std::path::Path) -> Vec<(RecvTime, String)> {
    let text = std::fs::read_to_string(dir.join(CAPTURE)).unwrap();
    text.lines()
        .filter(|line| !line.contains(" <- ") && !line.contains(" <-> "))
        .map(|line| {
            let (time, frame) = line.split_once(": ").unwrap();
            let nanos = (time.parse::<f64>().unwrap() * 1e9) as i64;
            (RecvTime::from_nanos(nanos), frame.to_owned())
        })
        .collect()
}

/// The `books` and `trades` data frames about `inst` (its `arg.instId`): what connections
/// subscribed to those channels receive (the capture also subscribed `tickers`).
fn of(frames: &[(RecvTime, String)], inst: &str) -> Vec<(RecvTime, String)> {
    let tags = ["books", "trades"].map(|c| format!(r#"{{"channel":"{c}","instId":"{inst}"}}"#));
    let wanted = |f: &str| tags.iter().any(|t| f.contains(t.as_str())) && f.contains("\"data\"");
    frames.iter().filter(|(_, f)| wanted(f)).cloned().collect()
}

#[test]
fn every_received_frame_parses() {
    let Some(dir) = shared_fixtures("okx") else { return };
    let frames = received(&dir);
    assert_eq!(frames.len(), 410);
    let (mut books, mut trades, mut rows, mut other, mut acks) = (0, 0, 0, 0, 0);
    for (index, (_, text)) in frames.iter().enumerate() {
        match okx::parse(text).unwrap_or_else(|e| panic!("frame {index}: {e}\n{text}")) {
            Message::Book(_) => books += 1,
            Message::Trades(t) => {
                trades += 1;
                rows += t.len();
            }
            Message::OtherChannel { channel } => {
                assert_eq!(channel, "tickers");
                other += 1;
            }
            Message::Subscribed => acks += 1,
            unexpected => panic!("frame {index}: {unexpected:?}"),
        }
    }
    assert_eq!((books, trades, rows, other, acks), (290, 74, 74, 28, 18));
}

#[test]
fn the_290_book_messages_match_every_checksum_and_never_cross() {
    let Some(dir) = shared_fixtures("okx") else { return };
    let frames = received(&dir);
    let mut matched = 0;
    for inst in INSTRUMENTS {
        let mut book = OkxBook::new();
        for (index, (_, text)) in of(&frames, inst).iter().enumerate() {
            let Ok(Message::Book(message)) = okx::parse(text) else { continue };
            for data in &message.data {
                book.apply(message.snapshot, &data.bids, &data.asks);
                let sent = data.checksum.expect("this capture carries checksums");
                assert_eq!(book.checksum(), sent, "{inst} message {index}");
                assert!(!book.is_crossed(), "{inst} message {index} crossed the book");
                matched += 1;
            }
        }
    }
    assert_eq!(matched, 290);
}

/// `inst`'s frames through the recorder's rules on one connection; the sink and each
/// frame's verdict.
fn record(frames: &[(RecvTime, String)], inst: &str) -> (Sink, Vec<Verdict>) {
    let mut rules = Rules::restore(inst, &Saved::default());
    let mut sink = Sink::new(10);
    let connect = Entry::Connect { conn: 1, stream: Stream::Combined, url: "ws://okx".into() };
    let first = frames.first().map_or(RecvTime::from_nanos(0), |(t, _)| *t);
    let mut verdicts =
        vec![rules.apply(&Record { jseq: 0, ts_recv: first, entry: connect }, &mut sink)];
    for (jseq, (ts_recv, text)) in (1..).zip(frames) {
        let entry = Entry::Frame { conn: 1, text: text.clone() };
        verdicts.push(rules.apply(&Record { jseq, ts_recv: *ts_recv, entry }, &mut sink));
    }
    (sink, verdicts)
}

#[test]
fn the_recorder_rules_record_each_instrument_without_an_event() {
    let Some(dir) = shared_fixtures("okx") else { return };
    let frames = received(&dir);
    let (mut tops, mut trades) = (0, 0);
    for inst in INSTRUMENTS {
        let (sink, verdicts) = record(&of(&frames, inst), inst);
        assert!(verdicts.iter().all(|v| *v == Verdict::Continue), "{inst}");
        let kinds: Vec<EventKind> = sink.out.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Connect], "{inst}: {:?}", sink.out.events);
        for row in &sink.out.book_top {
            assert!(row.bids[0].price < row.asks[0].price, "{inst} seq {} crossed", row.seq);
        }
        tops += sink.out.book_top.len();
        trades += sink.out.trades.len();
    }
    assert_eq!((tops, trades), (290, 74));
}

#[test]
fn one_changed_byte_in_a_level_fails_the_checksum_and_the_rules_write_the_event() {
    let Some(dir) = shared_fixtures("okx") else { return };
    let mut frames = of(&received(&dir), "BTC-USDT");
    let at = frames.iter().position(|(_, f)| f.contains("\"action\":\"snapshot\"")).unwrap();
    // The snapshot's best ask size: one digit up.
    let text = &frames[at].1;
    let size = text.find("\"asks\":[[\"").unwrap() + 9;
    let size = size + text[size..].find(",\"").unwrap() + 2;
    let mut bytes = text.clone().into_bytes();
    bytes[size] = if bytes[size] == b'9' { b'1' } else { bytes[size] + 1 };
    let corrupt = String::from_utf8(bytes).unwrap();
    assert_eq!(corrupt.len(), text.len());
    let Ok(Message::Book(message)) = okx::parse(&corrupt) else { panic!("not a book") };
    let mut book = OkxBook::new();
    book.apply(true, &message.data[0].bids, &message.data[0].asks);
    assert_ne!(Some(book.checksum()), message.data[0].checksum);

    frames[at].1 = corrupt;
    let (sink, verdicts) = record(&frames, "BTC-USDT");
    assert!(matches!(verdicts[at + 1], Verdict::Close { conn: 1, .. }), "{:?}", verdicts[at + 1]);
    let gap = sink.out.events.iter().find(|e| e.kind == EventKind::SeqGap).unwrap();
    assert!(gap.detail.as_deref().unwrap().contains("checksum mismatch"), "{gap:?}");
    assert!(sink.out.book_top.is_empty(), "nothing of the broken book is recorded");
}
