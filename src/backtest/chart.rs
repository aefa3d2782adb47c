//! `chart.svg`: three stacked panels on one time axis (docs/MODEL.md "The chart"): mid with
//! our quotes and a marker per fill, PnL since the start (equity less the starting equity),
//! and inventory, under a header of the run's metrics. Hand-written SVG that any browser
//! opens (no plotting crate).
//!
//! Memory is fixed for the series: the range is cut into [`BUCKETS`] time buckets up front
//! and each keeps the first, last, smallest and largest value of each series, drawn as a line
//! through the buckets with a vertical stroke over each bucket's range, so spikes survive
//! however many samples a bucket held. A line breaks only where a sample said the value was
//! missing (`NaN`: no mid, no quote), not where a bucket happened to get no sample. Fills are
//! kept one by one up to [`MAX_FILL_MARKERS`] (a few hundred kilobytes); beyond that the
//! header says how many were not marked. Shaded spans ([`Chart::shade`], walk-forward folds)
//! are kept as given. Output depends only on what was pushed: no wall-clock time, so the same
//! run draws the same file.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::report::Summary;

/// Time buckets across the chart (about one per horizontal pixel).
pub const BUCKETS: usize = 900;

/// Fills marked one by one; later ones are counted, not drawn.
pub const MAX_FILL_MARKERS: usize = 10_000;

const WIDTH: f64 = 1000.0;
const PANEL: f64 = 200.0;
const GAP: f64 = 40.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 50.0;
const TOP: f64 = 76.0;
const NS_PER_SEC: i64 = 1_000_000_000;

/// Round time steps for the time axis, seconds: the smallest giving at most
/// [`MAX_TIME_TICKS`] ticks is used.
const TIME_STEPS: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800,
];
const MAX_TIME_TICKS: i64 = 10;

/// The series a sample adds to; a `NaN` (no mid, no quote) marks the value missing there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Strategy time, ns.
    pub t_ns: i64,
    pub mid: f64,
    /// Our resting bid and ask.
    pub bid: f64,
    pub ask: f64,
    /// Cash + position marked to mid; with `pnl` it gives the starting equity of the title.
    pub equity: f64,
    pub inventory: f64,
    /// Equity less the first sample's equity.
    pub pnl: f64,
}

/// Series indices into a bucket.
const MID: usize = 0;
const BID: usize = 1;
const ASK: usize = 2;
const PNL: usize = 3;
const INVENTORY: usize = 4;
const N_SERIES: usize = 5;

const BUY_COLOUR: &str = "#2ca02c";
const SELL_COLOUR: &str = "#d62728";

/// A panel: its title, its series (index, colour, legend name) and whether fills are marked.
struct Panel {
    title: &'static str,
    series: &'static [(usize, &'static str, &'static str)],
    fills: bool,
}

const PANELS: [Panel; 3] = [
    Panel {
        title: "Mid, our quotes and our fills (price)",
        series: &[
            (BID, BUY_COLOUR, "our bid"),
            (ASK, SELL_COLOUR, "our ask"),
            (MID, "#444", "mid"),
        ],
        fills: true,
    },
    Panel {
        title: "PnL since the start: equity (cash + position x mid) less the starting equity",
        series: &[(PNL, "#1f77b4", "")],
        fills: false,
    },
    Panel { title: "Inventory (contracts)", series: &[(INVENTORY, "#ff7f0e", "")], fills: false },
];

/// One series within one bucket.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// (first, last, lo, hi) of the finite values.
    values: Option<(f64, f64, f64, f64)>,
    /// A missing value came before the first finite one (or there was no finite one).
    nan_first: bool,
    /// The last sample was missing.
    nan_last: bool,
}

impl Cell {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            if self.values.is_none() {
                self.nan_first = true;
            }
            self.nan_last = true;
            return;
        }
        self.nan_last = false;
        self.values = Some(match self.values {
            None => (v, v, v, v),
            Some((first, _, lo, hi)) => (first, v, lo.min(v), hi.max(v)),
        });
    }

    fn missing(&self) -> bool {
        self.nan_first || self.nan_last
    }
}

/// One of our fills.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mark {
    t_ns: i64,
    price: f64,
    buy: bool,
}

/// A translucent band over a time span, across every panel.
#[derive(Debug, Clone, PartialEq)]
struct Shade {
    from_ns: i64,
    to_ns: i64,
    label: String,
}

