//! `mdkit spread`: the quote from the latest calibration row and book frame, checked against
//! docs/MODEL.md's formulas written out here, for each γ mode and the γ → 0 limit; and bad input.

use std::path::Path;

use mdkit::model::EventTime;
use mdkit::storage::{CalibrationRow, SideFit};

use crate::calibrate::{frame, write, T0};
use crate::common::{mdkit, stderr, stdout, SEC};

const HOUR: i64 = 3600 * SEC;

fn fit(kappa: Option<f64>, reason: Option<&str>) -> SideFit {
    SideFit {
        kappa,
        a: kappa.map(|_| 2.0),
        r2: kappa.map(|_| 0.99),
        points: 20,
        orders: 1000,
        reason: reason.map(str::to_owned),
        quality: None,
    }
}

fn calibration(start: i64, sigma: f64, kappa_bid: Option<f64>, kappa_ask: f64) -> CalibrationRow {
    CalibrationRow {
        window_start: EventTime::from_nanos(start),
        window_end: EventTime::from_nanos(start + HOUR),
        sigma: Some(sigma),
        mid_samples: 3600,
        trades: 5000,
        bid: fit(kappa_bid, kappa_bid.is_none().then_some("only 2 grid points")),
        ask: fit(Some(kappa_ask), None),
        written_at: None,
        settings: None,
    }
}

/// ETH-USD: two frames (the latest 2999.99 / 3000.01) and two calibration rows (the latest
/// σ 0.5, κ_bid 15, κ_ask 10, window [T0, T0 + 1 h)).
fn tree(root: &Path) {
    write(
        root,
        "ETH-USD",
        &[
            frame(T0 + 600 * SEC, 1, "2999.50", "3000.50"),
            frame(T0 + 3000 * SEC, 2, "2999.99", "3000.01"),
        ],
    );
    write(
        root,
        "ETH-USD",
        &[calibration(T0 - HOUR, 2.0, Some(1.0), 1.0), calibration(T0, 0.5, Some(15.0), 10.0)],
    );
}

fn spread(root: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["spread", "--market", "ETH-USD", "--format", "json"];
    all.extend_from_slice(args);
    let out = mdkit(root, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

fn f(v: &serde_json::Value, name: &str) -> f64 {
    v[name].as_f64().unwrap_or_else(|| panic!("{name} missing: {v}"))
}

/// docs/MODEL.md, written out: δ = γσ²T + (2/γ)·ln(1 + γ/κ), r = mid − γσ²Tq.
fn assert_formulas(v: &serde_json::Value, gamma: f64, q: f64) {
    let (mid, sigma, t) = (3000.0, 0.5, 1800.0);
    let (d_bid, d_ask) = if gamma == 0.0 {
        (2.0 / 15.0, 2.0 / 10.0)
    } else {
        (
            gamma * sigma * sigma * t + 2.0 / gamma * (1.0 + gamma / 15.0f64).ln(),
            gamma * sigma * sigma * t + 2.0 / gamma * (1.0 + gamma / 10.0f64).ln(),
        )
    };
    let r = mid - gamma * sigma * sigma * t * q;
    for (name, want) in [
        ("mid", mid),
        ("gamma", gamma),
        ("delta_bid", d_bid),
        ("delta_ask", d_ask),
        ("reservation", r),
        ("raw_bid", r - d_bid / 2.0),
        ("raw_ask", r + d_ask / 2.0),
    ] {
        assert!((f(v, name) - want).abs() < 1e-9, "{name}: {} vs {want}\n{v}", f(v, name));
    }
}

#[test]
fn constant_gamma_quotes_by_the_formulas_from_the_latest_row_and_frame() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let v = spread(dir.path(), &["--gamma-mode", "constant"]);
    assert_eq!(v["calibration_window_end"], "2026-11-20T14:00:00Z", "the latest row: {v}");
    assert_eq!(
        (v["best_bid"].as_str(), v["best_ask"].as_str()),
        (Some("2999.99"), Some("3000.01"))
    );
    assert_eq!(v["tick"], "0.01", "gcd of 2999.5, 3000.5, 2999.99, 3000.01");
    // γ 0.1, q 0: γσ²T = 0.1·0.25·1800 = 45; δ_bid = 45 + 20·ln(1 + 0.1/15) = 45.13289…,
    // δ_ask = 45 + 20·ln(1.01) = 45.19900…; r = 3000; bid 2977.43355… → 2977.43,
    // ask 3022.59950… → 3022.60 (spread ~151 bps: inside the 3–200 bps bounds).
    assert_formulas(&v, 0.1, 0.0);
    assert_eq!((v["bid"].as_str(), v["ask"].as_str()), (Some("2977.43"), Some("3022.6")));
    assert!(v["spread_clamped"].is_null(), "inside the bounds: {v}");

    // q = −1, γ 0.01 (a γ alone selects the constant mode): r = 3000 + 0.01·450 = 3004.5; the bid 3004.5 − 2.2566… would cross the
    // best ask 3000.01, so it stays one tick under it.
    let v = spread(dir.path(), &["--inventory", "-1", "--gamma", "0.01"]);
    assert_eq!(v["gamma_mode"], "constant");
    assert_formulas(&v, 0.01, -1.0);
    assert_eq!(v["bid"], "3000");
}

#[test]
fn the_default_gamma_is_scale_free() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    // inventory_skew 1: h = (1/15 + 1/10)/2 = 1/12, σ²T = 0.25 · 1800 = 450, q_max 10:
    // γ = (1/12) / (450 · 10) = 1/54000; at q = q_max the reservation is h under the mid.
    let v = spread(dir.path(), &["--inventory", "10"]);
    assert_eq!(v["gamma_mode"], "inventory_skew");
    assert_formulas(&v, 1.0 / 54_000.0, 10.0);
    assert!((f(&v, "mid") - f(&v, "reservation") - 1.0 / 12.0).abs() < 1e-9, "{v}");
    // --inventory-skew 2 doubles γ.
    let v = spread(dir.path(), &["--inventory-skew", "2"]);
    assert_formulas(&v, 2.0 / 54_000.0, 0.0);
    // The spread (~0.17) is widened to the fee floor 0.9: said so.
    assert_eq!(v["spread_clamped"], "min", "{v}");
}

