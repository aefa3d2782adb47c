//! The local dYdX venue (`mdkit simulate --venue dydx`): the same synthetic market as the
//! Extended venue, spoken as the dYdX v4 indexer's WebSocket (docs/VENUES.md §15) at
//! `ws://127.0.0.1:<port>/v4/ws`. Markets are named like dYdX tickers (`BTC-USD`).
//!
//! * On connecting: `connected` (message 0). Requests: `{"type":"subscribe","channel":
//!   "v4_orderbook"|"v4_trades","id":…[,"batched":true]}`; an unknown channel or market gets
//!   an `error` naming it. Every message of a connection carries the next `message_id`.
//! * `v4_orderbook`: the answer `subscribed` is the whole book (levels as objects); then per
//!   step that changed it, the bids' changes and the asks' changes as two `channel_data`
//!   messages (levels as arrays, size 0 removes), bids first — so when the market moves up,
//!   the book is crossed between the two, as the indexer's briefly is. With `batched`, the two
//!   go out as one `channel_batch_data` whose entries apply in order.
//! * `v4_trades`: `subscribed` carries the recent trades, newest first (old, as the indexer's
//!   are); then one `channel_data` per step with trades (before the step's book messages).
//!
//! Faults (see `fault`): frame numbers count a connection's data messages; `skip=N` drops
//! message N (the next `message_id` then jumps); `disconnect`, `duplicate`, `swap`,
//! `malformed`, `stall` and `burst` act as on Extended. The indexer's books carry no checksum
//! (`checksum=N` is refused) and `bad=K` is not spelled for dYdX yet (refused at start).

use std::future::Future;

use serde_json::Value;

use super::dydx_wire as wire;
use super::hub::Tick;
use super::market::Change;
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::model::Level;

/// The WebSocket path.
pub const PATH: &str = "/v4/ws";

/// A `v4_orderbook` subscription.
struct BookSub {
    market: usize,
    id: String,
    /// Steps up to this index are already in the snapshot.
    from: u64,
    batched: bool,
}

/// A `v4_trades` subscription.
struct TradeSub {
    market: usize,
    id: String,
    from: u64,
}

pub(super) struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
    /// The `message_id` of the next message (0 went with `connected`).
    next_id: u64,
}

impl Default for Subs {
    fn default() -> Self {
        Self { books: Vec::new(), trades: Vec::new(), next_id: 1 }
    }
}

/// The next message id, taken.
fn take(next: &mut u64) -> u64 {
    *next += 1;
    *next - 1
}

/// The connection id the indexer would give connection `number`.
fn connection_id(number: u64) -> String {
    format!("{number:08x}-0000-4000-8000-{number:012x}")
}

/// The dYdX indexer protocol on the shared skeleton.
pub(super) struct Dydx;

impl Protocol for Dydx {
    type Subs = Subs;
    const PATH: &'static str = PATH;

    fn hello(conn: &Conn) -> Option<String> {
        Some(wire::connected(&connection_id(conn.number)))
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

/// Answers one client request: `subscribe` to one channel of one market.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let cid = connection_id(conn.number);
    let value = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let (channel, id) =
        (value["channel"].as_str().unwrap_or(""), value["id"].as_str().unwrap_or(""));
    let market = shared.hub.market_index(id);
    let (Some(market), Some("subscribe"), "v4_orderbook" | "v4_trades") =
        (market, value["type"].as_str(), channel)
    else {
        let message = format!("Invalid subscribe message: {text}");
        let id = take(&mut subs.next_id);
        return conn.text(wire::error(&cid, id, &message)).await;
    };
    let book = channel == "v4_orderbook";
    if subs.books.is_empty() && subs.trades.is_empty() {
        shared.first_subscription(conn, book);
    }
    // The connection's own receiver, taken before any subscription, already holds every
    // later step: this one is dropped, and steps up to `values.index` skipped.
    let Some((values, _rx)) = shared.hub.attach_values(market) else {
        return Flow::End; // the simulation ended
    };
    let name = shared.hub.markets()[market].clone();
    let message_id = take(&mut subs.next_id);
    let text = if book {
        let batched = value["batched"].as_bool().unwrap_or(false);
        subs.books.push(BookSub { market, id: id.to_owned(), from: values.index, batched });
        wire::book_snapshot(&cid, message_id, id, &values.bids, &values.asks)
    } else {
        subs.trades.push(TradeSub { market, id: id.to_owned(), from: values.index });
        let newest_first: Vec<_> = values.recent.iter().rev().cloned().collect();
        wire::trades_snapshot(&cid, message_id, id, &newest_first)
    };
    conn.send_data((market, &name), text).await
}

/// One step on a connection: trades, then the book's bids and asks changes.
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    if conn.inj.is_stalled() {
        // Nothing goes out, and message ids go only with messages sent.
        return Flow::Continue;
    }
    let names = shared.hub.markets();
    let cid = connection_id(conn.number);
    let next = &mut subs.next_id;
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(&cid, take(next), &sub.id, &step.trade_list);
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    for sub in subs.books.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        let level = |c: &Change| Level::new(c.price, c.size);
        let bids: Vec<Level> = step.bids.iter().map(level).collect();
        let asks: Vec<Level> = step.asks.iter().map(level).collect();
        let mut texts = Vec::new();
        if sub.batched {
            let updates: Vec<_> = [(bids, Vec::new()), (Vec::new(), asks)]
                .into_iter()
                .filter(|(b, a)| !b.is_empty() || !a.is_empty())
                .collect();
            if !updates.is_empty() {
                texts.push(wire::book_batch(&cid, take(next), &sub.id, &updates));
            }
        } else {
            if !bids.is_empty() {
                texts.push(wire::book_update(&cid, take(next), &sub.id, &bids, &[]));
            }
            if !asks.is_empty() {
                texts.push(wire::book_update(&cid, take(next), &sub.id, &[], &asks));
            }
        }
        for text in texts {
            if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
                return Flow::End;
            }
        }
    }
    Flow::Continue
}
