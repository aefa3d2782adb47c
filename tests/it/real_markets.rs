//! Defaults that hold on real markets (issue 19): on the shipped BTCUSDT sample and the real
//! USD-M capture in ../shared (skipped with a message when absent), the default calibration
//! chooses its depth grid from the data and fits well, a set one-tick grid is warned about,
//! the calibration table keeps one row per window and settings with `spread` reading the
//! latest-written, and the default backtest and `spread` give sound numbers.

use std::path::Path;

use serde_json::Value;

use crate::common::{copy_tree, mdkit, stderr, stdout};

/// The shipped sample's recorded tables (not its calibration) copied to `to`.
fn sample(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for table in ["depth", "book_top", "trades", "events", "_state"] {
        copy_tree(&from.join(table), &to.join(table), &|_| true);
    }
}

fn calibrate_json(data: &Path, args: &[&str]) -> (Value, String) {
    let mut all = vec!["calibrate", "--format", "json"];
    all.extend_from_slice(args);
    let out = mdkit(data, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one window: {text}");
    (serde_json::from_str(lines[0]).unwrap(), stderr(&out))
}

fn r2(row: &Value, side: &str) -> f64 {
    row[format!("r2_{side}")].as_f64().unwrap_or_else(|| panic!("no r2_{side}: {row}"))
}

/// Both sides fit at R² ≥ 0.9 with the grid chosen from the data, printed and stored.
fn assert_good_default_fit(data: &Path, market: &str) -> Value {
    let (row, err) = calibrate_json(data, &["--market", market]);
    for side in ["bid", "ask"] {
        assert!(r2(&row, side) >= 0.9, "{market} {side}: R² {} < 0.9: {row}", r2(&row, side));
        assert_eq!(row[format!("quality_{side}")], "good", "{row}");
    }
    assert_eq!(row["grid"], "data", "{row}");
    assert!(!err.contains("warning"), "a good fit warns of nothing: {err}");
    eprintln!(
        "{market}: grid {} + k·{} (k < {}), R² bid {:.4} ask {:.4}, κ bid {} ask {}",
        row["depth_start"],
        row["depth_step"],
        row["depth_levels"],
        r2(&row, "bid"),
        r2(&row, "ask"),
        row["kappa_bid"],
        row["kappa_ask"]
    );
    row
}

#[test]
fn the_default_grid_fits_the_shipped_sample_and_a_one_tick_grid_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    assert_good_default_fit(dir.path(), "BTCUSDT");
    // The table output prints the grid and the units.
    let out = mdkit(dir.path(), &["calibrate", "--no-write"]);
    let text = stdout(&out);
    for want in ["sigma(price/√s)", "kappa_bid(1/price)", "A_bid(1/s)", "(data)", "good"] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
    // The one-tick grid of old: a poor fit, and a warning that names the setting.
    let (row, err) = calibrate_json(dir.path(), &["--no-write", "--depth-step", "0.01"]);
    assert_eq!(row["grid"], "set", "{row}");
    assert!(r2(&row, "bid") < 0.9 || r2(&row, "ask") < 0.9, "{row}");
    assert!(err.contains("warning:") && err.contains("fit is poor"), "{err}");
    assert!(err.contains("--depth-step"), "names the setting: {err}");
}

