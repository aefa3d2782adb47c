//! The tables are plain hive-partitioned Parquet: DuckDB and pyarrow read a tree that mdkit
//! wrote, exactly as the README shows, with exact decimals, UTC nanosecond timestamps and the
//! partition columns. Needs python3 with duckdb and pyarrow (`.ci/run` installs them); skips
//! with a visible message without them.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use mdkit::storage::{Rows, Table, TradeRow, Writer, WriterConfig};

use crate::common::{trades, write_trades, DAY_20, SEC};

fn python_has_modules() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb, pyarrow.dataset"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The exact sum of prices, as decimal text with 8 places.
fn price_sum(rows: &[TradeRow]) -> String {
    let raw: i128 = rows.iter().map(|r| i128::from(r.price.raw())).sum();
    format!("{}.{:08}", raw / 100_000_000, raw % 100_000_000)
}

#[test]
fn duckdb_and_pyarrow_read_the_tree_as_the_readme_says() {
    if !python_has_modules() {
        let _ = std::io::stderr().write_all(
            b"skipped: python3 with duckdb and pyarrow not found (pip install duckdb pyarrow)\n",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eth = trades(150, DAY_20 + 86_400 * SEC - 100 * SEC);
    let btc = trades(30, DAY_20 + 86_400 * SEC + 3_600 * SEC);
    write_trades(dir.path(), "ETH-USD", &eth);
    write_trades(dir.path(), "BTC-USD", &btc);
    // A part still being written must be invisible to both tools.
    let mut open = Writer::new(
        dir.path(),
        Table::Trades,
        "extended",
        "ETH-USD",
        WriterConfig { coalesce_rows: 1, row_group_rows: 10, ..WriterConfig::default() },
    )
    .unwrap();
    open.write(&TradeRow::to_batch("extended", "ETH-USD", &trades(500, DAY_20))).unwrap();
    std::mem::forget(open);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/read_tree.py");
    let out = Command::new("python3").arg(&script).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let (eth_20, eth_21) = eth.split_at(100);
    let expected = serde_json::json!([
        ["BTC-USD", "2026-11-21", 30, price_sum(&btc), btc[29].trade_id],
        ["ETH-USD", "2026-11-20", 100, price_sum(eth_20), eth_20[99].trade_id],
        ["ETH-USD", "2026-11-21", 50, price_sum(eth_21), eth_21[49].trade_id],
    ]);
    assert_eq!(seen["duckdb"]["rows"], expected);
    let duck = &seen["duckdb"]["types"];
    assert_eq!(duck["price"], "DECIMAL(18,8)");
    assert_eq!(duck["ts_recv"], "TIMESTAMPTZ_NS");
    assert_eq!(duck["trade_id"], "BIGINT");
    assert_eq!(duck["date"], "DATE");

    let arrow = &seen["pyarrow"];
    assert_eq!(arrow["rows"], 180);
    assert_eq!(arrow["types"]["price"], "decimal128(18, 8)");
    assert_eq!(arrow["types"]["ts_event"], "timestamp[ns, tz=UTC]");
    assert_eq!(
        arrow["max_trade_id"].as_i64(),
        Some(eth[149].trade_id),
        "ids beyond 2^53 stay exact"
    );
    let all: Vec<TradeRow> = eth.iter().chain(&btc).copied().collect();
    assert_eq!(arrow["sum_price"].as_str(), Some(price_sum(&all).as_str()));
}
