//! Prints calibration rows: an aligned table for people (units in the header, the reason under
//! each null side), CSV with a header, or JSON lines with every column of the `calibration`
//! table; and the warnings on poor fits, each naming the setting to change.

use std::io::Write;

use serde_json::{json, Value};

use super::MarketKey;
use crate::estimate::{DepthGrid, GOOD_POINTS, GOOD_R2, MIN_FIT_POINTS};
use crate::model::{FitQuality, GridSource};
use crate::storage::{CalibrationRow, FitSettings, SideFit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people, with notes for null results
    Table,
    /// CSV with a header line, every column of the calibration table
    Csv,
    /// One JSON object per window (JSON lines), every column of the calibration table
    Json,
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_owned(), |x| format!("{x:.6}"))
}

fn side_json(prefix: &str, fit: &SideFit, obj: &mut serde_json::Map<String, Value>) {
    obj.insert(format!("kappa_{prefix}"), json!(fit.kappa));
    obj.insert(format!("a_{prefix}"), json!(fit.a));
    obj.insert(format!("r2_{prefix}"), json!(fit.r2));
    obj.insert(format!("points_{prefix}"), json!(fit.points));
    obj.insert(format!("orders_{prefix}"), json!(fit.orders));
    obj.insert(format!("reason_{prefix}"), json!(fit.reason));
    obj.insert(format!("quality_{prefix}"), json!(fit.quality.map(FitQuality::as_str)));
}

fn grid_of(s: &FitSettings) -> DepthGrid {
    DepthGrid { start: s.depth_start, step: s.depth_step, levels: s.depth_levels }
}

/// One row as a JSON object with the calibration table's column names.
pub fn row_json(key: &MarketKey, row: &CalibrationRow) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("venue".into(), json!(key.venue));
    obj.insert("market".into(), json!(key.market));
    obj.insert("window_start".into(), json!(row.window_start.to_string()));
    obj.insert("window_end".into(), json!(row.window_end.to_string()));
    obj.insert("sigma".into(), json!(row.sigma));
    obj.insert("mid_samples".into(), json!(row.mid_samples));
    obj.insert("trades".into(), json!(row.trades));
    side_json("bid", &row.bid, &mut obj);
    side_json("ask", &row.ask, &mut obj);
    obj.insert("written_at".into(), json!(row.written_at.map(|t| t.to_string())));
    let s = row.settings.as_ref();
    obj.insert("grid".into(), json!(s.map(|s| s.grid.as_str())));
    obj.insert("depth_start".into(), json!(s.map(|s| s.depth_start.to_string())));
    obj.insert("depth_step".into(), json!(s.map(|s| s.depth_step.to_string())));
    obj.insert("depth_levels".into(), json!(s.map(|s| s.depth_levels)));
    obj.insert("min_count".into(), json!(s.map(|s| s.min_count)));
    obj.insert("sample_interval_ns".into(), json!(s.map(|s| s.sample_interval_ns)));
    Value::Object(obj)
}

const CSV_HEADER: &str = "venue,market,window_start,window_end,sigma,mid_samples,trades,\
kappa_bid,a_bid,r2_bid,points_bid,orders_bid,reason_bid,quality_bid,\
kappa_ask,a_ask,r2_ask,points_ask,orders_ask,reason_ask,quality_ask,\
written_at,grid,depth_start,depth_step,depth_levels,min_count,sample_interval_ns";

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn csv_side(fit: &SideFit) -> String {
    let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{}",
        f(fit.kappa),
        f(fit.a),
        f(fit.r2),
        fit.points,
        fit.orders,
        csv_field(fit.reason.as_deref().unwrap_or("")),
        fit.quality.map_or("", FitQuality::as_str)
    )
}

fn csv_settings(row: &CalibrationRow) -> String {
    let written = row.written_at.map(|t| t.to_string()).unwrap_or_default();
    match &row.settings {
        None => format!("{written},,,,,,"),
        Some(s) => format!(
            "{written},{},{},{},{},{},{}",
            s.grid, s.depth_start, s.depth_step, s.depth_levels, s.min_count, s.sample_interval_ns
        ),
    }
}

