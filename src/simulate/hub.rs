//! The simulation clock and the hand-off to connections.
//!
//! Owns every market's state behind one lock, steps all markets together (one task, one
//! simulated clock), encodes each step's payloads once, and broadcasts them on a bounded
//! channel. A connection attaches under the same lock, so the snapshot (or trades replay) it
//! starts from and the first step it receives afterwards are contiguous: no frame is lost or
//! repeated between them. It must not know about sockets, seq numbers or faults.
//!
//! Every step's changes go out as a DELTA; on the minutely step a full SNAPSHOT of the same
//! book follows it (docs/VENUES.md §1.3 rule 4: SNAPSHOT 175 right after DELTA 174). The
//! snapshot never carries a change of its own, so it equals the book its connection's deltas
//! built, as on the real venue, and `verify` notes no snapshot drift on a clean recording.
//!
//! The hub also counts the market-data streams that attached ([`Hub::attach`], [`Hub::view`],
//! [`Hub::attach_values`], [`Hub::subscribe_stream`]), so that [`drive`] can hold the clock until a recorder is
//! listening: then what it records does not depend on how fast it connected.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::log::{Log, LogError};
use super::market::{Change, Market, MarketParams, STEP_MS};
use super::wire::{self, Format};
use crate::model::{BookSide, FrameKind, Level, Trade};

/// Trades kept for the replay on connect (docs/VENUES.md §1.4).
pub const REPLAY_TRADES: usize = 50;
/// Steps between full snapshots: one simulated minute (docs/VENUES.md §1.3).
pub const SNAPSHOT_EVERY: u64 = 60_000 / STEP_MS as u64;

/// One market's share of a step, already spelled.
#[derive(Debug)]
pub struct MarketTick {
    /// The v1 book `data` of the step's DELTA (possibly empty: it still proves liveness).
    pub delta: String,
    /// On the minutely step, the v1 book `data` of a SNAPSHOT of the book after the DELTA:
    /// sent right after it, with the same ts.
    pub snapshot: Option<String>,
    /// The `?depth=1` book `data`: a SNAPSHOT of the best bid and ask.
    pub top: String,
    /// The trades `data` array, if the step printed any.
    pub trades: Option<String>,
    /// The step's level changes and trades as values, for venues spelled per connection
    /// (the Binance venue, `super::binance`).
    pub bids: Vec<Change>,
    pub asks: Vec<Change>,
    pub trade_list: Vec<Trade>,
}

/// One step of the whole simulation.
#[derive(Debug)]
pub struct Tick {
    /// Steps done since the start of the simulation, this one included.
    pub index: u64,
    /// The frames' `ts`: simulated epoch milliseconds.
    pub ts_ms: i64,
    /// Indexed like [`Hub::markets`].
    pub markets: Vec<MarketTick>,
}

/// Where a connection of a venue spelled per connection starts, as values: the state after
/// step `index` ([`Hub::attach_values`]).
#[derive(Debug, Clone)]
pub struct Values {
    pub index: u64,
    pub ts_ms: i64,
    /// The full book, best first.
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    /// The last [`REPLAY_TRADES`] trades, oldest first.
    pub recent: Vec<Trade>,
}

/// Where a connection starts: the state after step `index`.
#[derive(Debug, Clone)]
pub struct Attached {
    pub index: u64,
    pub ts_ms: i64,
    /// SNAPSHOT `data` of the full book.
    pub snapshot: String,
    /// SNAPSHOT `data` of the best bid and ask.
    pub top: String,
    /// Trades `data` of the last [`REPLAY_TRADES`] trades (possibly empty).
    pub replay: String,
}

struct Slot {
    market: Market,
    format: Format,
    recent: VecDeque<Trade>,
}

impl Slot {
    fn attached(&self, index: u64, ts_ms: i64) -> Attached {
        let book = self.market.book();
        let name = &self.market.params().market;
        Attached {
            index,
            ts_ms,
            snapshot: wire::snapshot_data(
                name,
                self.format,
                book.levels(BookSide::Bid),
                book.levels(BookSide::Ask),
                "f",
            ),
            top: self.top(),
            replay: wire::trades_data(self.format, self.recent.iter()),
        }
    }

    fn top(&self) -> String {
        let book = self.market.book();
        let name = &self.market.params().market;
        wire::snapshot_data(
            name,
            self.format,
            book.best_bid().into_iter(),
            book.best_ask().into_iter(),
            "1",
        )
    }
}

struct State {
    slots: Vec<Slot>,
    index: u64,
    ts_ms: i64,
    /// `None` once the simulation has ended: receivers then drain and see `Closed`.
    tx: Option<broadcast::Sender<Arc<Tick>>>,
}

