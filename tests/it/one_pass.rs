//! The backtester's one-pass recalibration (`schedule::one_pass`, src/estimate/rows.rs)
//! against the definition, `sql/*.sql` run by DataFusion one window at a time
//! (`Calibrator::schedule`): every field of every fit equal, floats to 1e-12, on the
//! simulator's market, on a tree whose receive clock is shuffled against the venue's (rows
//! arriving late and out of event order, across fit times), on the shipped real BTCUSDT
//! sample, and with a depth grid that is set rather than chosen from the data.

use std::path::Path;

use mdkit::backtest::calibration_settings;
use mdkit::backtest::event::{MarketSpec, Recalibration};
use mdkit::backtest::replay::Recording;
use mdkit::backtest::schedule::{one_pass, Calibrator, Plan};
use mdkit::calibrate::MarketKey;
use mdkit::estimate::{DepthGrid, GridSpec, Settings};
use mdkit::model::contract::Contract;
use mdkit::model::{Price, Qty, RecvTime};
use mdkit::simulate::market::{Market, MarketParams};
use mdkit::simulate::rows::SimulatedRows;
use mdkit::storage::{BookTopRow, Rows, Session, SideFit, TradeRow};

use crate::calibrate::{simulated_tree, write, T0, VENUE};
use crate::common::SEC;

const MS: i64 = 1_000_000;

fn spec(tick: &str) -> MarketSpec {
    MarketSpec {
        tick: Price::parse(tick).unwrap(),
        lot: Qty::parse("0.001").unwrap(),
        contract: Contract::LINEAR_1,
    }
}

/// Both schedules of `plan` over the tree at `root`.
fn both(
    root: &Path,
    key: &MarketKey,
    settings: Settings,
    plan: Plan,
) -> (Vec<Recalibration>, Vec<Recalibration>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sql = runtime.block_on(async {
        let session = Session::open(root).await.unwrap();
        let calibrator = Calibrator::new(&session.ctx, key.clone(), settings).await.unwrap();
        calibrator.schedule(&plan, |_, _| {}).await.unwrap()
    });
    let recording = Recording::list(root, &key.venue, &key.market).unwrap();
    let rust = one_pass(&recording, key, &settings, &plan, |_, _| {}).unwrap();
    (sql, rust)
}

fn close(a: Option<f64>, b: Option<f64>, what: &str, at: RecvTime) {
    match (a, b) {
        (Some(x), Some(y)) => assert!(
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1e-300),
            "{what} at {at}: SQL {x} vs one pass {y}"
        ),
        (x, y) => assert_eq!(x, y, "{what} at {at}"),
    }
}

fn same_side(a: &SideFit, b: &SideFit, side: &str, at: RecvTime) {
    close(a.kappa, b.kappa, &format!("{side} kappa"), at);
    close(a.a, b.a, &format!("{side} A"), at);
    close(a.r2, b.r2, &format!("{side} r2"), at);
    assert_eq!(
        (a.points, a.orders, &a.reason, a.quality),
        (b.points, b.orders, &b.reason, b.quality),
        "{side} at {at}"
    );
}

/// Every fit equal; returns how many had a κ on both sides (so a test can require some).
fn assert_same(sql: &[Recalibration], rust: &[Recalibration]) -> usize {
    assert_eq!(sql.len(), rust.len());
    let mut fitted = 0;
    for (a, b) in sql.iter().zip(rust) {
        let at = a.at;
        assert_eq!(a.at, b.at);
        let (a, b) = (&a.fit, &b.fit);
        assert_eq!((a.window_start, a.window_end), (b.window_start, b.window_end), "at {at}");
        close(a.sigma, b.sigma, "sigma", at);
        assert_eq!((a.mid_samples, a.trades), (b.mid_samples, b.trades), "at {at}");
        assert_eq!(a.settings, b.settings, "grid and settings at {at}");
        same_side(&a.bid, &b.bid, "bid", at);
        same_side(&a.ask, &b.ask, "ask", at);
        fitted += usize::from(a.bid.kappa.is_some() && a.ask.kappa.is_some());
    }
    fitted
}

fn key(venue: &str, market: &str) -> MarketKey {
    MarketKey { venue: venue.into(), market: market.into() }
}

