//! The metrics of docs/MODEL.md "Metrics every backtest reports", accumulated as the run goes so
//! nothing grows with its length: counters for fills and volume, the integral of |inventory|
//! over exchange time, running Sharpe/Sortino/drawdown sums over the per-second equity, and
//! markouts. For the markouts every fill waits in a queue until its last horizon (60 s) has
//! passed in exchange time — at most a minute of fills — and leaves it with the mid at each
//! horizon filled in ([`Fill::later_mid2`]), for `fills.parquet`; the means are taken over all
//! fills, by side and by queue position at the fill (its cause, and whether size was still
//! ahead of it).
//!
//! "The mid at t" is that of the latest book frame with exchange time at or before t (none if
//! that frame is one-sided); the engine calls [`Metrics::on_book`] before each frame with the
//! mid in force until then, which closes every horizon that ended before the frame.
//!
//! Mids are carried as `bid + ask` in raw units (twice the mid) so they stay exact integers;
//! averages of them are `f64` statistics.

use std::collections::VecDeque;

use crate::backtest::report::{Fill, GroupMarkout, Markout, Summary};
use crate::model::contract::Contract;
use crate::model::money::Money;
use crate::model::{BookSide, Qty, NANOS_PER_SEC, UNIT};

/// Markout horizons, seconds.
pub const HORIZONS: [u32; 3] = [1, 10, 60];
/// Per-minute observations in a 365-day year.
const MINUTES_PER_YEAR: f64 = 365.0 * 24.0 * 60.0;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SEC;

/// Running sums of one mean markout.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    sum: f64,
    sum_bps: f64,
    n: u64,
}

impl Acc {
    /// A fill of sign `sign` with `at` = 2 × mid at the fill and `later` = 2 × mid at the
    /// horizon.
    fn push(&mut self, sign: i64, at: i64, later: i64) {
        let moved = (sign * (later - at)) as f64 / 2.0 / UNIT as f64;
        self.sum += moved;
        self.sum_bps += moved / (at as f64 / 2.0 / UNIT as f64) * 1e4;
        self.n += 1;
    }

    fn mean(&self) -> (Option<f64>, Option<f64>) {
        let n = self.n as f64;
        ((self.n > 0).then(|| self.sum / n), (self.n > 0).then(|| self.sum_bps / n))
    }
}

/// Queue-position groups: per [`FillCause`] (in [`FillCause::ALL`]'s order), nothing ahead,
/// some size ahead, not known (`cross` fill model, taker fills).
const POSITIONS: usize = 12;
const POSITION_NAMES: [&str; POSITIONS] = [
    "queue_front",
    "queue_behind",
    "queue",
    "through_front",
    "through_behind",
    "through",
    "crossing_front",
    "crossing_behind",
    "crossing",
    "taker_front",
    "taker_behind",
    "taker",
];

fn position(fill: &Fill) -> usize {
    let at = match fill.queue_ahead {
        Some(a) if a.raw() > 0 => 1,
        Some(_) => 0,
        None => 2,
    };
    fill.cause as usize * 3 + at
}

fn side_index(side: BookSide) -> usize {
    match side {
        BookSide::Bid => 0,
        BookSide::Ask => 1,
    }
}

/// The fills waiting for their horizons, and the means they feed.
#[derive(Debug, Default, Clone)]
struct Markouts {
    /// Fills in execution order (exchange time non-decreasing).
    pending: VecDeque<Fill>,
    /// Per horizon, how many fills at the front of `pending` have it closed.
    closed: [usize; 3],
    /// No more horizons will close: the run ended.
    ended: bool,
    all: [Acc; 3],
    by_side: [[Acc; 3]; 2],
    by_position: [[Acc; 3]; POSITIONS],
    /// Fills seen per group (to list the groups that had any).
    side_fills: [u64; 2],
    position_fills: [u64; POSITIONS],
}

impl Markouts {
    fn push(&mut self, fill: Fill) {
        self.side_fills[side_index(fill.side)] += 1;
        self.position_fills[position(&fill)] += 1;
        self.pending.push_back(fill);
    }

    /// Closes every horizon that ended before exchange time `t` with `mid2`, the mid in force
    /// until `t`.
    fn close_before(&mut self, t: i64, mid2: Option<i64>) {
        for (k, secs) in HORIZONS.iter().enumerate() {
            let h = i64::from(*secs) * NANOS_PER_SEC;
            while let Some(fill) = self.pending.get_mut(self.closed[k]) {
                if fill.ts_exchange.as_nanos().saturating_add(h) >= t {
                    break;
                }
                fill.later_mid2[k] = mid2;
                if let (Some(at), Some(later)) = (fill.mid2, mid2) {
                    let sign = fill.sign();
                    self.all[k].push(sign, at, later);
                    self.by_side[side_index(fill.side)][k].push(sign, at, later);
                    self.by_position[position(fill)][k].push(sign, at, later);
                }
                self.closed[k] += 1;
            }
        }
    }