/// A cloneable handle on the simulation state.
#[derive(Clone)]
pub struct Hub {
    state: Arc<Mutex<State>>,
    names: Arc<[String]>,
    /// Market-data streams attached so far (never decreases).
    attached: Arc<watch::Sender<u64>>,
}

impl Hub {
    /// Markets built from their parameters and `seed`; the clock starts at `t0_ms` (the ts of
    /// the initial book). `capacity` bounds the broadcast: a connection further behind than
    /// that many steps is closed.
    pub fn new(params: Vec<MarketParams>, seed: u64, t0_ms: i64, capacity: usize) -> Self {
        let names: Arc<[String]> = params.iter().map(|p| p.market.clone()).collect();
        let slots = params
            .into_iter()
            .map(|p| Slot {
                format: Format::new(p.tick, p.lot),
                market: Market::new(p, seed),
                recent: VecDeque::new(),
            })
            .collect();
        let (tx, _) = broadcast::channel(capacity.max(1));
        let state = State { slots, index: 0, ts_ms: t0_ms, tx: Some(tx) };
        let (attached, _) = watch::channel(0);
        Self { state: Arc::new(Mutex::new(state)), names, attached: Arc::new(attached) }
    }

    /// Counts one more market-data stream.
    fn count_attached(&self) {
        self.attached.send_modify(|n| *n += 1);
    }

    /// Market-data streams attached so far, watched.
    pub fn attached(&self) -> watch::Receiver<u64> {
        self.attached.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while stepping leaves a consistent-enough state for the remaining readers.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn markets(&self) -> &[String] {
        &self.names
    }

    pub fn market_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Steps done so far.
    pub fn index(&self) -> u64 {
        self.lock().index
    }

    /// [`Book::checksum`](crate::book::Book::checksum) of a market's current book, so a
    /// client that applied every frame can be compared with the truth in-process.
    pub fn checksum(&self, market: usize) -> Option<u64> {
        self.lock().slots.get(market).map(|slot| slot.market.book().checksum())
    }

    /// A receiver of every later step; `None` once the simulation has ended.
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Arc<Tick>>> {
        self.lock().tx.as_ref().map(broadcast::Sender::subscribe)
    }

    /// The current state of `market` plus a receiver that starts at the very next step; the
    /// stream counts as attached.
    pub fn attach(&self, market: usize) -> Option<(Attached, broadcast::Receiver<Arc<Tick>>)> {
        let attached = {
            let state = self.lock();
            let rx = state.tx.as_ref()?.subscribe();
            let slot = state.slots.get(market)?;
            (slot.attached(state.index, state.ts_ms), rx)
        };
        self.count_attached();
        Some(attached)
    }

    /// [`Hub::attach`] as values (for venues spelled per connection, the Kraken venue): the
    /// book and recent trades of `market` plus a receiver that starts at the very next step;
    /// the stream counts as attached.
    pub fn attach_values(&self, market: usize) -> Option<(Values, broadcast::Receiver<Arc<Tick>>)> {
        let attached = {
            let state = self.lock();
            let rx = state.tx.as_ref()?.subscribe();
            let slot = state.slots.get(market)?;
            let book = slot.market.book();
            let values = Values {
                index: state.index,
                ts_ms: state.ts_ms,
                bids: book.levels(BookSide::Bid).collect(),
                asks: book.levels(BookSide::Ask).collect(),
                recent: slot.recent.iter().cloned().collect(),
            };
            (values, rx)
        };
        self.count_attached();
        Some(attached)
    }

    /// The price tick of `market`.
    pub fn tick(&self, market: usize) -> Option<crate::model::Price> {
        self.lock().slots.get(market).map(|slot| slot.market.params().tick)
    }

    /// The simulated clock now, epoch ms.
    pub fn ts_ms(&self) -> i64 {
        self.lock().ts_ms
    }

    /// The current state of `market` (for a v2 subscribe on an existing receiver: steps with
    /// an index up to `Attached::index` are already contained in it); the subscription counts
    /// as attached.
    pub fn view(&self, market: usize) -> Option<Attached> {
        let view = {
            let state = self.lock();
            state.slots.get(market).map(|slot| slot.attached(state.index, state.ts_ms))?
        };
        self.count_attached();
        Some(view)
    }

    /// [`Hub::subscribe`] for a connection that streams market data from the next step on
    /// (the Binance combined stream): it counts as attached.
    pub fn subscribe_stream(&self) -> Option<broadcast::Receiver<Arc<Tick>>> {
        let rx = self.subscribe()?;
        self.count_attached();
        Some(rx)
    }

    /// The full book of `market` after step `index` (returned with it, and its ts): what a
    /// REST snapshot shows.
    pub fn book(&self, market: usize) -> Option<(u64, i64, Vec<Level>, Vec<Level>)> {
        let state = self.lock();
        let book = state.slots.get(market)?.market.book();
        let bids = book.levels(BookSide::Bid).collect();
        let asks = book.levels(BookSide::Ask).collect();
        Some((state.index, state.ts_ms, bids, asks))
    }

    /// Advances every market by one step, logs it, and broadcasts it.
    pub fn step(&self, mut log: Option<&mut Log>) -> Result<(), LogError> {
        let mut state = self.lock();
        let index = state.index + 1;
        let ts_ms = state.ts_ms + STEP_MS;
        let minutely = index.is_multiple_of(SNAPSHOT_EVERY);
        let kind = if minutely { FrameKind::Snapshot } else { FrameKind::Delta };
        let mut markets = Vec::with_capacity(state.slots.len());
        for (n, slot) in state.slots.iter_mut().enumerate() {
            let outcome = slot.market.step(ts_ms);
            let name = slot.market.params().market.clone();
            let book = slot.market.book();
            // The snapshot is taken from the book the DELTA leads to, never instead of the
            // DELTA: replacing the step's DELTA with it would put that step's changes in a
            // snapshot that no delta described (the drift `verify` reports).
            let delta = wire::delta_data(&name, slot.format, &outcome.bids, &outcome.asks);
            let snapshot = minutely.then(|| {
                wire::snapshot_data(
                    &name,
                    slot.format,
                    book.levels(BookSide::Bid),
                    book.levels(BookSide::Ask),
                    "f",
                )
            });
            if let Some(log) = log.as_deref_mut() {
                log.step(n, ts_ms, kind, book, &outcome.trades)?;
            }
            let trades = (!outcome.trades.is_empty())
                .then(|| wire::trades_data(slot.format, outcome.trades.iter()));
            let top = slot.top();
            for trade in &outcome.trades {
                if slot.recent.len() == REPLAY_TRADES {
                    slot.recent.pop_front();
                }
                slot.recent.push_back(trade.clone());
            }
            markets.push(MarketTick {
                delta,
                snapshot,
                top,
                trades,
                bids: outcome.bids,
                asks: outcome.asks,
                trade_list: outcome.trades,
            });
        }
        state.index = index;
        state.ts_ms = ts_ms;
        if let Some(tx) = &state.tx {
            // No receiver is fine: nobody is connected.
            let _ = tx.send(Arc::new(Tick { index, ts_ms, markets }));
        }
        Ok(())
    }

    /// Ends the broadcast: connections send what is queued, then close.
    pub fn close(&self) {
        self.lock().tx = None;
    }
}

/// How fast and how long the clock runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Steps to run before ending; `None` runs until `stop`.
    pub steps: Option<u64>,
    /// Market-data streams that must have attached before the first step (0: start at once).
    pub wait_streams: u64,
}

