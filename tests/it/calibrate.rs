//! `mdkit calibrate`: each `sql/*.sql` against numbers worked out by hand on small trees built
//! here, recovery of the simulator's true σ, A and κ from two simulated hours, and bad input.

use std::path::Path;

use mdkit::calibrate::{
    fit, intensity, volatility, DepthGrid, IntensityPoint, MarketKey, Settings, Window, STRETCH_NS,
};
use mdkit::model::{BookSide, EventTime, Level, Price, Qty, RecvTime, TakerSide, TradeKind};
use mdkit::simulate::market::{Market, MarketParams, STEP_MS};
use mdkit::simulate::rows::SimulatedRows;
use mdkit::storage::{
    BookTopRow, CalibrationRow, DepthRow, Rows, Session, Table, TradeRow, Writer, WriterConfig,
};

use crate::common::{mdkit, stderr, stdout, DAY_20, SEC};

pub const VENUE: &str = "extended";
/// 2026-11-20T13:00:00Z.
pub const T0: i64 = DAY_20 + 13 * 3600 * SEC;
const MS: i64 = 1_000_000;

pub fn p(text: &str) -> Price {
    Price::parse(text).unwrap()
}

/// A book frame with one level per side (ts_recv 5 ms after ts_event).
pub fn frame(ts: i64, seq: i64, bid: &str, ask: &str) -> BookTopRow {
    BookTopRow {
        ts_event: EventTime::from_nanos(ts),
        ts_recv: RecvTime::from_nanos(ts + 5 * MS),
        conn: 1,
        seq,
        snapshot: seq == 1,
        bids: vec![Level::new(p(bid), Qty::from_raw(100_000_000))].into(),
        asks: vec![Level::new(p(ask), Qty::from_raw(100_000_000))].into(),
    }
}

pub fn trade(ts: i64, id: i64, side: TakerSide, price: &str) -> TradeRow {
    TradeRow {
        ts_event: EventTime::from_nanos(ts),
        ts_recv: RecvTime::from_nanos(ts + 5 * MS),
        conn: 1,
        seq: id,
        trade_id: id,
        side,
        price: p(price),
        qty: Qty::from_raw(1_000_000),
        kind: TradeKind::Trade,
    }
}

/// Writes one table's rows for `market` with the default writer.
pub fn write<R: Rows>(root: &Path, market: &str, rows: &[R]) {
    let mut writer = Writer::new(root, R::TABLE, VENUE, market, WriterConfig::default()).unwrap();
    writer.write(&R::to_batch(VENUE, market, rows)).unwrap();
    writer.close().unwrap();
}

fn key(market: &str) -> MarketKey {
    MarketKey { venue: VENUE.into(), market: market.into() }
}

fn window(start: i64, end: i64) -> Window {
    Window { start: EventTime::from_nanos(start), end: EventTime::from_nanos(end) }
}