    /// The oldest fill, once its last horizon is closed.
    fn pop(&mut self) -> Option<Fill> {
        if self.closed[2] == 0 {
            return None;
        }
        // Horizons close in order, so the front fill has all three closed.
        for c in &mut self.closed {
            *c -= 1;
        }
        self.pending.pop_front()
    }

    /// The run ended at exchange time `t` with `mid2` in force: horizons ending by `t` close
    /// with it, the later ones stay unknown.
    fn end(&mut self, t: i64, mid2: Option<i64>) {
        if self.ended {
            return;
        }
        self.close_before(t.saturating_add(1), mid2);
        self.closed = [self.pending.len(); 3];
        self.ended = true;
    }

    fn rows(&self) -> (Vec<Markout>, Vec<GroupMarkout>) {
        let markout = |acc: &Acc, secs: u32| {
            let (mean, mean_bps) = acc.mean();
            Markout { horizon_seconds: secs, fills: acc.n, mean, mean_bps }
        };
        let all = self.all.iter().zip(HORIZONS).map(|(a, secs)| markout(a, secs)).collect();
        let mut by = Vec::new();
        let mut group = |name: &'static str, kind: &'static str, accs: &[Acc; 3]| {
            for (acc, secs) in accs.iter().zip(HORIZONS) {
                let m = markout(acc, secs);
                by.push(GroupMarkout {
                    by: kind,
                    group: name,
                    horizon_seconds: secs,
                    fills: m.fills,
                    mean: m.mean,
                    mean_bps: m.mean_bps,
                });
            }
        };
        for (i, name) in ["bid", "ask"].into_iter().enumerate() {
            if self.side_fills[i] > 0 {
                group(name, "side", &self.by_side[i]);
            }
        }
        for (i, name) in POSITION_NAMES.into_iter().enumerate() {
            if self.position_fills[i] > 0 {
                group(name, "position", &self.by_position[i]);
            }
        }
        (all, by)
    }
}

/// Running mean and variance (Welford), for the per-minute equity changes.
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    down_sq: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        if x < 0.0 {
            self.down_sq += x * x;
        }
    }
}

