//! The local Bybit venue (`mdkit simulate --venue bybit`): the same synthetic market as the
//! Extended venue, spoken as Bybit's v5 public WebSocket (docs/VENUES.md §14) at
//! `ws://127.0.0.1:<port>/v5/public/{linear,spot,inverse}`. Markets are named like Bybit
//! symbols (`BTCUSDT`).
//!
//! * Requests: `{"op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]}`
//!   (one response per request; unknown topics make it `success: false` and name them) and
//!   `{"op":"ping"}` (answered by `op: pong`).
//! * `orderbook.{1,50,200,500}`: a snapshot of the top `depth` levels, then one delta per step
//!   that changed them — levels new or resized, and deletes (size 0) of levels that left the
//!   top, as Bybit sends them itself — with `u` rising by one per message and `seq` rising by
//!   1 to 5 (a cross sequence, never contiguous). A quiet book sends nothing.
//! * `publicTrade`: one message per step with trades (a step's trades go out before its book
//!   delta); no replay on subscribing.
//!
//! Faults (see `fault`): frame numbers count a connection's data messages; `skip=N` drops
//! frame N (the next delta's `u` then jumps); `disconnect`, `duplicate`, `swap`, `malformed`,
//! `stall` and `burst` act as on Extended. Bybit's books carry no checksum (`checksum=N` is
//! refused) and `bad=K` is not spelled for Bybit yet (refused when the simulator starts).

use std::future::Future;

use serde_json::Value;

use super::bybit_wire::{self as wire, Ids};
use super::hub::Tick;
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::book::Book;
use crate::model::{BookSide, Level, Qty};

/// The paths served: one per product category, as on the venue.
pub const PATHS: [&str; 3] = ["/v5/public/linear", "/v5/public/spot", "/v5/public/inverse"];
/// The book depths Bybit offers.
pub const DEPTHS: [usize; 4] = [1, 50, 200, 500];

/// An `orderbook` subscription: the full book as the steps leave it, the top last sent, and
/// where its ids stand.
struct BookSub {
    market: usize,
    symbol: String,
    depth: usize,
    /// Steps up to this index are already in the snapshot.
    from: u64,
    full: Book,
    shown: [Vec<Level>; 2],
    ids: Ids,
}

/// A `publicTrade` subscription.
struct TradeSub {
    market: usize,
    symbol: String,
    from: u64,
}

#[derive(Default)]
pub(super) struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
}

/// The Bybit protocol on the shared skeleton.
pub(super) struct Bybit;

impl Protocol for Bybit {
    type Subs = Subs;
    const PATH: &'static str = PATHS[0];

    fn serves(path: &str) -> bool {
        PATHS.contains(&path)
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
        step(conn, shared, subs, tick)
    }
}

/// What a topic asks for: a book of some depth, or trades, of one market.
enum Topic {
    Book(usize),
    Trades,
}

fn topic(shared: &Shared, topic: &str) -> Option<(Topic, usize, String)> {
    let parts: Vec<&str> = topic.split('.').collect();
    let (kind, symbol) = match parts.as_slice() {
        ["orderbook", depth, symbol] => {
            let depth = depth.parse().ok().filter(|d| DEPTHS.contains(d))?;
            (Topic::Book(depth), *symbol)
        }
        ["publicTrade", symbol] => (Topic::Trades, *symbol),
        _ => return None,
    };
    let market = shared.hub.market_index(symbol)?;
    Some((kind, market, symbol.to_owned()))
}

/// Answers one client request: `subscribe` with a list of topics, or `ping`.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let conn_id = format!("sim-{:08x}", conn.number);
    let value = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let req_id = value["req_id"].as_str().unwrap_or("");
    match value["op"].as_str() {
        Some("ping") => conn.text(wire::pong(req_id, &conn_id, shared.hub.ts_ms())).await,
        Some("subscribe") => {
            let topics: Vec<&str> =
                value["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let mut failed = Vec::new();
            let mut wanted = Vec::new();
            for name in topics {
                match topic(shared, name) {
                    Some(found) => wanted.push(found),
                    None => failed.push(name.to_owned()),
                }
            }
            if conn.text(wire::subscribed(req_id, &conn_id, &failed)).await == Flow::End {
                return Flow::End;
            }
            for (kind, market, symbol) in wanted {
                if subscribe(conn, shared, subs, (market, &symbol), kind).await == Flow::End {
                    return Flow::End;
                }
            }
            Flow::Continue
        }
        _ => conn.text(wire::refused(&conn_id, text)).await,
    }
}

