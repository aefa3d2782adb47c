//! Hand-checked scenarios of issues 7 and 24 on small event sequences: each number below is
//! worked out in the comment above its assertion.

use std::convert::Infallible;
use std::sync::Arc;

use super::*;
use crate::backtest::latency::OrderLatency;
use crate::backtest::report::{Collect, Liquidity};
use crate::backtest::settings::Settings;
use crate::backtest::strategy::{OrderKind, RejectReason};
use crate::model::contract::Contract;
use crate::model::{Level, TakerSide, TradeKind};
use crate::storage::{BookTopRow, CalibrationRow, DepthRow, SideFit, TradeRow};

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
/// Start of the test day: 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600 * S;

fn p(text: &str) -> Price {
    Price::parse(text).unwrap()
}

fn q(text: &str) -> Qty {
    Qty::parse(text).unwrap()
}

fn spec() -> MarketSpec {
    // order_size = 10 lots = 1.
    MarketSpec { tick: p("1"), lot: q("0.1"), contract: Contract::LINEAR_1 }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    config_for(spec(), pairs)
}

fn config_for(spec: MarketSpec, pairs: &[(&str, &str)]) -> Config {
    let mut s = Settings::default();
    s.set("warmup", "0").unwrap();
    // These tape tests were worked out with the constant γ 0.1 (σ is tiny here, which would
    // make the scale-free γ huge).
    s.set("gamma_mode", "constant").unwrap();
    for (k, v) in pairs {
        s.set(k, v).unwrap();
    }
    s.resolve(spec).unwrap()
}

/// A book frame at `ms` after T0 (both clocks alike unless the test says otherwise): depth
/// rows for every level given, then its top.
fn frame(out: &mut Vec<Event>, ms: i64, seq: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) {
    let t = T0 + ms * MS;
    for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for l in levels {
            out.push(Event::Depth(DepthRow {
                ts_event: EventTime::from_nanos(t),
                ts_recv: RecvTime::from_nanos(t),
                conn: 1,
                seq,
                snapshot: false,
                side,
                price: p(l.0),
                qty: q(l.1),
            }));
        }
    }
    out.push(top(ms, seq, bids, asks));
}

fn top(ms: i64, seq: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> Event {
    let t = T0 + ms * MS;
    let level = |(pr, qt): &(&str, &str)| Level::new(p(pr), q(qt));
    Event::Top(Box::new(BookTopRow {
        ts_event: EventTime::from_nanos(t),
        ts_recv: RecvTime::from_nanos(t),
        conn: 1,
        seq,
        snapshot: false,
        bids: bids.iter().filter(|l| l.1 != "0").map(level).collect(),
        asks: asks.iter().filter(|l| l.1 != "0").map(level).collect(),
    }))
}

fn trade(ms: i64, side: TakerSide, price: &str, qty: &str) -> Event {
    let t = T0 + ms * MS;
    Event::Trade(TradeRow {
        ts_event: EventTime::from_nanos(t),
        ts_recv: RecvTime::from_nanos(t),
        conn: 2,
        seq: ms,
        trade_id: ms,
        side,
        price: p(price),
        qty: q(qty),
        kind: TradeKind::Trade,
    })
}

/// Places the given orders at the book frame received at the given ms, and nothing else.
#[derive(Default)]
struct Script {
    plan: Vec<(i64, BookSide, &'static str, &'static str, OrderKind)>,
    reports: Vec<Report>,
}

impl Strategy for Script {
    fn on_top(&mut self, view: &View<'_>, _top: &BookTopRow, out: &mut Orders) {
        for &(ms, side, price, qty, kind) in &self.plan {
            if view.now.as_nanos() == T0 + ms * MS {
                out.place(side, p(price), q(qty), kind);
            }
        }
    }
    fn on_report(&mut self, _view: &View<'_>, report: &Report, _out: &mut Orders) {
        self.reports.push(*report);
    }
}

fn run_script(
    events: Vec<Event>,
    config: &Config,
    plan: Vec<(i64, BookSide, &'static str, &'static str, OrderKind)>,
) -> (Collect, Summary, Script) {
    let mut sink = Collect::default();
    let mut script = Script { plan, ..Default::default() };
    let iter = events.into_iter().map(Ok::<_, Infallible>);
    let summary = run_with(iter, config, &[], &mut script, &mut sink).unwrap();
    (sink, summary, script)
}

fn book(out: &mut Vec<Event>, ms: i64) {
    frame(out, ms, ms, &[("99", "5")], &[("101", "5")]);
}

#[test]
fn a_resting_bid_is_filled_by_a_trade_through_it() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    ev.push(trade(1000, TakerSide::Sell, "99", "3"));
    let c = config(&[]);
    let (sink, summary, _) =
        run_script(ev, &c, vec![(0, BookSide::Bid, "100", "1", OrderKind::PostOnly)]);
    // The bid at 100 improves the book (queue ahead 0), arrives at 10 ms; the taker SELL at
    // 99 trades through it at 1 s: one fill of 1 at 100, reported at 1.010 s.
    assert_eq!(sink.fills.len(), 1);
    let f = &sink.fills[0];
    assert_eq!(
        (f.price, f.qty, f.side, f.liquidity),
        (p("100"), q("1"), BookSide::Bid, Liquidity::Maker)
    );
    assert_eq!(f.ts_exchange.as_nanos(), T0 + S);
    assert_eq!(f.ts_report.as_nanos(), T0 + S + 10 * MS);
    // Maker fee 1.5 bps of 100 = 0.015; cash −100.015.
    assert_eq!(f.fee.to_string(), "0.015");
    assert_eq!(f.cash.to_string(), "-100.015");
    // Marked to the final mid 100: gross 0, net −0.015.
    assert_eq!(summary.pnl_net.to_string(), "-0.015");
    assert_eq!(summary.pnl_gross.to_string(), "0");
    assert_eq!((summary.fills_bid, summary.fills_ask), (1, 0));
    // Captured spread: bought at 100 with mid 100 → 0.
    assert_eq!(summary.avg_captured_spread, Some(0.0));
}