fn settings(interval_ns: i64, grid: DepthGrid, lookback_ns: i64) -> Settings {
    Settings {
        sample_interval_ns: interval_ns,
        grid: grid.into(),
        min_count: 5,
        lookback_ns,
        stretch_ns: STRETCH_NS,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

/// volatility.sql on five grid points, by hand.
#[tokio::test]
async fn volatility_sql_matches_the_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ETH-USD",
        &[
            frame(T0 - 2 * SEC, 1, "99", "101"), // mid 100, before the window
            frame(T0 + 1500 * MS, 2, "100", "102"), // mid 101, bucket of g2
            frame(T0 + 1800 * MS, 3, "101", "103"), // mid 102, the last frame before g2
            frame(T0 + 3 * SEC, 4, "99.5", "100.5"), // mid 100, exactly at g3: counts
            frame(T0 + 4500 * MS, 5, "199", "201"), // after the last grid point g4
        ],
    );
    let session = Session::open(dir.path()).await.unwrap();
    let grid = DepthGrid::for_tick(p("0.01"));
    // Window [T0, T0 + 5 s), Δt = 1 s: grid g0..g4 = T0 .. T0 + 4 s.
    // Mid on the grid: 100, 100, 102, 100, 100 (g0 and g1 from the frame at T0 − 2 s).
    // Returns: 0, ln 1.02, ln(100/102) = −ln 1.02, 0 → mean 0,
    // stddev_samp = √((2·ln²1.02) / 3) = ln 1.02 · √(2/3) = 0.0198026273 · 0.8164965809
    // = 0.0161688…; mean mid = 502 / 5 = 100.4; σ = 0.0161688… / √1 · 100.4 = 1.623345…
    let want = 1.02f64.ln() * (2.0f64 / 3.0).sqrt() * 100.4;
    let vol = volatility(
        &session.ctx,
        &key("ETH-USD"),
        window(T0, T0 + 5 * SEC),
        &settings(SEC, grid, 3600 * SEC),
    )
    .await
    .unwrap();
    assert!((want - 1.623345).abs() < 1e-6, "{want}");
    assert!(close(vol.sigma.unwrap(), want), "{vol:?} vs {want}");
    assert_eq!((vol.mid_samples, vol.returns), (5, 4));
    assert!(close(vol.mean_mid.unwrap(), 100.4));

    // Without a lookback the frame at T0 − 2 s is out of reach: g0 and g1 have no mid and are
    // skipped. Mids 102, 100, 100; returns −ln 1.02, 0; mean −ln1.02/2;
    // stddev_samp = √(2 · (ln1.02/2)²) = ln 1.02 / √2; mean mid = 302/3.
    let vol = volatility(
        &session.ctx,
        &key("ETH-USD"),
        window(T0, T0 + 5 * SEC),
        &settings(SEC, grid, 0),
    )
    .await
    .unwrap();
    let want = 1.02f64.ln() / 2f64.sqrt() * (302.0 / 3.0);
    assert!(close(vol.sigma.unwrap(), want), "{vol:?} vs {want}");
    assert_eq!((vol.mid_samples, vol.returns), (3, 2));

    // Δt = 2 s: grid T0, T0+2, T0+4 → mids 100, 102, 100; returns ±ln 1.02, mean 0;
    // stddev_samp = √2 · ln 1.02; σ = that / √2 · (302/3) = ln 1.02 · 302/3.
    let vol = volatility(
        &session.ctx,
        &key("ETH-USD"),
        window(T0, T0 + 5 * SEC),
        &settings(2 * SEC, grid, 3600 * SEC),
    )
    .await
    .unwrap();
    assert!(close(vol.sigma.unwrap(), 1.02f64.ln() * 302.0 / 3.0), "{vol:?}");

    // A window with no frame at all: no mid, no σ.
    let vol = volatility(
        &session.ctx,
        &key("ETH-USD"),
        window(T0 - 100 * SEC, T0 - 50 * SEC),
        &settings(SEC, grid, 0),
    )
    .await
    .unwrap();
    assert_eq!((vol.sigma, vol.mid_samples, vol.returns), (None, 0, 0));
}

/// The small tape of the intensity and bad-input tests: window [T0, T0 + 10 s), tick 0.01.
fn intensity_tape(root: &Path) {
    write(
        root,
        "ETH-USD",
        &[frame(T0 - SEC, 1, "100.00", "100.01"), frame(T0 + 5 * SEC, 2, "100.10", "100.11")],
    );
    use TakerSide::{Buy, Sell};
    write(
        root,
        "ETH-USD",
        &[
            trade(T0 - 500 * MS, 1, Sell, "99.90"), // before the window
            trade(T0 + SEC, 2, Sell, "100.00"),
            trade(T0 + 2 * SEC, 3, Sell, "99.99"),
            trade(T0 + 2 * SEC, 4, Sell, "99.98"),
            trade(T0 + 2 * SEC, 5, Buy, "100.01"),
            trade(T0 + 5 * SEC, 6, Buy, "100.03"),
            trade(T0 + 6 * SEC, 7, Buy, "100.14"),
            trade(T0 + 7 * SEC, 8, Sell, "100.11"),
            trade(T0 + 11 * SEC, 9, Sell, "99.00"), // after the window
        ],
    );
}