/// The chart being filled.
#[derive(Debug, Clone)]
pub struct Chart {
    title: String,
    from_ns: i64,
    to_ns: i64,
    /// Per bucket, per series (see [`MID`] …).
    buckets: Vec<[Cell; N_SERIES]>,
    /// Equity − PnL of the first sample with both.
    start_equity: Option<f64>,
    fills: Vec<Mark>,
    /// Fills beyond [`MAX_FILL_MARKERS`].
    unmarked: u64,
    shades: Vec<Shade>,
    /// The metrics line under the title.
    header: Option<String>,
}

impl Chart {
    /// A chart of `[from_ns, to_ns)` on the strategy clock.
    pub fn new(title: impl Into<String>, from_ns: i64, to_ns: i64) -> Self {
        Self {
            title: title.into(),
            from_ns,
            to_ns: to_ns.max(from_ns + 1),
            buckets: vec![[Cell::default(); N_SERIES]; BUCKETS],
            start_equity: None,
            fills: Vec::new(),
            unmarked: 0,
            shades: Vec::new(),
            header: None,
        }
    }

    fn share(&self, t_ns: i64) -> f64 {
        ((t_ns - self.from_ns) as f64 / (self.to_ns - self.from_ns) as f64).clamp(0.0, 1.0)
    }

    fn x(&self, t_ns: i64) -> f64 {
        LEFT + self.share(t_ns) * (WIDTH - LEFT - RIGHT)
    }

    pub fn push(&mut self, p: Point) {
        let i = ((self.share(p.t_ns) * BUCKETS as f64) as usize).min(BUCKETS - 1);
        if self.start_equity.is_none() && p.equity.is_finite() && p.pnl.is_finite() {
            self.start_equity = Some(p.equity - p.pnl);
        }
        let values = [p.mid, p.bid, p.ask, p.pnl, p.inventory];
        for (cell, v) in self.buckets[i].iter_mut().zip(values) {
            cell.add(v);
        }
    }

    /// One of our fills at `t_ns` (strategy clock) and `price`: a buy (`is_buy`) is marked
    /// with a green triangle pointing up, a sell with a red one pointing down, on the price
    /// panel. Up to [`MAX_FILL_MARKERS`]; later fills are only counted.
    pub fn fill(&mut self, t_ns: i64, price: f64, is_buy: bool) {
        if self.fills.len() < MAX_FILL_MARKERS && price.is_finite() {
            self.fills.push(Mark { t_ns, price, buy: is_buy });
        } else {
            self.unmarked += 1;
        }
    }

    /// Shades `[from_ns, to_ns)` (strategy clock) across every panel with a translucent band,
    /// `label` written at its top (a walk-forward fold: "fold 3 test").
    pub fn shade(&mut self, from_ns: i64, to_ns: i64, label: impl Into<String>) {
        self.shades.push(Shade { from_ns, to_ns: to_ns.max(from_ns), label: label.into() });
    }

