//! The backtest engine: replays [`Event`]s through the simulated [`Exchange`] and a
//! [`Strategy`] on two clocks, streaming fills and per-second equity to a [`Sink`].
//!
//! Clocks. Everything runs on one nanosecond timeline in the local (receive) clock.
//! - The strategy sees each event at its `ts_recv` (the replay's order).
//! - The exchange sees it at its *exchange time*: `ts_event + offset`, where `offset` is
//!   min(0, smallest `ts_recv − ts_event` seen so far). On a sane clock feed latency is
//!   positive, the offset is 0 and the exchange sees the event at `ts_event` (docs/MODEL.md). On a
//!   receive clock running behind the venue's (the Binance capture: `ts_event` up to ~1.3 s
//!   *after* `ts_recv`) the offset shifts venue time back so that no event reaches the
//!   exchange after the strategy received it; jitter is kept. A receive clock running ahead
//!   cannot be told from real latency and is left alone. Exchange time is then made monotone
//!   (`max` with the previous one) because the stream is sorted by `ts_recv`, not by venue
//!   time; the unguarded time still decides which orders an event may fill, so an event
//!   delivered late never fills an order that arrived after it happened.
//! - An action written at strategy time `t` reaches the exchange at `t + entry latency`.
//!   Answers (acks, rejects, fills, cancels, expiries) reach the strategy at the exchange time
//!   that produced them + response latency, floored only by the `ts_recv` of the last market
//!   event already processed (the strategy cannot hear of anything before it has received the
//!   data it depends on). Both paths are FIFO, like one order connection.
//! - Interleaving. Before a market event with exchange time `x` and strategy time `recv` is
//!   applied, the engine repeatedly takes whichever comes first of: the next action reaching
//!   the exchange before `x` (or an order's expiry before `x`, which goes first on a tie), and
//!   the next answer due to the strategy before `recv`. So an action sees every market event
//!   that happened before it, an acknowledgement arrives a round trip after the order even in
//!   a market quiet for seconds, and what the strategy does on an answer (a new order, a
//!   cancel) reaches the exchange and is answered before the next market event when its times
//!   say so. An action reaching the exchange exactly at `x` comes after the event.
//! - Latency is constant, the latest feed latency (`feed`), or recorded
//!   ([`crate::backtest::latency`]: entry latency read at the time the action is written,
//!   response latency at the exchange time the answer is produced).
//! - `feed` latency is `ts_recv − exchange time` of the latest event.
//! - With `--clock event` the replay has already put `ts_event + L` in `ts_recv` (see
//!   [`crate::backtest::replay`]): the offset stays 0, the exchange sees each event L before
//!   the strategy, and the command maps `feed` latency to the constant L.
//!
//! Per event the work is: the clock mapping, the exchange (book level update, a loop over
//! our few orders), two queue-front comparisons and an integer comparison for the equity
//! sample; strategies run on book frames, trades and reports only. Nothing allocates once
//! the buffers have grown, and there are no hash maps: the same inputs give the same output.

use std::collections::VecDeque;

use crate::backtest::event::{Event, MarketSpec, Recalibration};
use crate::backtest::exchange::{Exchange, Outcome};
use crate::backtest::metrics::Metrics;
use crate::backtest::report::{
    Diagnostics, EquitySample, Fill, FillCause, Sink, SinkError, Summary, PROGRESS_EVERY,
};
use crate::backtest::settings::{Config, Latency, Settings, SettingsError};
use crate::backtest::strategy::{
    Action, OrderState, Orders, OwnOrder, Report, ReportKind, Strategy, View,
};
use crate::model::money::Money;
use crate::model::{BookSide, EventTime, Price, Qty, RecvTime, NANOS_PER_SEC};
use crate::storage::DepthRow;

