//! The L2 order-book imbalance strategy (issue 7's second strategy, to show the
//! [`Strategy`] trait is real): it takes liquidity on a lopsided top of book and exits on a
//! profit target, a stop loss or a time stop. Settings and defaults: [`ImbalanceSettings`].
//!
//! With no position and no order out: summed size of the best `levels` bids over that of the
//! asks above `buy_ratio` → buy `order_size` with an immediate-or-cancel order at the best ask;
//! below `sell_ratio` → sell at the best bid. In a position: mid's move since the entry fill,
//! in basis points of the entry price, at or beyond `profit_target_bps` for us or
//! `stop_loss_bps` against us, or `time_stop_seconds` held → close the whole position with an
//! IOC at the opposite best. Both legs pay the taker fee. Nothing is done during warm-up or
//! while an order is out.

use crate::backtest::settings::{ns, number, seconds, Base, Config, SettingsError};
use crate::backtest::strategy::{
    OrderKind, Orders, Registered, Report, ReportKind, Strategy, View,
};
use crate::model::{BookSide, Price, Qty};
use crate::storage::BookTopRow;

/// The L2 imbalance strategy: with no position, it buys `order_size` at market when the
/// summed size of the best `levels` bids is more than `buy_ratio` times that of the asks, and
/// sells when it is less than `sell_ratio` times; it closes at market when mid has moved
/// `profit_target_bps` for it or `stop_loss_bps` against it since the entry fill, or after
/// `time_stop_seconds`. The defaults (10 / 20 bps, 300 s) are a few spreads of a liquid perp,
/// well inside one calibration window; the ratios are the issue's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImbalanceSettings {
    pub levels: usize,
    pub buy_ratio: f64,
    pub sell_ratio: f64,
    pub profit_target_bps: f64,
    pub stop_loss_bps: f64,
    pub time_stop_seconds: f64,
}

impl Default for ImbalanceSettings {
    fn default() -> Self {
        Self {
            levels: 5,
            buy_ratio: 3.0,
            sell_ratio: 0.33,
            profit_target_bps: 10.0,
            stop_loss_bps: 20.0,
            time_stop_seconds: 300.0,
        }
    }
}

/// [`ImbalanceSettings`] validated, with the time stop in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImbalanceConfig {
    pub settings: ImbalanceSettings,
    pub time_stop_ns: i64,
}

impl Registered for Imbalance {
    const NAMES: &'static [&'static str] = &["imbalance"];
    const USES_FIT: bool = false;
    const KEYS: &'static [(&'static str, &'static str)] = &[
        ("imbalance_levels", "strategy"),
        ("imbalance_buy_ratio", "imbalance_levels"),
        ("imbalance_sell_ratio", "imbalance_buy_ratio"),
        ("profit_target_bps", "imbalance_sell_ratio"),
        ("stop_loss_bps", "profit_target_bps"),
        ("time_stop_seconds", "stop_loss_bps"),
    ];
    const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("profit_target", "profit_target_bps"),
        ("stop_loss", "stop_loss_bps"),
        ("time_stop", "time_stop_seconds"),
    ];
    type Settings = ImbalanceSettings;
    type Config = ImbalanceConfig;

    fn set(
        im: &mut ImbalanceSettings,
        key: &'static str,
        value: &str,
    ) -> Result<(), SettingsError> {
        match key {
            "imbalance_levels" => {
                im.levels = value.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected: "a positive integer",
                    }
                })?
            }
            "imbalance_buy_ratio" => im.buy_ratio = number(key, value)?,
            "imbalance_sell_ratio" => im.sell_ratio = number(key, value)?,
            "profit_target_bps" => im.profit_target_bps = number(key, value)?,
            "stop_loss_bps" => im.stop_loss_bps = number(key, value)?,
            "time_stop_seconds" => im.time_stop_seconds = seconds(key, value)?,
            _ => return Err(SettingsError::UnknownKey { key: key.to_owned() }),
        }
        Ok(())
    }

    fn text(im: &ImbalanceSettings, key: &str) -> Option<String> {
        Some(match key {
            "imbalance_levels" => im.levels.to_string(),
            "imbalance_buy_ratio" => im.buy_ratio.to_string(),
            "imbalance_sell_ratio" => im.sell_ratio.to_string(),
            "profit_target_bps" => im.profit_target_bps.to_string(),
            "stop_loss_bps" => im.stop_loss_bps.to_string(),
            "time_stop_seconds" => im.time_stop_seconds.to_string(),
            _ => return None,
        })
    }

    fn resolve(im: &ImbalanceSettings, _base: &Base<'_>) -> Result<ImbalanceConfig, SettingsError> {
        let invalid = |m: &str| Err(SettingsError::Invalid(m.to_owned()));
        if !(im.buy_ratio > 0.0 && im.sell_ratio > 0.0 && im.sell_ratio < im.buy_ratio) {
            return invalid(
                "imbalance ratios: need 0 < imbalance_sell_ratio < imbalance_buy_ratio",
            );
        }
        if !(im.profit_target_bps > 0.0 && im.stop_loss_bps > 0.0) {
            return invalid("profit_target_bps and stop_loss_bps must be positive");
        }
        Ok(ImbalanceConfig {
            settings: *im,
            time_stop_ns: ns("time_stop_seconds", im.time_stop_seconds)?,
        })
    }

    fn new(config: &Config) -> Self {
        Imbalance::new(config)
    }
}