#[test]
fn the_default_grid_fits_the_real_usdm_capture() {
    let Some(dir) = crate::common::shared_realdata() else { return };
    let data = tempfile::tempdir().unwrap();
    let file = dir.join("usdm/btcusdt_20240808.gz");
    let out =
        mdkit(data.path(), &["import", "--from-format", "hftbacktest-raw", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_good_default_fit(data.path(), "BTCUSDT");
    let (orders, fills) = default_backtest(data.path());
    eprintln!("USD-M default backtest: {orders} orders, {fills} fills");
}

/// `mdkit sql` → the calibration rows as (window_end, kappa_bid, depth_step) text.
fn table_rows(data: &Path) -> Vec<String> {
    let out = mdkit(
        data,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT window_end, kappa_bid, depth_step FROM calibration ORDER BY written_at",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn the_calibration_table_keeps_one_row_per_window_and_settings_and_spread_reads_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let (first, _) = calibrate_json(dir.path(), &[]);
    let (again, _) = calibrate_json(dir.path(), &[]);
    assert_eq!(first["kappa_bid"], again["kappa_bid"]);
    assert_eq!(table_rows(dir.path()).len(), 1, "the same window and settings: replaced");
    // Other settings add a row for the same window; whichever ran last is what spread uses,
    // every time.
    for (round, step) in ["0.05", "0.2", "0.05", "0.1"].into_iter().enumerate() {
        let (row, _) = calibrate_json(dir.path(), &["--depth-step", step, "--depth-levels", "15"]);
        let rows = table_rows(dir.path());
        let distinct: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.rsplit(',').next().unwrap()).collect();
        assert_eq!(rows.len(), distinct.len(), "one row per settings: {rows:?}");
        assert!(rows.len() <= 4, "round {round}: {rows:?}");
        let out = mdkit(dir.path(), &["spread", "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let quote: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(quote["kappa_bid"], row["kappa_bid"], "round {round}: the latest-written");
        assert_eq!(quote["calibration_window_end"], row["window_end"]);
    }
}

#[test]
fn spread_on_the_sample_says_the_book_is_old_and_is_not_held_at_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    calibrate_json(dir.path(), &[]);
    let out = mdkit(dir.path(), &["spread", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("is from 2024-08-09") && err.contains("not today's quotes"), "{err}");
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["gamma_mode"], "inventory_skew", "{v}");
    assert_ne!(v["spread_clamped"], "max", "{v}");
    let (bid, ask) = (v["bid"].as_str().unwrap(), v["ask"].as_str().unwrap());
    let (bid, ask): (f64, f64) = (bid.parse().unwrap(), ask.parse().unwrap());
    let max_spread = v["max_spread"].as_f64().unwrap();
    assert!(ask - bid < max_spread, "{bid} / {ask} inside {max_spread}: {v}");
    eprintln!("spread on the sample: {v}");
}

/// `mdkit backtest` with no settings into a new folder: (orders sent, fills), both above 0.
fn default_backtest(data: &Path) -> (u64, u64) {
    let out_dir = data.join("_bt");
    let out = mdkit(data, &["backtest", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    let count = |key: &str| summary[key].as_u64().unwrap_or(0);
    let (orders, fills) = (count("orders_sent"), count("fills_bid") + count("fills_ask"));
    assert!(orders > 0 && fills > 0, "orders {orders}, fills {fills}: {summary}");
    (orders, fills)
}

#[test]
fn the_default_backtest_on_the_sample_quotes_and_fills_and_says_how_it_was_sized() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let out = mdkit(dir.path(), &["backtest", "--out", dir.path().join("a").to_str().unwrap()]);
    assert!(stderr(&out).contains("sized to the data"), "{}", stderr(&out));
    let (orders, fills) = default_backtest(dir.path());
    eprintln!("sample default backtest: {orders} orders, {fills} fills");
    // A setting given keeps the schedule as given: the default warm-up is longer than the
    // sample, so nothing is quoted, and the note says why.
    let out = mdkit(
        dir.path(),
        &["backtest", "--set", "every=540", "--out", dir.path().join("b").to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("sized to the data"), "{}", stderr(&out));
}

#[test]
fn the_default_backtest_on_the_simulator_quotes_and_fills() {
    let dir = tempfile::tempdir().unwrap();
    // 30 simulated minutes: long enough for the default schedule (warm-up 900 s, fits every
    // 600 s), which is kept as it is.
    crate::calibrate::simulated_tree(
        dir.path(),
        mdkit::simulate::market::MarketParams::preset("ETH-USD"),
        3,
        crate::calibrate::T0,
        18_000,
    );
    let (orders, fills) = default_backtest(dir.path());
    eprintln!("simulator default backtest: {orders} orders, {fills} fills");
}
