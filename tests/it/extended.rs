//! Extended adapter against real and hand-written frames: the captured v2 frames in
//! `../shared/fixtures/extended/rpc_v2/` (their verified properties, README there) and the
//! v1 sessions in `tests/fixtures/extended/`. Parses text, checks sequences, applies books;
//! no network.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use mdkit::book::Book;
use mdkit::model::{BookSide, EventTime, FrameKind, Level, Price, Qty, TakerSide, TradeKind};
use mdkit::venue::extended::seq::{
    BookSequencer, Break, BreakReason, ReplayOverlap, RpcSequencer, TradesGap, TradesSequencer,
};
use mdkit::venue::extended::v1::{self, Message};
use mdkit::venue::extended::v2::{self, DataFrame, Payload, RpcMessage};
use mdkit::venue::extended::{BookUpdate, Depth, ParseError, PriceKind, TradesFrame, VenueError};

fn p(text: &str) -> Price {
    Price::parse(text).unwrap()
}

fn q(text: &str) -> Qty {
    Qty::parse(text).unwrap()
}

/// `$MDKIT_SHARED/fixtures/extended/rpc_v2`, else `<manifest>/../shared/…`; `None` (with a
/// note on stderr) when the shared tree is not there, e.g. in a standalone checkout.
fn rpc_v2_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("MDKIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("fixtures/extended/rpc_v2");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written to the process's stderr directly: libtest captures `eprintln!`, and a
        // skip must be visible in a normal `cargo test` run.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "skipped: ../shared/fixtures not found ({} does not exist; set MDKIT_SHARED to the shared tree)\n",
                dir.display()
            )
            .as_bytes(),
        );
        None
    }
}

fn own_fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extended").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn v2_data(dir: &Path, file: &str) -> DataFrame {
    let text = fs::read_to_string(dir.join(file)).unwrap();
    match v2::parse(&text) {
        Ok(RpcMessage::Data(frame)) => frame,
        other => panic!("{file}: expected a data frame, got {other:?}"),
    }
}

fn v2_book(dir: &Path, file: &str) -> BookUpdate {
    match v2_data(dir, file).payload {
        Payload::Book(update) => update,
        other => panic!("{file}: expected a book payload, got {other:?}"),
    }
}

fn v2_acks(dir: &Path) -> Vec<RpcMessage> {
    let text = fs::read_to_string(dir.join("ws_rpc_responses_btc.json")).unwrap();
    let frames: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    frames.iter().map(|frame| v2::parse(&frame.to_string()).unwrap()).collect()
}

