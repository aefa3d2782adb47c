//! The strategy side of the engine: the [`Strategy`] trait, the read-only [`View`] a strategy
//! decides from, the [`Orders`] it writes its [`Action`]s to, and the [`Report`]s it gets back.
//!
//! A strategy lives on the local clock only. It sees a market event at its `ts_recv`, and the
//! exchange's answers (acks, fills, cancels) after the response latency; its actions reach the
//! exchange after the entry latency. It never touches the exchange or the book directly, so it
//! cannot look ahead. Order ids are assigned when an action is written, so a strategy can
//! track an order before the exchange has seen it.
//!
//! A strategy is one file in this folder: its code, and its own settings (names, aliases,
//! defaults, validation) through [`Registered`]. It is chosen by name once it is listed in
//! the `registry!` at the end of this file, the one place a new strategy is added.

pub mod avellaneda;
pub mod glft;
pub mod imbalance;

use crate::backtest::event::Recalibration;
use crate::backtest::report::Liquidity;
use crate::backtest::settings::{Base, Config, SettingsError};
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

/// The slot of a side in a per-side pair: bid 0, ask 1.
pub fn side_index(side: BookSide) -> usize {
    match side {
        BookSide::Bid => 0,
        BookSide::Ask => 1,
    }
}

/// How the quoting strategies (Avellaneda–Stoikov, GLFT) keep one post-only order per side at
/// `wanted` (bid, ask): the first open order of a side is modified to the wanted price and
/// size (an unchanged quote is a refresh that keeps its queue place and validity), every other
/// one is canceled, and a side without an order gets a new one. A side wanting nothing has its
/// orders canceled. Orders already being canceled are left alone.
pub fn requote(view: &View<'_>, wanted: [Option<(Price, Qty)>; 2], out: &mut Orders) {
    for side in [BookSide::Bid, BookSide::Ask] {
        let want = wanted[side_index(side)];
        let mut kept = false;
        for o in view.orders_on(side) {
            if o.state == OrderState::Canceling {
                continue;
            }
            match want {
                Some((price, qty)) if !kept => {
                    out.modify(o.id, price, qty);
                    kept = true;
                }
                _ => out.cancel(o.id),
            }
        }
        if let (false, Some((price, qty))) = (kept, want) {
            out.place(side, price, qty, OrderKind::PostOnly);
        }
    }
}

/// A strategy `--strategy` and the `strategy` setting can choose, with its own settings.
pub trait Registered: Strategy + Sized + 'static {
    /// Names the `strategy` setting accepts; the first is the one written back (summary,
    /// sweep labels).
    const NAMES: &'static [&'static str];
    /// Whether it trades only once a recalibration fits σ and κ (a run that sends no order
    /// then says whether a fit was missing).
    const USES_FIT: bool;
    /// Its keys, each with the key it follows in docs/MODEL.md's table ("" = the first key): see
    /// [`crate::backtest::settings::keys`].
    const KEYS: &'static [(&'static str, &'static str)];
    /// Its short names for flags and `--sweep`, and the key each means.
    const ALIASES: &'static [(&'static str, &'static str)];
    /// Its settings as given, with docs/MODEL.md's defaults.
    type Settings: std::fmt::Debug + Clone + PartialEq + Default;
    /// Its settings validated, in the units it runs on.
    type Config: std::fmt::Debug + Clone + PartialEq;

    /// Sets one of [`Registered::KEYS`] from its text form.
    fn set(
        settings: &mut Self::Settings,
        key: &'static str,
        value: &str,
    ) -> Result<(), SettingsError>;
    /// The text of one of its keys, as [`Registered::set`] reads it back.
    fn text(settings: &Self::Settings, key: &str) -> Option<String>;
    /// Checks its settings against the engine's.
    fn resolve(settings: &Self::Settings, base: &Base<'_>) -> Result<Self::Config, SettingsError>;
    /// A fresh strategy for one run.
    fn new(config: &Config) -> Self;
}