/// Why a backtest stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError<E> {
    /// The event source failed.
    #[error("reading events: {0}")]
    Replay(E),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("writing output: {0}")]
    Sink(SinkError),
    /// The recalibrations are not sorted by `at`.
    #[error("recalibrations must be sorted by their time: {0}")]
    Recalibrations(String),
}

/// Runs one backtest over `events` (sorted by [`Event::order_key`]) with the strategy chosen
/// in `settings`, streaming to `sink`; returns the summary. Memory does not grow with the
/// number of events.
pub fn run<E>(
    events: impl Iterator<Item = Result<Event, E>>,
    spec: MarketSpec,
    settings: &Settings,
    recalibrations: &[Recalibration],
    sink: &mut dyn Sink,
) -> Result<Summary, EngineError<E>> {
    let config = settings.resolve(spec)?;
    let mut strategy = crate::backtest::strategy::build(&config);
    let mut summary = run_with(events, &config, recalibrations, &mut *strategy, sink)?;
    summary.strategy = config.strategy.name().to_owned();
    summary.settings = settings.entries().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Ok(summary)
}

/// [`run`] with a given strategy and resolved config (for custom strategies and tests).
pub fn run_with<E, S: Strategy + ?Sized>(
    events: impl Iterator<Item = Result<Event, E>>,
    config: &Config,
    recalibrations: &[Recalibration],
    strategy: &mut S,
    sink: &mut dyn Sink,
) -> Result<Summary, EngineError<E>> {
    if let Some(w) = recalibrations.windows(2).find(|w| w[1].at < w[0].at) {
        return Err(EngineError::Recalibrations(format!("{} comes after {}", w[1].at, w[0].at)));
    }
    let mut engine = Engine::new(config, recalibrations, strategy, sink);
    for event in events {
        let event = event.map_err(EngineError::Replay)?;
        engine.event(&event).map_err(EngineError::Sink)?;
    }
    engine.finish().map_err(EngineError::Sink)
}

struct Engine<'a, S: ?Sized> {
    config: &'a Config,
    recals: &'a [Recalibration],
    /// Index + 1 of the latest recalibration in force (0 = none yet).
    recal_next: usize,
    strategy: &'a mut S,
    sink: &'a mut dyn Sink,
    exchange: Exchange,
    to_exchange: VecDeque<(i64, Action)>,
    to_strategy: VecDeque<(i64, Outcome)>,
    last_to_exchange: i64,
    last_to_strategy: i64,
    offset: i64,
    ex_clock: i64,
    feed_latency: i64,
    /// `ts_recv` of the last market event whose exchange side has been applied: answers reach
    /// the strategy no earlier.
    floor: i64,
    last_ts_event: EventTime,
    ex_mid2: Option<i64>,
    // The strategy's side.
    now: i64,
    own: Vec<OwnOrder>,
    position: i64,
    cash: Money,
    best_bid: Option<Price>,
    best_ask: Option<Price>,
    orders: Orders,
    first_recv: Option<i64>,
    last_recv: i64,
    warm_until: i64,
    next_sample: i64,
    metrics: Metrics,
    events: u64,
    /// `(ts_recv, ts_event)` of the last event when it was a depth row ([`Engine::more_depth`]).
    depth_run: Option<(RecvTime, EventTime)>,
    orders_sent: u64,
    orders_rejected: u64,
    seen: Seen,
}

/// Half-tick buckets of trade distance from mid; the last one holds everything beyond.
pub const DISTANCE_BUCKETS: usize = 4096;

/// What the strategy met, for [`Diagnostics`]: counts, an exact sum of quote distances and a
/// fixed histogram of trade distances (no allocation per event, deterministic).
struct Seen {
    book_frames: u64,
    frames_warming_up: u64,
    frames_with_fit: u64,
    quotes: u64,
    /// Σ |2·price − (bid + ask)|, raw units.
    quote_distance2: i128,
    trades: u64,
    trade_buckets: Box<[u64; DISTANCE_BUCKETS]>,
}

