//! Every backtest setting of docs/MODEL.md at its default, read from `config.json` and set by name
//! from flags and `--sweep KEY=V1,V2`, and the validated integer form the engine runs on
//! ([`Config`], from [`Settings::resolve`] with the market's increments).
//!
//! This module holds the engine's settings (sizes, fees, latency, fill and queue models,
//! warm-up, recalibration windows, …); each strategy's own settings live in its file under
//! [`crate::backtest::strategy`] and reach [`Settings`] through the registry there. [`keys`]
//! merges both into docs/MODEL.md's order.
//!
//! Names are docs/MODEL.md's, plus short aliases (`cooldown`, `warmup`, …; see [`ALIASES`], and
//! each strategy's own, such as `gamma` and `horizon`). A `config.json` is shared with the recorder, so keys this module does not know
//! are ignored there; [`Settings::set`] refuses them, since a flag or a sweep key with a typo
//! must not silently do nothing.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use crate::backtest::event::MarketSpec;
use crate::backtest::latency::{LatencyFileError, OrderLatency};
use crate::backtest::strategy::{self, StrategyConfigs, StrategyKind, StrategySettings};
use crate::model::contract::Contract;
use crate::model::money::{FeeRate, Money};
use crate::model::quote::QuoteSettings;
use crate::model::{parse_duration, parse_raw, Price, Qty, NANOS_PER_SEC};

/// A setting that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("{}", crate::process::unknown_setting(key, &known_names()))]
    UnknownKey { key: String },
    #[error("setting {key}: {value:?} is not {expected}")]
    BadValue { key: &'static str, value: String, expected: &'static str },
    #[error("settings: {0}")]
    Invalid(String),
    #[error("config file {path}: {message}")]
    Config { path: String, message: String },
    #[error(transparent)]
    LatencyFile(#[from] LatencyFileError),
}

/// How resting orders fill (docs/MODEL.md "Simulated exchange").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillModel {
    /// Optimistic: a bid fills when a taker SELL prints at or below it or the best ask drops
    /// to or below it, while the quote is valid.
    Cross,
    /// Realistic: the order joins the back of its level and waits for the queue ahead.
    #[default]
    Queue,
}

/// How level shrinkage that is not a trade moves a queued order forward.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum QueueModel {
    /// Only trades at the order's price advance it; cancellations are all assumed behind.
    /// The most conservative model, hence the default.
    #[default]
    RiskAverse,
    /// The share of a decrease that happens ahead is aheadⁿ / (aheadⁿ + behindⁿ).
    ProbPower(f64),
    /// The share ahead is ln(1+ahead) / (ln(1+ahead) + ln(1+behind)).
    ProbLog,
}

/// Latency of one leg of the order path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// A fixed delay in nanoseconds.
    Constant(i64),
    /// The recorded feed latency of the latest market event, `ts_recv − ts_event`, floored at
    /// zero (a skewed receive clock can make it negative).
    Feed,
}

/// `order_latency`: a recorded latency file ([`OrderLatency`]) and the path it was read from,
/// as given (the summary records the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLatencyFile {
    pub path: String,
    pub table: Arc<OrderLatency>,
}

/// Every setting of a backtest, as given (docs/MODEL.md's table and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// q_max in lots (units of `order_size`), used when `max_inventory` is not given.
    pub max_inventory_lots: f64,
    /// Charged on our resting orders' fills; the AS quote also keeps its spread above twice it.
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    /// Quote size; `None` = the market's lot × 10.
    pub order_size: Option<Qty>,
    /// q_max in base units; `None` = `max_inventory_lots` × `order_size`.
    pub max_inventory: Option<Qty>,
    /// How far cash may go below zero (credit for buying); `None` = unlimited.
    pub cash_limit: Option<Money>,
    pub fill_cooldown_seconds: f64,
    pub quote_validity_seconds: f64,
    pub gap_threshold_seconds: f64,
    pub warmup_period_seconds: f64,
    /// Read by the replay's recalibration schedule, not by the engine.
    pub calibration_window_seconds: f64,
    pub recalibration_interval_seconds: f64,
    pub entry_latency: Latency,
    pub response_latency: Latency,
    /// Recorded order latency; when set it replaces `entry_latency` and `response_latency`.
    pub order_latency: Option<OrderLatencyFile>,
    pub fill_model: FillModel,
    pub queue_model: QueueModel,
    pub partial_fills: bool,
    /// Recorded in the summary; the engine itself draws no random numbers (the queue models
    /// use their expected value), so results depend on it only through the inputs.
    pub seed: u64,
    /// The strategy that trades.
    pub strategy: StrategyKind,
    /// Every registered strategy's own settings (all kept, so a sweep over `strategy` can
    /// compare them on the same values).
    pub strategies: StrategySettings,
}

