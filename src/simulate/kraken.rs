//! The local Kraken venue (`mdkit simulate --venue kraken`): the same synthetic market as the
//! Extended venue, spoken as Kraken's WebSocket v2 (docs/VENUES.md §9 "Kraken v2") at
//! `ws://127.0.0.1:<port>/v2`. Markets are named like `BTC-USD` and subscribed as `BTC/USD`.
//!
//! * On connecting: a `status` message. Requests: `subscribe` to `book` (depth 10, 25, 100, 500
//!   or 1000; default 10) or `trade` for a list of symbols; `ping` (answered by `pong`); an
//!   unknown pair, channel, depth or method gets a `success: false` response naming it.
//! * `book`: a snapshot of the top `depth` levels, then one update per step that changed them:
//!   levels that changed or entered the top, deletes (`qty` 0) of levels that left the book,
//!   and — as on the real venue — nothing for a level only pushed out of the top, which the
//!   client truncates. Each message carries the CRC32 checksum of the top 10 levels of the
//!   book it leads to, computed by the venue module's own [`KrakenBook`] over the text sent.
//! * `trade`: a snapshot of the last 50 trades, then one update per step with trades (a step's
//!   trades go out before its book update).
//! * A `heartbeat` every 10 steps (one simulated second) in which nothing else was sent.
//!
//! Faults (see `fault`): frame numbers count a connection's book and trade messages; `skip=N`
//! drops frame N (the client's next checksum then fails, or trade ids jump); `checksum=N`
//! sends book frame N with its checksum off by one; `disconnect`, `duplicate`, `swap`,
//! `malformed`, `stall`, `burst` and `bad=K` act as on Extended (`bad` spells Kraken's
//! shapes; a bad frame's sequence number is the book `checksum` or the `trade_id`). Owns
//! routing and the per-subscription view of the book; spelling is `kraken_wire`'s.

use std::future::Future;

use serde_json::Value;

use super::hub::Tick;
use super::kraken_wire as wire;
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::book::Book;
use crate::model::{BookSide, Level, Qty};
use crate::venue::kraken::link::DEPTHS;
use crate::venue::kraken::wire::WireLevel;
use crate::venue::kraken::{self, KrakenBook};

/// The WebSocket path of the public v2 API.
pub const PATH: &str = "/v2";
/// Steps without other traffic after which a heartbeat goes out (one simulated second).
const HEARTBEAT_STEPS: u64 = 10;

/// A `book` subscription: the full book as the steps leave it, and the client's view of it
/// (the top `depth` levels, with the text places the client will hash).
struct BookSub {
    market: usize,
    symbol: String,
    /// Steps up to this index are already in the snapshot.
    from: u64,
    full: Book,
    view: KrakenBook,
    depth: usize,
    price_places: u8,
}

/// A `trade` subscription.
struct TradeSub {
    market: usize,
    symbol: String,
    from: u64,
    price_places: u8,
}

#[derive(Default)]
pub(super) struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
    /// Steps in a row in which nothing was sent.
    quiet: u64,
}

/// The Kraken v2 protocol on the shared skeleton.
pub(super) struct Kraken;

impl Protocol for Kraken {
    type Subs = Subs;
    const PATH: &'static str = PATH;

    fn hello(conn: &Conn) -> Option<String> {
        Some(wire::status(conn.number))
    }

    fn request<'a>(
        conn: &'a mut Conn,
        shared: &'a Shared,
        subs: &'a mut Subs,
        text: &'a str,
    ) -> impl Future<Output = Flow> + Send + 'a {
        request(conn, shared, subs, text)
    }

    fn tick<'a>(
        conn: &'a mut Conn,
        shared: &'a Shared,
        subs: &'a mut Subs,
        tick: &'a Tick,
    ) -> impl Future<Output = Flow> + Send + 'a {
        heartbeat_step(conn, shared, subs, tick)
    }
}

/// One step, then a heartbeat if nothing went out for `HEARTBEAT_STEPS`.
async fn heartbeat_step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    let (flow, sent) = step(conn, shared, subs, tick).await;
    subs.quiet = if sent { 0 } else { subs.quiet + 1 };
    if flow == Flow::Continue && subs.quiet >= HEARTBEAT_STEPS && !conn.inj.is_stalled() {
        subs.quiet = 0;
        conn.text(wire::HEARTBEAT.to_owned()).await
    } else {
        flow
    }
}

/// Answers one client request.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let ts_ms = shared.hub.ts_ms();
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return conn.text(wire::failed("", "Malformed request", ts_ms)).await;
    };
    let method = value["method"].as_str().unwrap_or("");
    match method {
        "ping" => conn.text(wire::pong(ts_ms)).await,
        "subscribe" => subscribe(conn, shared, subs, &value["params"]).await,
        _ => conn.text(wire::failed(method, "Method not found", ts_ms)).await,
    }
}

