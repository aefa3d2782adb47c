//! The habits a quant brings: a market is a venue and a market, one settings-file rule with
//! typo suggestions, logging that follows RUST_LOG and never colours a file, and `verify` that
//! does not call an empty range clean. Runs the real binary on copies of the shipped sample.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{stderr, stdout};

/// The shipped sample's tables, and a second copy of them as if recorded on Binance USD-M.
fn spot_and_usdm(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    for table in ["depth", "book_top", "trades", "events"] {
        for venue in ["binance-spot", "binance-usdm"] {
            crate::common::copy_tree(
                &from.join(table).join("venue=binance-spot"),
                &to.join(table).join(format!("venue={venue}")),
                &|rel| rel.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")),
            );
        }
    }
}

/// `mdkit --data <data> <args>` run in `cwd`, with `env` set and RUST_LOG unset unless given.
fn run_in(cwd: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mdkit"));
    command.current_dir(cwd).arg("--data").arg(data).args(args);
    command.env_remove("RUST_LOG").env_remove("MDKIT_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run mdkit")
}

#[test]
fn btcusdt_on_two_venues_is_two_markets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    spot_and_usdm(&data);
    let cal = run_in(dir.path(), &data, &["calibrate", "--venue", "binance-usdm"], &[]);
    assert!(cal.status.success(), "{}", stderr(&cal));
    let table = stdout(&cal);
    assert!(table.lines().next().unwrap().starts_with("venue"), "{table}");
    assert!(table.contains("binance-usdm  BTCUSDT"), "{table}");
    assert!(!table.contains("binance-spot"), "only the venue asked for: {table}");

    let spread = ["spread", "--venue", "binance-usdm", "--market", "BTCUSDT", "--gamma", "0.001"];
    let out = run_in(dir.path(), &data, &spread, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("binance-usdm/BTCUSDT"), "{}", stdout(&out));

    // Spot has no calibration yet: asking for it names what there is.
    let out = run_in(
        dir.path(),
        &data,
        &["spread", "--venue", "binance-spot", "--market", "BTCUSDT"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("binance-spot/BTCUSDT") && err.contains("binance-usdm/BTCUSDT"), "{err}");

    let cal = run_in(dir.path(), &data, &["calibrate", "--market", "BTCUSDT"], &[]);
    assert!(cal.status.success(), "{}", stderr(&cal));
    let out = run_in(dir.path(), &data, &["spread", "--market", "BTCUSDT"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("choose one with --venue"), "{}", stderr(&out));
    let out = run_in(dir.path(), &data, &["backtest", "--market", "BTCUSDT"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("binance-spot/BTCUSDT, binance-usdm/BTCUSDT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_typo_in_a_setting_is_refused_with_the_nearest_name_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    spot_and_usdm(&data);
    let expected = "unknown setting \"gama\" — did you mean \"gamma\"?";

    let out = run_in(dir.path(), &data, &["backtest", "--set", "gama=0.1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));

    std::fs::write(dir.path().join("config.json"), r#"{"gama": 0.1}"#).unwrap();
    let commands: [&[&str]; 4] = [
        &["backtest"],
        &["spread", "--venue", "binance-spot"],
        &["collect", "ETH-USD", "--url", "ws://127.0.0.1:9"],
        &["config", "show"],
    ];
    for args in commands {
        let out = run_in(dir.path(), &data, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("config.json") && err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    // The same file named by MDKIT_CONFIG from elsewhere, and a value of the wrong type.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    let out =
        run_in(elsewhere.path(), &data, &["backtest"], &[("MDKIT_CONFIG", file.to_str().unwrap())]);
    assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    std::fs::write(&file, r#"{"gamma": "high"}"#).unwrap();
    for args in commands {
        let out = run_in(dir.path(), &data, args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("\"high\" is not a number"), "{args:?}: {}", stderr(&out));
    }
    // A good file: config show says which values came from it.
    std::fs::write(&file, r#"{"gamma": 0.002, "markets": ["BTCUSDT"]}"#).unwrap();
    let out = run_in(dir.path(), &data, &["config", "show"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("from the working directory"), "{shown}");
    let gamma = shown.lines().find(|l| l.starts_with("risk_aversion_gamma")).unwrap();
    assert!(gamma.contains("0.002") && gamma.ends_with("file"), "{gamma}");
}

#[test]
fn logging_follows_rust_log_and_never_colours_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    spot_and_usdm(&data);
    let args = ["calibrate", "--no-write", "--venue", "binance-spot"];
    let out = run_in(dir.path(), &data, &args, &[("RUST_LOG", "debug")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.lines().any(|l| l.starts_with("debug mdkit")), "{err}");
    assert!(!err.contains('\u{1b}'), "no escape codes when stderr is a file: {err:?}");
    let quiet = run_in(dir.path(), &data, &["-q", "calibrate", "--no-write"], &[]);
    assert!(quiet.status.success());
    assert_eq!(stderr(&quiet), "");
    let verbose = run_in(dir.path(), &data, &["-vv", "calibrate", "--no-write"], &[]);
    assert!(stderr(&verbose).contains("debug mdkit"), "{}", stderr(&verbose));
}

#[test]
fn verify_over_a_range_without_rows_is_an_error_not_clean() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    spot_and_usdm(&data);
    let out =
        run_in(dir.path(), &data, &["verify", "--from", "2020-01-01", "--to", "2020-01-02"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("no rows in [2020-01-01"), "{}", stderr(&out));
    let out = run_in(dir.path(), &data, &["verify", "--format", "csv"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.starts_with("venue,market,section,kind,severity,count\n"), "{csv}");
    assert!(csv.contains("binance-usdm,BTCUSDT,trades,trade_without_book,note,1"), "{csv}");
}

/// The deployment files in deploy/ run flags this binary has: every `--flag` of the systemd
/// unit's ExecStart and of the container's example commands is in `mdkit collect --help` (or
/// the global help).
#[test]
fn the_deploy_files_use_flags_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mdkit")).args(args).output().unwrap();
        assert!(out.status.success());
        stdout(&out)
    };
    let known = format!("{}{}", help(&["--help"]), help(&["collect", "--help"]));
    let unit = std::fs::read_to_string(root.join("mdkit-collect@.service")).unwrap();
    let container = std::fs::read_to_string(root.join("Containerfile")).unwrap();
    let lines = unit.lines().filter(|l| l.starts_with("ExecStart=")).chain(
        container.lines().filter(|l| l.contains("docker run") || l.starts_with("ENTRYPOINT")),
    );
    let mut checked = 0;
    for line in lines {
        for flag in line.split(|c: char| c.is_whitespace() || c == '"' || c == ',') {
            if flag.starts_with("--") && flag.len() > 2 && !["--rm", "--restart"].contains(&flag) {
                assert!(known.contains(flag), "{flag} (deploy/: {line}) is not an mdkit flag");
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "{checked} flags checked");
}