/// intensity.sql: as-of mids, orders grouped by (ts, side), exact δ on the grid.
#[tokio::test]
async fn intensity_sql_matches_the_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    intensity_tape(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    // Grid δ = 0.005, 0.015, 0.025, 0.035, i.e. 2δ = 0.01, 0.03, 0.05, 0.07.
    let grid = DepthGrid { start: p("0.005"), step: p("0.01"), levels: 4 };
    let w = window(T0, T0 + 10 * SEC);
    let points = intensity(&session.ctx, &key("ETH-USD"), w, &settings(SEC, grid, 3600 * SEC))
        .await
        .unwrap();
    // Mid before T0 + 5 s (strictly): (100.00 + 100.01)/2; from then on (100.10 + 100.11)/2.
    // Bid side (taker sells), 2δ = bid + ask − 2·price:
    //   #2 at +1 s: 200.01 − 200.00 = 0.01
    //   #3, #4 at +2 s are one order, deepest print 99.98: 200.01 − 199.96 = 0.05
    //   #8 at +7 s: 200.21 − 200.22 = −0.01 → 0 (an order, on no grid point)
    //   → orders 3, trades 4; counts at 2δₖ = 0.01, 0.03, 0.05, 0.07: 2, 1, 1, 0.
    // Ask side (taker buys), 2δ = 2·price − bid − ask:
    //   #5 at +2 s: 200.02 − 200.01 = 0.01
    //   #6 at +5 s, the same ts as a frame: the frame is not strictly earlier, so the old mid:
    //      200.06 − 200.01 = 0.05
    //   #7 at +6 s: 200.28 − 200.21 = 0.07, exactly on the last grid point (f64 would say
    //      100.14 − 100.105 = 0.03500000000000369 or a hair under, by luck)
    //   → orders 3, trades 3; counts 3, 2, 2, 1.
    let want: [(BookSide, [i64; 4], i64, i64); 2] =
        [(BookSide::Bid, [2, 1, 1, 0], 3, 4), (BookSide::Ask, [3, 2, 2, 1], 3, 3)];
    assert_eq!(points.len(), 8);
    for (side, counts, orders, trades) in want {
        let mine: Vec<&IntensityPoint> = points.iter().filter(|q| q.side == side).collect();
        let got: Vec<i64> = mine.iter().map(|q| q.orders).collect();
        assert_eq!(got, counts, "{side}");
        for (k, q) in mine.iter().enumerate() {
            assert_eq!(q.k, k as i64);
            assert_eq!(q.delta, Price::from_raw(500_000 + k as i64 * 1_000_000));
            assert!(close(q.lambda, counts[k] as f64 / 10.0), "λ = count / 10 s");
            assert_eq!((q.side_orders, q.side_trades), (orders, trades), "{side}");
        }
    }

    // With no lookback the frame at T0 − 1 s is out of reach: trades before T0 + 5 s (and #6 at
    // exactly T0 + 5 s) have no earlier frame and are dropped; they still count as trades.
    let points =
        intensity(&session.ctx, &key("ETH-USD"), w, &settings(SEC, grid, 0)).await.unwrap();
    let bid: Vec<i64> =
        points.iter().filter(|q| q.side == BookSide::Bid).map(|q| q.orders).collect();
    let ask: Vec<i64> =
        points.iter().filter(|q| q.side == BookSide::Ask).map(|q| q.orders).collect();
    assert_eq!(bid, [0, 0, 0, 0]); // only #8, at δ 0
    assert_eq!(ask, [1, 1, 1, 1]); // only #7
    assert_eq!((points[0].side_orders, points[0].side_trades), (1, 4));
}

