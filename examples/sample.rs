//! Writes a small synthetic recording (two markets, two hours across a UTC midnight) into a
//! data tree with mdkit's own writer, so `mdkit sql` has something to read before
//! `simulate` and `collect` exist.
//!
//! Usage: cargo run --example sample -- [DATA_DIR]   (default ./data)

use std::path::PathBuf;

use mdkit::book::Book;
use mdkit::model::{
    BookFrame, BookSide, EventKind, EventTime, FrameKind, Level, Price, Qty, RecvTime, TakerSide,
    TradeKind,
};
use mdkit::storage::{
    BookTopRow, DepthRow, EventRow, Rows, Table, TradeRow, Writer, WriterConfig, BOOK_TOP_LEVELS,
};

/// 2026-11-20T23:00:00Z.
const START: i64 = 1_795_215_600_000_000_000;
const FRAME_NS: i64 = 100_000_000;
const FRAMES: i64 = 2 * 3600 * 10;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "data".into()));
    for (market, mid_ticks, tick_raw, seed) in
        [("ETH-USD", 300_000i64, 1_000_000i64, 3u64), ("BTC-USD", 84_000, 100_000_000, 5)]
    {
        record(&root, market, mid_ticks, tick_raw, seed)?;
    }
    println!("wrote a sample recording of ETH-USD and BTC-USD under {}", root.display());
    Ok(())
}

fn record(root: &PathBuf, market: &str, mut mid: i64, tick: i64, seed: u64) -> anyhow::Result<()> {
    let open = |table| Writer::new(root, table, "sample", market, WriterConfig::default());
    let (mut depth, mut top, mut trades, mut events) =
        (open(Table::Depth)?, open(Table::BookTop)?, open(Table::Trades)?, open(Table::Events)?);
    let mut rng = Rng(seed);
    let mut book = Book::new();
    let mut trade_id = 2_103_821_900_219_158_529i64;
    events.write(&EventRow::to_batch(
        "sample",
        market,
        &[EventRow {
            ts_recv: RecvTime::from_nanos(START),
            conn: 1,
            kind: EventKind::Connect,
            seq: None,
            expected_seq: None,
            detail: Some("synthetic sample".into()),
        }],
    ))?;
    for seq in 1..=FRAMES {
        let ts_recv = START + seq * FRAME_NS;
        let ts_event = EventTime::from_nanos(ts_recv - 1_250_000_000);
        mid += rng.below(3) as i64 - 1;
        let kind = if seq % 600 == 1 { FrameKind::Snapshot } else { FrameKind::Delta };
        let level = |side: BookSide, depth: i64, qty: i64| {
            let ticks = if side == BookSide::Bid { mid - 1 - depth } else { mid + 1 + depth };
            Level::new(Price::from_raw(ticks * tick), Qty::from_raw(qty * 100_000))
        };
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        let depth_levels = if kind == FrameKind::Snapshot { 25 } else { 3 };
        for d in 0..depth_levels {
            let d = if kind == FrameKind::Snapshot { d } else { rng.below(25) as i64 };
            bids.push(level(BookSide::Bid, d, 1 + rng.below(3000) as i64));
            asks.push(level(BookSide::Ask, d, 1 + rng.below(3000) as i64));
        }
        // Levels that the mid moved across are removed, so the book never crosses.
        let crossing: Vec<Level> = book
            .levels(BookSide::Bid)
            .filter(|l| l.price.raw() >= mid * tick)
            .map(|l| Level::new(l.price, Qty::ZERO))
            .collect();
        bids.extend(crossing);
        let crossing: Vec<Level> = book
            .levels(BookSide::Ask)
            .filter(|l| l.price.raw() <= mid * tick)
            .map(|l| Level::new(l.price, Qty::ZERO))
            .collect();
        asks.extend(crossing);
        let frame =
            BookFrame { market: market.into(), kind, seq: seq as u64, ts_event, bids, asks };
        book.apply(&frame)?;
        let recv = RecvTime::from_nanos(ts_recv);
        let snapshot = kind == FrameKind::Snapshot;
        let rows: Vec<DepthRow> = [(BookSide::Bid, &frame.bids), (BookSide::Ask, &frame.asks)]
            .into_iter()
            .flat_map(|(side, levels)| {
                levels.iter().map(move |l| DepthRow {
                    ts_event,
                    ts_recv: recv,
                    conn: 1,
                    seq,
                    snapshot,
                    side,
                    price: l.price,
                    qty: l.qty,
                })
            })
            .collect();
        depth.write(&DepthRow::to_batch("sample", market, &rows))?;
        top.write(&BookTopRow::to_batch(
            "sample",
            market,
            &[BookTopRow {
                ts_event,
                ts_recv: recv,
                conn: 1,
                seq,
                snapshot,
                bids: book.top(BookSide::Bid, BOOK_TOP_LEVELS),
                asks: book.top(BookSide::Ask, BOOK_TOP_LEVELS),
            }],
        ))?;
        if rng.below(5) == 0 {
            let side = if rng.below(2) == 0 { TakerSide::Buy } else { TakerSide::Sell };
            if let Some(best) = book.best(side.hits()) {
                trade_id += 1;
                trades.write(&TradeRow::to_batch(
                    "sample",
                    market,
                    &[TradeRow {
                        ts_event,
                        ts_recv: recv,
                        conn: 1,
                        seq,
                        trade_id,
                        side,
                        price: best.price,
                        qty: Qty::from_raw((1 + rng.below(100) as i64) * 100_000),
                        kind: TradeKind::Trade,
                    }],
                ))?;
            }
        }
    }
    for writer in [depth, top, trades, events] {
        writer.close()?;
    }
    Ok(())
}