impl Default for Settings {
    fn default() -> Self {
        let quote = QuoteSettings::default();
        Self {
            max_inventory_lots: quote.max_inventory_lots,
            maker_fee_bps: quote.maker_fee_bps,
            taker_fee_bps: 4.5,
            order_size: None,
            max_inventory: None,
            cash_limit: None,
            fill_cooldown_seconds: 60.0,
            quote_validity_seconds: 60.0,
            gap_threshold_seconds: 1800.0,
            warmup_period_seconds: 900.0,
            calibration_window_seconds: 3600.0,
            recalibration_interval_seconds: 600.0,
            entry_latency: Latency::Constant(10_000_000),
            response_latency: Latency::Constant(10_000_000),
            order_latency: None,
            fill_model: FillModel::Queue,
            queue_model: QueueModel::RiskAverse,
            partial_fills: false,
            seed: 0,
            strategy: StrategyKind::default(),
            strategies: StrategySettings::default(),
        }
    }
}

/// The engine's keys, in docs/MODEL.md's order; [`keys`] places the strategies' keys among them.
pub const ENGINE_KEYS: &[&str] = &[
    "order_size",
    "max_inventory",
    "max_inventory_lots",
    "maker_fee_bps",
    "taker_fee_bps",
    "fill_cooldown_seconds",
    "quote_validity_seconds",
    "gap_threshold_seconds",
    "warmup_period_seconds",
    "calibration_window_seconds",
    "recalibration_interval_seconds",
    "entry_latency",
    "response_latency",
    "order_latency",
    "fill_model",
    "queue_model",
    "partial_fills",
    "cash_limit",
    "seed",
    "strategy",
];

/// Every key [`Settings::set`] accepts, in docs/MODEL.md's order: [`ENGINE_KEYS`] with each
/// registered strategy's keys inserted after the key each names as its predecessor.
pub fn keys() -> &'static [&'static str] {
    static KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut keys = ENGINE_KEYS.to_vec();
        for table in strategy::KEY_TABLES {
            for &(key, after) in *table {
                let at = if after.is_empty() {
                    0
                } else {
                    let i = keys.iter().position(|k| *k == after);
                    i.unwrap_or_else(|| panic!("strategy key {key} follows unknown key {after}"))
                        + 1
                };
                keys.insert(at, key);
            }
        }
        keys
    });
    &KEYS
}

/// The engine's short names accepted by [`Settings::set`] (flags and `--sweep`), and the key
/// each means; the strategies' own are in their files.
pub const ALIASES: &[(&str, &str)] = &[
    ("maker_fee", "maker_fee_bps"),
    ("taker_fee", "taker_fee_bps"),
    ("cooldown", "fill_cooldown_seconds"),
    ("validity", "quote_validity_seconds"),
    ("gap_threshold", "gap_threshold_seconds"),
    ("warmup", "warmup_period_seconds"),
    ("calibration_window", "calibration_window_seconds"),
    ("window", "calibration_window_seconds"),
    ("recalibration_interval", "recalibration_interval_seconds"),
    ("every", "recalibration_interval_seconds"),
    ("partial", "partial_fills"),
];

/// The canonical key for a name or alias (`-` and `_` are interchangeable, as in flags).
/// Every name [`Settings::set`] accepts: docs/MODEL.md names and aliases.
pub fn known_names() -> Vec<&'static str> {
    let mut names = keys().to_vec();
    names.extend(ALIASES.iter().map(|(a, _)| *a));
    names.extend(strategy::ALIAS_TABLES.iter().flat_map(|t| t.iter()).map(|(a, _)| *a));
    names
}

pub fn canonical_key(name: &str) -> Option<&'static str> {
    let name = name.trim().replace('-', "_");
    keys().iter().copied().find(|k| *k == name).or_else(|| {
        ALIASES
            .iter()
            .chain(strategy::ALIAS_TABLES.iter().flat_map(|t| t.iter()))
            .find(|(a, _)| *a == name)
            .map(|(_, k)| *k)
    })
}