/// docs/MODEL.md's rule for frames with one side empty: no mid, skipped; a trade after one
/// takes the mid of the latest two-sided frame (the last mid is carried).
#[tokio::test]
async fn a_one_sided_frame_carries_the_last_mid() {
    let dir = tempfile::tempdir().unwrap();
    let mut one_sided = frame(T0 + SEC, 2, "99.00", "1");
    one_sided.asks = Vec::<Level>::new().into();
    write(dir.path(), "ETH-USD", &[frame(T0 - SEC, 1, "100.00", "100.01"), one_sided]);
    write(
        dir.path(),
        "ETH-USD",
        &[
            trade(T0 + 2 * SEC, 1, TakerSide::Sell, "99.99"),
            trade(T0 + 3 * SEC, 2, TakerSide::Sell, "99.97"),
        ],
    );
    let session = Session::open(dir.path()).await.unwrap();
    let grid = DepthGrid { start: p("0.005"), step: p("0.01"), levels: 4 };
    let w = window(T0, T0 + 10 * SEC);
    let points = intensity(&session.ctx, &key("ETH-USD"), w, &settings(SEC, grid, 3600 * SEC))
        .await
        .unwrap();
    // Both sells take the mid of the frame at T0 − 1 s, (100.00 + 100.01)/2, not the
    // one-sided frame at T0 + 1 s (no mid): 2δ = 200.01 − 199.98 = 0.03 and
    // 200.01 − 199.94 = 0.07; at 2δₖ = 0.01, 0.03, 0.05, 0.07: 2, 2, 1, 1. Dropping the trades
    // after a one-sided frame would count none.
    let bid: Vec<i64> =
        points.iter().filter(|q| q.side == BookSide::Bid).map(|q| q.orders).collect();
    assert_eq!(bid, [2, 2, 1, 1]);
    // σ skips it too: the only mids on the grid are the first frame's, so every return is 0.
    let vol = volatility(&session.ctx, &key("ETH-USD"), w, &settings(SEC, grid, 3600 * SEC))
        .await
        .unwrap();
    assert_eq!(vol.sigma, Some(0.0), "{vol:?}");
}

fn point(side: BookSide, delta: &str, orders: i64, lambda: f64) -> IntensityPoint {
    IntensityPoint { side, k: 0, delta: p(delta), orders, lambda, side_orders: 0, side_trades: 0 }
}

/// fit.sql: OLS of ln λ on δ, points under min_count left out.
#[tokio::test]
async fn fit_sql_matches_the_hand_regression() {
    let e = std::f64::consts::E;
    let points = [
        // Bid: (δ, ln λ) = (0, 0), (1, −1), (2, −3); the point at δ 3 has 4 orders < 5: out.
        // x̄ = 1, ȳ = −4/3; Sxy = (−1)(4/3) + 0 + (1)(−5/3) = −3; Sxx = 2 → slope −1.5,
        // κ = 1.5; intercept = −4/3 + 1.5 = 1/6, A = e^(1/6);
        // Syy = 16/9 + 1/9 + 25/9 = 42/9; R² = Sxy² / (Sxx·Syy) = 9 / (84/9) = 81/84.
        point(BookSide::Bid, "0", 10, 1.0),
        point(BookSide::Bid, "1", 10, 1.0 / e),
        point(BookSide::Bid, "2", 10, 1.0 / (e * e * e)),
        point(BookSide::Bid, "3", 4, 100.0),
        // Ask: λ = 2·e^(−15δ) exactly on three points: κ 15, A 2, R² 1.
        point(BookSide::Ask, "0.005", 50, 2.0 * (-0.075f64).exp()),
        point(BookSide::Ask, "0.015", 40, 2.0 * (-0.225f64).exp()),
        point(BookSide::Ask, "0.025", 30, 2.0 * (-0.375f64).exp()),
    ];
    let fits = fit(&points, 5).await.unwrap();
    assert_eq!(fits.len(), 2);
    let (bid, ask) = (fits[0], fits[1]);
    assert_eq!((bid.side, bid.points), (BookSide::Bid, 3));
    assert!((bid.kappa.unwrap() - 1.5).abs() < 1e-12, "{bid:?}");
    assert!((bid.a.unwrap() - (1.0f64 / 6.0).exp()).abs() < 1e-12, "{bid:?}");
    assert!((bid.r2.unwrap() - 81.0 / 84.0).abs() < 1e-12, "{bid:?}");
    assert_eq!((ask.side, ask.points), (BookSide::Ask, 3));
    assert!((ask.kappa.unwrap() - 15.0).abs() < 1e-9, "{ask:?}");
    assert!((ask.a.unwrap() - 2.0).abs() < 1e-12, "{ask:?}");
    assert!((ask.r2.unwrap() - 1.0).abs() < 1e-12, "{ask:?}");
}

