//! The report: a human one (sections, counts, first examples with file and row) and the same
//! content as JSON (`--json`). Formats what the checks found; decides nothing.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::checks::book::fmt_duration;
use super::checks::cursor::fmt_ts;
use super::checks::latency::LatencyStats;
use super::findings::{Finding, Findings, Place, Section, Severity};
use super::market::MarketReport;
use super::Config;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub data: PathBuf,
    /// The selected range on the receive clock (RFC 3339), `null` when open.
    pub from: Option<String>,
    pub to: Option<String>,
    pub price_tolerance_bps: u32,
    pub violations: u64,
    pub markets: Vec<MarketReport>,
    /// Findings outside any venue and market directory.
    pub tree: Vec<Finding>,
}

impl Report {
    pub fn new(root: &Path, config: &Config, markets: Vec<MarketReport>, tree: Findings) -> Self {
        let violations = markets.iter().map(|m| m.violations).sum::<u64>() + tree.violations();
        Self {
            data: root.to_path_buf(),
            from: config.range.start.map(fmt_ts),
            to: config.range.end.map(fmt_ts),
            price_tolerance_bps: config.tolerance_bps,
            violations,
            markets,
            tree: tree.iter().cloned().collect(),
        }
    }
}

/// Writes the report for people.
pub fn write_human(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let range = match (&report.from, &report.to) {
        (None, None) => "all time".to_string(),
        (from, to) => {
            format!("{} to {}", from.as_deref().unwrap_or("start"), to.as_deref().unwrap_or("end"))
        }
    };
    writeln!(out, "mdkit verify: {} ({range})", report.data.display())?;
    let root = &report.data;
    if !report.tree.is_empty() {
        writeln!(out, "\ntree")?;
        write_findings(out, root, &report.tree.iter().collect::<Vec<_>>())?;
    }
    for m in &report.markets {
        write_market(out, root, m, report.price_tolerance_bps)?;
    }
    let markets = report.markets.len();
    let plural =
        |n: u64, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
    if report.violations == 0 {
        writeln!(out, "\nresult: clean ({} checked)", plural(markets as u64, "market"))?;
    } else {
        let bad = report.markets.iter().filter(|m| m.violations > 0).count() as u64;
        writeln!(
            out,
            "\nresult: {} in {} (exit 1)",
            plural(report.violations, "violation"),
            plural(bad.max(1), "market")
        )?;
    }
    Ok(())
}