pub fn number(key: &'static str, value: &str) -> Result<f64, SettingsError> {
    value.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
        SettingsError::BadValue { key, value: value.to_owned(), expected: "a number" }
    })
}

/// Seconds as a number (`60`, `0.5`) or a duration (`1m`, `250ms`).
pub fn seconds(key: &'static str, value: &str) -> Result<f64, SettingsError> {
    if let Ok(v) = number(key, value) {
        return Ok(v);
    }
    parse_duration(value).map(|d| d.as_secs_f64()).map_err(|_| SettingsError::BadValue {
        key,
        value: value.to_owned(),
        expected: "seconds (a number, or a duration such as 90s or 15m)",
    })
}

fn latency(key: &'static str, value: &str) -> Result<Latency, SettingsError> {
    let value = value.trim();
    if value == "feed" {
        return Ok(Latency::Feed);
    }
    let bad = || SettingsError::BadValue {
        key,
        value: value.to_owned(),
        expected: "a duration with its unit (10ms, 250us, 0) or feed",
    };
    let d = parse_duration(value).map_err(|_| bad())?;
    i64::try_from(d.as_nanos()).map(Latency::Constant).map_err(|_| bad())
}

fn parse_queue_model(value: &str) -> Option<QueueModel> {
    let v = value.trim();
    match v {
        "risk_averse" => return Some(QueueModel::RiskAverse),
        "prob_log" => return Some(QueueModel::ProbLog),
        _ => {}
    }
    let n = v.strip_prefix("prob_power")?;
    let n =
        n.strip_prefix('(').and_then(|n| n.strip_suffix(')')).or_else(|| n.strip_prefix(':'))?;
    let n: f64 = n.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then_some(QueueModel::ProbPower(n))
}

fn bool_value(key: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.trim() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => {
            Err(SettingsError::BadValue { key, value: value.to_owned(), expected: "true or false" })
        }
    }
}

fn qty(key: &'static str, value: &str) -> Result<Qty, SettingsError> {
    Qty::parse(value.trim()).ok().filter(|q| q.raw() > 0).ok_or_else(|| SettingsError::BadValue {
        key,
        value: value.to_owned(),
        expected: "a positive decimal quantity",
    })
}

/// Display form of a latency, as [`Settings::set`] reads it back.
pub fn latency_text(l: Latency) -> String {
    match l {
        Latency::Feed => "feed".to_owned(),
        Latency::Constant(ns) if ns % 1_000_000 == 0 => format!("{}ms", ns / 1_000_000),
        Latency::Constant(ns) if ns % 1_000 == 0 => format!("{}us", ns / 1_000),
        Latency::Constant(ns) => format!("{ns}ns"),
    }
}

/// Display form of a queue model, as [`Settings::set`] reads it back.
pub fn queue_model_text(m: QueueModel) -> String {
    match m {
        QueueModel::RiskAverse => "risk_averse".to_owned(),
        QueueModel::ProbPower(n) => format!("prob_power({n})"),
        QueueModel::ProbLog => "prob_log".to_owned(),
    }
}

