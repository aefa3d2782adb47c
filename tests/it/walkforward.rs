//! `mdkit backtest --walk-forward` on 6 simulated hours (train 2 h, test 1 h): the per-fold
//! table, the stitched out-of-sample account, and no look-ahead proven on recordings that agree
//! up to an instant and differ after it:
//! - cut: the same recording ending at fold 1's test end (3 h): fold 1 — its train runs, its
//!   choice and its test run — is identical, so its test decisions used nothing after 3 h;
//! - changed: the same recording up to fold 1's train end (2 h), then another market: fold 1's
//!   train scores and choice are identical and its test run differs, so the choice used only
//!   the train span (and the test run does read its own span).

use std::path::Path;

use arrow::array::{Array, Decimal128Array, TimestampNanosecondArray};
use mdkit::simulate::market::{Market, MarketParams, STEP_MS};
use mdkit::simulate::rows::SimulatedRows;
use mdkit::storage::{BookTopRow, DepthRow, Rows, Table, TradeRow, Writer, WriterConfig};

use crate::backtest::{backtest, ok, read_parquet};
use crate::calibrate::{T0, VENUE};
use crate::common::stdout;

const MS: i64 = 1_000_000;
const HOUR_STEPS: i64 = 3_600_000 / STEP_MS;

/// A light market, so hours replay quickly in a debug build: 10 levels a side, σ 0.05 (about
/// 1.6 ticks a step), one order a second per side reaching 1/κ ≈ 1.7 ticks.
fn params() -> MarketParams {
    MarketParams {
        sigma: 0.05,
        a_bid: 1.0,
        a_ask: 1.0,
        kappa_bid: 60.0,
        kappa_ask: 60.0,
        levels: 10,
        ..MarketParams::preset("ETH-USD")
    }
}

/// `hours` of the market (seed 21) from T0; from `switch_hour` on (if before the end) the
/// rows come from another market (seed 99), which starts with a depth snapshot as a
/// reconnecting recorder would write.
fn tree(root: &Path, hours: i64, switch_hour: Option<i64>) {
    let name = "ETH-USD";
    let writer = |table| Writer::new(root, table, VENUE, name, WriterConfig::default()).unwrap();
    let (mut tops, mut depths, mut trades) =
        (writer(Table::BookTop), writer(Table::Depth), writer(Table::Trades));
    let mut market = Market::new(params(), 21);
    let mut rows = SimulatedRows::new(3 * MS);
    rows.snapshot(&market, T0);
    for k in 1..=hours * HOUR_STEPS {
        let ts = T0 + k * STEP_MS * MS;
        if switch_hour.is_some_and(|h| k == h * HOUR_STEPS) {
            market = Market::new(params(), 99);
            rows.snapshot(&market, ts);
        } else {
            rows.step(&mut market, ts, k + 1);
        }
        if rows.book_top.len() >= 20_000 || k == hours * HOUR_STEPS {
            let (depth_rows, top_rows, trade_rows) = rows.take();
            tops.write(&BookTopRow::to_batch(VENUE, name, &top_rows)).unwrap();
            depths.write(&DepthRow::to_batch(VENUE, name, &depth_rows)).unwrap();
            trades.write(&TradeRow::to_batch(VENUE, name, &trade_rows)).unwrap();
        }
    }
    tops.close().unwrap();
    depths.close().unwrap();
    trades.close().unwrap();
}

/// Warm up 5 minutes, refit every 30 from the last 30, no fee and no spread floor (this
/// market's 1/κ is 0.5 bps of its price), and a grid of two γ.
const FLAGS: [&str; 20] = [
    "--walk-forward",
    "train=2h,test=1h",
    "--select",
    "pnl",
    "--sweep",
    "gamma=0.0002,0.005",
    "--set",
    "maker_fee_bps=0",
    "--set",
    "min_spread_bps=0",
    "--set",
    "warmup=300",
    "--set",
    "every=1800",
    "--set",
    "window=1800",
    "--fill-model",
    "cross",
    "--jobs",
    "2",
];

fn run(data: &Path, out: &Path) -> serde_json::Value {
    let mut args: Vec<&str> = FLAGS.to_vec();
    args.extend(["--from", "2026-11-20T13:00Z", "--out"]);
    let out_text = out.to_str().unwrap();
    args.push(out_text);
    let result = backtest(data, out.parent().unwrap(), &args);
    ok(&result);
    let text = stdout(&result);
    assert!(text.contains("out of sample, stitched:"), "{text}");
    let json = std::fs::read_to_string(out.join("walkforward.json")).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The i128 values of a decimal column and the timestamps of `ts` of a Parquet file.
fn column(path: &Path, name: &str) -> Vec<i128> {
    read_parquet(path)
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap();
            let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

fn times(path: &Path) -> Vec<i64> {
    read_parquet(path)
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("ts").unwrap();
            let a = a.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
            a.values().to_vec()
        })
        .collect()
}

fn money(v: &serde_json::Value) -> f64 {
    v.as_str().map_or_else(|| v.as_f64().unwrap(), |s| s.parse().unwrap())
}

