//! Calibration over 24 simulated hours: the SQL of `sql/` run by [`mdkit::calibrate::window`]
//! on a Parquet tree, as `mdkit calibrate` runs it.
//!
//! The tree is made once, in-process, by stepping the simulator's ETH-USD market (seed 1,
//! σ 0.5, A 2/s, κ 15 per side) for 864,000 steps of 100 ms and writing what a recorder
//! would: one `book_top` frame per step (20 levels a side) and every trade. `depth` is left
//! out: calibration never reads it. The row counts are printed before the benchmarks run.
//! Throughput counts the book_top and trade rows of the range in elements per second.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mdkit::book::Book;
use mdkit::calibrate::{
    window, windows, DepthGrid, MarketKey, Settings, Window, LOOKBACK_NS, STRETCH_NS,
};
use mdkit::model::{BookSide, EventTime, RecvTime};
use mdkit::simulate::market::{Market, MarketParams, STEP_MS};
use mdkit::storage::{
    BookTopRow, Rows, Session, Table, TopLevels, TradeRow, Writer, WriterConfig, BOOK_TOP_LEVELS,
};

/// 2026-11-20T00:00:00Z.
const START: i64 = 1_795_132_800_000_000_000;
const MS: i64 = 1_000_000;
const HOUR: i64 = 3_600_000 * MS;
const STEPS: i64 = 24 * 36_000;

fn top_row(book: &Book, ts_ns: i64, seq: i64) -> BookTopRow {
    BookTopRow {
        ts_event: EventTime::from_nanos(ts_ns),
        ts_recv: RecvTime::from_nanos(ts_ns + 3 * MS),
        conn: 1,
        seq,
        snapshot: seq == 1,
        bids: TopLevels::of(book, BookSide::Bid, BOOK_TOP_LEVELS),
        asks: TopLevels::of(book, BookSide::Ask, BOOK_TOP_LEVELS),
    }
}

/// Writes 24 simulated hours; returns (book_top rows, trade rows).
fn simulated_day(root: &Path) -> (usize, usize) {
    let mut market = Market::new(MarketParams::preset("ETH-USD"), 1);
    let writer =
        |table| Writer::new(root, table, "extended", "ETH-USD", WriterConfig::default()).unwrap();
    let (mut tops, mut trades) = (writer(Table::BookTop), writer(Table::Trades));
    let (mut top_rows, mut trade_rows) = (vec![top_row(market.book(), START, 1)], Vec::new());
    let mut counts = (0, 0);
    for k in 1..=STEPS {
        let ts_ns = START + k * STEP_MS * MS;
        let outcome = market.step(ts_ns / MS);
        trade_rows.extend(outcome.trades.iter().map(|t| TradeRow {
            ts_event: t.ts_event,
            ts_recv: RecvTime::from_nanos(ts_ns + 3 * MS),
            conn: 1,
            seq: k + 1,
            trade_id: t.id,
            side: t.side,
            price: t.price,
            qty: t.qty,
            kind: t.kind,
        }));
        top_rows.push(top_row(market.book(), ts_ns, k + 1));
        if top_rows.len() >= 50_000 || k == STEPS {
            counts.0 += top_rows.len();
            counts.1 += trade_rows.len();
            let batch = BookTopRow::to_batch("extended", "ETH-USD", &std::mem::take(&mut top_rows));
            tops.write(&batch).unwrap();
            let batch = TradeRow::to_batch("extended", "ETH-USD", &std::mem::take(&mut trade_rows));
            trades.write(&batch).unwrap();
        }
    }
    tops.close().unwrap();
    trades.close().unwrap();
    counts
}

fn calibration(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (tops, trades) = simulated_day(dir.path());
    eprintln!("24 simulated hours: {tops} book_top rows, {trades} trades");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let session = runtime.block_on(Session::open(dir.path())).unwrap();
    let key = MarketKey { venue: "extended".into(), market: "ETH-USD".into() };
    let day = Window {
        start: EventTime::from_nanos(START),
        end: EventTime::from_nanos(START + 24 * HOUR),
    };
    let settings = Settings {
        sample_interval_ns: 1_000 * MS,
        grid: DepthGrid::for_tick(mdkit::model::Price::parse("0.01").unwrap()).into(),
        min_count: 5,
        lookback_ns: LOOKBACK_NS,
        stretch_ns: STRETCH_NS,
    };

    let mut group = c.benchmark_group("calibrate");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements((tops + trades) as u64));
    group.bench_function("one_24h_window", |b| {
        b.iter(|| {
            let row = runtime.block_on(window(&session.ctx, &key, day, &settings)).unwrap();
            assert!(row.sigma.is_some() && row.bid.kappa.is_some() && row.ask.kappa.is_some());
            black_box(row)
        })
    });
    let rolling = windows(day, HOUR, Some(HOUR));
    assert_eq!(rolling.len(), 24);
    group.bench_function("rolling_24_windows_of_1h", |b| {
        b.iter(|| {
            for w in &rolling {
                black_box(runtime.block_on(window(&session.ctx, &key, *w, &settings)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, calibration);
criterion_main!(benches);
