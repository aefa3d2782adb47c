//! The simulated exchange (docs/MODEL.md "Simulated exchange"): the recorded book on the exchange
//! timeline, our resting orders with their queue positions, the fill models, fees, limits and
//! the account. It sees market events and our actions at exchange time only; the engine moves
//! its answers to the strategy after the response latency.
//!
//! Rules worth knowing:
//! - Post-only orders that would cross the opposite best on arrival are rejected; a modify to
//!   a crossing price rejects and removes the order.
//! - A market event affects only orders that had arrived by the event's own exchange time
//!   (before the engine's monotone guard), so a trade the stream delivers late cannot fill an
//!   order that arrived after it happened.
//! - `cross`: a bid fills at its price when a taker SELL prints at or below it, or the best
//!   ask falls to or below it. `queue`: see [`crate::backtest::queue`]; a trade through the
//!   price or a crossing opposite best fills it whole.
//! - Without partial fills an order reached by a trade fills whole (hftbacktest's
//!   no-partial-fill exchange); with them, a trade fills what reaches the order.
//! - Our own orders never change the recorded book (no price impact), but the liquidity our
//!   fills use is not used twice: per level (side, price) the exchange keeps the quantity our
//!   fills have consumed there since the level's last depth row (a snapshot clears it all).
//!   What can still fill us at that level is reduced by it first: the size a marketable order
//!   or a crossing finds displayed there, and the quantity of a public trade printed there
//!   (docs/MODEL.md "Own orders in the book").
//! - Prices must be multiples of the tick and sizes of the lot, else `Invalid`.
//! - Fees: maker fee on resting fills, taker fee on marketable ones, each rounded up
//!   ([`Money::fee`]), on the fill's value in the settlement currency.
//! - Money follows the market's [`Contract`] (`crate::model::contract`): a linear fill of
//!   `q` at `p` moves `q·size·p` quote, an inverse one `q·size/p` base, the other way round
//!   (buying inverse contracts adds to cash). `cash_limit` bounds the cash an order's side
//!   could leave if everything resting on it filled.

use crate::backtest::queue::Queue;
use crate::backtest::report::{FillCause, Liquidity};
use crate::backtest::settings::{Config, FillModel, QueueModel};
use crate::backtest::strategy::{Action, OrderId, OrderKind, RejectReason, ReportKind};
use crate::book::Ladder;
use crate::model::contract::Contract;
use crate::model::money::{FeeRate, Money};
use crate::model::{BookSide, Price, Qty, TakerSide};
use crate::storage::{BookTopRow, DepthRow, TradeRow};

/// Position and cash at the exchange, the truth the summary reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Signed, raw units of quantity (contracts).
    pub position: i64,
    /// Net of fees, in the settlement currency ([`Contract`]).
    pub cash: Money,
    pub fees: Money,
    /// Cost of the open position at its average entry (minus the cash its opening fills
    /// added), for realized PnL: realized = cash + fees + open_cost.
    pub open_cost: Money,
}

impl Account {
    /// A fill of `qty` at `price` on `side`, valued by `contract` (the cash flow of
    /// [`Contract::cash_flow`]: a linear buy pays the value, an inverse buy receives it).
    fn apply(&mut self, contract: Contract, side: BookSide, price: Price, qty: Qty, fee: Money) {
        let flow = contract.cash_flow(side, price, qty);
        let dir: i64 = if side == BookSide::Bid { 1 } else { -1 };
        let q = qty.raw();
        self.cash += flow;
        self.cash -= fee;
        self.fees += fee;
        let pos = self.position;
        if pos == 0 || pos.signum() == dir {
            self.open_cost -= flow;
        } else {
            let closing = q.min(pos.abs());
            let removed = self.open_cost.mul_div_floor(i128::from(closing), i128::from(pos.abs()));
            self.open_cost -= removed;
            let rest = q - closing;
            if rest > 0 {
                // Flipped: the rest opens a new position at this price.
                self.open_cost = -contract.cash_flow(side, price, Qty::from_raw(rest));
            }
        }
        self.position = pos + dir * q;
    }

    /// Closed PnL before fees, against the average entry price.
    pub fn realized(&self) -> Money {
        self.cash + self.fees + self.open_cost
    }
}