/// The simulator's truth, whichever way its market reached the tables.
#[derive(Debug, Clone)]
pub struct Truth {
    pub market: String,
    pub sigma: f64,
    pub a_bid: f64,
    pub kappa_bid: f64,
    pub a_ask: f64,
    pub kappa_ask: f64,
}

impl Truth {
    pub fn of(params: &MarketParams) -> Self {
        Self {
            market: params.market.clone(),
            sigma: params.sigma,
            a_bid: params.a_bid,
            kappa_bid: params.kappa_bid,
            a_ask: params.a_ask,
            kappa_ask: params.kappa_ask,
        }
    }
}

/// Steps the simulator's market `steps` times (100 ms each) from `start_ns` and writes what a
/// recorder would: the depth snapshot of the first frame, then a book_top frame per step
/// (after the step's trades), its depth changes, and its trades. Returns (book_top, depth,
/// trades) row counts.
pub fn simulated_tree(
    root: &Path,
    params: MarketParams,
    seed: u64,
    start_ns: i64,
    steps: i64,
) -> (usize, usize, usize) {
    let name = params.market.clone();
    let mut market = Market::new(params, seed);
    let writer = |table| Writer::new(root, table, VENUE, &name, WriterConfig::default()).unwrap();
    let (mut tops, mut depths, mut trades) =
        (writer(Table::BookTop), writer(Table::Depth), writer(Table::Trades));
    let mut rows = SimulatedRows::new(3 * MS);
    rows.snapshot(&market, start_ns);
    let mut counts = (0, 0, 0);
    for k in 1..=steps {
        rows.step(&mut market, start_ns + k * STEP_MS * MS, k + 1);
        if rows.book_top.len() >= 20_000 || k == steps {
            let (depth_rows, top_rows, trade_rows) = rows.take();
            counts.0 += top_rows.len();
            counts.1 += depth_rows.len();
            counts.2 += trade_rows.len();
            tops.write(&BookTopRow::to_batch(VENUE, &name, &top_rows)).unwrap();
            depths.write(&DepthRow::to_batch(VENUE, &name, &depth_rows)).unwrap();
            trades.write(&TradeRow::to_batch(VENUE, &name, &trade_rows)).unwrap();
        }
    }
    tops.close().unwrap();
    depths.close().unwrap();
    trades.close().unwrap();
    counts
}

/// Runs the real `mdkit calibrate` over the whole tree and checks the acceptance tolerances:
/// σ within 5 %, κ within 10 %, A within 15 % of the truth. Returns the calibration row as
/// JSON. Reusable for any tree (in-process simulation here; a recording over WebSocket later).
pub fn assert_recovers_truth(data: &Path, truth: &Truth) -> serde_json::Value {
    assert_recovers_truth_with(data, truth, &[])
}

