//! Writes hours of the simulator's market as a recorder would, into a data tree, fast: the
//! input of `scripts/backtest-rss.sh` and of manual backtests.
//!
//! Recording `mdkit simulate` with `mdkit collect` at high speed compresses the receive clock
//! (ts_recv is wall time), so a day served in minutes is minutes long to a backtest. This
//! steps the same synthetic market in-process instead and stamps `ts_recv` = `ts_event` + 3 ms:
//! a depth snapshot of the first frame, then per 100 ms step its depth changes, its
//! `book_top` frame and its trades, through the project's `storage::Writer` (parts rotate
//! hourly, as live). Memory stays small: rows are written every 10,000 steps.
//!
//! MARKET is a market spec as in `mdkit simulate --market` (NAME[:key=value,...]) and BOOK the
//! book of `mdkit simulate --book` (dense or queues; docs/MODEL.md "The synthetic market").
//!
//! Usage: cargo run --release --example simulated_tree -- DIR [HOURS=24] [SEED=5] [MARKET=ETH-USD] [BOOK=dense]
//! e.g. `... -- /tmp/q 2 5 ETH-USD:sigma=0.005,kappa_bid=100,kappa_ask=100 queues`

use std::path::PathBuf;

use clap::ValueEnum as _;
use mdkit::simulate::market::{BookKind, Market, STEP_MS};
use mdkit::simulate::parse_market;
use mdkit::simulate::rows::SimulatedRows;
use mdkit::storage::{BookTopRow, DepthRow, Rows, Table, TradeRow, Writer, WriterConfig};

/// 2026-11-20T00:00:00Z.
const START: i64 = 1_795_132_800_000_000_000;
const MS: i64 = 1_000_000;
const VENUE: &str = "extended";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        anyhow::bail!(
            "usage: simulated_tree DIR [HOURS=24] [SEED=5] [MARKET=ETH-USD] [BOOK=dense|queues]"
        );
    };
    let hours: i64 = args.get(1).map_or(Ok(24), |h| h.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let mut params = parse_market(args.get(3).map_or("ETH-USD", String::as_str))?;
    params.book = match args.get(4) {
        Some(text) => BookKind::from_str(text, false).map_err(anyhow::Error::msg)?,
        None => BookKind::Dense,
    };
    let name = params.market.clone();
    let steps = hours * 3_600_000 / STEP_MS;
    let mut market = Market::new(params, seed);
    let writer = |table| Writer::new(&dir, table, VENUE, &name, WriterConfig::default());
    let (mut depth_w, mut top_w, mut trade_w) =
        (writer(Table::Depth)?, writer(Table::BookTop)?, writer(Table::Trades)?);
    let mut rows = SimulatedRows::new(3 * MS);
    rows.snapshot(&market, START);
    let mut counts = (0usize, 0usize, 0usize);
    for k in 1..=steps {
        rows.step(&mut market, START + k * STEP_MS * MS, k + 1);
        if k % 10_000 == 0 || k == steps {
            let (depths, tops, trades) = rows.take();
            counts.0 += depths.len();
            counts.1 += tops.len();
            counts.2 += trades.len();
            depth_w.write(&DepthRow::to_batch(VENUE, &name, &depths))?;
            top_w.write(&BookTopRow::to_batch(VENUE, &name, &tops))?;
            trade_w.write(&TradeRow::to_batch(VENUE, &name, &trades))?;
        }
    }
    depth_w.close()?;
    top_w.close()?;
    trade_w.close()?;
    println!(
        "{hours} simulated hours of {name} (seed {seed}, book {}) in {}: {} depth rows, {} book_top frames, {} trades",
        market.params().book.name(),
        dir.display(),
        counts.0,
        counts.1,
        counts.2
    );
    Ok(())
}