#[test]
fn a_bid_at_the_back_of_the_queue_waits_for_the_queue_ahead_under_risk_averse() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    // Joins 99 behind 5. Trades at 99 of 2 + 2 = 4 < 5: the queue ahead is now 1.
    ev.push(trade(1000, TakerSide::Sell, "99", "2"));
    ev.push(trade(2000, TakerSide::Sell, "99", "2"));
    // The level then shows 2 (5 − 4 traded + 1 joined behind): no cancellation, still 1 ahead.
    frame(&mut ev, 3000, 3, &[("99", "2")], &[("101", "5")]);
    let c = config(&[]);
    let plan = vec![(0, BookSide::Bid, "99", "1", OrderKind::PostOnly)];
    let (sink, _, _) = run_script(ev.clone(), &c, plan.clone());
    assert!(sink.fills.is_empty(), "{:?}", sink.fills);
    // One more trade of 2 at 99: 1 consumes the queue ahead, 1 reaches the order: filled.
    ev.push(trade(4000, TakerSide::Sell, "99", "2"));
    let (sink, _, _) = run_script(ev.clone(), &c, plan.clone());
    assert_eq!(sink.fills.len(), 1);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + 4 * S);
    // Under cross, the first trade at its price already fills it.
    let (sink, _, _) = run_script(ev, &config(&[("fill_model", "cross")]), plan);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + S);
}

#[test]
fn latency_keeps_a_quote_from_a_trade_before_it_arrives() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    ev.push(trade(20, TakerSide::Sell, "98", "1"));
    ev.push(trade(60, TakerSide::Sell, "98", "1"));
    let plan = vec![(0, BookSide::Bid, "100", "1", OrderKind::PostOnly)];
    // Entry latency 50 ms: the order arrives at 50 ms, after the trade at 20 ms; the trade at
    // 60 ms fills it.
    let (sink, _, _) = run_script(ev.clone(), &config(&[("entry_latency", "50ms")]), plan.clone());
    assert_eq!(sink.fills.len(), 1);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + 60 * MS);
    // Entry latency 10 ms: the trade at 20 ms fills it.
    let (sink, _, _) = run_script(ev, &config(&[("entry_latency", "10ms")]), plan);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + 20 * MS);
}

#[test]
fn a_trade_delivered_late_does_not_fill_an_order_that_arrived_after_it_happened() {
    // The order, sent at 0 ms, reaches the exchange at 10 ms, applied before the frame of
    // 30 ms. The trade through it is received at 40 ms but happened at 5 ms (venue time):
    // the exchange clock is already at 30 ms, yet the order was not there at 5 ms: no fill.
    // Had the trade happened at 20 ms, it would fill.
    let plan = vec![(0, BookSide::Bid, "100", "1", OrderKind::PostOnly)];
    for (happened, fills) in [(5, 0), (20, 1)] {
        let mut ev = Vec::new();
        book(&mut ev, 0);
        book(&mut ev, 30);
        let mut t = trade(40, TakerSide::Sell, "98", "1");
        if let Event::Trade(r) = &mut t {
            r.ts_event = EventTime::from_nanos(T0 + happened * MS);
        }
        ev.push(t);
        let (sink, _, _) = run_script(ev, &config(&[]), plan.clone());
        assert_eq!(sink.fills.len(), fills, "trade at {happened} ms");
    }
}

#[test]
fn fees_and_partial_fills_reach_position_cash_and_pnl() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    // Bid 1 at 100 (ahead 0). Partial fills on: SELL 0.4 at 100 fills 0.4, SELL 1 at 100
    // fills the remaining 0.6.
    ev.push(trade(1000, TakerSide::Sell, "100", "0.4"));
    ev.push(trade(2000, TakerSide::Sell, "100", "1"));
    // Then the book moves up: bid 101, ask 103 (mid 102).
    frame(&mut ev, 3000, 3, &[("99", "0"), ("101", "1")], &[("101", "0"), ("103", "1")]);
    let c = config(&[("partial_fills", "true")]);
    let (sink, s, script) =
        run_script(ev, &c, vec![(0, BookSide::Bid, "100", "1", OrderKind::PostOnly)]);
    let got: Vec<(String, String, String)> = sink
        .fills
        .iter()
        .map(|f| (f.qty.to_string(), f.fee.to_string(), f.cash.to_string()))
        .collect();
    // Fees: 1.5 bps of 40 = 0.006, of 60 = 0.009. Cash: −40.006, then −100.015.
    assert_eq!(
        got,
        [
            ("0.4".to_owned(), "0.006".to_owned(), "-40.006".to_owned()),
            ("0.6".to_owned(), "0.009".to_owned(), "-100.015".to_owned())
        ]
    );
    let leaves: Vec<Qty> = script
        .reports
        .iter()
        .filter_map(|r| match r.kind {
            ReportKind::Filled { leaves, .. } => Some(leaves),
            _ => None,
        })
        .collect();
    assert_eq!(leaves, [q("0.6"), q("0")]);
    // Position 1 marked at 102: gross +2, fees 0.015, net 1.985; nothing closed.
    assert_eq!(s.final_position, q("1"));
    assert_eq!(s.pnl_gross.to_string(), "2");
    assert_eq!(s.fees.to_string(), "0.015");
    assert_eq!(s.pnl_net.to_string(), "1.985");
    assert_eq!(s.pnl_realized.to_string(), "0");
    assert_eq!(s.pnl_unrealized.to_string(), "2");
    assert_eq!(s.volume, q("1"));
    assert_eq!(s.turnover.to_string(), "100");
    // Without partial fills the first trade that reaches the order fills all of it.
    let (sink, _, _) = run_script(
        {
            let mut ev = Vec::new();
            book(&mut ev, 0);
            ev.push(trade(1000, TakerSide::Sell, "100", "0.4"));
            ev
        },
        &config(&[]),
        vec![(0, BookSide::Bid, "100", "1", OrderKind::PostOnly)],
    );
    assert_eq!(sink.fills.iter().map(|f| f.qty).collect::<Vec<_>>(), [q("1")]);
}

