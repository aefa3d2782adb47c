//! `mdkit backtest`'s outputs: `--sweep` folders and the comparison table, folders that never
//! overwrite each other, `--format csv|json`, and `--help`. Uses the trees and runners of
//! `backtest.rs`.

use std::path::{Path, PathBuf};

use crate::backtest::{backtest, ok, summary, tree, SHORT};
use crate::common::{stderr, stdout, SEC};

/// `--sweep`: one folder per grid point (the cartesian product) and a comparison table.
#[test]
fn sweep_runs_every_grid_point_into_its_own_folder() {
    let data = tree(6_000);
    let outs = tempfile::tempdir().unwrap();
    let dir = outs.path().join("grid");
    let mut args = vec![
        "--out",
        dir.to_str().unwrap(),
        "--sweep",
        "gamma=0.05,0.2",
        "--sweep",
        "fill_model=cross,queue",
        "--jobs",
        "2",
    ];
    args.extend(SHORT);
    let out = backtest(data.path(), outs.path(), &args);
    ok(&out);
    let text = stdout(&out);
    let labels = [
        "gamma=0.05,fill_model=cross",
        "gamma=0.05,fill_model=queue",
        "gamma=0.2,fill_model=cross",
        "gamma=0.2,fill_model=queue",
    ];
    for label in labels {
        let point: PathBuf = dir.join(label);
        for file in ["summary.json", "fills.parquet", "equity.parquet", "chart.svg"] {
            assert!(point.join(file).is_file(), "{label}/{file} missing");
        }
        assert!(text.lines().any(|l| l.starts_with(label)), "{label} not in:\n{text}");
        let s = summary(&point);
        let gamma = s["settings"]["risk_aversion_gamma"].as_f64().unwrap();
        assert!(label.contains(&format!("gamma={gamma}")), "{label} ran with gamma {gamma}");
    }
    let header = text.lines().next().unwrap();
    for column in [
        "pnl net",
        "sharpe (1-min, annualised)",
        "sortino (1-min, annualised)",
        "max drawdown",
        "fills",
        "markout",
        "note",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("sweep.txt")).unwrap(),
        text.split("output:").next().unwrap()
    );

    let out = backtest(data.path(), outs.path(), &["--sweep", "gamma=0.1,x"]);
    assert_eq!(out.status.code(), Some(2), "a bad sweep value fails before running");
}

/// The folder names under `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Outputs never overwrite each other: without `--out` each run, and each sweep, gets a new
/// folder; an `--out` that holds files is refused with one line naming it and the way out,
/// before anything is read, unless `--force`, which writes over the run's files and deletes
/// nothing else.
#[test]
fn outputs_never_overwrite_each_other() {
    let data = tree(1_800);
    let cwd = tempfile::tempdir().unwrap();
    let parent = cwd.path().join("backtest");
    for n in 1..=2 {
        let out = backtest(data.path(), cwd.path(), &[]);
        ok(&out);
        let name = format!("ETH-USD-20261120T130000Z-{n}");
        let text = stdout(&out);
        assert!(text.ends_with(&format!("output: backtest/{name}\n")), "{text}");
        assert!(parent.join(&name).join("summary.json").is_file(), "{name}");
    }
    assert_eq!(names(&parent), ["ETH-USD-20261120T130000Z-1", "ETH-USD-20261120T130000Z-2"]);

    // A schedule that is set is kept (not sized to the 3-minute range).
    let out = backtest(
        data.path(),
        cwd.path(),
        &["--set", "every=300", "--sweep", "gamma=0.05,0.2", "--jobs", "2"],
    );
    ok(&out);
    let name = "ETH-USD-20261120T130000Z-sweep-1";
    let text = stdout(&out);
    assert!(text.ends_with(&format!("output: backtest/{name}\n")), "{text}");
    // Each row says why that point never quoted (the default warm-up is longer than 3 min).
    let why = "no orders: warm-up (900 s) covers the whole range (180 s)";
    assert_eq!(text.lines().filter(|l| l.starts_with("gamma=") && l.contains(why)).count(), 2);
    assert_eq!(names(&parent.join(name)), ["gamma=0.05", "gamma=0.2", "sweep.txt"]);
    assert_eq!(names(&parent).len(), 3, "the single runs are untouched");

    let given = parent.join("ETH-USD-20261120T130000Z-1");
    let before = std::fs::read(given.join("summary.json")).unwrap();
    std::fs::write(given.join("mine.txt"), "not mdkit's").unwrap();
    let args = ["--set", "gamma=0.5", "--out", given.to_str().unwrap()];
    let out = backtest(data.path(), cwd.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("output folder {} is not empty", given.display())), "{err}");
    assert!(err.contains("--force") && err.contains("another --out"), "{err}");
    assert_eq!(std::fs::read(given.join("summary.json")).unwrap(), before, "nothing written");

    let out = backtest(data.path(), cwd.path(), &[&args[..], &["--force"]].concat());
    ok(&out);
    assert_ne!(std::fs::read(given.join("summary.json")).unwrap(), before, "written over");
    assert!(given.join("mine.txt").is_file(), "--force deletes nothing else");
    assert_eq!(names(&parent).len(), 3, "no new folder with --out");
}

