//! Many windows' calibrations from rows held in memory, in one pass over the data: the
//! definitions of `sql/volatility.sql`, `sql/orders.sql`, `sql/reach.sql`,
//! `sql/intensity.sql` and `sql/fit.sql`, step for step, in Rust.
//!
//! Why it exists: the backtester needs a fit every few minutes of a replay (docs/MODEL.md
//! "Recalibration in one pass"), and a DataFusion plan per fit cost about 90 ms — most of a
//! whole run on the 11-minute sample (1.0 s of 1.2 s, issue 22). The SQL stays the
//! definition: `mdkit calibrate` runs it, and tests/it/one_pass.rs holds this module to it
//! (1e-12) on the golden trees.
//!
//! [`Rolling`] is fed book frames and trades in receive order and asked for windows in
//! time order. It keeps the rows of the current window and, of the frames before it, only
//! the newest: the mid at a window's start and a trade's mid need the newest earlier frame,
//! never an older one. So its memory is one window of rows, however long the range.

use std::collections::VecDeque;

use crate::model::{BookSide, Price};
use crate::storage::CalibrationRow;

use super::{
    grid, CalibrateError, DepthGrid, Fit, GridSpec, IntensityPoint, Settings, Volatility, Window,
};
use crate::model::GridSource;

/// A `book_top` frame with both best prices, as the SQL reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Venue clock, ns.
    pub ts_event: i64,
    /// Receive clock, ns.
    pub ts_recv: i64,
    pub conn: i64,
    pub seq: i64,
    /// `bid_price_0 + ask_price_0`, raw price units (10⁻⁸).
    pub bid_ask: i128,
}

impl Frame {
    /// The order the SQL ranks frames by: `ts_event, ts_recv, conn, seq`.
    fn key(&self) -> (i64, i64, i64, i64) {
        (self.ts_event, self.ts_recv, self.conn, self.seq)
    }

    /// `CAST(bid + ask AS DOUBLE) / 2.0`, as DataFusion casts a decimal.
    fn mid(&self) -> f64 {
        self.bid_ask as f64 / 1e8 / 2.0
    }
}

/// A trade, as the SQL reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Print {
    /// Venue clock, ns.
    pub ts_event: i64,
    /// The taker sold (hit the bids).
    pub sell: bool,
    /// Raw price units (10⁻⁸).
    pub price: i64,
}

/// The rows that windows ending at increasing times are computed from (see the module).
#[derive(Debug, Default)]
pub struct Rolling {
    /// Frames with `ts_event` at or after the last window start, in key order.
    frames: VecDeque<Frame>,
    /// The newest (by key) frame dropped for being before a window start.
    before: Option<Frame>,
    /// Trades with `ts_event` at or after the last window start, by `ts_event`.
    prints: VecDeque<Print>,
}

impl Rolling {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a frame; frames come nearly in key order, so this is a push at the back.
    pub fn push_frame(&mut self, frame: Frame) {
        let at = self.frames.iter().rposition(|f| f.key() <= frame.key()).map_or(0, |i| i + 1);
        self.frames.insert(at, frame);
    }

    pub fn push_print(&mut self, print: Print) {
        let at =
            self.prints.iter().rposition(|p| p.ts_event <= print.ts_event).map_or(0, |i| i + 1);
        self.prints.insert(at, print);
    }

    /// Rows held now (for tests of the memory bound).
    pub fn held(&self) -> usize {
        self.frames.len() + self.prints.len()
    }

    /// The calibration of `window` over the rows pushed so far. Window starts must not go
    /// back between calls: rows before a start are dropped.
    pub fn window(
        &mut self,
        window: Window,
        settings: &Settings,
    ) -> Result<CalibrationRow, CalibrateError> {
        settings.validate()?;
        let start = window.start.as_nanos();
        while self.frames.front().is_some_and(|f| f.ts_event < start) {
            let old = self.frames.pop_front();
            if old.is_some_and(|f| self.before.is_none_or(|b| f.key() > b.key())) {
                self.before = old;
            }
        }
        while self.prints.front().is_some_and(|p| p.ts_event < start) {
            self.prints.pop_front();
        }
        let lookback = start.saturating_sub(settings.lookback_ns);
        let end = window.end.as_nanos();
        let before = self.before.filter(|b| b.ts_event >= lookback);
        let frames: Vec<Frame> = before
            .into_iter()
            .chain(self.frames.iter().copied().take_while(|f| f.ts_event < end))
            .collect();
        let prints: Vec<Print> =
            self.prints.iter().copied().take_while(|p| p.ts_event < end).collect();
        calibrate(&frames, &prints, window, settings)
    }
}

