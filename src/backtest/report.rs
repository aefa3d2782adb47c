//! What a backtest hands out: each [`Fill`], one [`EquitySample`] per second of strategy time
//! (both streamed through a [`Sink`], so the caller can write Parquet while memory stays
//! flat), and the final [`Summary`] with every metric of docs/MODEL.md, as JSON, as a table,
//! and as CSV rows (`--format`).
//!
//! Field order of every serialized struct is the declaration order and is part of the output
//! format (`summary.json` must be byte-identical between runs; `schemas/summary.md` documents
//! every field). Numbers are JSON numbers, except what is held as an exact decimal (money,
//! quantities, prices: [`Money`], [`Qty`], [`Price`]), which is a decimal string so no reader
//! rounds it through a float; the summary names the unit of every field that has one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::model::contract::Contract;
use crate::model::money::Money;
use crate::model::{BookSide, EventTime, Price, Qty, RecvTime};

/// `--format`: what the command prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// The summary table (a comparison table for a sweep), then the output folder
    #[default]
    Table,
    /// CSV with a header line: one row per run (per point for a sweep)
    Csv,
    /// Each run's summary object as in summary.json, one per line (JSON lines)
    Json,
}

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

/// Why a fill happened (docs/MODEL.md "Simulated exchange"), so a run can tell the fills the
/// queue model decided from those it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FillCause {
    /// A trade at our price reached us through the queue ahead (or, with the cross fill
    /// model, any trade at our price).
    Queue,
    /// A trade printed beyond our price: the queue ahead did not matter.
    Through,
    /// The opposite best moved onto or past our price.
    Crossing,
    /// Our marketable order took the book.
    Taker,
}

impl FillCause {
    pub const ALL: [FillCause; 4] =
        [FillCause::Queue, FillCause::Through, FillCause::Crossing, FillCause::Taker];

    pub const fn as_str(self) -> &'static str {
        match self {
            FillCause::Queue => "queue",
            FillCause::Through => "through",
            FillCause::Crossing => "crossing",
            FillCause::Taker => "taker",
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
    pub cause: FillCause,
    /// Fee paid (negative = rebate), rounded up to 10⁻¹⁶.
    pub fee: Money,
    /// Position and cash right after this fill (cash net of fees).
    pub position: Qty,
    pub cash: Money,
    /// The exchange's best bid and ask mid when it filled (`None` with a one-sided book),
    /// rounded down to 10⁻⁸.
    pub mid: Option<Price>,
    /// The same mid exactly, as best bid + best ask in raw units (twice the mid).
    pub mid2: Option<i64>,
    /// Size ahead of the order in its level when the event that filled it arrived, before
    /// that event consumed any of it; `None` for a taker fill and under the `cross` fill model.
    pub queue_ahead: Option<Qty>,
    /// Best bid + best ask (raw, twice the mid) in force at exchange time `ts_exchange` + 1 s,
    /// 10 s and 60 s ([`crate::backtest::metrics::HORIZONS`]): of the latest book frame with
    /// exchange time at or before it; `None` when the run ended first or that frame was
    /// one-sided.
    pub later_mid2: [Option<i64>; 3],
}

impl Fill {
    /// +1 buy, −1 sell.
    pub fn sign(&self) -> i64 {
        match self.side {
            BookSide::Bid => 1,
            BookSide::Ask => -1,
        }
    }

    /// The mid at horizon `k` (0, 1, 2 for 1 s, 10 s, 60 s), rounded down to 10⁻⁸ as `mid` is.
    pub fn mid_after(&self, k: usize) -> Option<Price> {
        self.later_mid2.get(k).copied().flatten().map(|m| Price::from_raw(m.div_euclid(2)))
    }

    /// side × (mid at horizon `k` − mid at the fill), of the rounded mids: positive when the
    /// market moved our way, negative for adverse selection.
    pub fn markout(&self, k: usize) -> Option<Price> {
        let (later, now) = (self.mid_after(k)?, self.mid?);
        Some(Price::from_raw(self.sign() * (later.raw() - now.raw())))
    }