impl Seen {
    fn new() -> Self {
        Self {
            book_frames: 0,
            frames_warming_up: 0,
            frames_with_fit: 0,
            quotes: 0,
            quote_distance2: 0,
            trades: 0,
            trade_buckets: Box::new([0; DISTANCE_BUCKETS]),
        }
    }

    /// Distance of `price` from the mid of `bid`/`ask`, doubled (raw units, exact).
    fn distance2(price: Price, bid: Price, ask: Price) -> i64 {
        (2 * price.raw() - bid.raw() - ask.raw()).abs()
    }

    fn diagnostics(&self, tick: Price) -> Diagnostics {
        let tick = tick.raw().max(1);
        let quantile = |q: f64| -> Option<f64> {
            if self.trades == 0 {
                return None;
            }
            let need = ((self.trades as f64) * q).ceil().max(1.0) as u64;
            let mut sum = 0;
            for (i, n) in self.trade_buckets.iter().enumerate() {
                sum += n;
                if sum >= need {
                    return Some((i + 1) as f64 / 2.0);
                }
            }
            None
        };
        Diagnostics {
            book_frames: self.book_frames,
            frames_warming_up: self.frames_warming_up,
            frames_with_fit: self.frames_with_fit,
            quotes: self.quotes,
            quote_distance_ticks_mean: (self.quotes > 0)
                .then(|| self.quote_distance2 as f64 / (2.0 * self.quotes as f64 * tick as f64)),
            trades: self.trades,
            trade_distance_ticks_p50: quantile(0.5),
            trade_distance_ticks_p90: quantile(0.9),
        }
    }
}

impl<'a, S: Strategy + ?Sized> Engine<'a, S> {
    fn new(
        config: &'a Config,
        recals: &'a [Recalibration],
        strategy: &'a mut S,
        sink: &'a mut dyn Sink,
    ) -> Self {
        Self {
            config,
            recals,
            recal_next: 0,
            strategy,
            sink,
            exchange: Exchange::new(config),
            to_exchange: VecDeque::with_capacity(64),
            to_strategy: VecDeque::with_capacity(64),
            last_to_exchange: i64::MIN,
            last_to_strategy: i64::MIN,
            offset: 0,
            ex_clock: i64::MIN,
            feed_latency: 0,
            floor: i64::MIN,
            last_ts_event: EventTime::from_nanos(0),
            ex_mid2: None,
            now: i64::MIN,
            own: Vec::with_capacity(8),
            position: 0,
            cash: Money::ZERO,
            best_bid: None,
            best_ask: None,
            orders: Orders::new(),
            first_recv: None,
            last_recv: i64::MIN,
            warm_until: i64::MIN,
            next_sample: i64::MAX,
            metrics: Metrics::with_contract(config.contract),
            events: 0,
            depth_run: None,
            orders_sent: 0,
            orders_rejected: 0,
            seen: Seen::new(),
        }
    }

    fn latency(&self, l: Latency) -> i64 {
        match l {
            Latency::Constant(ns) => ns,
            Latency::Feed => self.feed_latency,
        }
    }

    /// Entry latency of an action written at strategy time `t`.
    fn entry_latency(&self, t: i64) -> i64 {
        match &self.config.order_latency {
            Some(recorded) => recorded.entry(t),
            None => self.latency(self.config.entry_latency),
        }
    }

    /// Response latency of an answer produced at exchange time `at`.
    fn response_latency(&self, at: i64) -> i64 {
        match &self.config.order_latency {
            Some(recorded) => recorded.response(at),
            None => self.latency(self.config.response_latency),
        }
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.events += 1;
        let recv = match event {
            Event::Depth(r) if self.depth_run == Some((r.ts_recv, r.ts_event)) => {
                self.more_depth(r)?;
                r.ts_recv
            }
            _ => self.market_event(event)?,
        };
        if self.events.is_multiple_of(PROGRESS_EVERY) {
            self.sink.progress(self.events, recv);
        }
        Ok(())
    }

