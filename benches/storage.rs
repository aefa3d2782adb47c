//! Parquet write and read throughput for `depth` and `trades` at ZSTD(3), one thread.
//!
//! Rows are seeded and shaped like a real recording: a 20-level book around 3000.00 with a
//! 0.01 tick, a frame every 100 ms, sizes on a 0.001 lot grid. Writing includes building the
//! Arrow batches from typed rows (what the recorder does); reading streams every column of
//! every row back through the reader's listing and scan.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

mod common;

use common::Rng;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mdkit::model::{BookSide, EventTime, Price, Qty, RecvTime, TakerSide, TradeKind};
use mdkit::storage::{list, DepthRow, Rows, Selection, Table, TradeRow, Writer, WriterConfig};

const ROWS: usize = 1_000_000;
const START: i64 = 1_795_132_800_000_000_000;

fn depth_rows(n: usize) -> Vec<DepthRow> {
    let mut rng = Rng(7);
    let mut rows = Vec::with_capacity(n);
    let mut seq = 0i64;
    let mut mid = 300_000i64; // in ticks of 0.01
    while rows.len() < n {
        seq += 1;
        let t = START + seq * 100_000_000;
        mid += (rng.next() % 3) as i64 - 1;
        let snapshot = seq % 600 == 1;
        let levels = if snapshot { 40 } else { 1 + (rng.next() % 8) as usize };
        for l in 0..levels {
            let side = if l % 2 == 0 { BookSide::Bid } else { BookSide::Ask };
            let depth = (l / 2) as i64 + (rng.next() % 20) as i64 * i64::from(!snapshot);
            let ticks = if side == BookSide::Bid { mid - 1 - depth } else { mid + 1 + depth };
            rows.push(DepthRow {
                ts_event: EventTime::from_nanos(t - 1_200_000_000),
                ts_recv: RecvTime::from_nanos(t + (rng.next() % 1_000_000) as i64),
                conn: 1,
                seq,
                snapshot,
                side,
                price: Price::from_raw(ticks * 1_000_000),
                qty: Qty::from_raw((rng.next() % 5000) as i64 * 100_000),
            });
        }
    }
    rows.truncate(n);
    rows
}

fn trade_rows(n: usize) -> Vec<TradeRow> {
    let mut rng = Rng(11);
    (0..n)
        .map(|i| {
            let t = START + i as i64 * 50_000_000;
            TradeRow {
                ts_event: EventTime::from_nanos(t - 1_200_000_000),
                ts_recv: RecvTime::from_nanos(t),
                conn: 1,
                seq: i as i64 / 3,
                trade_id: 2_103_821_900_219_158_529 + i as i64,
                side: if rng.next().is_multiple_of(2) { TakerSide::Buy } else { TakerSide::Sell },
                price: Price::from_raw((300_000 + (rng.next() % 200) as i64 - 100) * 1_000_000),
                qty: Qty::from_raw((1 + rng.next() % 2000) as i64 * 100_000),
                kind: TradeKind::Trade,
            }
        })
        .collect()
}

/// Writes rows in recorder-sized batches (one frame's worth is tiny; the writer coalesces).
fn write<R: Rows>(root: &Path, rows: &[R]) {
    let mut writer = Writer::new(root, R::TABLE, "extended", "ETH-USD", WriterConfig::default())
        .expect("writer");
    for chunk in rows.chunks(8192) {
        writer.write(&R::to_batch("extended", "ETH-USD", chunk)).expect("write");
    }
    writer.close().expect("close");
}

fn read_all(root: &Path, table: Table) -> usize {
    let listing = list(root, table, &Selection::default()).expect("list");
    listing.scan().map(|b| b.expect("batch").num_rows()).sum()
}

fn bench_table<R: Rows>(c: &mut Criterion, name: &str, rows: Vec<R>) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("write_zstd3", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| write(dir.path(), black_box(&rows)),
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), &rows);
    let table = R::TABLE;
    group.bench_function("read", |b| {
        b.iter(|| assert_eq!(read_all(black_box(dir.path()), table), rows.len()))
    });
    group.finish();
}

fn storage(c: &mut Criterion) {
    bench_table(c, "depth", depth_rows(ROWS));
    bench_table(c, "trades", trade_rows(ROWS));
}

criterion_group!(benches, storage);
criterion_main!(benches);
