//! `chart.svg`: equity, inventory and PnL over the replay, three stacked panels on one time
//! axis, hand-written SVG that any browser opens (no plotting crate).
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
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;

/// The series a sample adds to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Strategy time, ns.
    pub t_ns: i64,
    pub equity: f64,
    pub inventory: f64,
    pub pnl: f64,
}

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
    /// Per bucket: equity, inventory, pnl.
    buckets: Vec<[Option<Span>; 3]>,
}

const SERIES: [(&str, &str); 3] = [
    ("Equity (quote currency)", "#1f77b4"),
    ("Inventory (base units)", "#ff7f0e"),
    ("PnL, net, marked to mid", "#2ca02c"),
];

impl Chart {
    /// A chart of `[from_ns, to_ns)`.
    pub fn new(title: impl Into<String>, from_ns: i64, to_ns: i64) -> Self {
        Self {
            title: title.into(),
            from_ns,
            to_ns: to_ns.max(from_ns + 1),
            buckets: vec![[None; 3]; BUCKETS],
        }
    }

    pub fn push(&mut self, p: Point) {
        let span = (self.to_ns - self.from_ns) as f64;
        let share = ((p.t_ns - self.from_ns) as f64 / span).clamp(0.0, 1.0);
        let i = ((share * BUCKETS as f64) as usize).min(BUCKETS - 1);
        let bucket = &mut self.buckets[i];
        Span::add(&mut bucket[0], p.equity);
        Span::add(&mut bucket[1], p.inventory);
        Span::add(&mut bucket[2], p.pnl);
    }

    /// The SVG document.
    pub fn svg(&self) -> String {
        let height = TOP + 3.0 * PANEL + 3.0 * GAP + 20.0;
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
        for (k, (label, colour)) in SERIES.iter().enumerate() {
            let top = TOP + k as f64 * (PANEL + GAP);
            self.panel(&mut s, k, top, label, colour);
        }
        s.push_str("</svg>\n");
        s
    }

    fn panel(&self, s: &mut String, k: usize, top: f64, label: &str, colour: &str) {
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
            escape(label)
        );
        let spans: Vec<(usize, Span)> =
            self.buckets.iter().enumerate().filter_map(|(i, b)| b[k].map(|sp| (i, sp))).collect();
        let (lo, hi) =
            spans.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, sp)| {
                (lo.min(sp.lo), hi.max(sp.hi))
            });
        let (lo, hi) = if lo.is_finite() { widen(lo, hi) } else { (-1.0, 1.0) };
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
        if spans.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#888">no samples</text>"##,
                LEFT + plot_w / 2.0,
                top + PANEL / 2.0
            );
            return;
        }
        let mut path = String::new();
        for (i, sp) in &spans {
            let x = LEFT + (*i as f64 + 0.5) / BUCKETS as f64 * plot_w;
            let cmd = if path.is_empty() { 'M' } else { 'L' };
            let _ = write!(path, "{cmd}{x:.1},{:.1}L{x:.1},{:.1}", y(sp.lo), y(sp.hi));
        }
        let _ =
            writeln!(s, r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>"#);
        if k == 2 {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="middle">time (UTC, strategy clock)</text>"#,
                LEFT + plot_w / 2.0,
                bottom + 32.0
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
    fn the_svg_has_three_labelled_panels_and_a_line_each() {
        let mut chart = Chart::new("ETH-USD <test>", 0, 100_000_000_000);
        for i in 0..100 {
            let f = i as f64;
            chart.push(Point { t_ns: i * 1_000_000_000, equity: f, inventory: -f, pnl: f * 0.5 });
        }
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path").count(), 3);
        for (label, _) in SERIES {
            assert!(svg.contains(label), "{label}");
        }
        assert!(svg.contains("ETH-USD &lt;test&gt;"));
        assert!(svg.contains("01-01 00:00:00"), "time axis in UTC");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = Chart::new("x", 0, 10).svg();
        assert_eq!(svg.matches("no samples").count(), 3);
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert!(ticks(-0.37, 0.41, 5).iter().all(|v| (-0.37..=0.41).contains(v)));
    }
}