    /// A depth row received and stamped at the same times as the depth row just before it
    /// (the rest of a book frame): everything [`Engine::market_event`] does besides the book
    /// update was done for the first row at these same times and would change nothing now
    /// (the clocks, the gap rule, the actions and expiries due, the answers, the samples, the
    /// recalibrations), and the strategy does not see depth rows. A frame of the simulated
    /// venue is 47 rows: this path is most of a replay's events (issue 22).
    fn more_depth(&mut self, r: &DepthRow) -> Result<(), SinkError> {
        self.exchange.on_depth(r);
        if self.exchange.out.is_empty() {
            return Ok(());
        }
        self.collect(self.ex_clock)
    }

    /// One market event, in full; returns its `ts_recv`.
    fn market_event(&mut self, event: &Event) -> Result<RecvTime, SinkError> {
        let (recv_time, ts_event) = match event {
            Event::Depth(r) => (r.ts_recv, r.ts_event),
            Event::Top(r) => (r.ts_recv, r.ts_event),
            Event::Trade(r) => (r.ts_recv, r.ts_event),
        };
        self.depth_run = matches!(event, Event::Depth(_)).then_some((recv_time, ts_event));
        let (recv, ev) = (recv_time.as_nanos(), ts_event.as_nanos());
        if self.first_recv.is_none() {
            self.first_recv = Some(recv);
            self.warm_until = recv.saturating_add(self.config.warmup_ns);
            self.next_sample = recv.div_euclid(NANOS_PER_SEC) * NANOS_PER_SEC;
            if self.next_sample < recv {
                self.next_sample += NANOS_PER_SEC;
            }
        } else if recv - self.last_recv > self.config.gap_threshold_ns {
            self.warm_until = recv.saturating_add(self.config.warmup_ns);
        }
        self.last_recv = recv;

        // Exchange side, at exchange time.
        self.offset = self.offset.min(recv - ev);
        let raw = ev + self.offset;
        let x = raw.max(self.ex_clock);
        self.interleave(x, recv)?;
        self.floor = recv;
        self.ex_clock = x;
        self.last_ts_event = ts_event;
        self.metrics.on_time(x);
        self.exchange.expire(x);
        match event {
            Event::Depth(r) => self.exchange.on_depth(r),
            Event::Top(r) => {
                self.metrics.on_book(x, self.ex_mid2);
                self.write_fills()?;
                self.ex_mid2 = match (r.bids.first(), r.asks.first()) {
                    (Some(b), Some(a)) => Some(b.price.raw() + a.price.raw()),
                    _ => None,
                };
                self.exchange.on_top(raw, r);
            }
            Event::Trade(r) => self.exchange.on_trade(raw, r),
        }
        self.feed_latency = recv - x;
        self.collect(x)?;

        // Strategy side, at ts_recv. Every answer due before `recv` was delivered by
        // `interleave`; those this event produced are due at `recv` or later.
        self.advance(recv)?;
        match event {
            Event::Depth(_) => {}
            Event::Top(r) => {
                self.best_bid = r.bids.first().map(|l| l.price);
                self.best_ask = r.asks.first().map(|l| l.price);
                self.seen.book_frames += 1;
                if self.now < self.warm_until {
                    self.seen.frames_warming_up += 1;
                } else if self.recal_next.checked_sub(1).is_some_and(|i| {
                    let fit = &self.recals[i].fit;
                    fit.sigma.is_some() && fit.bid.kappa.is_some() && fit.ask.kappa.is_some()
                }) {
                    self.seen.frames_with_fit += 1;
                }
                self.with_view(|s, view, out| s.on_top(view, r, out));
                self.flush(recv);
            }
            Event::Trade(r) => {
                if let (Some(b), Some(a)) = (self.best_bid, self.best_ask) {
                    let tick = self.config.tick.raw().max(1);
                    let bucket = (Seen::distance2(r.price, b, a) / tick) as usize;
                    self.seen.trade_buckets[bucket.min(DISTANCE_BUCKETS - 1)] += 1;
                    self.seen.trades += 1;
                }
                self.with_view(|s, view, out| s.on_trade(view, r, out));
                self.flush(recv);
            }
        }
        Ok(recv_time)
    }

