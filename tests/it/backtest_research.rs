//! Issue 24's research outputs of `mdkit backtest`, end to end on a small simulated tree
//! (`backtest.rs`'s [`tree`]): per-fill markouts read back against `book_top`, adverse
//! selection by side and queue position in the summary, and recorded order latency from a
//! file (`--order-latency`).

use std::path::Path;

use arrow::array::{Array, Decimal128Array, Float64Array, StringArray, TimestampNanosecondArray};
use mdkit::backtest::event::{Clock, Event};
use mdkit::backtest::replay::{Listings, Source};
use mdkit::model::RecvTime;

use crate::backtest::{backtest, ok, read_parquet, summary, tree, SHORT};
use crate::calibrate::{T0, VENUE};
use crate::common::{stderr, stdout, SEC};

/// The book frames of the replay (received before `to`) with their exchange time and exact mid (bid + ask, raw;
/// `None` when one-sided), and the exchange time of the last event. The exchange time is
/// computed here from docs/MODEL.md "Clocks and latency", not taken from the engine: over the
/// events in replay order, x = ts_event + offset, offset = min(0, smallest ts_recv − ts_event
/// so far), made non-decreasing.
fn frames(data: &Path, to: i64) -> (Vec<(i64, Option<i64>)>, i64) {
    let source = Source {
        venue: VENUE.into(),
        market: "ETH-USD".into(),
        from: RecvTime::from_nanos(T0),
        to: RecvTime::from_nanos(to),
        clock: Clock::Recv,
    };
    let (mut offset, mut clock) = (0i64, i64::MIN);
    let mut out = Vec::new();
    for event in Listings::open(data, &source).unwrap().replay() {
        let event = event.unwrap();
        let (recv, ev) = (event.ts_recv().as_nanos(), event.ts_event_nanos());
        offset = offset.min(recv - ev);
        clock = clock.max(ev + offset);
        if let Event::Top(top) = &event {
            let mid2 = match (top.bids.first(), top.asks.first()) {
                (Some(b), Some(a)) => Some(b.price.raw() + a.price.raw()),
                _ => None,
            };
            out.push((clock, mid2));
        }
    }
    (out, clock)
}

fn times(batch: &arrow::array::RecordBatch, name: &str) -> Vec<i64> {
    let c = batch.column_by_name(name).unwrap();
    c.as_any().downcast_ref::<TimestampNanosecondArray>().unwrap().values().to_vec()
}

fn decimals(batch: &arrow::array::RecordBatch, name: &str) -> Vec<Option<i64>> {
    let c = batch.column_by_name(name).unwrap_or_else(|| panic!("fills.parquet lacks {name}"));
    let c = c.as_any().downcast_ref::<Decimal128Array>().unwrap();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i) as i64)).collect()
}

