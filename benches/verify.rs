//! `mdkit verify` throughput in depth rows per second, one thread.
//!
//! The recording is seeded and shaped like a live one: a book of about 50 levels a side with
//! a 0.01 tick, a frame every 100 ms changing 1–8 levels, a full snapshot every 600 frames,
//! `book_top` of 20 levels per frame built by the shared `Book`, so the replay finds no fault.
//! *replay* runs the whole book pass (join, sequence, replay, top comparison, clocks) over
//! batches already in memory: the hot path the issue-5 target (10 M rows/s) is about.
//! *tree* runs `verify` end to end over the same rows written as Parquet parts.

use std::hint::black_box;
use std::time::Duration;

use arrow::array::RecordBatch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mdkit::book::Book;
use mdkit::model::{BookFrame, BookSide, EventTime, FrameKind, Level, Price, Qty, RecvTime};
use mdkit::storage::{
    stored_batch, BookTopRow, DepthRow, Rows, StorageError, Table, TimeRange, TopLevels, Writer,
    WriterConfig, BATCH_ROWS, BOOK_TOP_LEVELS,
};
use mdkit::verify::checks::cursor::{Batches, PartTicker};
use mdkit::verify::checks::{pass, PassConfig, PassInput};
use mdkit::verify::findings::Findings;
use mdkit::verify::{verify, Config};

const DEPTH_ROWS: usize = 1_000_000;
const START: i64 = 1_795_132_800_000_000_000;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn recording(n: usize) -> (Vec<DepthRow>, Vec<BookTopRow>) {
    let mut rng = Rng(7);
    let mut book = Book::new();
    let (mut depth, mut tops) = (Vec::with_capacity(n), Vec::new());
    let mut seq = 0i64;
    let mid = 300_000i64;
    let level = |ticks: i64, lots: u64| {
        Level::new(Price::from_raw(ticks * 1_000_000), Qty::from_raw(lots as i64 * 100_000))
    };
    while depth.len() < n {
        seq += 1;
        let t = START + seq * 100_000_000;
        let (kind, bids, asks) = if seq > 1 && seq % 600 == 1 {
            // The minutely snapshot: the venue's book, which the deltas have kept exact.
            (FrameKind::Snapshot, book.top(BookSide::Bid, 1000), book.top(BookSide::Ask, 1000))
        } else if seq == 1 {
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            for d in 0..50 {
                bids.push(level(mid - 1 - d, 1 + rng.next() % 5000));
                asks.push(level(mid + 1 + d, 1 + rng.next() % 5000));
            }
            (FrameKind::Snapshot, bids, asks)
        } else {
            let (mut bids, mut asks) = (Vec::new(), Vec::new());
            for _ in 0..1 + rng.next() % 8 {
                let d = (rng.next() % 50) as i64;
                let lots = if rng.next().is_multiple_of(10) { 0 } else { 1 + rng.next() % 5000 };
                if rng.next().is_multiple_of(2) {
                    bids.push(level(mid - 1 - d, lots));
                } else {
                    asks.push(level(mid + 1 + d, lots));
                }
            }
            // A level named twice in one frame is a fault verify reports; keep one of each.
            bids.sort_by_key(|l| l.price);
            bids.dedup_by_key(|l| l.price);
            asks.sort_by_key(|l| l.price);
            asks.dedup_by_key(|l| l.price);
            (FrameKind::Delta, bids, asks)
        };
        let ts_event = EventTime::from_nanos(t - 1_200_000_000);
        let frame =
            BookFrame { market: "ETH-USD".into(), kind, seq: seq as u64, ts_event, bids, asks };
        book.apply(&frame).expect("valid frame");
        let ts_recv = RecvTime::from_nanos(t);
        let snapshot = kind == FrameKind::Snapshot;
        for (side, levels) in [(BookSide::Bid, &frame.bids), (BookSide::Ask, &frame.asks)] {
            for l in levels {
                depth.push(DepthRow {
                    ts_event,
                    ts_recv,
                    conn: 1,
                    seq,
                    snapshot,
                    side,
                    price: l.price,
                    qty: l.qty,
                });
            }
        }
        tops.push(BookTopRow {
            ts_event,
            ts_recv,
            conn: 1,
            seq,
            snapshot,
            bids: TopLevels::of(&book, BookSide::Bid, BOOK_TOP_LEVELS),
            asks: TopLevels::of(&book, BookSide::Ask, BOOK_TOP_LEVELS),
        });
    }
    (depth, tops)
}

fn batches<R: Rows>(rows: &[R]) -> Vec<RecordBatch> {
    rows.chunks(BATCH_ROWS).map(|c| R::to_batch("extended", "ETH-USD", c)).collect()
}

/// The batches as verify's scan hands them to the pass: in their stored types.
fn stored(batches: &[RecordBatch]) -> Vec<RecordBatch> {
    batches.iter().map(|b| stored_batch(b).expect("stored types")).collect()
}

fn source(batches: &[RecordBatch]) -> (Batches, PartTicker) {
    let owned: Vec<Result<RecordBatch, StorageError>> = batches.iter().cloned().map(Ok).collect();
    (Box::new(owned.into_iter()), PartTicker::default())
}

fn bench(c: &mut Criterion) {
    let (depth, tops) = recording(DEPTH_ROWS);
    let (depth_batches, top_batches) = (batches(&depth), batches(&tops));
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(depth.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    let config = PassConfig { tolerance_bps: 50, ..PassConfig::default() };
    let (depth_in, top_in) = (stored(&depth_batches), stored(&top_batches));
    group.bench_function("replay", |b| {
        b.iter(|| {
            let input = PassInput {
                book_top: source(&top_in),
                depth: source(&depth_in),
                trades: source(&[]),
            };
            let mut f = Findings::new(5);
            let result = pass(black_box(input), config.clone(), &mut f).expect("pass");
            assert_eq!(f.violations(), 0, "{:?}", f.iter().next());
            result.book.depth_rows
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    for (table, batches) in [(Table::Depth, &depth_batches), (Table::BookTop, &top_batches)] {
        let mut writer =
            Writer::new(dir.path(), table, "extended", "ETH-USD", WriterConfig::default())
                .expect("writer");
        for batch in batches.iter() {
            writer.write(batch).expect("write");
        }
        writer.close().expect("close");
    }
    let config = Config {
        venue: None,
        market: None,
        range: TimeRange::ALL,
        tolerance_bps: 50,
        examples: 5,
        progress: false,
    };
    group.bench_function("tree", |b| {
        b.iter(|| {
            let report = verify(black_box(dir.path()), &config).expect("verify");
            // No events in this tree: its one connection lacks a connect row.
            assert_eq!(report.markets[0].rows["depth"], depth.len() as u64);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
