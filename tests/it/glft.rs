//! `mdkit backtest --strategy glft` end to end on twenty simulated minutes of the ETH-USD
//! market (σ 0.5, A 2/s, κ 15/price per side, tick 0.01): the GLFT market maker quotes from the
//! recalibrated fit at about the depth its closed form gives, fills on both sides, and the
//! chart marks every fill (docs/MODEL.md "GLFT quotes", "The chart").

use crate::backtest::{backtest, ok, read_parquet, summary, tree};
use crate::common::stdout;

#[test]
fn glft_quotes_and_fills_on_a_simulated_tree() {
    let data = tree(12_000);
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().join("glft");
    let args = [
        "--strategy",
        "glft",
        "--set",
        "warmup=120",
        "--set",
        "every=300",
        "--set",
        "window=600",
        "--set",
        "glft_gamma=0.1",
        "--out",
        dir.to_str().unwrap(),
    ];
    let out = backtest(data.path(), cwd.path(), &args);
    ok(&out);
    let s = summary(&dir);
    assert_eq!(s["strategy"], "glft", "{s}");
    assert_eq!(
        (&s["settings"]["glft_gamma"], &s["settings"]["glft_xi"]),
        (&0.1.into(), &"gamma".into())
    );
    let (bid, ask) = (s["fills_bid"].as_u64().unwrap(), s["fills_ask"].as_u64().unwrap());
    assert!(bid > 0 && ask > 0, "both sides fill: {}", stdout(&out));

    // At the true parameters and q = 0 a side's depth is c₁ + ω/2 = 0.0664 + 0.0169 (see
    // set 1 of src/backtest/strategy/glft.rs), 8.3 ticks; the mean of the bid's and the
    // ask's depth is that at any inventory when the sides' fits agree. The fits of ten
    // minutes' data are near the truth, rounding adds half a tick and post-only clamps cut
    // some: the mean distance lands within a few ticks of it.
    let d = s["diagnostics"]["quote_distance_ticks_mean"].as_f64().unwrap();
    assert!((5.0..13.0).contains(&d), "mean quote distance {d} ticks: {s}");

    let rows: usize = read_parquet(&dir.join("fills.parquet")).iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows as u64, bid + ask);
    let svg = std::fs::read_to_string(dir.join("chart.svg")).unwrap();
    assert_eq!(svg.matches(r#"class="fill buy""#).count() as u64, bid);
    assert_eq!(svg.matches(r#"class="fill sell""#).count() as u64, ask);
}
