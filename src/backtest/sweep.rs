//! `--sweep KEY=V1,V2,…`: the cartesian product of every sweep flag's values, each point run
//! as its own backtest into its own sub-folder, several at once, and a comparison table.
//!
//! Every value is checked against the settings before anything runs, so a typo fails at once
//! rather than after an hour of other points. Recalibration schedules are computed once per
//! distinct (window, interval) pair, before the runs, and shared read-only. Each run reads the
//! Parquet parts itself (the replay streams; nothing is held for the others), so memory is
//! one replay per worker. Results do not depend on the number of workers.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::event::Recalibration;
use super::output::component;
use super::report::{Format, Summary, SHARPE_LABEL, SORTINO_LABEL};
use super::settings::Settings;
use super::{print, recalibrations, run_one, visible_bar, Prepared};
use crate::model::NANOS_PER_SEC;

/// One `--sweep` flag: a setting and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// Parses the `--sweep` flags, checking every value against `base`.
pub fn axes(flags: &[String], base: &Settings) -> anyhow::Result<Vec<Axis>> {
    let mut out: Vec<Axis> = Vec::new();
    for flag in flags {
        let (key, values) = flag
            .split_once('=')
            .with_context(|| format!("--sweep {flag:?}: expected KEY=V1,V2,..."))?;
        let key = key.trim().to_owned();
        let values: Vec<String> =
            values.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect();
        anyhow::ensure!(!values.is_empty(), "--sweep {flag:?}: no values");
        anyhow::ensure!(
            out.iter().all(|a| a.key != key),
            "--sweep {key} is given twice: put all its values in one flag"
        );
        for value in &values {
            base.clone().set(&key, value).with_context(|| format!("bad --sweep {flag}"))?;
        }
        out.push(Axis { key, values });
    }
    Ok(out)
}

/// One grid point: its label (`gamma=0.1,cooldown=30`; empty without a sweep) and settings.
#[derive(Debug, Clone)]
pub struct Point {
    pub label: String,
    pub settings: Settings,
}

/// Every combination, the first axis varying slowest.
pub fn points(base: &Settings, axes: &[Axis]) -> anyhow::Result<Vec<Point>> {
    let mut out = vec![Point { label: String::new(), settings: base.clone() }];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.values.len());
        for point in &out {
            for value in &axis.values {
                let mut settings = point.settings.clone();
                settings.set(&axis.key, value)?;
                let sep = if point.label.is_empty() { "" } else { "," };
                next.push(Point {
                    label: format!("{}{sep}{}={value}", point.label, axis.key),
                    settings,
                });
            }
        }
        out = next;
    }
    Ok(out)
}

fn nanos(secs: f64) -> i64 {
    (secs * NANOS_PER_SEC as f64).round() as i64
}

/// A schedule's key: (window, interval) in ns.
fn plan_key(settings: &Settings) -> (i64, i64) {
    (nanos(settings.calibration_window_seconds), nanos(settings.recalibration_interval_seconds))
}

/// Schedules for each distinct (window, interval) of the points.
pub type Schedules = Vec<((i64, i64), Vec<Recalibration>)>;

/// Computes the schedules the points need, each once.
pub async fn schedules(prepared: &Prepared, points: &[Point]) -> anyhow::Result<Schedules> {
    let mut out: Schedules = Vec::new();
    let bar = visible_bar();
    if let Ok(style) = ProgressStyle::with_template("recalibrating {bar:40} {pos}/{len} fits {eta}")
    {
        bar.set_style(style);
    }
    for point in points {
        let (window, interval) = plan_key(&point.settings);
        if out.iter().any(|(k, _)| *k == (window, interval)) {
            continue;
        }
        let schedule = recalibrations(prepared, window, interval, &bar)
            .await
            .context("recalibration schedule")?;
        out.push(((window, interval), schedule));
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The schedule computed for a point's settings.
pub fn schedule_of<'a>(
    schedules: &'a Schedules,
    settings: &Settings,
) -> anyhow::Result<&'a [Recalibration]> {
    let key = plan_key(settings);
    schedules
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| s.as_slice())
        .context("no recalibration schedule was computed for these settings")
}

/// Runs every point on `jobs` threads, each into `<out>/<label>/` (the label made safe as one
/// path component), then prints the table and writes it to `<out>/sweep.txt`.
pub fn run(
    prepared: &Prepared,
    points: &[Point],
    schedules: &Schedules,
    jobs: usize,
    out_dir: &Path,
    format: Format,
) -> anyhow::Result<()> {
    let summaries = run_points(prepared, points, schedules, jobs, out_dir, "sweep")?;
    let text = table(points, &summaries);
    let file = out_dir.join("sweep.txt");
    std::fs::write(&file, &text).with_context(|| format!("cannot write {}", file.display()))?;
    let runs: Vec<(&str, &Summary)> =
        points.iter().zip(&summaries).map(|(p, s)| (p.label.as_str(), s)).collect();
    print(format, &text, &runs, out_dir)
}