fn floats(batch: &arrow::array::RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = batch.column_by_name(name).unwrap();
    let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

/// Checks every fill of the run in `dir` (over the replay of `data` up to `to`, exclusive)
/// against the book_top rows as [`fills_parquet_markouts_equal_the_mid_read_back_from_book_top`]
/// says. Returns (fills, horizon mids compared, horizon mids unknown because the run ended)
/// and the last fill's exchange time.
fn check_markouts(data: &Path, dir: &Path, to: i64) -> ((usize, usize, usize), i64) {
    let (frames, last) = frames(data, to);
    assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0));
    // The mid in force at exchange time t: of the last frame with x ≤ t.
    let at = |t: i64| -> Option<(i64, Option<i64>)> {
        let i = frames.partition_point(|f| f.0 <= t);
        i.checked_sub(1).map(|i| frames[i])
    };
    let (mut total, mut compared, mut ended, mut last_fill) = (0, 0, 0, i64::MIN);
    for batch in read_parquet(&dir.join("fills.parquet")) {
        let ts = times(&batch, "ts_exchange");
        let side = batch.column_by_name("side").unwrap();
        let side = side.as_any().downcast_ref::<StringArray>().unwrap();
        let mid = decimals(&batch, "mid");
        for h in [1, 10, 60] {
            let later = decimals(&batch, &format!("mid_{h}s"));
            let markout = decimals(&batch, &format!("markout_{h}s"));
            let bps = floats(&batch, &format!("markout_{h}s_bps"));
            for i in 0..batch.num_rows() {
                let t = ts[i] + h * SEC;
                let want = if t > last { None } else { at(t).and_then(|f| f.1) };
                assert_eq!(
                    later[i],
                    want.map(|m| m.div_euclid(2)),
                    "fill {i} at {}, +{h} s",
                    ts[i]
                );
                let sign = if side.value(i) == "bid" { 1 } else { -1 };
                let want_markout = later[i].zip(mid[i]).map(|(l, m)| sign * (l - m));
                assert_eq!(markout[i], want_markout, "markout of fill {i} at +{h} s");
                assert_eq!(bps[i].is_some(), want_markout.is_some());
                if let (Some(b), Some(l), Some(m)) = (bps[i], want, mid[i]) {
                    // In bps of the exact mids; every mid here is on the 0.005 grid (tick
                    // 0.01), so twice the rounded `mid` is the exact bid + ask.
                    let exact = (sign * (l - 2 * m)) as f64 / (2 * m) as f64 * 1e4;
                    assert!((b - exact).abs() < 1e-9, "{b} vs {exact}");
                }
                if later[i].is_some() {
                    compared += 1;
                } else if t > last {
                    ended += 1;
                }
            }
        }
        for i in 0..batch.num_rows() {
            total += 1;
            last_fill = last_fill.max(ts[i]);
            let before = at(ts[i] - 1).and_then(|f| f.1).map(|m| m.div_euclid(2));
            let same: Vec<Option<i64>> = frames
                .iter()
                .filter(|f| f.0 == ts[i])
                .map(|f| f.1.map(|m| m.div_euclid(2)))
                .collect();
            assert!(
                mid[i] == before || same.contains(&mid[i]),
                "mid of fill {i}: {:?}, frames before: {before:?}, at: {same:?}",
                mid[i]
            );
        }
    }
    ((total, compared, ended), last_fill)
}

/// `fills.parquet` markouts equal the mid read back from `book_top`: for every fill at
/// exchange time t and horizon h, `mid_<h>s` is the mid (rounded down to 10⁻⁸) of the last
/// book_top row with exchange time ≤ t + h — on the clock the engine uses, docs/MODEL.md's
/// exchange time, here ts_event since the tree's receive clock runs 3 ms behind — and null
/// exactly when that row is one-sided or the replay's last event comes before t + h; the
/// markout columns are side × (mid_<h>s − mid) and its bps of the exact mids. `mid` is the
/// mid of the last row at or before t (one with exchange time exactly t may come after the
/// fill in the replay: then either). A second run ends 30 s after the first run's last fill,
/// so that fill's 60 s horizon is unknown there.
#[test]
fn fills_parquet_markouts_equal_the_mid_read_back_from_book_top() {
    let data = tree(6_000);
    let outs = tempfile::tempdir().unwrap();
    let dir = outs.path().join("run");
    let mut args = vec!["--out", dir.to_str().unwrap(), "--set", "cooldown=1"];
    args.extend(SHORT);
    let out = backtest(data.path(), outs.path(), &args);
    ok(&out);
    let end = T0 + 24 * 3600 * SEC;
    let ((total, compared, _), last_fill) = check_markouts(data.path(), &dir, end);
    eprintln!("{total} fills, {compared} markout mids compared");
    assert!(total >= 10 && compared >= 2 * total, "{total} fills, {compared} compared");

    // The summary breaks the same markouts down by side and by queue position; each
    // breakdown covers every counted fill once, and the table has a line per group.
    let s = summary(&dir);
    let by = s["markouts_by"].as_array().unwrap();
    for m in s["markouts"].as_array().unwrap() {
        let h = m["horizon_seconds"].as_u64().unwrap();
        for kind in ["side", "position"] {
            let sum: u64 = by
                .iter()
                .filter(|r| r["by"] == kind && r["horizon_seconds"] == h)
                .map(|r| r["fills"].as_u64().unwrap())
                .sum();
            assert_eq!(sum, m["fills"].as_u64().unwrap(), "{kind} at {h} s: {s}");
        }
    }
    assert!(by.iter().any(|r| r["group"] == "bid") && by.iter().any(|r| r["group"] == "ask"));
    let text = stdout(&out);
    assert!(text.contains("markouts of bid fills") && text.contains("bps at 1s / 10s / 60s"));

    let to = last_fill + 30 * SEC;
    let cut = outs.path().join("cut");
    let to_text = RecvTime::from_nanos(to).to_string();
    let mut args = vec!["--out", cut.to_str().unwrap(), "--to", &to_text, "--set", "cooldown=1"];
    args.extend(SHORT);
    ok(&backtest(data.path(), outs.path(), &args));
    let ((total, _, ended), last) = check_markouts(data.path(), &cut, to);
    assert_eq!(last, last_fill, "the cut run has the same last fill");
    assert!(total >= 10 && ended >= 1, "{total} fills, {ended} horizons past the end");
}