#[test]
fn a_post_only_order_that_would_cross_is_rejected() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    book(&mut ev, 1000);
    let (sink, s, script) =
        run_script(ev, &config(&[]), vec![(0, BookSide::Bid, "101", "1", OrderKind::PostOnly)]);
    assert!(sink.fills.is_empty());
    assert_eq!(s.orders_rejected, 1);
    assert_eq!(
        script.reports[0].kind,
        ReportKind::Rejected(crate::backtest::strategy::RejectReason::WouldCross)
    );
}

#[test]
fn a_marketable_order_pays_the_taker_fee_and_realizes_pnl() {
    let mut ev = Vec::new();
    book(&mut ev, 0);
    frame(&mut ev, 1000, 1, &[("99", "0"), ("103", "2")], &[("101", "0"), ("105", "2")]);
    let plan = vec![
        (0, BookSide::Bid, "101", "1", OrderKind::Ioc),
        (1000, BookSide::Ask, "103", "1", OrderKind::Ioc),
    ];
    let (sink, s, _) = run_script(ev, &config(&[]), plan);
    // Buy 1 at 101 (fee 4.5 bps = 0.04545), sell 1 at 103 (0.04635): realized 2, fees
    // 0.0918, net 1.9082.
    let fees: Vec<String> = sink.fills.iter().map(|f| f.fee.to_string()).collect();
    assert_eq!(fees, ["0.04545", "0.04635"]);
    assert!(sink.fills.iter().all(|f| f.liquidity == Liquidity::Taker));
    assert_eq!(s.pnl_realized.to_string(), "2");
    assert_eq!(s.pnl_net.to_string(), "1.9082");
}

/// A calibration that makes AS quote about one unit either side of a mid of 100:
/// σ tiny, κ = 2 → δ ≈ 2/κ = 1, so bid ≈ 99.5 → 99 and ask ≈ 100.5 → 101 within the
/// spread bounds; post-only keeps them off the opposite best.
fn calibration(at_ms: i64, kappa: f64) -> Recalibration {
    let fit = SideFit { kappa: Some(kappa), a: Some(1.0), ..Default::default() };
    Recalibration {
        at: RecvTime::from_nanos(T0 + at_ms * MS),
        fit: CalibrationRow {
            window_start: EventTime::from_nanos(T0 - 3600 * S),
            window_end: EventTime::from_nanos(T0),
            sigma: Some(1e-6),
            mid_samples: 3600,
            trades: 100,
            bid: fit.clone(),
            ask: fit,
            written_at: None,
            settings: None,
        },
    }
}

fn run_as(events: &[Event], config: &Config, recals: &[Recalibration]) -> (Collect, Summary) {
    let mut sink = Collect::default();
    let mut strategy = Avellaneda::new(config);
    let iter = events.iter().cloned().map(Ok::<_, Infallible>);
    let summary = run_with(iter, config, recals, &mut strategy, &mut sink).unwrap();
    (sink, summary)
}

/// Book 99/101 refreshed every second; SELLs through every bid at 1.5 s and 3.5 s.
fn as_events() -> Vec<Event> {
    let mut ev = Vec::new();
    for s in 0..5 {
        frame(&mut ev, s * 1000, s, &[("98", "5")], &[("102", "5")]);
        if s == 1 || s == 3 {
            ev.push(trade(s * 1000 + 500, TakerSide::Sell, "90", "10"));
        }
    }
    ev
}

#[test]
fn the_cooldown_blocks_a_second_fill() {
    let recals = [calibration(0, 2.0)];
    // Mid 100, δ = 1 per side: bid 99.5 → 99, ask 100.5 → 101. Filled at 1.5 s; the frames at
    // 2 s and 3 s are inside the 60 s cooldown, so no bid rests when the 3.5 s trade comes.
    let (sink, s) = run_as(&as_events(), &config(&[("fill_model", "cross")]), &recals);
    assert_eq!(
        sink.fills.iter().map(|f| (f.side, f.price)).collect::<Vec<_>>(),
        [(BookSide::Bid, p("99"))]
    );
    assert_eq!(s.fills_bid, 1);
    // Cooldown 1 s: the bid is back at 3 s (report at 1.51 s + 1 s < 3 s) and fills again.
    // Inventory 1 shifts r by γσ²T·q ≈ 0, so the price is still 99.
    let (sink, _) =
        run_as(&as_events(), &config(&[("fill_model", "cross"), ("cooldown", "1")]), &recals);
    let times: Vec<i64> = sink.fills.iter().map(|f| (f.ts_exchange.as_nanos() - T0) / MS).collect();
    assert_eq!(times, [1500, 3500]);
}