/// One answer of the exchange, with the account after it when it is a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub id: OrderId,
    pub side: BookSide,
    pub kind: ReportKind,
    pub position: i64,
    pub cash: Money,
    /// Why it filled; `None` for answers that are not fills.
    pub cause: Option<FillCause>,
    /// A resting fill's queue ahead (raw qty) when the event that filled it arrived, before
    /// that event consumed any of it; `None` for a taker fill, with the `cross` fill model
    /// (which keeps no queue), and for answers that are not fills.
    pub ahead: Option<i64>,
}

/// Liquidity our fills have used at one level since its last depth row.
#[derive(Debug, Clone, Copy)]
struct Consumed {
    side: BookSide,
    price: Price,
    qty: i64,
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    id: OrderId,
    side: BookSide,
    price: Price,
    leaves: i64,
    /// Exchange time it arrived (or was last moved).
    arrived: i64,
    /// Exchange time it expires unless refreshed; `i64::MAX` = never.
    expires: i64,
    queue: Queue,
}

/// The simulated venue for one market.
#[derive(Debug)]
pub struct Exchange {
    fill_model: FillModel,
    queue_model: QueueModel,
    partial: bool,
    contract: Contract,
    maker_fee: FeeRate,
    taker_fee: FeeRate,
    max_inventory: i64,
    cash_limit: Option<Money>,
    validity_ns: i64,
    /// Raw tick and lot: prices and sizes must be multiples of them.
    tick: i64,
    lot: i64,
    book: Ladder,
    /// Per level, the quantity our fills have consumed since its last depth row; a few
    /// entries (levels we traded at), no hash map.
    consumed: Vec<Consumed>,
    /// `(ts_recv, conn, seq)` of the depth frame being applied, to see where a snapshot starts.
    frame: Option<(i64, u32, i64)>,
    orders: Vec<Resting>,
    pub account: Account,
    /// Answers of the last call; the engine drains it.
    pub out: Vec<Outcome>,
}

fn crosses(side: BookSide, price: Price, opposite_best: Price) -> bool {
    match side {
        BookSide::Bid => price >= opposite_best,
        BookSide::Ask => price <= opposite_best,
    }
}

impl Exchange {
    pub fn new(config: &Config) -> Self {
        Self {
            fill_model: config.fill_model,
            queue_model: config.queue_model,
            partial: config.partial_fills,
            contract: config.contract,
            maker_fee: config.maker_fee,
            taker_fee: config.taker_fee,
            max_inventory: config.max_inventory.raw(),
            cash_limit: config.cash_limit,
            validity_ns: config.quote_validity_ns,
            tick: config.tick.raw().max(1),
            lot: config.lot.raw().max(1),
            book: Ladder::with_capacity(1024),
            consumed: Vec::with_capacity(8),
            frame: None,
            orders: Vec::with_capacity(8),
            account: Account::default(),
            out: Vec::with_capacity(16),
        }
    }

    pub fn book(&self) -> &Ladder {
        &self.book
    }

    /// Our best resting price on a side.
    pub fn own_best(&self, side: BookSide) -> Option<Price> {
        let prices = self.orders.iter().filter(|o| o.side == side).map(|o| o.price);
        match side {
            BookSide::Bid => prices.max(),
            BookSide::Ask => prices.min(),
        }
    }

    pub fn has_orders(&self) -> bool {
        !self.orders.is_empty()
    }

    fn expiry(&self, now: i64) -> i64 {
        if self.validity_ns == 0 {
            i64::MAX
        } else {
            now.saturating_add(self.validity_ns)
        }
    }

    /// The earliest exchange time at which a resting order expires.
    pub fn next_expiry(&self) -> Option<i64> {
        if self.validity_ns == 0 {
            return None;
        }
        self.orders.iter().map(|o| o.expires).min()
    }

    /// What our fills have consumed at a level since its last depth row (raw qty).
    pub fn consumed_at(&self, side: BookSide, price: Price) -> i64 {
        self.consumed.iter().find(|c| c.side == side && c.price == price).map_or(0, |c| c.qty)
    }

    /// `shown` size at a level less what our fills have consumed there, not below 0.
    fn left_at(&self, side: BookSide, price: Price, shown: Qty) -> i64 {
        (shown.raw() - self.consumed_at(side, price)).max(0)
    }