/// One subscription: a book's snapshot goes out at once; trades start with the next step.
async fn subscribe(
    conn: &mut Conn,
    shared: &Shared,
    subs: &mut Subs,
    (market, symbol): (usize, &str),
    kind: Topic,
) -> Flow {
    if subs.books.is_empty() && subs.trades.is_empty() {
        shared.first_subscription(conn, matches!(kind, Topic::Book(_)));
    }
    // The connection's own receiver, taken before any subscription, already holds every
    // later step: this one is dropped, and steps up to `values.index` skipped.
    let Some((values, _rx)) = shared.hub.attach_values(market) else {
        return Flow::End; // the simulation ended
    };
    let Topic::Book(depth) = kind else {
        subs.trades.push(TradeSub { market, symbol: symbol.to_owned(), from: values.index });
        return Flow::Continue;
    };
    let mut full = Book::new();
    for (side, levels) in [(BookSide::Bid, &values.bids), (BookSide::Ask, &values.asks)] {
        levels.iter().for_each(|l| full.set(side, l.price, l.qty));
    }
    let shown = [full.top(BookSide::Bid, depth), full.top(BookSide::Ask, depth)];
    // Ids that start anywhere, as Bybit's do.
    let start = 20_000_000 + values.index as i64;
    let ids = Ids { u: start, seq: 130_000_000_000 + 3 * start };
    let text = wire::book(depth, symbol, true, (&shown[0], &shown[1]), ids, values.ts_ms);
    let name = shared.hub.markets()[market].clone();
    subs.books.push(BookSub {
        market,
        symbol: symbol.to_owned(),
        depth,
        from: values.index,
        full,
        shown,
        ids,
    });
    conn.send_data((market, &name), text).await
}

impl BookSub {
    /// What changed in the top `depth` levels after the full book moved: levels new or
    /// resized, and deletes of levels that left the top.
    fn delta(&mut self) -> [Vec<Level>; 2] {
        let mut out = [Vec::new(), Vec::new()];
        for (n, side) in [BookSide::Bid, BookSide::Ask].into_iter().enumerate() {
            let top = self.full.top(side, self.depth);
            for old in &self.shown[n] {
                if !top.iter().any(|l| l.price == old.price) {
                    out[n].push(Level::new(old.price, Qty::ZERO));
                }
            }
            out[n].extend(top.iter().filter(|l| !self.shown[n].contains(l)).copied());
            self.shown[n] = top;
        }
        out
    }

    /// The next ids: `u` by one, `seq` by 1 to 5.
    fn next_ids(&mut self) -> Ids {
        self.ids = Ids { u: self.ids.u + 1, seq: self.ids.seq + 1 + self.ids.u % 5 };
        self.ids
    }
}

/// One step on a connection: trades, then book deltas.
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    let names = shared.hub.markets();
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(&sub.symbol, &step.trade_list, tick.ts_ms);
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    for sub in subs.books.iter_mut().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        for (side, changes) in [(BookSide::Bid, &step.bids), (BookSide::Ask, &step.asks)] {
            for change in changes {
                sub.full.set(side, change.price, change.size);
            }
        }
        if conn.inj.is_stalled() {
            // Nothing goes out, so nothing is shown: the delta after the stall says it all.
            continue;
        }
        let [bids, asks] = sub.delta();
        if bids.is_empty() && asks.is_empty() {
            continue;
        }
        let ids = sub.next_ids();
        let text = wire::book(sub.depth, &sub.symbol, false, (&bids, &asks), ids, tick.ts_ms);
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::Continue
}
