//! The local OKX venue (`mdkit simulate --venue okx`): the same synthetic market as the
//! Extended venue, spoken as OKX's v5 public WebSocket (docs/VENUES.md §12) at
//! `ws://127.0.0.1:<port>/ws/v5/public`. Markets are named like OKX instruments (`ETH-USDT`).
//!
//! * Requests: `{"op":"subscribe","args":[{"channel":"books"|"trades","instId":…}]}` (one
//!   acknowledgement per argument; an unknown channel or instrument gets an `error` event
//!   naming it) and the text `ping` (answered by `pong`).
//! * `books`: a snapshot of the top 400 levels, then one update per step that changed them —
//!   levels new or changed, deletes of levels that left the top 400 — each with `seqId`
//!   stepping by 1 to 7 (never assume +1), `prevSeqId` naming the previous message's, and the
//!   signed CRC32 of the top 25 levels computed by the venue module's own [`OkxBook`] over
//!   the text sent. Ten quiet steps bring an empty update whose `seqId` repeats (OKX's
//!   keep-alive on a quiet book).
//! * `trades`: on subscribing, the last trade (old, as OKX's first frame may be), then one
//!   message per step with trades (a step's trades go out before its book update).
//!
//! Faults (see `fault`): frame numbers count a connection's data messages; `skip=N` drops
//! frame N (the next `prevSeqId` then names a message the client never had); `checksum=N`
//! sends book frame N with its checksum off by one; `disconnect`, `duplicate`, `swap`,
//! `malformed`, `stall` and `burst` act as on Extended. `bad=K` is not spelled for OKX and
//! is refused when the simulator starts.

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
use super::okx_wire::{self as wire, Chain};
use super::server::{accept_until, Conn, Event, Flow, ServerConfig};
use crate::book::Book;
use crate::model::{BookSide, Level, Qty};
use crate::venue::okx::book::DEPTH;
use crate::venue::okx::{self, OkxBook, WireLevel};

/// The WebSocket path of the public endpoint.
pub const PATH: &str = "/ws/v5/public";
/// Steps without a book change after which an empty update goes out (one simulated second).
const QUIET_STEPS: u64 = 10;

struct Shared {
    hub: Hub,
    config: ServerConfig,
    accepted: AtomicU64,
    /// Connections whose first subscription was a books / trades one.
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

/// A `books` subscription: the full book as the steps leave it, the client's view of it (the
/// top 400 levels with the text sent) and where its chain stands.
struct BookSub {
    market: usize,
    inst_id: String,
    /// Steps up to this index are already in the snapshot.
    from: u64,
    full: Book,
    view: OkxBook,
    seq_id: i64,
    quiet: u64,
}

/// A `trades` subscription.
struct TradeSub {
    market: usize,
    inst_id: String,
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
            let text = "not found: the public API is at /ws/v5/public";
            let mut refused = ErrorResponse::new(Some(text.into()));
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
            Event::Client(Some(Ok(Message::Text(text)))) if text.as_str() == "ping" => {
                conn.text("pong".to_owned()).await
            }
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

/// Answers one client request: `subscribe` with a list of `{channel, instId}`.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    let conn_id = format!("{:08x}", conn.number);
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) if value["op"] == "subscribe" && value["args"].is_array() => value,
        _ => {
            return conn
                .text(wire::error(60012, &format!("Invalid request: {text}"), &conn_id))
                .await
        }
    };
    for arg in value["args"].as_array().into_iter().flatten() {
        let channel = arg["channel"].as_str().unwrap_or("");
        let inst_id = arg["instId"].as_str().unwrap_or("");
        let market = shared.hub.market_index(&okx::market_name(inst_id));
        let (Some(market), "books" | "trades") = (market, channel) else {
            let text = format!("Wrong URL or channel:{channel},instId:{inst_id} doesn't exist");
            if conn.text(wire::error(60018, &text, &conn_id)).await == Flow::End {
                return Flow::End;
            }
            continue;
        };
        if subscribe(conn, shared, subs, (market, inst_id), channel == "books", &conn_id).await
            == Flow::End
        {
            return Flow::End;
        }
    }
    Flow::Continue
}