#[test]
fn the_inventory_limit_stops_quoting_one_side() {
    let recals = [calibration(0, 2.0)];
    // max_inventory = order_size = 1: after the bid fill at 1.5 s the position is at the
    // limit; from the next frame on only the ask is quoted.
    let c = config(&[("fill_model", "cross"), ("cooldown", "0"), ("max_inventory", "1")]);
    let (sink, _) = run_as(&as_events(), &c, &recals);
    assert_eq!(sink.fills.len(), 1);
    let at = |sec: i64| sink.equity.iter().find(|e| e.ts.as_nanos() == T0 + sec * S).unwrap();
    // Sampled at 1 s: both quotes rest. At 3 s (after the frame at 2 s): no bid, ask 101.
    assert_eq!((at(1).bid, at(1).ask), (Some(p("99")), Some(p("101"))));
    assert_eq!(at(3).position, q("1"));
    assert_eq!((at(3).bid, at(3).ask), (None, Some(p("101"))));
}

#[test]
fn no_quote_before_the_first_calibration_or_during_warm_up() {
    let (sink, s) =
        run_as(&as_events(), &config(&[("fill_model", "cross")]), &[calibration(2000, 2.0)]);
    // The quote starts at the 2 s frame: only the 3.5 s trade fills.
    assert_eq!(s.orders_sent, 2);
    assert_eq!(sink.fills.len(), 1);
    let c = config(&[("fill_model", "cross"), ("warmup", "2.5")]);
    let (sink, _) = run_as(&as_events(), &c, &[calibration(0, 2.0)]);
    assert_eq!(sink.fills.len(), 1);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + 3500 * MS);
}

/// A longer deterministic market: a random walk of the mid with trades on both sides.
fn walk(seconds: i64) -> Vec<Event> {
    let mut ev = Vec::new();
    let mut x: u64 = 7;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut mid = 1000i64;
    let mut seq = 0;
    for ms in (0..seconds * 1000).step_by(100) {
        mid += next() as i64 % 3 - 1;
        seq += 1;
        let (b, a) = ((mid - 1).to_string(), (mid + 1).to_string());
        let (b2, a2) = ((mid - 2).to_string(), (mid + 2).to_string());
        let size = (1 + next() % 9).to_string();
        let bids = [(b.as_str(), size.as_str()), (b2.as_str(), "3")];
        let asks = [(a.as_str(), "4"), (a2.as_str(), size.as_str())];
        let first = ev.len();
        frame(&mut ev, ms, seq, &bids, &asks);
        // Each frame replaces the book.
        for e in &mut ev[first..] {
            if let Event::Depth(r) = e {
                r.snapshot = true;
            }
        }
        if next() % 4 == 0 {
            let side = if next() % 2 == 0 { TakerSide::Sell } else { TakerSide::Buy };
            let price = if side == TakerSide::Sell { mid - 2 } else { mid + 2 };
            let mut t = trade(ms + 50, side, &price.to_string(), "2");
            // Trades come 30 ms after they happened.
            if let Event::Trade(r) = &mut t {
                r.ts_event = EventTime::from_nanos(r.ts_recv.as_nanos() - 30 * MS);
            }
            ev.push(t);
        }
    }
    ev
}

/// Records every action a strategy writes, with its time.
struct Record<S> {
    inner: S,
    log: Vec<(i64, Action)>,
}

impl<S: Strategy> Record<S> {
    fn keep(&mut self, now: RecvTime, out: &Orders, before: usize) {
        for a in &out.actions()[before..] {
            self.log.push((now.as_nanos(), *a));
        }
    }
}

impl<S: Strategy> Strategy for Record<S> {
    fn on_top(&mut self, view: &View<'_>, top: &BookTopRow, out: &mut Orders) {
        let n = out.actions().len();
        self.inner.on_top(view, top, out);
        self.keep(view.now, out, n);
    }
    fn on_trade(&mut self, view: &View<'_>, trade: &TradeRow, out: &mut Orders) {
        let n = out.actions().len();
        self.inner.on_trade(view, trade, out);
        self.keep(view.now, out, n);
    }
    fn on_report(&mut self, view: &View<'_>, report: &Report, out: &mut Orders) {
        let n = out.actions().len();
        self.inner.on_report(view, report, out);
        self.keep(view.now, out, n);
    }
}

fn recorded(
    events: &[Event],
    c: &Config,
    recals: &[Recalibration],
) -> (Vec<(i64, Action)>, Collect, Summary) {
    let mut sink = Collect::default();
    let mut strategy = Record { inner: Avellaneda::new(c), log: Vec::new() };
    let iter = events.iter().cloned().map(Ok::<_, Infallible>);
    let summary = run_with(iter, c, recals, &mut strategy, &mut sink).unwrap();
    (strategy.log, sink, summary)
}