/// Lists the strategies: `Variant => module::Type`, the first being the default. Generates
/// [`StrategyKind`], the settings of every strategy ([`StrategySettings`], [`StrategyConfigs`],
/// one field per strategy named after its module) and the dispatch the settings and the
/// engine use.
macro_rules! registry {
    ($($variant:ident => $module:ident :: $ty:ident),+ $(,)?) => {
        /// Which strategy trades.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum StrategyKind {
            $($variant),+
        }

        /// Every strategy, in registry order.
        pub const ALL: &[StrategyKind] = &[$(StrategyKind::$variant),+];

        impl Default for StrategyKind {
            fn default() -> Self {
                ALL[0]
            }
        }

        impl StrategyKind {
            /// The strategy's name, as the `strategy` setting reads it back.
            pub fn name(self) -> &'static str {
                match self {
                    $(StrategyKind::$variant => <$module::$ty as Registered>::NAMES[0]),+
                }
            }

            /// The strategy with this name (or another name it accepts).
            pub fn from_name(name: &str) -> Option<Self> {
                $(if <$module::$ty as Registered>::NAMES.contains(&name) {
                    return Some(StrategyKind::$variant);
                })+
                None
            }

            /// See [`Registered::USES_FIT`].
            pub fn uses_fit(self) -> bool {
                match self {
                    $(StrategyKind::$variant => <$module::$ty as Registered>::USES_FIT),+
                }
            }
        }

        /// Each strategy's keys, in registry order.
        pub const KEY_TABLES: &[&[(&str, &str)]] =
            &[$(<$module::$ty as Registered>::KEYS),+];
        /// Each strategy's aliases, in registry order.
        pub const ALIAS_TABLES: &[&[(&str, &str)]] =
            &[$(<$module::$ty as Registered>::ALIASES),+];

        /// Every strategy's settings as given.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct StrategySettings {
            $(pub $module: <$module::$ty as Registered>::Settings),+
        }

        /// Every strategy's settings, validated.
        #[derive(Debug, Clone, PartialEq)]
        pub struct StrategyConfigs {
            $(pub $module: <$module::$ty as Registered>::Config),+
        }

        impl StrategySettings {
            /// Sets a key of whichever strategy owns it (`key` is canonical).
            pub fn set(&mut self, key: &'static str, value: &str) -> Result<(), SettingsError> {
                $(if <$module::$ty as Registered>::KEYS.iter().any(|(k, _)| *k == key) {
                    return <$module::$ty as Registered>::set(&mut self.$module, key, value);
                })+
                Err(SettingsError::UnknownKey { key: key.to_owned() })
            }

            /// The text of a strategy's key; `None` if no strategy has it.
            pub fn text(&self, key: &str) -> Option<String> {
                $(if let Some(text) = <$module::$ty as Registered>::text(&self.$module, key) {
                    return Some(text);
                })+
                None
            }

            /// Validates every strategy's settings, in registry order.
            pub fn resolve(&self, base: &Base<'_>) -> Result<StrategyConfigs, SettingsError> {
                Ok(StrategyConfigs {
                    $($module: <$module::$ty as Registered>::resolve(&self.$module, base)?),+
                })
            }
        }

        /// A fresh strategy of the chosen kind.
        pub fn build(config: &Config) -> Box<dyn Strategy> {
            match config.strategy {
                $(StrategyKind::$variant => Box::new(<$module::$ty as Registered>::new(config))),+
            }
        }
    };
}

/// "a, b or c": the strategy names, for an error message.
pub fn names_text() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let names: Vec<&str> = ALL.iter().map(|k| k.name()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    });
    &TEXT
}

// The one place a strategy is registered; the first is the default.
registry! {
    As => avellaneda::Avellaneda,
    Imbalance => imbalance::Imbalance,
    Glft => glft::Glft,
}
