//! The synthetic market: a latent mid, a dense L2 book around it, and aggressive orders whose
//! arrival rate and reach follow docs/MODEL.md exactly, so that `calibrate` recovers σ, A and κ.
//!
//! Owns one market's state and its random stream. It knows nothing of sockets, JSON or
//! connections: [`Market::step`] advances simulated time by one 100 ms step and returns what
//! changed; `hub` publishes it and `wire` spells it.
//!
//! The generator, per step of 100 ms (docs/MODEL.md "Units"):
//! * the latent mid moves by σ·√0.1·N(0,1) (Box–Muller; the latent mid is an f64 statistic,
//!   every price in the book is a [`Price`] on the tick grid);
//! * per side, aggressive orders arrive as Poisson(A·0.1) at distinct random milliseconds
//!   strictly inside the step; each reaches depth δ ~ Exp(κ) from the mid of the *last
//!   published* book frame, and sweeps every level within reach (a BUY every ask with
//!   2·price ≤ bid + ask + 2δ, compared in integer units of 10⁻⁸), printing one trade per
//!   level at its price and full size, and the level is replenished at once with a new size.
//!   Trades of one order share its millisecond and side;
//! * the book re-centres: best bid = the tick at or below the latent mid, best ask one tick
//!   above, so the spread is always one tick and the published mid is within half a tick of
//!   the latent mid. Every tick of the inner `dense` region is filled; the outer region
//!   (depth `dense`..`levels`) gets random cancels and re-adds, and a few levels per side get
//!   new random sizes.
//!
//! Why this makes the parameters recoverable: with a one-tick spread and a dense inner book,
//! the deepest print of an order reaching δ lies at tick/2 + ⌊(δ − tick/2)/tick⌋·tick from the
//! published mid, so on docs/MODEL.md's grid δₖ = tick/2 + k·tick the count of orders with deepest
//! print ≥ δₖ is exactly the count with reach ≥ δₖ, whose rate is A·e^(−κ·δₖ). Trades sit in
//! (ts of the last frame, ts of the next frame), so the as-of join finds the mid they used.
//!
//! With [`BookKind::Queues`] (`mdkit simulate --book queues`, docs/MODEL.md "The queue book")
//! the book holds resting queues that build and drain instead. Per step:
//! * the same orders (Poisson(A·0.1) per side, reach δ ~ Exp(κ) from the published mid); each
//!   sweeps every level whose distance from the published mid is below the first grid point
//!   tick/2 + k·tick beyond δ: the shallower levels whole (each refilled at once, as above), the
//!   deepest from its front, 1 lot to all of it uniformly (refilled at once only when all);
//! * queue flow at every level (`queue_flow`): at the k-th level from the touch (k from 0) an
//!   arrival at the back with chance [`QUEUE_FLOW`]/(k+1), of 1 to ⌈max_size/2⌉ lots, and a
//!   cancel with the same chance, of 1 lot to all but one: sizes rise and fall without trades,
//!   and no level empties without a trade;
//! * the published mid moves by half ticks (`move_mid`) at the jumps of a two-state chain: on a
//!   half tick the spread is one tick, on a tick it is two, around an empty level at the mid.
//!   An up-move from one tick cancels the best ask's queue; from two ticks a new bid queue opens
//!   at the mid (down-moves mirror it). Dense levels missing outside the new touch are added and
//!   the outer region is kept as above; nothing else moves, so the best levels and their queues
//!   stay while the mid does.
//!
//! Why the printed truth stays exact with queues:
//! * σ: the mid M is a martingale of ±tick/2 jumps at rate J/(2(1 − w)) from one tick and
//!   J/(2w) from two (w = [`WIDE_SHARE`], J = 4σ²/tick²), started in the chain's stationary law;
//!   then a span of t seconds holds J·t jumps on average, so E[(ΔM)²] = σ²·t for every sampling
//!   interval, with no rounding term (the dense book's mid carries ±tick/2 of it). The returns
//!   are heavier-tailed than normal, which widens σ's error, not its mean.
//! * A and κ: an order reaching δ has n grid points δₖ = tick/2 + k·tick within reach and sweeps
//!   the levels closer than δₙ. With a one-tick spread the levels sit at tick/2 + j·tick, so its
//!   deepest print is at δₙ₋₁; with two ticks they sit at j·tick (j ≥ 1), so it is at n·tick.
//!   Both lie in [δₙ₋₁, δₙ): the deepest print is ≥ δₖ exactly when δ ≥ δₖ, whose rate is
//!   A·e^(−κ·δₖ). (With one tick this is the dense book's rule; a three-tick spread would leave
//!   no level in [tick/2, 3·tick/2), so the spread never exceeds two.) Partial prints, refills
//!   and queue flow change sizes, never which levels exist, so they cannot bias the law.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::book::Book;
use crate::model::{BookSide, EventTime, Level, Price, Qty, TakerSide, Trade, TradeKind, UNIT};

