//! Test data and helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output};

use mdkit::model::{EventTime, Price, Qty, RecvTime, TakerSide, TradeKind};
use mdkit::storage::{Rows, Table, TradeRow, Writer, WriterConfig};

/// 2026-11-20T00:00:00Z in nanoseconds.
pub const DAY_20: i64 = 1_795_132_800_000_000_000;
pub const SEC: i64 = 1_000_000_000;

/// `n` trades one second apart from `start`, with prices that need all 8 decimals.
pub fn trades(n: usize, start: i64) -> Vec<TradeRow> {
    (0..n)
        .map(|i| TradeRow {
            ts_event: EventTime::from_nanos(start + i as i64 * SEC - 3_000_000),
            ts_recv: RecvTime::from_nanos(start + i as i64 * SEC),
            conn: 1,
            seq: i as i64 + 1,
            trade_id: 2_103_821_900_219_158_529 + i as i64,
            side: if i % 3 == 0 { TakerSide::Sell } else { TakerSide::Buy },
            price: Price::from_raw(8_405_012_345_678 + (i as i64 % 97) * 1_000_000),
            qty: Qty::from_raw(20_000 + i as i64),
            kind: if i % 50 == 49 { TradeKind::Liquidation } else { TradeKind::Trade },
        })
        .collect()
}

/// Writes trades for `market` with the default writer settings and returns the parts.
pub fn write_trades(root: &Path, market: &str, rows: &[TradeRow]) -> Vec<std::path::PathBuf> {
    let mut writer = Writer::new(root, Table::Trades, "extended", market, WriterConfig::default())
        .expect("writer");
    writer.write(&TradeRow::to_batch("extended", market, rows)).expect("write");
    writer.close().expect("close")
}

/// Runs the real `mdkit` binary with `--data <data>` and the given arguments.
pub fn mdkit(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdkit"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run mdkit")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies the files under `from` for which `keep(path relative to from)` holds, made writable
/// (the checkout may be read-only: CI can copy it without write bits).
pub fn copy_tree(from: &Path, to: &Path, keep: &dyn Fn(&Path) -> bool) {
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(from.join(&rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(rel);
            } else if keep(&rel) {
                let target = to.join(&rel);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(entry.path(), &target).unwrap();
                let mut perms = std::fs::metadata(&target).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perms.set_readonly(false);
                std::fs::set_permissions(&target, perms).unwrap();
            }
        }
    }
}

/// The files at or below `root` whose names `keep` accepts, sorted (none if `root` is
/// missing).
pub fn files_under(root: &Path, keep: &dyn Fn(&str) -> bool) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `../shared/fixtures/<rel>` beside the checkout, or `None` with a visible "skipped" line
/// when it is absent (a user's clone has no `../shared`).
pub fn shared_fixtures(rel: &str) -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures").join(rel);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent (the team's real venue frames)", dir.display());
        None
    }
}

/// `../shared/realdata/hftbacktest-binance` (or under `$MDKIT_SHARED`), the team's real
/// Binance captures, or `None` with a visible "skipped" line when it is absent.
pub fn shared_realdata() -> Option<std::path::PathBuf> {
    let shared = std::env::var_os("MDKIT_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("realdata/hftbacktest-binance");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (the team's real Binance captures; set MDKIT_SHARED to the shared tree)",
            dir.display()
        );
        None
    }
}