/// Runs every point over `prepared`'s range on `jobs` threads, each into `<out>/<label>/`,
/// and returns their summaries in the points' order (`what` names the runs on the progress
/// bar). Results do not depend on `jobs`.
pub fn run_points(
    prepared: &Prepared,
    points: &[Point],
    schedules: &Schedules,
    jobs: usize,
    out_dir: &Path,
    what: &str,
) -> anyhow::Result<Vec<Summary>> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<anyhow::Result<Summary>>>> =
        points.iter().map(|_| Mutex::new(None)).collect();
    let bar = visible_bar();
    bar.set_length(points.len() as u64);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} runs {{eta}}"))
    {
        bar.set_style(style);
    }
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(points.len()).max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(point) = points.get(i) else { break };
                let dir = out_dir.join(component(&point.label));
                let result = schedule_of(schedules, &point.settings).and_then(|schedule| {
                    run_one(
                        prepared,
                        prepared.listings.replay(),
                        &point.settings,
                        schedule,
                        &dir,
                        ProgressBar::hidden(),
                        None,
                    )
                });
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(result);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut summaries = Vec::with_capacity(points.len());
    for (point, slot) in points.iter().zip(results) {
        let result = slot
            .into_inner()
            .ok()
            .flatten()
            .with_context(|| format!("{what} point {} did not run", point.label))?;
        summaries.push(result.with_context(|| format!("{what} point {}", point.label))?);
    }
    Ok(summaries)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The comparison table: one line per point, ending with the point's notes (why it sent no
/// order or got no fill; empty when it filled).
pub fn table(points: &[Point], summaries: &[Summary]) -> String {
    let mut header: Vec<String> =
        ["point", "pnl net", SHARPE_LABEL, SORTINO_LABEL, "max drawdown", "fills bid/ask"]
            .map(String::from)
            .to_vec();
    let horizons: Vec<u32> = summaries
        .first()
        .map(|s| s.markouts.iter().map(|m| m.horizon_seconds).collect())
        .unwrap_or_default();
    header.extend(horizons.iter().map(|h| format!("markout {h}s bps")));
    header.push("note".to_owned());
    let mut rows = vec![header];
    for (point, s) in points.iter().zip(summaries) {
        let mut row = vec![
            point.label.clone(),
            s.pnl_net.to_string(),
            opt(s.sharpe, 3),
            opt(s.sortino, 3),
            s.max_drawdown.to_string(),
            format!("{}/{}", s.fills_bid, s.fills_ask),
        ];
        for h in &horizons {
            let m = s.markouts.iter().find(|m| m.horizon_seconds == *h);
            row.push(opt(m.and_then(|m| m.mean_bps), 3));
        }
        row.push(s.notes.join("; "));
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |v| v.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, value) in row.iter().enumerate() {
            let w = widths[c];
            // Writing to a String cannot fail. The point and the note read left to right.
            let _ = if c == 0 {
                write!(line, "{value:<w$}")
            } else if c + 1 == columns {
                write!(line, "  {value:<w$}")
            } else {
                write!(line, "  {value:>w$}")
            };
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_the_cartesian_product_in_flag_order() {
        let base = Settings::default();
        let axes = axes(&["gamma=0.05,0.1".into(), "cooldown=30,60,90".into()], &base).unwrap();
        let labels: Vec<String> =
            points(&base, &axes).unwrap().into_iter().map(|p| p.label).collect();
        assert_eq!(labels.len(), 6);
        assert_eq!(labels[0], "gamma=0.05,cooldown=30");
        assert_eq!(labels[5], "gamma=0.1,cooldown=90");
        assert_eq!(points(&base, &[]).unwrap().len(), 1, "no sweep: one point");
    }

    #[test]
    fn the_table_labels_sharpe_like_the_summary_and_ends_with_each_note() {
        let base = Settings::default();
        let axes = axes(&["gamma=0.05,0.1".into()], &base).unwrap();
        let points = points(&base, &axes).unwrap();
        let quiet = Summary {
            notes: vec!["no orders: warm-up".into(), "no fit".into()],
            ..Summary::default()
        };
        let filled = Summary { fills_bid: 1, sharpe: Some(1.5), ..Summary::default() };
        let text = table(&points, &[quiet, filled]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("  sharpe (1-min, annualised)  sortino (1-min, annualised)"));
        assert!(lines[0].ends_with("  note"), "{text}");
        assert!(lines[1].ends_with("  no orders: warm-up; no fit"), "{text}");
        assert!(lines[2].starts_with("gamma=0.1 ") && lines[2].contains(" 1.500 "), "{text}");
        assert!(!lines[2].ends_with(' '), "{text}");
    }

    #[test]
    fn a_bad_value_or_key_fails_before_anything_runs() {
        let base = Settings::default();
        assert!(axes(&["gamma=0.1,abc".into()], &base).is_err());
        assert!(axes(&["no_such_setting=1".into()], &base).is_err());
        assert!(axes(&["gamma".into()], &base).is_err());
        assert!(axes(&["gamma=0.1".into(), "gamma=0.2".into()], &base).is_err());
    }
}