fn write_market(
    out: &mut impl Write,
    root: &Path,
    m: &MarketReport,
    tolerance_bps: u32,
) -> io::Result<()> {
    let rows = |t: &str| m.rows.get(t).copied().unwrap_or(0);
    let parts: usize = m.parts.values().sum();
    writeln!(out, "\n{} {}", m.venue, m.market)?;
    writeln!(
        out,
        "  read: {} depth rows, {} book frames, {} trades, {} events ({parts} parts)",
        rows("depth"),
        rows("book_top"),
        rows("trades"),
        rows("events")
    )?;
    let list = |c: &[u32]| {
        if c.is_empty() {
            "none".to_string()
        } else {
            c.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    writeln!(out, "  connections: book {}; trades {}", list(&m.book_conns), list(&m.trade_conns))?;
    for section in Section::ALL {
        let found: Vec<&Finding> = {
            let mut v: Vec<&Finding> = m.findings.iter().filter(|f| f.section == section).collect();
            v.sort_by_key(|f| (f.severity, f.kind));
            v
        };
        let violations: u64 =
            found.iter().filter(|f| f.severity == Severity::Violation).map(|f| f.count).sum();
        let notes: u64 =
            found.iter().filter(|f| f.severity == Severity::Note).map(|f| f.count).sum();
        let mut status =
            if violations == 0 { "ok".to_string() } else { format!("{violations} violation(s)") };
        if notes > 0 {
            status.push_str(&format!(", {notes} note(s)"));
        }
        writeln!(out, "  {:<11} {status}", section.name())?;
        if section == Section::Time {
            write_time(out, m)?;
        }
        if section == Section::Trades {
            writeln!(
                out,
                "    {} of {} trades compared with the book at their moment (tolerance {tolerance_bps} bps)",
                m.trades_compared,
                rows("trades")
            )?;
        }
        write_findings(out, root, &found)?;
    }
    Ok(())
}

fn write_time(out: &mut impl Write, m: &MarketReport) -> io::Result<()> {
    let line = |what: &str, s: &Option<LatencyStats>| match s {
        Some(s) => format!(
            "    latency (ts_recv − ts_event), {what}: p50 {}, p99 {}, max {} over {}",
            fmt_duration(s.p50_ns),
            fmt_duration(s.p99_ns),
            fmt_duration(s.max_ns),
            s.count
        ),
        None => format!("    latency, {what}: no rows"),
    };
    writeln!(out, "{}", line("book frames", &m.latency_book))?;
    writeln!(out, "{}", line("trades", &m.latency_trades))?;
    if let Some(skew) = &m.skew {
        let typical = skew
            .ahead_median_ns
            .map(|n| format!(", typically {}", fmt_duration(n)))
            .unwrap_or_default();
        writeln!(
            out,
            "    clock skew: {} of {} rows were received before the venue stamped them: the venue's clock is ahead of this machine's by up to {}{typical} (skew, not a violation; never corrected)",
            skew.rows,
            skew.of,
            fmt_duration(skew.ahead_max_ns)
        )?;
    }
    Ok(())
}

fn write_findings(out: &mut impl Write, root: &Path, found: &[&Finding]) -> io::Result<()> {
    for f in found {
        let label = match f.severity {
            Severity::Violation => "VIOLATION",
            Severity::Note => "note",
        };
        writeln!(out, "    {label} {}: {} [{}]", f.title, f.count, f.kind.slug())?;
        for example in &f.examples {
            writeln!(out, "      - {}", example.message)?;
            for place in &example.places {
                writeln!(out, "        at {}", place_text(root, place))?;
            }
        }
        if f.count > f.examples.len() as u64 {
            writeln!(out, "      … and {} more", f.count - f.examples.len() as u64)?;
        }
    }
    Ok(())
}

/// `depth/venue=…/part-….parquet row 12 (3 rows)`, relative to the data root.
fn place_text(root: &Path, place: &Place) -> String {
    let file = place.file.strip_prefix(root).unwrap_or(&place.file).display().to_string();
    match (place.row, place.rows) {
        (Some(row), Some(n)) if n > 1 => format!("{file} rows {row}–{} ({n} rows)", row + n - 1),
        (Some(row), _) => format!("{file} row {row}"),
        _ => file,
    }
}

/// One line per kind of finding: `venue,market,section,kind,severity,count`; findings outside
/// any market have empty venue and market. A clean market prints no line.
pub fn write_csv(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "venue,market,section,kind,severity,count")?;
    let mut line = |venue: &str, market: &str, f: &Finding| {
        let severity = match f.severity {
            Severity::Violation => "violation",
            Severity::Note => "note",
        };
        writeln!(
            out,
            "{venue},{market},{},{},{severity},{}",
            f.section.name(),
            f.kind.slug(),
            f.count
        )
    };
    for f in &report.tree {
        line("", "", f)?;
    }
    for m in &report.markets {
        for f in &m.findings {
            line(&m.venue, &m.market, f)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_read_relative_to_the_data_root() {
        let place = |file: &str, row, rows| Place { file: file.into(), row, rows };
        let cases = [
            (place("/d/depth/p.parquet", Some(4), Some(1)), "depth/p.parquet row 4"),
            (place("/d/depth/p.parquet", Some(4), Some(3)), "depth/p.parquet rows 4–6 (3 rows)"),
            (place("/elsewhere/x.parquet", None, None), "/elsewhere/x.parquet"),
        ];
        for (p, want) in cases {
            assert_eq!(place_text(Path::new("/d"), &p), want);
        }
    }
}
