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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::fault::FaultStream;
use super::hub::{Hub, Tick};
use super::hyperliquid_wire::{self as wire, BOOK_LEVELS};
use super::server::{accept_until, Conn, Event, Flow, ServerConfig};
use crate::book::Book;
use crate::model::{BookSide, Level};
use crate::venue::hyperliquid;

/// The WebSocket path.
pub const PATH: &str = "/ws";
/// Steps without a change after which an unchanged book is pushed again.
const QUIET_STEPS: u64 = 10;

struct Shared {
    hub: Hub,
    config: ServerConfig,
    accepted: AtomicU64,
    /// Connections whose first subscription was an l2Book / trades one.
    accepted_by: [AtomicU64; 2],
}

/// Accepts connections until `shutdown`, then lets them drain (as `server::serve` does).
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let drain_timeout = config.drain_timeout;
    let shared = Arc::new(Shared {
        hub,
        config,
        accepted: AtomicU64::new(0),
        accepted_by: Default::default(),
    });
    accept_until(listener, drain_timeout, shutdown, |stream, stop| {
        connection(stream, Arc::clone(&shared), stop)
    })
    .await;
}

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
struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
}

// The handshake callback's error type is tungstenite's, large by design.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<()>) {
    let callback = |request: &Request, response: Response| {
        if request.uri().path() == PATH {
            Ok(response)
        } else {
            let mut refused = ErrorResponse::new(Some("not found: the API is at /ws".into()));
            *refused.status_mut() = StatusCode::NOT_FOUND;
            Err(refused)
        }
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
    let period = shared.config.ping_every;
    let conn = Conn {
        ws,
        // Replaced by the first subscription, which says which stream this is.
        inj: shared.config.faults.injector(number, FaultStream::Book, 0, 1),
        stop,
        ping: tokio::time::interval_at(Instant::now() + period, period),
        number,
        stream: "book",
        bad_log: Arc::clone(&shared.config.bad_log),
    };
    run(conn, &shared).await;
}

async fn run(mut conn: Conn, shared: &Shared) {
    let Some(mut rx) = shared.hub.subscribe() else {
        return conn.close(CloseCode::Away, "simulation ended").await;
    };
    let mut subs = Subs::default();
    loop {
        let flow = match conn.next_event(&mut rx).await {
            Event::Tick(Ok(tick)) => step(&mut conn, shared, &mut subs, &tick).await,
            Event::Tick(Err(err)) => return conn.close_for(err).await,
            Event::Client(Some(Ok(Message::Text(text)))) => {
                request(&mut conn, shared, &mut subs, text.as_str()).await
            }
            Event::Client(msg) => conn.client(msg).await,
            Event::Ping => conn.ping().await,
            Event::Stop => return conn.close(CloseCode::Away, "server shutting down").await,
        };
        if flow == Flow::End {
            return;
        }
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
        // The first subscription says which stream this connection is, for `@book:N`.
        let (kind, index) = if book { (FaultStream::Book, 0) } else { (FaultStream::Trades, 1) };
        let of_kind = shared.accepted_by[index].fetch_add(1, Ordering::SeqCst) + 1;
        conn.inj = shared.config.faults.injector(conn.number, kind, of_kind, 1);
        conn.stream = kind.name();
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
