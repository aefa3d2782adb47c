//! `mdkit import --format hftbacktest-raw` end to end on the real Binance USD-M capture
//! (`../shared/realdata/hftbacktest-binance/usdm/btcusdt_20240808.gz`, 93,954 lines: 6,551
//! diff-depth, 21,313 trade, 66,089 bookTicker frames and one REST snapshot): gunzip, split
//! lines, parse, splice and chain, book, rows, Parquet (ZSTD 3), state file. Throughput is
//! in lines (frames) per second. Skipped with a message when the shared tree is absent.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mdkit::import::{import_raw, Config};
use mdkit::record::MarketConfig;

const LINES: u64 = 93_954;

fn capture() -> Option<PathBuf> {
    let shared = std::env::var_os("MDKIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = shared.join("realdata/hftbacktest-binance/usdm/btcusdt_20240808.gz");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found (set MDKIT_SHARED to the shared tree)", path.display());
        None
    }
}

fn import(c: &mut Criterion) {
    let Some(path) = capture() else { return };
    let config = Config {
        venue: None,
        market: None,
        replace: false,
        market_config: MarketConfig::default(),
        progress: false,
        contract: None,
    };
    let mut group = c.benchmark_group("import");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(LINES));
    group.bench_function("hftbacktest_raw_usdm_btcusdt", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |dir| {
                let imported =
                    import_raw(dir.path(), std::slice::from_ref(&path), &config).expect("import");
                assert_eq!(imported[0].lines, LINES);
                dir
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