/// `--format json` prints each run's summary object (the one in summary.json) on its own
/// line, `--format csv` a header and one row per run, per point for a sweep; the output
/// folder then goes to stderr, so stdout is only the one format.
#[test]
fn format_csv_and_json_print_one_record_per_run() {
    let data = tree(1_800);
    let cwd = tempfile::tempdir().unwrap();
    let out = backtest(data.path(), cwd.path(), &["--format", "json"]);
    ok(&out);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let printed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dir = cwd.path().join("backtest/ETH-USD-20261120T130000Z-1");
    assert_eq!(printed, summary(&dir));
    assert!(stderr(&out).ends_with("output: backtest/ETH-USD-20261120T130000Z-1\n"));

    let out = backtest(data.path(), cwd.path(), &["--format", "csv", "--set", "every=300"]);
    ok(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert!(lines[0].starts_with("point,venue,market,"), "{text}");
    let s = summary(&cwd.path().join("backtest/ETH-USD-20261120T130000Z-2"));
    let cell = |line: &str, column: &str| {
        let i = header.iter().position(|h| *h == column).unwrap_or_else(|| panic!("{column}"));
        line.split(',').nth(i).unwrap().to_owned()
    };
    assert_eq!(cell(lines[1], "pnl_net"), s["pnl_net"].as_str().unwrap());
    assert_eq!(cell(lines[1], "events"), s["events"].to_string());
    assert_eq!(cell(lines[1], "settings.risk_aversion_gamma"), "0.1");
    assert!(cell(lines[1], "notes").starts_with("no orders: warm-up"), "{text}");

    let sweep = ["--sweep", "gamma=0.05,0.2", "--jobs", "2"];
    let out = backtest(data.path(), cwd.path(), &[&sweep[..], &["--format", "csv"]].concat());
    ok(&out);
    let text = stdout(&out);
    let points: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(points, ["gamma=0.05", "gamma=0.2"], "{text}");
    let out = backtest(data.path(), cwd.path(), &[&sweep[..], &["--format", "json"]].concat());
    ok(&out);
    let gammas: Vec<f64> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|s| s["settings"]["risk_aversion_gamma"].as_f64().unwrap())
        .collect();
    assert_eq!(gammas, [0.05, 0.2]);
    assert!(stderr(&out).ends_with("output: backtest/ETH-USD-20261120T130000Z-sweep-2\n"));
}