    /// Before a market event at exchange time `x`, received at `recv`: applies the actions
    /// that reach the exchange before `x` and the expiries due before it, and delivers the
    /// answers due before `recv`, whichever comes first each time (the exchange on a tie), so
    /// the strategy's reactions to an answer can reach the exchange before the event too.
    fn interleave(&mut self, x: i64, recv: i64) -> Result<(), SinkError> {
        loop {
            let action = self.to_exchange.front().map(|a| a.0).filter(|&a| a < x);
            let expiry = self.exchange.next_expiry().filter(|&e| e < x);
            let report = self.to_strategy.front().map(|r| r.0).filter(|&r| r < recv);
            let exchange = match (action, expiry) {
                (Some(a), Some(e)) => Some(a.min(e)),
                (a, e) => a.or(e),
            };
            match (exchange, report) {
                (None, None) => return Ok(()),
                (Some(at), r) if r.is_none_or(|r| at <= r) => {
                    if expiry == Some(at) {
                        self.expire(at)?;
                    } else {
                        self.apply_action()?;
                    }
                }
                _ => {
                    if let Some((r, o)) = self.to_strategy.pop_front() {
                        self.deliver(r, o, true)?;
                    }
                }
            }
        }
    }

    /// Orders whose validity ends by exchange time `at` expire then.
    fn expire(&mut self, at: i64) -> Result<(), SinkError> {
        let at = at.max(self.ex_clock);
        self.ex_clock = at;
        self.metrics.on_time(at);
        self.exchange.expire(at);
        self.collect(at)
    }

    /// The next action in flight reaches the exchange.
    fn apply_action(&mut self) -> Result<(), SinkError> {
        let Some((at, action)) = self.to_exchange.pop_front() else { return Ok(()) };
        let at = at.max(self.ex_clock);
        self.ex_clock = at;
        self.metrics.on_time(at);
        self.exchange.expire(at);
        self.exchange.on_action(at, action);
        self.collect(at)
    }

    /// Streams the fills whose markout horizons have all passed, in execution order.
    fn write_fills(&mut self) -> Result<(), SinkError> {
        while let Some(fill) = self.metrics.pop_fill() {
            self.sink.fill(&fill)?;
        }
        Ok(())
    }

    /// Hands the exchange's fills to the metrics and queues its answers for the strategy.
    fn collect(&mut self, at: i64) -> Result<(), SinkError> {
        let response = self.response_latency(at);
        for i in 0..self.exchange.out.len() {
            let o = self.exchange.out[i];
            let report_at = at.saturating_add(response).max(self.floor).max(self.last_to_strategy);
            self.last_to_strategy = report_at;
            if let ReportKind::Filled { price, qty, liquidity, fee, .. } = o.kind {
                let cause = o.cause.unwrap_or(FillCause::Taker);
                // It reaches the sink once its markout horizons have passed (`Metrics`).
                self.metrics.on_fill(Fill {
                    ts_exchange: RecvTime::from_nanos(at),
                    ts_report: RecvTime::from_nanos(report_at),
                    ts_event: self.last_ts_event,
                    order_id: o.id,
                    side: o.side,
                    price,
                    qty,
                    liquidity,
                    cause,
                    fee,
                    position: Qty::from_raw(o.position),
                    cash: o.cash,
                    mid: self.ex_mid2.map(|m| Price::from_raw(m.div_euclid(2))),
                    mid2: self.ex_mid2,
                    queue_ahead: o.ahead.map(Qty::from_raw),
                    later_mid2: [None; 3],
                });
            }
            self.to_strategy.push_back((report_at, o));
        }
        self.exchange.out.clear();
        Ok(())
    }

