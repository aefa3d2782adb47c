//! Real trees are messy: stray files beside the parts, and parts written by other tools. Every
//! reader (sql, calibrate, spread, verify, backtest with recalibration) must name each stray
//! once, skip it and give the clean tree's answers, changing nothing on disk; another tool's
//! parts with the documented columns must give the same numbers as mdkit's own.
//!
//! The tree is the shipped real sample in `data/` (docs/ARCHITECTURE.md "Layout on disk").

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::common::{mdkit, stderr, stdout};

const TABLES: [&str; 5] = ["depth", "book_top", "trades", "events", "calibration"];

/// The shipped sample, as committed (a user's own calibration rows left out).
fn copy_sample(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    crate::common::copy_tree(&from, to, &|rel: &Path| {
        let rel = rel.to_string_lossy();
        let table = TABLES.iter().any(|t| rel.starts_with(t));
        table && (!rel.starts_with("calibration") || rel.ends_with("part-000505-0-0.parquet"))
            || rel.starts_with("_state")
    });
}

/// Every file under `root` with its bytes, to prove nothing changed.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                files.insert(entry.path(), std::fs::read(entry.path()).unwrap());
            }
        }
    }
    files
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// Places the five kinds of stray beside the first part of each table; returns their paths.
fn add_strays(root: &Path) -> Vec<PathBuf> {
    let mut strays = Vec::new();
    for table in TABLES {
        let mut parts: Vec<PathBuf> = snapshot(&root.join(table))
            .into_keys()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("part-"))
            .collect();
        parts.sort();
        let good = &parts[0];
        let dir = good.parent().unwrap();
        let notes = RecordBatch::try_from_iter([(
            "note",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        )])
        .unwrap();
        let named = dir.join("notes.parquet");
        write_parquet(&named, &notes);
        let empty = dir.join("part-999999-9-0.parquet");
        std::fs::write(&empty, b"").unwrap();
        let truncated = dir.join("part-999999-9-1.parquet");
        let bytes = std::fs::read(good).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let foreign = dir.join("part-999999-9-2.parquet");
        let other = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        )])
        .unwrap();
        write_parquet(&foreign, &other);
        // The table's own column names, every one a string: wrong types.
        let schema =
            mdkit::storage::Table::ALL.into_iter().find(|t| t.name() == table).unwrap().schema();
        let fields: Vec<Field> =
            schema.fields().iter().map(|f| Field::new(f.name(), DataType::Utf8, true)).collect();
        let columns: Vec<ArrayRef> =
            fields.iter().map(|_| Arc::new(StringArray::from(vec!["1"])) as ArrayRef).collect();
        let wrong = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let typed = dir.join("part-999999-9-3.parquet");
        write_parquet(&typed, &wrong);
        strays.extend([named, empty, truncated, foreign, typed]);
    }
    strays
}

const BACKTEST: [&str; 9] = [
    "backtest",
    "--set",
    "warmup=2m",
    "--set",
    "window=2m",
    "--set",
    "every=1m",
    "--set",
    "gamma=0.001",
];

/// What each command answers on a tree: stdout and, for the backtest, the files it wrote.
fn answers(root: &Path, out: &Path) -> (BTreeMap<&'static str, Output>, Vec<u8>, Vec<u8>) {
    let mut runs = BTreeMap::new();
    let counts = "SELECT (SELECT count(*) FROM depth) AS depth, (SELECT count(*) FROM book_top) AS book_top, \
                  (SELECT count(*) FROM trades) AS trades, (SELECT count(*) FROM events) AS events, \
                  (SELECT count(*) FROM calibration) AS calibration";
    runs.insert("sql", mdkit(root, &["sql", "--format", "csv", counts]));
    runs.insert("calibrate", mdkit(root, &["calibrate", "--no-write"]));
    runs.insert("spread", mdkit(root, &["spread", "--gamma", "0.001"]));
    runs.insert("verify", mdkit(root, &["verify", "--examples", "10"]));
    let mut backtest: Vec<&str> = BACKTEST.to_vec();
    let out_text = out.to_str().unwrap();
    backtest.extend(["--out", out_text]);
    runs.insert("backtest", mdkit(root, &backtest));
    let fills = std::fs::read(out.join("fills.parquet")).unwrap_or_default();
    let equity = std::fs::read(out.join("equity.parquet")).unwrap_or_default();
    (runs, fills, equity)
}