    fn consume(&mut self, side: BookSide, price: Price, qty: i64) {
        if qty <= 0 {
            return;
        }
        match self.consumed.iter_mut().find(|c| c.side == side && c.price == price) {
            Some(c) => c.qty += qty,
            None => self.consumed.push(Consumed { side, price, qty }),
        }
    }

    /// A price off the tick grid, a size off the lot grid, or either not positive.
    fn invalid(&self, price: Price, qty: i64) -> bool {
        qty <= 0 || price.raw() <= 0 || price.raw() % self.tick != 0 || qty % self.lot != 0
    }

    fn emit(&mut self, id: OrderId, side: BookSide, kind: ReportKind) {
        self.emit_fill(id, side, kind, None, None);
    }

    fn emit_fill(
        &mut self,
        id: OrderId,
        side: BookSide,
        kind: ReportKind,
        cause: Option<FillCause>,
        ahead: Option<i64>,
    ) {
        self.out.push(Outcome {
            id,
            side,
            kind,
            position: self.account.position,
            cash: self.account.cash,
            cause,
            ahead,
        });
    }

    /// The queue ahead of resting order `i` as the fills report it (`None` under `cross`).
    fn ahead_of(&self, i: usize) -> Option<i64> {
        (self.fill_model == FillModel::Queue).then(|| self.orders[i].queue.ahead)
    }

    /// Executes `qty` of resting order `i` at its price (maker); removes it when done. `ahead`
    /// is its queue position when the filling event arrived.
    fn fill_resting(&mut self, i: usize, qty: i64, cause: FillCause, ahead: Option<i64>) -> bool {
        let o = &mut self.orders[i];
        let qty = qty.min(o.leaves);
        if qty <= 0 {
            return false;
        }
        o.leaves -= qty;
        let (id, side, price, leaves) = (o.id, o.side, o.price, o.leaves);
        let q = Qty::from_raw(qty);
        let fee = Money::fee(self.contract.value(price, q), self.maker_fee);
        self.account.apply(self.contract, side, price, q, fee);
        let kind = ReportKind::Filled {
            price,
            qty: q,
            leaves: Qty::from_raw(leaves),
            liquidity: Liquidity::Maker,
            fee,
        };
        self.emit_fill(id, side, kind, Some(cause), ahead);
        if leaves == 0 {
            self.orders.remove(i);
            true
        } else {
            false
        }
    }

    /// Cancels orders whose validity ran out by `now`.
    pub fn expire(&mut self, now: i64) {
        let mut i = 0;
        while i < self.orders.len() {
            if self.orders[i].expires <= now {
                let o = self.orders.remove(i);
                self.emit(o.id, o.side, ReportKind::Expired);
            } else {
                i += 1;
            }
        }
    }

    /// Would an order of `qty` more on `side` break the inventory or cash limit?
    fn limit(
        &self,
        side: BookSide,
        price: Price,
        qty: i64,
        fee: FeeRate,
        skip: Option<OrderId>,
    ) -> Option<RejectReason> {
        let open = |s: BookSide| -> i64 {
            self.orders.iter().filter(|o| o.side == s && Some(o.id) != skip).map(|o| o.leaves).sum()
        };
        let exposure = match side {
            BookSide::Bid => self.account.position + open(BookSide::Bid) + qty,
            BookSide::Ask => -self.account.position + open(BookSide::Ask) + qty,
        };
        if exposure > self.max_inventory {
            return Some(RejectReason::InventoryLimit);
        }
        if let Some(limit) = self.cash_limit {
            // The cash left if every resting order on this side and this one filled: only
            // the side that pays can break it (linear buys, inverse sells).
            let flow =
                |price: Price, qty: i64| self.contract.cash_flow(side, price, Qty::from_raw(qty));
            let committed: Money = self
                .orders
                .iter()
                .filter(|o| o.side == side && Some(o.id) != skip)
                .map(|o| flow(o.price, o.leaves))
                .filter(|f| f.is_negative())
                .sum();
            let this = flow(price, qty);
            if this.is_negative() {
                let fee = Money::fee(this.abs(), fee);
                if self.account.cash + committed + this - fee < -limit {
                    return Some(RejectReason::CashLimit);
                }
            }
        }
        None
    }