    /// Writes the run's metrics under the title: net PnL, Sharpe, max drawdown, fills.
    pub fn annotate(&mut self, summary: &Summary) {
        let currency =
            summary.settlement_currency.as_deref().map_or(String::new(), |c| format!(" {c}"));
        let sharpe = summary.sharpe.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.2}"));
        let fills = summary.fills_bid + summary.fills_ask;
        self.header = Some(format!(
            "net PnL {}{currency} · Sharpe {sharpe} (1-min, annualised) · max drawdown {}{currency} · fills {fills} ({} buy, {} sell)",
            short(summary.pnl_net.to_f64()),
            short(summary.max_drawdown.to_f64()),
            summary.fills_bid,
            summary.fills_ask,
        ));
    }

    /// The SVG document.
    pub fn svg(&self) -> String {
        let height = TOP + PANELS.len() as f64 * (PANEL + GAP) + 20.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        let mut header = self.header.clone().unwrap_or_default();
        if self.unmarked > 0 {
            let _ = write!(
                header,
                "{}the first {MAX_FILL_MARKERS} fills are marked, {} more are not",
                if header.is_empty() { "" } else { " · " },
                self.unmarked
            );
        }
        if !header.is_empty() {
            let _ = writeln!(
                s,
                r#"<text class="metrics" x="{}" y="46" text-anchor="middle">{}</text>"#,
                WIDTH / 2.0,
                escape(&header)
            );
        }
        let ticks = time_ticks(self.from_ns, self.to_ns);
        for (k, panel) in PANELS.iter().enumerate() {
            let top = TOP + k as f64 * (PANEL + GAP);
            self.panel(&mut s, panel, top, &ticks, k + 1 == PANELS.len());
        }
        s.push_str("</svg>\n");
        s
    }

    fn panel(&self, s: &mut String, panel: &Panel, top: f64, ticks: &[i64], last: bool) {
        let plot_w = WIDTH - LEFT - RIGHT;
        let bottom = top + PANEL;
        let title = match (panel.series.first(), self.start_equity) {
            (Some((PNL, _, _)), Some(start)) => {
                format!("{} ({})", panel.title, short(start))
            }
            _ => panel.title.to_owned(),
        };
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
            top - 6.0,
            escape(&title)
        );
        // Shaded spans first, so everything else is drawn over them.
        for shade in &self.shades {
            let (x0, x1) = (self.x(shade.from_ns), self.x(shade.to_ns));
            let _ = writeln!(
                s,
                r##"<rect class="shade" x="{x0:.1}" y="{top}" width="{:.1}" height="{PANEL}" fill="#1f77b4" fill-opacity="0.08"/>"##,
                x1 - x0
            );
            if panel.fills && !shade.label.is_empty() {
                let _ = writeln!(
                    s,
                    r##"<text class="shade-label" x="{:.1}" y="{}" font-size="10" fill="#1f77b4">{}</text>"##,
                    x0 + 3.0,
                    top + 12.0,
                    escape(&shade.label)
                );
            }
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL}" fill="none" stroke="#888"/>"##
        );
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (k, _, _) in panel.series {
            for (_, _, l, h) in self.buckets.iter().filter_map(|b| b[*k].values) {
                (lo, hi) = (lo.min(l), hi.max(h));
            }
        }
        if panel.fills {
            for m in &self.fills {
                (lo, hi) = (lo.min(m.price), hi.max(m.price));
            }
        }
        let empty = !lo.is_finite();
        let (lo, hi) = if empty { (-1.0, 1.0) } else { widen(lo, hi) };
        let y = |v: f64| bottom - (v - lo) / (hi - lo) * PANEL;
        // Value axis: about five round ticks with grid lines, in plain numbers.
        let (values, step) = ticks_with_step(lo, hi, 5);
        for v in values {
            let yy = y(v);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#eee"/><text class="value-tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0,
                plain(v, step)
            );
        }
        if lo < 0.0 && hi > 0.0 {
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#aaa" stroke-dasharray="4 3"/>"##,
                y(0.0),
                LEFT + plot_w,
                y(0.0)
            );
        }
        // Time axis: grid lines at round times in every panel, labels under the last.
        let step = ticks.get(1).zip(ticks.first()).map_or(0, |(b, a)| b - a);
        for &t in ticks {
            let x = self.x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#f2f2f2"/><line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#888"/>"##,
                bottom + 4.0
            );
            if last {
                let _ = writeln!(
                    s,
                    r#"<text class="time-tick" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
                    bottom + 16.0,
                    time_label(t, step)
                );
            }
        }
        if last {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">time (UTC, strategy clock), from {}</text>"#,
                LEFT + plot_w / 2.0,
                bottom + 32.0,
                DateTime::<Utc>::from_timestamp_nanos(self.from_ns).format("%Y-%m-%d %H:%M:%S")
            );
        }
        if empty {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#888">no samples</text>"##,
                LEFT + plot_w / 2.0,
                top + PANEL / 2.0
            );
            return;
        }
        let mut legend_x = LEFT + plot_w;
        for (k, colour, name) in panel.series.iter().rev() {
            let path = self.line(*k, &y);
            let _ = writeln!(
                s,
                r#"<path class="series" d="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>"#
            );
            if !name.is_empty() {
                let _ = writeln!(
                    s,
                    r#"<text x="{legend_x:.1}" y="{}" text-anchor="end" fill="{colour}">{name}</text>"#,
                    top - 6.0
                );
                legend_x -= 7.0 * name.len() as f64 + 12.0;
            }
        }
        if panel.fills {
            self.markers(s, &y);
            for (glyph, colour, name) in
                [("▼", SELL_COLOUR, "sell fill"), ("▲", BUY_COLOUR, "buy fill")]
            {
                let _ = writeln!(
                    s,
                    r#"<text x="{legend_x:.1}" y="{}" text-anchor="end" fill="{colour}">{glyph} {name}</text>"#,
                    top - 6.0
                );
                legend_x -= 7.0 * (name.len() + 2) as f64 + 12.0;
            }
        }
    }

    /// The path of one series: through each bucket's first value, its range and its last
    /// value, joined to the next bucket with a value unless a missing value lies between.
    fn line(&self, k: usize, y: &dyn Fn(f64) -> f64) -> String {
        let plot_w = WIDTH - LEFT - RIGHT;
        let mut path = String::new();
        // Whether the line may continue into the next bucket with a value.
        let mut open = false;
        for (i, bucket) in self.buckets.iter().enumerate() {
            let cell = bucket[k];
            let Some((first, last, lo, hi)) = cell.values else {
                if cell.missing() {
                    open = false;
                }
                continue;
            };
            let x = LEFT + (i as f64 + 0.5) / BUCKETS as f64 * plot_w;
            let cmd = if open && !cell.nan_first { 'L' } else { 'M' };
            let _ = write!(path, "{cmd}{x:.1},{:.1}", y(first));
            if lo < hi {
                let _ = write!(path, "L{x:.1},{:.1}L{x:.1},{:.1}", y(lo), y(hi));
            }
            if lo < hi || last != first {
                let _ = write!(path, "L{x:.1},{:.1}", y(last));
            }
            open = !cell.nan_last;
        }
        path
    }

    /// One triangle per fill: up for a buy, down for a sell, its tip at the fill price.
    fn markers(&self, s: &mut String, y: &dyn Fn(f64) -> f64) {
        for m in &self.fills {
            let (x, yy) = (self.x(m.t_ns), y(m.price));
            let (class, colour, dy) = if m.buy {
                ("fill buy", BUY_COLOUR, 7.0)
            } else {
                ("fill sell", SELL_COLOUR, -7.0)
            };
            let _ = writeln!(
                s,
                r#"<path class="{class}" d="M{x:.1},{yy:.1}l-4,{dy}h8z" fill="{colour}" fill-opacity="0.8"/>"#
            );
        }
    }
}

