//! The recorder's rules for one dYdX v4 market: journal records in, table rows out
//! (docs/VENUES.md §15).
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md §10): a message that cannot be read, fails
//!   [`super::check`] or names a channel this market does not record writes one `refused` row
//!   and changes nothing — not the book, not the trade ids, not `message_id`; so the next
//!   message shows its `message_id` as a hole, exactly as if it had been lost.
//! - **Continuity** (docs/VENUES.md §15.2): `message_id` is one more on every message of a
//!   connection from the greeting's 0, across channels; with one channel per connection it is
//!   the channel's own sequence, on the book and the trades connection alike. A message whose
//!   `message_id` is the previous one + 1 is used; one repeating it writes nothing (sizes are
//!   absolute, trades deduplicated); any other — ahead (messages were lost) or behind — writes
//!   one `seq_gap` row, drops the connection's book and closes it ([`Verdict::Close`]). The
//!   next connection subscribes again: a new snapshot (`resnapshot`), or a trades replay that
//!   fills the hole if it reaches back far enough (`trade_gap` if it does not).
//! - **Book** (docs/VENUES.md §15.3): the `subscribed` answer is the snapshot; updates
//!   (`channel_data`, or `channel_batch_data` lists applied in order) before it are a break.
//!   Book messages carry no venue time, so their rows' `ts_event` is the receive time. Rows
//!   number a connection's book messages from 1.
//! - **Crossed books** (docs/VENUES.md §15.5): dYdX documents that its indexer's book may
//!   cross and uncross by itself, so a crossed book is recorded as sent — not a break — and
//!   the message that leaves a connection's book crossed after it was not writes one
//!   `crossed` row (`seq` the book message; none while it stays crossed, none when it
//!   uncrosses).
//! - **Trades** (docs/VENUES.md §15.4): deduplicated by the whole 96-bit id across
//!   connections and restarts, stored as [`TradeId::table_id`]. The `subscribed` answer
//!   replays recent trades (written oldest first); a replay that holds no trade already
//!   recorded, after trades were, writes one `trade_gap` row.
//! - `error` ends the connection with a `venue_error` row, and so does `unsubscribed` (the
//!   venue ended the one subscription the connection has); the greeting and pongs write
//!   nothing.

use std::collections::HashMap;

use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, RecvTime};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{
    self, levels, RecentIds, Saved, SavedConn, Sink, Verdict, REMEMBERED_TRADES,
};
use crate::venue::ParseError;

use super::book;
use super::check;
use super::wire::{self, BookUpdate, Message, TradeId, WireTrade, FOLDED};

/// A live connection: its book and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    book: Book,
    /// Book messages applied (the `seq` of their rows).
    book_frames: u64,
    /// Trades messages received (the `seq` of their rows).
    trade_frames: u64,
    /// The `message_id` of the last message used.
    last_id: Option<i64>,
    /// The book is crossed (its `crossed` row was written).
    crossed: bool,
    /// The trades replay arrived.
    replayed: bool,
}

impl Open {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            book: Book::new(),
            book_frames: 0,
            trade_frames: 0,
            last_id: None,
            crossed: false,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file (its book is in [`SavedConn`]'s levels).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    book_frames: u64,
    trade_frames: u64,
    last_id: Option<i64>,
    crossed: bool,
}

/// The dYdX rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The market as the indexer spells it (`BTC-USD`).
    market: String,
    conns: Conns<Open>,
    /// The table ids of the trades recorded last.
    trade_ids: RecentIds,
    /// The whole id behind each remembered folded table id (bit 62 set), so two trades whose
    /// ids fold to one table id are both recorded. Exact table ids need none. Not in the
    /// state file: after a restart a remembered fold alone decides (docs/VENUES.md §15.4).
    folded: HashMap<i64, u128>,
    had_book: bool,
}

fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => wire::BOOK_CHANNEL,
        Stream::Trades => wire::TRADES_CHANNEL,
        Stream::Combined => "v4_orderbook+v4_trades",
    }
}

impl rules::Rules for Rules {
    fn max_conn(&self) -> u32 {
        self.conns.max_conn()
    }

    fn open_conns(&self) -> Vec<u32> {
        self.conns.open_conns()
    }

    fn save(&self) -> Saved {
        self.saved()
    }