    /// An action of ours reaches the exchange at `now`.
    pub fn on_action(&mut self, now: i64, action: Action) {
        match action {
            Action::Place { id, side, price, qty, kind } => {
                if self.invalid(price, qty.raw()) {
                    return self.emit(id, side, ReportKind::Rejected(RejectReason::Invalid));
                }
                match kind {
                    OrderKind::PostOnly => self.place_post_only(now, id, side, price, qty.raw()),
                    OrderKind::Ioc => self.take(id, side, price, qty.raw()),
                }
            }
            Action::Modify { id, price, qty } => self.modify(now, id, price, qty.raw()),
            Action::Cancel { id } => match self.orders.iter().position(|o| o.id == id) {
                Some(i) => {
                    let o = self.orders.remove(i);
                    self.emit(id, o.side, ReportKind::Canceled);
                }
                None => {
                    self.emit(id, BookSide::Bid, ReportKind::Rejected(RejectReason::UnknownOrder))
                }
            },
        }
    }

    fn place_post_only(&mut self, now: i64, id: OrderId, side: BookSide, price: Price, qty: i64) {
        if let Some((best, _)) = self.book.best_level(side.opposite()) {
            if crosses(side, price, best) {
                return self.emit(id, side, ReportKind::Rejected(RejectReason::WouldCross));
            }
        }
        if let Some(reason) = self.limit(side, price, qty, self.maker_fee, None) {
            return self.emit(id, side, ReportKind::Rejected(reason));
        }
        let queue = Queue::join(self.book.size_at(side, price));
        let expires = self.expiry(now);
        self.orders.push(Resting { id, side, price, leaves: qty, arrived: now, expires, queue });
        self.emit(id, side, ReportKind::Accepted);
    }

    fn modify(&mut self, now: i64, id: OrderId, price: Price, qty: i64) {
        let Some(i) = self.orders.iter().position(|o| o.id == id) else {
            return self.emit(id, BookSide::Bid, ReportKind::Rejected(RejectReason::UnknownOrder));
        };
        let expires = self.expiry(now);
        let o = self.orders[i];
        if price == o.price && qty <= o.leaves && qty > 0 {
            // A refresh, or a smaller size: the order keeps its place.
            self.orders[i].expires = expires;
            if qty < o.leaves {
                self.orders[i].leaves = qty;
                self.emit(id, o.side, ReportKind::Accepted);
            }
            return;
        }
        let crossing =
            self.book.best_level(o.side.opposite()).is_some_and(|(b, _)| crosses(o.side, price, b));
        let reason = if self.invalid(price, qty) {
            Some(RejectReason::Invalid)
        } else if crossing {
            Some(RejectReason::WouldCross)
        } else {
            self.limit(o.side, price, qty, self.maker_fee, Some(id))
        };
        if let Some(reason) = reason {
            self.orders.remove(i);
            return self.emit(id, o.side, ReportKind::Rejected(reason));
        }
        let queue = Queue::join(self.book.size_at(o.side, price));
        self.orders[i] = Resting { price, leaves: qty, arrived: now, expires, queue, ..o };
        self.emit(id, o.side, ReportKind::Accepted);
    }

    /// A marketable order: takes visible levels up to its limit price, then cancels the rest.
    fn take(&mut self, id: OrderId, side: BookSide, limit: Price, qty: i64) {
        if let Some(reason) = self.limit(side, limit, qty, self.taker_fee, None) {
            return self.emit(id, side, ReportKind::Rejected(reason));
        }
        let mut left = qty;
        let mut filled = false;
        // At most a few levels are taken; walking the book borrows it, so collect them first.
        // Each level offers what it shows less what our fills consumed there before.
        let mut takes = [(Price::ZERO, 0i64); 16];
        let mut n = 0;
        let opposite = side.opposite();
        for (price, size) in self.book.walk(opposite) {
            let beyond = match side {
                BookSide::Bid => price > limit,
                BookSide::Ask => price < limit,
            };
            if left == 0 || n == takes.len() || beyond {
                break;
            }
            let q = self.left_at(opposite, price, size).min(left);
            if q == 0 {
                continue;
            }
            takes[n] = (price, q);
            n += 1;
            left -= q;
        }
        let mut leaves = qty;
        for &(price, q) in &takes[..n] {
            self.consume(opposite, price, q);
            leaves -= q;
            let qq = Qty::from_raw(q);
            let fee = Money::fee(self.contract.value(price, qq), self.taker_fee);
            self.account.apply(self.contract, side, price, qq, fee);
            let kind = ReportKind::Filled {
                price,
                qty: qq,
                leaves: Qty::from_raw(leaves),
                liquidity: Liquidity::Taker,
                fee,
            };
            self.emit_fill(id, side, kind, Some(FillCause::Taker), None);
            filled = true;
        }
        if !filled {
            self.emit(id, side, ReportKind::Rejected(RejectReason::NoLiquidity));
        } else if leaves > 0 {
            self.emit(id, side, ReportKind::Canceled);
        }
    }