#[test]
fn no_look_ahead_changing_the_future_changes_nothing_before_it() {
    let c = config(&[("fill_model", "cross"), ("cooldown", "2"), ("validity", "1")]);
    let recals = [calibration(0, 2.0), calibration(30_000, 1.0), calibration(45_000, 4.0)];
    let events = walk(60);
    let t = T0 + 30_000 * MS;
    // The future: every event received after t gets other prices and sizes, and the
    // recalibration after t another κ.
    let mut changed: Vec<Event> = events.clone();
    for e in &mut changed {
        if e.ts_recv().as_nanos() > t {
            match e {
                Event::Depth(r) => r.qty = Qty::from_raw(r.qty.raw() * 3),
                Event::Top(r) => {
                    for l in r.bids.iter_mut().chain(r.asks.iter_mut()) {
                        l.price = Price::from_raw(l.price.raw() + 5 * 100_000_000);
                    }
                }
                Event::Trade(r) => r.price = Price::from_raw(r.price.raw() - 3 * 100_000_000),
            }
        }
    }
    let mut recals2 = recals.clone();
    recals2[2] = calibration(45_000, 0.5);
    let (log_a, sink_a, _) = recorded(&events, &c, &recals);
    let (log_b, sink_b, _) = recorded(&changed, &c, &recals2);
    let before =
        |log: &[(i64, Action)]| log.iter().filter(|(ts, _)| *ts <= t).cloned().collect::<Vec<_>>();
    // A fill's markout mids are measured after it (up to 60 s later, the strategy never sees
    // them): they are left out of the comparison.
    let fills = |s: &Collect| {
        s.fills
            .iter()
            .filter(|f| f.ts_report.as_nanos() <= t)
            .map(|f| Fill { later_mid2: [None; 3], ..f.clone() })
            .collect::<Vec<_>>()
    };
    assert!(before(&log_a).len() > 50, "the test needs decisions before t");
    assert!(!fills(&sink_a).is_empty(), "the test needs fills before t");
    assert_eq!(before(&log_a), before(&log_b));
    assert_eq!(fills(&sink_a), fills(&sink_b));
    let eq =
        |s: &Collect| s.equity.iter().filter(|e| e.ts.as_nanos() <= t).cloned().collect::<Vec<_>>();
    assert_eq!(eq(&sink_a), eq(&sink_b));
    // And the future did change something, or the test proves nothing.
    assert_ne!(log_a, log_b);
}

#[test]
fn the_same_inputs_give_identical_fills_and_summary() {
    let c = config(&[("queue_model", "prob_power(2)"), ("cooldown", "1")]);
    let recals = [calibration(0, 2.0)];
    let events = walk(120);
    let (_, a_sink, a) = recorded(&events, &c, &recals);
    let (_, b_sink, b) = recorded(&events, &c, &recals);
    assert_eq!(a_sink, b_sink);
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    // Cross fills at least as often as queue on the same data.
    let cross = config(&[("fill_model", "cross"), ("cooldown", "1")]);
    let (_, _, x) = recorded(&events, &cross, &recals);
    assert!(x.fills_bid + x.fills_ask >= a.fills_bid + a.fills_ask);
    assert!(a.fills_bid + a.fills_ask > 0);
    // The public entry gives the same as run_with with the same strategy.
    let iter = events.iter().cloned().map(Ok::<_, Infallible>);
    let mut settings = Settings::default();
    for (k, v) in [
        ("warmup", "0"),
        ("gamma_mode", "constant"),
        ("queue_model", "prob_power(2)"),
        ("cooldown", "1"),
    ] {
        settings.set(k, v).unwrap();
    }
    let mut sink = Collect::default();
    let s = run(iter, spec(), &settings, &recals, &mut sink).unwrap();
    assert_eq!(sink, a_sink);
    assert_eq!(s.pnl_net, a.pnl_net);
    assert_eq!(s.strategy, "as");
}

#[test]
fn the_imbalance_strategy_buys_a_heavy_bid_side_and_takes_its_profit() {
    // Its book quotes 100.5 and 101.2: a market with a tick of 0.1 (prices off the tick are
    // refused since issue 24).
    let c = config_for(MarketSpec { tick: p("0.1"), ..spec() }, &[("strategy", "imbalance")]);
    let mut ev = Vec::new();
    // Ratio (5+5)/(2+1) = 3.33 > 3: buy 1 at the best ask 101 (taker).
    frame(&mut ev, 0, 0, &[("100", "5"), ("99", "5")], &[("101", "2"), ("102", "1")]);
    // Mid 101 = the entry price: hold.
    frame(
        &mut ev,
        1000,
        1,
        &[("100", "0"), ("99", "0"), ("100.5", "5")],
        &[("101", "0"), ("102", "0"), ("101.5", "2")],
    );
    // Mid 101.3: +29.7 bps of 101 ≥ the 10 bps target: sell 1 at the best bid 101.2.
    frame(&mut ev, 2000, 2, &[("100.5", "0"), ("101.2", "1")], &[("101.5", "0"), ("101.4", "2")]);
    let mut sink = Collect::default();
    let mut strategy = Imbalance::new(&c);
    let iter = ev.into_iter().map(Ok::<_, Infallible>);
    let s = run_with(iter, &c, &[], &mut strategy, &mut sink).unwrap();
    let got: Vec<(BookSide, Price, i64)> = sink
        .fills
        .iter()
        .map(|f| (f.side, f.price, (f.ts_exchange.as_nanos() - T0) / MS))
        .collect();
    assert_eq!(got, [(BookSide::Bid, p("101"), 10), (BookSide::Ask, p("101.2"), 2010)]);
    // Flat at the end: realized 0.2; fees 4.5 bps of 101 and of 101.2 = 0.04545 + 0.04554.
    assert_eq!(s.final_position, Qty::ZERO);
    assert_eq!(s.pnl_realized.to_string(), "0.2");
    assert_eq!(s.fees.to_string(), "0.09099");
    assert_eq!(s.pnl_net.to_string(), "0.10901");
}

/// Places one order on the first book frame, cancels an order when its acknowledgement
/// arrives (if `cancel_on_ack`), and records every report with the strategy's clock then.
struct Ack {
    order: (BookSide, &'static str, &'static str, OrderKind),
    placed: bool,
    cancel_on_ack: bool,
    /// (report ts, view.now, kind), ns after T0.
    seen: Vec<(i64, i64, ReportKind)>,
}

