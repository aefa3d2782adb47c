//! Recordings written by the previous release still read, verify, calibrate and backtest
//! identically: the tree in `tests/fixtures/prev-release/` was written by mdkit at 6506275
//! (see its README) together with what that release printed; the current build must print
//! the same, byte for byte, on a copy of it.

use std::path::{Path, PathBuf};

use crate::common::{mdkit, stderr, stdout};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prev-release")
}

fn expected(name: &str) -> String {
    let path = fixture().join("expected").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A writable copy of the old tree.
fn copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::common::copy_tree(&fixture().join("tree"), &data, &|_| true);
    (dir, data)
}

#[test]
fn an_old_tree_verifies_and_sums_as_it_did() {
    let (_dir, data) = copy();
    let out = mdkit(&data, &["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    // The first line names the data folder, which differs between the runs.
    let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&stdout(&out)), body(&expected("verify.txt")));

    let query = expected("query.sql");
    let out = mdkit(&data, &["sql", "--format", "csv", query.trim()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), expected("sql.csv"));
}

/// The data rows of a calibrate table as the old release's 16 columns: the `fit` verdicts
/// (after each side's orders) and the trailing grid are left out when present.
fn old_columns(table: &str) -> Vec<Vec<String>> {
    let new_format = table.lines().next().is_some_and(|h| h.contains(" fit "));
    table
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            if new_format {
                cells.remove(9);
                cells.remove(14);
                cells.truncate(16);
            }
            cells
        })
        .collect()
}

#[test]
fn an_old_tree_calibrates_and_backtests_as_it_did() {
    let (dir, data) = copy();
    for market in ["ETH-USD", "BTCUSDT"] {
        let args = ["calibrate", "--market", market, "--every", "1m", "--window", "1m"];
        let out = mdkit(&data, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        // The table has gained a quality verdict per side and the grid since; the numbers of
        // the old columns must be the same.
        assert_eq!(stderr(&out), "", "{market}: a good fit warns of nothing");
        let old = expected(&format!("calibrate-{market}.txt"));
        assert_eq!(old_columns(&stdout(&out)), old_columns(&old), "{market}");
    }
    let out_dir = dir.path().join("bt");
    let args = [
        "backtest",
        "--venue",
        "extended",
        "--market",
        "ETH-USD",
        "--clock",
        "event",
        "--set",
        "warmup=60s",
        "--set",
        "window=60s",
        "--set",
        "every=30s",
        "--set",
        "gamma=0.001",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = mdkit(&data, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = std::fs::read_to_string(out_dir.join("summary.json")).unwrap();
    // The fields added since that release, and only they, differ: an old tree stores no
    // contract, and Extended's markets are all linear:1 (docs/MODEL.md "Contracts"); the
    // inventory_skew setting (unused here: a γ alone is a constant γ); the fills by cause;
    // the order_latency setting, the GLFT strategy's settings and the markouts by side and
    // queue position (issue 24).
    let added = [
        "  \"contract\": \"linear:1\",\n  \"settlement_currency\": \"USD\",\n",
        "    \"inventory_skew\": 1,\n",
        "  \"fills_queue\": 0,\n  \"fills_through\": 0,\n  \"fills_crossing\": 4,\n  \"fills_taker\": 0,\n",
        "    \"order_latency\": \"none\",\n",
        "    \"glft_gamma\": 0.1,\n    \"glft_xi\": \"gamma\",\n",
        "    \"markouts_by.horizon_seconds\": \"s\",\n    \"markouts_by.mean\": \"USD per ETH\",\n    \"markouts_by.mean_bps\": \"bps of mid at the fill\",\n",
    ];
    let mut rest = summary.clone();
    for line in added {
        assert!(rest.contains(line), "{line:?} missing: {summary}");
        rest = rest.replacen(line, "", 1);
    }
    // The markouts_by block is new too (the markouts before it are the old release's).
    let start = rest.find("  \"markouts_by\": [\n").expect("markouts_by is written");
    let end = start + rest[start..].find("\n  ],\n").expect("markouts_by ends") + "\n  ],\n".len();
    assert!(rest[start..end].contains("\"group\": \"crossing_"), "{summary}");
    rest.replace_range(start..end, "");
    assert_eq!(rest, expected("backtest-ETH-USD.json"));
    assert!(summary.contains("\"fills_bid\": 2"), "the old tree still fills: {summary}");
}
