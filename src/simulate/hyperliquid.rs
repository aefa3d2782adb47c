//! The local Hyperliquid venue (`mdkit simulate --venue hyperliquid`): the same synthetic
//! market as the Extended venue, spoken as Hyperliquid's WebSocket (docs/VENUES.md §13) at
//! `ws://127.0.0.1:<port>/ws`. Markets are named like Hyperliquid coins (`BTC`).
//!
//! * Requests: `{"method":"subscribe","subscription":{"type":"l2Book"|"trades","coin":…}}`
//!   (acknowledged by a `subscriptionResponse`; an unknown type or coin gets an `error` push
//!   naming it) and `{"method":"ping"}` (answered on channel `pong`).
//! * `l2Book`: every push is a full snapshot of the top 20 levels a side — on subscribing,
//!   then after every step that changed them, and again after ten quiet steps unchanged (the
//!   real venue re-pushes an unchanged book too).
//! * `trades`: on subscribing, a replay of the recent trades (as the real venue's first frame
//!   is), then one push per step with trades (a step's trades go out before its book).
//!
//! Faults (see `fault`): frame numbers count a connection's data pushes; `skip=N` drops push
//! N (a book push is healed by the next, which is whole; a trade push is lost unseen, since
//! `tid`s are not consecutive); `disconnect`, `duplicate`, `swap`, `malformed`, `stall` and
//! `burst` act as on Extended. `checksum=N` has no meaning here (no checksum) and `bad=K` is
//! not spelled in Hyperliquid's shapes yet: both are refused when the simulator starts.

use std::future::Future;

use serde_json::Value;

use super::hub::Tick;
use super::hyperliquid_wire::{self as wire, BOOK_LEVELS};
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::book::Book;
use crate::model::{BookSide, Level};
use crate::venue::hyperliquid;

/// The WebSocket path.
pub const PATH: &str = "/ws";
/// Steps without a change after which an unchanged book is pushed again.
const QUIET_STEPS: u64 = 10;

/// An `l2Book` subscription: the full book as the steps leave it and the top last pushed.
struct BookSub {
    market: usize,
    coin: String,
    /// Steps up to this index are already in the first push.
    from: u64,
    full: Book,
    shown: (Vec<Level>, Vec<Level>),
    quiet: u64,
}

impl BookSub {
    fn top(&self) -> (Vec<Level>, Vec<Level>) {
        (self.full.top(BookSide::Bid, BOOK_LEVELS), self.full.top(BookSide::Ask, BOOK_LEVELS))
    }
}

/// A `trades` subscription.
struct TradeSub {
    market: usize,
    coin: String,
    from: u64,
}

#[derive(Default)]
pub(super) struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
}

/// The Hyperliquid protocol on the shared skeleton.
pub(super) struct Hyperliquid;

impl Protocol for Hyperliquid {
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

/// Answers one client request.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return conn.text(wire::error(&format!("Invalid request: {text}"))).await;
    };
    match value["method"].as_str() {
        Some("ping") => conn.text(wire::PONG.to_owned()).await,
        Some("subscribe") => {
            let sub = &value["subscription"];
            let (kind, coin) =
                (sub["type"].as_str().unwrap_or(""), sub["coin"].as_str().unwrap_or(""));
            match (shared.hub.market_index(&hyperliquid::market_name(coin)), kind) {
                (Some(market), "l2Book" | "trades") => {
                    subscribe(conn, shared, subs, (market, coin), kind == "l2Book").await
                }
                _ => conn.text(wire::error(&format!("Invalid subscription: {sub}"))).await,
            }
        }
        _ => conn.text(wire::error(&format!("Unknown method: {text}"))).await,
    }
}

/// One subscription: its acknowledgement and its first push.
async fn subscribe(
    conn: &mut Conn,
    shared: &Shared,
    subs: &mut Subs,
    (market, coin): (usize, &str),
    book: bool,
) -> Flow {
    if subs.books.is_empty() && subs.trades.is_empty() {
        shared.first_subscription(conn, book);
    }
    // The connection's own receiver already holds every later step: this one is dropped.
    let Some((values, _rx)) = shared.hub.attach_values(market) else {
        return Flow::End; // the simulation ended
    };
    let kind = if book { "l2Book" } else { "trades" };
    if conn.text(wire::subscribed(kind, coin)).await == Flow::End {
        return Flow::End;
    }
    let name = shared.hub.markets()[market].clone();
    let text = if book {
        let mut full = Book::new();
        for (side, levels) in [(BookSide::Bid, &values.bids), (BookSide::Ask, &values.asks)] {
            levels.iter().for_each(|l| full.set(side, l.price, l.qty));
        }
        let mut sub = BookSub {
            market,
            coin: coin.to_owned(),
            from: values.index,
            full,
            shown: (Vec::new(), Vec::new()),
            quiet: 0,
        };
        sub.shown = sub.top();
        let text = wire::book(coin, &sub.shown.0, &sub.shown.1, values.ts_ms);
        subs.books.push(sub);
        text
    } else {
        subs.trades.push(TradeSub { market, coin: coin.to_owned(), from: values.index });
        if values.recent.is_empty() {
            return Flow::Continue;
        }
        wire::trades(coin, &values.recent)
    };
    conn.send_data((market, &name), text).await
}

/// One step on a connection: trades, then book pushes.
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    let names = shared.hub.markets();
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(&sub.coin, &step.trade_list);
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
        let top = sub.top();
        if top == sub.shown {
            sub.quiet += 1;
            if sub.quiet < QUIET_STEPS {
                continue;
            }
        }
        sub.quiet = 0;
        sub.shown = top;
        let text = wire::book(&sub.coin, &sub.shown.0, &sub.shown.1, tick.ts_ms);
        if conn.send_data((sub.market, &names[sub.market]), text).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::Continue
}
