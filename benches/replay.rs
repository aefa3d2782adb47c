//! Backtest throughput in events per second with the Avellaneda–Stoikov strategy on, one
//! thread, and the replay merge alone as the baseline in the same run.
//!
//! The market is the simulator's ETH-USD (seed 1, σ 0.5, A 2/s, κ 15 per side), stepped
//! 36,000 times (one simulated hour, a frame every 100 ms) and turned into what a recorder
//! writes: a depth snapshot of the first frame, then per step its depth changes, its
//! `book_top` frame and its trades (`ts_recv` = `ts_event` + 3 ms). The strategy gets one
//! recalibration at the start holding the simulator's true σ, A and κ (so it quotes from the
//! first minute; docs/MODEL.md defaults otherwise, but warm-up 60 s and γ 0.001 so that quotes sit
//! near the touch and fill), re-quoting on every book frame, and a sink that only counts.
//!
//! - `engine_in_memory`: the engine on the pre-built event sequence (built, and cloned per
//!   iteration, outside the timed part). The target is ≥ 10 M events/s.
//! - `parquet_end_to_end`: the same hour from a Parquet tree: list, read, decode, merge, engine.
//! - `replay_merge_only`: the Parquet replay without the engine (the baseline: the ratio to
//!   `parquet_end_to_end` is what the engine adds).

use std::convert::Infallible;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mdkit::backtest::engine;
use mdkit::backtest::event::{Clock, Event, MarketSpec, Recalibration};
use mdkit::backtest::replay::{Listings, Source};
use mdkit::backtest::report::{EquitySample, Fill, Sink, SinkError};
use mdkit::backtest::settings::Settings;
use mdkit::model::{EventTime, Price, Qty, RecvTime};
use mdkit::simulate::market::{Market, MarketParams, STEP_MS};
use mdkit::simulate::rows::SimulatedRows;
use mdkit::storage::{
    BookTopRow, CalibrationRow, DepthRow, Rows, SideFit, TradeRow, Writer, WriterConfig,
};

/// 2026-11-20T00:00:00Z.
const START: i64 = 1_795_132_800_000_000_000;
const MS: i64 = 1_000_000;
const STEPS: i64 = 36_000;
const VENUE: &str = "extended";
const MARKET: &str = "ETH-USD";

/// The hour's rows per table, each in receive order.
fn simulated_hour() -> (Vec<DepthRow>, Vec<BookTopRow>, Vec<TradeRow>) {
    let mut market = Market::new(MarketParams::preset(MARKET), 1);
    let mut rows = SimulatedRows::new(3 * MS);
    rows.snapshot(&market, START);
    for k in 1..=STEPS {
        rows.step(&mut market, START + k * STEP_MS * MS, k + 1);
    }
    rows.take()
}

/// The rows as one event sequence in the replay's order.
fn events(depths: &[DepthRow], tops: &[BookTopRow], trades: &[TradeRow]) -> Vec<Event> {
    let mut all: Vec<Event> = depths
        .iter()
        .copied()
        .map(Event::Depth)
        .chain(tops.iter().cloned().map(|t| Event::Top(Box::new(t))))
        .chain(trades.iter().copied().map(Event::Trade))
        .collect();
    all.sort_by_key(Event::order_key);
    all
}

fn write_tree(root: &Path, depths: &[DepthRow], tops: &[BookTopRow], trades: &[TradeRow]) {
    fn one<R: Rows>(root: &Path, rows: &[R]) {
        let mut w = Writer::new(root, R::TABLE, VENUE, MARKET, WriterConfig::default()).unwrap();
        for chunk in rows.chunks(100_000) {
            w.write(&R::to_batch(VENUE, MARKET, chunk)).unwrap();
        }
        w.close().unwrap();
    }
    one(root, depths);
    one(root, tops);
    one(root, trades);
}