/// Accumulates every metric of one run.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Values the turnover.
    contract: Contract,
    fills_bid: u64,
    fills_ask: u64,
    /// Fills by [`FillCause`], in the order of [`FillCause::ALL`].
    by_cause: [u64; 4],
    volume: i64,
    turnover: Money,
    position: i64,
    max_abs: i64,
    /// ∫ |position| dt over exchange time, raw qty × ns.
    area: i128,
    first_t: Option<i64>,
    last_t: Option<i64>,
    captured_sum: f64,
    captured_bps_sum: f64,
    captured_n: u64,
    markouts: Markouts,
    peak: Option<Money>,
    max_drawdown: Money,
    last_minute: Option<Money>,
    minutes: Moments,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics of a linear market of size 1 (turnover = price × qty).
    pub fn new() -> Self {
        Self::with_contract(Contract::LINEAR_1)
    }

    /// Metrics whose turnover is the value of each fill under `contract`, in the settlement
    /// currency ([`Contract::value`]).
    pub fn with_contract(contract: Contract) -> Self {
        Self {
            contract,
            fills_bid: 0,
            fills_ask: 0,
            by_cause: [0; 4],
            volume: 0,
            turnover: Money::ZERO,
            position: 0,
            max_abs: 0,
            area: 0,
            first_t: None,
            last_t: None,
            captured_sum: 0.0,
            captured_bps_sum: 0.0,
            captured_n: 0,
            markouts: Markouts::default(),
            peak: None,
            max_drawdown: Money::ZERO,
            last_minute: None,
            minutes: Moments::default(),
        }
    }

    /// Exchange time has reached `t` (non-decreasing).
    pub fn on_time(&mut self, t: i64) {
        if let Some(last) = self.last_t {
            self.area += i128::from(self.position.abs()) * i128::from(t - last);
        } else {
            self.first_t = Some(t);
        }
        self.last_t = Some(t);
    }

    /// One of our fills, executed at exchange time `fill.ts_exchange` with the exchange's mid
    /// `fill.mid2` then. It waits here for its markout horizons ([`Metrics::pop_fill`]).
    pub fn on_fill(&mut self, fill: Fill) {
        let t = fill.ts_exchange.as_nanos();
        self.on_time(t);
        match fill.side {
            BookSide::Bid => self.fills_bid += 1,
            BookSide::Ask => self.fills_ask += 1,
        }
        self.by_cause[fill.cause as usize] += 1;
        self.volume += fill.qty.raw();
        self.turnover += self.contract.value(fill.price, fill.qty);
        self.position = fill.position.raw();
        self.max_abs = self.max_abs.max(self.position.abs());
        if let Some(mid2) = fill.mid2 {
            let mid = mid2 as f64 / 2.0 / UNIT as f64;
            let captured = (fill.sign() * (mid2 - 2 * fill.price.raw())) as f64 / 2.0 / UNIT as f64;
            self.captured_sum += captured;
            self.captured_bps_sum += captured / mid * 1e4;
            self.captured_n += 1;
        }
        self.markouts.push(fill);
    }

    /// A new book frame at exchange time `t`; `prev_mid2` is the mid in force until now, which
    /// is the mid at every horizon that ended before `t`.
    pub fn on_book(&mut self, t: i64, prev_mid2: Option<i64>) {
        self.markouts.close_before(t, prev_mid2);
    }

    /// The oldest fill whose markout horizons are all known (or can no longer be), with
    /// [`Fill::later_mid2`] filled in; fills come out in the order they went in.
    pub fn pop_fill(&mut self) -> Option<Fill> {
        self.markouts.pop()
    }

    /// The run ended at exchange time `t` with `mid2` in force: the horizons ending by `t`
    /// close, the others stay unknown, and every fill can be popped.
    pub fn end(&mut self, t: i64, mid2: Option<i64>) {
        self.markouts.end(t, mid2);
    }

    /// The per-second equity at strategy time `ts`.
    pub fn on_equity(&mut self, ts: i64, equity: Money) {
        let peak = self.peak.map_or(equity, |p| p.max(equity));
        self.peak = Some(peak);
        self.max_drawdown = self.max_drawdown.max(peak - equity);
        if ts.rem_euclid(NANOS_PER_MINUTE) == 0 {
            if let Some(last) = self.last_minute {
                self.minutes.push((equity - last).to_f64());
            }
            self.last_minute = Some(equity);
        }
    }

    /// Ends the run at `t` (see [`Metrics::end`]; fills not popped by then are dropped) and
    /// fills every metric field of `s`. `net` is the final equity − 0.
    pub fn finish(mut self, t: i64, mid2: Option<i64>, net: Money, s: &mut Summary) {
        self.end(t, mid2);
        s.fills_bid = self.fills_bid;
        s.fills_ask = self.fills_ask;
        [s.fills_queue, s.fills_through, s.fills_crossing, s.fills_taker] = self.by_cause;
        s.volume = Qty::from_raw(self.volume);
        s.turnover = self.turnover;
        s.max_abs_inventory = Qty::from_raw(self.max_abs);
        if self.last_t.is_some_and(|last| t > last) {
            self.on_time(t);
        }
        s.time_weighted_abs_inventory = match (self.first_t, self.last_t) {
            (Some(a), Some(b)) if b > a => Qty::from_raw((self.area / i128::from(b - a)) as i64),
            _ => Qty::from_raw(self.position.abs()),
        };
        let m = self.minutes;
        s.minutes = m.n;
        let annual = MINUTES_PER_YEAR.sqrt();
        let sd = if m.n >= 2 { (m.m2 / (m.n - 1) as f64).sqrt() } else { 0.0 };
        s.sharpe = (m.n >= 2 && sd > 0.0).then(|| m.mean / sd * annual);
        let down = if m.n > 0 { (m.down_sq / m.n as f64).sqrt() } else { 0.0 };
        s.sortino = (m.n >= 2 && down > 0.0).then(|| m.mean / down * annual);
        s.max_drawdown = self.max_drawdown;
        s.pnl_over_max_drawdown =
            (self.max_drawdown > Money::ZERO).then(|| net.to_f64() / self.max_drawdown.to_f64());
        let n = self.captured_n as f64;
        s.avg_captured_spread = (self.captured_n > 0).then(|| self.captured_sum / n);
        s.avg_captured_spread_bps = (self.captured_n > 0).then(|| self.captured_bps_sum / n);
        (s.markouts, s.markouts_by) = self.markouts.rows();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::report::FillCause;
    use crate::backtest::report::Liquidity;
    use crate::model::{EventTime, Price, RecvTime};

    const M: i64 = 60 * NANOS_PER_SEC;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    #[test]
    fn sharpe_sortino_and_drawdown_of_a_hand_path() {
        let mut m = Metrics::new();
        // Equity at minutes 0..3: 0, 10, 5, 20 (and a second in between that is not a
        // minute: it counts for the drawdown only). Changes 10, −5, 15.
        for (ts, eq) in [(0, 0), (M, 10), (M + NANOS_PER_SEC, 2), (2 * M, 5), (3 * M, 20)] {
            m.on_equity(ts, Money::from_units(eq));
        }
        let mut s = Summary::default();
        m.finish(3 * M, None, Money::from_units(20), &mut s);
        assert_eq!(s.minutes, 3);
        // mean 20/3; sample sd √((3.33² + 11.67² + 8.33²)/2) = √108.33 = 10.408;
        // × √525600 = 724.98: Sharpe 464.36.
        let sharpe = s.sharpe.unwrap();
        assert!((sharpe - (20.0 / 3.0) / 108.333_333_f64.sqrt() * 525_600f64.sqrt()).abs() < 1e-3);
        assert!((sharpe - 464.36).abs() < 0.01, "{sharpe}");
        // Downside deviation √(25/3) = 2.8868: Sortino 6.667/2.8868 × 724.98 = 1674.3.
        assert!((s.sortino.unwrap() - 1674.3).abs() < 0.1, "{:?}", s.sortino);
        // Peak 10, trough 2: drawdown 8; PnL 20 / 8 = 2.5.
        assert_eq!(s.max_drawdown, Money::from_units(8));
        assert_eq!(s.pnl_over_max_drawdown, Some(2.5));
    }

    /// A fill of 1 at `price` at exchange time `t`, with the mid `mid` then.
    fn fill(t: i64, side: BookSide, price: &str, position: &str, mid: &str) -> Fill {
        let mid2 = 2 * p(mid).raw();
        Fill {
            ts_exchange: RecvTime::from_nanos(t),
            ts_report: RecvTime::from_nanos(t + 10_000_000),
            ts_event: EventTime::from_nanos(t),
            order_id: 1,
            side,
            price: p(price),
            qty: Qty::parse("1").unwrap(),
            liquidity: Liquidity::Maker,
            cause: FillCause::Queue,
            fee: Money::ZERO,
            position: Qty::parse(position).unwrap(),
            cash: Money::ZERO,
            mid: Some(Price::from_raw(mid2 / 2)),
            mid2: Some(mid2),
            queue_ahead: Some(Qty::ZERO),
            later_mid2: [None; 3],
        }
    }

    #[test]
    fn markouts_use_the_mid_at_each_horizon_and_skip_unfinished_ones() {
        let mut m = Metrics::new();
        let s = NANOS_PER_SEC;
        let mid2 = |mid: &str| Some(2 * p(mid).raw());
        // Mid 100 at 0; buy 1 at 99.5 at 0 (captured +0.5), sell 1 at 100.5 at 0.5 s
        // (captured +0.5); the sell was still behind 3 in its queue when the trade came.
        m.on_time(0);
        m.on_fill(fill(0, BookSide::Bid, "99.5", "1", "100"));
        m.on_fill(Fill {
            queue_ahead: Some(Qty::parse("3").unwrap()),
            ..fill(s / 2, BookSide::Ask, "100.5", "0", "100")
        });
        // The mid moves to 101 at 0.8 s and to 98 at 5 s; the run ends at 20 s.
        m.on_book(800_000_000, mid2("100"));
        assert!(m.pop_fill().is_none(), "no fill has its 60 s horizon yet");
        m.on_book(5 * s, mid2("101"));
        m.end(20 * s, mid2("98"));
        let fills: Vec<Fill> = std::iter::from_fn(|| m.pop_fill()).collect();
        // 1 s: the buy (due 1 s) and the sell (due 1.5 s) see 101; 10 s: 98; 60 s: past the
        // end of the run.
        assert_eq!(fills.len(), 2);
        for f in &fills {
            assert_eq!(f.later_mid2, [mid2("101"), mid2("98"), None]);
        }
        // The buy: +1 at 1 s (+100 bps of 100), −2 at 10 s; the sell the other way round.
        assert_eq!(fills[0].mid_after(0), Some(p("101")));
        assert_eq!(fills[0].markout(0), Some(p("1")));
        assert_eq!(fills[1].markout(0), Some(p("-1")));
        assert_eq!(fills[0].markout(1), Some(p("-2")));
        assert_eq!(fills[0].markout_bps(0), Some(100.0));
        assert_eq!(fills[1].markout_bps(1), Some(200.0));
        assert_eq!(fills[0].markout(2), None);
        let mut out = Summary::default();
        m.finish(20 * s, mid2("98"), Money::ZERO, &mut out);
        assert_eq!(out.avg_captured_spread, Some(0.5));
        assert_eq!(out.fills_bid + out.fills_ask, 2);
        // 1 s: buy +1, sell −1: mean 0.
        let one = &out.markouts[0];
        assert_eq!((one.horizon_seconds, one.fills, one.mean), (1, 2, Some(0.0)));
        // 10 s: both see 98: buy −2, sell +2. Mean 0; the buy alone would be adverse.
        assert_eq!((out.markouts[1].fills, out.markouts[1].mean), (2, Some(0.0)));
        // 60 s: past the end of the run: not counted.
        assert_eq!((out.markouts[2].fills, out.markouts[2].mean), (0, None));
        // By side and by queue position: bid, ask, queue_front (the buy), queue_behind (the
        // sell), three horizons each.
        let rows: Vec<(&str, &str, u32, u64, Option<f64>)> = out
            .markouts_by
            .iter()
            .map(|r| (r.by, r.group, r.horizon_seconds, r.fills, r.mean))
            .collect();
        assert_eq!(
            rows,
            [
                ("side", "bid", 1, 1, Some(1.0)),
                ("side", "bid", 10, 1, Some(-2.0)),
                ("side", "bid", 60, 0, None),
                ("side", "ask", 1, 1, Some(-1.0)),
                ("side", "ask", 10, 1, Some(2.0)),
                ("side", "ask", 60, 0, None),
                ("position", "queue_front", 1, 1, Some(1.0)),
                ("position", "queue_front", 10, 1, Some(-2.0)),
                ("position", "queue_front", 60, 0, None),
                ("position", "queue_behind", 1, 1, Some(-1.0)),
                ("position", "queue_behind", 10, 1, Some(2.0)),
                ("position", "queue_behind", 60, 0, None),
            ]
        );
        assert_eq!(out.markouts_by[3].mean_bps, Some(-100.0));
        // |inventory| 1 for 0.5 s of 20 s: 0.025.
        assert_eq!(out.time_weighted_abs_inventory, Qty::from_raw(2_500_000));
        assert_eq!(out.max_abs_inventory, Qty::from_raw(100_000_000));
    }

    #[test]
    fn a_horizon_ending_on_a_frame_takes_that_frame_s_mid_and_fills_leave_in_order() {
        let mut m = Metrics::new();
        let s = NANOS_PER_SEC;
        let mid2 = |mid: &str| Some(2 * p(mid).raw());
        // Frames: mid 100 at 0, 102 at exactly 1 s, one-sided at 2.5 s, 101 at 3.5 s, 99 at
        // 70 s. A buy at 0, a sell at 2 s. Each `on_book` gets the mid in force before it.
        m.on_book(0, None);
        m.on_fill(fill(0, BookSide::Bid, "100", "1", "100"));
        m.on_book(s, mid2("100"));
        m.on_fill(fill(2 * s, BookSide::Ask, "100", "0", "102"));
        m.on_book(2_500_000_000, mid2("102"));
        m.on_book(3_500_000_000, None);
        assert!(m.pop_fill().is_none());
        m.on_book(70 * s, mid2("101"));
        // The buy's 1 s horizon ends exactly on the 1 s frame: its mid, 102. The sell's 1 s
        // horizon (3 s) falls on the one-sided frame: unknown. The rest: 101.
        let a = m.pop_fill().unwrap();
        assert_eq!(
            (a.side, a.later_mid2),
            (BookSide::Bid, [mid2("102"), mid2("101"), mid2("101")])
        );
        let b = m.pop_fill().unwrap();
        assert_eq!((b.side, b.later_mid2), (BookSide::Ask, [None, mid2("101"), mid2("101")]));
        assert!(m.pop_fill().is_none());
        let mut out = Summary::default();
        m.finish(70 * s, mid2("99"), Money::ZERO, &mut out);
        // 1 s: the buy alone (102 − 100 = +2); 10 s: the buy +1 (101 − 100) and the sell,
        // done at a mid of 102, +1 too (−(101 − 102)).
        assert_eq!((out.markouts[0].fills, out.markouts[0].mean), (1, Some(2.0)));
        assert_eq!((out.markouts[1].fills, out.markouts[1].mean), (2, Some(1.0)));
    }
}
