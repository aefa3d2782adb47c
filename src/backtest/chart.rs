//! `chart.svg`: mid with our quotes, equity, inventory and PnL over the replay, four stacked
//! panels on one time axis, hand-written SVG that any browser opens (no plotting crate).
//!
//! Memory is fixed: the range is cut into [`BUCKETS`] time buckets up front and each keeps
//! only the smallest and largest value of each series, drawn as a vertical stroke, so spikes
//! survive however many samples a bucket held. Output depends only on the samples: no
//! wall-clock time, so the same run draws the same file.

use std::fmt::Write;

use chrono::{DateTime, Utc};

/// Time buckets across the chart (about one per horizontal pixel).
pub const BUCKETS: usize = 900;

const WIDTH: f64 = 1000.0;
const PANEL: f64 = 200.0;
const GAP: f64 = 40.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 50.0;
const TOP: f64 = 50.0;

/// The series a sample adds to; a `NaN` (no mid, no quote) leaves a gap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Strategy time, ns.
    pub t_ns: i64,
    pub mid: f64,
    /// Our resting bid and ask.
    pub bid: f64,
    pub ask: f64,
    pub equity: f64,
    pub inventory: f64,
    pub pnl: f64,
}

/// Series indices into a bucket.
const MID: usize = 0;
const BID: usize = 1;
const ASK: usize = 2;
const EQUITY: usize = 3;
const INVENTORY: usize = 4;
const PNL: usize = 5;
const N_SERIES: usize = 6;

/// A panel: its title and its series with their colours.
struct Panel {
    title: &'static str,
    series: &'static [(usize, &'static str, &'static str)],
}

const PANELS: [Panel; 4] = [
    Panel {
        title: "Mid and our quotes (price)",
        series: &[(BID, "#2ca02c", "our bid"), (ASK, "#d62728", "our ask"), (MID, "#444", "mid")],
    },
    Panel {
        title: "Equity: cash + position x mid (quote currency)",
        series: &[(EQUITY, "#1f77b4", "")],
    },
    Panel { title: "Inventory (base units)", series: &[(INVENTORY, "#ff7f0e", "")] },
    Panel {
        title: "PnL since the start, net of fees, marked to mid (quote currency)",
        series: &[(PNL, "#9467bd", "")],
    },
];

#[derive(Debug, Clone, Copy)]
struct Span {
    lo: f64,
    hi: f64,
}

impl Span {
    fn add(this: &mut Option<Span>, v: f64) {
        if !v.is_finite() {
            return;
        }
        *this = Some(match *this {
            None => Span { lo: v, hi: v },
            Some(s) => Span { lo: s.lo.min(v), hi: s.hi.max(v) },
        });
    }
}

/// The chart being filled.
#[derive(Debug, Clone)]
pub struct Chart {
    title: String,
    from_ns: i64,
    to_ns: i64,
    /// Per bucket, per series (see [`MID`] …).
    buckets: Vec<[Option<Span>; N_SERIES]>,
}

impl Chart {
    /// A chart of `[from_ns, to_ns)`.
    pub fn new(title: impl Into<String>, from_ns: i64, to_ns: i64) -> Self {
        Self {
            title: title.into(),
            from_ns,
            to_ns: to_ns.max(from_ns + 1),
            buckets: vec![[None; N_SERIES]; BUCKETS],
        }
    }

    pub fn push(&mut self, p: Point) {
        let span = (self.to_ns - self.from_ns) as f64;
        let share = ((p.t_ns - self.from_ns) as f64 / span).clamp(0.0, 1.0);
        let i = ((share * BUCKETS as f64) as usize).min(BUCKETS - 1);
        let bucket = &mut self.buckets[i];
        let values = [p.mid, p.bid, p.ask, p.equity, p.inventory, p.pnl];
        for (span, v) in bucket.iter_mut().zip(values) {
            Span::add(span, v);
        }
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
        for (k, panel) in PANELS.iter().enumerate() {
            let top = TOP + k as f64 * (PANEL + GAP);
            self.panel(&mut s, panel, top, k + 1 == PANELS.len());
        }
        s.push_str("</svg>\n");
        s
    }

