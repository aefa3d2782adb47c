//! The recorder's hot path on one core, fed from memory: journal append → parse → sequence
//! check → book → `depth`/`book_top` rows → Parquet (ZSTD 3), with the final checkpoint.
//!
//! Frames are Extended v1 text as the venue spells it: one 50-level SNAPSHOT, then DELTAs
//! that each change 10 levels (5 bids, 5 asks, `q` and `c`) near the top of the book, one
//! every 100 ms of venue time. Target: ≥ 10k delta frames/s, 70× the busiest live market
//! (≈ 140 frames/s); issue 4's 250k was withdrawn by issue 18.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

mod common;

use common::Rng;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mdkit::model::RecvTime;
use mdkit::record::{Market, MarketConfig};
use mdkit::storage::{Entry, Stream};
use mdkit::venue::Venue;

const FRAMES: usize = 200_000;
const START_MS: i64 = 1_795_132_800_000;

fn price(ticks: i64) -> String {
    format!("{}.{:02}", ticks / 100, ticks % 100)
}

/// A snapshot and `n - 1` ten-level deltas, as wire text.
fn frames(n: usize) -> Vec<String> {
    let mut rng = Rng(42);
    let mid = 300_000i64;
    let mut out = Vec::with_capacity(n);
    let mut snapshot =
        String::from(r#"{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":["#);
    for i in 0..50 {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(snapshot, r#"{sep}{{"p":"{}","q":"1.000"}}"#, price(mid - 1 - i));
    }
    snapshot.push_str(r#"],"a":["#);
    for i in 0..50 {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(snapshot, r#"{sep}{{"p":"{}","q":"1.000"}}"#, price(mid + 1 + i));
    }
    let _ = write!(snapshot, r#"],"d":"f"}},"ts":{START_MS},"seq":1}}"#);
    out.push(snapshot);
    for seq in 2..=n as u64 {
        let mut side = |sign: i64| {
            let mut text = String::new();
            for k in 0..5 {
                let level = mid + sign * (1 + (rng.next() % 10) as i64 + k * 10);
                let size = 1 + rng.next() % 3000;
                let sep = if k > 0 { "," } else { "" };
                let _ = write!(
                    text,
                    r#"{sep}{{"p":"{}","q":"0.001","c":"{}.{:03}"}}"#,
                    price(level),
                    size / 1000,
                    size % 1000
                );
            }
            text
        };
        let (bids, asks) = (side(-1), side(1));
        let ts = START_MS + seq as i64 * 100;
        out.push(format!(
            r#"{{"type":"DELTA","data":{{"t":"DELTA","m":"ETH-USD","b":[{bids}],"a":[{asks}],"d":"f"}},"ts":{ts},"seq":{seq}}}"#
        ));
    }
    out
}

fn record(c: &mut Criterion) {
    let frames = frames(FRAMES);
    let mut group = c.benchmark_group("record");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("extended_v1_10_level_deltas", |b| {
        b.iter_batched(
            // The frames arrive owned, as they leave the socket: the copy is not timed.
            || (tempfile::tempdir().expect("temp dir"), frames.clone()),
            |(dir, texts)| {
                let t0 = RecvTime::from_nanos(START_MS * 1_000_000);
                let config = MarketConfig::default();
                let (mut market, _) =
                    Market::open(dir.path(), Venue::Extended, "ETH-USD", config, t0).expect("open");
                let url = "ws://bench/orderbooks/ETH-USD".to_owned();
                let connect = Entry::Connect { conn: 1, stream: Stream::Book, url };
                market.handle(t0, connect).expect("connect");
                for (i, text) in texts.into_iter().enumerate() {
                    let ts =
                        RecvTime::from_nanos((START_MS + i as i64 * 100) * 1_000_000 + 5_000_000);
                    let frame = Entry::Frame { conn: 1, text };
                    black_box(market.handle(ts, frame).expect("frame"));
                }
                market.close().expect("close");
                dir
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