/// Simulated time per step, in milliseconds (Extended publishes deltas every 100 ms,
/// docs/VENUES.md §1.3).
pub const STEP_MS: i64 = 100;
/// The first trade id: above 2⁵³, like real Extended ids (docs/VENUES.md §1.4).
pub const FIRST_TRADE_ID: i64 = 2_103_821_900_219_158_529;
/// [`BookKind::Queues`]: the share of time the spread is two ticks wide.
pub const WIDE_SHARE: f64 = 0.25;
/// [`BookKind::Queues`]: the chance per step that the level at the touch gets an arrival
/// (and, independently, a cancel); the k-th level from the touch (k from 0) gets 1/(k+1) of it.
pub const QUEUE_FLOW: f64 = 0.3;
/// [`BookKind::Queues`]: the largest σ/tick (per √second) accepted: 4·(σ/tick)² half-tick moves
/// of the mid a second are drawn one by one, 4,000 a step at this bound.
pub const QUEUES_MAX_SIGMA_TICKS: f64 = 100.0;

/// The true parameters of one synthetic market.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketParams {
    pub market: String,
    /// Initial mid.
    pub mid: Price,
    pub tick: Price,
    pub lot: Qty,
    /// Volatility of the mid, price / √second.
    pub sigma: f64,
    /// Arrival rate (1/s) of taker SELLs, which hit the bids.
    pub a_bid: f64,
    /// Decay (1/price) of the taker SELLs' reach.
    pub kappa_bid: f64,
    /// Arrival rate (1/s) of taker BUYs, which lift the asks.
    pub a_ask: f64,
    /// Decay (1/price) of the taker BUYs' reach.
    pub kappa_ask: f64,
    /// Ticks per side kept in the book.
    pub levels: usize,
    /// Largest resting size of one level.
    pub max_size: Qty,
    /// How the book is made: re-centred every step, or resting queues (module header).
    pub book: BookKind,
}

/// How the synthetic market's book is made (docs/MODEL.md "The synthetic market").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BookKind {
    /// A one-tick spread re-centred on the latent mid every step; every level an order reaches
    /// is swept whole and refilled.
    #[default]
    Dense,
    /// Resting queues: the best levels stay while the mid moves in half ticks (a one- or
    /// two-tick spread), sizes rise and fall without trades, and an order's deepest print takes
    /// only the front of its level.
    Queues,
}

impl BookKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dense => "dense",
            Self::Queues => "queues",
        }
    }
}

impl MarketParams {
    /// Defaults for a market name. The presets keep the mean reach of an order near 6.7 ticks
    /// (κ·tick = 0.15) so the touch is hit on most orders and a 20-point calibration grid has
    /// data, and make a one-second mid move many ticks (σ/tick ≥ 10) so σ is not drowned by
    /// tick rounding. ETH-USD uses the brief's values: σ 0.5 (≈ 90 % a year at 3000), A 2/s,
    /// κ 15/price. Unknown names get a generic market at 1000 with a 0.01 tick: its 50 levels
    /// span 5 bps, so even an order sweeping the whole side prints well inside `verify`'s
    /// 50 bps band (at 100 they spanned 50 bps, and one order in ~1,800 reached past it).
    pub fn preset(market: &str) -> Self {
        let (mid, tick, lot, sigma, kappa, max_size) = match market {
            "ETH-USD" => ("3000", "0.01", "0.001", 0.5, 15.0, "2"),
            "BTC-USD" => ("84000", "1", "0.00001", 10.0, 0.15, "0.5"),
            "SOL-USD" => ("140", "0.001", "0.01", 0.025, 150.0, "50"),
            _ => ("1000", "0.01", "0.01", 0.2, 15.0, "100"),
        };
        let price = |t: &str| Price::parse(t).expect("preset prices are valid decimals");
        let qty = |t: &str| Qty::parse(t).expect("preset sizes are valid decimals");
        Self {
            market: market.to_owned(),
            mid: price(mid),
            tick: price(tick),
            lot: qty(lot),
            sigma,
            a_bid: 2.0,
            kappa_bid: kappa,
            a_ask: 2.0,
            kappa_ask: kappa,
            levels: 50,
            max_size: qty(max_size),
            book: BookKind::Dense,
        }
    }

