//! The fast path against the general parser: whatever it returns, the general parser returns
//! too, and the frames the venue sends do take it.

use proptest::prelude::*;

use super::book;
use crate::venue::extended::v1::{parse_book, parse_book_general, parse_book_reusing, Message};

/// The fast path's answer, checked against the general parser's.
fn agrees(text: &str) -> bool {
    match book(text) {
        Some(update) => {
            assert_eq!(parse_book_general(text), Ok(Message::Data(update)), "{text}");
            true
        }
        None => false,
    }
}

#[test]
fn frames_in_the_venues_shape_take_the_fast_path_and_equal_the_general_parse() {
    let frames = [
        r#"{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"BTC-USD","b":[{"p":"84050.000000","q":"0.00020"},{"p":"84049","q":"1"}],"a":[{"p":"84052.0","q":"3.5"}],"d":"f"},"ts":1754550000123,"seq":1}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"BTC-USD","b":[{"p":"84050","q":"-0.0002","c":"0"}],"a":[{"p":"84053","q":"0.5","c":"0.5"}],"d":"f"},"ts":1754550000223,"seq":2}"#,
        // An empty delta (a heartbeat), a best-bid-and-ask snapshot, whitespace.
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"ETH-USD","b":[],"a":[],"d":"f"},"ts":1754550000323,"seq":3}"#,
        r#"{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":[{"p":"3000.1","q":"2"}],"a":[{"p":"3000.2","q":"1"}],"d":"1"},"ts":0,"seq":9}"#,
        "{ \"type\" : \"DELTA\" ,\n \"data\" : { \"d\":\"f\", \"a\" : [ ], \"b\":[ {\"c\":\"1\",\"q\":\"1\",\"p\":\".5\"} ], \"m\":\"X\", \"t\":\"DELTA\" } ,\"seq\":4 , \"ts\":5 }\n",
        // A snapshot with `c` (the docs' example): ignored.
        r#"{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":[{"p":"1","q":"2","c":"oops"}],"a":[],"d":"f"},"seq":1,"ts":7}"#,
    ];
    for text in frames {
        assert!(agrees(text), "not taken: {text}");
    }
}

#[test]
fn frames_outside_the_shape_are_left_to_the_general_parser() {
    let frames = [
        r#"{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}"#,
        // `data` before `type`, an escape, a null, an unknown key, a repeated key.
        r#"{"data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f"},"type":"DELTA","ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X\u002dY","b":[],"a":[],"d":"f"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":null,"a":[],"d":"f"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f","x":1},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f"},"ts":1,"seq":2}"#,
        // Refusals: a DELTA level without `c`, a negative size, a mismatched `t`, a bad `d`,
        // a fractional `ts`, trailing text, a missing `seq`.
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[{"p":"1","q":"1"}],"a":[],"d":"f"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[{"p":"1","q":"1","c":"-1"}],"a":[],"d":"f"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"SNAPSHOT","m":"X","b":[],"a":[],"d":"f"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"2"},"ts":1,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f"},"ts":1.0,"seq":2}"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f"},"ts":1,"seq":2}x"#,
        r#"{"type":"DELTA","data":{"t":"DELTA","m":"X","b":[],"a":[],"d":"f"},"ts":1}"#,
    ];
    for text in frames {
        assert!(!agrees(text), "taken: {text}");
    }
}

const GOOD_DECIMALS: &[&str] =
    &["84050.000000", "84050", "84052.0", ".5", "0", "0.00020", "3000.17", "-0.001"];
const BAD_DECIMALS: &[&str] =
    &["1e3", "", "1.2.3", "0.0000000000001", "+1", "123456789012345678901"];
const GOOD_INTEGERS: &[&str] = &["1795132800000", "0", "7", "9223372036854775"];
const BAD_INTEGERS: &[&str] =
    &["-5", "1.5", "01", "1e3", "18446744073709551615", "99999999999999999999", "null"];

/// Mostly a good value, sometimes a bad one: a frame is only worth generating if most of it
/// is valid, or the fast path is never reached.
fn pick(
    good: &'static [&'static str],
    bad: &'static [&'static str],
    odd: u32,
) -> BoxedStrategy<&'static str> {
    if odd == 0 {
        return prop::sample::select(good).boxed();
    }
    prop_oneof![32 - odd => prop::sample::select(good), odd => prop::sample::select(bad)].boxed()
}

