//! In-process tests of the simulator as a whole: the frames it spells rebuild its own book
//! exactly (property test), and the generator's statistics match its true parameters
//! (the guarantee a later calibration test relies on). No sockets; the socket-level tests
//! live in `tests/it/simulate.rs`.

use proptest::prelude::*;

use super::hub::{Hub, SNAPSHOT_EVERY};
use super::market::{Market, MarketParams, STEP_MS};
use crate::book::Book;
use crate::model::{BookFrame, FrameKind, Qty, TakerSide};
use crate::venue::extended::v1::{self, Message};

/// Decodes a v1 book frame with the real Extended parser (so the simulator and the parser
/// are held to each other), checking on the way that `q` is the signed change from `book`
/// to `c` on every DELTA level (docs/VENUES.md §1.3 rule 1).
fn decode(text: &str, book: &Book) -> BookFrame {
    let update = match v1::parse_book(text) {
        Ok(Message::Data(update)) => update,
        other => panic!("the parser refused a simulator frame: {other:?}\n{text}"),
    };
    let mismatches =
        update.change_mismatches(|side, price| book.get(side, price).unwrap_or(Qty::ZERO));
    assert!(mismatches.is_empty(), "q is not the signed change: {mismatches:?}");
    update.frame
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Every frame, applied in order, gives the simulator's own book at every seq; the book
    /// is never crossed; a minutely SNAPSHOT follows the DELTA of every 600th step and equals
    /// the book the deltas built (no snapshot drift, docs/VENUES.md §1.3 rule 4).
    #[test]
    fn frames_rebuild_the_simulators_book(
        seed in any::<u64>(),
        sigma in 0.01f64..2.0,
        a in 0.2f64..20.0,
        kappa in 1.0f64..60.0,
        levels in 1usize..60,
        btc in any::<bool>(),
        steps in 1u64..700,
    ) {
        let mut params = MarketParams::preset(if btc { "BTC-USD" } else { "ETH-USD" });
        params.sigma = sigma * params.tick.to_f64() * 100.0;
        (params.a_bid, params.a_ask) = (a, a * 0.7);
        (params.kappa_bid, params.kappa_ask) = (kappa / params.tick.to_f64() / 100.0, kappa / params.tick.to_f64() / 80.0);
        params.levels = levels;
        let hub = Hub::new(vec![params], seed, 1_700_000_000_000, 1 << 14);
        // Start just before a minutely snapshot now and then.
        for _ in 0..(seed % (SNAPSHOT_EVERY + 5)) {
            hub.step(None).unwrap();
        }
        let (start, mut rx) = hub.attach(0).unwrap();
        let mut book = Book::new();
        let mut seq = 1;
        book.apply(&decode(&super::wire::v1_book(FrameKind::Snapshot, &start.snapshot, start.ts_ms, seq), &book)).unwrap();
        prop_assert_eq!(book.checksum(), hub.checksum(0).unwrap());
        for _ in 0..steps {
            hub.step(None).unwrap();
            let tick = rx.try_recv().unwrap();
            seq += 1;
            let step = &tick.markets[0];
            let frame = decode(&super::wire::v1_book(FrameKind::Delta, &step.delta, tick.ts_ms, seq), &book);
            book.apply(&frame).unwrap();
            prop_assert_eq!(book.checksum(), hub.checksum(0).unwrap(), "seq {}", seq);
            prop_assert!(!book.is_crossed(), "crossed at seq {}", seq);
            prop_assert_eq!(step.snapshot.is_some(), tick.index % SNAPSHOT_EVERY == 0);
            if let Some(snapshot) = &step.snapshot {
                seq += 1;
                let frame = decode(&super::wire::v1_book(FrameKind::Snapshot, snapshot, tick.ts_ms, seq), &book);
                let mut alone = Book::new();
                alone.apply(&frame).unwrap();
                prop_assert_eq!(alone.checksum(), book.checksum(), "snapshot drift at seq {}", seq);
                book.apply(&frame).unwrap();
            }
        }
    }
}