/// The backtest's report without the line naming its output folder.
fn report(output: &Output) -> String {
    stdout(output).lines().filter(|l| !l.contains("output")).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_reader_names_each_stray_once_and_answers_as_on_the_clean_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, messy) = (dir.path().join("clean"), dir.path().join("messy"));
    copy_sample(&clean);
    copy_sample(&messy);
    let strays = add_strays(&messy);
    assert_eq!(strays.len(), 25);
    let before = snapshot(&messy);

    let (want, want_fills, want_equity) = answers(&clean, &dir.path().join("out-clean"));
    let (got, got_fills, got_equity) = answers(&messy, &dir.path().join("out-messy"));

    for (command, run) in &want {
        assert_eq!(run.status.code(), Some(0), "clean {command}: {}", stderr(run));
        assert!(!stderr(run).contains("skipped"), "clean {command}: {}", stderr(run));
    }
    for (command, run) in &got {
        let err = stderr(run);
        for stray in &strays {
            let name = stray.display().to_string();
            let lines: Vec<&str> = err.lines().filter(|l| l.contains(&name)).collect();
            assert_eq!(lines.len(), 1, "{command} names {name} once:\n{err}");
            assert!(lines[0].starts_with("warning: skipped "), "{command}: {}", lines[0]);
        }
        assert!(!err.contains('\u{1b}'), "{command}: no escape codes on a pipe:\n{err}");
        if *command == "verify" {
            assert_eq!(run.status.code(), Some(1), "verify exits 1 on strays:\n{err}");
            let report = stdout(run);
            for stray in &strays {
                let rel = stray.strip_prefix(&messy).unwrap().display().to_string();
                assert!(report.contains(&rel), "verify lists {rel}:\n{report}");
            }
        } else {
            assert_eq!(run.status.code(), Some(0), "{command}: {err}");
            let (a, b) = (stdout(&want[command]), stdout(run));
            if *command == "backtest" {
                assert_eq!(report(&want[command]), report(run), "backtest report");
            } else {
                assert_eq!(a, b, "{command} answers as on the clean tree");
            }
        }
    }
    assert!(!want_fills.is_empty(), "the backtest wrote fills");
    assert_eq!(want_fills, got_fills, "fills.parquet byte for byte");
    assert_eq!(want_equity, got_equity, "equity.parquet byte for byte");
    let counts = stdout(&got["sql"]);
    assert!(
        counts.starts_with("depth,book_top,trades,events,calibration\n300079,6493,19904,2,1"),
        "{counts}"
    );
    assert_eq!(snapshot(&messy), before, "no file under the tree changed");
}

fn python_with_pyarrow() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyarrow.parquet"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let _ = std::io::stderr()
            .write_all(b"skipped: python3 with pyarrow not found (pip install pyarrow)\n");
    }
    ok
}

/// Rewrites every part of `from` as another tool would: no venue or market columns (they are
/// in the path), prices DECIMAL(18,2), quantities DECIMAL(16,8), dictionary strings,
/// upper-case sides, columns in another order.
const REWRITE: &str = r#"
import os, sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
src, dst = sys.argv[1], sys.argv[2]
for dirpath, _, files in os.walk(src):
    for name in files:
        if not name.startswith("part-"):
            continue
        t = pq.read_table(os.path.join(dirpath, name))
        cols = {}
        for field in t.schema:
            c = t.column(field.name)
            if field.name in ("venue", "market"):
                continue
            if pa.types.is_decimal(field.type):
                c = c.cast(pa.decimal128(18, 2) if "price" in field.name else pa.decimal128(16, 8))
            if field.name == "side":
                c = pc.utf8_upper(c)
            if pa.types.is_string(c.type):
                c = c.dictionary_encode()
            cols[field.name] = c
        names = sorted(cols)
        out = os.path.join(dst, os.path.relpath(dirpath, src))
        os.makedirs(out, exist_ok=True)
        pq.write_table(pa.table([cols[n] for n in names], names=names), os.path.join(out, name))
"#;

#[test]
fn a_tree_written_by_pyarrow_calibrates_like_mdkits_own() {
    if !python_with_pyarrow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
    copy_sample(&ours);
    std::fs::remove_dir_all(ours.join("calibration")).unwrap();
    let status = Command::new("python3")
        .args(["-c", REWRITE, ours.to_str().unwrap(), theirs.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let schema = Command::new("python3")
        .args([
            "-c",
            "import sys, pyarrow.parquet as pq; print(pq.read_schema(sys.argv[1]))",
            theirs
                .join("trades/venue=binance-spot/market=BTCUSDT/date=2024-08-09/part-000000-1-0.parquet")
                .to_str()
                .unwrap(),
        ])
        .output()
        .unwrap();
    let schema = String::from_utf8_lossy(&schema.stdout);
    assert!(schema.contains("price: decimal128(18, 2)"), "{schema}");
    assert!(schema.contains("side: dictionary<values=string"), "{schema}");
    assert!(!schema.contains("venue"), "{schema}");

    let args = ["calibrate", "--no-write", "--format", "csv"];
    let (a, b) = (mdkit(&ours, &args), mdkit(&theirs, &args));
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert!(!stderr(&b).contains("skipped"), "{}", stderr(&b));
    assert_eq!(stdout(&a), stdout(&b), "the same numbers from the same data");
    assert!(stdout(&a).lines().count() >= 2, "{}", stdout(&a));
    // The replay path (verify, backtest) reads the same tree too.
    let verify = mdkit(&theirs, &["verify", "--venue", "binance-spot"]);
    assert_eq!(verify.status.code(), Some(0), "{}\n{}", stdout(&verify), stderr(&verify));
    // The backtest's replay reads decimals as Decimal64 and strings as dictionaries: the
    // foreign parts are cast to those after they are normalised, with the same fills.
    let backtest = |root: &Path, out: &str| {
        let out = dir.path().join(out);
        let run = mdkit(root, &["backtest", "--out", out.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        (report(&run), std::fs::read(out.join("fills.parquet")).unwrap())
    };
    let (want, got) = (backtest(&ours, "out-ours"), backtest(&theirs, "out-theirs"));
    assert!(want.0.contains("fills bid / ask"), "{}", want.0);
    assert_eq!(want, got, "the same report and fills from the same data");
}