/// One level, its keys in a chosen order, `c` usually there.
fn level(odd: u32) -> impl Strategy<Value = String> {
    let decimal = move || pick(GOOD_DECIMALS, BAD_DECIMALS, odd);
    (decimal(), decimal(), prop::option::weighted(0.9, decimal()), any::<bool>()).prop_map(
        |(p, q, c, flip)| {
            let mut fields = vec![format!(r#""p":"{p}""#), format!(r#""q":"{q}""#)];
            if let Some(c) = c {
                fields.push(format!(r#""c":"{c}""#));
            }
            if flip {
                fields.reverse();
            }
            format!("{{{}}}", fields.join(","))
        },
    )
}

/// A book frame assembled from good parts and (`odd` in 32 of the time) bad ones, keys in
/// any order; with `odd` 0, `type` comes before `data` as the venue sends it.
fn frame(odd: u32) -> impl Strategy<Value = String> {
    let kind = move || pick(&["SNAPSHOT", "DELTA"], &["MP", "delta"], odd);
    let levels =
        move || prop::collection::vec(level(odd), 0..4).prop_map(|l| format!("[{}]", l.join(",")));
    let data = (
        kind(),
        pick(&["ETH-USD", "BTC-USD"], &["X\\\"Y", "\\u0041"], odd),
        levels(),
        levels(),
        pick(&["f", "1"], &["x"], odd),
        any::<u64>(),
    );
    let integer = move || pick(GOOD_INTEGERS, BAD_INTEGERS, odd);
    (kind(), any::<bool>(), data, integer(), integer(), any::<u64>(), any::<bool>()).prop_map(
        move |(kind, same, (t, m, b, a, d, data_order), ts, seq, order, spaced)| {
            let t = if same { kind } else { t };
            let data = [
                format!(r#""t":"{t}""#),
                format!(r#""m":"{m}""#),
                format!(r#""b":{b}"#),
                format!(r#""a":{a}"#),
                format!(r#""d":"{d}""#),
            ];
            let data = format!("{{{}}}", shuffled(&data, data_order).join(","));
            let fields = [
                format!(r#""type":"{kind}""#),
                format!(r#""data":{data}"#),
                format!(r#""ts":{ts}"#),
                format!(r#""seq":{seq}"#),
            ];
            let fields = if odd == 0 { fields.to_vec() } else { shuffled(&fields, order) };
            let text = format!("{{{}}}", fields.join(","));
            if spaced {
                text.replace(':', " : ").replace(',', ",\n ")
            } else {
                text
            }
        },
    )
}

/// `fields` permuted by the digits of `order`.
fn shuffled(fields: &[String], mut order: u64) -> Vec<String> {
    let mut out = fields.to_vec();
    for i in (1..out.len()).rev() {
        out.swap(i, (order % (i as u64 + 1)) as usize);
        order /= i as u64 + 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn whatever_the_fast_path_returns_the_general_parser_returns(text in frame(3)) {
        agrees(&text);
    }

    /// Well-formed frames in the venue's shape: the fast path reads exactly those the general
    /// parser accepts (a negative size or a DELTA level without `c` is refused by both).
    #[test]
    fn in_the_venues_shape_the_fast_path_refuses_only_what_the_general_parser_refuses(
        text in frame(0),
    ) {
        prop_assert_eq!(agrees(&text), parse_book_general(&text).is_ok(), "{}", text);
    }

    /// A recorder reads every frame into the last one's update: nothing of an earlier frame
    /// may show in a later one.
    #[test]
    fn a_reused_update_reads_each_frame_as_a_fresh_one(
        texts in prop::collection::vec(prop_oneof![frame(0), frame(3)], 1..8),
    ) {
        let mut spare = None;
        for text in &texts {
            let got = parse_book_reusing(text, spare.take());
            prop_assert_eq!(&got, &parse_book(text), "{}", text);
            if let Ok(Message::Data(update)) = got {
                spare = Some(update);
            }
        }
    }

    #[test]
    fn an_edited_frame_is_read_the_same_by_both_or_left_to_the_general_parser(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(
            &b"{}[]\",:0123456789.-e \\naptqcdfSNAPHOTDELbm"[..]
        )), 1..4),
    ) {
        let mut bytes = br#"{"type":"DELTA","data":{"t":"DELTA","m":"ETH-USD","b":[{"p":"2999.99","q":"0.001","c":"1.5"}],"a":[{"p":"3000.01","q":"-0.5","c":"0"}],"d":"f"},"ts":1795132800100,"seq":2}"#.to_vec();
        assert!(agrees(std::str::from_utf8(&bytes).expect("ascii")));
        for (at, op, byte) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        agrees(std::str::from_utf8(&bytes).expect("edits are ASCII"));
    }
}