pub fn write(
    out: &mut impl Write,
    format: Format,
    results: &[(MarketKey, Vec<CalibrationRow>)],
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            for (key, rows) in results {
                for row in rows {
                    writeln!(out, "{}", row_json(key, row))?;
                }
            }
        }
        Format::Csv => {
            writeln!(out, "{CSV_HEADER}")?;
            for (key, rows) in results {
                for row in rows {
                    writeln!(
                        out,
                        "{},{},{},{},{},{},{},{},{},{}",
                        key.venue,
                        key.market,
                        row.window_start,
                        row.window_end,
                        row.sigma.map(|x| x.to_string()).unwrap_or_default(),
                        row.mid_samples,
                        row.trades,
                        csv_side(&row.bid),
                        csv_side(&row.ask),
                        csv_settings(row)
                    )?;
                }
            }
        }
        Format::Table => write_table(out, results)?,
    }
    Ok(())
}

fn write_table(
    out: &mut impl Write,
    results: &[(MarketKey, Vec<CalibrationRow>)],
) -> anyhow::Result<()> {
    let header = [
        "venue",
        "market",
        "window_end",
        "sigma(price/√s)",
        "kappa_bid(1/price)",
        "A_bid(1/s)",
        "R2_bid",
        "pts",
        "orders",
        "fit",
        "kappa_ask(1/price)",
        "A_ask(1/s)",
        "R2_ask",
        "pts",
        "orders",
        "fit",
        "mids",
        "trades",
        "grid (δ = start + k·step)",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    let mut notes = Vec::new();
    for (key, rows) in results {
        for row in rows {
            let mut line = vec![
                key.venue.clone(),
                key.market.clone(),
                row.window_end.to_string(),
                num(row.sigma),
            ];
            for fit in [&row.bid, &row.ask] {
                line.extend([
                    num(fit.kappa),
                    num(fit.a),
                    num(fit.r2),
                    fit.points.to_string(),
                    fit.orders.to_string(),
                    fit.quality.map_or("", FitQuality::as_str).to_owned(),
                ]);
            }
            let grid = row.settings.as_ref().map_or_else(String::new, |s| {
                format!("{}+k·{} k<{} ({})", s.depth_start, s.depth_step, s.depth_levels, s.grid)
            });
            line.extend([row.mid_samples.to_string(), row.trades.to_string(), grid]);
            lines.push(line);
            if row.sigma.is_none() {
                notes.push(format!(
                    "{key} {}: sigma is null: {} grid points with a mid (need 3)",
                    row.window_end, row.mid_samples
                ));
            }
            for (side, fit) in [("bid", &row.bid), ("ask", &row.ask)] {
                if let Some(reason) = &fit.reason {
                    notes.push(format!("{key} {}: {side} side is null: {reason}", row.window_end));
                }
            }
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
        .collect();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c < 2 || c + 1 == header.len() {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// One warning per side whose fit is poor or has too few points, naming the setting to change.
pub fn warn_poor_fits(key: &MarketKey, rows: &[CalibrationRow], config: &super::Config) {
    for row in rows {
        for (side, fit) in [("bid", &row.bid), ("ask", &row.ask)] {
            if let Some(line) = poor_fit(side, fit, row.settings.as_ref(), config) {
                tracing::warn!("{key} window ending {}: {line}", row.window_end);
            }
        }
    }
}

/// What is wrong with one side's fit and what to change, or `None` when it is good (or null
/// for want of orders, which the reason already says).
fn poor_fit(
    side: &str,
    fit: &SideFit,
    settings: Option<&FitSettings>,
    config: &super::Config,
) -> Option<String> {
    let few_points = fit.points < MIN_FIT_POINTS && fit.orders > 0;
    if fit.quality != Some(FitQuality::Poor) && !few_points {
        return None;
    }
    let what = match fit.r2 {
        Some(r2) if !few_points => format!(
            "{side} fit is poor: R² {r2:.2} over {} points (good is R² ≥ {GOOD_R2} over ≥ {GOOD_POINTS})",
            fit.points
        ),
        _ => format!(
            "{side} fit has only {} grid points with at least {} orders",
            fit.points, config.min_count
        ),
    };
    let advice = match settings.map(|s| (s.grid, grid_of(s))) {
        Some((GridSource::Set, grid)) => format!(
            "the grid {grid} was set: change --depth-step (or leave it out to choose the grid from the data)"
        ),
        Some((GridSource::Data, grid)) => format!(
            "the grid {grid} was chosen from the data: lengthen --window for more orders, or set --depth-step"
        ),
        Some((GridSource::Tick, _)) => {
            "too few orders to choose a grid from: lengthen --window or lower --min-count".to_owned()
        }
        None => "change --depth-step".to_owned(),
    };
    Some(format!("{what}; {advice}"))
}