    /// Ticks from the touch that are always filled (the rest get random holes).
    pub fn dense(&self) -> usize {
        (self.levels * 3 / 5).max(1)
    }
}

/// One changed level of a DELTA: the signed change and the new absolute size (docs/VENUES.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub price: Price,
    pub change: Qty,
    pub size: Qty,
}

/// What one step produced.
#[derive(Debug, Clone, Default)]
pub struct StepOutcome {
    pub trades: Vec<Trade>,
    /// Changed bids, best first.
    pub bids: Vec<Change>,
    /// Changed asks, best first.
    pub asks: Vec<Change>,
}

/// One synthetic market: its book, latent mid and random stream.
#[derive(Debug, Clone)]
pub struct Market {
    params: MarketParams,
    rng: StdRng,
    latent_mid: f64,
    book: Book,
    next_trade_id: i64,
    /// [`BookKind::Queues`]: the published mid in half ticks (odd: one-tick spread; even: two
    /// ticks around an empty level at the mid). Unused by [`BookKind::Dense`].
    half_ticks: i64,
}

/// An aggressive order drawn for a step.
struct Order {
    offset_ms: i64,
    side: TakerSide,
    reach: f64,
}

impl Market {
    /// A market with a full book around `params.mid`. The random stream depends on the seed
    /// and the market name, so adding a market does not change another market's data.
    pub fn new(params: MarketParams, seed: u64) -> Self {
        let name_hash = params.market.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let rng = StdRng::seed_from_u64(seed ^ name_hash);
        let latent_mid = params.mid.to_f64();
        let mut market = Self {
            params,
            rng,
            latent_mid,
            book: Book::new(),
            next_trade_id: FIRST_TRADE_ID,
            half_ticks: 0,
        };
        if market.params.book == BookKind::Queues {
            // The tick at or below the mid and one above, made two ticks wide with the
            // stationary probability, so the spread's state is stationary from the start.
            let ticks = (market.latent_mid / market.params.tick.to_f64()).floor() as i64;
            let wide = market.rng.random::<f64>() < WIDE_SHARE;
            market.half_ticks = 2 * ticks + 1 + i64::from(wide);
            market.reflect();
        }
        market.recentre(true);
        market
    }

    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// The book as last published.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The latent (true) mid, for statistics; with [`BookKind::Queues`] the published mid.
    pub fn latent_mid(&self) -> f64 {
        self.latent_mid
    }

    /// Advances one step whose book frame is stamped `frame_ts_ms`; the step's orders fall in
    /// the milliseconds strictly between the previous frame and this one.
    pub fn step(&mut self, frame_ts_ms: i64) -> StepOutcome {
        let before = self.book.clone();
        let mut outcome = StepOutcome::default();
        for order in self.draw_orders() {
            self.execute(&order, frame_ts_ms - STEP_MS + order.offset_ms, &mut outcome.trades);
        }
        match self.params.book {
            BookKind::Dense => {
                let step_sd = self.params.sigma * (STEP_MS as f64 / 1000.0).sqrt();
                self.latent_mid += step_sd * self.normal();
            }
            BookKind::Queues => {
                self.queue_flow();
                self.move_mid();
            }
        }
        self.recentre(false);
        outcome.bids = diff(&before, &self.book, BookSide::Bid);
        outcome.asks = diff(&before, &self.book, BookSide::Ask);
        outcome
    }

