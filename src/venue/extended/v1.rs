//! Extended v1 streams: one stream per connection, the URL is the subscription (docs/VENUES.md
//! §1.2), so each stream has its own entry point that classifies any text frame it can carry.
//!
//! Owns the v1 envelopes: book `{type, ts, seq, data}`, trades `{ts, seq, data:[…]}`,
//! prices `{type:"MP", ts, seq, data}`, and the error envelope, which is returned as a value.
//! Must not check sequence numbers (`seq`) or touch a book (`book`).

use super::fast;
use super::frames::{
    self, BookUpdate, FundingFrame, PriceFrame, PriceKind, TradesFrame, VenueError,
};
use super::json::{self, Obj, Path};
use super::ParseError;
use crate::model::FrameKind;

/// What a v1 frame turned out to be: the stream's data, or the venue's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<T> {
    Data(T),
    /// Record as an event and back off (docs/VENUES.md §1.5); not data.
    VenueError(VenueError),
}

pub type BookMessage = Message<BookUpdate>;
pub type TradesMessage = Message<TradesFrame>;
pub type PricesMessage = Message<PriceFrame>;
pub type FundingMessage = Message<FundingFrame>;

const BOOK_TYPES: &[&str] = &["SNAPSHOT", "DELTA"];
const PRICE_TYPES: &[&str] = &["MP", "IP"];

/// A frame of `/orderbooks/{market}` (with or without `?depth=1`), docs/VENUES.md §1.3.
///
/// `type` and `data.t` must agree; `data.d` must be `"f"` or `"1"`; DELTA levels need `c`.
/// An empty DELTA is a valid frame (a heartbeat that consumes a `seq`, rule 5).
pub fn parse_book(text: &str) -> Result<BookMessage, ParseError> {
    parse_book_reusing(text, None)
}

/// [`parse_book`], reading into `spare` (an update the caller is done with) so its vectors
/// are reused: the recorder hands back each frame's update for the next one.
pub fn parse_book_reusing(
    text: &str,
    spare: Option<BookUpdate>,
) -> Result<BookMessage, ParseError> {
    let mut update = spare.unwrap_or_else(fast::blank);
    match fast::book_into(text, &mut update) {
        Some(()) => Ok(Message::Data(update)),
        None => parse_book_general(text),
    }
}

/// [`parse_book`] through the JSON tree: every frame the fast path declines, and every
/// refusal with the field it names.
pub(super) fn parse_book_general(text: &str) -> Result<BookMessage, ParseError> {
    parse_frame(text, |root| {
        let envelope = root.str("type")?;
        let kind = match envelope {
            "SNAPSHOT" => FrameKind::Snapshot,
            "DELTA" => FrameKind::Delta,
            other => {
                return Err(ParseError::UnknownType {
                    text: other.to_owned(),
                    expected: BOOK_TYPES,
                })
            }
        };
        let (seq, ts_event) = (root.u64("seq")?, root.millis("ts")?);
        let data = root.obj("data", Path::Key("data"))?;
        frames::book_update(&data, envelope, kind, seq, ts_event)
    })
}

/// A frame of `/publicTrades/{market}`: `{ts, seq, data:[{i, m, S, tT, T, p, q}]}`
/// (docs/VENUES.md §1.4). The first frame of a connection replays the last 50 trades.
pub fn parse_trades(text: &str) -> Result<TradesMessage, ParseError> {
    parse_frame(text, |root| {
        // Trades frames carry no `type`; a frame with one is some other message.
        if let Some(kind) = root.get("type") {
            return Err(ParseError::UnknownType { text: kind.to_string(), expected: &["none"] });
        }
        let (seq, ts_event) = (root.u64("seq")?, root.millis("ts")?);
        frames::trades_frame(root, seq, ts_event)
    })
}

/// A frame of `/prices/mark/{market}` (`type` `MP`, docs/VENUES.md §1.5) or
/// `/prices/index/{market}` (`IP`, by analogy with v2's `PRICES.IP`; not documented for v1).
pub fn parse_prices(text: &str) -> Result<PricesMessage, ParseError> {
    parse_frame(text, |root| {
        let kind = match root.str("type")? {
            "MP" => PriceKind::Mark,
            "IP" => PriceKind::Index,
            other => {
                return Err(ParseError::UnknownType {
                    text: other.to_owned(),
                    expected: PRICE_TYPES,
                })
            }
        };
        let (seq, ts_event) = (root.u64("seq")?, root.millis("ts")?);
        let data = root.obj("data", Path::Key("data"))?;
        frames::price_frame(&data, kind, seq, ts_event)
    })
}