    /// A depth row at exchange time: the level changes, and queues at that price move.
    pub fn on_depth(&mut self, row: &DepthRow) {
        let key = (row.ts_recv.as_nanos(), row.conn, row.seq);
        if self.frame != Some(key) {
            self.frame = Some(key);
            if row.snapshot {
                self.book.clear();
                self.consumed.clear();
            }
        }
        // The level shows its new size: what our fills consumed there is forgotten.
        if !self.consumed.is_empty() {
            self.consumed.retain(|c| c.side != row.side || c.price != row.price);
        }
        let prev = self.book.set_level(row.side, row.price, row.qty);
        if self.fill_model == FillModel::Queue {
            for o in &mut self.orders {
                if o.side == row.side && o.price == row.price {
                    o.queue.depth(prev, row.qty, self.queue_model);
                }
            }
        }
    }

    /// A book frame is complete: orders the opposite best now crosses fill (whole, or with
    /// partial fills as much as the crossing levels still offer) if those levels still offer
    /// any size our fills have not consumed; queues are clamped to their level (a snapshot may
    /// have rebuilt it).
    pub fn on_top(&mut self, event_time: i64, row: &BookTopRow) {
        let mut i = 0;
        while i < self.orders.len() {
            let o = self.orders[i];
            let (opposite, levels) = match o.side {
                BookSide::Bid => (BookSide::Ask, &row.asks),
                BookSide::Ask => (BookSide::Bid, &row.bids),
            };
            let crossing = || levels.iter().take_while(|l| crosses(o.side, o.price, l.price));
            let offered: i64 = crossing().map(|l| self.left_at(opposite, l.price, l.qty)).sum();
            if o.arrived <= event_time && offered > 0 {
                let qty = if self.partial { o.leaves.min(offered) } else { o.leaves };
                // Consume the crossing levels from the best; a whole fill beyond what they
                // offer is charged to the best one.
                let mut left = qty;
                let mut takes = [(Price::ZERO, 0i64); 16];
                let mut n = 0;
                for l in crossing().take(takes.len()) {
                    let q = self.left_at(opposite, l.price, l.qty).min(left);
                    takes[n] = (l.price, q);
                    n += 1;
                    left -= q;
                }
                if left > 0 && n > 0 {
                    takes[0].1 += left;
                }
                for &(price, q) in &takes[..n] {
                    self.consume(opposite, price, q);
                }
                let ahead = self.ahead_of(i);
                if self.fill_resting(i, qty, FillCause::Crossing, ahead) {
                    continue;
                }
            } else if self.fill_model == FillModel::Queue {
                let size = self.book.size_at(o.side, o.price).raw();
                self.orders[i].queue.ahead = o.queue.ahead.min(size);
            }
            i += 1;
        }
    }