    fn draw_orders(&mut self) -> Vec<Order> {
        let mut orders = Vec::new();
        let step_secs = STEP_MS as f64 / 1000.0;
        for (side, rate, kappa) in [
            (TakerSide::Sell, self.params.a_bid, self.params.kappa_bid),
            (TakerSide::Buy, self.params.a_ask, self.params.kappa_ask),
        ] {
            let count = self.poisson(rate * step_secs).min(STEP_MS as u64 - 1);
            let mut taken: Vec<i64> = Vec::new();
            for _ in 0..count {
                // Distinct milliseconds per side: docs/MODEL.md groups prints by (ts, side) into
                // one order, so two orders must not share a millisecond.
                let offset_ms = loop {
                    let ms = self.rng.random_range(1..STEP_MS);
                    if !taken.contains(&ms) {
                        break ms;
                    }
                };
                taken.push(offset_ms);
                let reach = -(1.0 - self.rng.random::<f64>()).ln() / kappa;
                orders.push(Order { offset_ms, side, reach });
            }
        }
        orders.sort_by_key(|o| (o.offset_ms, o.side));
        orders
    }

    /// Sweeps the levels within the order's reach of the published mid, in exact decimals.
    /// [`BookKind::Dense`]: every level at distance d ≤ reach, whole. [`BookKind::Queues`]:
    /// every level at distance d < the first grid point tick/2 + k·tick beyond the reach (the
    /// same levels when the spread is one tick), whole but the deepest, whose front it takes.
    fn execute(&mut self, order: &Order, ts_ms: i64, trades: &mut Vec<Trade>) {
        // The mid only moves after the orders, so `touch()` is still the published one.
        let (bid, ask) = self.touch();
        let twice_mid = i128::from(bid.raw()) + i128::from(ask.raw());
        let twice_reach = (2.0 * order.reach * UNIT as f64).min(1e30) as i128;
        // Queues: grid points tick/2 + k·tick within reach, n; the first beyond is at
        // tick/2 + n·tick, compared as twice the distance.
        let tick = i128::from(self.params.tick.raw());
        let within = if twice_reach < tick { 0 } else { (twice_reach - tick) / (2 * tick) + 1 };
        let twice_bound = tick * (2 * within + 1);
        let queues = self.params.book == BookKind::Queues;
        let side = order.side.hits();
        let hit: Vec<Level> = self
            .book
            .levels(side)
            .take_while(|level| {
                let twice_price = 2 * i128::from(level.price.raw());
                let twice_depth = match side {
                    BookSide::Ask => twice_price - twice_mid,
                    BookSide::Bid => twice_mid - twice_price,
                };
                if queues {
                    twice_depth < twice_bound
                } else {
                    twice_depth <= twice_reach
                }
            })
            .collect();
        let ts_event =
            EventTime::from_millis(ts_ms).expect("simulated time is far from i64 overflow");
        let deepest = hit.len().saturating_sub(1);
        for (i, level) in hit.into_iter().enumerate() {
            let taken = if queues && i == deepest { self.front_of(level.qty) } else { level.qty };
            if taken == level.qty {
                // The consumed level is replenished at once with a new size: a later order of
                // the same step then meets the same price grid, which keeps λ(δ) = A·e^(−κδ)
                // exact (leaving the hole until the re-centre biases A and κ low by a few per
                // cent).
                let refill = self.random_size();
                self.book.set(side, level.price, refill);
            } else {
                self.book.set(side, level.price, Qty::from_raw(level.qty.raw() - taken.raw()));
            }
            trades.push(Trade {
                market: self.params.market.clone(),
                id: self.next_trade_id,
                side: order.side,
                kind: TradeKind::Trade,
                ts_event,
                price: level.price,
                qty: taken,
            });
            self.next_trade_id += 1;
        }
    }

    /// [`BookKind::Queues`]: what an order takes from the front of its deepest level, a whole
    /// number of lots from one to all of it, uniformly.
    fn front_of(&mut self, size: Qty) -> Qty {
        let lot = self.params.lot.raw().max(1);
        let lots = size.raw() / lot;
        if lots <= 1 {
            return size;
        }
        Qty::from_raw(self.rng.random_range(1..=lots) * lot)
    }

