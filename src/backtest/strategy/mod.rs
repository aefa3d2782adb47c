//! The strategy side of the engine: the [`Strategy`] trait, the read-only [`View`] a strategy
//! decides from, the [`Orders`] it writes its [`Action`]s to, and the [`Report`]s it gets back.
//!
//! A strategy lives on the local clock only. It sees a market event at its `ts_recv`, and the
//! exchange's answers (acks, fills, cancels) after the response latency; its actions reach the
//! exchange after the entry latency. It never touches the exchange or the book directly, so it
//! cannot look ahead. Order ids are assigned when an action is written, so a strategy can
//! track an order before the exchange has seen it.

pub mod avellaneda;
pub mod imbalance;

use crate::backtest::event::Recalibration;
use crate::backtest::report::Liquidity;
use crate::backtest::settings::Config;
use crate::model::money::Money;
use crate::model::{BookSide, Price, Qty, RecvTime};
use crate::storage::{BookTopRow, TradeRow};

pub type OrderId = u64;

/// How an order meets the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// A post-only limit order: rejected if it would cross the opposite best on arrival.
    PostOnly,
    /// Immediate-or-cancel at any price up to `price` (a buy) or down to it (a sell): takes
    /// the visible levels, pays the taker fee; what does not fill is canceled.
    Ioc,
}

/// What a strategy asks of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Place {
        id: OrderId,
        side: BookSide,
        price: Price,
        qty: Qty,
        kind: OrderKind,
    },
    /// Replace a resting order's price and size. The same price and size only refreshes its
    /// validity and keeps its queue position; a new price, or a larger size, sends it to the
    /// back of the queue (as venues do).
    Modify {
        id: OrderId,
        price: Price,
        qty: Qty,
    },
    Cancel {
        id: OrderId,
    },
}

/// Why the exchange refused an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// A post-only order would have crossed the opposite best.
    WouldCross,
    /// Its fill could take |position| beyond `max_inventory`.
    InventoryLimit,
    /// Its fill could take cash below −`cash_limit`.
    CashLimit,
    /// Cancel or modify of an order the exchange no longer has.
    UnknownOrder,
    /// A marketable order found nothing to take.
    NoLiquidity,
    /// Size not positive or price not on the tick grid.
    Invalid,
}

/// The exchange's answer to one action, or an event of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The order rests (or its modify took effect).
    Accepted,
    Rejected(RejectReason),
    /// Part or all of the order executed; `leaves` is what still rests.
    Filled {
        price: Price,
        qty: Qty,
        leaves: Qty,
        liquidity: Liquidity,
        fee: Money,
    },
    Canceled,
    /// It was not refreshed within `quote_validity_seconds`.
    Expired,
}

/// One message from the exchange, as the strategy receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Strategy time it arrives.
    pub ts: RecvTime,
    pub id: OrderId,
    pub side: BookSide,
    pub kind: ReportKind,
}

/// Where an order of ours stands, as far as the strategy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Sent; no answer yet.
    Sent,
    /// Acknowledged and resting.
    Live,
    /// A cancel was sent; no answer yet.
    Canceling,
}

/// One of our orders as the strategy knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnOrder {
    pub id: OrderId,
    pub side: BookSide,
    pub price: Price,
    /// Size still open, as last known.
    pub qty: Qty,
    pub kind: OrderKind,
    pub state: OrderState,
    /// When it was last placed, modified or refreshed (strategy time).
    pub sent: RecvTime,
}

/// What a strategy may look at when it decides: all of it known at `now`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub now: RecvTime,
    pub config: &'a Config,
    /// Best bid and ask of the latest book frame received.
    pub best_bid: Option<Price>,
    pub best_ask: Option<Price>,
    /// Our open orders, oldest first.
    pub orders: &'a [OwnOrder],
    /// Position and cash from the fill reports received so far.
    pub position: Qty,
    pub cash: Money,
    /// The latest calibration with `at` ≤ `now`, if any.
    pub calibration: Option<&'a Recalibration>,
    /// True during the warm-up at the start and after a data gap longer than
    /// `gap_threshold_seconds`: no quoting.
    pub warming_up: bool,
}

impl View<'_> {
    /// Our open orders on one side.
    pub fn orders_on(&self, side: BookSide) -> impl Iterator<Item = &OwnOrder> {
        self.orders.iter().filter(move |o| o.side == side)
    }
}

/// The actions a strategy writes during one callback; the engine drains it afterwards, so the
/// buffer is reused and no callback allocates.
#[derive(Debug, Default)]
pub struct Orders {
    pub(crate) actions: Vec<Action>,
    pub(crate) next_id: OrderId,
}

impl Orders {
    pub fn new() -> Self {
        Self { actions: Vec::with_capacity(8), next_id: 1 }
    }

    /// A new order; its id is returned at once.
    pub fn place(&mut self, side: BookSide, price: Price, qty: Qty, kind: OrderKind) -> OrderId {
        let id = self.next_id;
        self.next_id += 1;
        self.actions.push(Action::Place { id, side, price, qty, kind });
        id
    }

    pub fn modify(&mut self, id: OrderId, price: Price, qty: Qty) {
        self.actions.push(Action::Modify { id, price, qty });
    }

    pub fn cancel(&mut self, id: OrderId) {
        self.actions.push(Action::Cancel { id });
    }

    pub fn actions(&self) -> &[Action] {
        &self.actions
    }
}

/// A trading strategy. Callbacks run on the strategy's clock; each may write actions.
pub trait Strategy {
    /// A book frame was received (the place to refresh quotes).
    fn on_top(&mut self, view: &View<'_>, top: &BookTopRow, out: &mut Orders);
    /// A public trade was received.
    fn on_trade(&mut self, _view: &View<'_>, _trade: &TradeRow, _out: &mut Orders) {}
    /// An answer from the exchange arrived. `view` already includes it.
    fn on_report(&mut self, _view: &View<'_>, _report: &Report, _out: &mut Orders) {}
}