/// Runs the clock: once `pace.wait_streams` streams have attached, one step every
/// 100 ms / speed of wall time (catching up without skipping when late), until `pace.steps`
/// are done or `stop` completes. Flushes the log every simulated minute and at the end, then
/// closes the hub so that connections drain and close.
pub async fn drive(
    hub: &Hub,
    pace: Pace,
    mut log: Option<&mut Log>,
    stop: impl Future<Output = ()>,
) -> Result<(), LogError> {
    let period = Duration::from_secs_f64(STEP_MS as f64 / 1000.0 / pace.speed);
    tokio::pin!(stop);
    let mut attached = hub.attached();
    let stopped = tokio::select! {
        biased;
        () = &mut stop => true,
        // The hub holds the sender, so waiting cannot fail.
        _ = attached.wait_for(|n| *n >= pace.wait_streams) => false,
    };
    let started = Instant::now();
    let mut done: u64 = 0;
    let result = loop {
        if stopped || pace.steps.is_some_and(|steps| done >= steps) {
            break Ok(());
        }
        let deadline = started + period.mul_f64((done + 1) as f64);
        if Instant::now() < deadline {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = &mut stop => break Ok(()),
            }
        } else if done.is_multiple_of(64) {
            // Catching up: let connections run now and then, and still notice `stop`.
            tokio::select! {
                biased;
                () = &mut stop => break Ok(()),
                () = tokio::task::yield_now() => {}
            }
        }
        if let Err(err) = hub.step(log.as_deref_mut()) {
            break Err(err);
        }
        done += 1;
        if done.is_multiple_of(SNAPSHOT_EVERY) {
            if let Some(log) = log.as_deref_mut() {
                if let Err(err) = log.flush() {
                    break Err(err);
                }
            }
        }
    };
    hub.close();
    let flushed = match log {
        Some(log) => log.flush(),
        None => Ok(()),
    };
    result.and(flushed)
}