    /// [`BookKind::Queues`]: arrivals at the back and cancels anywhere in each level's queue,
    /// most often at the touch. An arrival adds 1 to ⌈max_size/2⌉ lots; a cancel removes 1 to
    /// all but one lot, uniformly, so a level never empties by cancels (the spread stays one or
    /// two ticks) and its size has a stationary law of about half of `max_size`.
    fn queue_flow(&mut self) {
        let lot = self.params.lot.raw().max(1);
        let max_arrival = ((self.params.max_size.raw() / lot).max(2) + 1) / 2;
        for side in [BookSide::Bid, BookSide::Ask] {
            let levels: Vec<Level> = self.book.levels(side).collect();
            for (k, level) in levels.into_iter().enumerate() {
                let chance = QUEUE_FLOW / (k + 1) as f64;
                let lots = level.qty.raw() / lot;
                let mut after = lots;
                if self.rng.random::<f64>() < chance {
                    after += self.rng.random_range(1..=max_arrival);
                }
                if self.rng.random::<f64>() < chance && after > 1 {
                    after -= self.rng.random_range(1..after);
                }
                if after != lots {
                    self.book.set(side, level.price, Qty::from_raw(after * lot));
                }
            }
        }
    }

    /// [`BookKind::Queues`]: the published mid moves by half ticks at the jumps of a two-state
    /// chain — rate J/(2(1 − w)) from a one-tick spread, J/(2w) from a two-tick one, w =
    /// [`WIDE_SHARE`], J = 4σ²/tick² — so in the stationary chain a second holds J jumps on
    /// average, each of variance (tick/2)²: σ² per second exactly, and the spread is two ticks
    /// a share w of the time.
    fn move_mid(&mut self) {
        let jumps = 4.0 * (self.params.sigma / self.params.tick.to_f64()).powi(2);
        let (from_one, from_two) = (jumps / (2.0 * (1.0 - WIDE_SHARE)), jumps / (2.0 * WIDE_SHARE));
        let mut left = STEP_MS as f64 / 1000.0;
        // A guard only: `parse_market` bounds σ/tick so a step draws a few thousand jumps.
        for _ in 0..1_000_000 {
            let rate = if self.half_ticks % 2 != 0 { from_one } else { from_two };
            let wait = -(1.0 - self.rng.random::<f64>()).ln() / rate;
            // A NaN wait (never expected) ends the step like a wait past its end.
            if wait.partial_cmp(&left) != Some(std::cmp::Ordering::Less) {
                break;
            }
            left -= wait;
            self.half_ticks += if self.rng.random::<bool>() { 1 } else { -1 };
        }
        self.reflect();
    }

    /// [`BookKind::Queues`]: keeps every level positive by reflecting the mid off a floor of
    /// `levels` + 1 ticks (the reflection keeps the spread's state), as the dense book does.
    fn reflect(&mut self) {
        let floor = 2 * (self.params.levels.max(1) as i64 + 1);
        if self.half_ticks < floor {
            self.half_ticks = 2 * floor - self.half_ticks;
        }
        self.latent_mid = self.half_ticks as f64 * self.params.tick.to_f64() / 2.0;
    }

    /// Best bid and ask. [`BookKind::Dense`]: the tick at or below the latent mid, and one
    /// tick above. [`BookKind::Queues`]: one tick about a mid on a half tick, two ticks about a
    /// mid on a tick.
    fn touch(&self) -> (Price, Price) {
        let tick = self.params.tick.raw();
        match self.params.book {
            BookKind::Dense => {
                let ticks = (self.latent_mid / self.params.tick.to_f64()).floor() as i64;
                (Price::from_raw(ticks * tick), Price::from_raw((ticks + 1) * tick))
            }
            BookKind::Queues => {
                let h = self.half_ticks;
                (
                    Price::from_raw((h - 1).div_euclid(2) * tick),
                    Price::from_raw((h + 2).div_euclid(2) * tick),
                )
            }
        }
    }

