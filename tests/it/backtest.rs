//! `mdkit backtest` end to end on Parquet trees of the simulator's market (written in-process
//! as a recorder would, see [`simulated_tree`]): every output with sane numbers, determinism,
//! `cross` against `queue`, no look-ahead in the replay and the recalibration schedule, clear
//! errors (output folders, formats and `--sweep` are in `backtest_output.rs`); `--clock event`
//! on accelerated recordings (a real `mdkit simulate
//! --speed 60` session, and a tree whose receive clock runs 60× slow), and the notes that say
//! why a run sent no order.

use std::path::Path;
use std::process::{Command, Output};

use arrow::array::{Array, RecordBatch, TimestampNanosecondArray};
use mdkit::backtest::event::{Clock, Event};
use mdkit::backtest::replay::{Listings, Source};
use mdkit::backtest::schedule::{Calibrator, Plan};
use mdkit::backtest::{calibration_settings, event::MarketSpec};
use mdkit::calibrate::MarketKey;
use mdkit::model::{EventTime, Price, Qty, RecvTime};
use mdkit::simulate::market::MarketParams;
use mdkit::storage::{BookTopRow, DepthRow, Session, TradeRow};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::calibrate::{simulated_tree, write, T0, VENUE};
use crate::common::{stderr, stdout, SEC};
use crate::live::{Collector, Sim};

/// Settings that make a short recording trade: warm up for 2 minutes, refit every 5 from the
/// last 10, and a small γ (docs/MODEL.md's 0.1 puts quotes γσ²T = 45 away from mid on this market).
pub const SHORT: [&str; 8] =
    ["--set", "warmup=120", "--set", "every=300", "--set", "window=600", "--set", "gamma=0.001"];

/// `steps` × 100 ms of the simulated ETH-USD market (seed 11) from T0, as a recorder writes
/// it ([`simulated_tree`]: the first frame's depth snapshot, then frames, trades and depth
/// changes), so the replay can build the full book.
pub fn tree(steps: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    simulated_tree(dir.path(), MarketParams::preset("ETH-USD"), 11, T0, steps);
    dir
}

/// Runs `mdkit --data <data> backtest <args>` in `cwd`.
pub fn backtest(data: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdkit"))
        .current_dir(cwd)
        .arg("--data")
        .arg(data)
        .arg("backtest")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run mdkit")
}

pub fn ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}\n{}\n{}", out.status, stdout(out), stderr(out));
}

pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn u64_of(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn money(v: &serde_json::Value, key: &str) -> f64 {
    let text = v[key].as_str().unwrap_or_else(|| panic!("{key} is not a decimal string: {v}"));
    text.parse().unwrap()
}

/// Every value of a real summary.json has the JSON type schemas/summary.md gives it: a
/// string that reads as a number only where the document says `decimal string` (or in the
/// documented decimal settings), a JSON number wherever it says `integer` or `number`.
fn assert_numbers_are_numbers(s: &serde_json::Value) {
    let fields = crate::schemas::summary_fields();
    let type_of = |path: &str| {
        let path = path.split_once("[").map_or(path.to_owned(), |(a, _)| a.to_owned());
        fields
            .iter()
            .find(|f| f.path.replace("[]", "") == path)
            .map(|f| f.json_type.clone())
            .unwrap_or_else(|| panic!("{path} is not documented"))
    };
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, serde_json::Value)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(v, &child, out);
                }
            }
            serde_json::Value::Array(items) if path == "markouts" => {
                for item in items {
                    walk(item, path, out);
                }
            }
            leaf => out.push((path.to_owned(), leaf.clone())),
        }
    }
    let mut leaves = Vec::new();
    walk(s, "", &mut leaves);
    for (path, v) in leaves {
        if let Some(setting) = path.strip_prefix("settings.") {
            let numeric_text = v.as_str().is_some_and(|t| t.parse::<f64>().is_ok());
            let decimal = mdkit::backtest::report::DECIMAL_SETTINGS.contains(&setting);
            assert!(!numeric_text || decimal, "setting {setting} is a number as a string: {v}");
            continue;
        }
        if path.starts_with("units.") || path == "notes" {
            continue;
        }
        let json_type = type_of(&path);
        match json_type.as_str() {
            "integer" | "number" => assert!(v.is_number() || v.is_null(), "{path}: {v}"),
            "decimal string" => assert!(v.as_str().is_some_and(|t| t.parse::<f64>().is_ok())),
            _ => assert!(
                v.as_str().is_none_or(|t| t.parse::<f64>().is_err()),
                "{path} is a number as a string: {v}"
            ),
        }
    }
}