/// One subscription: its acknowledgement and its first data message.
async fn subscribe(
    conn: &mut Conn,
    shared: &Shared,
    subs: &mut Subs,
    (market, inst_id): (usize, &str),
    book: bool,
    conn_id: &str,
) -> Flow {
    if subs.books.is_empty() && subs.trades.is_empty() {
        // The first subscription says which stream this connection is, for `@book:N`.
        let (kind, index) = if book { (FaultStream::Book, 0) } else { (FaultStream::Trades, 1) };
        let of_kind = shared.accepted_by[index].fetch_add(1, Ordering::SeqCst) + 1;
        conn.inj = shared.config.faults.injector(conn.number, kind, of_kind, 1);
        conn.stream = kind.name();
    }
    // The connection's own receiver, taken before any subscription, already holds every
    // later step: this one is dropped, and steps up to `values.index` skipped.
    let Some((values, _rx)) = shared.hub.attach_values(market) else {
        return Flow::End; // the simulation ended
    };
    let channel = if book { "books" } else { "trades" };
    if conn.text(wire::subscribed(channel, inst_id, conn_id)).await == Flow::End {
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
            inst_id: inst_id.to_owned(),
            from: values.index,
            full,
            view: OkxBook::new(),
            // A chain that starts anywhere, as OKX's does.
            seq_id: 1_000 + 7 * values.index as i64,
            quiet: 0,
        };
        let bids = wire_levels(&sub.full.top(BookSide::Bid, DEPTH));
        let asks = wire_levels(&sub.full.top(BookSide::Ask, DEPTH));
        sub.view.apply(true, &bids, &asks);
        let chain = Chain { seq_id: sub.seq_id, prev_seq_id: -1 };
        let text = sub.message(true, &bids, &asks, chain, values.ts_ms, false);
        subs.books.push(sub);
        text
    } else {
        subs.trades.push(TradeSub { market, inst_id: inst_id.to_owned(), from: values.index });
        match values.recent.last() {
            Some(last) => wire::trades(inst_id, std::slice::from_ref(last)),
            None => return Flow::Continue,
        }
    };
    conn.send_data((market, &name), text).await
}

fn wire_levels(levels: &[Level]) -> Vec<WireLevel> {
    levels.iter().map(wire::wire_level).collect()
}

impl BookSub {
    /// What changed in the top 400 levels after the full book moved: levels new or changed,
    /// and deletes of levels that left the top. Applied to the view.
    fn update(&mut self) -> (Vec<WireLevel>, Vec<WireLevel>) {
        let mut out = [Vec::new(), Vec::new()];
        for (n, side) in [BookSide::Bid, BookSide::Ask].into_iter().enumerate() {
            let top = self.full.top(side, DEPTH);
            for old in self.view.levels(side) {
                if !top.iter().any(|l| l.price == old.price) {
                    out[n].push(wire::wire_level(&Level::new(old.price, Qty::ZERO)));
                }
            }
            let shown = self.view.levels(side);
            for level in &top {
                if !shown.contains(level) {
                    out[n].push(wire::wire_level(level));
                }
            }
        }
        let [bids, asks] = out;
        self.view.apply(false, &bids, &asks);
        (bids, asks)
    }

    /// The next link of the chain: `seqId` steps by 1 to 7 (`keep`: repeats, for the quiet
    /// book's empty update).
    fn next_chain(&mut self, keep: bool) -> Chain {
        let prev_seq_id = self.seq_id;
        if !keep {
            self.seq_id += 1 + (self.seq_id % 7);
        }
        Chain { seq_id: self.seq_id, prev_seq_id }
    }

    /// The message of levels already applied to the view; `corrupt`: the checksum one off.
    fn message(
        &self,
        snapshot: bool,
        bids: &[WireLevel],
        asks: &[WireLevel],
        chain: Chain,
        ts_ms: i64,
        corrupt: bool,
    ) -> String {
        let checksum = self.view.checksum().wrapping_add(i32::from(corrupt));
        wire::book(snapshot, &self.inst_id, bids, asks, checksum, chain, ts_ms)
    }
}

/// One step on a connection: trades, then book updates (or a quiet book's empty update).
async fn step(conn: &mut Conn, shared: &Shared, subs: &mut Subs, tick: &Tick) -> Flow {
    let names = shared.hub.markets();
    for sub in subs.trades.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        if step.trade_list.is_empty() {
            continue;
        }
        let text = wire::trades(&sub.inst_id, &step.trade_list);
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
        let (bids, asks) = sub.update();
        let keep = bids.is_empty() && asks.is_empty();
        sub.quiet = if keep { sub.quiet + 1 } else { 0 };
        if keep && (sub.quiet < QUIET_STEPS || conn.inj.is_stalled()) {
            continue;
        }
        sub.quiet = 0;
        let chain = sub.next_chain(keep);
        let at = (sub.market, names[sub.market].as_str());
        if keep {
            // Outside the data sequence, like a heartbeat: not a fault's frame.
            let text = sub.message(false, &[], &[], chain, tick.ts_ms, false);
            if conn.text(text).await == Flow::End {
                return Flow::End;
            }
            continue;
        }
        if conn.inj.is_stalled() {
            continue;
        }
        let (frame, _) = conn.inj.next_frame();
        let corrupt = conn.inj.corrupts_checksum(frame);
        let text = sub.message(false, &bids, &asks, chain, tick.ts_ms, corrupt);
        if conn.emit_data(at, frame, text).await == Flow::End {
            return Flow::End;
        }
    }
    Flow::Continue
}