impl Settings {
    /// Sets one setting by docs/MODEL.md name or alias from its text form, as a flag or a sweep
    /// value gives it. Cross-setting checks wait for [`Settings::resolve`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingsError> {
        let key =
            canonical_key(key).ok_or_else(|| SettingsError::UnknownKey { key: key.to_owned() })?;
        match key {
            "order_size" => self.order_size = Some(qty(key, value)?),
            "max_inventory" => self.max_inventory = Some(qty(key, value)?),
            "max_inventory_lots" => self.max_inventory_lots = number(key, value)?,
            "maker_fee_bps" => self.maker_fee_bps = number(key, value)?,
            "taker_fee_bps" => self.taker_fee_bps = number(key, value)?,
            "fill_cooldown_seconds" => self.fill_cooldown_seconds = seconds(key, value)?,
            "quote_validity_seconds" => self.quote_validity_seconds = seconds(key, value)?,
            "gap_threshold_seconds" => self.gap_threshold_seconds = seconds(key, value)?,
            "warmup_period_seconds" => self.warmup_period_seconds = seconds(key, value)?,
            "calibration_window_seconds" => self.calibration_window_seconds = seconds(key, value)?,
            "recalibration_interval_seconds" => {
                self.recalibration_interval_seconds = seconds(key, value)?
            }
            "entry_latency" => self.entry_latency = latency(key, value)?,
            "response_latency" => self.response_latency = latency(key, value)?,
            "order_latency" => {
                let path = value.trim();
                self.order_latency = match path {
                    "" | "none" => None,
                    _ => Some(OrderLatencyFile {
                        path: path.to_owned(),
                        table: Arc::new(OrderLatency::read(Path::new(path))?),
                    }),
                };
            }
            "fill_model" => {
                self.fill_model = match value.trim() {
                    "cross" => FillModel::Cross,
                    "queue" => FillModel::Queue,
                    _ => {
                        return Err(SettingsError::BadValue {
                            key,
                            value: value.to_owned(),
                            expected: "cross or queue",
                        })
                    }
                }
            }
            "queue_model" => {
                self.queue_model =
                    parse_queue_model(value).ok_or_else(|| SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected: "risk_averse, prob_power(N) with N > 0, or prob_log",
                    })?
            }
            "partial_fills" => self.partial_fills = bool_value(key, value)?,
            "cash_limit" => {
                let raw = parse_raw(value.trim()).ok().filter(|r| *r >= 0).ok_or_else(|| {
                    SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected:
                            "a non-negative amount of the settlement currency (base if inverse)",
                    }
                })?;
                self.cash_limit = Some(Money::from_raw(i128::from(raw) * 100_000_000));
            }
            "seed" => {
                self.seed = value.trim().parse().map_err(|_| SettingsError::BadValue {
                    key,
                    value: value.to_owned(),
                    expected: "an unsigned integer",
                })?
            }
            "strategy" => {
                self.strategy = StrategyKind::from_name(value.trim()).ok_or_else(|| {
                    SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected: strategy::names_text(),
                    }
                })?
            }
            _ => return self.strategies.set(key, value),
        }
        Ok(())
    }

    /// Applies the keys of a `config.json` object that name backtest settings (by docs/MODEL.md
    /// name or alias). Other keys belong to other commands and are skipped here; a key no
    /// command knows is refused before any command runs (`cli`).
    pub fn apply_json(&mut self, text: &str) -> Result<(), SettingsError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SettingsError::Invalid(format!("not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| SettingsError::Invalid("config must be a JSON object".into()))?;
        for (name, v) in object {
            let Some(key) = canonical_key(name) else { continue };
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            self.set(key, &text)?;
        }
        Ok(())
    }

    /// Defaults, then the backtest keys of a `config.json` file.
    pub fn from_config_file(path: &Path) -> Result<Self, SettingsError> {
        let config_err =
            |message: String| SettingsError::Config { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| config_err(e.to_string()))?;
        let mut s = Settings::default();
        s.apply_json(&text).map_err(|e| config_err(e.to_string()))?;
        Ok(s)
    }

    /// Every setting as `(key, text)` in [`keys`] order: for the summary and sweep labels.
    /// Each text is accepted back by [`Settings::set`].
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<Qty>| v.map_or_else(|| "default".to_owned(), |q| q.to_string());
        let mut out = Vec::with_capacity(keys().len());
        for key in keys() {
            let text = match *key {
                "order_size" => opt(self.order_size),
                "max_inventory" => opt(self.max_inventory),
                "max_inventory_lots" => self.max_inventory_lots.to_string(),
                "maker_fee_bps" => self.maker_fee_bps.to_string(),
                "taker_fee_bps" => self.taker_fee_bps.to_string(),
                "fill_cooldown_seconds" => self.fill_cooldown_seconds.to_string(),
                "quote_validity_seconds" => self.quote_validity_seconds.to_string(),
                "gap_threshold_seconds" => self.gap_threshold_seconds.to_string(),
                "warmup_period_seconds" => self.warmup_period_seconds.to_string(),
                "calibration_window_seconds" => self.calibration_window_seconds.to_string(),
                "recalibration_interval_seconds" => self.recalibration_interval_seconds.to_string(),
                "entry_latency" => latency_text(self.entry_latency),
                "response_latency" => latency_text(self.response_latency),
                "order_latency" => self
                    .order_latency
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |f| f.path.clone()),
                "fill_model" => match self.fill_model {
                    FillModel::Cross => "cross".to_owned(),
                    FillModel::Queue => "queue".to_owned(),
                },
                "queue_model" => queue_model_text(self.queue_model),
                "partial_fills" => self.partial_fills.to_string(),
                "cash_limit" => {
                    self.cash_limit.map_or_else(|| "none".to_owned(), |m| m.to_string())
                }
                "seed" => self.seed.to_string(),
                "strategy" => self.strategy.name().to_owned(),
                other => match self.strategies.text(other) {
                    Some(text) => text,
                    None => continue,
                },
            };
            out.push((*key, text));
        }
        out
    }

    /// Checks every setting and turns it into the engine's integer form for one market. Every
    /// registered strategy's settings are checked, not only the chosen one's.
    pub fn resolve(&self, spec: MarketSpec) -> Result<Config, SettingsError> {
        let invalid = |m: String| Err(SettingsError::Invalid(m));
        if spec.tick.raw() <= 0 || spec.lot.raw() <= 0 {
            return invalid(format!(
                "market tick {} and lot {} must be positive",
                spec.tick, spec.lot
            ));
        }
        let order_size =
            match self.order_size {
                Some(q) => q,
                None => Qty::from_raw(spec.lot.raw().checked_mul(10).ok_or_else(|| {
                    SettingsError::Invalid(format!("lot {} is too large", spec.lot))
                })?),
            };
        // The exchange refuses sizes off the lot (docs/MODEL.md "Simulated exchange"), and a
        // quote is cut to what max_inventory leaves: both must be whole lots.
        let lot = spec.lot.raw();
        if order_size.raw() % lot != 0 {
            return invalid(format!(
                "order_size {order_size} is not a multiple of the lot {}: set a whole number of lots",
                spec.lot
            ));
        }
        let (max_inventory, max_inventory_lots) = match self.max_inventory {
            Some(m) if m.raw() % lot != 0 => {
                return invalid(format!(
                    "max_inventory {m} is not a multiple of the lot {}: set a whole number of lots",
                    spec.lot
                ))
            }
            Some(m) => (m, m.raw() as f64 / order_size.raw() as f64),
            None => {
                let raw = self.max_inventory_lots * order_size.raw() as f64;
                if !((1.0..9e17).contains(&raw)) {
                    return invalid("max_inventory_lots × order_size is out of range".into());
                }
                // Rounded down to whole lots.
                let raw = raw.round() as i64;
                (Qty::from_raw(raw - raw % lot), self.max_inventory_lots)
            }
        };
        let strategies = self.strategies.resolve(&Base { settings: self, max_inventory_lots })?;
        let fee = |name: &str, bps: f64| {
            FeeRate::from_bps(bps)
                .ok_or_else(|| SettingsError::Invalid(format!("{name} is out of range")))
        };
        for l in [self.entry_latency, self.response_latency] {
            if let Latency::Constant(n) = l {
                if n < 0 {
                    return invalid("latency must not be negative".into());
                }
            }
        }
        Ok(Config {
            tick: spec.tick,
            lot: spec.lot,
            contract: spec.contract,
            order_size,
            max_inventory,
            maker_fee: fee("maker_fee_bps", self.maker_fee_bps)?,
            taker_fee: fee("taker_fee_bps", self.taker_fee_bps)?,
            cash_limit: self.cash_limit,
            fill_cooldown_ns: ns("fill_cooldown_seconds", self.fill_cooldown_seconds)?,
            quote_validity_ns: ns("quote_validity_seconds", self.quote_validity_seconds)?,
            gap_threshold_ns: ns("gap_threshold_seconds", self.gap_threshold_seconds)?,
            warmup_ns: ns("warmup_period_seconds", self.warmup_period_seconds)?,
            entry_latency: self.entry_latency,
            response_latency: self.response_latency,
            order_latency: self.order_latency.as_ref().map(|f| Arc::clone(&f.table)),
            fill_model: self.fill_model,
            queue_model: self.queue_model,
            partial_fills: self.partial_fills,
            strategy: self.strategy,
            strategies,
        })
    }
}