/// A frame of `/funding/{market}`: `{ts, seq, data:{m, f, T}}`. The v1 layout is inferred
/// from the v2 payload (docs/VENUES.md §2: v2 `data` is the v1 payload); `type`, if any, is not
/// checked because no v1 funding frame has been observed.
pub fn parse_funding(text: &str) -> Result<FundingMessage, ParseError> {
    parse_frame(text, |root| {
        let (seq, ts_event) = (root.u64("seq")?, root.millis("ts")?);
        let data = root.obj("data", Path::Key("data"))?;
        frames::funding_frame(&data, seq, ts_event)
    })
}

/// What every v1 stream shares: JSON text, then either the venue's error envelope (a value,
/// docs/VENUES.md §1.5) or the stream's own frame, read from the root object by `body`.
fn parse_frame<T>(
    text: &str,
    body: impl FnOnce(&Obj<'_>) -> Result<T, ParseError>,
) -> Result<Message<T>, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    if let Some(error) = frames::venue_error(&root)? {
        return Ok(Message::VenueError(error));
    }
    body(&root).map(Message::Data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Book;
    use crate::model::{BookSide, EventTime, Level, Price, Qty, TakerSide, TradeKind};
    use crate::venue::extended::seq::BookSequencer;
    use crate::venue::extended::{ChangeMismatch, Depth};

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn q(text: &str) -> Qty {
        Qty::parse(text).unwrap()
    }

    fn book_frame(text: &str) -> BookUpdate {
        match parse_book(text) {
            Ok(Message::Data(update)) => update,
            other => panic!("expected a book frame, got {other:?}"),
        }
    }

    const SNAPSHOT: &str = r#"{"type":"SNAPSHOT","ts":1790425441918,"seq":1,
        "data":{"t":"SNAPSHOT","m":"BTC-USD","d":"f",
        "b":[{"p":"84053","q":"3.04234"},{"p":"84050.000000","q":"0.81908"}],
        "a":[{"p":"84052.0","q":"1.0"},{"p":"84078","q":"2.81690"}]}}"#;

    const DELTA: &str = r#"{"type":"DELTA","ts":1790425441925,"seq":2,
        "data":{"t":"DELTA","m":"BTC-USD","d":"f",
        "b":[{"p":"84050","q":"-0.10000","c":"0.71908"},{"p":"84053","q":"-3.04234","c":"0"}],
        "a":[{"p":"84078","q":"-0.26796","c":"2.54894"}]}}"#;

    #[test]
    fn snapshot_and_delta_spellings_key_one_level() {
        let snapshot = book_frame(SNAPSHOT);
        let delta = book_frame(DELTA);
        assert_eq!(snapshot.frame.kind, FrameKind::Snapshot);
        assert_eq!(snapshot.frame.ts_event, EventTime::from_millis(1_790_425_441_918).unwrap());
        assert_eq!(snapshot.depth, Depth::Full);
        assert!(snapshot.bid_changes.is_empty());

        let mut book = Book::new();
        book.apply(&snapshot.frame).unwrap();
        assert!(delta.change_mismatches(|s, pr| book.get(s, pr).unwrap_or(Qty::ZERO)).is_empty());
        book.apply(&delta.frame).unwrap();
        // "84050.000000" in the snapshot and "84050" in the delta are one level.
        assert_eq!(book.depth(BookSide::Bid), 1);
        assert_eq!(book.best_bid(), Some(Level::new(p("84050"), q("0.71908"))));
        assert_eq!(book.get(BookSide::Ask, p("84052")), Some(q("1")));
        assert_eq!(book.get(BookSide::Ask, p("84078")), Some(q("2.54894")));
    }

    #[test]
    fn delta_applies_c_and_keeps_q_as_the_change() {
        let delta = book_frame(DELTA);
        assert_eq!(delta.frame.bids[0], Level::new(p("84050"), q("0.71908")));
        assert_eq!(delta.bid_changes, vec![q("-0.1"), q("-3.04234")]);
        assert_eq!(delta.changes(BookSide::Ask), &[q("-0.26796")]);
        // Against a book where 84050 held 5, `q` does not lead to `c`: reported, not hidden.
        let mismatches = delta.change_mismatches(|side, price| {
            if side == BookSide::Bid && price == p("84050") {
                q("5")
            } else {
                Qty::ZERO
            }
        });
        assert_eq!(
            mismatches[0],
            ChangeMismatch {
                side: BookSide::Bid,
                price: p("84050"),
                before: q("5"),
                change: q("-0.1"),
                after: q("0.71908"),
            }
        );
        assert_eq!(mismatches.len(), 3);
    }

    #[test]
    fn snapshot_uses_q_and_ignores_c() {
        let text = r#"{"type":"SNAPSHOT","ts":1,"seq":1,"data":{"t":"SNAPSHOT","m":"ETH-USD",
            "d":"1","b":[{"p":"10","q":"2","c":"99"}],"a":[{"p":"11","q":"3","c":"98"}]}}"#;
        let snap = book_frame(text);
        assert_eq!(snap.frame.bids, vec![Level::new(p("10"), q("2"))]);
        assert_eq!(snap.frame.asks, vec![Level::new(p("11"), q("3"))]);
        assert_eq!(snap.depth, Depth::Top);
        assert_eq!(snap.frame.market, "ETH-USD");
    }

    #[test]
    fn empty_delta_is_a_frame_that_consumes_a_seq() {
        let text = r#"{"type":"DELTA","ts":2,"seq":2,"data":{"t":"DELTA","m":"BTC-USD","d":"f","b":[],"a":[]}}"#;
        let empty = book_frame(text);
        assert!(empty.frame.is_empty());
        let mut seq = BookSequencer::new();
        seq.check(1, FrameKind::Snapshot).unwrap();
        seq.check_frame(&empty.frame).unwrap();
        assert_eq!(seq.expected(), Some(3));
    }

    #[test]
    fn mid_stream_snapshot_replaces_the_book() {
        let mut book = Book::new();
        book.apply(&book_frame(SNAPSHOT).frame).unwrap();
        book.apply(&book_frame(DELTA).frame).unwrap();
        let text = r#"{"type":"SNAPSHOT","ts":3,"seq":3,"data":{"t":"SNAPSHOT","m":"BTC-USD",
            "d":"f","b":[{"p":"84000","q":"1"}],"a":[{"p":"84100","q":"2"}]}}"#;
        let snap = book_frame(text);
        let mut seq = BookSequencer::new();
        for s in [1, 2] {
            seq.check(s, if s == 1 { FrameKind::Snapshot } else { FrameKind::Delta }).unwrap();
        }
        seq.check_frame(&snap.frame).unwrap();
        book.apply(&snap.frame).unwrap();
        assert_eq!(book.top(BookSide::Bid, 10), vec![Level::new(p("84000"), q("1"))]);
        assert_eq!(book.top(BookSide::Ask, 10), vec![Level::new(p("84100"), q("2"))]);
    }

    #[test]
    fn malformed_book_frames_name_the_defect() {
        let frame = |ty: &str, t: &str, d: &str, bids: &str| {
            format!(
                r#"{{"type":"{ty}","ts":5,"seq":9,"data":{{"t":"{t}","m":"BTC-USD","d":"{d}","b":[{bids}],"a":[]}}}}"#
            )
        };
        let cases: Vec<(&str, String, ParseError)> = vec![
            (
                "delta level without c",
                frame("DELTA", "DELTA", "f", r#"{"p":"84050.0","q":"1"}"#),
                ParseError::DeltaWithoutNewSize { side: BookSide::Bid, price: p("84050") },
            ),
            (
                "depth other than f or 1",
                frame("SNAPSHOT", "SNAPSHOT", "5", ""),
                ParseError::UnknownDepth { text: "5".into() },
            ),
            (
                "type disagrees with data.t",
                frame("DELTA", "SNAPSHOT", "f", ""),
                ParseError::TypeMismatch { envelope: "DELTA".into(), data: "SNAPSHOT".into() },
            ),
            (
                "unknown type",
                frame("MP", "SNAPSHOT", "f", ""),
                ParseError::UnknownType { text: "MP".into(), expected: BOOK_TYPES },
            ),
            (
                "bad decimal names field and text",
                frame("SNAPSHOT", "SNAPSHOT", "f", r#"{"p":"8e4","q":"1"}"#),
                ParseError::Decimal {
                    field: "data.b[0].p".into(),
                    text: "8e4".into(),
                    source: crate::model::DecimalError::Syntax { text: "8e4".into() },
                },
            ),
            (
                "negative absolute size",
                frame("DELTA", "DELTA", "f", r#"{"p":"1","q":"-3","c":"-1"}"#),
                ParseError::NegativeSize { side: BookSide::Bid, price: p("1"), qty: q("-1") },
            ),
            (
                "missing seq",
                r#"{"type":"DELTA","ts":5,"data":{}}"#.to_owned(),
                ParseError::MissingField { field: "seq".into() },
            ),
            (
                "levels not an array",
                r#"{"type":"DELTA","ts":5,"seq":1,"data":{"t":"DELTA","m":"X","d":"f","b":{}}}"#
                    .to_owned(),
                ParseError::InvalidField {
                    field: "data.b".into(),
                    expected: "an array",
                    found: "an object".into(),
                },
            ),
        ];
        for (scenario, text, want) in cases {
            assert_eq!(parse_book(&text), Err(want), "{scenario}");
        }
        assert!(matches!(parse_book("{\"type\":"), Err(ParseError::Json { .. })));
    }

    #[test]
    fn error_envelope_is_a_typed_venue_error_on_every_stream() {
        let text = r#"{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}"#;
        let want = VenueError { code: 1001, message: "Market not found".into() };
        assert_eq!(parse_book(text), Ok(Message::VenueError(want.clone())));
        assert_eq!(parse_trades(text), Ok(Message::VenueError(want.clone())));
        assert_eq!(parse_prices(text), Ok(Message::VenueError(want.clone())));
        assert_eq!(parse_funding(text), Ok(Message::VenueError(want.clone())));
        assert_eq!(want.to_string(), "Extended error 1001: Market not found");
    }

    #[test]
    fn trades_keep_big_ids_exact_and_map_side_and_kind() {
        let text = r#"{"ts":1790425441918,"seq":1,"data":[
            {"i":2103821900219158529,"m":"BTC-USD","S":"SELL","tT":"TRADE","T":1790425202790,"p":"84118","q":"0.00237"},
            {"i":2103821900219158530,"m":"ETH-USD","S":"BUY","tT":"LIQUIDATION","T":1790425202791,"p":"3000.50","q":"1"},
            {"i":2103821900219158531,"m":"BTC-USD","S":"BUY","tT":"DELEVERAGE","T":1790425202792,"p":"84119","q":"0.1"}]}"#;
        let Ok(Message::Data(frame)) = parse_trades(text) else { panic!("trades frame") };
        assert_eq!(frame.seq, 1);
        let t = &frame.trades;
        assert_eq!(t[0].id, 2_103_821_900_219_158_529);
        assert_eq!((t[0].side, t[0].kind), (TakerSide::Sell, TradeKind::Trade));
        assert_eq!(t[0].ts_event, EventTime::from_millis(1_790_425_202_790).unwrap());
        assert_eq!(
            (t[1].side, t[1].kind, t[1].market.as_str()),
            (TakerSide::Buy, TradeKind::Liquidation, "ETH-USD")
        );
        assert_eq!(t[1].price, p("3000.5"));
        assert_eq!(t[2].kind, TradeKind::Deleverage);

        let empty = parse_trades(r#"{"ts":1,"seq":1,"data":[]}"#);
        assert!(
            matches!(empty, Ok(Message::Data(TradesFrame { ref trades, .. })) if trades.is_empty())
        );
    }

    #[test]
    fn bad_trades_are_refused_with_the_field() {
        let trade = |i: &str, side: &str| {
            format!(
                r#"{{"ts":1,"seq":1,"data":[{{"i":{i},"m":"BTC-USD","S":"{side}","tT":"TRADE","T":1,"p":"1","q":"1"}}]}}"#
            )
        };
        assert_eq!(
            parse_trades(&trade("9223372036854775808", "BUY")),
            Err(ParseError::IdOutOfRange {
                field: "data[0].i".into(),
                text: "9223372036854775808".into()
            })
        );
        assert_eq!(
            parse_trades(&trade("7", "buy")),
            Err(ParseError::UnknownValue {
                field: "data[0].S".into(),
                text: "buy".into(),
                expected: vec!["BUY", "SELL"],
            })
        );
    }

    #[test]
    fn mark_price_with_zero_data_ts_is_accepted() {
        let text = r#"{"type":"MP","ts":1790425443253,"seq":4,"data":{"m":"BTC-USD","p":"84058.473541750005","ts":0}}"#;
        let Ok(Message::Data(mark)) = parse_prices(text) else { panic!("price frame") };
        assert_eq!(mark.kind, PriceKind::Mark);
        assert_eq!(mark.price.to_string(), "84058.473541750005");
        assert_eq!(mark.ts_price, None);
        assert_eq!(mark.seq, 4);
    }

    #[test]
    fn funding_frame_is_typed() {
        let text = r#"{"ts":1790426050286,"seq":1,"data":{"m":"BTC-USD","f":"0.000013","T":1790426050286}}"#;
        let Ok(Message::Data(funding)) = parse_funding(text) else { panic!("funding frame") };
        assert_eq!(funding.rate.to_string(), "0.000013");
        assert_eq!(funding.ts_rate, EventTime::from_millis(1_790_426_050_286).unwrap());
    }

    /// Test-only encoder: a level as the venue might spell it (`"84050"`, `"84050.0"`,
    /// `"84050.000000"`; sizes with trailing zeros).
    mod encode {
        use crate::model::{Price, Qty};

        pub fn price(price: Price, spelling: u8) -> String {
            let text = price.to_string();
            match (spelling % 3, text.contains('.')) {
                (0, _) => text,
                (1, true) => format!("{text}0"),
                (1, false) => format!("{text}.0"),
                (_, true) => format!("{text}00"),
                (_, false) => format!("{text}.000000"),
            }
        }

        pub fn qty(qty: Qty, spelling: u8) -> String {
            let text = qty.to_string();
            match (spelling / 3 % 2, text.contains('.')) {
                (0, _) => text,
                (_, true) => format!("{text}0"),
                (_, false) => format!("{text}.00000"),
            }
        }

        /// `levels`: (price, absolute size, signed change, spelling). A snapshot writes
        /// `q` = size (and a stray `c` on odd spellings, which must be ignored); a delta
        /// writes `q` = change and `c` = size.
        pub fn book(
            seq: u64,
            snapshot: bool,
            bids: &[(Price, Qty, Qty, u8)],
            asks: &[(Price, Qty, Qty, u8)],
        ) -> String {
            let t = if snapshot { "SNAPSHOT" } else { "DELTA" };
            let side = |levels: &[(Price, Qty, Qty, u8)]| {
                let items: Vec<String> = levels
                    .iter()
                    .map(|(p, size, change, sp)| {
                        let (p, size_text) = (price(*p, *sp), qty(*size, *sp));
                        if snapshot && sp % 2 == 1 {
                            format!(r#"{{"q":"{size_text}","p":"{p}","c":"123"}}"#)
                        } else if snapshot {
                            format!(r#"{{"q":"{size_text}","p":"{p}"}}"#)
                        } else {
                            format!(
                                r#"{{"q":"{}","p":"{p}","c":"{size_text}"}}"#,
                                qty(*change, *sp)
                            )
                        }
                    })
                    .collect();
                items.join(",")
            };
            format!(
                r#"{{"type":"{t}","ts":{},"seq":{seq},"data":{{"t":"{t}","m":"BTC-USD","b":[{}],"a":[{}],"d":"f"}}}}"#,
                1_790_000_000_000u64 + seq * 100,
                side(bids),
                side(asks)
            )
        }
    }

    mod property {
        use super::super::*;
        use super::encode;
        use crate::book::Book;
        use crate::model::{BookFrame, BookSide, EventTime, Level, Price, Qty, UNIT};
        use crate::venue::extended::seq::BookSequencer;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        /// One step: a snapshot (whole book) or a delta (new absolute sizes, 0 removes),
        /// keyed by (is_bid, price in whole units); value = (size raw, spelling).
        #[derive(Debug, Clone)]
        enum Step {
            Snapshot(BTreeMap<(bool, i64), (i64, u8)>),
            Delta(BTreeMap<(bool, i64), (i64, u8)>),
        }

        fn level_key() -> impl Strategy<Value = (bool, i64)> {
            any::<bool>().prop_flat_map(|bid| {
                let prices = if bid { 84_000i64..84_020 } else { 84_020i64..84_040 };
                prices.prop_map(move |p| (bid, p))
            })
        }

        fn snapshot() -> impl Strategy<Value = Step> {
            prop::collection::btree_map(level_key(), (1i64..2_000_000_000, 0u8..6), 0..12)
                .prop_map(Step::Snapshot)
        }

        fn delta() -> impl Strategy<Value = Step> {
            let size = prop_oneof![Just(0i64), 1i64..2_000_000_000];
            // 0..6 entries: an empty delta is a valid heartbeat frame.
            prop::collection::btree_map(level_key(), (size, 0u8..6), 0..6).prop_map(Step::Delta)
        }

        fn steps() -> impl Strategy<Value = (Step, Vec<Step>)> {
            (snapshot(), prop::collection::vec(prop_oneof![8 => delta(), 1 => snapshot()], 0..25))
        }

        type Wire = Vec<(Price, Qty, Qty, u8)>;

        /// The typed frame and the wire levels for one step, given the book before it.
        fn build(step: &Step, seq: u64, before: &Book) -> (BookFrame, bool, Wire, Wire) {
            let (snapshot, levels) = match step {
                Step::Snapshot(levels) => (true, levels),
                Step::Delta(levels) => (false, levels),
            };
            let mut frame = BookFrame {
                market: "BTC-USD".into(),
                kind: if snapshot { FrameKind::Snapshot } else { FrameKind::Delta },
                seq,
                ts_event: EventTime::from_millis(1_790_000_000_000 + seq as i64 * 100).unwrap(),
                bids: vec![],
                asks: vec![],
            };
            let (mut bids, mut asks) = (Wire::new(), Wire::new());
            // Snapshot bids best (highest) first, asks ascending, as the venue sends them.
            let ordered: Vec<_> = levels
                .iter()
                .filter(|((bid, _), _)| *bid)
                .rev()
                .chain(levels.iter().filter(|((bid, _), _)| !*bid))
                .collect();
            for ((bid, units), (raw, spelling)) in ordered {
                let side = if *bid { BookSide::Bid } else { BookSide::Ask };
                let (price, size) = (Price::from_raw(units * UNIT), Qty::from_raw(*raw));
                let old = before.get(side, price).unwrap_or(Qty::ZERO);
                let change = size.checked_sub(old).unwrap();
                let (typed, wire) =
                    if *bid { (&mut frame.bids, &mut bids) } else { (&mut frame.asks, &mut asks) };
                typed.push(Level::new(price, size));
                wire.push((price, size, change, *spelling));
            }
            (frame, snapshot, bids, asks)
        }

        proptest! {
            #[test]
            fn parsed_text_builds_the_same_book_as_typed_changes((first, rest) in steps()) {
                let mut via_text = Book::new();
                let mut direct = Book::new();
                let mut sequencer = BookSequencer::new();
                for (index, step) in std::iter::once(&first).chain(&rest).enumerate() {
                    let seq = index as u64 + 1;
                    let (typed, snapshot, bids, asks) = build(step, seq, &direct);
                    let text = encode::book(seq, snapshot, &bids, &asks);
                    let Ok(Message::Data(update)) = parse_book(&text) else {
                        return Err(TestCaseError::fail(format!("not parsed: {text}")));
                    };
                    prop_assert_eq!(&update.frame, &typed, "{}", text);
                    // old + q == c on every delta level of the parsed frame.
                    let mismatches = update.change_mismatches(|side, price| {
                        via_text.get(side, price).unwrap_or(Qty::ZERO)
                    });
                    prop_assert!(mismatches.is_empty(), "{:?}", mismatches);
                    prop_assert!(sequencer.check_frame(&update.frame).is_ok());
                    via_text.apply(&update.frame).unwrap();
                    direct.apply(&typed).unwrap();
                    prop_assert_eq!(&via_text, &direct);
                }
            }
        }
    }
}