#[test]
fn gamma_to_zero_gives_two_over_kappa() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    // γ = 0: δ = 2/κ exactly (0.13333… and 0.2), r = mid whatever q.
    let v = spread(dir.path(), &["--gamma", "0", "--inventory", "3"]);
    assert_formulas(&v, 0.0, 3.0);
    // γ = 1e-12: the closed form, evaluated naively, loses digits; the quote is within 1e-9 of
    // the limit.
    let v = spread(dir.path(), &["--gamma", "1e-12"]);
    assert!((f(&v, "delta_bid") - 2.0 / 15.0).abs() < 1e-9, "{v}");
    assert!((f(&v, "delta_ask") - 0.2).abs() < 1e-9, "{v}");
    // The fee floor: 2/κ spreads (~0.17) are below max(2 bps, 2 × 1.5 bps) of 3000 = 0.9, so
    // the quote is widened about its centre 3000 + (0.2 − 0.1333…)/4 = 3000.01666…:
    // bid 2999.56666… → 2999.56, ask 3000.46666… → 3000.47.
    assert!((f(&v, "min_spread") - 0.9).abs() < 1e-12);
    assert_eq!((v["bid"].as_str(), v["ask"].as_str()), (Some("2999.56"), Some("3000.47")));
}

#[test]
fn each_gamma_mode_follows_model_md() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    // inventory_scaled: γ = 0.1 · |q| / q_max = 0.1 · 4/10 = 0.04.
    let v = spread(dir.path(), &["--gamma-mode", "inventory_scaled", "--inventory", "-4"]);
    assert_eq!(v["gamma_mode"], "inventory_scaled");
    assert_formulas(&v, 0.04, -4.0);
    // … and 0 when flat.
    let v = spread(dir.path(), &["--gamma-mode", "inventory_scaled"]);
    assert_formulas(&v, 0.0, 0.0);
    // max_shift: γ = 10 ticks · 0.01 / (σ²·T·q_max) = 0.1 / (0.25 · 1800 · 10) = 0.1 / 4500,
    // so at q = q_max the reservation is 10 ticks under mid; and no new bid at +q_max.
    let v = spread(dir.path(), &["--gamma-mode", "max_shift", "--inventory", "10"]);
    assert_formulas(&v, 0.1 / 4500.0, 10.0);
    assert!((f(&v, "mid") - f(&v, "reservation") - 0.1).abs() < 1e-9, "{v}");
    assert!(v["bid"].is_null() && v["ask"].is_string(), "{v}");
    // The same from a config file; a flag still wins over it.
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"gamma_mode": "max_shift", "max_shift_ticks": 20, "order_size": "0.1"}"#,
    )
    .unwrap();
    let v = spread(dir.path(), &["--config", config.to_str().unwrap(), "--inventory", "10"]);
    assert_formulas(&v, 0.2 / 4500.0, 10.0);
    let v = spread(dir.path(), &["--config", config.to_str().unwrap(), "--gamma-mode", "constant"]);
    assert_formulas(&v, 0.1, 0.0);
}

#[test]
fn the_table_format_shows_the_working() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let out = mdkit(dir.path(), &["spread", "--gamma", "0.1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "mid                    3000.00000000",
        "reservation price r    3000.00000000",
        "full spread δ_bid      45.13289",
        "bid                    2977.43",
        "ask                    3022.6",
        "gamma (1/price)        1.000000e-1 (constant)",
        "inside, not clamped",
        "sigma (price/√s)       0.500000\n",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
}

#[test]
fn spread_without_a_usable_calibration_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["spread", "--market", "ETH-USD"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no calibration for */ETH-USD") && err.contains("mdkit calibrate"),
        "{err}"
    );

    // The latest row has a null κ_bid: the reason is passed on.
    write(dir.path(), "ETH-USD", &[frame(T0 + 600 * SEC, 1, "2999.50", "3000.50")]);
    write(dir.path(), "ETH-USD", &[calibration(T0, 0.5, None, 10.0)]);
    let out = mdkit(dir.path(), &["spread"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no kappa_bid: only 2 grid points"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = mdkit(dir.path(), &["spread", "--gamma-mode", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("constant, inventory_scaled, max_shift"), "{}", stderr(&out));
}