#[test]
fn one_pass_equals_the_sql_on_the_simulators_market() {
    let dir = tempfile::tempdir().unwrap();
    simulated_tree(dir.path(), MarketParams::preset("ETH-USD"), 11, T0, 12_000);
    let key = key(VENUE, "ETH-USD");
    // From the first frame, and from a later start whose first windows reach back before it.
    for (from, window) in [(T0, 300), (T0 + 400 * SEC, 240)] {
        let plan = Plan {
            from: RecvTime::from_nanos(from),
            to: RecvTime::from_nanos(T0 + 1_200 * SEC),
            window_ns: window * SEC,
            interval_ns: 45 * SEC,
        };
        let settings = calibration_settings(spec("0.01"), plan.window_ns);
        let (sql, rust) = both(dir.path(), &key, settings, plan);
        assert!(sql.len() >= 17, "{} fits", sql.len());
        let fitted = assert_same(&sql, &rust);
        assert!(
            fitted >= sql.len() / 2,
            "only {fitted} of {} fits have κ on both sides",
            sql.len()
        );
        // A set grid, and 200 ms samples.
        let set = Settings {
            grid: GridSpec::Set(DepthGrid {
                start: Price::parse("0.005").unwrap(),
                step: Price::parse("0.02").unwrap(),
                levels: 12,
            }),
            sample_interval_ns: 200 * MS,
            ..settings
        };
        let (sql, rust) = both(dir.path(), &key, set, plan);
        assert_same(&sql, &rust);
        // Read in stretches of 31 s (cut at 200 ms grid points): the same numbers.
        let stretched = Settings { stretch_ns: 31 * SEC, ..set };
        let (sql, _) = both(dir.path(), &key, stretched, plan);
        assert_same(&sql, &rust);
    }
}

/// The simulator's ETH-USD rows for `steps` steps of 100 ms from T0 (3 ms receive delay).
fn simulated(seed: u64, steps: i64) -> SimulatedRows {
    let mut market = Market::new(MarketParams::preset("ETH-USD"), seed);
    let mut rows = SimulatedRows::new(3 * MS);
    rows.snapshot(&market, T0);
    for k in 1..=steps {
        rows.step(&mut market, T0 + k * 100 * MS, k + 1);
    }
    rows
}

/// The simulator's rows with each one's receive time moved by a deterministic pseudo-random
/// delay of −40 ms to +3 s (so rows arrive out of venue-time order, some before they happened,
/// and some after fit times that their venue time precedes), written in receive order.
fn shuffled_tree(root: &Path, steps: i64) {
    let rows = simulated(23, steps);
    let delay = |i: usize| -> i64 {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        (h % 3_040) as i64 * MS - 40 * MS
    };
    let mut tops: Vec<BookTopRow> = rows.book_top.clone();
    for (i, t) in tops.iter_mut().enumerate() {
        t.ts_recv = mdkit::model::RecvTime::from_nanos(t.ts_event.as_nanos() + delay(i));
    }
    tops.sort_by_key(|t| (t.ts_recv, t.seq));
    let mut trades: Vec<TradeRow> = rows.trades.clone();
    for (i, t) in trades.iter_mut().enumerate() {
        t.ts_recv = mdkit::model::RecvTime::from_nanos(t.ts_event.as_nanos() + delay(i + 7));
    }
    trades.sort_by_key(|t| (t.ts_recv, t.seq));
    write(root, "ETH-USD", &tops);
    write(root, "ETH-USD", &trades);
}

#[test]
fn one_pass_equals_the_sql_when_rows_arrive_late_and_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    shuffled_tree(dir.path(), 9_000);
    let key = key(VENUE, "ETH-USD");
    let plan = Plan {
        from: RecvTime::from_nanos(T0 + 60 * SEC),
        to: RecvTime::from_nanos(T0 + 900 * SEC),
        // Fit times every 7.3 s fall inside the 3-second arrival spread of many rows.
        window_ns: 120 * SEC,
        interval_ns: 7_300 * MS,
    };
    let settings = calibration_settings(spec("0.01"), plan.window_ns);
    let (sql, rust) = both(dir.path(), &key, settings, plan);
    assert!(sql.len() > 100);
    let fitted = assert_same(&sql, &rust);
    assert!(fitted > 50, "only {fitted} fits have κ on both sides");
}