/// What a strategy's settings are resolved against: the engine's settings as given, and
/// q_max in lots as the engine resolved it (`max_inventory` / `order_size` when given).
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    pub settings: &'a Settings,
    pub max_inventory_lots: f64,
}

/// Seconds as whole nanoseconds, refused outside 0..9e9 s with the setting named.
pub fn ns(name: &str, secs: f64) -> Result<i64, SettingsError> {
    let v = (secs * NANOS_PER_SEC as f64).round();
    if v.is_finite() && (0.0..9e18).contains(&v) {
        Ok(v as i64)
    } else {
        Err(SettingsError::Invalid(format!("{name} must be between 0 and 9e9 seconds")))
    }
}

/// Validated settings for one market, in the engine's units (ns, raw fixed point, fee rates).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub tick: Price,
    pub lot: Qty,
    /// What a unit of quantity is worth ([`MarketSpec::contract`]).
    pub contract: Contract,
    pub order_size: Qty,
    pub max_inventory: Qty,
    pub maker_fee: FeeRate,
    pub taker_fee: FeeRate,
    pub cash_limit: Option<Money>,
    pub fill_cooldown_ns: i64,
    pub quote_validity_ns: i64,
    pub gap_threshold_ns: i64,
    pub warmup_ns: i64,
    pub entry_latency: Latency,
    pub response_latency: Latency,
    /// Recorded order latency, replacing both legs above when set.
    pub order_latency: Option<Arc<OrderLatency>>,
    pub fill_model: FillModel,
    pub queue_model: QueueModel,
    pub partial_fills: bool,
    pub strategy: StrategyKind,
    /// Every registered strategy's settings, validated.
    pub strategies: StrategyConfigs,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MarketSpec {
        MarketSpec {
            tick: Price::parse("0.01").unwrap(),
            lot: Qty::parse("0.001").unwrap(),
            contract: Contract::LINEAR_1,
        }
    }

    #[test]
    fn defaults_are_model_md() {
        let c = Settings::default().resolve(spec()).unwrap();
        assert_eq!(c.order_size, Qty::parse("0.01").unwrap());
        assert_eq!(c.max_inventory, Qty::parse("0.1").unwrap());
        assert_eq!((c.maker_fee.as_bps(), c.taker_fee.as_bps()), (1.5, 4.5));
        assert_eq!(c.fill_cooldown_ns, 60 * NANOS_PER_SEC);
        assert_eq!(c.quote_validity_ns, 60 * NANOS_PER_SEC);
        assert_eq!(c.gap_threshold_ns, 1800 * NANOS_PER_SEC);
        assert_eq!(c.warmup_ns, 900 * NANOS_PER_SEC);
        assert_eq!(c.entry_latency, Latency::Constant(10_000_000));
        assert_eq!((c.fill_model, c.queue_model), (FillModel::Queue, QueueModel::RiskAverse));
        assert_eq!(c.strategies.avellaneda.inventory_horizon_seconds, 1800.0);
        assert_eq!(c.strategies.avellaneda.risk_aversion_gamma, 0.1);
    }

    #[test]
    fn set_accepts_names_aliases_and_round_trips_entries() {
        let mut s = Settings::default();
        s.set("gamma", "0.05").unwrap();
        s.set("queue-model", "prob_power(3)").unwrap();
        s.set("entry_latency", "feed").unwrap();
        s.set("response_latency", "250us").unwrap();
        s.set("cooldown", "1m").unwrap();
        s.set("max_inventory", "0.05").unwrap();
        s.set("strategy", "imbalance").unwrap();
        assert_eq!(s.strategies.avellaneda.risk_aversion_gamma, 0.05);
        assert_eq!(s.queue_model, QueueModel::ProbPower(3.0));
        assert_eq!(s.fill_cooldown_seconds, 60.0);
        let mut back = Settings::default();
        for (k, v) in s.entries() {
            if v != "default" && v != "none" {
                back.set(k, &v).unwrap();
            }
        }
        assert_eq!(back, s);
        let c = s.resolve(spec()).unwrap();
        assert_eq!(c.strategies.avellaneda.max_inventory_lots, 5.0);
    }

    #[test]
    fn sizes_are_whole_lots() {
        // Lot 0.001: an order_size or max_inventory off it is refused; a max_inventory from
        // max_inventory_lots is rounded down to whole lots (0.33 × 0.01 = 0.0033 → 0.003).
        let mut s = Settings::default();
        s.set("order_size", "0.0015").unwrap();
        let err = s.resolve(spec()).unwrap_err().to_string();
        assert!(err.contains("order_size 0.0015 is not a multiple of the lot 0.001"), "{err}");
        let mut s = Settings::default();
        s.set("max_inventory", "0.0305").unwrap();
        let err = s.resolve(spec()).unwrap_err().to_string();
        assert!(err.contains("max_inventory 0.0305 is not a multiple of the lot"), "{err}");
        let mut s = Settings::default();
        s.set("max_inventory_lots", "0.33").unwrap();
        assert_eq!(s.resolve(spec()).unwrap().max_inventory, Qty::parse("0.003").unwrap());
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut s = Settings::default();
        let err = s.set("gama", "1").unwrap_err();
        assert!(matches!(err, SettingsError::UnknownKey { .. }));
        let err = s.set("entry_latency", "10").unwrap_err();
        assert_eq!(
            err.to_string(),
            "setting entry_latency: \"10\" is not a duration with its unit (10ms, 250us, 0) or feed"
        );
        assert!(s.set("queue_model", "prob_power(-1)").is_err());
        assert!(s.set("fill_model", "magic").is_err());
    }

    #[test]
    fn config_json_applies_known_keys_and_skips_the_recorder_s() {
        let mut s = Settings::default();
        s.apply_json(
            r#"{"risk_aversion_gamma": 0.3, "markets": ["ETH-USD"], "partial_fills": true,
                "order_size": "0.5", "entry_latency": "5ms", "maker_fee_bps": 0}"#,
        )
        .unwrap();
        assert_eq!(s.strategies.avellaneda.risk_aversion_gamma, 0.3);
        assert!(s.partial_fills);
        assert_eq!(s.order_size, Some(Qty::parse("0.5").unwrap()));
        assert_eq!(s.entry_latency, Latency::Constant(5_000_000));
        assert_eq!(s.maker_fee_bps, 0.0);
        assert!(s.apply_json(r#"{"order_size": -1}"#).is_err());
    }

    #[test]
    fn keys_merge_the_strategies_into_model_md_order() {
        let want = [
            "inventory_horizon_seconds",
            "risk_aversion_gamma",
            "gamma_mode",
            "inventory_skew",
            "max_shift_ticks",
            "order_size",
            "max_inventory",
            "max_inventory_lots",
            "maker_fee_bps",
            "taker_fee_bps",
            "fill_cooldown_seconds",
            "quote_validity_seconds",
            "gap_threshold_seconds",
            "warmup_period_seconds",
            "calibration_window_seconds",
            "recalibration_interval_seconds",
            "min_spread_bps",
            "max_spread_bps",
            "min_volatility",
            "max_volatility",
            "entry_latency",
            "response_latency",
            "order_latency",
            "fill_model",
            "queue_model",
            "partial_fills",
            "cash_limit",
            "seed",
            "strategy",
            "imbalance_levels",
            "imbalance_buy_ratio",
            "imbalance_sell_ratio",
            "profit_target_bps",
            "stop_loss_bps",
            "time_stop_seconds",
            "glft_gamma",
            "glft_xi",
        ];
        assert_eq!(keys(), want);
        let aliases = [
            ("gamma", "risk_aversion_gamma"),
            ("skew", "inventory_skew"),
            ("horizon", "inventory_horizon_seconds"),
            ("max_shift", "max_shift_ticks"),
            ("maker_fee", "maker_fee_bps"),
            ("taker_fee", "taker_fee_bps"),
            ("cooldown", "fill_cooldown_seconds"),
            ("validity", "quote_validity_seconds"),
            ("gap_threshold", "gap_threshold_seconds"),
            ("warmup", "warmup_period_seconds"),
            ("calibration_window", "calibration_window_seconds"),
            ("window", "calibration_window_seconds"),
            ("recalibration_interval", "recalibration_interval_seconds"),
            ("every", "recalibration_interval_seconds"),
            ("min_spread", "min_spread_bps"),
            ("max_spread", "max_spread_bps"),
            ("partial", "partial_fills"),
            ("profit_target", "profit_target_bps"),
            ("stop_loss", "stop_loss_bps"),
            ("time_stop", "time_stop_seconds"),
        ];
        for (alias, key) in aliases {
            assert_eq!(canonical_key(alias), Some(key), "{alias}");
        }
        let err = Settings::default().set("strategy", "x").unwrap_err();
        assert_eq!(err.to_string(), "setting strategy: \"x\" is not as, imbalance or glft");
        let mut s = Settings::default();
        s.set("strategy", "avellaneda").unwrap();
        assert_eq!(s.strategy, StrategyKind::As);
    }
}
