//! What a backtest hands out: each [`Fill`], one [`EquitySample`] per second of strategy time
//! (both streamed through a [`Sink`], so the caller can write Parquet while memory stays
//! flat), and the final [`Summary`] with every metric of docs/MODEL.md, as JSON and as a table.
//!
//! Field order of every serialized struct is the declaration order and is part of the output
//! format (`summary.json` must be byte-identical between runs); money is a decimal string.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use crate::model::money::Money;
use crate::model::{BookSide, EventTime, Price, Qty, RecvTime};

/// Whether a fill added liquidity (resting order) or took it (marketable order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    Maker,
    Taker,
}

impl Liquidity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Liquidity::Maker => "maker",
            Liquidity::Taker => "taker",
        }
    }
}

/// One execution of one of our orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// When the simulated exchange executed it, on the exchange timeline (the local clock;
    /// see [`crate::backtest::engine`] for how venue time is mapped onto it).
    pub ts_exchange: RecvTime,
    /// When the strategy learns of it: `ts_exchange` + response latency.
    pub ts_report: RecvTime,
    /// Venue time of the market event that caused it (for a taker order, of the latest event).
    pub ts_event: EventTime,
    pub order_id: u64,
    /// `Bid` = we bought, `Ask` = we sold.
    pub side: BookSide,
    pub price: Price,
    pub qty: Qty,
    pub liquidity: Liquidity,
    /// Fee paid (negative = rebate), rounded up to 10⁻¹⁶.
    pub fee: Money,
    /// Position and cash right after this fill (cash net of fees).
    pub position: Qty,
    pub cash: Money,
    /// The exchange's best bid and ask mid when it filled (`None` with a one-sided book).
    pub mid: Option<Price>,
}

/// The account once per second of strategy time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquitySample {
    /// A whole second: the state after everything the strategy saw up to and including it.
    pub ts: RecvTime,
    /// Mid of the latest book frame the strategy saw.
    pub mid: Option<Price>,
    /// Our best resting bid and ask at the exchange.
    pub bid: Option<Price>,
    pub ask: Option<Price>,
    pub position: Qty,
    pub cash: Money,
    /// cash + position × mid (at the latest known mid; cash alone before any).
    pub equity: Money,
}

/// Error type a [`Sink`] may return; the engine stops and passes it up.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where the engine streams its per-fill and per-second output.
pub trait Sink {
    fn fill(&mut self, fill: &Fill) -> Result<(), SinkError>;
    fn equity(&mut self, sample: &EquitySample) -> Result<(), SinkError>;
    /// Called every [`PROGRESS_EVERY`] events and once at the end, with the events consumed
    /// so far and the strategy time reached.
    fn progress(&mut self, _events: u64, _now: RecvTime) {}
}

/// Events between two [`Sink::progress`] calls.
pub const PROGRESS_EVERY: u64 = 1 << 20;

/// A sink that keeps everything in memory: for tests and small runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collect {
    pub fills: Vec<Fill>,
    pub equity: Vec<EquitySample>,
}

impl Sink for Collect {
    fn fill(&mut self, fill: &Fill) -> Result<(), SinkError> {
        self.fills.push(fill.clone());
        Ok(())
    }
    fn equity(&mut self, sample: &EquitySample) -> Result<(), SinkError> {
        self.equity.push(sample.clone());
        Ok(())
    }
}

fn ts_text<S: Serializer>(ts: &Option<RecvTime>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

fn opt_text<T: std::fmt::Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

fn text<T: std::fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The average signed mid move after fills at one horizon (docs/MODEL.md markouts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Markout {
    pub horizon_seconds: u32,
    /// Fills whose horizon ended inside the run (the others are not counted).
    pub fills: u64,
    /// Mean of side × (mid(t + h) − mid(t)), price units: negative = the market moved
    /// against our fills (adverse selection). `None` without a counted fill.
    pub mean: Option<f64>,
    /// The same in basis points of mid(t).
    pub mean_bps: Option<f64>,
}

/// What the strategy met, counted by the engine, from which [`crate::backtest::diagnose`]
/// says why a run quoted or filled little.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Diagnostics {
    /// Book frames the strategy saw; of them, those during a warm-up, and those after it
    /// with a calibration carrying σ and κ on both sides in force.
    pub book_frames: u64,
    pub frames_warming_up: u64,
    pub frames_with_fit: u64,
    /// Orders placed or moved while the book had two sides, and their mean distance from
    /// the mid, in ticks.
    pub quotes: u64,
    pub quote_distance_ticks_mean: Option<f64>,
    /// Trades seen while the book had two sides, and the distance from the mid (ticks, on a
    /// half-tick grid, rounded up) within which half of them and 90 % of them printed.
    pub trades: u64,
    pub trade_distance_ticks_p50: Option<f64>,
    pub trade_distance_ticks_p90: Option<f64>,
}

/// Every metric of docs/MODEL.md "Metrics every backtest reports", for one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    pub strategy: String,
    /// The strategy clock: `recv` (ts_recv) or `event` (ts_event + `feed_latency`).
    pub clock: String,
    /// The event clock's constant feed latency (`5ms`); null with `recv`.
    pub feed_latency: Option<String>,
    /// Every setting as given ([`crate::backtest::settings::Settings::entries`]).
    pub settings: BTreeMap<String, String>,
    pub events: u64,
    #[serde(serialize_with = "ts_text")]
    pub first_ts_recv: Option<RecvTime>,
    #[serde(serialize_with = "ts_text")]
    pub last_ts_recv: Option<RecvTime>,
    pub duration_seconds: f64,
    pub orders_sent: u64,
    pub orders_rejected: u64,
    pub fills_bid: u64,
    pub fills_ask: u64,
    /// Base quantity traded, both sides.
    #[serde(serialize_with = "text")]
    pub volume: Qty,
    /// Quote-currency value traded, both sides.
    pub turnover: Money,
    /// realized + unrealized, before fees.
    pub pnl_gross: Money,
    pub fees: Money,
    /// pnl_gross − fees: the final equity marked to mid.
    pub pnl_net: Money,
    /// Closed against the average entry price, before fees.
    pub pnl_realized: Money,
    /// The open position marked to the final mid against its average entry price.
    pub pnl_unrealized: Money,
    #[serde(serialize_with = "text")]
    pub final_position: Qty,
    pub final_cash: Money,
    #[serde(serialize_with = "opt_text")]
    pub final_mid: Option<Price>,
    #[serde(serialize_with = "text")]
    pub max_abs_inventory: Qty,
    /// |position| averaged over exchange time from the first to the last event.
    #[serde(serialize_with = "text")]
    pub time_weighted_abs_inventory: Qty,
    /// Per-minute equity changes used for Sharpe and Sortino.
    pub minutes: u64,
    /// mean / stdev of per-minute equity changes × √(525600) (365-day year).
    pub sharpe: Option<f64>,
    /// mean / downside deviation (root mean square of the negative changes) × √(525600).
    pub sortino: Option<f64>,
    /// Largest peak-to-trough fall of the per-second equity.
    pub max_drawdown: Money,
    pub pnl_over_max_drawdown: Option<f64>,
    /// Mean of side × (mid − price) at each fill, price units (positive = bought below mid
    /// or sold above it), and in basis points of mid.
    pub avg_captured_spread: Option<f64>,
    pub avg_captured_spread_bps: Option<f64>,
    pub markouts: Vec<Markout>,
    pub diagnostics: Diagnostics,
    /// One line per reason the strategy did not quote or did not fill, from what happened
    /// (empty when it filled).
    pub notes: Vec<String>,
}