/// `--order-latency FILE`: the answers come back after the file's response latency,
/// interpolated at the exchange time of each fill; the summary records the file; a bad file
/// is one line naming it and saying what a good one holds, before anything is written.
#[test]
fn recorded_order_latency_sets_when_fills_are_reported() {
    let data = tree(6_000);
    let outs = tempfile::tempdir().unwrap();
    // Response latency from 20 ms at 13:00 to 40 ms at 13:10, entry 10 ms throughout.
    let file = outs.path().join("latency.csv");
    let (t1, t2) = (T0, T0 + 600 * SEC);
    let text = format!("req_ts,entry_ns,resp_ns\n{t1},10000000,20000000\n{t2},10000000,40000000\n");
    std::fs::write(&file, text).unwrap();
    let dir = outs.path().join("run");
    let mut args = vec!["--out", dir.to_str().unwrap(), "--order-latency", file.to_str().unwrap()];
    args.extend(SHORT);
    args.extend(["--set", "cooldown=1"]);
    ok(&backtest(data.path(), outs.path(), &args));
    let s = summary(&dir);
    assert_eq!(s["settings"]["order_latency"], file.to_str().unwrap(), "{s}");
    let mut n = 0;
    for batch in read_parquet(&dir.join("fills.parquet")) {
        let (ex, report) = (times(&batch, "ts_exchange"), times(&batch, "ts_report"));
        for (x, r) in ex.iter().zip(&report) {
            // 20 ms + 20 ms × (x − 13:00) / 10 min, rounded down; the fill's event was received
            // 3 ms after x, earlier than that, so nothing else delays the report.
            let resp =
                20_000_000 + (20_000_000i128 * i128::from(x - t1) / i128::from(t2 - t1)) as i64;
            assert_eq!(r - x, resp, "fill at {x}");
            n += 1;
        }
    }
    assert!(n >= 10, "{n} fills");

    let bad = outs.path().join("bad.csv");
    std::fs::write(&bad, "req_ts,entry_ns,resp_ns\n1,2,3\n1,2,3\n").unwrap();
    let out_dir = outs.path().join("refused");
    let out = backtest(
        data.path(),
        outs.path(),
        &["--order-latency", bad.to_str().unwrap(), "--out", out_dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("order latency file {}: line 3:", bad.display())), "{err}");
    assert!(err.contains("header req_ts,entry_ns,resp_ns"), "{err}");
    assert!(!out_dir.exists(), "nothing is written");
}
