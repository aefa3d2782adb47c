//! The metrics of docs/MODEL.md "Metrics every backtest reports", accumulated as the run goes so
//! nothing grows with its length: counters for fills and volume, the integral of |inventory|
//! over exchange time, running Sharpe/Sortino/drawdown sums over the per-second equity, and
//! markouts whose fills wait in a queue only until their horizon has passed (at most a
//! minute of fills).
//!
//! Mids are carried as `bid + ask` in raw units (twice the mid) so they stay exact integers;
//! averages of them are `f64` statistics.

use std::collections::VecDeque;

use crate::backtest::report::{FillCause, Markout, Summary};
use crate::model::contract::Contract;
use crate::model::money::Money;
use crate::model::{BookSide, Price, Qty, NANOS_PER_SEC, UNIT};

/// Markout horizons, seconds.
pub const HORIZONS: [u32; 3] = [1, 10, 60];
/// Per-minute observations in a 365-day year.
const MINUTES_PER_YEAR: f64 = 365.0 * 24.0 * 60.0;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SEC;

#[derive(Debug, Default, Clone)]
struct Horizon {
    /// `(due time, +1 buy / −1 sell, 2 × mid at the fill)`, due times ascending.
    pending: VecDeque<(i64, i64, i64)>,
    sum: f64,
    sum_bps: f64,
    n: u64,
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
    horizons: [Horizon; 3],
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
            horizons: Default::default(),
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

    /// Counts one fill by its cause (besides [`Metrics::on_fill`]).
    pub fn on_cause(&mut self, cause: FillCause) {
        self.by_cause[cause as usize] += 1;
    }

    /// One of our fills at exchange time `t`; `mid2` is the exchange's bid + ask then.
    pub fn on_fill(
        &mut self,
        t: i64,
        side: BookSide,
        price: Price,
        qty: Qty,
        position: i64,
        mid2: Option<i64>,
    ) {
        self.on_time(t);
        match side {
            BookSide::Bid => self.fills_bid += 1,
            BookSide::Ask => self.fills_ask += 1,
        }
        self.volume += qty.raw();
        self.turnover += self.contract.value(price, qty);
        self.position = position;
        self.max_abs = self.max_abs.max(position.abs());
        let Some(mid2) = mid2 else { return };
        let sign: i64 = if side == BookSide::Bid { 1 } else { -1 };
        let mid = mid2 as f64 / 2.0 / UNIT as f64;
        let captured = (sign * (mid2 - 2 * price.raw())) as f64 / 2.0 / UNIT as f64;
        self.captured_sum += captured;
        self.captured_bps_sum += captured / mid * 1e4;
        self.captured_n += 1;
        for (h, secs) in self.horizons.iter_mut().zip(HORIZONS) {
            h.pending.push_back((t + i64::from(secs) * NANOS_PER_SEC, sign, mid2));
        }
    }

    /// A new book frame at exchange time `t`; `prev_mid2` is the mid in force until now, which
    /// is the mid at every horizon that ended before `t`.
    pub fn on_book(&mut self, t: i64, prev_mid2: Option<i64>) {
        let Some(mid2) = prev_mid2 else { return };
        for h in &mut self.horizons {
            while h.pending.front().is_some_and(|p| p.0 < t) {
                if let Some((_, sign, at)) = h.pending.pop_front() {
                    let moved = (sign * (mid2 - at)) as f64 / 2.0 / UNIT as f64;
                    h.sum += moved;
                    h.sum_bps += moved / (at as f64 / 2.0 / UNIT as f64) * 1e4;
                    h.n += 1;
                }
            }
        }
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

    /// Closes the markouts whose horizon ended by `t` (at the last mid), drops the others, and
    /// fills every metric field of `s`. `net` is the final equity − 0.
    pub fn finish(mut self, t: i64, mid2: Option<i64>, net: Money, s: &mut Summary) {
        self.on_book(t + 1, mid2);
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
        s.markouts = self
            .horizons
            .iter()
            .zip(HORIZONS)
            .map(|(h, secs)| Markout {
                horizon_seconds: secs,
                fills: h.n,
                mean: (h.n > 0).then(|| h.sum / h.n as f64),
                mean_bps: (h.n > 0).then(|| h.sum_bps / h.n as f64),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn markouts_use_the_mid_at_each_horizon_and_skip_unfinished_ones() {
        let mut m = Metrics::new();
        let s = NANOS_PER_SEC;
        let mid2 = |mid: &str| 2 * p(mid).raw();
        // Mid 100 at 0; buy 1 at 99.5 at 0 (captured +0.5), sell 1 at 100.5 at 0.5 s
        // (captured +0.5).
        m.on_time(0);
        m.on_fill(
            0,
            BookSide::Bid,
            p("99.5"),
            Qty::from_raw(100_000_000),
            100_000_000,
            Some(mid2("100")),
        );
        m.on_fill(
            s / 2,
            BookSide::Ask,
            p("100.5"),
            Qty::from_raw(100_000_000),
            0,
            Some(mid2("100")),
        );
        // The mid moves to 101 at 0.8 s and to 98 at 5 s; the run ends at 20 s.
        m.on_book(800_000_000, Some(mid2("100")));
        m.on_book(5 * s, Some(mid2("101")));
        let mut out = Summary::default();
        m.finish(20 * s, Some(mid2("98")), Money::ZERO, &mut out);
        assert_eq!(out.avg_captured_spread, Some(0.5));
        assert_eq!(out.fills_bid + out.fills_ask, 2);
        // 1 s: the buy (due 1 s) sees 101: +1; the sell (due 1.5 s) sees 101: −1. Mean 0.
        let one = &out.markouts[0];
        assert_eq!((one.horizon_seconds, one.fills, one.mean), (1, 2, Some(0.0)));
        // 10 s: both see 98 (due 10 s and 10.5 s ≤ 20 s): buy −2, sell +2. Mean 0; the buy alone
        // would be adverse.
        assert_eq!((out.markouts[1].fills, out.markouts[1].mean), (2, Some(0.0)));
        // 60 s: past the end of the run: not counted.
        assert_eq!((out.markouts[2].fills, out.markouts[2].mean), (0, None));
        // |inventory| 1 for 0.5 s of 20 s: 0.025.
        assert_eq!(out.time_weighted_abs_inventory, Qty::from_raw(2_500_000));
        assert_eq!(out.max_abs_inventory, Qty::from_raw(100_000_000));
    }
}
