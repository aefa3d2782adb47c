//! Contracts end to end (docs/MODEL.md "Contracts"): `import` stores the market's contract
//! with the tables, `backtest` values every fill by it — the real COIN-M capture in
//! ../shared/realdata (skipped with a message when absent) as inverse contracts of 100 USD,
//! checked against a hand computation from fills.parquet — and a COIN-M recording without a
//! stored contract is refused with one line naming the fix.

use std::path::Path;

use arrow::array::{Array, Decimal128Array, RecordBatch, StringArray};

use crate::backtest::read_parquet;
use crate::common::{mdkit, stderr, stdout};
use crate::import::{gz, DIFF, SNAP};

/// A decimal column as `f64`s (for the hand computation only).
fn decimals(batches: &[RecordBatch], name: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(name).unwrap();
            let col = col.as_any().downcast_ref::<Decimal128Array>().unwrap();
            let scale = 10f64.powi(i32::from(col.scale()));
            (0..col.len()).map(move |i| col.value(i) as f64 / scale).collect::<Vec<_>>()
        })
        .collect()
}

fn strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(name).unwrap();
            let col = col.as_any().downcast_ref::<StringArray>().unwrap();
            (0..col.len()).map(|i| col.value(i).to_owned()).collect::<Vec<_>>()
        })
        .collect()
}

fn number(s: &serde_json::Value, key: &str) -> f64 {
    let text = s[key].as_str().unwrap_or_else(|| panic!("{key} is not a decimal string: {s}"));
    text.parse().unwrap()
}

/// Settings under which the strategy trades on the capture's ~6 minutes (11 fills, ending
/// long 10 contracts, so the mark is tested too).
const TRADING: [&str; 12] = [
    "--set",
    "warmup=30",
    "--set",
    "every=30",
    "--set",
    "window=60",
    "--set",
    "gamma=0.00001",
    "--set",
    "cooldown=5s",
    "--fill-model",
    "cross",
];

fn backtest(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let out = out.display().to_string();
    let mut args = vec!["backtest", "--out", out.as_str()];
    args.extend_from_slice(&TRADING);
    args.extend_from_slice(extra);
    mdkit(data, &args)
}