#[test]
fn walk_forward_selects_on_train_only_and_tests_without_look_ahead() {
    let trees = tempfile::tempdir().unwrap();
    let (full, cut, changed) =
        (trees.path().join("full"), trees.path().join("cut"), trees.path().join("changed"));
    tree(&full, 6, None);
    tree(&cut, 3, None);
    tree(&changed, 3, Some(2));
    let outs = tempfile::tempdir().unwrap();
    let out = |name: &str| outs.path().join(name);

    // The whole walk-forward: four folds, each with a choice made from its train scores.
    let report = run(&full, &out("full"));
    let folds = report["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 4, "6 h with train 2 h, test 1 h, step 1 h: {report:#}");
    for (k, fold) in folds.iter().enumerate() {
        let hour = |h: usize| format!("2026-11-20T{:02}:00:00Z", 13 + h);
        assert_eq!(fold["train_from"], hour(k).as_str(), "{fold:#}");
        assert_eq!(fold["test_from"], hour(k + 2).as_str());
        assert_eq!(fold["test_to"], hour(k + 3).as_str());
        let scores = fold["train_scores"].as_array().unwrap();
        assert_eq!(scores.len(), 2);
        let best = scores
            .iter()
            .max_by(|a, b| a[1].as_f64().unwrap().total_cmp(&b[1].as_f64().unwrap()))
            .unwrap();
        assert_eq!(fold["selected"], best[0], "the choice is the best train score: {fold:#}");
        let dir = out("full").join(format!("fold-{:02}", k + 1));
        for point in ["gamma=0.0002", "gamma=0.005"] {
            assert!(dir.join("train").join(point).join("summary.json").is_file());
        }
        let test = crate::backtest::summary(&dir.join("test"));
        assert_eq!(
            money(&test["pnl_net"]),
            money(&fold["out_of_sample"]["pnl_net"]),
            "the table reports the test run"
        );
        // Both in RFC 3339 UTC with a `Z`: the text order is the time order to the second.
        let first = test["first_ts_recv"].as_str().unwrap();
        let last = test["last_ts_recv"].as_str().unwrap();
        assert!(first[..19] >= hour(k + 2)[..19] && last[..19] < hour(k + 3)[..19], "{test:#}");
    }
    let total: f64 = folds.iter().map(|f| money(&f["out_of_sample"]["pnl_net"])).sum();
    assert!((money(&report["out_of_sample"]["pnl_net"]) - total).abs() < 1e-9);
    assert!(folds.iter().map(|f| f["out_of_sample"]["fills"].as_u64().unwrap()).sum::<u64>() > 0);

    // The stitched curve: every test second, each fold's equity moved up by the net PnL of
    // the folds before it.
    let stitched = out("full").join("equity.parquet");
    let (ts, equity) = (times(&stitched), column(&stitched, "equity"));
    let mut at = 0;
    let mut offset = 0i128;
    for k in 1..=4 {
        let test = out("full").join(format!("fold-{k:02}/test/equity.parquet"));
        let (fold_ts, fold_equity) = (times(&test), column(&test, "equity"));
        assert_eq!(ts[at..at + fold_ts.len()], fold_ts[..], "fold {k}'s seconds, in order");
        for (i, e) in fold_equity.iter().enumerate() {
            assert_eq!(equity[at + i], e + offset, "fold {k} second {i}");
        }
        at += fold_ts.len();
        let summary = crate::backtest::summary(&out("full").join(format!("fold-{k:02}/test")));
        offset += (money(&summary["pnl_net"]) * 1e16).round() as i128;
    }
    assert_eq!(at, ts.len(), "the stitched curve is the test seconds and nothing else");
    let table = std::fs::read_to_string(out("full").join("walkforward.txt")).unwrap();
    assert_eq!(table.lines().count(), 6, "header, 4 folds, the stitched line: {table}");
    assert!(table.contains("pnl in") && table.contains("pnl out"), "{table}");
    let chart = std::fs::read_to_string(out("full").join("chart.svg")).unwrap();
    assert_eq!(
        chart.matches("class=\"shade-label\"").count(),
        4,
        "one shaded, labelled band per fold"
    );
    assert!(chart.contains(">fold 4</text>"), "{chart}");
    let fills = crate::backtest::read_parquet(&out("full").join("fills.parquet"));
    let fills: usize = fills.iter().map(|b| b.num_rows()).sum();
    assert!(fills > 0);
    assert_eq!(chart.matches("class=\"fill ").count(), fills, "one marker per stitched fill");

    // Cut after fold 1's test span: fold 1 is the same in every output file.
    let report_cut = run(&cut, &out("cut"));
    assert_eq!(report_cut["folds"].as_array().unwrap().len(), 1);
    assert_eq!(report_cut["folds"][0], folds[0], "fold 1 read data after its test span");
    for file in [
        "test/fills.parquet",
        "test/summary.json",
        "train/gamma=0.0002/fills.parquet",
        "train/gamma=0.005/summary.json",
    ] {
        let (a, b) =
            (out("full").join("fold-01").join(file), out("cut").join("fold-01").join(file));
        assert!(bytes(&a) == bytes(&b), "{file} differs without the data after fold 1");
    }

    // Another market after fold 1's train span: the same train scores and choice, another test.
    let report_changed = run(&changed, &out("changed"));
    let fold = &report_changed["folds"][0];
    assert_eq!(fold["train_scores"], folds[0]["train_scores"], "the train runs read the test span");
    assert_eq!(fold["selected"], folds[0]["selected"]);
    assert_ne!(
        fold["out_of_sample"], folds[0]["out_of_sample"],
        "the test run must depend on its own span (else this test proves nothing)"
    );
}
