//! Prints calibration rows: an aligned table for people (with the reason under each null
//! side), CSV with a header, or JSON lines with every column of the `calibration` table.

use std::io::Write;

use serde_json::{json, Value};

use super::MarketKey;
use crate::storage::{CalibrationRow, SideFit};

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
    Value::Object(obj)
}

const CSV_HEADER: &str = "venue,market,window_start,window_end,sigma,mid_samples,trades,\
kappa_bid,a_bid,r2_bid,points_bid,orders_bid,reason_bid,\
kappa_ask,a_ask,r2_ask,points_ask,orders_ask,reason_ask";

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
        "{},{},{},{},{},{}",
        f(fit.kappa),
        f(fit.a),
        f(fit.r2),
        fit.points,
        fit.orders,
        csv_field(fit.reason.as_deref().unwrap_or(""))
    )
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
                        "{},{},{},{},{},{},{},{},{}",
                        key.venue,
                        key.market,
                        row.window_start,
                        row.window_end,
                        row.sigma.map(|x| x.to_string()).unwrap_or_default(),
                        row.mid_samples,
                        row.trades,
                        csv_side(&row.bid),
                        csv_side(&row.ask)
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
        "sigma",
        "kappa_bid",
        "A_bid",
        "R2_bid",
        "pts",
        "orders",
        "kappa_ask",
        "A_ask",
        "R2_ask",
        "pts",
        "orders",
        "mids",
        "trades",
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
                ]);
            }
            line.extend([row.mid_samples.to_string(), row.trades.to_string()]);
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
            .map(|(c, (cell, w))| if c < 2 { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}
