//! The local Coinbase venue (`mdkit simulate --venue coinbase`): the same synthetic market as
//! the Extended venue, spoken as Coinbase Advanced Trade's market-data WebSocket
//! (docs/VENUES.md §16) at `ws://127.0.0.1:<port>/`. Markets are named like Coinbase products
//! (`BTC-USD`).
//!
//! * Requests: `{"type":"subscribe","product_ids":[…],"channel":"level2"|"market_trades"|
//!   "heartbeats"}`; an unknown channel or product gets an `error`. Each subscription is
//!   answered by a `subscriptions` message listing the connection's channels.
//! * `level2` (data on `l2_data`): a `snapshot` event of the whole book, then one `update`
//!   event per step that changed it (quantity 0 removes a level).
//! * `market_trades`: a `snapshot` event of the recent trades, then one `update` event per step
//!   with trades (before the step's book update). `side` is the maker's (§16.4).
//! * `heartbeats`: one message per simulated second, counting up.
//! * Every message of a connection — data, heartbeats and subscriptions alike — carries the
//!   next `sequence_num`, from 0: a gap anywhere is a gap of the connection.
//!
//! Faults (see `fault`): frame numbers count a connection's data messages (`l2_data`,
//! `market_trades`); `skip=N` drops message N (the next `sequence_num` then jumps);
//! `disconnect`, `duplicate`, `swap`, `malformed`, `stall` and `burst` act as on Extended.
//! Coinbase's books carry no checksum (`checksum=N` is refused) and `bad=K` is not spelled for
//! Coinbase yet (refused when the simulator starts).

use std::future::Future;

use serde_json::Value;

use super::coinbase_wire as wire;
use super::hub::Tick;
use super::market::Change;
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::model::Level;

/// The WebSocket path: the host's root.
pub const PATH: &str = "/";
/// Steps between heartbeats (one simulated second).
const HEARTBEAT_STEPS: u64 = 10;

/// A subscription of one product to `level2` or `market_trades`.
struct ProductSub {
    market: usize,
    product: String,
    /// Steps up to this index are already in the snapshot.
    from: u64,
}

#[derive(Default)]
pub(super) struct Subs {
    books: Vec<ProductSub>,
    trades: Vec<ProductSub>,
    heartbeats: bool,
    heartbeat_counter: u64,
    steps: u64,
    /// The `sequence_num` of the next message.
    next: u64,
}

/// The next sequence number, taken.
fn take(next: &mut u64) -> u64 {
    *next += 1;
    *next - 1
}

/// The Coinbase Advanced Trade protocol on the shared skeleton.
pub(super) struct Coinbase;

impl Protocol for Coinbase {
    type Subs = Subs;
    const PATH: &'static str = PATH;

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

/// Answers one client request: `subscribe` of some products to one channel.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let value = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let channel = value["channel"].as_str().unwrap_or("");
    let products: Vec<&str> =
        value["product_ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let known = matches!(channel, "level2" | "market_trades" | "heartbeats");
    if value["type"] != "subscribe" || !known {
        return conn.text(wire::error(&format!("Failure to subscribe: {text}"))).await;
    }
    if channel == "heartbeats" {
        subs.heartbeats = true;
        return subscriptions(conn, shared, subs).await;
    }
    for product in products {
        let Some(market) = shared.hub.market_index(product) else {
            let message = format!("Failure to subscribe: unknown product {product}");
            if conn.text(wire::error(&message)).await == Flow::End {
                return Flow::End;
            }
            continue;
        };
        let book = channel == "level2";
        if subs.books.is_empty() && subs.trades.is_empty() {
            shared.first_subscription(conn, book);
        }
        // The connection's own receiver, taken before any subscription, already holds every
        // later step: this one is dropped, and steps up to `values.index` skipped.
        let Some((values, _rx)) = shared.hub.attach_values(market) else {
            return Flow::End; // the simulation ended
        };
        let sub = ProductSub { market, product: product.to_owned(), from: values.index };
        let seq = take(&mut subs.next);
        let text = if book {
            subs.books.push(sub);
            wire::l2(product, true, (&values.bids, &values.asks), values.ts_ms, seq)
        } else {
            subs.trades.push(sub);
            let newest_first: Vec<_> = values.recent.iter().rev().cloned().collect();
            wire::trades(true, product, &newest_first, values.ts_ms, seq)
        };
        let name = shared.hub.markets()[market].clone();
        if conn.send_data((market, &name), text).await == Flow::End {
            return Flow::End;
        }
    }
    subscriptions(conn, shared, subs).await
}

/// The `subscriptions` message after a subscribe.
async fn subscriptions(conn: &mut Conn, shared: &Shared, subs: &mut Subs) -> Flow {
    let names = |list: &[ProductSub]| list.iter().map(|s| s.product.clone()).collect::<Vec<_>>();
    let mut channels = vec![("level2", names(&subs.books)), ("market_trades", names(&subs.trades))];
    if subs.heartbeats {
        channels.push(("heartbeats", Vec::new()));
    }
    channels.retain(|(c, p)| !p.is_empty() || *c == "heartbeats");
    let seq = take(&mut subs.next);
    conn.text(wire::subscriptions(&channels, shared.hub.ts_ms(), seq)).await
}

/// One step on a connection: trades, then book updates, then a heartbeat each second.
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    if conn.inj.is_stalled() {
        // Nothing goes out, and sequence numbers go only with messages sent.
        return Flow::Continue;
    }
    let names = shared.hub.markets();
    let next = &mut subs.next;
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(false, &sub.product, &step.trade_list, tick.ts_ms, take(next));
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    for sub in subs.books.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.bids.is_empty() && step.asks.is_empty() {
            continue;
        }
        let level = |c: &Change| Level::new(c.price, c.size);
        let bids: Vec<Level> = step.bids.iter().map(level).collect();
        let asks: Vec<Level> = step.asks.iter().map(level).collect();
        let text = wire::l2(&sub.product, false, (&bids, &asks), tick.ts_ms, take(next));
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    subs.steps += 1;
    if subs.heartbeats && subs.steps.is_multiple_of(HEARTBEAT_STEPS) {
        subs.heartbeat_counter += 1;
        let seq = take(&mut subs.next);
        // Outside the data sequence of the faults, like every heartbeat.
        return conn.text(wire::heartbeat(subs.heartbeat_counter, tick.ts_ms, seq)).await;
    }
    Flow::Continue
}