/// Twenty simulated minutes through the default AS strategy with the `cross` model: all four
/// files, a summary table, and numbers that hold together.
#[test]
fn backtest_writes_every_output_with_sane_numbers() {
    let data = tree(12_000);
    let cwd = tempfile::tempdir().unwrap();
    let mut args = vec!["--fill-model", "cross"];
    args.extend(SHORT);
    let out = backtest(data.path(), cwd.path(), &args);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("pnl net") && text.contains("sharpe"), "{text}");
    // With one market in the tree, no flags are needed; the output goes to a new
    // ./backtest/<M>-<from>-<n>, named at the end.
    let dir = cwd.path().join("backtest/ETH-USD-20261120T130000Z-1");
    assert!(text.ends_with("output: backtest/ETH-USD-20261120T130000Z-1\n"), "{text}");
    let s = summary(&dir);
    assert!(u64_of(&s, "events") > 12_000, "every frame, depth row and trade: {s}");
    let fills = u64_of(&s, "fills_bid") + u64_of(&s, "fills_ask");
    assert!(fills > 0, "twenty minutes of quoting fill something: {s}");
    let fills_file = read_parquet(&dir.join("fills.parquet"));
    assert_eq!(rows(&fills_file) as u64, fills);
    // In the documented sort order (schemas/fills.md).
    let ts: Vec<i64> = fills_file
        .iter()
        .flat_map(|b| {
            let ts = b.column_by_name("ts_exchange").unwrap();
            ts.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap().values().to_vec()
        })
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "fills sorted by ts_exchange");
    let pnl = money(&s, "pnl_net");
    let gross = money(&s, "pnl_gross");
    let fees = money(&s, "fees");
    assert!((gross - fees - pnl).abs() < 1e-9, "net = gross - fees: {s}");
    assert!(fees > 0.0, "maker fees are charged: {s}");
    assert!(money(&s, "max_drawdown") >= 0.0);

    // The summary names the market, its currencies and the unit of each number; settings
    // that are numbers are JSON numbers, exact decimals stay strings.
    assert_eq!((&s["venue"], &s["market"]), (&"extended".into(), &"ETH-USD".into()), "{s}");
    assert_eq!((&s["base_asset"], &s["quote_currency"]), (&"ETH".into(), &"USD".into()), "{s}");
    assert_eq!(s["units"]["pnl_net"], "USD", "{s}");
    assert_eq!(s["units"]["final_mid"], "USD per ETH", "{s}");
    let sharpe = s["units"]["sharpe"].as_str().unwrap();
    assert!(sharpe.starts_with("annualised from 1-minute returns"), "{sharpe}");
    assert!(s["sharpe"].is_f64() && s["duration_seconds"].is_f64(), "{s}");
    assert_eq!(s["settings"]["risk_aversion_gamma"], 0.001, "{s}");
    assert_eq!(s["settings"]["warmup_period_seconds"], 120, "{s}");
    assert_eq!(s["settings"]["partial_fills"], false, "{s}");
    assert_eq!(s["settings"]["order_size"], "default", "{s}");
    assert_eq!(s["settings"]["entry_latency"], "10ms", "{s}");
    assert_numbers_are_numbers(&s);
    let units = "  money USD, quantities ETH, prices USD per ETH";
    assert!(text.lines().any(|l| l.starts_with("units ") && l.ends_with(units)), "{text}");

    // One equity row per second of strategy time (20 minutes, give or take the ends).
    let equity = read_parquet(&dir.join("equity.parquet"));
    let n = rows(&equity);
    assert!((1_150..=1_202).contains(&n), "{n} equity rows");
    let ts = equity[0].column_by_name("ts").unwrap();
    let ts = ts.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
    assert_eq!(ts.value(0) % SEC, 0, "samples fall on whole seconds");
    for column in ["mid", "bid", "ask", "position", "cash", "equity"] {
        assert!(equity[0].column_by_name(column).is_some(), "equity.parquet lacks {column}");
    }
    let mid = equity[0].column_by_name("mid").unwrap();
    assert!(mid.null_count() < mid.len(), "mid is known");

    let svg = std::fs::read_to_string(dir.join("chart.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Inventory") && svg.contains("PnL"));
    assert_eq!(svg.matches(r#"class="series""#).count(), 5, "mid, quotes, PnL, inventory");
    // One marker per fill row, each a buy or a sell as fills.parquet says.
    let buys = u64_of(&s, "fills_bid") as usize;
    assert_eq!(svg.matches(r#"class="fill buy""#).count(), buys);
    assert_eq!(svg.matches(r#"class="fill sell""#).count(), rows(&fills_file) - buys);
    assert!(svg.contains(&format!("fills {fills} (")), "the header counts the fills");
}

/// Same tables, settings and seed: byte-identical summary.json and fills.parquet.
#[test]
fn two_runs_give_byte_identical_summary_and_fills() {
    let data = tree(9_000);
    let outs = tempfile::tempdir().unwrap();
    let mut read = Vec::new();
    for name in ["a", "b"] {
        let dir = outs.path().join(name);
        let mut args = vec!["--fill-model", "cross", "--seed", "7", "--out", dir.to_str().unwrap()];
        args.extend(SHORT);
        ok(&backtest(data.path(), outs.path(), &args));
        let bytes = |file: &str| std::fs::read(dir.join(file)).unwrap();
        read.push((bytes("summary.json"), bytes("fills.parquet"), bytes("equity.parquet")));
    }
    assert!(read[0].0 == read[1].0, "summary.json differs between two runs");
    assert!(read[0].1 == read[1].1, "fills.parquet differs between two runs");
    assert!(read[0].2 == read[1].2, "equity.parquet differs between two runs");
    let s: serde_json::Value = serde_json::from_slice(&read[0].0).unwrap();
    assert!(u64_of(&s, "fills_bid") + u64_of(&s, "fills_ask") > 0, "a run with fills: {s}");
}

/// On a simulated recording the optimistic model fills at least as often as the queue. The
/// quotes are kept within 0.5 bps of mid (no cooldown, no fee floor), where trades print at
/// their price and the queue ahead matters; further out both models fill only on trades
/// through the price and agree.
#[test]
fn cross_fills_at_least_as_often_as_queue() {
    let data = tree(12_000);
    let outs = tempfile::tempdir().unwrap();
    let mut fills = Vec::new();
    for model in ["cross", "queue"] {
        let dir = outs.path().join(model);
        let mut args = vec!["--fill-model", model, "--out", dir.to_str().unwrap()];
        args.extend(SHORT);
        args.extend(["--set", "cooldown=0", "--set", "maker_fee=0"]);
        args.extend(["--set", "min_spread=0", "--set", "max_spread=0.5"]);
        ok(&backtest(data.path(), outs.path(), &args));
        let s = summary(&dir);
        fills.push(u64_of(&s, "fills_bid") + u64_of(&s, "fills_ask"));
    }
    eprintln!("fills: cross {}, queue {}", fills[0], fills[1]);
    assert!(fills[1] > 100, "the queue model fills too: {fills:?}");
    assert!(fills[0] >= fills[1], "cross {} < queue {}", fills[0], fills[1]);
}

/// No look-ahead: tree B is tree A cut after t (the same seed, fewer steps). The replayed
/// events before t and every recalibration the strategy may use by t are the same on both;
/// the later fits differ, so the comparison can fail.
#[test]
fn data_after_t_changes_nothing_the_strategy_may_use_before_t() {
    let full = tree(9_000); // 15 minutes
    let cut = tree(6_000); // 10 minutes: everything received after T0 + 10 m is gone
    let t = RecvTime::from_nanos(T0 + 600 * SEC);
    let source = Source {
        venue: VENUE.into(),
        market: "ETH-USD".into(),
        from: RecvTime::from_nanos(T0),
        to: RecvTime::from_nanos(T0 + 900 * SEC),
        clock: Clock::Recv,
    };
    let before = |root: &Path| -> Vec<Event> {
        Listings::open(root, &source)
            .unwrap()
            .replay()
            .map(Result::unwrap)
            .take_while(|e| e.ts_recv() < t)
            .collect()
    };
    let events = before(full.path());
    assert!(events.len() > 6_000, "{} events before t", events.len());
    assert!(events == before(cut.path()), "the replay before t depends on data after t");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let schedule = |root: &Path| {
        runtime.block_on(async {
            let session = Session::open(root).await.unwrap();
            let key = MarketKey { venue: VENUE.into(), market: "ETH-USD".into() };
            let spec = MarketSpec {
                tick: Price::parse("0.01").unwrap(),
                lot: Qty::parse("0.001").unwrap(),
                contract: mdkit::model::contract::Contract::LINEAR_1,
            };
            let calibrator =
                Calibrator::new(&session.ctx, key, calibration_settings(spec, 300 * SEC))
                    .await
                    .unwrap();
            let plan = Plan {
                from: source.from,
                to: source.to,
                window_ns: 300 * SEC,
                interval_ns: 150 * SEC,
            };
            calibrator.schedule(&plan, |_, _| {}).await.unwrap()
        })
    };
    let (a, b) = (schedule(full.path()), schedule(cut.path()));
    let ats: Vec<i64> = a.iter().map(|r| (r.at.as_nanos() - T0) / SEC).collect();
    assert_eq!(ats, [0, 150, 300, 450, 600, 750], "fits at from + k·interval");
    assert_eq!(
        b.iter().map(|r| r.at).collect::<Vec<_>>(),
        a.iter().map(|r| r.at).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(&b).filter(|(x, _)| x.at <= t) {
        assert_eq!(x, y, "the fit usable at {} changed with data after t", x.at);
    }
    assert!(a[1].fit.sigma.is_some() && a[4].fit.bid.kappa.is_some(), "{:?}", a[4]);
    assert!(a[0].fit.bid.kappa.is_none(), "nothing before the range: no fit at from");
    assert_ne!(a[5], b[5], "the fit after t sees the data after t");
}

/// No look-ahead through the whole command: on tree A and on A cut after t (same flags, same
/// range), the equity samples before t and the fills reported before t are identical, and
/// the runs differ after t.
#[test]
fn the_backtest_before_t_is_the_same_without_the_data_after_t() {
    let (full, cut) = (tree(9_000), tree(6_000));
    let t = T0 + 600 * SEC;
    assert_same_before(&full, &cut, t, &[]);
}

/// Backtests `full` and `cut` (the same tree without the data after `t`, ns) from 13:00 to
/// 13:15 with the `cross` model and [`SHORT`] settings plus `extra`, and checks that the
/// equity samples and the fills reported before `t` are identical, and the runs differ after.
fn assert_same_before(full: &tempfile::TempDir, cut: &tempfile::TempDir, t: i64, extra: &[&str]) {
    let outs = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (name, data) in [("full", full), ("cut", cut)] {
        let dir = outs.path().join(name);
        let mut args = extra.to_vec();
        args.extend([
            "--fill-model",
            "cross",
            "--from",
            "2026-11-20T13:00Z",
            "--to",
            "2026-11-20T13:15Z",
            "--out",
            dir.to_str().unwrap(),
        ]);
        args.extend(SHORT);
        ok(&backtest(data.path(), outs.path(), &args));
        // A fill's markouts (`mid_<h>s`, `markout_<h>s…`) are measured up to 60 s after it,
        // from data the strategy never sees then: they are left out of the comparison.
        let before = |file: &str, column: &str| -> Vec<RecordBatch> {
            read_parquet(&dir.join(file))
                .iter()
                .map(|b| {
                    let ts = b.column_by_name(column).unwrap();
                    let ts = ts.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
                    let keep: arrow::array::BooleanArray =
                        ts.values().iter().map(|v| Some(*v < t)).collect();
                    let b = arrow::compute::filter_record_batch(b, &keep).unwrap();
                    let known: Vec<usize> = (0..b.num_columns())
                        .filter(|&i| {
                            let name = b.schema().field(i).name().clone();
                            !name.starts_with("mid_") && !name.starts_with("markout_")
                        })
                        .collect();
                    b.project(&known).unwrap()
                })
                .filter(|b| b.num_rows() > 0)
                .collect()
        };
        runs.push((
            before("equity.parquet", "ts"),
            before("fills.parquet", "ts_report"),
            std::fs::read(dir.join("fills.parquet")).unwrap(),
        ));
    }
    assert!(rows(&runs[0].0) >= 590, "{} samples before t", rows(&runs[0].0));
    assert!(rows(&runs[0].1) > 0, "fills before t");
    assert!(runs[0].0 == runs[1].0, "equity before t depends on data after t");
    assert!(runs[0].1 == runs[1].1, "fills before t depend on data after t");
    assert!(runs[0].2 != runs[1].2, "the data after t does change the run after t");
}

/// A range without data: exit 2, a message naming the market, the range and what exists,
/// and no output folder.
#[test]
fn a_range_without_data_is_a_clear_error_and_writes_nothing() {
    let data = tree(600);
    let cwd = tempfile::tempdir().unwrap();
    let out_dir = cwd.path().join("out");
    let out = backtest(
        data.path(),
        cwd.path(),
        &["--from", "2030-01-01", "--to", "2030-01-02", "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("extended/ETH-USD has no book_top rows received in"), "{err}");
    assert!(err.contains("2030-01-01T00:00:00Z"), "{err}");
    assert!(err.contains("its book_top rows span 2026-11-20T13:00"), "{err}");
    assert!(!out_dir.exists(), "nothing is written");

    // Inside the recording, between two frames (received at 13:00:10.003 and 10.103).
    let out = backtest(
        data.path(),
        cwd.path(),
        &[
            "--from",
            "2026-11-20T13:00:10.004Z",
            "--to",
            "2026-11-20T13:00:10.1Z",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("falls in a gap of the recording"), "{}", stderr(&out));
    assert!(!out_dir.exists(), "nothing is written");

    let out = backtest(data.path(), cwd.path(), &["--market", "BTC-USD"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("BTC-USD") && err.contains("extended/ETH-USD"), "{err}");
    assert!(!cwd.path().join("backtest").exists(), "nothing is written");
}

/// A file in the tree that is not a readable part is named once on stderr and skipped; the
/// run goes on over the rest.
#[test]
fn a_corrupt_part_is_named_and_skipped() {
    let data = tree(3_000);
    let partition = data.path().join("depth/venue=extended/market=ETH-USD/date=2026-11-20");
    let bad = partition.join("part-235959-1-9.parquet");
    std::fs::write(&bad, b"PAR1 not really parquet").unwrap();
    let outs = tempfile::tempdir().unwrap();
    let dir = outs.path().join("run");
    let out = backtest(data.path(), outs.path(), &["--out", dir.to_str().unwrap()]);
    ok(&out);
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: skipped")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("part-235959-1-9.parquet"), "{err}");
    assert!(u64_of(&summary(&dir), "events") > 3_000);
}

/// The event clock's feed latency in these tests (the `--feed-latency` default).
const FEED: i64 = 5_000_000;

/// [`tree`]`(9_000)` (15 simulated minutes) as an accelerated recording: the receive clock
/// runs 60× slower than the venue's (ts_recv = T0 + (ts_event − T0) / 60 + 3 ms), as
/// `mdkit collect` stamps a `mdkit simulate --speed 60` session. With `cut`, only the rows
/// stamped (ts_event) before it are kept.
fn accelerated(cut: Option<i64>) -> tempfile::TempDir {
    let src = tree(9_000);
    let dir = tempfile::tempdir().unwrap();
    let recv = |ts_event: EventTime| {
        RecvTime::from_nanos(T0 + (ts_event.as_nanos() - T0) / 60 + 3_000_000)
    };
    let keep = |ts_event: EventTime| cut.is_none_or(|c| ts_event.as_nanos() < c);
    let mut depth: Vec<DepthRow> = crate::live::read(src.path(), "ETH-USD");
    depth.retain(|r| keep(r.ts_event));
    depth.iter_mut().for_each(|r| r.ts_recv = recv(r.ts_event));
    let mut tops: Vec<BookTopRow> = crate::live::read(src.path(), "ETH-USD");
    tops.retain(|r| keep(r.ts_event));
    tops.iter_mut().for_each(|r| r.ts_recv = recv(r.ts_event));
    let mut trades: Vec<TradeRow> = crate::live::read(src.path(), "ETH-USD");
    trades.retain(|r| keep(r.ts_event));
    trades.iter_mut().for_each(|r| r.ts_recv = recv(r.ts_event));
    write(dir.path(), "ETH-USD", &depth);
    write(dir.path(), "ETH-USD", &tops);
    write(dir.path(), "ETH-USD", &trades);
    dir
}

/// No look-ahead on the event clock: on an accelerated tree and the same tree without the
/// rows stamped after t, the replay before t (derived time ts_event + 5 ms) and every fit the
/// strategy may use by t are the same, and the later fits differ. On this tree the receive
/// clock spans 15 s, so a cut on ts_recv would put every row before t.
#[test]
fn on_the_event_clock_data_after_t_changes_nothing_before_t() {
    let t = T0 + 600 * SEC;
    let (full, cut) = (accelerated(None), accelerated(Some(t - FEED)));
    let source = Source {
        venue: VENUE.into(),
        market: "ETH-USD".into(),
        from: RecvTime::from_nanos(T0),
        to: RecvTime::from_nanos(T0 + 900 * SEC),
        clock: Clock::Event { feed_latency_ns: FEED },
    };
    let t = RecvTime::from_nanos(t);
    let before = |root: &Path| -> Vec<Event> {
        Listings::open(root, &source)
            .unwrap()
            .replay()
            .map(Result::unwrap)
            .take_while(|e| e.ts_recv() < t)
            .collect()
    };
    let events = before(full.path());
    assert!(events.len() > 6_000, "{} events before t", events.len());
    assert!(
        events.iter().all(|e| e.ts_recv().as_nanos() == e.ts_event_nanos() + FEED),
        "the strategy clock is ts_event + the feed latency"
    );
    assert!(events == before(cut.path()), "the replay before t depends on data after t");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let schedule = |root: &Path| {
        runtime.block_on(async {
            let session = Session::open(root).await.unwrap();
            let key = MarketKey { venue: VENUE.into(), market: "ETH-USD".into() };
            let spec = MarketSpec {
                tick: Price::parse("0.01").unwrap(),
                lot: Qty::parse("0.001").unwrap(),
                contract: mdkit::model::contract::Contract::LINEAR_1,
            };
            let calibrator =
                Calibrator::new(&session.ctx, key, calibration_settings(spec, 300 * SEC))
                    .await
                    .unwrap()
                    .on_clock(source.clock);
            let plan = Plan {
                from: source.from,
                to: source.to,
                window_ns: 300 * SEC,
                interval_ns: 150 * SEC,
            };
            calibrator.schedule(&plan, |_, _| {}).await.unwrap()
        })
    };
    let (a, b) = (schedule(full.path()), schedule(cut.path()));
    assert_eq!(a.len(), 6, "fits at from + k·interval");
    for (x, y) in a.iter().zip(&b).filter(|(x, _)| x.at <= t) {
        assert_eq!(x, y, "the fit usable at {} changed with data after t", x.at);
        assert!(x.fit.window_end.as_nanos() == x.at.as_nanos() - FEED, "window ends at t − L");
    }
    assert!(a[1].fit.sigma.is_some() && a[4].fit.bid.kappa.is_some(), "{:?}", a[4]);
    assert_ne!(a[5], b[5], "the fit after t sees the data after t");

    // And through the whole command: equity and fills before t are the same.
    assert_same_before(&full, &cut, t.as_nanos(), &["--clock", "event"]);
}

/// A real accelerated session: `mdkit simulate --speed 60 --duration 20m` recorded by
/// `mdkit collect` spans 20 simulated minutes of ts_event but only ~20 s of ts_recv. On the
/// receive clock the backtest says so (a hint) and why it sent nothing (the warm-up);
/// `--clock event` quotes and fills, the same way on two runs.
#[test]
fn an_accelerated_simulator_recording_backtests_on_the_event_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("sim.log"));
    let mut sim = Sim::start(&log, &["--speed", "60", "--duration", "20m"]);
    let collector = Collector::start(
        &data,
        &["ETH-USD", "--url", &sim.url, "--backoff-min", "10ms", "--backoff-max", "50ms"],
        false,
    );
    sim.wait();
    assert!(collector.interrupt().success());

    let out = backtest(&data, dir.path(), &["--out", dir.path().join("recv").to_str().unwrap()]);
    ok(&out);
    let hint = stderr(&out);
    assert!(hint.contains("hint: ts_event spans") && hint.contains("--clock event"), "{hint}");
    let text = stdout(&out);
    assert!(text.contains("note: no orders: warm-up (900 s) covers the whole range"), "{text}");

    let mut runs = Vec::new();
    for name in ["event1", "event2"] {
        let out_dir = dir.path().join(name);
        let out = backtest(
            &data,
            dir.path(),
            &[
                "--clock",
                "event",
                "--set",
                "warmup=2m",
                "--set",
                "window=5m",
                "--set",
                "every=2m",
                "--set",
                "gamma=0.001",
                "--out",
                out_dir.to_str().unwrap(),
            ],
        );
        ok(&out);
        assert!(!stderr(&out).contains("hint:"), "no hint once the clock is chosen");
        assert!(stdout(&out).contains("ts_event + 5ms"), "{}", stdout(&out));
        runs.push((
            std::fs::read(out_dir.join("summary.json")).unwrap(),
            std::fs::read(out_dir.join("fills.parquet")).unwrap(),
            summary(&out_dir),
        ));
    }
    let s = &runs[0].2;
    assert_eq!(s["clock"], "event", "{s}");
    assert_eq!(s["feed_latency_seconds"], 0.005, "{s}");
    assert!(
        s["duration_seconds"].as_f64().unwrap() > 1_000.0,
        "twenty minutes of strategy time: {s}"
    );
    assert!(u64_of(s, "orders_sent") > 0, "{s}");
    assert!(u64_of(s, "fills_bid") + u64_of(s, "fills_ask") > 0, "{s}");
    assert_eq!(s["notes"], serde_json::json!([]), "{s}");
    assert!(runs[0].0 == runs[1].0, "summary.json differs between two runs");
    assert!(runs[0].1 == runs[1].1, "fills.parquet differs between two runs");
}

/// A run that sends nothing says why, after the summary and in summary.json: on five
/// minutes, docs/MODEL.md's 900 s warm-up covers everything; with the suggested warm-up, the
/// default schedule (window 3600 s every 600 s) has no fit before the end.
#[test]
fn a_run_without_orders_names_the_reason() {
    let data = tree(3_000);
    let cwd = tempfile::tempdir().unwrap();
    let out_dir = cwd.path().join("a");
    // With every setting at its default the schedule is sized to the range, and it quotes.
    let out = backtest(data.path(), cwd.path(), &["--out", out_dir.to_str().unwrap()]);
    ok(&out);
    assert!(stderr(&out).contains("sized to the data"), "{}", stderr(&out));
    assert!(u64_of(&summary(&out_dir), "orders_sent") > 0);
    // A schedule that is set is kept.
    let out_dir = cwd.path().join("a2");
    let out = backtest(
        data.path(),
        cwd.path(),
        &["--set", "every=9m", "--out", out_dir.to_str().unwrap()],
    );
    ok(&out);
    let note = "no orders: warm-up (900 s) covers the whole range (300 s); try --set warmup=30s";
    let text = stdout(&out);
    assert!(text.contains(&format!("note: {note}")), "{text}");
    assert_eq!(summary(&out_dir)["notes"], serde_json::json!([note]));

    let out_dir = cwd.path().join("b");
    let out = backtest(
        data.path(),
        cwd.path(),
        &["--set", "warmup=30s", "--out", out_dir.to_str().unwrap()],
    );
    ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(
            "note: no orders: no fit: no recalibration had A and kappa on both sides \
             (window 3600 s, every 600 s); the last, at 2026-11-20T13:00:00.003Z, saw 0 trades"
        ),
        "{text}"
    );
}