/// `--help` explains the command and shows the defaults.
#[test]
fn help_explains_flags_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = backtest(dir.path(), dir.path(), &["--help"]);
    ok(&out);
    let help = stdout(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "--fill-model <MODEL>",
        "[default: queue]",
        "--sweep <KEY=V1,V2,...>",
        "--set <KEY=VALUE>",
        "recalibration_interval_seconds",
        "byte-identical",
        "--clock <CLOCK>",
        "--feed-latency <DURATION>",
        "[default: 5ms]",
        "mdkit simulate --speed N` with N > 1",
        "--force",
        "--format <FORMAT>",
        "[default: table]",
        "- csv: CSV with a header line: one row per run",
        "./backtest/<MARKET>-<FROM>-<N>",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
}

/// `recalibrations.parquet` holds the schedule the run was given: one row per fit at
/// `from + k·every` over the range, each over the `window` before its `at`, and the fits in
/// force while the summary counts frames quoted with a fit have σ and both κ finite.
#[test]
fn the_recalibration_schedule_is_written_with_the_run() {
    use arrow::array::{Array, Float64Array, TimestampNanosecondArray};

    let data = tree(6_000);
    let outs = tempfile::tempdir().unwrap();
    let dir = outs.path().join("run");
    let mut args = vec!["--out", dir.to_str().unwrap()];
    args.extend(SHORT);
    ok(&backtest(data.path(), outs.path(), &args));
    let s = summary(&dir);
    let nanos = |key: &str| {
        let text = s[key].as_str().unwrap_or_else(|| panic!("{key} in {s}"));
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_nanos_opt().unwrap()
    };
    let (first, last) = (nanos("first_ts_recv"), nanos("last_ts_recv"));
    let every = s["settings"]["recalibration_interval_seconds"].as_f64().unwrap() as i64 * SEC;
    let window = s["settings"]["calibration_window_seconds"].as_f64().unwrap() as i64 * SEC;

    let batches = crate::backtest::read_parquet(&dir.join("recalibrations.parquet"));
    let column = |name: &str| -> Vec<&dyn Array> {
        batches.iter().map(|b| b.column_by_name(name).unwrap().as_ref()).collect()
    };
    let times = |name: &str| -> Vec<i64> {
        column(name)
            .into_iter()
            .flat_map(|a| {
                a.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap().values().to_vec()
            })
            .collect()
    };
    let floats = |name: &str| -> Vec<Option<f64>> {
        column(name)
            .into_iter()
            .flat_map(|a| {
                a.as_any().downcast_ref::<Float64Array>().unwrap().iter().collect::<Vec<_>>()
            })
            .collect()
    };
    let at = times("at");
    // The range is [first, last + 1 ns): fits at first, first + every, … while before its end.
    let want: Vec<i64> = (0..).map(|k| first + k * every).take_while(|t| *t <= last).collect();
    assert!(want.len() >= 2, "the run should span several fits: {want:?}");
    assert_eq!(at, want, "one row per fit, in time order");
    assert_eq!(times("window_end"), at, "on the receive clock a fit ends at its at");
    let starts: Vec<i64> = at.iter().map(|t| t - window).collect();
    assert_eq!(times("window_start"), starts);

    let (sigma, kappa_bid, kappa_ask) = (floats("sigma"), floats("kappa_bid"), floats("kappa_ask"));
    let fitted = |i: usize| {
        [sigma[i], kappa_bid[i], kappa_ask[i]].iter().all(|v| v.is_some_and(f64::is_finite))
    };
    // The first fit sees no data before the range; a later one must be what the strategy
    // quoted with.
    assert!(!fitted(0), "the fit at the range start has no past data");
    let with_fit = s["diagnostics"]["frames_with_fit"].as_u64().unwrap();
    assert!(with_fit > 0, "the run quoted with a fit: {s}");
    assert!((1..at.len()).any(fitted), "a fit in force had σ and both κ");
    assert!(s["orders_sent"].as_u64().unwrap() > 0, "it quoted: {s}");
}