    /// A public trade: it fills our orders on the side it hits, by the fill model, out of its
    /// quantity less what our fills have already consumed at the level it printed at.
    pub fn on_trade(&mut self, event_time: i64, row: &TradeRow) {
        let hit = row.side.hits();
        // The print's quantity not yet given to our orders, and of it what they may still use.
        let mut available = row.qty.raw();
        let spent = self.consumed_at(hit, row.price);
        let mut i = 0;
        while i < self.orders.len() {
            let o = self.orders[i];
            if o.side != hit || o.arrived > event_time {
                i += 1;
                continue;
            }
            let at = row.price == o.price;
            let through = match row.side {
                TakerSide::Sell => row.price < o.price,
                TakerSide::Buy => row.price > o.price,
            };
            let usable = (available - spent).max(0);
            let ahead = self.ahead_of(i);
            let reach = match self.fill_model {
                FillModel::Cross if (at || through) && usable > 0 => {
                    if self.partial {
                        usable
                    } else {
                        o.leaves
                    }
                }
                FillModel::Queue if through && usable > 0 => o.leaves,
                FillModel::Queue if at => {
                    // The print advances the queue whatever we consumed; only what is left of
                    // it after our earlier fills at this level can reach the order.
                    let reach = self.orders[i].queue.trade(Qty::from_raw(available)).raw();
                    let reach = reach.min(usable);
                    if self.partial || reach == 0 {
                        reach
                    } else {
                        o.leaves
                    }
                }
                _ => 0,
            };
            if reach > 0 {
                let filled = reach.min(o.leaves);
                available = (available - filled).max(0);
                self.consume(hit, row.price, filled);
                let cause = if through { FillCause::Through } else { FillCause::Queue };
                if self.fill_resting(i, reach, cause, ahead) {
                    continue;
                }
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn q(text: &str) -> Qty {
        Qty::parse(text).unwrap()
    }

    #[test]
    fn an_inverse_account_earns_size_times_the_difference_of_reciprocals() {
        let btc: Contract = "inverse:100".parse().unwrap();
        let rate = FeeRate::from_bps(1.5).unwrap();
        let mut a = Account::default();
        // Buy 840 contracts (84 000 USD) at 60 000: +1.4 BTC of cash, fee 1.5 bps of 1.4 BTC.
        let fee_open = Money::fee(btc.value(p("60000"), q("840")), rate);
        assert_eq!(fee_open.to_string(), "0.00021");
        a.apply(btc, BookSide::Bid, p("60000"), q("840"), fee_open);
        assert_eq!((a.position, a.cash.to_string()), (q("840").raw(), "1.39979".to_owned()));
        assert_eq!(a.realized(), Money::ZERO, "nothing closed yet");
        // Marked at 61 000 before closing: unrealized = mark − open_cost.
        let mark = btc.mark(a.position, 2 * p("61000").raw());
        assert_eq!((mark - a.open_cost).to_string(), "0.0229508196721311");
        // Sell half at 61 000, then the rest plus 100 more (a flip to short 100).
        let half = btc.value(p("61000"), q("420"));
        a.apply(btc, BookSide::Ask, p("61000"), q("420"), Money::ZERO);
        // 420·100·(1/60000 − 1/61000) = 0.01147540983606557377… → the half's value rounds
        // half-even (0.6885245901639344|26… → …344), 0.7 − that.
        assert_eq!(half.to_string(), "0.6885245901639344");
        assert_eq!(a.realized().to_string(), "0.0114754098360656");
        a.apply(btc, BookSide::Ask, p("61000"), q("520"), Money::ZERO);
        assert_eq!(a.position, -q("100").raw());
        // Closed 840 at 61 000: 840·100·(1/60000 − 1/61000) = 0.022950819672131147… BTC,
        // within one unit per fill of the exact value.
        assert_eq!(a.realized().to_string(), "0.0229508196721312");
        // The short 100 opened at 61 000: its cost is the value it paid.
        assert_eq!(a.open_cost.to_string(), "0.1639344262295082");
        // Cash: +1.4 − 0.00021 − 420·100/61000 − 520·100/61000 (each rounded).
        let rest = btc.value(p("61000"), q("520"));
        assert_eq!(a.cash, btc.value(p("60000"), q("840")) - fee_open - half - rest);
    }

    #[test]
    fn a_linear_account_is_unchanged() {
        let mut a = Account::default();
        let one = Contract::LINEAR_1;
        a.apply(one, BookSide::Bid, p("100"), q("2"), Money::ZERO);
        a.apply(one, BookSide::Ask, p("101"), q("3"), Money::ZERO);
        assert_eq!(a.cash.to_string(), "103");
        assert_eq!(a.realized().to_string(), "2");
        assert_eq!(a.open_cost.to_string(), "-101");
        assert_eq!(a.position, -q("1").raw());
    }
}