impl Ack {
    fn new(order: (BookSide, &'static str, &'static str, OrderKind), cancel_on_ack: bool) -> Self {
        Self { order, placed: false, cancel_on_ack, seen: Vec::new() }
    }
}

impl Strategy for Ack {
    fn on_top(&mut self, _view: &View<'_>, _top: &BookTopRow, out: &mut Orders) {
        if !self.placed {
            let (side, price, qty, kind) = self.order;
            out.place(side, p(price), q(qty), kind);
            self.placed = true;
        }
    }
    fn on_report(&mut self, view: &View<'_>, report: &Report, out: &mut Orders) {
        let t = |r: RecvTime| r.as_nanos() - T0;
        self.seen.push((t(report.ts), t(view.now), report.kind));
        if self.cancel_on_ack && report.kind == ReportKind::Accepted {
            out.cancel(report.id);
        }
    }
}

fn run_ack(events: Vec<Event>, c: &Config, strategy: &mut Ack) -> (Collect, Summary) {
    let mut sink = Collect::default();
    let iter = events.into_iter().map(Ok::<_, Infallible>);
    let summary = run_with(iter, c, &[], strategy, &mut sink).unwrap();
    (sink, summary)
}

#[test]
fn an_acknowledgement_arrives_a_round_trip_after_the_order_in_a_quiet_market() {
    // 10 ms round trip: 5 ms entry, 5 ms response. The market is quiet for 5 s after the
    // order, sent on the frame at 0 ms.
    let c = config(&[("entry_latency", "5ms"), ("response_latency", "5ms")]);
    let mut ev = Vec::new();
    book(&mut ev, 0);
    book(&mut ev, 5000);
    let bid = (BookSide::Bid, "99", "1", OrderKind::PostOnly);
    let mut strategy = Ack::new(bid, false);
    run_ack(ev.clone(), &c, &mut strategy);
    // The order reaches the exchange at 5 ms; its acknowledgement reaches the strategy at
    // 10 ms (Report.ts and View.now alike), not with the next frame at 5 s.
    assert_eq!(strategy.seen, [(10 * MS, 10 * MS, ReportKind::Accepted)]);

    // What the strategy does on the answer goes out at once: a cancel sent at 10 ms reaches
    // the exchange at 15 ms and is answered at 20 ms, still before the frame at 5 s.
    let mut strategy = Ack::new(bid, true);
    run_ack(ev, &c, &mut strategy);
    assert_eq!(
        strategy.seen,
        [(10 * MS, 10 * MS, ReportKind::Accepted), (20 * MS, 20 * MS, ReportKind::Canceled)]
    );
}

#[test]
fn an_order_expires_on_time_in_a_quiet_market() {
    // Validity 1 s: the bid arrives at 5 ms, expires at 1.005 s and the strategy hears it at
    // 1.010 s, although the next market event is at 5 s.
    let c = config(&[("entry_latency", "5ms"), ("response_latency", "5ms"), ("validity", "1")]);
    let mut ev = Vec::new();
    book(&mut ev, 0);
    book(&mut ev, 5000);
    let mut strategy = Ack::new((BookSide::Bid, "99", "1", OrderKind::PostOnly), false);
    run_ack(ev, &c, &mut strategy);
    assert_eq!(
        strategy.seen,
        [(10 * MS, 10 * MS, ReportKind::Accepted), (1010 * MS, 1010 * MS, ReportKind::Expired)]
    );
}

#[test]
fn answers_are_never_delivered_before_the_event_they_depend_on_was_received() {
    // Feed latency 100 ms: the frame that happened at 0 is received at 100 ms; the bid sent
    // then reaches the exchange at 110 ms. A trade through it happens at 200 ms and is
    // received at 300 ms: the fill is executed at 200 ms, its report would be due at 210 ms,
    // but the strategy cannot hear of it before receiving the trade at 300 ms.
    let mut ev = Vec::new();
    book(&mut ev, 100);
    for e in &mut ev {
        match e {
            Event::Depth(r) => r.ts_event = EventTime::from_nanos(T0),
            Event::Top(r) => r.ts_event = EventTime::from_nanos(T0),
            Event::Trade(_) => {}
        }
    }
    let mut t = trade(300, TakerSide::Sell, "98", "1");
    if let Event::Trade(r) = &mut t {
        r.ts_event = EventTime::from_nanos(T0 + 200 * MS);
    }
    ev.push(t);
    let mut strategy = Ack::new((BookSide::Bid, "100", "1", OrderKind::PostOnly), false);
    let (sink, _) = run_ack(ev, &config(&[]), &mut strategy);
    assert_eq!((strategy.seen[0].0, strategy.seen[0].2), (120 * MS, ReportKind::Accepted));
    assert_eq!(sink.fills.len(), 1);
    assert_eq!(sink.fills[0].ts_exchange.as_nanos(), T0 + 200 * MS);
    assert_eq!(sink.fills[0].ts_report.as_nanos(), T0 + 300 * MS);
    assert_eq!(strategy.seen[1].0, 300 * MS);
}

#[test]
fn recorded_latency_sets_when_an_order_arrives_and_when_its_answer_comes_back() {
    // Samples: at 0 entry 5 ms / response 5 ms; at 2 s entry 25 ms / response 15 ms.
    let table = OrderLatency::from_samples(&[(T0, 5 * MS, 5 * MS), (T0 + 2 * S, 25 * MS, 15 * MS)])
        .unwrap();
    let mut c = config(&[]);
    c.order_latency = Some(Arc::new(table));
    let mut ev = Vec::new();
    book(&mut ev, 1000);
    book(&mut ev, 5000);
    let mut strategy = Ack::new((BookSide::Bid, "99", "1", OrderKind::PostOnly), false);
    run_ack(ev, &c, &mut strategy);
    // Sent at 1 s: entry 5 + 20 × 1/2 = 15 ms, at the exchange at 1.015 s; response at
    // 1.015 s: 5 + 10 × 1.015/2 = 10.075 ms; so the ack comes at 1.025075 s.
    assert_eq!(strategy.seen, [(1_025_075_000, 1_025_075_000, ReportKind::Accepted)]);
}

