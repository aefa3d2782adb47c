//! The tables are plain hive-partitioned Parquet: DuckDB, pyarrow and polars read a tree that
//! mdkit wrote, exactly as the README shows, with exact decimals, UTC nanosecond timestamps and
//! the partition columns. Needs python3 with duckdb, pyarrow and polars (`.ci/run` installs
//! them); skips with a visible message without them.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use mdkit::storage::{Rows, Table, TradeRow, Writer, WriterConfig};

use crate::common::{trades, write_trades, DAY_20, SEC};

fn python_has_modules() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb, polars, pyarrow.dataset"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The exact sum of prices, as decimal text with 8 places.
/// Whether the Python readers are missing (then the test says it skipped).
fn python_missing() -> bool {
    let missing = !python_has_modules();
    if missing {
        let _ = std::io::stderr().write_all(
            b"skipped: python3 with duckdb, pyarrow and polars not found (pip install duckdb pyarrow polars)\n",
        );
    }
    missing
}

fn price_sum(rows: &[TradeRow]) -> String {
    let raw: i128 = rows.iter().map(|r| i128::from(r.price.raw())).sum();
    format!("{}.{:08}", raw / 100_000_000, raw % 100_000_000)
}

#[test]
fn duckdb_pyarrow_and_polars_read_the_tree_as_the_readme_says() {
    if python_missing() {
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

    let polars = &seen["polars"];
    assert_eq!(polars["rows"], 180, "the part being written is not read");
    assert_eq!(polars["max_trade_id"].as_i64(), Some(eth[149].trade_id));
    assert_eq!(polars["sum_price"].as_str(), Some(price_sum(&all).as_str()));
    assert_eq!(polars["markets"], serde_json::json!(["BTC-USD", "ETH-USD"]));
}

/// `depth` and `book_top`, written as the recorder writes them (`Writer::write_rows`): DuckDB,
/// pyarrow and polars must read every value, every null and the page statistics DuckDB filters
/// with.
#[test]
fn duckdb_pyarrow_and_polars_read_depth_and_book_top() {
    use mdkit::model::{BookSide, EventTime, Level, Price, Qty, RecvTime};
    use mdkit::storage::{BookTopRow, DepthRow};

    if python_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig { coalesce_rows: 1, row_group_rows: 64, ..WriterConfig::default() };
    let level =
        |price: i64, qty: i64| Level { price: Price::from_raw(price), qty: Qty::from_raw(qty) };
    let depth: Vec<DepthRow> = (0..1000i64)
        .map(|i| DepthRow {
            ts_event: EventTime::from_nanos(DAY_20 + i / 5 * SEC),
            ts_recv: RecvTime::from_nanos(DAY_20 + i / 5 * SEC + 7),
            conn: if i < 500 { 1 } else { 2 },
            seq: i / 5 + 1,
            snapshot: i < 10,
            side: if i % 3 == 0 { BookSide::Ask } else { BookSide::Bid },
            price: Price::from_raw(6_000_000_000_000 + (i % 37) * 1_000_000),
            qty: Qty::from_raw(if i % 11 == 0 { 0 } else { 1_000 * (i % 97) + 1 }),
        })
        .collect();
    let top: Vec<BookTopRow> = (0..300i64)
        .map(|i| BookTopRow {
            ts_event: EventTime::from_nanos(DAY_20 + i * SEC),
            ts_recv: RecvTime::from_nanos(DAY_20 + i * SEC + 7),
            conn: 1,
            seq: i + 1,
            snapshot: i == 0,
            // Some frames have a thin book: the missing levels are nulls.
            bids: (0..(i % 23)).map(|k| level(6_000_000_000_000 - k * 1_000_000, 5 + i)).collect(),
            asks: (0..(i % 21)).map(|k| level(6_000_100_000_000 + k * 1_000_000, 7 + k)).collect(),
        })
        .collect();
    for (table, batch) in [
        (Table::Depth, DepthRow::to_batch("extended", "ETH-USD", &depth)),
        (Table::BookTop, BookTopRow::to_batch("extended", "ETH-USD", &top)),
    ] {
        let mut writer =
            Writer::new(dir.path(), table, "extended", "ETH-USD", config.clone()).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/read_book.py");
    let out = Command::new("python3").arg(&script).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let decimal = |raw: i64| format!("{}.{:08}", raw / 100_000_000, raw % 100_000_000);
    let price_sum: i64 = depth.iter().map(|r| r.price.raw()).sum();
    let qty_sum: i64 = depth.iter().map(|r| r.qty.raw()).sum();
    let seq_sum: i64 = depth.iter().map(|r| r.seq).sum();
    let asks = depth.iter().filter(|r| r.side == BookSide::Ask).count();
    let duck = &seen["duckdb"];
    let expected = serde_json::json!([
        "1000",
        seq_sum.to_string(),
        decimal(price_sum),
        decimal(qty_sum),
        "10",
        asks.to_string(),
        "extended",
        "ETH-USD",
        "1500"
    ]);
    assert_eq!(duck["depth"], expected);
    assert_eq!(duck["depth_seq_100_119"], 100, "a filter over the page statistics");

    let bid0: Vec<i64> = top.iter().filter_map(|r| r.bids.first()).map(|l| l.price.raw()).collect();
    let ask19: Vec<i64> = top.iter().filter_map(|r| r.asks.get(19)).map(|l| l.qty.raw()).collect();
    let bid5 = top.iter().filter(|r| r.bids.len() > 5).count();
    let expected = serde_json::json!([
        "300",
        decimal(bid0.iter().sum()),
        ask19.len().to_string(),
        decimal(ask19.iter().sum()),
        bid5.to_string()
    ]);
    assert_eq!(duck["book_top"], expected);

    let arrow = &seen["pyarrow"];
    assert_eq!(arrow["depth_rows"], 1000);
    assert_eq!(arrow["depth_price_sum"].as_str(), Some(decimal(price_sum).as_str()));
    assert_eq!(arrow["top_rows"], 300);
    assert_eq!(arrow["top_ask_qty_19_nulls"], 300 - ask19.len());
    assert_eq!(arrow["top_bid_price_0_sum"].as_str(), Some(decimal(bid0.iter().sum()).as_str()));

    let polars = &seen["polars"];
    assert_eq!(polars["depth_rows"], 1000);
    assert_eq!(polars["depth_price_type"], "Decimal(precision=18, scale=8)");
    assert_eq!(polars["depth_price_sum"].as_str(), Some(decimal(price_sum).as_str()));
    assert_eq!(polars["depth_ts_recv_type"], "Datetime(time_unit='ns', time_zone='UTC')");
    assert_eq!(polars["depth_max_seq"], depth.iter().map(|r| r.seq).max().unwrap());
    assert_eq!(polars["top_rows"], 300);
    assert_eq!(polars["top_ask_qty_19_nulls"], 300 - ask19.len());
    assert_eq!(polars["top_bid_price_0_sum"].as_str(), Some(decimal(bid0.iter().sum()).as_str()));
}