    fn recentre(&mut self, initial: bool) {
        let tick = self.params.tick.raw();
        let levels = self.params.levels.max(1) as i64;
        // Keep every level positive: reflect the latent mid off a floor of `levels` ticks
        // (`reflect` does it for the queues' mid).
        let floor = (levels + 1) as f64 * self.params.tick.to_f64();
        if self.params.book == BookKind::Dense && self.latent_mid < floor {
            self.latent_mid = 2.0 * floor - self.latent_mid;
        }
        let (best_bid, best_ask) = self.touch();
        let dense = self.params.dense() as i64;
        for (side, best, dir) in [(BookSide::Bid, best_bid, -1i64), (BookSide::Ask, best_ask, 1i64)]
        {
            let depth_of = |p: Price| (p.raw() - best.raw()) * dir / tick;
            let stale: Vec<Price> = self
                .book
                .levels(side)
                .map(|l| l.price)
                .filter(|p| {
                    let d = depth_of(*p);
                    d < 0 || d >= levels
                })
                .collect();
            for price in stale {
                self.book.set(side, price, Qty::ZERO);
            }
            for depth in 0..levels {
                let price = Price::from_raw(best.raw() + dir * depth * tick);
                let present = self.book.get(side, price).is_some();
                if depth < dense || initial {
                    if !present {
                        let size = self.random_size();
                        self.book.set(side, price, size);
                    }
                } else if present {
                    if self.rng.random::<f64>() < 0.02 {
                        self.book.set(side, price, Qty::ZERO);
                    }
                } else if self.rng.random::<f64>() < 0.2 {
                    let size = self.random_size();
                    self.book.set(side, price, size);
                }
            }
            // The queues' sizes move in `queue_flow` instead.
            for _ in 0..if self.params.book == BookKind::Dense { 3 } else { 0 } {
                let depth = self.rng.random_range(0..levels);
                let price = Price::from_raw(best.raw() + dir * depth * tick);
                if self.book.get(side, price).is_some() {
                    let size = self.random_size();
                    self.book.set(side, price, size);
                }
            }
        }
    }

    fn random_size(&mut self) -> Qty {
        let lot = self.params.lot.raw().max(1);
        let max_lots = (self.params.max_size.raw() / lot).max(1);
        Qty::from_raw(self.rng.random_range(1..=max_lots) * lot)
    }