/// A value range with room around it; a flat series gets a unit band.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (lo.abs() * 0.01).max(1e-9).max(if lo == 0.0 { 1.0 } else { 0.0 });
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Round tick values in `[lo, hi]`, about `n` of them, and their step.
fn ticks_with_step(lo: f64, hi: f64, n: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut k = (lo / step).ceil();
    let mut out = Vec::new();
    while k * step <= hi && out.len() < 20 {
        // k·step, not a running sum, so 0.1 + 0.2 drift does not reach the labels.
        out.push(if k == 0.0 { 0.0 } else { k * step });
        k += 1.0;
    }
    (out, step)
}

/// A tick value in plain decimal notation, with as many decimals as its step needs (never
/// scientific notation: 0.0005 contracts reads as 0.0005).
fn plain(v: f64, step: f64) -> String {
    // The slack keeps a step of 0.1 (log10 a hair off −1) at one decimal.
    let decimals =
        if step >= 1.0 { 0 } else { (-step.log10() - 1e-9).ceil().clamp(0.0, 15.0) as usize };
    let text = format!("{v:.decimals$}");
    if text.trim_start_matches('-').trim_matches(|c| c == '0' || c == '.').is_empty() {
        "0".to_owned()
    } else {
        text
    }
}

/// A metric for the header: about four significant digits, plain notation.
fn short(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let a = v.abs();
    let decimals = if a >= 100.0 {
        2
    } else if a == 0.0 {
        0
    } else {
        (3.0 - a.log10().floor()).clamp(2.0, 15.0) as usize
    };
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" {
        "0".to_owned()
    } else {
        text
    }
}

/// Tick times at whole multiples of a round step (UTC), at most [`MAX_TIME_TICKS`] of them
/// inside `[from_ns, to_ns]`.
fn time_ticks(from_ns: i64, to_ns: i64) -> Vec<i64> {
    let span_s = (to_ns - from_ns) / NS_PER_SEC;
    let step_s = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span_s / s <= MAX_TIME_TICKS)
        .unwrap_or_else(|| (span_s / MAX_TIME_TICKS / 86_400 + 1) * 86_400);
    let step = step_s * NS_PER_SEC;
    let mut t = from_ns.div_euclid(step) * step;
    if t < from_ns {
        t += step;
    }
    let mut out = Vec::new();
    while t <= to_ns {
        out.push(t);
        t += step;
    }
    out
}

