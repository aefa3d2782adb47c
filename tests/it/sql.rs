//! DataFusion over a tree the writer made, and the `mdkit` command line around it.

use arrow::datatypes::{DataType, TimeUnit};
use mdkit::storage::Session;

use crate::common::{mdkit, stderr, stdout, trades, write_trades, DAY_20, SEC};

/// ETH-USD: 100 trades on 11-20 and 50 on 11-21; BTC-USD: 30 on 11-21.
fn two_markets(root: &std::path::Path) {
    write_trades(root, "ETH-USD", &trades(150, DAY_20 + 86_400 * SEC - 100 * SEC));
    write_trades(root, "BTC-USD", &trades(30, DAY_20 + 86_400 * SEC + 3_600 * SEC));
}

#[tokio::test]
async fn trades_group_by_market_and_date_with_exact_types() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    assert!(session.skipped.is_empty());
    let df = session
        .ctx
        .sql("SELECT market, date, count(*) FROM trades GROUP BY 1, 2 ORDER BY 1, 2")
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    let rows: Vec<&str> =
        text.lines().filter(|l| l.starts_with("| ") && !l.contains("market")).collect();
    assert_eq!(
        rows,
        vec![
            "| BTC-USD | 2026-11-21 | 30       |",
            "| ETH-USD | 2026-11-20 | 100      |",
            "| ETH-USD | 2026-11-21 | 50       |",
        ],
        "{text}"
    );

    let df = session.ctx.sql("SELECT price, qty, ts_event, ts_recv, trade_id FROM trades WHERE market = 'ETH-USD' ORDER BY ts_recv LIMIT 1").await.unwrap();
    let schema = df.schema().as_arrow().clone();
    let batches = df.collect().await.unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(18, 8));
    assert_eq!(schema.field(1).data_type(), &DataType::Decimal128(18, 8));
    let utc_ns = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    assert_eq!(schema.field(2).data_type(), &utc_ns);
    assert_eq!(schema.field(3).data_type(), &utc_ns);
    let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert!(text.contains("84050.12345678"), "the price keeps all 8 decimals: {text}");
    assert!(text.contains("2103821900219158529"), "the trade id is exact: {text}");
}

#[tokio::test]
async fn a_query_on_a_directory_prunes_by_partition_and_empty_tables_exist() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    let df = session.ctx.sql("SELECT count(*) AS n FROM trades WHERE market = 'BTC-USD' AND date = DATE '2026-11-21'").await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(text.contains("| 30 |"), "{text}");
    for table in ["depth", "book_top", "events", "calibration"] {
        let df = session.ctx.sql(&format!("SELECT count(*) AS n FROM {table}")).await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        assert!(text.contains("| 0 |"), "{table}: {text}");
    }
}

#[test]
fn sql_prints_a_table_csv_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let query = "SELECT market, trade_id, price, side FROM trades WHERE market = 'BTC-USD' ORDER BY ts_recv LIMIT 2";

    let out = mdkit(dir.path(), &["sql", query]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("+---------+"), "{table}");
    assert!(table.contains("| BTC-USD | 2103821900219158529 | 84050.12345678 | sell |"), "{table}");

    let out = mdkit(dir.path(), &["sql", "--format", "csv", query]);
    assert_eq!(stdout(&out), "market,trade_id,price,side\nBTC-USD,2103821900219158529,84050.12345678,sell\nBTC-USD,2103821900219158530,84050.13345678,buy\n");

    let out = mdkit(dir.path(), &["sql", "--format", "json", query]);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["market"], "BTC-USD");
    assert_eq!(lines[1]["side"], "buy");

    let out = mdkit(dir.path(), &["sql", "--format", "csv", "SELECT * FROM trades WHERE 1 = 0"]);
    assert!(
        stdout(&out).starts_with(
            "ts_event,ts_recv,conn,seq,trade_id,side,price,qty,kind,venue,market,date\n"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_query_is_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["sql", "SELECT nope FROM trades"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("mdkit: query failed: "), "{err}");
    assert!(err.contains("nope"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn a_missing_data_directory_is_an_error_not_an_empty_answer() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    let out = mdkit(&missing, &["sql", "SELECT count(*) FROM trades"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("does not exist") && err.contains("typo"), "{err}");
}

#[test]
fn the_query_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SELECT count(*) AS n FROM trades\n").unwrap();
    let out = mdkit(dir.path(), &["sql", "--format", "csv", "-f", file.to_str().unwrap()]);
    assert_eq!(stdout(&out), "n\n180\n");
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for command in
        ["collect", "calibrate", "backtest", "verify", "simulate", "import", "spread", "sql"]
    {
        assert!(help.contains(&format!("  {command} ")), "{command} missing from:\n{help}");
    }
    assert!(help.contains("--data <DIR>"));
}