/// One window from its frames (newest earlier frame first, then the window's, in key order,
/// all with `ts_event` < end) and its trades (by `ts_event`, all in the window).
fn calibrate(
    frames: &[Frame],
    prints: &[Print],
    window: Window,
    settings: &Settings,
) -> Result<CalibrationRow, CalibrateError> {
    let vol = volatility(frames, window, settings);
    let orders = orders(frames, prints);
    let (grid, source) = match settings.grid {
        GridSpec::Set(grid) => (grid, GridSource::Set),
        GridSpec::FromData { tick, levels, start } => {
            let tail = grid::tail_orders(settings.min_count);
            let reach = orders.iter().filter_map(|side| side.reach(tail)).min();
            grid::choose(tick, levels, start, reach.map(price))
        }
    };
    let points = intensity(&orders, window, grid);
    let fits = fit(&points, settings.min_count);
    Ok(super::assemble(window, vol, grid, source, &points, &fits, settings))
}

fn price(raw: i128) -> Price {
    Price::from_raw(i64::try_from(raw).unwrap_or(i64::MAX))
}

/// `sql/volatility.sql`: the mid of each grid bucket's last frame, the log returns between
/// occupied buckets, and their sample deviation with the zero returns counted in.
fn volatility(frames: &[Frame], window: Window, settings: &Settings) -> Volatility {
    let start = window.start.as_nanos();
    let dt = settings.sample_interval_ns;
    let span = (window.end.as_nanos() - start).max(0);
    let n = (span + dt - 1) / dt;
    // (bucket, mid of its last frame), buckets in order.
    let mut buckets: Vec<(i64, f64)> = Vec::new();
    for f in frames {
        let k = if f.ts_event <= start { 0 } else { (f.ts_event - start - 1) / dt + 1 };
        if k >= n {
            break;
        }
        match buckets.last_mut() {
            Some(last) if last.0 == k => last.1 = f.mid(),
            _ => buckets.push((k, f.mid())),
        }
    }
    let Some(&(first, _)) = buckets.first() else {
        return Volatility { sigma: None, mid_samples: 0, returns: 0, mean_mid: None };
    };
    let samples = n - first;
    let returns = samples - 1;
    let nonzero = buckets.len() as i64 - 1;
    let r: Vec<f64> = buckets.windows(2).map(|w| (w[1].1 / w[0].1).ln()).collect();
    let r_sum = if r.is_empty() { None } else { Some(r.iter().sum::<f64>()) };
    let mut mid_sum = 0.0;
    for (i, (k, mid)) in buckets.iter().enumerate() {
        let next = buckets.get(i + 1).map_or(n, |b| b.0);
        mid_sum += mid * (next - k) as f64;
    }
    let mean_r = r_sum.unwrap_or(0.0) / returns as f64;
    let nonzero_ss: Option<f64> = (!r.is_empty())
        .then(|| r.iter().map(|x| (x - r_sum.unwrap_or(0.0) / returns as f64).powi(2)).sum());
    let sigma = (returns >= 2).then(|| {
        ((nonzero_ss.unwrap_or(0.0) + (returns - nonzero) as f64 * mean_r.powf(2.0))
            / (returns - 1) as f64)
            .sqrt()
            / (dt as f64 / 1e9).sqrt()
            * (mid_sum / samples as f64)
    });
    Volatility {
        sigma,
        mid_samples: samples,
        returns: returns.max(0),
        mean_mid: Some(mid_sum / samples as f64),
    }
}

/// One side's aggressive orders (`sql/orders.sql`): each order's 2δ, deepest first, and
/// the side's prints, with or without an earlier frame.
#[derive(Debug, Default)]
struct SideOrders {
    twice: Vec<i128>,
    prints: i64,
}

