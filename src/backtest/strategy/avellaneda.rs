//! The Avellaneda–Stoikov market maker of docs/MODEL.md, as the original recorder project ran it:
//! on every book frame it computes the quote with [`crate::model::quote::quote`] (the same
//! code `mdkit spread` prints) from the latest calibration and places, moves or refreshes one
//! post-only order per side.
//!
//! No quote: during warm-up (start, and after a data gap), before the first calibration or
//! when it lacks σ or a κ, with a one-sided book, on a side whose last fill was reported less
//! than `fill_cooldown_seconds` ago, and on the side where inventory is at `max_inventory`.
//! The size is `order_size`, cut so a fill cannot pass `max_inventory`. A fill report that
//! leaves part of an order open cancels the rest (the side is cooling down). An unchanged
//! quote is still sent as a refresh, which keeps its queue place and its validity.
//!
//! Its settings ([`AvellanedaSettings`]) are the quote's: T, γ and its mode, the inventory skew,
//! the max shift,
//! the spread bounds and the σ clamps, with docs/MODEL.md's names, aliases and defaults (those of
//! [`QuoteSettings`], shared with `mdkit spread`). q_max in lots and the maker fee are the
//! engine's settings; the quote reads them from there.

use crate::backtest::settings::{number, seconds, Base, Config, SettingsError};
use crate::backtest::strategy::{
    requote, side_index, Orders, Registered, Report, ReportKind, Strategy, View,
};
use crate::model::quote::{quote, GammaMode, QuoteInputs, QuoteSettings};
use crate::model::{BookSide, Price, Qty};
use crate::storage::BookTopRow;

/// The AS quote's own settings, as given (docs/MODEL.md "Quotes"). Two settings are equal when
/// they quote alike: the γ mode is compared as [`AvellanedaSettings::effective_gamma_mode`].
#[derive(Debug, Clone)]
pub struct AvellanedaSettings {
    pub inventory_horizon_seconds: f64,
    pub risk_aversion_gamma: f64,
    /// `None`: `constant` when `risk_aversion_gamma` was set, else `inventory_skew`.
    pub gamma_mode: Option<GammaMode>,
    /// Whether `risk_aversion_gamma` was set (a γ alone means a constant γ).
    pub gamma_given: bool,
    pub inventory_skew: f64,
    pub max_shift_ticks: f64,
    pub min_spread_bps: f64,
    pub max_spread_bps: f64,
    pub min_volatility: f64,
    pub max_volatility: f64,
}

impl Default for AvellanedaSettings {
    fn default() -> Self {
        let q = QuoteSettings::default();
        Self {
            inventory_horizon_seconds: q.inventory_horizon_seconds,
            risk_aversion_gamma: q.risk_aversion_gamma,
            gamma_mode: None,
            gamma_given: false,
            inventory_skew: q.inventory_skew,
            max_shift_ticks: q.max_shift_ticks,
            min_spread_bps: q.min_spread_bps,
            max_spread_bps: q.max_spread_bps,
            min_volatility: q.min_volatility,
            max_volatility: q.max_volatility,
        }
    }
}

impl PartialEq for AvellanedaSettings {
    fn eq(&self, other: &Self) -> bool {
        let key = |s: &Self| {
            (
                s.inventory_horizon_seconds,
                s.risk_aversion_gamma,
                s.effective_gamma_mode(),
                s.inventory_skew,
                s.max_shift_ticks,
                (s.min_spread_bps, s.max_spread_bps, s.min_volatility, s.max_volatility),
            )
        };
        key(self) == key(other)
    }
}

impl AvellanedaSettings {
    /// The γ mode: as set, else `constant` when γ was set, else the scale-free default.
    pub fn effective_gamma_mode(&self) -> GammaMode {
        match (self.gamma_mode, self.gamma_given) {
            (Some(mode), _) => mode,
            (None, true) => GammaMode::Constant,
            (None, false) => GammaMode::InventorySkew,
        }
    }
}