    fn deliver(&mut self, at: i64, o: Outcome, act: bool) -> Result<(), SinkError> {
        self.advance(at)?;
        let i = self.own.iter().position(|x| x.id == o.id);
        match o.kind {
            ReportKind::Accepted => {
                if let Some(i) = i {
                    if self.own[i].state == OrderState::Sent {
                        self.own[i].state = OrderState::Live;
                    }
                }
            }
            ReportKind::Rejected(reason) => {
                if reason != crate::backtest::strategy::RejectReason::UnknownOrder {
                    self.orders_rejected += 1;
                }
                if let Some(i) = i {
                    self.own.remove(i);
                }
            }
            ReportKind::Filled { leaves, .. } => {
                self.position = o.position;
                self.cash = o.cash;
                if let Some(i) = i {
                    if leaves.raw() == 0 {
                        self.own.remove(i);
                    } else {
                        self.own[i].qty = leaves;
                    }
                }
            }
            ReportKind::Canceled | ReportKind::Expired => {
                if let Some(i) = i {
                    self.own.remove(i);
                }
            }
        }
        let report = Report { ts: RecvTime::from_nanos(at), id: o.id, side: o.side, kind: o.kind };
        self.with_view(|s, view, out| s.on_report(view, &report, out));
        if act {
            self.flush(at);
        } else {
            self.orders.actions.clear();
        }
        Ok(())
    }

    /// Moves strategy time to `t`, writing the equity samples of the seconds before it.
    fn advance(&mut self, t: i64) -> Result<(), SinkError> {
        while self.next_sample < t {
            self.sample(self.next_sample)?;
            self.next_sample += NANOS_PER_SEC;
        }
        self.now = self.now.max(t);
        while self.recal_next < self.recals.len()
            && self.recals[self.recal_next].at.as_nanos() <= self.now
        {
            self.recal_next += 1;
        }
        Ok(())
    }

    fn sample(&mut self, ts: i64) -> Result<(), SinkError> {
        let contract = self.config.contract;
        let mark = match (self.best_bid, self.best_ask) {
            (Some(b), Some(a)) => Some((contract.mark(self.position, b.raw() + a.raw()), b, a)),
            _ => None,
        };
        let equity = self.cash + mark.map_or(Money::ZERO, |m| m.0);
        let best = |side: BookSide| {
            let live = self.own.iter().filter(|o| o.side == side && o.state == OrderState::Live);
            match side {
                BookSide::Bid => live.map(|o| o.price).max(),
                BookSide::Ask => live.map(|o| o.price).min(),
            }
        };
        let sample = EquitySample {
            ts: RecvTime::from_nanos(ts),
            mid: mark.map(|(_, b, a)| Price::from_raw((b.raw() + a.raw()).div_euclid(2))),
            bid: best(BookSide::Bid),
            ask: best(BookSide::Ask),
            position: Qty::from_raw(self.position),
            cash: self.cash,
            equity,
        };
        self.metrics.on_equity(ts, equity);
        self.sink.equity(&sample)
    }

