//! The recorder's rules for one Bybit v5 symbol: journal records in, table rows out
//! (docs/VENUES.md §14).
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md §10): a message that cannot be read, fails
//!   [`super::check`] or names a topic this market did not subscribe writes one `refused` row
//!   and changes nothing.
//! - **Book** (docs/VENUES.md §14.3): continuity is the update id `u`, one more on every
//!   message (never `seq`, a cross sequence with holes). A delta whose `u` is the previous
//!   one + 1 is applied ([`super::book::apply`]); one whose `u` is the one just applied is a
//!   repeat and writes nothing; any other `u` — ahead (messages were lost) or behind (after
//!   a lost restart snapshot it is the only sign) — is a break. A snapshot replaces the book
//!   whatever its `u`: the first of a connection, one the venue sends after restarting its
//!   service (`u` = 1, which also writes `resnapshot`), the depth-1 topic's every message. A
//!   snapshot repeating the `u` just applied (depth 1 re-sends an unchanged book every 3 s)
//!   writes nothing; one continuing `u` is written as its difference from the book, with
//!   `snapshot` false. With no checksum, a book left crossed by a message is proof it is wrong,
//!   so it is a break too. A break, or a delta before any snapshot, writes one `seq_gap` row,
//!   drops the connection's book and closes it ([`Verdict::Close`]); the next connection
//!   subscribes again and rebuilds from its snapshot (`resnapshot`). Rows number a
//!   connection's book messages from 1.
//! - **Trades** (docs/VENUES.md §14.4): deduplicated by trade id `i` across connections and
//!   restarts — a UUID compared whole, though the tables hold its 63-bit fold
//!   ([`TradeId::table_id`]). Ids are not consecutive, and `publicTrade` replays nothing on
//!   subscribing, so a hole shows only one way: a connection's first message whose trades
//!   are none already recorded, after trades were, writes one `trade_gap` (trades between
//!   may be missing). Block trades (`BT`) are recorded as trades.
//! - A failure reply (`success` false) ends the connection with a `venue_error` row; data of a
//!   topic not subscribed here is refused; acknowledgements and pongs write nothing.

use std::collections::HashMap;

use crate::book::Book;
use crate::model::{BookSide, EventKind, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{
    self, levels, RecentIds, Saved, SavedConn, Sink, Verdict, REMEMBERED_TRADES,
};
use crate::venue::ParseError;

use super::book;
use super::check;
use super::link::{book_topic, trade_topic};
use super::wire::{self, BookMessage, Message, TradeId, TradesMessage};

/// A live connection: its book and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    book: Book,
    /// Book messages applied (the `seq` of their rows).
    book_frames: u64,
    /// The `u` of the last book message applied.
    last_u: Option<i64>,
    /// Trades messages received (the `seq` of their rows).
    trade_frames: u64,
    replayed: bool,
}

impl Open {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            book: Book::new(),
            book_frames: 0,
            last_u: None,
            trade_frames: 0,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file (its book is in [`SavedConn`]'s levels).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    book_frames: u64,
    last_u: Option<i64>,
    trade_frames: u64,
}

/// The Bybit rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The symbol as the messages spell it (`BTCUSDT`).
    symbol: String,
    /// Levels a side the book is kept to (the subscribed depth).
    depth: usize,
    book_topic: String,
    trade_topic: String,
    conns: Conns<Open>,
    /// The table ids of the trades recorded last.
    trade_ids: RecentIds,
    /// The whole UUID behind each remembered table id, so two trades whose UUIDs fold to one
    /// id are both recorded. Not in the state file: after a restart the remembered ids are
    /// compared by their fold alone (docs/VENUES.md §14.4).
    uuids: HashMap<i64, u128>,
    had_book: bool,
}

fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "orderbook",
        Stream::Trades => "publicTrade",
        Stream::Combined => "orderbook+publicTrade",
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
    /// The rules of `symbol` (as Bybit spells it) with its book subscribed at `depth`, in the
    /// state [`rules::Rules::save`] returned.
    pub fn restore(symbol: &str, depth: usize, saved: &Saved) -> Self {
        let mut rules = Self {
            symbol: symbol.to_owned(),
            depth,
            book_topic: book_topic(depth, symbol),
            trade_topic: trade_topic(symbol),
            conns: Conns::after(saved.max_conn),
            trade_ids: RecentIds::restore(&saved.trade_ids),
            uuids: HashMap::new(),
            had_book: saved.had_book,
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => Some(Open {
                    stream,
                    book: c.book(),
                    book_frames: own.book_frames,
                    last_u: own.last_u,
                    trade_frames: own.trade_frames,
                    replayed: c.replayed,
                }),
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable bybit connection");
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
        let want = Expect { market: &self.symbol, ts_recv: ts };
        let checked = match &message {
            Message::Book(book) => self.topic(&book.topic).and_then(|()| check::book(book, &want)),
            Message::Trades(trades) => {
                self.topic(&trades.topic).and_then(|()| check::trades(trades, &want))
            }
            // Data nobody subscribed to here: refused like any frame that cannot be used.
            Message::OtherTopic { topic } => self.topic(topic),
            _ => Ok(()),
        };
        if let Err(error) = checked {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        match message {
            Message::Book(book) => self.book(sink, ts, conn, &book),
            Message::Trades(trades) => {
                self.trades(sink, ts, conn, &trades);
                Verdict::Continue
            }
            Message::Error { op, message } => {
                let detail = format!("venue error on {op}: {message}");
                self.conns.break_off(sink, ts, conn, EventKind::VenueError, None, None, detail)
            }
            Message::OtherTopic { .. } | Message::Subscribed | Message::Pong => Verdict::Continue,
        }
    }

    /// A data message's topic is one this market subscribed (the book at its depth, or
    /// trades); the parser has read the rest of it already.
    fn topic(&self, topic: &str) -> Result<(), ParseError> {
        if topic == self.book_topic || topic == self.trade_topic {
            return Ok(());
        }
        Err(ParseError::Impossible {
            field: "topic".to_owned(),
            value: topic.to_owned(),
            rule: format!(
                "is not a topic subscribed here ({} or {})",
                self.book_topic, self.trade_topic
            ),
        })
    }

    fn book(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, message: &BookMessage) -> Verdict {
        let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
        let (u, snapshot) = (message.data.u, message.snapshot);
        let next = open.book_frames + 1;
        if !snapshot && open.book_frames == 0 {
            let detail = "a book delta before any snapshot on this connection".to_owned();
            return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, Some(u), None, detail);
        }
        let mut replaced = None;
        if let Some(last) = open.last_u {
            if u == last {
                // A repeat (or depth 1's unchanged book again): sizes are absolute, so it
                // brings nothing new; no row.
                return Verdict::Continue;
            }
            if snapshot && u != last + 1 {
                replaced = Some(last);
            } else if !snapshot && u != last + 1 {
                let detail = format!(
                    "book message {next} has u {u} but the previous one had u {last}: {}; book dropped, subscribing again",
                    if u > last { "updates were lost" } else { "u went back without a snapshot" }
                );
                return self.conns.break_off(
                    sink,
                    ts,
                    conn,
                    EventKind::SeqGap,
                    Some(u),
                    Some(last + 1),
                    detail,
                );
            }
        }
        let data = &message.data;
        // A snapshot continuing `u` (the depth-1 topic sends nothing else) is written as the
        // delta it amounts to: a snapshot row would claim a new start at every message.
        let continues = snapshot && open.last_u.is_some() && replaced.is_none();
        let changes = if continues {
            book::replace(&mut open.book, &data.bids, &data.asks, self.depth)
        } else {
            book::apply(&mut open.book, snapshot, &data.bids, &data.asks, self.depth)
        };
        let snapshot = snapshot && !continues;
        if book::is_crossed(&open.book) {
            let (bid, ask) = (open.book.best_bid(), open.book.best_ask());
            let (bid, ask) = (bid.map(|l| l.price.to_string()), ask.map(|l| l.price.to_string()));
            let detail = format!(
                "book crossed after book message {next} (u {u}): best bid {} at or above best ask {}; book dropped, subscribing again",
                bid.unwrap_or_default(),
                ask.unwrap_or_default()
            );
            return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, Some(u), None, detail);
        }
        open.last_u = Some(u);
        open.book_frames = next;
        let seq = next as i64;
        for (side, level) in &changes {
            sink.out.depth.push(DepthRow {
                ts_event: message.ts_event,
                ts_recv: ts,
                conn,
                seq,
                snapshot,
                side: *side,
                price: level.price,
                qty: level.qty,
            });
        }
        sink.book_top(&open.book, message.ts_event, ts, conn, seq, snapshot);
        if let Some(last) = replaced {
            let detail = format!(
                "the venue replaced the book mid-stream: a snapshot with u {u} after u {last}{}",
                if u == 1 { " (its service restarted)" } else { "" }
            );
            sink.event(ts, conn, EventKind::Resnapshot, Some(seq), None, Some(detail));
        } else if seq == 1 && self.had_book {
            let detail = "book rebuilt from the snapshot of a new subscription".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
        }
        self.had_book = true;
        Verdict::Continue
    }

    fn trades(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, message: &TradesMessage) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        open.trade_frames += 1;
        let first = !std::mem::replace(&mut open.replayed, true);
        let seq = open.trade_frames as i64;
        // Ids are not consecutive and nothing is replayed on subscribing, so this is the only
        // sign of a hole: a connection's first trades, none of them recorded already.
        let known = |id: &TradeId| self.trade_ids.set().contains(&id.table_id());
        let recorded = self.trade_ids.ids().next().is_some();
        if first && recorded && !message.trades.iter().any(|t| known(&t.id)) {
            if let Some(oldest) = message.trades.iter().min_by_key(|t| t.ts_event.as_nanos()) {
                sink.counters.gaps += 1;
                let detail = format!(
                    "the first trades message of this connection holds no trade already recorded: trades before {} (trade {}) may be missing",
                    oldest.ts_event.to_datetime().to_rfc3339(),
                    oldest.id
                );
                sink.event(ts, conn, EventKind::TradeGap, None, None, Some(detail));
            }
        }
        for trade in &message.trades {
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
                kind: TradeKind::Trade,
            });
        }
    }

    /// Remembers `id`; false if that trade was already recorded. A UUID whose fold is known
    /// but whose bits differ is another trade: recorded (its table id repeats, which `verify`
    /// reports), never dropped.
    fn remember(&mut self, id: TradeId) -> bool {
        let key = id.table_id();
        if self.trade_ids.insert(key) {
            if let TradeId::Uuid(bits) = id {
                self.uuids.insert(key, bits);
                if self.uuids.len() > 2 * REMEMBERED_TRADES {
                    let set = self.trade_ids.set();
                    self.uuids.retain(|k, _| set.contains(k));
                }
            }
            return true;
        }
        match (id, self.uuids.get(&key)) {
            (TradeId::Uuid(bits), Some(known)) if *known != bits => {
                tracing::warn!(trade = %id, table_id = key, "two bybit trade UUIDs fold to one trade_id; both recorded");
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
                        last_u: open.last_u,
                        trade_frames: open.trade_frames,
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