#[test]
fn a_second_trade_at_the_same_price_cannot_fill_against_the_size_already_consumed() {
    // Book 99 / 101; our bid of 1 at 100 improves it (nothing ahead). Trade 1, a SELL of 1 at
    // 100, fills it. A new bid of 1 at 100 is placed on the frame at 2 s, which changes the
    // 99 level only. Trade 2, another SELL of 1 at 100 with no depth row at 100 in between,
    // would reach it (nothing ahead), but the 1 it prints is what our first fill already
    // consumed at that level: no fill. A depth row at 100 (the level shows 2) starts the
    // level's new life; trade 3 then fills the new bid.
    let plan = vec![
        (0, BookSide::Bid, "100", "1", OrderKind::PostOnly),
        (2000, BookSide::Bid, "100", "1", OrderKind::PostOnly),
    ];
    let mut ev = Vec::new();
    book(&mut ev, 0);
    ev.push(trade(1000, TakerSide::Sell, "100", "1"));
    frame(&mut ev, 2000, 2, &[("99", "6")], &[("101", "5")]);
    ev.push(trade(3000, TakerSide::Sell, "100", "1"));
    let before_row = ev.len();
    frame(&mut ev, 4000, 4, &[("100", "2")], &[("101", "5")]);
    ev.push(trade(5000, TakerSide::Sell, "100", "1"));
    let (sink, _, _) = run_script(ev.clone(), &config(&[]), plan.clone());
    let filled: Vec<(u64, i64)> =
        sink.fills.iter().map(|f| (f.order_id, (f.ts_exchange.as_nanos() - T0) / MS)).collect();
    assert_eq!(filled, [(1, 1000), (2, 5000)]);
    // Without the depth row at 100 the level lives on: trade 3 cannot fill it either.
    let mut no_row = ev[..before_row].to_vec();
    no_row.push(trade(5000, TakerSide::Sell, "100", "1"));
    let (sink, _, _) = run_script(no_row.clone(), &config(&[]), plan.clone());
    assert_eq!(sink.fills.len(), 1);
    // A larger print at 100 has size beyond what was consumed: 2 − 1 reaches the bid.
    no_row.push(trade(6000, TakerSide::Sell, "100", "2"));
    let (sink, _, _) = run_script(no_row, &config(&[]), plan);
    assert_eq!(sink.fills.iter().map(|f| f.order_id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(sink.fills[1].ts_exchange.as_nanos(), T0 + 6 * S);

    // The remaining size of a partly filled order is held to the same rule: a bid of 2 with
    // partial fills, filled 1 by trade 1; trade 2's 1 at 100 is the consumed size again.
    let mut ev = Vec::new();
    book(&mut ev, 0);
    ev.push(trade(1000, TakerSide::Sell, "100", "1"));
    ev.push(trade(2000, TakerSide::Sell, "100", "1"));
    let plan = vec![(0, BookSide::Bid, "100", "2", OrderKind::PostOnly)];
    let c = config(&[("partial_fills", "true")]);
    let (sink, _, _) = run_script(ev.clone(), &c, plan.clone());
    assert_eq!(sink.fills.iter().map(|f| f.qty).collect::<Vec<_>>(), [q("1")]);
    ev.push(trade(3000, TakerSide::Sell, "100", "3"));
    let (sink, _, _) = run_script(ev, &c, plan);
    assert_eq!(sink.fills.iter().map(|f| f.qty).collect::<Vec<_>>(), [q("1"), q("1")]);
}

#[test]
fn a_marketable_order_cannot_take_the_same_displayed_size_twice() {
    // The ask shows 1 at 101. An IOC buy of 1 takes it at 0 ms; a second at the frame of
    // 1 s (which changes the bid side only) finds it consumed: no liquidity. After a depth
    // row at 101 (the ask shows 1 again) a third takes it.
    let mut ev = Vec::new();
    frame(&mut ev, 0, 0, &[("99", "5")], &[("101", "1")]);
    frame(&mut ev, 1000, 1, &[("99", "4")], &[]);
    frame(&mut ev, 2000, 2, &[], &[("101", "1")]);
    let ioc = |ms| (ms, BookSide::Bid, "101", "1", OrderKind::Ioc);
    let (sink, s, script) = run_script(ev, &config(&[]), vec![ioc(0), ioc(1000), ioc(2000)]);
    let got: Vec<(u64, i64)> =
        sink.fills.iter().map(|f| (f.order_id, (f.ts_exchange.as_nanos() - T0) / MS)).collect();
    assert_eq!(got, [(1, 10), (3, 2010)]);
    assert!(script
        .reports
        .iter()
        .any(|r| r.id == 2 && r.kind == ReportKind::Rejected(RejectReason::NoLiquidity)));
    assert_eq!(s.orders_rejected, 1);
}

#[test]
fn a_crossing_fill_uses_the_crossing_size_once() {
    // Two bids of 1 at 100 rest (book 99 / 102). The ask falls to 100 showing 1: the first
    // bid fills against it, the second finds that size consumed and rests. When a depth row
    // at 100 shows the ask again (3), the second fills.
    let mut ev = Vec::new();
    frame(&mut ev, 0, 0, &[("99", "5")], &[("102", "5")]);
    frame(&mut ev, 1000, 1, &[], &[("100", "1")]);
    frame(&mut ev, 2000, 2, &[("99", "6")], &[]);
    frame(&mut ev, 3000, 3, &[], &[("100", "3")]);
    let bid = |ms| (ms, BookSide::Bid, "100", "1", OrderKind::PostOnly);
    let c = config(&[("max_inventory", "5")]);
    let (sink, _, _) = run_script(ev, &c, vec![bid(0), bid(0)]);
    let got: Vec<(u64, i64, FillCause)> = sink
        .fills
        .iter()
        .map(|f| (f.order_id, (f.ts_exchange.as_nanos() - T0) / MS, f.cause))
        .collect();
    assert_eq!(got, [(1, 1000, FillCause::Crossing), (2, 3000, FillCause::Crossing)]);
}

#[test]
fn prices_off_the_tick_and_sizes_off_the_lot_are_invalid() {
    // Tick 1, lot 0.1: 99.5 is off the tick, 0.15 off the lot, an IOC at 100.5 too; 99 × 0.3
    // is fine.
    let mut ev = Vec::new();
    book(&mut ev, 0);
    book(&mut ev, 1000);
    let plan = vec![
        (0, BookSide::Bid, "99.5", "1", OrderKind::PostOnly),
        (0, BookSide::Bid, "99", "0.15", OrderKind::PostOnly),
        (0, BookSide::Ask, "100.5", "0.1", OrderKind::Ioc),
        (0, BookSide::Bid, "99", "0.3", OrderKind::PostOnly),
    ];
    let (_, s, script) = run_script(ev, &config(&[]), plan);
    let kinds: Vec<(u64, ReportKind)> = script.reports.iter().map(|r| (r.id, r.kind)).collect();
    let invalid = ReportKind::Rejected(RejectReason::Invalid);
    assert_eq!(kinds, [(1, invalid), (2, invalid), (3, invalid), (4, ReportKind::Accepted)]);
    assert_eq!(s.orders_rejected, 3);
}

#[test]
fn a_modify_off_the_tick_is_invalid_and_removes_the_order() {
    struct Mover {
        id: Option<u64>,
        reports: Vec<ReportKind>,
    }
    impl Strategy for Mover {
        fn on_top(&mut self, view: &View<'_>, _top: &BookTopRow, out: &mut Orders) {
            match self.id {
                None => {
                    self.id = Some(out.place(BookSide::Bid, p("99"), q("1"), OrderKind::PostOnly))
                }
                Some(id) if view.now.as_nanos() == T0 + S => out.modify(id, p("98.5"), q("1")),
                Some(_) => {}
            }
        }
        fn on_report(&mut self, _view: &View<'_>, report: &Report, _out: &mut Orders) {
            self.reports.push(report.kind);
        }
    }
    let mut ev = Vec::new();
    book(&mut ev, 0);
    book(&mut ev, 1000);
    book(&mut ev, 2000);
    let mut m = Mover { id: None, reports: Vec::new() };
    let mut sink = Collect::default();
    let iter = ev.into_iter().map(Ok::<_, Infallible>);
    run_with(iter, &config(&[]), &[], &mut m, &mut sink).unwrap();
    assert_eq!(m.reports, [ReportKind::Accepted, ReportKind::Rejected(RejectReason::Invalid)]);
}

#[test]
fn fills_carry_their_queue_position_and_the_mid_after_them() {
    // Bid of 1 at 99 behind 5; trades of 3 and 3 at 99: the second reaches it when 2 were
    // still ahead (queue_ahead 2). Mid 100 then; the book moves to 100 / 102 (mid 101) at
    // 1.5 s after the fill, and to 98 / 100 (mid 99) at 30 s; the run ends at 70 s.
    let mut ev = Vec::new();
    book(&mut ev, 0);
    ev.push(trade(1000, TakerSide::Sell, "99", "3"));
    ev.push(trade(2000, TakerSide::Sell, "99", "3"));
    frame(&mut ev, 3500, 3, &[("99", "0"), ("100", "1")], &[("101", "0"), ("102", "1")]);
    frame(&mut ev, 32_000, 4, &[("100", "0"), ("98", "1")], &[("102", "0"), ("100", "1")]);
    frame(&mut ev, 72_000, 5, &[("97", "1")], &[]);
    let plan = vec![(0, BookSide::Bid, "99", "1", OrderKind::PostOnly)];
    let (sink, s, _) = run_script(ev, &config(&[]), plan);
    let f = &sink.fills[0];
    assert_eq!((f.ts_exchange.as_nanos(), f.queue_ahead), (T0 + 2 * S, Some(q("2"))));
    // At +1 s (3 s) the mid is still 100; at +10 s (12 s) 101; at +60 s (62 s) 99.
    assert_eq!(
        f.later_mid2,
        [Some(2 * p("100").raw()), Some(2 * p("101").raw()), Some(2 * p("99").raw())]
    );
    assert_eq!(
        (f.markout(0), f.markout(1), f.markout(2)),
        (Some(p("0")), Some(p("1")), Some(p("-1")))
    );
    assert_eq!(f.markout_bps(2), Some(-100.0));
    let behind: Vec<(&str, u32, Option<f64>)> = s
        .markouts_by
        .iter()
        .filter(|r| r.by == "position")
        .map(|r| (r.group, r.horizon_seconds, r.mean))
        .collect();
    assert_eq!(
        behind,
        [
            ("queue_behind", 1, Some(0.0)),
            ("queue_behind", 10, Some(1.0)),
            ("queue_behind", 60, Some(-1.0))
        ]
    );
}