    fn with_view(&mut self, f: impl FnOnce(&mut S, &View<'_>, &mut Orders)) {
        let view = View {
            now: RecvTime::from_nanos(self.now),
            config: self.config,
            best_bid: self.best_bid,
            best_ask: self.best_ask,
            orders: &self.own,
            position: Qty::from_raw(self.position),
            cash: self.cash,
            calibration: self.recal_next.checked_sub(1).map(|i| &self.recals[i]),
            warming_up: self.now < self.warm_until,
        };
        f(&mut *self.strategy, &view, &mut self.orders);
    }

    /// Sends what the strategy wrote at time `t`.
    fn flush(&mut self, t: i64) {
        if self.orders.actions.is_empty() {
            return;
        }
        let entry = self.entry_latency(t);
        let arrive = t.saturating_add(entry).max(self.last_to_exchange);
        self.last_to_exchange = arrive;
        for k in 0..self.orders.actions.len() {
            let action = self.orders.actions[k];
            if let (Action::Place { price, .. } | Action::Modify { price, .. }, Some(b), Some(a)) =
                (action, self.best_bid, self.best_ask)
            {
                self.seen.quotes += 1;
                self.seen.quote_distance2 += i128::from(Seen::distance2(price, b, a));
            }
            match action {
                Action::Place { id, side, price, qty, kind } => {
                    self.orders_sent += 1;
                    self.own.push(OwnOrder {
                        id,
                        side,
                        price,
                        qty,
                        kind,
                        state: OrderState::Sent,
                        sent: RecvTime::from_nanos(t),
                    });
                }
                Action::Modify { id, price, qty } => {
                    if let Some(o) = self.own.iter_mut().find(|o| o.id == id) {
                        o.price = price;
                        o.qty = qty;
                        o.sent = RecvTime::from_nanos(t);
                    }
                }
                Action::Cancel { id } => {
                    if let Some(o) = self.own.iter_mut().find(|o| o.id == id) {
                        o.state = OrderState::Canceling;
                    }
                }
            }
            self.to_exchange.push_back((arrive, action));
        }
        self.orders.actions.clear();
    }

    /// After the last event: the exchange applies what is in flight, the strategy hears the
    /// answers (its new actions are dropped: there is no market left to meet them), the last
    /// seconds are sampled and the summary is built from the exchange's account.
    fn finish(mut self) -> Result<Summary, SinkError> {
        // Orders still resting do not expire after the data: the run ends at its last event,
        // and so do the markout horizons.
        let last_event = self.ex_clock;
        while !self.to_exchange.is_empty() {
            self.apply_action()?;
        }
        while let Some((at, o)) = self.to_strategy.pop_front() {
            self.deliver(at, o, false)?;
        }
        if self.first_recv.is_some() {
            while self.next_sample <= self.now {
                self.sample(self.next_sample)?;
                self.next_sample += NANOS_PER_SEC;
            }
            self.sink.progress(self.events, RecvTime::from_nanos(self.now));
        }
        let account = self.exchange.account;
        let final_mid = self.ex_mid2.map(|m| Price::from_raw(m.div_euclid(2)));
        let contract = self.config.contract;
        let marked = self.ex_mid2.map_or(Money::ZERO, |m2| contract.mark(account.position, m2));
        let net = account.cash + marked;
        let mut s = Summary {
            events: self.events,
            first_ts_recv: self.first_recv.map(RecvTime::from_nanos),
            last_ts_recv: self.first_recv.map(|_| RecvTime::from_nanos(self.last_recv)),
            duration_seconds: self
                .first_recv
                .map_or(0.0, |f| (self.last_recv - f) as f64 / NANOS_PER_SEC as f64),
            orders_sent: self.orders_sent,
            orders_rejected: self.orders_rejected,
            pnl_gross: net + account.fees,
            fees: account.fees,
            pnl_net: net,
            pnl_realized: account.realized(),
            pnl_unrealized: marked - account.open_cost,
            final_position: Qty::from_raw(account.position),
            final_cash: account.cash,
            final_mid,
            diagnostics: self.seen.diagnostics(self.config.tick),
            ..Summary::default()
        };
        self.metrics.end(last_event, self.ex_mid2);
        self.write_fills()?;
        self.metrics.finish(self.ex_clock, self.ex_mid2, net, &mut s);
        Ok(s)
    }
}

// The scenarios run the registered strategies directly.
#[cfg(test)]
use crate::backtest::strategy::{avellaneda::Avellaneda, imbalance::Imbalance};

#[cfg(test)]
mod tests;
