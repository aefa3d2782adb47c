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

use serde_json::Value;

use super::hub::Tick;
use super::okx_wire::{self as wire, Chain};
use super::server::{Conn, Flow};
use super::subscribed::{Protocol, Shared};
use crate::book::Book;
use crate::model::{BookSide, Level, Qty};
use crate::venue::okx::book::DEPTH;
use crate::venue::okx::{self, OkxBook, WireLevel};

/// The WebSocket path of the public endpoint.
pub const PATH: &str = "/ws/v5/public";
/// Steps without a book change after which an empty update goes out (one simulated second).
const QUIET_STEPS: u64 = 10;

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
pub(super) struct Subs {
    books: Vec<BookSub>,
    trades: Vec<TradeSub>,
}

/// The OKX protocol on the shared skeleton.
pub(super) struct Okx;

impl Protocol for Okx {
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

/// Answers one client request: `subscribe` with a list of `{channel, instId}`.
async fn request(conn: &mut Conn, shared: &Shared, subs: &mut Subs, text: &str) -> Flow {
    if text == "ping" {
        return conn.text("pong".to_owned()).await;
    }
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
        shared.first_subscription(conn, book);
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