impl Registered for Avellaneda {
    const NAMES: &'static [&'static str] = &["as", "avellaneda"];
    const USES_FIT: bool = true;
    const KEYS: &'static [(&'static str, &'static str)] = &[
        ("inventory_horizon_seconds", ""),
        ("risk_aversion_gamma", "inventory_horizon_seconds"),
        ("gamma_mode", "risk_aversion_gamma"),
        ("inventory_skew", "gamma_mode"),
        ("max_shift_ticks", "inventory_skew"),
        ("min_spread_bps", "recalibration_interval_seconds"),
        ("max_spread_bps", "min_spread_bps"),
        ("min_volatility", "max_spread_bps"),
        ("max_volatility", "min_volatility"),
    ];
    const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("gamma", "risk_aversion_gamma"),
        ("skew", "inventory_skew"),
        ("horizon", "inventory_horizon_seconds"),
        ("max_shift", "max_shift_ticks"),
        ("min_spread", "min_spread_bps"),
        ("max_spread", "max_spread_bps"),
    ];
    type Settings = AvellanedaSettings;
    /// The whole quote setting, with the engine's q_max in lots and maker fee.
    type Config = QuoteSettings;

    fn set(
        s: &mut AvellanedaSettings,
        key: &'static str,
        value: &str,
    ) -> Result<(), SettingsError> {
        match key {
            "inventory_horizon_seconds" => s.inventory_horizon_seconds = seconds(key, value)?,
            "risk_aversion_gamma" => {
                s.risk_aversion_gamma = number(key, value)?;
                s.gamma_given = true;
            }
            "gamma_mode" => {
                s.gamma_mode = Some(value.trim().parse::<GammaMode>().map_err(|_| {
                    SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected: "inventory_skew, constant, inventory_scaled or max_shift",
                    }
                })?)
            }
            "inventory_skew" => s.inventory_skew = number(key, value)?,
            "max_shift_ticks" => s.max_shift_ticks = number(key, value)?,
            "min_spread_bps" => s.min_spread_bps = number(key, value)?,
            "max_spread_bps" => s.max_spread_bps = number(key, value)?,
            "min_volatility" => s.min_volatility = number(key, value)?,
            "max_volatility" => s.max_volatility = number(key, value)?,
            _ => return Err(SettingsError::UnknownKey { key: key.to_owned() }),
        }
        Ok(())
    }

    fn text(s: &AvellanedaSettings, key: &str) -> Option<String> {
        Some(match key {
            "inventory_horizon_seconds" => s.inventory_horizon_seconds.to_string(),
            "risk_aversion_gamma" => s.risk_aversion_gamma.to_string(),
            "gamma_mode" => s.effective_gamma_mode().to_string(),
            "inventory_skew" => s.inventory_skew.to_string(),
            "max_shift_ticks" => s.max_shift_ticks.to_string(),
            "min_spread_bps" => s.min_spread_bps.to_string(),
            "max_spread_bps" => s.max_spread_bps.to_string(),
            "min_volatility" => s.min_volatility.to_string(),
            "max_volatility" => s.max_volatility.to_string(),
            _ => return None,
        })
    }

    fn resolve(s: &AvellanedaSettings, base: &Base<'_>) -> Result<QuoteSettings, SettingsError> {
        let quote = QuoteSettings {
            inventory_horizon_seconds: s.inventory_horizon_seconds,
            risk_aversion_gamma: s.risk_aversion_gamma,
            gamma_mode: s.effective_gamma_mode(),
            inventory_skew: s.inventory_skew,
            max_shift_ticks: s.max_shift_ticks,
            max_inventory_lots: base.max_inventory_lots,
            maker_fee_bps: base.settings.maker_fee_bps,
            min_spread_bps: s.min_spread_bps,
            max_spread_bps: s.max_spread_bps,
            min_volatility: s.min_volatility,
            max_volatility: s.max_volatility,
        };
        quote.validate().map_err(|e| SettingsError::Invalid(e.to_string()))?;
        Ok(quote)
    }

    fn new(config: &Config) -> Self {
        Avellaneda::new(config)
    }
}

/// The AS strategy's state: the settings and when each side last filled.
#[derive(Debug, Clone)]
pub struct Avellaneda {
    settings: QuoteSettings,
    order_size: i64,
    max_inventory: i64,
    cooldown_ns: i64,
    /// Strategy time of the last fill report per side (bid, ask).
    last_fill: [Option<i64>; 2],
}

impl Avellaneda {
    pub fn new(config: &Config) -> Self {
        Self {
            settings: config.strategies.avellaneda.clone(),
            order_size: config.order_size.raw(),
            max_inventory: config.max_inventory.raw(),
            cooldown_ns: config.fill_cooldown_ns,
            last_fill: [None; 2],
        }
    }

    /// The wanted `(price, size)` per side, or `None`.
    fn wanted(&self, view: &View<'_>) -> [Option<(Price, Qty)>; 2] {
        let none = [None, None];
        if view.warming_up {
            return none;
        }
        let (Some(best_bid), Some(best_ask)) = (view.best_bid, view.best_ask) else { return none };
        let Some(cal) = view.calibration else { return none };
        let (Some(sigma), Some(kappa_bid), Some(kappa_ask)) =
            (cal.fit.sigma, cal.fit.bid.kappa, cal.fit.ask.kappa)
        else {
            return none;
        };
        let position = view.position.raw();
        let inputs = QuoteInputs {
            best_bid,
            best_ask,
            tick: view.config.tick,
            sigma,
            kappa_bid,
            kappa_ask,
            inventory_lots: position as f64 / self.order_size as f64,
        };
        let Ok(q) = quote(&self.settings, &inputs) else { return none };
        let now = view.now.as_nanos();
        let cooling = |side: BookSide| {
            self.last_fill[side_index(side)]
                .is_some_and(|t| now < t.saturating_add(self.cooldown_ns))
        };
        let room_bid = (self.max_inventory - position).min(self.order_size);
        let room_ask = (self.max_inventory + position).min(self.order_size);
        let bid = q.bid.filter(|_| room_bid > 0 && !cooling(BookSide::Bid));
        let ask = q.ask.filter(|_| room_ask > 0 && !cooling(BookSide::Ask));
        [bid.map(|p| (p, Qty::from_raw(room_bid))), ask.map(|p| (p, Qty::from_raw(room_ask)))]
    }
}

impl Strategy for Avellaneda {
    fn on_top(&mut self, view: &View<'_>, _top: &BookTopRow, out: &mut Orders) {
        requote(view, self.wanted(view), out);
    }

    fn on_report(&mut self, _view: &View<'_>, report: &Report, out: &mut Orders) {
        if let ReportKind::Filled { leaves, .. } = report.kind {
            self.last_fill[side_index(report.side)] = Some(report.ts.as_nanos());
            if leaves.raw() > 0 && self.cooldown_ns > 0 {
                out.cancel(report.id);
            }
        }
    }
}
