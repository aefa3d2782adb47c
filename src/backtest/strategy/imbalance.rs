//! The L2 order-book imbalance strategy (issue 7's second strategy, to show the
//! [`Strategy`] trait is real): it takes liquidity on a lopsided top of book and exits on a
//! profit target, a stop loss or a time stop. Settings and defaults:
//! [`crate::backtest::settings::ImbalanceSettings`].
//!
//! With no position and no order out: summed size of the best `levels` bids over that of the
//! asks above `buy_ratio` → buy `order_size` with an immediate-or-cancel order at the best ask;
//! below `sell_ratio` → sell at the best bid. In a position: mid's move since the entry fill,
//! in basis points of the entry price, at or beyond `profit_target_bps` for us or
//! `stop_loss_bps` against us, or `time_stop_seconds` held → close the whole position with an
//! IOC at the opposite best. Both legs pay the taker fee. Nothing is done during warm-up or
//! while an order is out.

use crate::backtest::settings::ImbalanceSettings;
use crate::backtest::strategy::{OrderKind, Orders, Report, ReportKind, Strategy, View};
use crate::model::{BookSide, Price, Qty};
use crate::storage::BookTopRow;

#[derive(Debug, Clone)]
pub struct Imbalance {
    settings: ImbalanceSettings,
    order_size: Qty,
    time_stop_ns: i64,
    /// Entry price and strategy time of the open position.
    entry: Option<(Price, i64)>,
}

impl Imbalance {
    pub fn new(config: &crate::backtest::settings::Config) -> Self {
        Self {
            settings: config.imbalance,
            order_size: config.order_size,
            time_stop_ns: config.time_stop_ns,
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