/// Ordinary least squares of y on x: (slope, intercept).
fn ols(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

/// What docs/MODEL.md's estimators recover from two simulated hours of `params` (seed 42):
/// σ from 1 s log returns of the published mid, and per side (bid, ask) κ, A and the number of
/// grid points, from the OLS fit of ln λ(δₖ) on δₖ = tick/2 + k·tick (k < 20) over the points
/// with at least `min_count` orders; and the share of frames whose spread is wider than a tick.
#[derive(Debug)]
struct Recovered {
    sigma: f64,
    sides: [(f64, f64, usize); 2],
    wide_share: f64,
}

fn recover(params: &MarketParams, min_count: usize) -> Recovered {
    let tick = params.tick.raw();
    let mut market = Market::new(params.clone(), 42);
    let hours = 2;
    let steps = hours * 36_000;
    let seconds = (hours * 3600) as f64;
    let mut mids = Vec::new();
    let mut wide = 0;
    // Deepest print per order, as twice the distance in raw units, per side.
    let mut reach2: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    for k in 1..=steps {
        let (bid, ask) = (
            market.book().best_bid().unwrap().price.raw(),
            market.book().best_ask().unwrap().price.raw(),
        );
        wide += usize::from(ask - bid > tick);
        if (k - 1) % 10 == 0 {
            mids.push((bid + ask) as f64 / 2.0 / 1e8);
        }
        let outcome = market.step(k * STEP_MS);
        // Trades with the same ms and side are one order (docs/MODEL.md step 2).
        let mut orders: std::collections::BTreeMap<(i64, TakerSide), i64> = Default::default();
        for t in &outcome.trades {
            let d2 = match t.side {
                TakerSide::Buy => 2 * t.price.raw() - (bid + ask),
                TakerSide::Sell => (bid + ask) - 2 * t.price.raw(),
            };
            let e = orders.entry((t.ts_event.as_nanos(), t.side)).or_insert(0);
            *e = (*e).max(d2.max(0));
        }
        for ((_, side), d2) in orders {
            reach2[usize::from(side == TakerSide::Buy)].push(d2);
        }
    }
    let returns: Vec<f64> = mids.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let mean_r = returns.iter().sum::<f64>() / returns.len() as f64;
    let var =
        returns.iter().map(|r| (r - mean_r).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
    let sigma = var.sqrt() * mids.iter().sum::<f64>() / mids.len() as f64;
    let sides = [0, 1].map(|side| {
        let mut points = Vec::new();
        for k in 0..20i64 {
            // δₖ = tick/2 + k·tick, compared as 2δ in raw units: exact.
            let grid2 = tick + 2 * k * tick;
            let count = reach2[side].iter().filter(|d2| **d2 >= grid2).count();
            if count >= min_count {
                points.push((grid2 as f64 / 2.0 / 1e8, (count as f64 / seconds).ln()));
            }
        }
        let (slope, intercept) = ols(&points);
        (-slope, intercept.exp(), points.len())
    });
    Recovered { sigma, sides, wide_share: wide as f64 / steps as f64 }
}

fn assert_close(name: &str, got: f64, want: f64, tolerance: f64) {
    assert!((got / want - 1.0).abs() < tolerance, "{name} {got} vs true {want}");
}

/// Over two simulated hours of ETH-USD with seed 42, docs/MODEL.md's estimators applied to what
/// the simulator publishes recover its true parameters:
/// * σ from 1 s log returns of the published mid: 7,200 returns give a relative standard error
///   of 1/√(2·7200) ≈ 0.8 %; the tolerance is 5 % (six standard errors);
/// * per side, A and κ from the OLS fit of ln λ(δₖ) on the grid δₖ = tick/2 + k·tick (k < 20,
///   at least 5 orders per point). About 14,000 orders per side; the sparsest point still
///   has ~800, so κ and A are expected within ~3 % (seed 42 gives κ 14.88 / 15.05 and
///   A 2.00 / 2.03 for bid / ask, σ 0.493); the tolerance is 10 %. A generator bug that
///   matters to calibration (holes at the touch, a wrong reference mid, merged orders) moves
///   these by more than that.
///
/// The run is deterministic, so this test either always passes or always fails; the margins
/// above are what make a pass meaningful rather than lucky.
#[test]
fn generator_statistics_match_the_true_parameters() {
    let params = MarketParams::preset("ETH-USD");
    let got = recover(&params, 5);
    eprintln!("{got:?}");
    assert_close("sigma", got.sigma, params.sigma, 0.05);
    assert_eq!(got.wide_share, 0.0, "the dense book is always one tick wide");
    for (side, (kappa, a, points), true_a, true_kappa) in [
        (0, got.sides[0], params.a_bid, params.kappa_bid),
        (1, got.sides[1], params.a_ask, params.kappa_ask),
    ] {
        assert!(points >= 15, "side {side}: only {points} grid points");
        assert_close(&format!("side {side}: kappa"), kappa, true_kappa, 0.10);
        assert_close(&format!("side {side}: A"), a, true_a, 0.10);
    }
}

/// The same for the queue book (docs/MODEL.md "The queue book"), on the market of
/// `mdkit simulate --help`: ETH-USD with a 1 USD tick, σ 0.5 (half a tick per √s) and κ 1 (a
/// mean reach of one tick). Its mid moves only by half-tick jumps, about one a second, so
/// the 1 s returns are heavy-tailed (kurtosis ≈ 3 + 1/jumps per second): σ's relative
/// standard error is ≈ ½·√(3/7200) ≈ 1 %, tolerance 5 %. Reaches are short, so the grid
/// points are taken from 100 orders up (the deepest of the four or five has ~400, its
/// count within 5 %): κ and A within 10 %. And the spread is two ticks in a share
/// [`WIDE_SHARE`](super::market::WIDE_SHARE) of the frames: over 7,200 s with about one
/// spread change a second the share is known to ±0.02.
#[test]
fn queue_book_statistics_match_the_true_parameters() {
    let params = queue_market();
    let got = recover(&params, 100);
    eprintln!("{got:?}");
    assert_close("sigma", got.sigma, params.sigma, 0.05);
    let share = got.wide_share;
    assert!((share - super::market::WIDE_SHARE).abs() < 0.02, "two ticks wide {share}");
    for (side, (kappa, a, points), true_a, true_kappa) in [
        (0, got.sides[0], params.a_bid, params.kappa_bid),
        (1, got.sides[1], params.a_ask, params.kappa_ask),
    ] {
        assert!(points >= 4, "side {side}: only {points} grid points");
        assert_close(&format!("side {side}: kappa"), kappa, true_kappa, 0.10);
        assert_close(&format!("side {side}: A"), a, true_a, 0.10);
    }
}

/// The queue book's example market (`mdkit simulate --help`).
fn queue_market() -> MarketParams {
    let mut params = super::parse_market("ETH-USD:tick=1,kappa_bid=1,kappa_ask=1").unwrap();
    params.book = super::market::BookKind::Queues;
    params
}

/// Every bad-frame kind built from the local Kraken venue's real messages is refused by the
/// Kraken rules — one `refused` row, no other row, the connection kept — and the real message
/// after it is then applied with its checksum intact (docs/VENUES.md §10, §11.5). Oversized
/// frames end the socket in `collect` before the rules see them, so they are left out.
#[test]
fn every_bad_kind_on_kraken_messages_is_refused_and_changes_nothing() {
    use super::bad::{self, BadKind, Payload};
    use super::kraken_wire as wire;
    use crate::model::{EventKind, Level, Price, RecvTime, Trade, TradeKind};
    use crate::storage::{Entry, Record, Stream};
    use crate::venue::kraken::{recorder::Rules, KrakenBook};
    use crate::venue::rules::{Rules as _, Saved, Sink, Verdict};

    const TS_MS: i64 = 1_767_225_600_000; // 2026-01-01
    let level = |p: i64, q: i64| Level::new(Price::from_raw(p * 100_000_000), Qty::from_raw(q));
    let wire_levels =
        |levels: &[Level]| -> Vec<_> { levels.iter().map(|l| wire::wire_level(l, 0)).collect() };
    let mut view = KrakenBook::new(10);
    let (bids, asks) = (wire_levels(&[level(99, 5_000)]), wire_levels(&[level(101, 7_000)]));
    view.apply(true, &bids, &asks);
    let snapshot = wire::book(true, "BTC/USD", &bids, &asks, view.checksum(None), TS_MS);
    let mut updates = Vec::new();
    for n in 1..=BadKind::ALL.len() as i64 {
        let bids = wire_levels(&[level(99 - n, 1_000 * n)]);
        view.apply(false, &bids, &[]);
        updates.push(wire::book(false, "BTC/USD", &bids, &[], view.checksum(None), TS_MS + n));
    }
    let trade = |id: i64| Trade {
        market: "BTC-USD".into(),
        id,
        side: TakerSide::Buy,
        kind: TradeKind::Trade,
        ts_event: crate::model::EventTime::from_nanos((TS_MS + id) * 1_000_000),
        price: Price::from_raw(101 * 100_000_000),
        qty: Qty::from_raw(1_000),
    };
    let mut rules = Rules::restore("BTC/USD", 10, &Saved::default());
    let mut sink = Sink::new(10);
    let mut jseq: u64 = 0;
    let mut feed = |rules: &mut Rules, sink: &mut Sink, entry: Entry| {
        jseq += 1;
        let ts_recv = RecvTime::from_nanos(TS_MS * 1_000_000 + jseq as i64);
        let verdict = rules.apply(&Record { jseq, ts_recv, entry }, sink);
        assert_eq!(verdict, Verdict::Continue, "{:?}", sink.out.events);
    };
    let url = "ws://127.0.0.1:1/v2".to_owned();
    feed(&mut rules, &mut sink, Entry::Connect { conn: 1, stream: Stream::Book, url: url.clone() });
    feed(&mut rules, &mut sink, Entry::Connect { conn: 2, stream: Stream::Trades, url });
    feed(&mut rules, &mut sink, Entry::Frame { conn: 1, text: snapshot });
    let first = wire::trades(true, "BTC/USD", &[trade(1)], 0);
    feed(&mut rules, &mut sink, Entry::Frame { conn: 2, text: first });
    let kinds = BadKind::ALL.into_iter().filter(|k| *k != BadKind::Oversized);
    for (n, kind) in kinds.enumerate() {
        let real_trades = wire::trades(false, "BTC/USD", &[trade(n as i64 + 2)], 0);
        for (conn, real) in [(1, updates[n].clone()), (2, real_trades)] {
            let data_rows =
                |s: &Sink| s.out.depth.len() + s.out.book_top.len() + s.out.trades.len();
            let (rows, refused) = (data_rows(&sink), sink.counters.refused);
            // A binary message never reaches the rules as text (`collect` refuses it).
            if let Payload::Text(text) = bad::build(kind, &real, "BTC-USD") {
                assert_ne!(text, real, "{kind}");
                feed(&mut rules, &mut sink, Entry::Frame { conn, text: text.clone() });
                assert_eq!(sink.counters.refused, refused + 1, "{kind} not refused: {text}");
                assert_eq!(data_rows(&sink), rows, "{kind} wrote rows");
            }
            feed(&mut rules, &mut sink, Entry::Frame { conn, text: real });
        }
    }
    // Half the frames are bad here, so the share row is written too; nothing else.
    let allowed = [EventKind::Connect, EventKind::Refused, EventKind::RefusedShare];
    let other = sink.out.events.iter().find(|e| !allowed.contains(&e.kind));
    assert!(other.is_none(), "{other:?}");
    assert_eq!(sink.out.trades.len(), BadKind::ALL.len(), "every real trade recorded once");
    assert_eq!(sink.out.book_top.len(), BadKind::ALL.len(), "the snapshot and every real update");
}