#[derive(Debug, Clone)]
pub struct Imbalance {
    settings: ImbalanceSettings,
    order_size: Qty,
    time_stop_ns: i64,
    /// Entry price and strategy time of the open position.
    entry: Option<(Price, i64)>,
}

impl Imbalance {
    pub fn new(config: &Config) -> Self {
        let own = config.strategies.imbalance;
        Self {
            settings: own.settings,
            order_size: config.order_size,
            time_stop_ns: own.time_stop_ns,
            entry: None,
        }
    }

    /// Summed size of the best `levels` bids over that of the asks; `None` without asks.
    pub fn ratio(&self, top: &BookTopRow) -> Option<f64> {
        let sum = |levels: &[crate::model::Level]| -> i64 {
            levels.iter().take(self.settings.levels).map(|l| l.qty.raw()).sum()
        };
        let (bids, asks) = (sum(&top.bids), sum(&top.asks));
        (asks > 0).then(|| bids as f64 / asks as f64)
    }
}

impl Strategy for Imbalance {
    fn on_top(&mut self, view: &View<'_>, top: &BookTopRow, out: &mut Orders) {
        if view.warming_up || !view.orders.is_empty() {
            return;
        }
        let (Some(bid), Some(ask)) = (view.best_bid, view.best_ask) else { return };
        let position = view.position.raw();
        if position == 0 {
            let Some(ratio) = self.ratio(top) else { return };
            if ratio > self.settings.buy_ratio {
                out.place(BookSide::Bid, ask, self.order_size, OrderKind::Ioc);
            } else if ratio < self.settings.sell_ratio {
                out.place(BookSide::Ask, bid, self.order_size, OrderKind::Ioc);
            }
            return;
        }
        let now = view.now.as_nanos();
        let (entry, since) = *self.entry.get_or_insert((bid, now));
        let mid = (bid.to_f64() + ask.to_f64()) / 2.0;
        let dir = position.signum() as f64;
        let moved_bps = dir * (mid - entry.to_f64()) / entry.to_f64() * 1e4;
        let exit = moved_bps >= self.settings.profit_target_bps
            || moved_bps <= -self.settings.stop_loss_bps
            || now - since >= self.time_stop_ns;
        if exit {
            let qty = Qty::from_raw(position.abs());
            if position > 0 {
                out.place(BookSide::Ask, bid, qty, OrderKind::Ioc);
            } else {
                out.place(BookSide::Bid, ask, qty, OrderKind::Ioc);
            }
        }
    }

    fn on_report(&mut self, view: &View<'_>, report: &Report, _out: &mut Orders) {
        if let ReportKind::Filled { price, .. } = report.kind {
            if view.position.is_zero() {
                self.entry = None;
            } else if self.entry.is_none() {
                self.entry = Some((price, report.ts.as_nanos()));
            }
        }
    }
}