#[test]
fn rpc_v2_every_captured_frame_parses() {
    let Some(dir) = rpc_v2_dir() else { return };
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    for path in files {
        if path.ends_with("ws_rpc_responses_btc.json") {
            assert_eq!(v2_acks(&dir).len(), 6);
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let parsed = v2::parse(&text);
        assert!(matches!(parsed, Ok(RpcMessage::Data(_))), "{}: {parsed:?}", path.display());
    }
}

#[test]
fn rpc_v2_snapshot_q_plus_delta_q_equals_c_on_all_8_levels() {
    let Some(dir) = rpc_v2_dir() else { return };
    let snapshot = v2_book(&dir, "ws_orderbook_snapshot_btc.top50.json");
    let delta = v2_book(&dir, "ws_orderbook_delta_btc.json");
    assert_eq!((snapshot.frame.kind, snapshot.depth), (FrameKind::Snapshot, Depth::Full));
    assert_eq!((snapshot.frame.bids.len(), snapshot.frame.asks.len()), (50, 50));
    assert_eq!(delta.frame.kind, FrameKind::Delta);
    assert_eq!(delta.frame.bids.len() + delta.frame.asks.len(), 8);

    let mut book = Book::new();
    book.apply(&snapshot.frame).unwrap();
    let mismatches = delta.change_mismatches(|s, price| book.get(s, price).unwrap_or(Qty::ZERO));
    assert_eq!(mismatches, vec![]);
    // Bid 84074 is absent from the snapshot, so its change equals its new size.
    assert_eq!(book.get(BookSide::Bid, p("84074")), None);
    assert_eq!(delta.bid_changes[0], delta.frame.bids[0].qty);

    book.apply(&delta.frame).unwrap();
    let cases = [
        (BookSide::Bid, "84073", "0.00175"),
        (BookSide::Bid, "84053", "2.99615"),
        (BookSide::Ask, "84078", "2.54894"),
        (BookSide::Bid, "84074", "0.00118"),
        // "84050.000000" in the snapshot, "84050" in the delta: one level.
        (BookSide::Bid, "84050.000000", "0.71908"),
        (BookSide::Bid, "84052.0", "0.03512"),
    ];
    for (side, price, size) in cases {
        assert_eq!(book.get(side, p(price)), Some(q(size)), "{side} {price}");
    }
    assert_eq!(book.depth(BookSide::Bid), 51);
    assert_eq!(book.depth(BookSide::Ask), 50);
    assert!(!book.is_crossed());
}

#[test]
fn rpc_v2_trade_ids_are_exact_ascending_and_50() {
    let Some(dir) = rpc_v2_dir() else { return };
    let text = fs::read_to_string(dir.join("ws_trades_replay_btc.json")).unwrap();
    let frame = v2_data(&dir, "ws_trades_replay_btc.json");
    assert_eq!((frame.seq, frame.topic.as_str()), (299, "trades.BTC-USD"));
    let Payload::Trades(TradesFrame { trades, .. }) = frame.payload else { panic!("trades") };
    assert_eq!(trades.len(), 50);
    assert_eq!(trades[0].id, 2_103_821_900_219_158_529);
    assert!(trades.iter().all(|t| t.id > 1 << 53));
    assert!(trades.windows(2).all(|w| w[0].id < w[1].id && w[0].ts_event <= w[1].ts_event));
    // Every id equals the digits in the text: nothing went through f64.
    let literal_ids: Vec<String> = text
        .match_indices("\"i\":")
        .map(|(at, key)| {
            let rest = text[at + key.len()..].trim_start();
            rest.chars().take_while(char::is_ascii_digit).collect()
        })
        .collect();
    let parsed_ids: Vec<String> = trades.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(parsed_ids, literal_ids);

    let snapshot_ts = EventTime::from_millis(1_790_425_441_918).unwrap();
    assert!(trades.iter().all(|t| t.ts_event < snapshot_ts));
    let span_ns = trades[49].ts_event.as_nanos() - trades[0].ts_event.as_nanos();
    assert_eq!(span_ns / 1_000_000_000, 237);
    assert!(trades.iter().all(|t| (t.side, t.kind) == (TakerSide::Sell, TradeKind::Trade)));
}

#[test]
fn rpc_v2_acks_then_seq_0_and_1_pass_the_sequencer() {
    let Some(dir) = rpc_v2_dir() else { return };
    let acks = v2_acks(&dir);
    let topics = [
        "orderbooks.BTC-USD",
        "trades.BTC-USD",
        "prices.mark.BTC-USD",
        "prices.index.BTC-USD",
        "funding-rates.BTC-USD",
    ];
    for (n, (ack, topic)) in acks.iter().zip(topics).enumerate() {
        let want = RpcMessage::Ack {
            id: (n + 1).to_string(),
            method: "subscribe".into(),
            topic: topic.into(),
        };
        assert_eq!(ack, &want);
    }
    let RpcMessage::Subscriptions { id, topics: listed } = &acks[5] else { panic!("list") };
    assert_eq!(id, "6");
    let mut sorted = topics.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(listed, &sorted);

    let mut seq = RpcSequencer::new();
    for ack in &acks {
        seq.observe(ack).unwrap();
    }
    assert_eq!(seq.expected(), Some(0), "acks carry no seq");
    for file in ["ws_orderbook_snapshot_btc.top50.json", "ws_orderbook_delta_btc.json"] {
        seq.observe(&RpcMessage::Data(v2_data(&dir, file))).unwrap();
    }
    assert_eq!(seq.expected(), Some(2));
    // The trades frame (seq 299) on the same connection is a gap here: 2..=298 are not in
    // the capture, which is what the sequencer must say.
    let trades = RpcMessage::Data(v2_data(&dir, "ws_trades_replay_btc.json"));
    assert_eq!(
        seq.observe(&trades),
        Err(Break { expected: 2, received: Some(299), reason: BreakReason::Gap })
    );
}

#[test]
fn rpc_v2_prices_and_funding_are_typed_with_mark_ts_zero() {
    let Some(dir) = rpc_v2_dir() else { return };
    let cases = [
        ("ws_mark_price_btc.json", PriceKind::Mark, "84058.473541750005", None, 312),
        (
            "ws_index_price_btc.json",
            PriceKind::Index,
            "84105.013533499994",
            EventTime::from_millis(1_790_425_443_000),
            314,
        ),
    ];
    for (file, kind, price, ts_price, seq) in cases {
        let frame = v2_data(&dir, file);
        let Payload::Price(prices) = frame.payload else { panic!("{file}: price payload") };
        assert_eq!(
            (prices.kind, prices.price.to_string(), prices.ts_price),
            (kind, price.into(), ts_price)
        );
        assert_eq!(frame.seq, seq);
    }
    let frame = v2_data(&dir, "ws_funding_rate_btc.json");
    assert_eq!((frame.seq, frame.topic.as_str()), (0, "funding-rates.BTC-USD"));
    let Payload::Funding(funding) = frame.payload else { panic!("funding payload") };
    assert_eq!(funding.rate.to_string(), "0.000013");
    // Its own connection starts at 0 (README): a fresh sequencer accepts it after the ack.
    let mut seq = RpcSequencer::new();
    seq.subscribed("funding-rates.BTC-USD");
    seq.check(0, "funding-rates.BTC-USD", None).unwrap();
}

fn book_frames(file: &str) -> Vec<BookUpdate> {
    own_fixture(file)
        .lines()
        .map(|line| match v1::parse_book(line) {
            Ok(Message::Data(update)) => update,
            other => panic!("{file}: {other:?}"),
        })
        .collect()
}

#[test]
fn v1_session_replays_into_the_expected_book() {
    let frames = book_frames("v1_book_session.jsonl");
    let mut seq = BookSequencer::new();
    let mut book = Book::new();
    for (n, update) in frames.iter().enumerate() {
        seq.check_frame(&update.frame).unwrap();
        let mismatches =
            update.change_mismatches(|s, price| book.get(s, price).unwrap_or(Qty::ZERO));
        assert_eq!(mismatches, vec![], "seq {}", update.frame.seq);
        book.apply(&update.frame).unwrap();
        if n == 3 {
            let bids = [
                ("84074", "0.00118"),
                ("84053", "2.99615"),
                ("84050", "0.71908"),
                ("84049", "0.8715"),
            ];
            let want: Vec<Level> = bids.iter().map(|(pr, sz)| Level::new(p(pr), q(sz))).collect();
            assert_eq!(book.top(BookSide::Bid, 10), want, "after seq 4");
            let asks =
                vec![Level::new(p("84078"), q("2.54894")), Level::new(p("84079"), q("2.17109"))];
            assert_eq!(book.top(BookSide::Ask, 10), asks, "after seq 4");
        }
    }
    assert!(frames[2].frame.is_empty(), "seq 3 is an empty delta");
    assert_eq!(seq.expected(), Some(7));
    assert_eq!(
        book.top(BookSide::Bid, 10),
        vec![Level::new(p("84060"), q("1")), Level::new(p("84059.5"), q("0.5"))]
    );
    assert_eq!(book.top(BookSide::Ask, 10), vec![Level::new(p("84061"), q("2"))]);
}

#[test]
fn v1_gap_and_protocol_errors_break_the_sequence() {
    let mut seq = BookSequencer::new();
    let verdicts: Vec<_> =
        book_frames("v1_book_gap.jsonl").iter().map(|u| seq.check_frame(&u.frame)).collect();
    assert_eq!(
        verdicts,
        vec![
            Ok(()),
            Ok(()),
            Err(Break { expected: 3, received: Some(4), reason: BreakReason::Gap })
        ]
    );

    let error = v1::parse_book(&own_fixture("v1_delta_without_c.json")).unwrap_err();
    assert_eq!(error, ParseError::DeltaWithoutNewSize { side: BookSide::Ask, price: p("84078") });
    let mut seq = BookSequencer::new();
    seq.check(1, FrameKind::Snapshot).unwrap();
    let b = seq.protocol_error(Some(2), error.clone());
    assert_eq!(b, Break { expected: 2, received: Some(2), reason: BreakReason::Protocol(error) });

    let envelope = own_fixture("v1_error_market_not_found.json");
    let want = VenueError { code: 1001, message: "Market not found".into() };
    assert_eq!(v1::parse_book(&envelope), Ok(Message::VenueError(want)));
}

#[test]
fn v1_trades_gap_is_reported_and_replay_overlap_detected() {
    let mut seq = TradesSequencer::new();
    let mut recorded = HashSet::new();
    let mut gaps = vec![];
    for line in own_fixture("v1_trades_session.jsonl").lines() {
        let Ok(Message::Data(frame)) = v1::parse_trades(line) else { panic!("{line}") };
        gaps.extend(seq.observe(frame.seq));
        recorded.extend(frame.trades.iter().map(|t| t.id));
    }
    assert_eq!(gaps, vec![TradesGap { expected: 3, received: 4 }]);
    assert!(recorded.contains(&2_103_821_900_219_158_529));

    let Ok(Message::Data(replay)) =
        v1::parse_trades(&own_fixture("v1_trades_replay_after_reconnect.json"))
    else {
        panic!("replay")
    };
    let ids: Vec<i64> = replay.trades.iter().map(|t| t.id).collect();
    let overlap = mdkit::venue::extended::seq::replay_overlap(&recorded, &ids);
    assert_eq!(overlap, ReplayOverlap::Overlaps { known: 2, new: 1 });
    assert!(!overlap.possible_gap());
    let kinds: Vec<_> = replay.trades.iter().map(|t| (t.side, t.kind)).collect();
    assert_eq!(
        kinds[..2],
        [(TakerSide::Buy, TradeKind::Liquidation), (TakerSide::Buy, TradeKind::Deleverage)]
    );
}

#[test]
fn v1_mark_price_is_typed() {
    let Ok(Message::Data(mark)) = v1::parse_prices(&own_fixture("v1_mark_price.json")) else {
        panic!("mark price")
    };
    assert_eq!(
        (mark.kind, mark.ts_price, mark.market.as_str()),
        (PriceKind::Mark, None, "BTC-USD")
    );
    assert_eq!(mark.price.to_string(), "84058.473541750005");
}