    /// The markout at horizon `k` in basis points of the mid at the fill, from the exact mids.
    pub fn markout_bps(&self, k: usize) -> Option<f64> {
        let (later, now) = (self.later_mid2.get(k).copied().flatten()?, self.mid2?);
        (now != 0).then(|| (self.sign() * (later - now)) as f64 / now as f64 * 1e4)
    }
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

fn seconds<S: Serializer>(ns: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ns {
        Some(ns) => s.serialize_f64(*ns as f64 / 1e9),
        None => s.serialize_none(),
    }
}

fn pairs<S: Serializer>(pairs: &[(&'static str, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// Settings held as exact decimals (base asset or quote currency): strings in `summary.json`.
pub const DECIMAL_SETTINGS: [&str; 3] = ["order_size", "max_inventory", "cash_limit"];

/// A setting's text as JSON: a number when it is one, `true`/`false` for switches, a string
/// otherwise (the [`DECIMAL_SETTINGS`], durations such as `10ms`, words such as `default`).
pub fn setting_json(key: &str, text: &str) -> serde_json::Value {
    use serde_json::Value;
    let plain = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && b == b'-'));
    if DECIMAL_SETTINGS.contains(&key) || !plain {
        return match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        };
    }
    if let Ok(n) = text.parse::<u64>() {
        return n.into();
    }
    if let Ok(n) = text.parse::<i64>() {
        return n.into();
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
}

fn settings_json<S: Serializer>(
    settings: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(settings.len()))?;
    for (k, v) in settings {
        map.serialize_entry(k, &setting_json(k, v))?;
    }
    map.end()
}

/// A market's base asset and quote currency from its name: `ETH-USD` (Extended),
/// `BTCUSDT` or `BTCUSD_PERP` (Binance: a known quote currency at the end). `None` when the
/// name does not say.
pub fn currencies(market: &str) -> Option<(String, String)> {
    const QUOTES: [&str; 12] =
        ["FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USD", "EUR", "TRY", "BRL", "BTC", "ETH", "BNB"];
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some((base, quote)) = market.split_once('-') {
        return (word(base) && word(quote)).then(|| (base.to_owned(), quote.to_owned()));
    }
    let symbol = market.split_once('_').map_or(market, |(symbol, _)| symbol);
    QUOTES.iter().find_map(|quote| {
        let base = symbol.strip_suffix(quote)?;
        word(base).then(|| (base.to_owned(), (*quote).to_owned()))
    })
}

/// The unit of every summary field that has one, by field name (nested fields as
/// `markouts.mean`, `settings.order_size`): the base asset and quote currency by name, or
/// `base asset` and `quote currency` when they are unknown.
pub fn units(currencies: Option<&(String, String)>) -> Vec<(&'static str, String)> {
    units_for(currencies, Contract::LINEAR_1)
}

/// [`units`] of a market trading `contract`: money in its settlement currency (the base
/// asset of an inverse contract), quantities in contracts unless they are linear of size 1.
pub fn units_for(
    currencies: Option<&(String, String)>,
    contract: Contract,
) -> Vec<(&'static str, String)> {
    let (base, quote) =
        currencies.map_or(("base asset", "quote currency"), |(b, q)| (b.as_str(), q.as_str()));
    let price = format!("{quote} per {base}");
    let qty = contract.quantity_unit(base, quote);
    let (base, quote) = (qty.as_str(), contract.settlement(base, quote));
    let sharpe = "annualised from 1-minute returns: mean / standard deviation of the \
                  per-minute equity changes x sqrt(525600), a 365-day year";
    let sortino = "annualised from 1-minute returns: mean / downside deviation of the \
                   per-minute equity changes x sqrt(525600), a 365-day year";
    [
        ("feed_latency_seconds", "s"),
        ("duration_seconds", "s"),
        ("volume", base),
        ("turnover", quote),
        ("pnl_gross", quote),
        ("fees", quote),
        ("pnl_net", quote),
        ("pnl_realized", quote),
        ("pnl_unrealized", quote),
        ("final_position", base),
        ("final_cash", quote),
        ("final_mid", &price),
        ("max_abs_inventory", base),
        ("time_weighted_abs_inventory", base),
        ("minutes", "count of 1-minute returns"),
        ("sharpe", sharpe),
        ("sortino", sortino),
        ("max_drawdown", quote),
        ("pnl_over_max_drawdown", "ratio"),
        ("avg_captured_spread", &price),
        ("avg_captured_spread_bps", "bps of mid"),
        ("markouts.horizon_seconds", "s"),
        ("markouts.mean", &price),
        ("markouts.mean_bps", "bps of mid at the fill"),
        ("markouts_by.horizon_seconds", "s"),
        ("markouts_by.mean", &price),
        ("markouts_by.mean_bps", "bps of mid at the fill"),
        ("diagnostics.quote_distance_ticks_mean", "ticks"),
        ("diagnostics.trade_distance_ticks_p50", "ticks"),
        ("diagnostics.trade_distance_ticks_p90", "ticks"),
        ("settings.order_size", base),
        ("settings.max_inventory", base),
        ("settings.cash_limit", quote),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
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

/// The average markouts of one group of fills at one horizon: adverse selection broken down
/// by side and by queue position at the fill (docs/MODEL.md markouts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMarkout {
    /// `side` or `position`.
    pub by: &'static str,
    /// For `side`: `bid` (our buys) or `ask` (our sells). For `position`: the fill's cause
    /// and where the order stood in its queue when the filling event arrived: `queue_front`,
    /// `queue_behind`, `through_front`, `through_behind`, `crossing_front`,
    /// `crossing_behind` (front: nothing ahead; behind: some size still ahead), the cause
    /// alone (`queue`, `through`, `crossing`) under the `cross` fill model, which keeps no
    /// queue, and `taker`.
    pub group: &'static str,
    pub horizon_seconds: u32,
    /// Fills of the group whose horizon ended inside the run, with a mid at both ends.
    pub fills: u64,
    pub mean: Option<f64>,
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
    pub venue: String,
    pub market: String,
    /// From the market's name ([`currencies`]); null when it does not say.
    pub base_asset: Option<String>,
    pub quote_currency: Option<String>,
    /// What one unit of quantity is (`linear:1`, `inverse:100`; [`Contract`]).
    pub contract: String,
    /// The currency of every money field: the quote currency (linear) or the base asset
    /// (inverse); null when the market name does not say.
    pub settlement_currency: Option<String>,
    /// The unit of every field that has one ([`units_for`]).
    #[serde(serialize_with = "pairs")]
    pub units: Vec<(&'static str, String)>,
    pub strategy: String,
    /// The strategy clock: `recv` (ts_recv) or `event` (ts_event + the feed latency).
    pub clock: String,
    /// The event clock's constant feed latency, ns; null with `recv`. Written in seconds.
    #[serde(rename = "feed_latency_seconds", serialize_with = "seconds")]
    pub feed_latency_ns: Option<i64>,
    /// Every setting as given ([`crate::backtest::settings::Settings::entries`]), written
    /// as [`setting_json`] types it.
    #[serde(serialize_with = "settings_json")]
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
    /// Fills by [`FillCause`]: through the queue, by a trade through the price, by the
    /// opposite best crossing the price, and as a taker.
    pub fills_queue: u64,
    pub fills_through: u64,
    pub fills_crossing: u64,
    pub fills_taker: u64,
    /// Quantity traded (contracts), both sides.
    #[serde(serialize_with = "text")]
    pub volume: Qty,
    /// Value traded, both sides, in the settlement currency: Σ qty·size·price (linear) or
    /// Σ qty·size/price (inverse).
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
    /// Per-minute equity changes (1-minute returns) used for Sharpe and Sortino.
    pub minutes: u64,
    /// Annualised from 1-minute returns: mean / stdev of per-minute equity changes ×
    /// √(525600) (365-day year).
    pub sharpe: Option<f64>,
    /// Annualised from 1-minute returns: mean / downside deviation (root mean square of the
    /// negative changes) × √(525600).
    pub sortino: Option<f64>,
    /// Largest peak-to-trough fall of the per-second equity.
    pub max_drawdown: Money,
    pub pnl_over_max_drawdown: Option<f64>,
    /// Mean of side × (mid − price) at each fill, price units (positive = bought below mid
    /// or sold above it), and in basis points of mid.
    pub avg_captured_spread: Option<f64>,
    pub avg_captured_spread_bps: Option<f64>,
    pub markouts: Vec<Markout>,
    /// The markouts by side and by queue position at the fill: one row per group that had a
    /// fill and horizon, groups in a fixed order.
    pub markouts_by: Vec<GroupMarkout>,
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
    let unit = |field: &str| {
        s.units.iter().find(|(k, _)| *k == field).map_or("-", |(_, v)| v.as_str()).to_owned()
    };
    let mut rows: Vec<(String, String)> = vec![
        ("market".into(), format!("{}/{}", s.venue, s.market)),
        ("contract".into(), s.contract.clone()),
        (
            "units".into(),
            format!(
                "money {}, quantities {}, prices {}",
                unit("pnl_net"),
                unit("volume"),
                unit("final_mid")
            ),
        ),
        ("strategy".into(), s.strategy.clone()),
        (
            "clock".into(),
            match s.feed_latency_ns {
                Some(ns) => format!(
                    "{} (ts_event + {})",
                    s.clock,
                    super::settings::latency_text(super::settings::Latency::Constant(ns))
                ),
                None => s.clock.clone(),
            },
        ),
        ("events".into(), s.events.to_string()),
        ("from".into(), ts(s.first_ts_recv)),
        ("to".into(), ts(s.last_ts_recv)),
        ("duration (s)".into(), format!("{:.3}", s.duration_seconds)),
        ("orders sent / rejected".into(), format!("{} / {}", s.orders_sent, s.orders_rejected)),
        ("fills bid / ask".into(), format!("{} / {}", s.fills_bid, s.fills_ask)),
        (
            "fills by queue / through / crossing / taker".into(),
            format!(
                "{} / {} / {} / {}",
                s.fills_queue, s.fills_through, s.fills_crossing, s.fills_taker
            ),
        ),
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
    // One line per group: its mean markouts in bps at each horizon, and its fill counts.
    for chunk in s.markouts_by.chunks(3) {
        let Some(first) = chunk.first() else { continue };
        let bps: Vec<String> = chunk.iter().map(|m| opt_f64(m.mean_bps, 3)).collect();
        let fills: Vec<String> = chunk.iter().map(|m| m.fills.to_string()).collect();
        let hs: Vec<String> = chunk.iter().map(|m| format!("{}s", m.horizon_seconds)).collect();
        rows.push((
            format!("markouts of {} fills", first.group),
            format!("{} bps at {} ({} fills)", bps.join(" / "), hs.join(" / "), fills.join(" / ")),
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

/// The top-level summary fields that are one CSV column each, in column order; the CSV
/// adds the markouts, diagnostics, notes and settings after them (see [`csv`]).
const CSV_FIELDS: [&str; 40] = [
    "venue",
    "market",
    "base_asset",
    "quote_currency",
    "contract",
    "settlement_currency",
    "strategy",
    "clock",
    "feed_latency_seconds",
    "events",
    "first_ts_recv",
    "last_ts_recv",
    "duration_seconds",
    "orders_sent",
    "orders_rejected",
    "fills_bid",
    "fills_ask",
    "fills_queue",
    "fills_through",
    "fills_crossing",
    "fills_taker",
    "volume",
    "turnover",
    "pnl_gross",
    "fees",
    "pnl_net",
    "pnl_realized",
    "pnl_unrealized",
    "final_position",
    "final_cash",
    "final_mid",
    "max_abs_inventory",
    "time_weighted_abs_inventory",
    "minutes",
    "sharpe",
    "sortino",
    "max_drawdown",
    "pnl_over_max_drawdown",
    "avg_captured_spread",
    "avg_captured_spread_bps",
];

/// A JSON value as one CSV field: null is empty, a string its text, a number as in JSON.
fn csv_cell(v: &serde_json::Value) -> String {
    let text = match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// One run as `(column, field)` pairs: `point`, the [`CSV_FIELDS`], then
/// `markouts.<h>s.fills|mean|mean_bps`, `diagnostics.<name>`, `notes` (joined by `; `) and
/// `settings.<key>`, each as it is in summary.json. `markouts_by` is left out: its groups
/// depend on the run, and every row of a CSV must have the same columns.
fn csv_row(point: &str, summary: &Summary) -> serde_json::Result<Vec<(String, String)>> {
    let v = serde_json::to_value(summary)?;
    let mut row = vec![("point".to_owned(), csv_cell(&point.into()))];
    row.extend(CSV_FIELDS.iter().map(|f| ((*f).to_owned(), csv_cell(&v[*f]))));
    for m in v["markouts"].as_array().into_iter().flatten() {
        for key in ["fills", "mean", "mean_bps"] {
            row.push((format!("markouts.{}s.{key}", m["horizon_seconds"]), csv_cell(&m[key])));
        }
    }
    for (key, value) in v["diagnostics"].as_object().into_iter().flatten() {
        row.push((format!("diagnostics.{key}"), csv_cell(value)));
    }
    row.push(("notes".to_owned(), csv_cell(&summary.notes.join("; ").into())));
    for (key, value) in v["settings"].as_object().into_iter().flatten() {
        row.push((format!("settings.{key}"), csv_cell(value)));
    }
    Ok(row)
}

/// The runs as CSV: a header line, then one line per `(point label, summary)`.
pub fn csv(runs: &[(&str, &Summary)]) -> serde_json::Result<String> {
    let mut out = String::new();
    for (i, (point, summary)) in runs.iter().enumerate() {
        let row = csv_row(point, summary)?;
        if i == 0 {
            let header: Vec<&str> = row.iter().map(|(k, _)| k.as_str()).collect();
            out.push_str(&header.join(","));
            out.push('\n');
        }
        let cells: Vec<&str> = row.iter().map(|(_, v)| v.as_str()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// The runs' summaries as JSON lines, each object as in summary.json.
pub fn json_lines(runs: &[(&str, &Summary)]) -> serde_json::Result<String> {
    let mut out = String::new();
    for (_, summary) in runs {
        out.push_str(&serde_json::to_string(summary)?);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_column_for_every_field_and_a_row_per_run() {
        let a = Summary {
            venue: "extended".into(),
            market: "ETH-USD".into(),
            pnl_net: Money::from_raw(-15_000_000_000_000),
            sharpe: Some(1.25),
            markouts: vec![Markout {
                horizon_seconds: 1,
                fills: 2,
                mean: Some(0.5),
                mean_bps: None,
            }],
            notes: vec!["no orders: warm-up, \"long\"".into(), "no fit".into()],
            settings: [("risk_aversion_gamma", "0.1")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
            ..Summary::default()
        };
        let b = Summary { pnl_net: Money::from_units(2), ..a.clone() };
        let text = csv(&[("gamma=0.1", &a), ("gamma=0.2", &b)]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(header[..4], ["point", "venue", "market", "base_asset"]);
        assert!(lines[0].contains(",markouts.1s.fills,markouts.1s.mean,markouts.1s.mean_bps,"));
        assert!(lines[0].contains(",diagnostics.book_frames,") && lines[0].contains(",notes,"));
        assert!(lines[0].ends_with(",settings.risk_aversion_gamma"), "{text}");
        let cell = |line: &str, column: &str| {
            let i = header.iter().position(|h| *h == column).unwrap();
            line.split(',').nth(i).unwrap().to_owned()
        };
        assert_eq!(cell(lines[1], "point"), "gamma=0.1");
        assert_eq!(cell(lines[1], "pnl_net"), "-0.0015");
        assert_eq!(cell(lines[2], "pnl_net"), "2");
        assert_eq!(cell(lines[1], "sharpe"), "1.25");
        assert_eq!(cell(lines[1], "sortino"), "");
        assert_eq!(cell(lines[1], "markouts.1s.mean"), "0.5");
        assert!(lines[1].contains(r#","no orders: warm-up, ""long""; no fit","#), "{text}");
        assert!(lines[1].ends_with(",0.1"), "a number stays a number: {text}");

        // Every top-level scalar of summary.json has its column.
        let v = serde_json::to_value(&a).unwrap();
        let nested = ["units", "settings", "markouts", "markouts_by", "diagnostics", "notes"];
        let mut scalars: Vec<&str> = v
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !nested.contains(k))
            .collect();
        let mut columns = CSV_FIELDS.to_vec();
        scalars.sort_unstable();
        columns.sort_unstable();
        assert_eq!(scalars, columns);

        let json = json_lines(&[("", &a), ("", &b)]).unwrap();
        assert_eq!(json.lines().count(), 2);
        assert_eq!(json.lines().next().unwrap(), serde_json::to_string(&a).unwrap());
    }

    #[test]
    fn summary_json_keeps_field_order_and_money_as_strings() {
        let s = Summary {
            venue: "extended".into(),
            market: "ETH-USD".into(),
            strategy: "as".into(),
            feed_latency_ns: Some(5_000_000),
            pnl_net: Money::from_raw(-15_000_000_000_000),
            volume: Qty::from_raw(150_000_000),
            ..Summary::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.starts_with(
                r#"{"venue":"extended","market":"ETH-USD","base_asset":null,"quote_currency":null,"contract":"","settlement_currency":null,"units":{},"strategy":"as","clock":"","feed_latency_seconds":0.005,"settings":{},"events":0,"#
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
        assert!(text.contains("(ts_event + 5ms)"), "{text}");
    }

    #[test]
    fn settings_are_numbers_switches_or_text() {
        use serde_json::json;
        assert_eq!(setting_json("risk_aversion_gamma", "0.001"), json!(0.001));
        assert_eq!(setting_json("max_volatility", "1000000000000"), json!(1_000_000_000_000u64));
        assert_eq!(setting_json("min_volatility", "0.000000000001"), json!(1e-12));
        assert_eq!(setting_json("seed", "18446744073709551615"), json!(u64::MAX));
        assert_eq!(setting_json("partial_fills", "false"), json!(false));
        for (key, text) in [
            ("order_size", "0.01"),
            ("cash_limit", "250.5"),
            ("order_size", "default"),
            ("entry_latency", "10ms"),
            ("queue_model", "prob_power(2)"),
            ("x", "1e5"),
            ("x", "NaN"),
            ("x", "-"),
        ] {
            assert_eq!(setting_json(key, text), json!(text), "{key}={text}");
        }
        let s = Summary {
            settings: [("order_size", "0.01"), ("maker_fee_bps", "1.5")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
            ..Summary::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""settings":{"maker_fee_bps":1.5,"order_size":"0.01"}"#), "{json}");
    }

    #[test]
    fn currencies_and_units_come_from_the_market_name() {
        let pair = |b: &str, q: &str| Some((b.to_owned(), q.to_owned()));
        assert_eq!(currencies("ETH-USD"), pair("ETH", "USD"));
        assert_eq!(currencies("BTCUSDT"), pair("BTC", "USDT"));
        assert_eq!(currencies("ETHBTC"), pair("ETH", "BTC"));
        assert_eq!(currencies("BTCUSD_PERP"), pair("BTC", "USD"));
        assert_eq!(currencies("BTCFDUSD"), pair("BTC", "FDUSD"));
        assert_eq!(currencies("USDT"), None);
        assert_eq!(currencies("WEIRD"), None);
        assert_eq!(currencies("A-B-C"), None);
        let units = units(currencies("BTCUSDT").as_ref());
        let unit = |k: &str| units.iter().find(|(f, _)| *f == k).map(|(_, u)| u.as_str());
        assert_eq!(unit("pnl_net"), Some("USDT"));
        assert_eq!(unit("volume"), Some("BTC"));
        assert_eq!(unit("final_mid"), Some("USDT per BTC"));
        assert!(unit("sharpe").is_some_and(|u| u.starts_with("annualised from 1-minute returns")));
        let inverse = units_for(currencies("BTCUSD_PERP").as_ref(), "inverse:100".parse().unwrap());
        let unit = |k: &str| inverse.iter().find(|(f, _)| *f == k).map(|(_, u)| u.as_str());
        assert_eq!(unit("pnl_net"), Some("BTC"), "inverse: money in the base asset");
        assert_eq!(unit("turnover"), Some("BTC"));
        assert_eq!(unit("volume"), Some("contracts of 100 USD"));
        assert_eq!(unit("final_mid"), Some("USD per BTC"));
        assert_eq!(unit("settings.cash_limit"), Some("BTC"));
        let unknown = super::units(None);
        assert!(unknown.iter().any(|(k, u)| *k == "fees" && u == "quote currency"));
    }
}