    fn apply(&mut self, record: &Record, sink: &mut Sink) -> Verdict {
        match self.conns.route(record, sink, Open::new, channel) {
            Some((conn, text)) => self.frame(sink, record.ts_recv, conn, text),
            None => Verdict::Continue,
        }
    }
}

impl Rules {
    /// The rules of `market` (as the indexer spells it, `BTC-USD`), in the state
    /// [`rules::Rules::save`] returned.
    pub fn restore(market: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            market: market.to_owned(),
            conns: Conns::after(saved.max_conn),
            trade_ids: RecentIds::restore(&saved.trade_ids),
            folded: HashMap::new(),
            had_book: saved.had_book,
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => Some(Open {
                    stream,
                    book: c.book(),
                    book_frames: own.book_frames,
                    trade_frames: own.trade_frames,
                    last_id: own.last_id,
                    crossed: own.crossed,
                    replayed: c.replayed,
                }),
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable dydx connection");
                    None
                }
                (None, _) => None,
            };
            rules.conns.restore(c.conn, state);
        }
        rules
    }

    fn frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let message = match wire::parse(text) {
            Ok(message) => message,
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        let want = Expect { market: &self.market, ts_recv: ts };
        let checked = match &message {
            // Data nobody subscribed to here: refused like any frame that cannot be used.
            Message::OtherChannel { channel, .. } => Err(ParseError::Impossible {
                field: "channel".to_owned(),
                value: channel.clone(),
                rule: format!(
                    "is not a channel recorded here ({} or {})",
                    wire::BOOK_CHANNEL,
                    wire::TRADES_CHANNEL
                ),
            }),
            other => check::message(other, &want),
        };
        if let Err(error) = checked {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        let message_id = match &message {
            Message::Error { message } => {
                let detail = format!("venue error: {message}");
                return self.conns.break_off(
                    sink,
                    ts,
                    conn,
                    EventKind::VenueError,
                    None,
                    None,
                    detail,
                );
            }
            Message::Pong | Message::OtherChannel { .. } => return Verdict::Continue,
            Message::Connected { message_id }
            | Message::Unsubscribed { message_id, .. }
            | Message::BookSnapshot { message_id, .. }
            | Message::BookUpdates { message_id, .. }
            | Message::Trades { message_id, .. } => *message_id,
        };
        let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
        if let Some(last) = open.last_id {
            if message_id == last {
                // The same message again: it brings nothing new; no row.
                return Verdict::Continue;
            }
            if message_id != last + 1 {
                let detail = format!(
                    "message_id {message_id} after {last}: {}; book dropped, subscribing again",
                    if message_id > last { "messages were lost" } else { "message_id went back" }
                );
                return self.conns.break_off(
                    sink,
                    ts,
                    conn,
                    EventKind::SeqGap,
                    Some(message_id),
                    Some(last + 1),
                    detail,
                );
            }
        }
        open.last_id = Some(message_id);
        match message {
            Message::BookSnapshot { book, .. } => {
                self.book(sink, ts, conn, message_id, std::slice::from_ref(&book), true)
            }
            Message::BookUpdates { updates, .. } => {
                self.book(sink, ts, conn, message_id, &updates, false)
            }
            Message::Trades { trades, replay, .. } => {
                self.trades(sink, ts, conn, trades, replay);
                Verdict::Continue
            }
            Message::Unsubscribed { channel, .. } => {
                let detail = format!("the venue ended the {channel} subscription (unsubscribed)");
                self.conns.break_off(sink, ts, conn, EventKind::VenueError, None, None, detail)
            }
            _ => Verdict::Continue,
        }
    }

    fn book(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        message_id: i64,
        updates: &[BookUpdate],
        snapshot: bool,
    ) -> Verdict {
        let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
        if !snapshot && open.book_frames == 0 {
            let detail = "a book update before the snapshot on this connection".to_owned();
            return self.conns.break_off(
                sink,
                ts,
                conn,
                EventKind::SeqGap,
                Some(message_id),
                None,
                detail,
            );
        }
        let changes = match updates {
            [levels] if snapshot => book::snapshot(&mut open.book, levels),
            _ => book::apply(&mut open.book, updates),
        };
        open.book_frames += 1;
        let seq = open.book_frames as i64;
        // dYdX's book messages carry no time of their own (docs/VENUES.md §15.3).
        let ts_event = EventTime::from_nanos(ts.as_nanos());
        for (side, level) in &changes {
            sink.out.depth.push(DepthRow {
                ts_event,
                ts_recv: ts,
                conn,
                seq,
                snapshot,
                side: *side,
                price: level.price,
                qty: level.qty,
            });
        }
        sink.book_top(&open.book, ts_event, ts, conn, seq, snapshot);
        if snapshot && self.had_book {
            let detail = "book rebuilt from the snapshot of a new subscription".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(seq), None, Some(detail));
        }
        self.had_book = true;
        let crossed = open.book.is_crossed();
        if crossed && !open.crossed {
            let price = |level: Option<crate::model::Level>| {
                level.map(|l| l.price.to_string()).unwrap_or_default()
            };
            let detail = format!(
                "book crossed after book message {seq} (message_id {message_id}): best bid {} at or above best ask {}; recorded as sent, dYdX's book may cross (docs/VENUES.md §15.5)",
                price(open.book.best_bid()),
                price(open.book.best_ask())
            );
            sink.event(ts, conn, EventKind::Crossed, Some(seq), None, Some(detail));
        }
        open.crossed = crossed;
        Verdict::Continue
    }

    fn trades(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        mut trades: Vec<WireTrade>,
        replay: bool,
    ) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        open.trade_frames += 1;
        let seq = open.trade_frames as i64;
        if replay {
            // The replay comes newest first; ids sort in chain order.
            trades.sort_by_key(|t| t.id);
            let first = !std::mem::replace(&mut open.replayed, true);
            let recorded = self.trade_ids.ids().next().is_some();
            let known = |t: &WireTrade| self.trade_ids.set().contains(&t.id.table_id());
            if let (true, true, Some(oldest)) = (first, recorded, trades.first()) {
                if !trades.iter().any(known) {
                    sink.counters.gaps += 1;
                    let detail = format!(
                        "the trades replay of this connection ({} trades) holds no trade already recorded: trades before {} (trade {}) may be missing",
                        trades.len(),
                        oldest.ts_event.to_datetime().to_rfc3339(),
                        oldest.id
                    );
                    let id = Some(oldest.id.table_id());
                    sink.event(ts, conn, EventKind::TradeGap, id, None, Some(detail));
                }
            }
        }
        for trade in &trades {
            if !self.remember(trade.id) {
                continue;
            }
            sink.out.trades.push(TradeRow {
                ts_event: trade.ts_event,
                ts_recv: ts,
                conn,
                seq,
                trade_id: trade.id.table_id(),
                side: trade.side,
                price: trade.price,
                qty: trade.qty,
                kind: trade.kind,
            });
        }
    }

    /// Remembers `id`; false if that trade was already recorded. An id whose fold is known
    /// but whose bits differ is another trade: recorded (its table id repeats, which `verify`
    /// reports), never dropped.
    fn remember(&mut self, id: TradeId) -> bool {
        let key = id.table_id();
        let folded = key & FOLDED != 0;
        if self.trade_ids.insert(key) {
            if folded {
                self.folded.insert(key, id.0);
                if self.folded.len() > 2 * REMEMBERED_TRADES {
                    let set = self.trade_ids.set();
                    self.folded.retain(|k, _| set.contains(k));
                }
            }
            return true;
        }
        match self.folded.get(&key) {
            Some(known) if folded && *known != id.0 => {
                tracing::warn!(trade = %id, table_id = key, "two dydx trade ids fold to one trade_id; both recorded");
                true
            }
            _ => false,
        }
    }

    fn saved(&self) -> Saved {
        let conns = self
            .conns
            .iter()
            .map(|(conn, state)| match state {
                Some(open) => SavedConn {
                    conn,
                    stream: Some(open.stream),
                    last_seq: Some(open.book_frames),
                    bids: levels(&open.book, BookSide::Bid),
                    asks: levels(&open.book, BookSide::Ask),
                    replayed: open.replayed,
                    sync: serde_json::to_value(SavedOpen {
                        book_frames: open.book_frames,
                        trade_frames: open.trade_frames,
                        last_id: open.last_id,
                        crossed: open.crossed,
                    })
                    .ok(),
                },
                None => SavedConn::ended(conn),
            })
            .collect();
        Saved {
            conns,
            trade_ids: self.trade_ids.ids().copied().collect(),
            max_conn: self.conns.max_conn(),
            had_book: self.had_book,
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