/// The simulator's truth as the one fit the strategy uses, from the start on.
fn truth() -> Vec<Recalibration> {
    let p = MarketParams::preset(MARKET);
    let side = |a: f64, kappa: f64| SideFit {
        kappa: Some(kappa),
        a: Some(a),
        r2: Some(1.0),
        points: 20,
        orders: 1000,
        reason: None,
        quality: None,
    };
    vec![Recalibration {
        at: RecvTime::from_nanos(START),
        fit: CalibrationRow {
            window_start: EventTime::from_nanos(START - 3_600_000 * MS),
            window_end: EventTime::from_nanos(START),
            sigma: Some(p.sigma),
            mid_samples: 3600,
            trades: 7200,
            bid: side(p.a_bid, p.kappa_bid),
            ask: side(p.a_ask, p.kappa_ask),
            written_at: None,
            settings: None,
        },
    }]
}

/// Counts what the engine streams, and keeps nothing.
#[derive(Default)]
struct Count {
    fills: u64,
    samples: u64,
}

impl Sink for Count {
    fn fill(&mut self, _: &Fill) -> Result<(), SinkError> {
        self.fills += 1;
        Ok(())
    }
    fn equity(&mut self, _: &EquitySample) -> Result<(), SinkError> {
        self.samples += 1;
        Ok(())
    }
}

fn replay(c: &mut Criterion) {
    let (depths, tops, trades) = simulated_hour();
    let sequence = events(&depths, &tops, &trades);
    let n = sequence.len() as u64;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &depths, &tops, &trades);
    eprintln!(
        "one simulated hour: {n} events ({} depth rows, {} book_top frames, {} trades)",
        depths.len(),
        tops.len(),
        trades.len()
    );
    drop((depths, tops, trades));
    let spec = MarketSpec {
        tick: Price::parse("0.01").unwrap(),
        lot: Qty::parse("0.001").unwrap(),
        contract: mdkit::model::contract::Contract::LINEAR_1,
    };
    let mut settings = Settings::default();
    settings.set("warmup", "60").unwrap();
    // γ = 0.001 quotes about 30 ticks from mid on this market, so orders fill and the
    // exchange's fill path is exercised (docs/MODEL.md's 0.1 quotes 45.00 away and never fills).
    settings.set("gamma", "0.001").unwrap();
    let recalibrations = truth();
    let mut sink = Count::default();
    let summary = engine::run(
        sequence.iter().cloned().map(Ok::<_, Infallible>),
        spec,
        &settings,
        &recalibrations,
        &mut sink,
    )
    .unwrap();
    eprintln!(
        "AS strategy over the hour: {} orders sent, {} fills, {} equity samples",
        summary.orders_sent, sink.fills, sink.samples
    );
    let source = Source {
        venue: VENUE.into(),
        market: MARKET.into(),
        from: RecvTime::from_nanos(START),
        to: RecvTime::from_nanos(START + (STEPS + 1) * STEP_MS * MS),
        clock: Clock::Recv,
    };
    let listings = Listings::open(dir.path(), &source).unwrap();

    let mut group = c.benchmark_group("replay");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(n));
    group.bench_function("engine_in_memory", |b| {
        b.iter_batched(
            || sequence.clone(),
            |events| {
                let mut sink = Count::default();
                let summary = engine::run(
                    events.into_iter().map(Ok::<_, Infallible>),
                    spec,
                    &settings,
                    &recalibrations,
                    &mut sink,
                )
                .unwrap();
                black_box((summary, sink.fills, sink.samples))
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("parquet_end_to_end", |b| {
        b.iter(|| {
            let mut sink = Count::default();
            let summary =
                engine::run(listings.replay(), spec, &settings, &recalibrations, &mut sink)
                    .unwrap();
            assert_eq!(summary.events, n);
            black_box((summary, sink.fills))
        })
    });
    group.bench_function("replay_merge_only", |b| {
        b.iter(|| {
            let mut count = 0u64;
            for event in listings.replay() {
                black_box(event.unwrap());
                count += 1;
            }
            assert_eq!(count, n);
        })
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