#[test]
fn one_pass_equals_the_sql_on_the_shipped_btcusdt_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let key = key("binance-spot", "BTCUSDT");
    let book = mdkit::storage::list(
        &root,
        mdkit::storage::Table::BookTop,
        &mdkit::storage::Selection::default(),
    )
    .unwrap();
    let (first, last) = mdkit::backtest::replay::receive_span(&book).unwrap();
    // The schedule a default run sizes to the 11-minute sample, and a denser one.
    for (window, every) in [(198, 66), (120, 15)] {
        let plan = Plan {
            from: first,
            to: last.saturating_add_nanos(1),
            window_ns: window * SEC,
            interval_ns: every * SEC,
        };
        let settings = calibration_settings(spec("0.01"), plan.window_ns);
        let (sql, rust) = both(&root, &key, settings, plan);
        assert!(sql.len() >= 10);
        let fitted = assert_same(&sql, &rust);
        assert!(fitted >= 3, "only {fitted} fits have κ on both sides");
    }
}

/// The simulator's rows with the book silent for 70 minutes while trades go on (tens of
/// thousands of orders in a row with no frame between them, several of DataFusion's batches),
/// and every fourth frame sharing its venue time with the frame before it (so frames of one
/// `ts_event` are ranked by receive time).
fn gapped_tree(root: &Path, steps: i64) {
    let rows = simulated(31, steps);
    let silent = T0 + 600 * SEC..T0 + 4_800 * SEC;
    let mut tops: Vec<BookTopRow> =
        rows.book_top.into_iter().filter(|t| !silent.contains(&t.ts_event.as_nanos())).collect();
    for i in (4..tops.len()).step_by(4) {
        tops[i].ts_event = tops[i - 1].ts_event;
    }
    write(root, "ETH-USD", &tops);
    write(root, "ETH-USD", &rows.trades);
}

#[test]
fn one_pass_equals_the_sql_across_a_long_book_gap() {
    let dir = tempfile::tempdir().unwrap();
    gapped_tree(dir.path(), 54_000);
    let key = key(VENUE, "ETH-USD");
    let plan = Plan {
        from: RecvTime::from_nanos(T0 + 300 * SEC),
        to: RecvTime::from_nanos(T0 + 5_300 * SEC),
        window_ns: 4_500 * SEC,
        interval_ns: 250 * SEC,
    };
    let settings = calibration_settings(spec("0.01"), plan.window_ns);
    let (sql, rust) = both(dir.path(), &key, settings, plan);
    assert!(sql.len() >= 2);
    let fitted = assert_same(&sql, &rust);
    assert!(fitted >= 1, "no fit has κ on both sides");
    // Read in 5-minute stretches: fourteen of them in the gap have no frame, so the frame the
    // orders after the gap are measured from is carried across them.
    let stretched = Settings { stretch_ns: 300 * SEC, ..settings };
    let (sql, _) = both(dir.path(), &key, stretched, plan);
    assert_same(&sql, &rust);
}

/// The rows write back as the tables hold them (a check on the test's own tree).
#[test]
fn the_shuffled_tree_is_stored_in_receive_order() {
    let dir = tempfile::tempdir().unwrap();
    shuffled_tree(dir.path(), 600);
    let listing = mdkit::storage::list(
        dir.path(),
        mdkit::storage::Table::Trades,
        &mdkit::storage::Selection::default(),
    )
    .unwrap();
    let mut last = i64::MIN;
    let mut out_of_event_order = 0;
    let mut last_event = i64::MIN;
    for batch in listing.scan() {
        for row in TradeRow::from_batch(&batch.unwrap()).unwrap() {
            assert!(row.ts_recv.as_nanos() >= last);
            last = row.ts_recv.as_nanos();
            out_of_event_order += usize::from(row.ts_event.as_nanos() < last_event);
            last_event = last_event.max(row.ts_event.as_nanos());
        }
    }
    assert!(out_of_event_order > 10, "{out_of_event_order} trades out of venue-time order");
}