/// [`assert_recovers_truth`] with more `calibrate` flags.
pub fn assert_recovers_truth_with(data: &Path, truth: &Truth, flags: &[&str]) -> serde_json::Value {
    let mut args = vec!["calibrate", "--market", &truth.market, "--format", "json"];
    args.extend(flags);
    let out = mdkit(data, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one window over the whole range: {text}");
    let row: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let got = |name: &str| row[name].as_f64().unwrap_or_else(|| panic!("{name} is null: {row}"));
    let checks = [
        ("sigma", truth.sigma, 0.05),
        ("kappa_bid", truth.kappa_bid, 0.10),
        ("kappa_ask", truth.kappa_ask, 0.10),
        ("a_bid", truth.a_bid, 0.15),
        ("a_ask", truth.a_ask, 0.15),
    ];
    for (name, want, tolerance) in checks {
        let error = got(name) / want - 1.0;
        assert!(
            error.abs() < tolerance,
            "{name}: {} vs true {want} ({:+.1} %)",
            got(name),
            error * 100.0
        );
    }
    row
}

/// Two simulated hours of ETH-USD (seed 42): calibrate recovers the simulator's parameters,
/// and the calibration table holds the row it printed.
#[test]
fn calibrate_recovers_the_simulators_truth_over_two_hours() {
    let dir = tempfile::tempdir().unwrap();
    let params = MarketParams::preset("ETH-USD");
    let truth = Truth::of(&params);
    let (tops, depths, trades) = simulated_tree(dir.path(), params, 42, T0, 2 * 36_000);
    assert_eq!(tops, 72_001);
    assert!(depths > 100_000 && trades > 100_000, "{depths} depth rows, {trades} trades");
    let row = assert_recovers_truth(dir.path(), &truth);
    eprintln!("recovered over 2 h: {row}");
    // The default range ends just after the last frame (T0 + 2 h), so the grid is T0 .. T0 + 2 h
    // inclusive: 7,201 points.
    assert_eq!(row["mid_samples"], 7201);
    assert_eq!(row["trades"].as_u64(), Some(trades as u64));

    let out = mdkit(
        dir.path(),
        &["sql", "--format", "csv", "SELECT count(*) AS n, max(points_bid) AS p FROM calibration"],
    );
    assert_eq!(stdout(&out), format!("n,p\n1,{}\n", row["points_bid"]));
}

/// Rolling windows: one row per window end, written to the table in order.
#[test]
fn rolling_windows_write_one_row_per_window_end() {
    let dir = tempfile::tempdir().unwrap();
    simulated_tree(dir.path(), MarketParams::preset("ETH-USD"), 7, T0, 9_000); // 15 minutes
    let out = mdkit(
        dir.path(),
        &[
            "calibrate",
            "--window",
            "5m",
            "--every",
            "2m",
            "--format",
            "csv",
            "--from",
            "2026-11-20T13:00Z",
            "--to",
            "2026-11-20T13:15Z",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let ends: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    // Ends at 13:05, 13:07, …, 13:15 (the last one fits exactly).
    assert_eq!(
        ends,
        [
            "2026-11-20T13:05:00Z",
            "2026-11-20T13:07:00Z",
            "2026-11-20T13:09:00Z",
            "2026-11-20T13:11:00Z",
            "2026-11-20T13:13:00Z",
            "2026-11-20T13:15:00Z"
        ]
    );
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(cells[4].parse::<f64>().unwrap() > 0.0, "sigma on every window: {line}");
        assert_eq!(cells[5], "300", "mid samples of a 5 min window at 1 s: {line}");
    }
    let out =
        mdkit(dir.path(), &["sql", "--format", "csv", "SELECT count(*) AS n FROM calibration"]);
    assert_eq!(stdout(&out), "n\n6\n");
    let table = stdout(&mdkit(dir.path(), &["calibrate", "--no-write"]));
    let header: Vec<&str> = table.lines().next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header[..3], ["venue", "market", "window_end"], "{table}");
    let out =
        mdkit(dir.path(), &["sql", "--format", "csv", "SELECT count(*) AS n FROM calibration"]);
    assert_eq!(stdout(&out), "n\n6\n", "--no-write writes nothing");
}

#[test]
fn bad_input_gets_a_clear_message_or_null_results_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    intensity_tape(dir.path());
    let run = |args: &[&str]| mdkit(dir.path(), args);

    // A market that does not exist.
    let out = run(&["calibrate", "--market", "DOGE-USD"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no book_top rows for */DOGE-USD") && err.contains("extended/ETH-USD"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // An empty range.
    let out = run(&["calibrate", "--from", "2026-11-20T14:00Z", "--to", "2026-11-20T13:00Z"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("empty range"), "{}", stderr(&out));

    // A range with no data: every result null, with reasons.
    let out = run(&[
        "calibrate",
        "--no-write",
        "--format",
        "json",
        "--from",
        "2026-11-21",
        "--to",
        "2026-11-21T01:00Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let row: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        row["sigma"].is_null() && row["kappa_bid"].is_null() && row["kappa_ask"].is_null(),
        "{row}"
    );
    assert_eq!(row["mid_samples"], 0);
    assert!(row["reason_bid"].as_str().unwrap().contains("no taker sell orders"), "{row}");
    assert!(row["reason_ask"].as_str().unwrap().contains("no taker buy orders"), "{row}");

    // The tape itself: a handful of orders per side, so too few grid points reach min_count.
    let out = run(&[
        "calibrate",
        "--no-write",
        "--from",
        "2026-11-20T13:00Z",
        "--to",
        "2026-11-20T13:00:10Z",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("bid side is null: only 0 grid points with at least 5 orders (need 3)"),
        "{text}"
    );
    // Too few sampling grid points for σ: a 1 s window at Δt = 1 s has one mid, no return.
    let out = run(&[
        "calibrate",
        "--no-write",
        "--format",
        "json",
        "--from",
        "2026-11-20T13:00:02Z",
        "--to",
        "2026-11-20T13:00:03Z",
    ]);
    let row: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(row["sigma"].is_null(), "{row}");
    assert_eq!(row["mid_samples"], 1);

    // A side with no trades: only buys, with min_count 1 the ask side fits and the bid is null.
    let only_buys = tempfile::tempdir().unwrap();
    write(only_buys.path(), "ETH-USD", &[frame(T0, 1, "100.00", "100.01")]);
    let buys: Vec<TradeRow> = (0..30)
        .map(|i| {
            trade(
                T0 + (i + 1) * SEC,
                i,
                TakerSide::Buy,
                ["100.01", "100.02", "100.03"][i as usize % 3],
            )
        })
        .collect();
    write(only_buys.path(), "ETH-USD", &buys);
    let out = mdkit(
        only_buys.path(),
        &["calibrate", "--format", "json", "--min-count", "1", "--to", "2026-11-20T13:01Z"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let row: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(row["kappa_bid"].is_null(), "{row}");
    assert!(row["reason_bid"].as_str().unwrap().contains("no taker sell orders"), "{row}");
    assert_eq!((row["orders_ask"].as_i64(), row["points_ask"].as_i64()), (Some(30), Some(3)));
    assert!(row["kappa_ask"].as_f64().unwrap() > 0.0, "{row}");
    // The written row decodes with the table's own reader.
    let session_rows = read_calibration(only_buys.path());
    assert_eq!(session_rows.len(), 1);
    assert!(session_rows[0].bid.reason.is_some() && session_rows[0].ask.kappa.is_some());
}

fn read_calibration(root: &Path) -> Vec<CalibrationRow> {
    let listing = mdkit::storage::list(root, Table::Calibration, &Default::default()).unwrap();
    let mut rows = Vec::new();
    for batch in listing.scan() {
        rows.extend(CalibrationRow::from_batch(&batch.unwrap()).unwrap());
    }
    rows
}

/// tick.sql (with the gcd the caller takes) on a small tree, by hand.
#[tokio::test]
async fn tick_sql_gives_the_distinct_best_prices_of_the_range() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ETH-USD",
        &[
            frame(T0 - SEC, 1, "2999.995", "3000.005"), // before the range: not read
            frame(T0, 2, "3000.10", "3000.15"),
            frame(T0 + SEC, 3, "3000.05", "3000.15"), // 3000.15 again: one distinct value
            frame(T0 + 2 * SEC, 4, "3000.30", "3000.45"),
            frame(T0 + 5 * SEC, 5, "3000.01", "3000.02"), // at the range end: not read
        ],
    );
    let session = Session::open(dir.path()).await.unwrap();
    // Distinct prices 3000.05, 3000.10, 3000.15, 3000.30, 3000.45. In units of 0.01 they are
    // 300005, 300010, 300015, 300030, 300045, whose gcd is 5: the tick is 0.05. The frames
    // outside [T0, T0 + 5 s) would bring it down to 0.005 and 0.01.
    let tick = mdkit::calibrate::infer_market_tick(
        &session.ctx,
        &key("ETH-USD"),
        window(T0, T0 + 5 * SEC),
    )
    .await
    .unwrap();
    assert_eq!(tick, Some(p("0.05")));
    let none = mdkit::calibrate::infer_market_tick(
        &session.ctx,
        &key("ETH-USD"),
        window(T0 + 60 * SEC, T0 + 70 * SEC),
    )
    .await
    .unwrap();
    assert_eq!(none, None, "no book in the range: no tick");
}

/// Each table a calibration query reads is scanned once: DataFusion plans a CTE again at every
/// reference, so a CTE used twice shows as a second scan (and sort) of the same table — the
/// cost issue 23 measured. The plans are those of the tape above, with every parameter bound.
#[tokio::test]
async fn each_calibration_query_scans_each_table_once() {
    use datafusion::common::{ParamValues, ScalarValue};
    use datafusion::physical_plan::displayable;
    use mdkit::estimate::{BUCKETS_SQL, LAST_FRAME_SQL, ORDERS_SQL, TICK_SQL};

    let dir = tempfile::tempdir().unwrap();
    intensity_tape(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    let ts = |ns: i64| ScalarValue::TimestampNanosecond(Some(ns), Some("UTC".into()));
    let stretch: Vec<(&str, ScalarValue)> = vec![
        ("venue", VENUE.into()),
        ("market", "ETH-USD".into()),
        ("from", ts(T0)),
        ("to", ts(T0 + 10 * SEC)),
    ];
    let grid: Vec<(&str, ScalarValue)> =
        vec![("start_ns", T0.into()), ("interval_ns", SEC.into()), ("grid_points", 10i64.into())];
    let carry = vec![("carry", ScalarValue::Decimal128(Some(20_000_000_000), 19, 8))];
    let range: Vec<(&str, ScalarValue)> = vec![
        ("venue", VENUE.into()),
        ("market", "ETH-USD".into()),
        ("window_start", ts(T0)),
        ("window_end", ts(T0 + 10 * SEC)),
    ];
    let queries = [
        ("buckets.sql", BUCKETS_SQL, [stretch.clone(), grid].concat(), 1, 0),
        ("orders.sql", ORDERS_SQL, [stretch.clone(), carry].concat(), 1, 1),
        ("last_frame.sql", LAST_FRAME_SQL, stretch, 1, 0),
        ("tick.sql", TICK_SQL, range, 2, 0),
    ];
    for (name, text, params, want_top, want_trades) in queries {
        let df = session.ctx.sql(text).await.unwrap();
        let df = df.with_param_values(ParamValues::from(params)).unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        let scans = |table: &str| {
            shown
                .lines()
                .filter(|l| l.contains("DataSourceExec") && l.contains(&format!("/{table}/")))
                .count()
        };
        // tick.sql reads the best bid and the best ask as two columns of one union: two scans
        // by design, each of one column.
        assert_eq!(
            (scans("book_top"), scans("trades")),
            (want_top, want_trades),
            "{name}:\n{shown}"
        );
    }
}