/// A tick's label for a step of `step_ns`: seconds only when the step is under a minute,
/// the date at midnight and for steps of a day or more.
fn time_label(ns: i64, step_ns: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_nanos(ns);
    let format = if step_ns >= 86_400 * NS_PER_SEC || ns.rem_euclid(86_400 * NS_PER_SEC) == 0 {
        "%m-%d"
    } else if step_ns < 60 * NS_PER_SEC {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    t.format(format).to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Money;

    const T: i64 = 1_795_132_800_000_000_000; // 2026-11-20 00:00:00 UTC

    fn point(s: i64, mid: f64, bid: f64, inventory: f64) -> Point {
        Point {
            t_ns: T + s * NS_PER_SEC,
            mid,
            bid,
            ask: mid + 1.0,
            equity: 1000.0 + s as f64,
            inventory,
            pnl: s as f64,
        }
    }

    fn series_paths(svg: &str) -> Vec<&str> {
        svg.lines()
            .filter(|l| l.contains(r#"class="series""#))
            .map(|l| l.split("d=\"").nth(1).unwrap().split('"').next().unwrap())
            .collect()
    }

    #[test]
    fn the_svg_has_three_panels_a_line_per_series_and_a_marker_per_fill() {
        let mut chart = Chart::new("ETH-USD <test>", T, T + 100 * NS_PER_SEC);
        for s in 0..100 {
            let f = s as f64;
            chart.push(point(s, 100.0 + f, if s < 50 { 99.0 + f } else { f64::NAN }, -f));
        }
        for (s, buy) in [(10, true), (20, false), (30, true), (99, false), (100, true)] {
            chart.fill(T + s * NS_PER_SEC, 100.0 + s as f64, buy);
        }
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches(r#"class="series""#).count(), 5, "mid, bid, ask, pnl, inventory");
        assert_eq!(svg.matches(r#"class="fill buy""#).count(), 3);
        assert_eq!(svg.matches(r#"class="fill sell""#).count(), 2);
        for panel in &PANELS {
            assert!(svg.contains(&escape(panel.title)), "{}", panel.title);
        }
        assert_eq!(svg.matches(r#"font-weight="bold""#).count(), 3, "one PnL panel, not two");
        assert!(svg.contains("the starting equity (1000)"), "{svg}");
        assert!(svg.contains("ETH-USD &lt;test&gt;"));
        assert!(svg.contains("from 2026-11-20 00:00:00"), "time axis in UTC");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = Chart::new("x", 0, 10).svg();
        assert_eq!(svg.matches("no samples").count(), 3);
    }

    #[test]
    fn lines_run_through_empty_buckets_and_break_only_at_missing_values() {
        // 300 one-second samples over 900 buckets: two of every three buckets get none, and
        // the line must still be one piece.
        let mut chart = Chart::new("x", T, T + 300 * NS_PER_SEC);
        for s in 0..300 {
            let bid = if (100..110).contains(&s) { f64::NAN } else { 50.0 };
            chart.push(point(s, 100.0 + (s % 7) as f64, bid, 1.0));
        }
        let svg = chart.svg();
        let paths = series_paths(&svg);
        // Series are drawn in reverse legend order: mid, ask, bid, then pnl, inventory.
        let moves = |p: &str| p.matches('M').count();
        assert_eq!(moves(paths[0]), 1, "mid is continuous");
        assert_eq!(moves(paths[2]), 2, "the bid breaks once, where it was missing");
        assert_eq!(moves(paths[3]), 1, "pnl is continuous");
        assert!(!paths[0].contains("NaN"));
    }

    #[test]
    fn the_header_carries_the_metrics() {
        let summary = Summary {
            settlement_currency: Some("USD".into()),
            pnl_net: Money::from_units(-12) + Money::from_raw(-3_400_000_000_000_000),
            max_drawdown: Money::from_units(20),
            sharpe: Some(1.23456),
            fills_bid: 7,
            fills_ask: 5,
            ..Summary::default()
        };
        let mut chart = Chart::new("x", T, T + NS_PER_SEC);
        chart.annotate(&summary);
        let svg = chart.svg();
        let header = svg.lines().find(|l| l.contains(r#"class="metrics""#)).unwrap();
        assert!(header.contains("net PnL -12.34 USD"), "{header}");
        assert!(header.contains("Sharpe 1.23"), "{header}");
        assert!(header.contains("max drawdown 20 USD"), "{header}");
        assert!(header.contains("fills 12 (7 buy, 5 sell)"), "{header}");
    }

    #[test]
    fn fills_beyond_the_cap_are_counted_and_said() {
        let mut chart = Chart::new("x", T, T + NS_PER_SEC);
        for i in 0..MAX_FILL_MARKERS + 3 {
            chart.fill(T + i as i64, 100.0, i % 2 == 0);
        }
        let svg = chart.svg();
        assert_eq!(svg.matches(r#"class="fill "#).count(), MAX_FILL_MARKERS);
        assert!(svg.contains("the first 10000 fills are marked, 3 more are not"));
    }

    #[test]
    fn shaded_spans_cover_every_panel_with_their_label() {
        let mut chart = Chart::new("x", T, T + 100 * NS_PER_SEC);
        chart.push(point(0, 100.0, 99.0, 0.0));
        chart.shade(T + 20 * NS_PER_SEC, T + 40 * NS_PER_SEC, "fold 1 test");
        chart.shade(T + 60 * NS_PER_SEC, T + 80 * NS_PER_SEC, "fold 2 <test>");
        let svg = chart.svg();
        let bands: Vec<&str> = svg.lines().filter(|l| l.contains(r#"class="shade""#)).collect();
        assert_eq!(bands.len(), 2 * PANELS.len(), "each span in each panel");
        // 20 % of the 860-pixel plot from x = 90 is 262, 20 % wide is 172.
        assert!(bands[0].contains(r#"x="262.0""#) && bands[0].contains(r#"width="172.0""#));
        assert_eq!(svg.matches("fold 1 test").count(), 1);
        assert!(svg.contains("fold 2 &lt;test&gt;"));
        // Drawn under the lines: every band comes before the first series.
        let first_series = svg.find(r#"class="series""#).unwrap();
        assert!(svg.find(r#"class="shade""#).unwrap() < first_series);
    }

    #[test]
    fn time_ticks_fall_on_round_times() {
        let min = 60 * NS_PER_SEC;
        // 11 minutes from 13:00:07: every 2 minutes from 13:02.
        let from = T + 13 * 3600 * NS_PER_SEC + 7 * NS_PER_SEC;
        let ticks = time_ticks(from, from + 11 * min);
        let labels: Vec<String> = ticks.iter().map(|t| time_label(*t, 2 * min)).collect();
        assert_eq!(labels, ["13:02", "13:04", "13:06", "13:08", "13:10"]);
        // 6 hours: hourly; 45 seconds: every 5 s.
        assert_eq!(time_ticks(T, T + 6 * 60 * min).len(), 7);
        let short = time_ticks(T + 3 * NS_PER_SEC, T + 48 * NS_PER_SEC);
        assert_eq!(short.len(), 9);
        assert_eq!(time_label(short[0], 5 * NS_PER_SEC), "00:00:05");
        // 3 days: every 12 hours, the date at midnight; 10 days: daily, by date.
        let days = time_ticks(T, T + 3 * 1440 * min);
        assert_eq!(days.len(), 7);
        let half_day = 12 * 60 * min;
        assert_eq!(
            (time_label(days[1], half_day), time_label(days[2], half_day)),
            ("12:00".into(), "11-21".into())
        );
        let ten = time_ticks(T, T + 10 * 1440 * min);
        assert_eq!(ten.len(), 11);
        assert_eq!(time_label(ten[3], 1440 * min), "11-23");
        for (from, to) in [(from, from + 11 * min), (T, T + 777 * min), (T + 1, T + 2 * NS_PER_SEC)]
        {
            let n = time_ticks(from, to).len() as i64;
            assert!((1..=MAX_TIME_TICKS + 1).contains(&n), "{n} ticks");
        }
    }

    #[test]
    fn value_ticks_are_round_and_plain() {
        assert_eq!(ticks_with_step(0.0, 10.0, 5).0, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert!(ticks_with_step(-0.37, 0.41, 5).0.iter().all(|v| (-0.37..=0.41).contains(v)));
        // An inventory of a few lots of 0.0001 contracts.
        let (values, step) = ticks_with_step(-0.0003, 0.0005, 5);
        let labels: Vec<String> = values.iter().map(|v| plain(*v, step)).collect();
        assert_eq!(labels, ["-0.0002", "0", "0.0002", "0.0004"]);
        assert!(labels.iter().all(|l| !l.contains('e')));
        assert_eq!(plain(84_000.0, 5000.0), "84000");
        assert_eq!(plain(3000.15, 0.05), "3000.15");
        assert_eq!(plain(0.3, 0.1), "0.3", "no 0.30000000000000004");
        assert_eq!(short(-0.000_012_345_6), "-0.00001235");
        assert_eq!(short(1234.5678), "1234.57");
        assert_eq!(short(0.0), "0");
    }
}