/// A `subscribe` request: one response and one snapshot per symbol.
async fn subscribe(conn: &mut Conn, shared: &Shared, subs: &mut Subs, params: &Value) -> Flow {
    let hub = &shared.hub;
    let fail = |error: String| wire::failed("subscribe", &error, hub.ts_ms());
    let channel = params["channel"].as_str().unwrap_or("");
    let depth = match (channel, &params["depth"]) {
        ("book", Value::Null) => Some(kraken::DEFAULT_DEPTH),
        ("book", depth) => match depth.as_u64().and_then(|d| usize::try_from(d).ok()) {
            Some(d) if DEPTHS.contains(&d) => Some(d),
            _ => return conn.text(fail(format!("Invalid depth {depth}"))).await,
        },
        ("trade", _) => None,
        (other, _) => return conn.text(fail(format!("Channel {other:?} not found"))).await,
    };
    let symbols: Vec<&str> = match params["symbol"].as_array() {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => return conn.text(fail("Must provide a list of symbols".into())).await,
    };
    if subs.books.is_empty() && subs.trades.is_empty() {
        shared.first_subscription(conn, depth.is_some());
    }
    for symbol in symbols {
        let name = kraken::market_name(symbol);
        let attached = hub.market_index(&name).and_then(|m| Some((m, hub.attach_values(m)?)));
        // The connection's own receiver, taken before any subscription, already holds every
        // later step: this one is dropped, and steps up to `values.index` skipped.
        let Some((market, (values, _rx))) = attached else {
            let flow = conn.text(fail(format!("Currency pair not supported {symbol}"))).await;
            if flow == Flow::End {
                return flow;
            }
            continue;
        };
        if conn.text(wire::subscribed(channel, symbol, depth, values.ts_ms)).await == Flow::End {
            return Flow::End;
        }
        let price_places = hub.tick(market).map_or(8, |t| wire::places_of(t.raw()));
        let text = match depth {
            Some(depth) => {
                let mut full = Book::new();
                for (side, levels) in [(BookSide::Bid, &values.bids), (BookSide::Ask, &values.asks)]
                {
                    levels.iter().for_each(|l| full.set(side, l.price, l.qty));
                }
                let mut sub = BookSub {
                    market,
                    symbol: symbol.to_owned(),
                    from: values.index,
                    full,
                    view: KrakenBook::new(depth),
                    depth,
                    price_places,
                };
                let (bids, asks) = sub.snapshot();
                let text = sub.message(true, &bids, &asks, values.ts_ms, false);
                subs.books.push(sub);
                text
            }
            None => {
                let text = wire::trades(true, symbol, &values.recent, price_places);
                subs.trades.push(TradeSub {
                    market,
                    symbol: symbol.to_owned(),
                    from: values.index,
                    price_places,
                });
                text
            }
        };
        if conn.send_data((market, &name), text).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::Continue
}

impl BookSub {
    /// The top `depth` levels of the full book, as the snapshot sends them (the view replaced).
    fn snapshot(&mut self) -> (Vec<WireLevel>, Vec<WireLevel>) {
        let side = |s| self.full.top(s, self.depth).iter().map(|l| self.wire(l)).collect();
        let (bids, asks): (Vec<_>, Vec<_>) = (side(BookSide::Bid), side(BookSide::Ask));
        self.view.apply(true, &bids, &asks);
        (bids, asks)
    }

    fn wire(&self, level: &Level) -> WireLevel {
        wire::wire_level(level, self.price_places)
    }

    /// What changed in the top `depth` levels after the full book moved: levels new or
    /// changed in the top, and deletes of levels gone from the book (not of levels merely
    /// pushed below the top: the client truncates those). Applied to the view.
    fn update(&mut self) -> (Vec<WireLevel>, Vec<WireLevel>) {
        let mut out = [Vec::new(), Vec::new()];
        for (n, side) in [BookSide::Bid, BookSide::Ask].into_iter().enumerate() {
            let top = self.full.top(side, self.depth);
            for old in self.view.levels(side) {
                let kept = top.iter().any(|l| l.price == old.price);
                if !kept && self.full.get(side, old.price).is_none() {
                    out[n].push(self.wire(&Level::new(old.price, Qty::ZERO)));
                }
            }
            let shown = self.view.levels(side);
            for level in &top {
                if !shown.contains(level) {
                    out[n].push(self.wire(level));
                }
            }
        }
        let [bids, asks] = out;
        self.view.apply(false, &bids, &asks);
        (bids, asks)
    }

    /// The message of levels already applied to the view; `corrupt`: the checksum one off.
    fn message(
        &self,
        snapshot: bool,
        bids: &[WireLevel],
        asks: &[WireLevel],
        ts_ms: i64,
        corrupt: bool,
    ) -> String {
        let checksum = self.view.checksum(None).wrapping_add(u32::from(corrupt));
        wire::book(snapshot, &self.symbol, bids, asks, checksum, ts_ms)
    }
}

/// One step on a connection: trades, then book updates. Returns whether data was sent.
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> (Flow, bool) {
    let names = shared.hub.markets();
    let mut sent = false;
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(false, &sub.symbol, &step.trade_list, sub.price_places);
        sent = true;
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return (Flow::End, sent);
        }
    }
    for sub in subs.books.iter_mut().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        for (side, changes) in [(BookSide::Bid, &step.bids), (BookSide::Ask, &step.asks)] {
            for change in changes {
                sub.full.set(side, change.price, change.size);
            }
        }
        let (bids, asks) = sub.update();
        if bids.is_empty() && asks.is_empty() {
            continue;
        }
        sent = true;
        let at = (sub.market, names[sub.market].as_str());
        if send_book(conn, at, sub, &bids, &asks, tick.ts_ms).await == Flow::End {
            return (Flow::End, sent);
        }
    }
    (Flow::Continue, sent)
}

/// Sends a book update through the injector, with a wrong checksum if `checksum=N` says so.
async fn send_book(
    conn: &mut Conn,
    at: (usize, &str),
    sub: &BookSub,
    bids: &[WireLevel],
    asks: &[WireLevel],
    ts_ms: i64,
) -> Flow {
    if conn.inj.is_stalled() {
        return Flow::Continue;
    }
    let (frame, _) = conn.inj.next_frame();
    let corrupt = conn.inj.corrupts_checksum(frame);
    let text = sub.message(false, bids, asks, ts_ms, corrupt);
    conn.emit_data(at, frame, text).await
}
