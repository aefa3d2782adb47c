//! The Avellaneda–Stoikov market maker of MODEL.md, as the original recorder project ran it:
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

use crate::backtest::strategy::{
    OrderKind, OrderState, Orders, Report, ReportKind, Strategy, View,
};
use crate::model::quote::{quote, QuoteInputs, QuoteSettings};
use crate::model::{BookSide, Price, Qty};
use crate::storage::BookTopRow;

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

fn index(side: BookSide) -> usize {
    match side {
        BookSide::Bid => 0,
        BookSide::Ask => 1,
    }
}

impl Avellaneda {
    pub fn new(config: &crate::backtest::settings::Config) -> Self {
        Self {
            settings: config.quote.clone(),
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
            self.last_fill[index(side)].is_some_and(|t| now < t.saturating_add(self.cooldown_ns))
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
        let wanted = self.wanted(view);
        for side in [BookSide::Bid, BookSide::Ask] {
            let mut kept = false;
            for o in view.orders_on(side) {
                if o.state == OrderState::Canceling {
                    continue;
                }
                match wanted[index(side)] {
                    Some((price, qty)) if !kept => {
                        out.modify(o.id, price, qty);
                        kept = true;
                    }
                    _ => out.cancel(o.id),
                }
            }
            if let (false, Some((price, qty))) = (kept, wanted[index(side)]) {
                out.place(side, price, qty, OrderKind::PostOnly);
            }
        }
    }

    fn on_report(&mut self, _view: &View<'_>, report: &Report, out: &mut Orders) {
        if let ReportKind::Filled { leaves, .. } = report.kind {
            self.last_fill[index(report.side)] = Some(report.ts.as_nanos());
            if leaves.raw() > 0 && self.cooldown_ns > 0 {
                out.cancel(report.id);
            }
        }
    }
}