impl SideOrders {
    /// `sql/reach.sql`: 2δ of the n-th deepest order, n = max(tail, ⌈2 % of the orders⌉).
    fn reach(&self, tail: i64) -> Option<i128> {
        if self.twice.is_empty() {
            return None;
        }
        let share = (self.twice.len() as f64 * grid::TAIL_SHARE).ceil() as i64;
        let n = usize::try_from(tail.max(share)).ok()?;
        n.checked_sub(1).and_then(|i| self.twice.get(i)).copied()
    }

    /// Orders reaching at least `twice` (2δ).
    fn reaching(&self, twice: i128) -> i64 {
        self.twice.partition_point(|d| *d >= twice) as i64
    }
}

/// Bid side (taker sells) and ask side (taker buys). Trades sharing a `ts_event` and a side
/// are one order at the distance of its deepest print, measured from the newest frame strictly
/// before that `ts_event` (frames of the same `ts_event` rank after the trades).
fn orders(frames: &[Frame], prints: &[Print]) -> [SideOrders; 2] {
    let mut sides: [SideOrders; 2] = Default::default();
    let mut next_frame = 0;
    let mut i = 0;
    while i < prints.len() {
        let ts = prints[i].ts_event;
        let mut j = i;
        while j < prints.len() && prints[j].ts_event == ts {
            j += 1;
        }
        while next_frame < frames.len() && frames[next_frame].ts_event < ts {
            next_frame += 1;
        }
        let bid_ask = next_frame.checked_sub(1).map(|f| frames[f].bid_ask);
        for (s, sell) in [(0, true), (1, false)] {
            let group = prints[i..j].iter().filter(|p| p.sell == sell);
            let mut count = 0;
            let mut deepest: Option<i128> = None;
            for p in group {
                count += 1;
                if let Some(ba) = bid_ask {
                    let twice = i128::from(p.price) * 2;
                    let d = if sell { ba - twice } else { twice - ba };
                    deepest = Some(deepest.map_or(d, |x| x.max(d)));
                }
            }
            if count > 0 {
                sides[s].prints += count;
                if let Some(d) = deepest {
                    sides[s].twice.push(d.max(0));
                }
            }
        }
        i = j;
    }
    for side in &mut sides {
        side.twice.sort_unstable_by(|a, b| b.cmp(a));
    }
    sides
}

/// `sql/intensity.sql`: λ(δₖ) per side on `grid`, bid side first.
fn intensity(orders: &[SideOrders; 2], window: Window, grid: DepthGrid) -> Vec<IntensityPoint> {
    let secs = window.secs();
    let mut out = Vec::with_capacity(2 * grid.levels as usize);
    for (side, o) in [BookSide::Bid, BookSide::Ask].into_iter().zip(orders) {
        for k in 0..i64::from(grid.levels) {
            let delta = i128::from(grid.start.raw()) + i128::from(k) * i128::from(grid.step.raw());
            let count = o.reaching(2 * delta);
            out.push(IntensityPoint {
                side,
                k,
                delta: price(delta),
                orders: count,
                lambda: count as f64 / secs,
                side_orders: o.twice.len() as i64,
                side_trades: o.prints,
            });
        }
    }
    out
}

