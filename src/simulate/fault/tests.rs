//! The fault grammar, the injector's frame sequences and the bad-frame rotation.

use super::*;

/// Runs `n` frames whose text is their seq through an injector.
fn run(spec: &str, n: u64) -> Vec<String> {
    let fault: Fault = spec.parse().unwrap();
    let mut inj = Injector::new(vec![fault.kind], 1);
    let mut sent = Vec::new();
    for _ in 0..n {
        let (frame, seq) = inj.next_frame();
        for out in inj.emit(frame, format!("{{\"seq\":{seq}}}"), 0, "ETH-USD") {
            match out {
                Out::Text(t) => sent.push(t),
                Out::Bad(_) => sent.push("B".into()),
                Out::Disconnect => sent.push("X".into()),
            }
        }
    }
    sent
}

fn seqs(sent: &[String]) -> String {
    sent.iter()
        .map(|t| t.trim_start_matches("{\"seq\":").trim_end_matches('}').to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn each_kind_changes_the_sequence_as_documented() {
    let cases = [
        ("skip=3", "1,2,4,5,6"),
        ("duplicate=2", "1,2,2,3,4,5"),
        ("swap=2", "1,3,2,4,5"),
        ("disconnect=3", "1,2,3,X,4,5"),
        ("stall=2", "1,2"),
        ("burst=2:3", "1,2,3,4,5"),
    ];
    for (spec, want) in cases {
        assert_eq!(seqs(&run(spec, 5)), want, "{spec}");
    }
    let malformed = run("malformed=2", 3);
    assert!(serde_json::from_str::<serde_json::Value>(&malformed[1]).is_err());
    assert_eq!(malformed[2], "{\"seq\":3}");
}

#[test]
fn burst_holds_until_the_last_frame() {
    let mut inj = Injector::new(vec![FaultKind::Burst { from: 2, count: 3 }], 1);
    let sizes: Vec<usize> = (0..5)
        .map(|_| {
            let (frame, seq) = inj.next_frame();
            inj.emit(frame, seq.to_string(), 0, "ETH-USD").len()
        })
        .collect();
    assert_eq!(sizes, [1, 0, 0, 3, 1]);
}

#[test]
fn grammar_round_trips_and_refuses_bad_specs() {
    for spec in ["skip=5@2", "burst=3:10@1", "stall=1@7", "skip=4@book:2", "stall=9@trades:1"] {
        assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
    }
    assert_eq!("skip=5".parse::<Fault>().unwrap().conn, Some(1));
    for bad in [
        "skip",
        "skip=0",
        "skip=x",
        "explode=3",
        "burst=3",
        "skip=2@0",
        "skip=2@x",
        "skip=2@candles:1",
    ] {
        assert!(bad.parse::<Fault>().is_err(), "{bad}");
    }
}

#[test]
fn a_stream_qualified_fault_counts_only_that_streams_connections() {
    let plan = FaultPlan { faults: vec!["skip=1@book:2".parse().unwrap()] };
    let skips = |conn, stream, of_stream| {
        let mut inj = plan.injector(conn, stream, of_stream, 1);
        inj.next_frame().1
    };
    // The second book connection, which is the third socket overall.
    assert_eq!(skips(3, FaultStream::Book, 2), 2);
    assert_eq!(skips(2, FaultStream::Trades, 2), 1);
    assert_eq!(skips(2, FaultStream::Book, 1), 1);
}

// ---- bad=K ----

use crate::model::{EventTime, FrameKind, Level, Price, Qty, TakerSide, Trade, TradeKind};
use crate::simulate::market::Change;
use crate::simulate::wire::{self, Format};
use crate::simulate::{bad, binance_wire};
use crate::venue::binance::Kind;

fn level(p: &str, q: &str) -> Level {
    Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
}

fn change(p: &str, q: &str) -> Change {
    let size = Qty::parse(q).unwrap();
    Change { price: Price::parse(p).unwrap(), change: size, size }
}

fn trade(id: i64) -> Trade {
    Trade {
        market: "ETH-USD".into(),
        id,
        side: TakerSide::Sell,
        kind: TradeKind::Trade,
        ts_event: EventTime::from_millis(1_767_225_600_050).unwrap(),
        price: Price::parse("3000.5").unwrap(),
        qty: Qty::parse("0.25").unwrap(),
    }
}

const TS: i64 = 1_767_225_600_100;

/// One real frame of every shape each protocol sends, with its sequence number 12.
fn real_frames() -> Vec<(&'static str, String)> {
    let f = Format::new(Price::parse("0.01").unwrap(), Qty::parse("0.001").unwrap());
    let snap = wire::snapshot_data(
        "ETH-USD",
        f,
        [level("3000.5", "1.5")].into_iter(),
        [level("3000.6", "2")].into_iter(),
        "f",
    );
    let delta = wire::delta_data(
        "ETH-USD",
        f,
        &[Change { size: Qty::ZERO, ..change("3000.4", "-0.5") }],
        &[change("3000.7", "1")],
    );
    let empty_delta = wire::delta_data("ETH-USD", f, &[], &[]);
    let trades = wire::trades_data(f, [trade(5), trade(6)].iter());
    let no_trades = wire::trades_data(f, std::iter::empty());
    let mut frames = vec![
        ("v1 snapshot", wire::v1_book(FrameKind::Snapshot, &snap, TS, 12)),
        ("v1 delta", wire::v1_book(FrameKind::Delta, &delta, TS, 12)),
        ("v1 empty delta", wire::v1_book(FrameKind::Delta, &empty_delta, TS, 12)),
        ("v1 trades", wire::v1_trades(&trades, TS, 12)),
        ("v1 empty trades", wire::v1_trades(&no_trades, TS, 12)),
        ("v2 delta", wire::v2_data("ORDERBOOKS.DELTA", &delta, TS, 12, "orderbooks.ETH-USD")),
        ("v2 trades", wire::v2_data("TRADES", &trades, TS, 12, "trades.ETH-USD")),
    ];
    // Binance: step 12 ends at update id BASE + 36; the trade id is 12.
    for (kind, name) in [(Kind::Spot, "spot"), (Kind::UsdM, "usdm"), (Kind::CoinM, "coinm")] {
        let (bids, asks) = ([change("3000.5", "1")], [change("3000.6", "0")]);
        let d = binance_wire::diff(kind, "ethusdt@depth@100ms", "ETHUSDT", 12, TS, &bids, &asks);
        frames.push((name, d));
        let e = binance_wire::diff(kind, "ethusdt@depth@100ms", "ETHUSDT", 12, TS, &[], &[]);
        frames.push((name, e));
        let t = binance_wire::trade(kind, "ethusdt@trade", "ETHUSDT", TS, &trade(12));
        frames.push((name, t));
    }
    frames
}

fn market_of(text: &str) -> &'static str {
    if text.starts_with("{\"stream\"") {
        "ETHUSDT"
    } else {
        "ETH-USD"
    }
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok()
}

#[test]
fn bad_grammar_parses_round_trips_and_refuses_bad_specs() {
    let every: Fault = "bad=10".parse().unwrap();
    assert_eq!(every.kind, FaultKind::Bad(BadSpec { every: 10, kinds: KindSet::ALL }));
    assert_eq!((every.conn, every.stream), (None, None), "no @: every connection");
    let two: Fault = "bad=5:negative-price+not-json".parse().unwrap();
    let FaultKind::Bad(spec) = two.kind else { panic!("{two:?}") };
    assert_eq!(spec.kinds.kinds(), [BadKind::NegativePrice, BadKind::NotJson]);
    assert_eq!(spec.every, 5);
    for spec in ["bad=10", "bad=5:negative-price+not-json", "bad=3@2", "bad=7:binary@book:1"] {
        assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
    }
    // The rotation order is fixed, whatever order the kinds are given in.
    let swapped: Fault = "bad=5:not-json+negative-price".parse().unwrap();
    assert_eq!(swapped.to_string(), "bad=5:negative-price+not-json");
    assert_eq!("bad=3@2".parse::<Fault>().unwrap().conn, Some(2));
    for bad in [
        "bad",
        "bad=",
        "bad=0",
        "bad=x",
        "bad=5:",
        "bad=5:purple",
        "bad=5:negative-price+",
        "bad=5:negative-price,not-json",
        "bad=5@0",
        "bad=5@candles:1",
    ] {
        assert!(bad.parse::<Fault>().is_err(), "{bad}");
    }
    // Every name parses back to its kind.
    for kind in BadKind::ALL {
        let spec = format!("bad=1:{kind}");
        let FaultKind::Bad(parsed) = spec.parse::<Fault>().unwrap().kind else { panic!() };
        assert_eq!(parsed.kinds.kinds(), [kind], "{spec}");
    }
}

#[test]
fn bad_without_at_reaches_every_connection_and_with_at_only_one() {
    let plan = FaultPlan { faults: vec!["bad=2".parse().unwrap()] };
    assert!(plan.sends_bad_frames());
    let aimed = FaultPlan { faults: vec!["bad=2@trades:2".parse().unwrap()] };
    let sends = |plan: &FaultPlan, conn, stream, of_stream| {
        let mut inj = plan.injector(conn, stream, of_stream, 1);
        let (f1, _) = inj.next_frame();
        let _ = inj.emit(f1, "{\"seq\":1}".into(), 0, "ETH-USD");
        let (f2, _) = inj.next_frame();
        inj.emit(f2, "{\"seq\":2}".into(), 0, "ETH-USD").len() == 2
    };
    for (conn, stream, of) in
        [(1, FaultStream::Book, 1), (2, FaultStream::Trades, 1), (7, FaultStream::Rpc, 3)]
    {
        assert!(sends(&plan, conn, stream, of));
        assert!(!sends(&aimed, conn, stream, of));
    }
    assert!(sends(&aimed, 4, FaultStream::Trades, 2));
}

/// Runs `n` Extended v1 book frames through an injector with `spec`; returns what was
/// sent as (bad kind or None for a real frame, the frame's seq as it spells it).
fn run_bad(spec: &str, n: u64) -> Vec<(Option<BadKind>, Option<u64>, u64)> {
    let fault: Fault = spec.parse().unwrap();
    let mut inj = Injector::new(vec![fault.kind], 1);
    let f = Format::new(Price::parse("0.01").unwrap(), Qty::parse("0.001").unwrap());
    let delta = wire::delta_data("ETH-USD", f, &[change("3000.5", "1")], &[]);
    let mut sent = Vec::new();
    for _ in 0..n {
        let (frame, seq) = inj.next_frame();
        let text = wire::v1_book(FrameKind::Delta, &delta, TS + seq as i64, seq);
        for out in inj.emit(frame, text, 0, "ETH-USD") {
            match out {
                Out::Text(t) => sent.push((None, bad::seq_of(&t), frame)),
                Out::Bad(b) => {
                    assert_eq!(b.frame, frame);
                    assert_eq!(b.ts, Some(TS + seq as i64), "ts of the real frame");
                    sent.push((Some(b.kind), b.seq, frame))
                }
                Out::Disconnect => panic!("no disconnect"),
            }
        }
    }
    sent
}

#[test]
fn bad_frames_come_before_every_kth_frame_with_its_seq_in_fixed_rotation() {
    let k = 3;
    let n = 3 * 40;
    let sent = run_bad("bad=3", n);
    // The real frames are untouched and contiguous: no seq is consumed by a bad frame.
    let real: Vec<u64> = sent.iter().filter(|s| s.0.is_none()).map(|s| s.1.unwrap()).collect();
    assert_eq!(real, (1..=n).collect::<Vec<_>>());
    let mut kinds = Vec::new();
    for (i, (kind, seq, frame)) in sent.iter().enumerate() {
        let Some(kind) = kind else { continue };
        assert_eq!(frame % k, 0, "bad frame before frame {frame}");
        // The frame right after it is the real one, and any seq it spells is that one's.
        let next = &sent[i + 1];
        assert_eq!((next.0, next.2), (None, *frame));
        if let Some(seq) = seq {
            assert_eq!(Some(*seq), next.1, "{kind}");
        }
        kinds.push(*kind);
    }
    assert_eq!(kinds.len() as u64, n / k, "one bad frame per K real frames");
    // The first turn is every kind in order; later turns pass over `oversized`.
    assert_eq!(kinds[..17], BadKind::ALL);
    let again: Vec<BadKind> =
        BadKind::ALL.into_iter().filter(|k| *k != BadKind::Oversized).collect();
    assert_eq!(kinds[17..33], again[..]);
    assert_eq!(kinds.iter().filter(|k| **k == BadKind::Oversized).count(), 1);
    // Kinds that leave the seq field alone carry it; the others do not.
    let carried = |kind: BadKind| sent.iter().find(|s| s.0 == Some(kind)).unwrap().1;
    for kind in BadKind::ALL {
        let lost = matches!(
            kind,
            BadKind::IdRange
                | BadKind::WrongType
                | BadKind::MissingField
                | BadKind::NotJson
                | BadKind::Binary
                | BadKind::DeepNesting
        );
        assert_eq!(carried(kind).is_none(), lost, "{kind}");
    }
}

#[test]
fn a_chosen_list_rotates_in_fixed_order_and_oversized_alone_goes_once() {
    let kinds: Vec<_> =
        run_bad("bad=2:not-json+negative-price", 12).into_iter().filter_map(|s| s.0).collect();
    assert_eq!(
        kinds,
        [BadKind::NegativePrice, BadKind::NotJson].repeat(3),
        "six bad frames in 12 real ones, in the fixed order"
    );
    let once: Vec<_> = run_bad("bad=1:oversized", 5).into_iter().filter_map(|s| s.0).collect();
    assert_eq!(once, [BadKind::Oversized]);
}

#[test]
fn bad_frames_travel_with_their_real_frame_through_swaps() {
    let plan = FaultPlan { faults: vec!["bad=2".parse().unwrap(), "swap=2".parse().unwrap()] };
    let mut inj = plan.injector(1, FaultStream::Book, 1, 1);
    let mut order = Vec::new();
    for _ in 0..3 {
        let (frame, seq) = inj.next_frame();
        for out in inj.emit(frame, format!("{{\"seq\":{seq}}}"), 0, "ETH-USD") {
            order.push(match out {
                Out::Text(t) => t,
                Out::Bad(_) => "bad".into(),
                Out::Disconnect => "X".into(),
            });
        }
    }
    assert_eq!(order, ["{\"seq\":1}", "{\"seq\":3}", "bad", "{\"seq\":2}"]);
}

#[test]
fn every_kind_differs_from_the_real_frame_on_every_protocol_as_it_says() {
    for (shape, real) in real_frames() {
        assert!(is_json(&real), "{shape}: {real}");
        let real_seq = bad::seq_of(&real);
        assert!(real_seq.is_some(), "{shape}");
        for kind in BadKind::ALL {
            let payload = bad::build(kind, &real, market_of(&real));
            let why = format!("{kind} on {shape}: {real}");
            let Payload::Text(text) = payload else {
                assert_eq!(kind, BadKind::Binary, "{why}");
                let Payload::Binary(bytes) = payload else { unreachable!() };
                assert!(std::str::from_utf8(&bytes).is_err(), "{why}");
                continue;
            };
            assert_ne!(text, real, "{why}");
            assert!(!text.contains("502 Bad Gateway"), "{why}: a real frame's shape is known");
            match kind {
                BadKind::Binary => panic!("{why}: binary frames are not text"),
                BadKind::NotJson => assert!(!is_json(&text), "{why}: {text}"),
                BadKind::DeepNesting => {
                    // Valid JSON, too deep for serde_json's default recursion limit.
                    let depth = bad::DEEP_NESTING;
                    assert_eq!(text.len(), 2 * depth);
                    assert!(text[..depth].bytes().all(|b| b == b'['));
                    assert!(text[depth..].bytes().all(|b| b == b']'));
                }
                BadKind::Oversized => {
                    assert_eq!(text.len(), bad::oversized_len(), "{why}");
                    assert!(text.len() > crate::venue::MAX_MESSAGE_BYTES);
                    assert!(is_json(&text), "{why}");
                    assert_eq!(bad::seq_of(&text), real_seq, "{why}");
                }
                _ => {
                    assert!(is_json(&text), "{why}: {text}");
                    check_kind(kind, &real, &text, &why);
                }
            }
        }
    }
}

/// The JSON-level difference each text kind promises.
fn check_kind(kind: BadKind, real: &str, text: &str, why: &str) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    let binance = real.starts_with("{\"stream\"");
    let strings = |v: &serde_json::Value| {
        let mut out = Vec::new();
        collect_strings(v, &mut out);
        out
    };
    let all = strings(&v);
    match kind {
        BadKind::NegativePrice => {
            assert!(all.iter().any(|s| s.parse::<f64>().is_ok_and(|x| x < 0.0)), "{why}: {text}")
        }
        BadKind::ZeroPrice => assert!(all.iter().any(|s| s == "0"), "{why}: {text}"),
        BadKind::NegativeSize => assert!(
            all.iter().any(|s| s.starts_with('-') && s.trim_start_matches('-') != "0")
                || text.contains(r#""q":"0""#),
            "{why}: {text}"
        ),
        BadKind::FineDecimal => assert!(
            all.iter().any(|s| s.split_once('.').is_some_and(|(_, f)| f.len() == 12)),
            "{why}: {text}"
        ),
        BadKind::HugeNumber => {
            assert!(all.iter().any(|s| s == "1e400" || (s.len() == 400)), "{why}: {text}")
        }
        BadKind::EarlyTime | BadKind::FutureTime => {
            let time = if binance { &v["data"]["E"] } else { &v["ts"] };
            let want = if kind == BadKind::EarlyTime { -1 } else { TS + 2 * 86_400_000 };
            assert_eq!(time.as_i64(), Some(want), "{why}: {text}");
            if binance && v["data"].get("T").is_some() {
                assert_ne!(
                    v["data"]["T"],
                    serde_json::from_str::<serde_json::Value>(real).unwrap()["data"]["T"]
                );
            }
        }
        BadKind::BadSide => {
            assert!(text.contains("SIDEWAYS") || v["data"]["m"] == "maybe", "{why}: {text}")
        }
        BadKind::IdRange => assert!(
            text.contains("99999999999999999999") || text.contains("18446744073709551616"),
            "{why}: {text}"
        ),
        BadKind::OtherMarket => {
            assert!(!text.contains("ETH-USD\"") || text.contains("\"subscription\""));
            if binance {
                assert_eq!(v["data"]["s"], "DOGEUSDT", "{why}");
                assert!(v["stream"].as_str().unwrap().starts_with("dogeusdt@"), "{why}");
            } else {
                assert!(text.contains("\"m\":\"DOGE-USD\""), "{why}: {text}");
                assert!(!text.contains("\"m\":\"ETH-USD\""), "{why}: {text}");
            }
            assert_eq!(bad::seq_of(text), bad::seq_of(real), "otherwise valid: {why}");
        }
        BadKind::WrongType => assert!(
            [&v["seq"], &v["data"]["u"], &v["data"]["t"]].iter().any(|s| s.is_string()),
            "{why}: {text}"
        ),
        BadKind::MissingField => {
            let key = if !binance {
                "seq"
            } else if real.contains("depthUpdate") {
                "u"
            } else {
                "t"
            };
            let scope = if binance { &v["data"] } else { &v };
            assert!(scope.get(key).is_none(), "{why}: {text}");
            assert_eq!(text.len() + key.len() + 4 + bad_seq_len(real), real.len(), "{why}");
        }
        BadKind::UnknownType => assert!(
            v["type"].as_str().is_some_and(|t| t.ends_with('2'))
                || v["data"]["e"].as_str().is_some_and(|t| t.ends_with('2')),
            "{why}: {text}"
        ),
        BadKind::NotJson | BadKind::Binary | BadKind::DeepNesting | BadKind::Oversized => {}
    }
}

fn bad_seq_len(real: &str) -> usize {
    bad::seq_of(real).map_or(0, |s| s.to_string().len())
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}