#[test]
fn a_coinm_backtest_values_fills_as_inverse_contracts_as_a_hand_computation_does() {
    let Some(dir) = crate::common::shared_realdata() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let capture = dir.join("cm/btcusd_perp_20240808.gz");
    let capture = capture.display().to_string();
    let out = mdkit(&data, &["import", "--from-format", "hftbacktest-raw", &capture]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("  contract: inverse:100 (the binance-coinm rule of docs/VENUES.md)"),
        "{}",
        stdout(&out)
    );
    let stored = data.join("_contract/binance-coinm/BTCUSD_PERP.json");
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.contains("\"contract\": \"inverse:100\""), "{text}");

    let run = tmp.path().join("run");
    let out = backtest(&data, &run, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("money BTC, quantities contracts of 100 USD, prices USD per BTC"),
        "{table}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!((&s["contract"], &s["settlement_currency"]), (&"inverse:100".into(), &"BTC".into()));
    assert_eq!((&s["units"]["turnover"], &s["units"]["pnl_net"]), (&"BTC".into(), &"BTC".into()));

    // By hand, from fills.parquet: a fill of q contracts at p is worth q·100/p BTC; a buy
    // adds that to cash, a sell takes it; the fee is its rate × that value; the final
    // position n is marked at −n·100/mid.
    let fills = read_parquet(&run.join("fills.parquet"));
    let (prices, qtys, fees, cash) = (
        decimals(&fills, "price"),
        decimals(&fills, "qty"),
        decimals(&fills, "fee"),
        decimals(&fills, "cash"),
    );
    let (sides, liquidity) = (strings(&fills, "side"), strings(&fills, "liquidity"));
    assert!(prices.len() >= 4, "the run must fill a few times to test anything: {s}");
    let (mut turnover, mut flows, mut position, mut previous_cash) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..prices.len() {
        let value = qtys[i] * 100.0 / prices[i];
        let sign = if sides[i] == "bid" { 1.0 } else { -1.0 };
        turnover += value;
        flows += sign * value;
        position += sign * qtys[i];
        let bps = if liquidity[i] == "maker" { 1.5 } else { 4.5 };
        assert!(
            (fees[i] - value * bps / 1e4).abs() < 1e-15,
            "fill {i}: fee {} of {value}",
            fees[i]
        );
        let moved = cash[i] - previous_cash;
        assert!((moved - (sign * value - fees[i])).abs() < 1e-13, "fill {i}: cash moved {moved}");
        previous_cash = cash[i];
    }
    let fee_sum: f64 = fees.iter().sum();
    let mid = number(&s, "final_mid");
    let by_hand = flows - fee_sum - position * 100.0 / mid;
    eprintln!(
        "COIN-M BTCUSD_PERP: {} fills, volume {} contracts, turnover {} BTC (by hand {turnover}), pnl_net {} BTC (by hand {by_hand}), fees {} BTC",
        prices.len(),
        s["volume"],
        s["turnover"],
        s["pnl_net"],
        s["fees"]
    );
    assert!((number(&s, "turnover") - turnover).abs() < 1e-12, "turnover {s}");
    assert!((number(&s, "fees") - fee_sum).abs() < 1e-12, "fees {s}");
    assert!((number(&s, "final_position") - position).abs() < 1e-9, "position {s}");
    assert!((number(&s, "pnl_net") - by_hand).abs() < 1e-10, "pnl_net {s} by hand {by_hand}");
    // In BTC: 100 USD contracts at ~61 700 USD are ~0.0016 BTC each, nowhere near the
    // price × qty a linear valuation would give.
    let volume = number(&s, "volume");
    let turnover_btc = number(&s, "turnover");
    assert!(turnover_btc < volume * 100.0 / 55_000.0 && turnover_btc > volume * 100.0 / 70_000.0);

    // Without the stored contract the run is refused in one line naming the market and the
    // flag; with --contract it runs as before.
    std::fs::remove_file(&stored).unwrap();
    let out = backtest(&data, &tmp.path().join("refused"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("binance-coinm/BTCUSD_PERP: its contract is unknown")
            && err.contains("pass --contract inverse:SIZE"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let again = tmp.path().join("again");
    let out = backtest(&data, &again, &["--contract", "inverse:100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = |d: &Path| std::fs::read(d.join("fills.parquet")).unwrap();
    assert!(bytes(&run) == bytes(&again), "--contract inverse:100 values the fills as stored");
}

#[test]
fn import_stores_the_venue_rule_or_the_contract_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spot").join("tiny.gz");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    gz(&file, &format!("1723161254000000000 {DIFF}\n1723161254100000000 {SNAP}\n"));
    let file = file.display().to_string();
    let stored = |data: &Path| {
        std::fs::read_to_string(data.join("_contract/binance-spot/BTCUSDT.json")).unwrap()
    };
    let data = dir.path().join("rule");
    let out = mdkit(&data, &["import", "--from-format", "hftbacktest-raw", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stored(&data).contains("\"contract\": \"linear:1\""), "{}", stored(&data));

    let data = dir.path().join("flag");
    let args = ["import", "--from-format", "hftbacktest-raw", &file, "--contract", "linear:0.001"];
    let out = mdkit(&data, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("contract: linear:0.001 (import --contract)"),
        "{}",
        stdout(&out)
    );
    // --replace starts afresh: the venue's rule again.
    let out = mdkit(&data, &["import", "--from-format", "hftbacktest-raw", &file, "--replace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stored(&data).contains("\"contract\": \"linear:1\""), "{}", stored(&data));

    let out = mdkit(
        &data,
        &["import", "--from-format", "hftbacktest-raw", &file, "--contract", "swap:3"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected linear:SIZE or inverse:SIZE"), "{}", stderr(&out));
}