/// The Sharpe and Sortino labels of every table: both are annualised from 1-minute returns.
pub const SHARPE_LABEL: &str = "sharpe (1-min, annualised)";
pub const SORTINO_LABEL: &str = "sortino (1-min, annualised)";

fn opt_f64(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The summary as an aligned two-column table, one metric a line, for stdout.
pub fn table(s: &Summary) -> String {
    let ts = |t: Option<RecvTime>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
    let mut rows: Vec<(String, String)> = vec![
        ("strategy".into(), s.strategy.clone()),
        (
            "clock".into(),
            match &s.feed_latency {
                Some(l) => format!("{} (ts_event + {l})", s.clock),
                None => s.clock.clone(),
            },
        ),
        ("events".into(), s.events.to_string()),
        ("from".into(), ts(s.first_ts_recv)),
        ("to".into(), ts(s.last_ts_recv)),
        ("duration (s)".into(), format!("{:.3}", s.duration_seconds)),
        ("orders sent / rejected".into(), format!("{} / {}", s.orders_sent, s.orders_rejected)),
        ("fills bid / ask".into(), format!("{} / {}", s.fills_bid, s.fills_ask)),
        ("volume".into(), s.volume.to_string()),
        ("turnover".into(), s.turnover.to_string()),
        ("pnl gross".into(), s.pnl_gross.to_string()),
        ("fees".into(), s.fees.to_string()),
        ("pnl net".into(), s.pnl_net.to_string()),
        ("pnl realized".into(), s.pnl_realized.to_string()),
        ("pnl unrealized (mid)".into(), s.pnl_unrealized.to_string()),
        ("final position".into(), s.final_position.to_string()),
        ("final cash".into(), s.final_cash.to_string()),
        ("final mid".into(), s.final_mid.map_or_else(|| "-".into(), |p| p.to_string())),
        ("max |inventory|".into(), s.max_abs_inventory.to_string()),
        ("time-weighted |inventory|".into(), s.time_weighted_abs_inventory.to_string()),
        (SHARPE_LABEL.into(), opt_f64(s.sharpe, 3)),
        (SORTINO_LABEL.into(), opt_f64(s.sortino, 3)),
        ("max drawdown".into(), s.max_drawdown.to_string()),
        ("pnl / max drawdown".into(), opt_f64(s.pnl_over_max_drawdown, 3)),
        (
            "avg captured spread".into(),
            format!(
                "{} ({} bps)",
                opt_f64(s.avg_captured_spread, 8),
                opt_f64(s.avg_captured_spread_bps, 3)
            ),
        ),
    ];
    for m in &s.markouts {
        rows.push((
            format!("markout {}s", m.horizon_seconds),
            format!("{} ({} bps, {} fills)", opt_f64(m.mean, 8), opt_f64(m.mean_bps, 3), m.fills),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{k:<width$}  {v}");
    }
    for note in &s.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_keeps_field_order_and_money_as_strings() {
        let s = Summary {
            strategy: "as".into(),
            pnl_net: Money::from_raw(-15_000_000_000_000),
            volume: Qty::from_raw(150_000_000),
            ..Summary::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.starts_with(
                r#"{"strategy":"as","clock":"","feed_latency":null,"settings":{},"events":0,"#
            ),
            "{json}"
        );
        assert!(json.contains(r#""volume":"1.5","#), "{json}");
        assert!(json.contains(r#""pnl_net":"-0.0015","#), "{json}");
        assert!(json.contains(r#""first_ts_recv":null"#), "{json}");
        let text = table(&s);
        assert!(
            text.lines().any(|l| l.starts_with("pnl net") && l.ends_with("  -0.0015")),
            "{text}"
        );
    }
}
