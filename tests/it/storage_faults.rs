//! Nothing half-written is ever visible, and bad files in the tree are named and skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use mdkit::storage::{
    list, sweep_temp_files, Rows, Selection, Session, Table, TradeRow, Writer, WriterConfig,
};

use crate::common::{mdkit, stderr, stdout, trades, write_trades, DAY_20, SEC};

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path)
            } else {
                out.push(path)
            }
        }
    }
    out.sort();
    out
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    files_under(root)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(".tmp"))
        .collect()
}

fn count_rows(root: &Path) -> u64 {
    let listing = list(root, Table::Trades, &Selection::default()).unwrap();
    let mut n = 0;
    for batch in listing.scan() {
        n += batch.unwrap().num_rows() as u64;
    }
    assert_eq!(n, listing.rows());
    n
}

/// A writer with one committed part of 1000 rows and a second part in progress whose row
/// groups have already reached the file.
fn writer_mid_part(root: &Path) -> Writer {
    let config = WriterConfig {
        row_group_rows: 100,
        part_max_rows: 100_000,
        part_max_age: std::time::Duration::from_secs(86_400),
        coalesce_rows: 1,
        ..WriterConfig::default()
    };
    let mut writer = Writer::new(root, Table::Trades, "extended", "ETH-USD", config).unwrap();
    writer.write(&TradeRow::to_batch("extended", "ETH-USD", &trades(1000, DAY_20))).unwrap();
    writer.flush().unwrap();
    writer
        .write(&TradeRow::to_batch("extended", "ETH-USD", &trades(20_000, DAY_20 + 1000 * SEC)))
        .unwrap();
    assert_eq!(writer.committed().len(), 1);
    writer
}

#[test]
fn a_writer_dropped_without_close_leaves_only_complete_parts() {
    let dir = tempfile::tempdir().unwrap();
    let writer = writer_mid_part(dir.path());
    assert_eq!(temp_files(dir.path()).len(), 1, "the open part is a hidden temporary file");
    assert_eq!(count_rows(dir.path()), 1000, "the open part is invisible while written");
    drop(writer);
    assert!(temp_files(dir.path()).is_empty(), "drop removes the temporary file");
    assert_eq!(count_rows(dir.path()), 1000);
}

#[test]
fn a_forgotten_writer_leaves_a_temp_file_that_readers_ignore() {
    let dir = tempfile::tempdir().unwrap();
    std::mem::forget(writer_mid_part(dir.path()));
    let temps = temp_files(dir.path());
    assert_eq!(temps.len(), 1);
    assert!(
        std::fs::metadata(&temps[0]).unwrap().len() > 0,
        "the unfinished part holds row groups"
    );
    assert_eq!(count_rows(dir.path()), 1000);
    assert_eq!(sweep_temp_files(dir.path()).unwrap(), temps);
    assert!(temp_files(dir.path()).is_empty());
}

/// The body of the crash test: run only in a child process that aborts mid-part.
#[test]
fn crash_child() {
    let Ok(root) = std::env::var("MDKIT_TEST_CRASH_DIR") else { return };
    let writer = writer_mid_part(Path::new(&root));
    let _keep_open = writer;
    std::process::abort();
}

#[test]
fn a_process_killed_mid_part_leaves_only_complete_parts() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "storage_faults::crash_child", "--nocapture", "--test-threads=1"])
        .env("MDKIT_TEST_CRASH_DIR", dir.path())
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the child must have crashed");
    assert_eq!(temp_files(dir.path()).len(), 1, "the crash left its unfinished part behind");
    assert_eq!(count_rows(dir.path()), 1000, "readers see only the committed part");
    let out = mdkit(dir.path(), &["sql", "--format", "csv", "SELECT count(*) AS n FROM trades"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "n\n1000\n");
}

fn other_schema_part(path: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("venue", DataType::Utf8, false),
        Field::new("market", DataType::Utf8, false),
        Field::new("ts_recv", DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), false),
        Field::new("price", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["extended"])),
            Arc::new(StringArray::from(vec!["ETH-USD"])),
            Arc::new(TimestampNanosecondArray::from(vec![DAY_20]).with_timezone("UTC")),
            Arc::new(Float64Array::from(vec![3000.5])),
        ],
    )
    .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// A tree of 2 good parts (ETH-USD on 11-20 and 11-21) plus three bad files.
fn tree_with_bad_files(root: &Path) -> [PathBuf; 3] {
    let eth = write_trades(root, "ETH-USD", &trades(120, DAY_20 + 86_400 * SEC - 60 * SEC));
    assert_eq!(eth.len(), 2);
    let dir = eth[0].parent().unwrap();
    let truncated = dir.join("part-000000-9-0.parquet");
    let bytes = std::fs::read(&eth[0]).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let not_parquet = dir.join("part-000000-9-1.parquet");
    std::fs::write(&not_parquet, "time,price\n1,2\n").unwrap();
    let other = dir.join("part-000000-9-2.parquet");
    other_schema_part(&other);
    [truncated, not_parquet, other]
}

#[test]
fn the_reader_names_each_bad_file_and_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let [truncated, not_parquet, other] = tree_with_bad_files(dir.path());
    let listing = list(dir.path(), Table::Trades, &Selection::default()).unwrap();
    assert_eq!(listing.parts.len(), 2);
    assert_eq!(listing.bad.len(), 3);
    let reason = |path: &PathBuf| listing.bad.iter().find(|b| &b.path == path).unwrap().to_string();
    assert!(reason(&truncated).contains("truncated Parquet file"), "{}", reason(&truncated));
    assert!(reason(&not_parquet).contains("not a Parquet file"), "{}", reason(&not_parquet));
    assert!(
        reason(&other).contains("not a trades part: required column \"ts_event\" is missing"),
        "{}",
        reason(&other)
    );
    for bad in &listing.bad {
        assert!(bad.to_string().starts_with(&bad.path.display().to_string()));
        assert!(!bad.to_string().contains('\n'), "one line: {bad}");
    }
    assert_eq!(count_rows(dir.path()), 120);
}

#[test]
fn sql_skips_bad_files_with_one_warning_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let bad = tree_with_bad_files(dir.path());
    let out = mdkit(
        dir.path(),
        &[
            "sql",
            "--format",
            "csv",
            "SELECT date, count(*) AS n FROM trades GROUP BY date ORDER BY date",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "date,n\n2026-11-20,60\n2026-11-21,60\n");
    let warnings: Vec<String> = stderr(&out).lines().map(String::from).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for path in &bad {
        let abs = std::path::absolute(path).unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("warning: skipped ")
                    && w.contains(&abs.display().to_string())),
            "{path:?} in {warnings:?}"
        );
    }
}

#[tokio::test]
async fn the_session_hides_bad_files_from_datafusion() {
    let dir = tempfile::tempdir().unwrap();
    tree_with_bad_files(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    assert_eq!(session.skipped.len(), 3);
    let batches =
        session.ctx.sql("SELECT count(*) FROM trades").await.unwrap().collect().await.unwrap();
    let n =
        batches[0].column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0);
    assert_eq!(n, 120);
}