    /// Knuth's method: fine for the small means of one 100 ms step.
    fn poisson(&mut self, mean: f64) -> u64 {
        let limit = (-mean.clamp(0.0, 500.0)).exp();
        let mut count = 0;
        let mut product = self.rng.random::<f64>();
        while product > limit {
            count += 1;
            product *= self.rng.random::<f64>();
        }
        count
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The levels of one side that differ between two books, best first.
fn diff(before: &Book, after: &Book, side: BookSide) -> Vec<Change> {
    let mut old: Vec<Level> = before.levels(side).collect();
    let mut new: Vec<Level> = after.levels(side).collect();
    // Walk both in ascending price order, whatever the side.
    if side == BookSide::Bid {
        old.reverse();
        new.reverse();
    }
    let (mut i, mut j) = (0, 0);
    let mut changes = Vec::new();
    let mut push = |price: Price, old_qty: Qty, new_qty: Qty| {
        if old_qty != new_qty {
            let change = Qty::from_raw(new_qty.raw() - old_qty.raw());
            changes.push(Change { price, change, size: new_qty });
        }
    };
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.price == n.price => {
                push(o.price, o.qty, n.qty);
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.price < n.price => {
                push(o.price, o.qty, Qty::ZERO);
                i += 1;
            }
            (Some(o), None) => {
                push(o.price, o.qty, Qty::ZERO);
                i += 1;
            }
            (_, Some(n)) => {
                push(n.price, Qty::ZERO, n.qty);
                j += 1;
            }
            (None, None) => break,
        }
    }
    if side == BookSide::Bid {
        changes.reverse();
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_is_dense_one_tick_wide_and_tracks_the_latent_mid() {
        let mut market = Market::new(MarketParams::preset("ETH-USD"), 3);
        for k in 1..=2000 {
            market.step(k * STEP_MS);
            let book = market.book();
            let (bid, ask) = (book.best_bid().unwrap().price, book.best_ask().unwrap().price);
            assert_eq!(ask.raw() - bid.raw(), market.params().tick.raw());
            let mid = (bid.to_f64() + ask.to_f64()) / 2.0;
            assert!((mid - market.latent_mid()).abs() <= 0.005 + 1e-9);
            let dense = market.params().dense();
            let bids = book.top(BookSide::Bid, dense);
            assert_eq!(bids.len(), dense);
            assert!(bids.windows(2).all(|w| w[0].price.raw() - w[1].price.raw() == 1_000_000));
        }
    }

    #[test]
    fn trades_sweep_whole_levels_from_the_touch_inside_the_step() {
        let mut market = Market::new(MarketParams::preset("BTC-USD"), 11);
        let mut last_id = FIRST_TRADE_ID - 1;
        let mut printed = 0;
        for k in 1..=3000 {
            let before = market.book().clone();
            let out = market.step(k * STEP_MS);
            for t in &out.trades {
                assert_eq!(t.id, last_id + 1);
                last_id = t.id;
                let ms = t.ts_event.as_nanos() / 1_000_000;
                assert!(ms > (k - 1) * STEP_MS && ms < k * STEP_MS);
                // The level was on the published book; a second order in the same step
                // meets its replenished size, so only the first order's sizes are the book's.
                assert!(before.get(t.side.hits(), t.price).is_some());
                if t.ts_event == out.trades[0].ts_event {
                    assert_eq!(before.get(t.side.hits(), t.price), Some(t.qty));
                }
                printed += 1;
            }
        }
        assert!(printed > 500, "{printed}");
    }

    #[test]
    fn same_seed_same_market() {
        for book in [BookKind::Dense, BookKind::Queues] {
            let run = |seed| {
                let mut params = MarketParams::preset("ETH-USD");
                params.book = book;
                let mut m = Market::new(params, seed);
                let trades: usize = (1..=500).map(|k| m.step(k * STEP_MS).trades.len()).sum();
                (trades, m.book().checksum())
            };
            assert_eq!(run(5), run(5));
            assert_ne!(run(5), run(6));
        }
    }

    /// The queue book's example market (`mdkit simulate --help`): a 1 USD tick, half a tick of
    /// σ per √s, a mean reach of one tick.
    fn queue_params() -> MarketParams {
        let mut params = MarketParams::preset("ETH-USD");
        params.tick = Price::parse("1").unwrap();
        (params.kappa_bid, params.kappa_ask) = (1.0, 1.0);
        params.book = BookKind::Queues;
        params
    }

    /// The queue book: a one- or two-tick spread about the published mid, a dense inner book,
    /// a best bid that stays while its size rises and falls without trades, and orders that
    /// sweep whole levels but take only the front of the deepest one.
    #[test]
    fn queue_book_keeps_its_levels_and_moves_sizes_without_trades() {
        let mut market = Market::new(queue_params(), 3);
        let tick = market.params().tick.raw();
        let dense = market.params().dense();
        let (mut wide, mut rose, mut fell, mut partial, mut whole) = (0, 0, 0, 0, 0);
        for k in 1..=3000 {
            let before = market.book().clone();
            let out = market.step(k * STEP_MS);
            let book = market.book();
            let (bid, ask) = (book.best_bid().unwrap(), book.best_ask().unwrap());
            let spread = ask.price.raw() - bid.price.raw();
            assert!(spread == tick || spread == 2 * tick, "step {k}: spread {spread}");
            wide += usize::from(spread == 2 * tick);
            let mid = (bid.price.to_f64() + ask.price.to_f64()) / 2.0;
            assert!((mid - market.latent_mid()).abs() < 1e-9, "the published mid is the mid");
            for side in [BookSide::Bid, BookSide::Ask] {
                let levels = book.top(side, dense);
                assert_eq!(levels.len(), dense);
                assert!(levels
                    .windows(2)
                    .all(|w| (w[0].price.raw() - w[1].price.raw()).abs() == tick));
            }
            let old = before.best_bid().unwrap();
            let traded = out.trades.iter().any(|t| t.price == bid.price);
            if old.price == bid.price && !traded {
                rose += usize::from(bid.qty > old.qty);
                fell += usize::from(bid.qty < old.qty);
            }
            // The step's first order met the published book: whole levels, then a front.
            let Some(first) = out.trades.first() else { continue };
            let prints: Vec<&Trade> = out
                .trades
                .iter()
                .filter(|t| t.ts_event == first.ts_event && t.side == first.side)
                .collect();
            let side = first.side.hits();
            for (i, t) in prints.iter().enumerate() {
                let size = before.get(side, t.price).unwrap();
                if i + 1 < prints.len() {
                    assert_eq!(t.qty, size, "a shallower level is swept whole");
                    whole += 1;
                } else {
                    assert!(t.qty <= size && t.qty.raw() > 0);
                    partial += usize::from(t.qty < size);
                }
            }
        }
        assert!((300..1200).contains(&wide), "{wide} of 3000 frames two ticks wide");
        assert!(rose > 200 && fell > 200, "best bid rose {rose}, fell {fell} without trades");
        assert!(partial > 300 && whole > 50, "{partial} partial deepest prints, {whole} whole");
    }
}