    fn panel(&self, s: &mut String, panel: &Panel, top: f64, last: bool) {
        let plot_w = WIDTH - LEFT - RIGHT;
        let bottom = top + PANEL;
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL}" fill="none" stroke="#888"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
            top - 6.0,
            escape(panel.title)
        );
        let spans = |k: usize| -> Vec<(usize, Span)> {
            self.buckets.iter().enumerate().filter_map(|(i, b)| b[k].map(|sp| (i, sp))).collect()
        };
        let (lo, hi) = panel
            .series
            .iter()
            .flat_map(|(k, _, _)| spans(*k))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, sp)| {
                (lo.min(sp.lo), hi.max(sp.hi))
            });
        let empty = !lo.is_finite();
        let (lo, hi) = if empty { (-1.0, 1.0) } else { widen(lo, hi) };
        let y = |v: f64| bottom - (v - lo) / (hi - lo) * PANEL;
        // Value axis: about five round ticks with grid lines.
        for v in ticks(lo, hi, 5) {
            let yy = y(v);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0,
                number(v)
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
        // Time axis under every panel.
        for i in 0..=4 {
            let share = i as f64 / 4.0;
            let x = LEFT + share * plot_w;
            let t = self.from_ns + ((self.to_ns - self.from_ns) as f64 * share) as i64;
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#888"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                bottom + 4.0,
                bottom + 16.0,
                time_label(t)
            );
        }
        if last {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">time (UTC, strategy clock)</text>"#,
                LEFT + plot_w / 2.0,
                bottom + 32.0
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
            // Each bucket is a vertical stroke from its smallest to its largest value; a bucket
            // without a value (no mid, no quote) breaks the line.
            let mut path = String::new();
            let mut previous: Option<usize> = None;
            for (i, sp) in spans(*k) {
                let x = LEFT + (i as f64 + 0.5) / BUCKETS as f64 * plot_w;
                let cmd = if previous.is_some_and(|p| p + 1 == i) { 'L' } else { 'M' };
                let _ = write!(path, "{cmd}{x:.1},{:.1}L{x:.1},{:.1}", y(sp.lo), y(sp.hi));
                previous = Some(i);
            }
            let _ = writeln!(
                s,
                r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>"#
            );
            if !name.is_empty() {
                let _ = writeln!(
                    s,
                    r#"<text x="{legend_x:.1}" y="{}" text-anchor="end" fill="{colour}">{name}</text>"#,
                    top - 6.0
                );
                legend_x -= 8.0 * name.len() as f64 + 12.0;
            }
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

/// Round tick values in `[lo, hi]`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi && out.len() < 20 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

fn number(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn time_label(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).format("%m-%d %H:%M:%S").to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_has_four_labelled_panels_and_a_line_per_series() {
        let mut chart = Chart::new("ETH-USD <test>", 0, 100_000_000_000);
        for i in 0..100 {
            let f = i as f64;
            chart.push(Point {
                t_ns: i * 1_000_000_000,
                mid: 100.0 + f,
                bid: if i < 50 { 99.0 + f } else { f64::NAN },
                ask: 101.0 + f,
                equity: f,
                inventory: -f,
                pnl: f * 0.5,
            });
        }
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path").count(), 6, "mid, bid, ask, equity, inventory, pnl");
        for panel in &PANELS {
            assert!(svg.contains(&escape(panel.title)), "{}", panel.title);
        }
        assert!(svg.contains("ETH-USD &lt;test&gt;"));
        assert!(svg.contains("01-01 00:00:00"), "time axis in UTC");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = Chart::new("x", 0, 10).svg();
        assert_eq!(svg.matches("no samples").count(), 4);
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert!(ticks(-0.37, 0.41, 5).iter().all(|v| (-0.37..=0.41).contains(v)));
    }
}