/// `sql/fit.sql`: least squares of ln λ on δ per side over the points with at least
/// `min_count` orders, with DataFusion's one-pass (Welford) regression so the numbers agree
/// to the last few bits.
fn fit(points: &[IntensityPoint], min_count: i64) -> Vec<Fit> {
    let mut out = Vec::new();
    for side in [BookSide::Bid, BookSide::Ask] {
        let (mut n, mut mx, mut my, mut m2x, mut m2y, mut cxy) = (0u64, 0.0, 0.0, 0.0, 0.0, 0.0);
        for p in points.iter().filter(|p| p.side == side && p.orders >= min_count && p.orders > 0) {
            let x = p.delta.raw() as f64 / 1e8;
            let y = p.lambda.ln();
            n += 1;
            let dx = x - mx;
            let dy = y - my;
            mx += dx / n as f64;
            my += dy / n as f64;
            m2x += dx * (x - mx);
            m2y += dy * (y - my);
            cxy += dx * (y - my);
        }
        if n == 0 {
            continue;
        }
        let cov = cxy / n as f64;
        let var_x = m2x / n as f64;
        let var_y = m2y / n as f64;
        let degenerate = n <= 1 || var_x == 0.0;
        let slope = cov / var_x;
        let finite = |v: f64| Some(v).filter(|v| v.is_finite());
        out.push(Fit {
            side,
            kappa: if degenerate { None } else { finite(-slope) },
            a: if degenerate { None } else { finite((my - slope * mx).exp()) },
            r2: if degenerate || var_y == 0.0 {
                None
            } else {
                finite((cov * cov) / (var_x * var_y))
            },
            points: n as i64,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;

    const S: i64 = 1_000_000_000;

    fn frame(ts: i64, recv: i64, bid_ask: i128) -> Frame {
        Frame { ts_event: ts, ts_recv: recv, conn: 0, seq: recv, bid_ask }
    }

    #[test]
    fn only_the_newest_frame_before_a_window_is_kept() {
        let mut r = Rolling::new();
        // Pushed out of key order: inserted in place.
        for (ts, ba) in [(1, 10), (3, 30), (2, 20), (50, 500)] {
            r.push_frame(frame(ts * S, ts * S, ba));
        }
        let keys: Vec<i64> = r.frames.iter().map(|f| f.ts_event / S).collect();
        assert_eq!(keys, [1, 2, 3, 50]);
        let settings = Settings {
            sample_interval_ns: S,
            grid: GridSpec::Set(DepthGrid::for_tick(Price::from_raw(1_000_000))),
            min_count: 5,
            lookback_ns: 100 * S,
            stretch_ns: super::super::STRETCH_NS,
        };
        let w = Window { start: EventTime::from_nanos(10 * S), end: EventTime::from_nanos(60 * S) };
        r.window(w, &settings).unwrap();
        assert_eq!(r.before.map(|f| f.ts_event / S), Some(3), "the newest of 1, 2, 3");
        assert_eq!(r.frames.len(), 1);
    }

    #[test]
    fn memory_is_one_window_of_rows_however_long_the_range() {
        let settings = Settings {
            sample_interval_ns: S,
            grid: GridSpec::Set(DepthGrid::for_tick(Price::from_raw(1_000_000))),
            min_count: 5,
            lookback_ns: 1800 * S,
            stretch_ns: super::super::STRETCH_NS,
        };
        let mut r = Rolling::new();
        let mut most = 0;
        // Ten frames and ten trades a second for 10,000 s; a 60 s window every 10 s.
        for t in (0..10_000 * S).step_by((S / 10) as usize) {
            if t % (10 * S) == 0 && t >= 60 * S {
                let end = EventTime::from_nanos(t);
                let w = Window { start: end.saturating_add_nanos(-60 * S), end };
                r.window(w, &settings).unwrap();
                most = most.max(r.held());
            }
            r.push_frame(frame(t, t, 200_000_000_000));
            r.push_print(Print { ts_event: t, sell: t % 3 == 0, price: 99_990_000_000 });
        }
        assert!(most <= 2 * 10 * 60, "{most} rows held for a 60 s window");
    }

    #[test]
    fn trades_at_one_time_and_side_are_one_order_at_the_deepest_print() {
        // Mid 100 (bid + ask = 200) before t = 5; a frame at t = 5 ranks after the trades.
        let frames = [frame(S, S, 200), frame(5 * S, 5 * S, 400)];
        let prints = [
            Print { ts_event: 5 * S, sell: true, price: 99 },
            Print { ts_event: 5 * S, sell: true, price: 97 },
            Print { ts_event: 5 * S, sell: false, price: 101 },
        ];
        let [bid, ask] = orders(&frames, &prints);
        assert_eq!((bid.twice, bid.prints), (vec![200 - 2 * 97], 2));
        assert_eq!((ask.twice, ask.prints), (vec![2 * 101 - 200], 1));
        // No earlier frame: the prints count, the order has no distance.
        let [bid, _] = orders(&frames[1..], &prints);
        assert_eq!((bid.twice.len(), bid.prints), (0, 2));
    }
}
