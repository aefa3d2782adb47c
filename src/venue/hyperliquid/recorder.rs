//! The recorder's rules for one Hyperliquid coin: journal records in, table rows out
//! (docs/VENUES.md §13).
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md §10): a message that cannot be read or fails
//!   [`super::check`] writes one `refused` row and changes nothing — including a book push
//!   whose `time` is before the previous push's on its connection.
//! - **Book**: every `l2Book` push is a full snapshot. Each writes one `book_top` row; its
//!   `depth` rows are its changes against the previous push of the connection (a level new or
//!   resized: its size; a level gone: size 0), and the connection's first push writes all its
//!   levels with `snapshot` true, so replaying `depth` gives every push's book. A push equal to
//!   the previous one writes its `book_top` row and no `depth` rows. Rows number a connection's
//!   pushes from 1. There is no sequence number or checksum: nothing can prove a push was not
//!   lost, and nothing needs to (the next push is the whole book again), so continuity is
//!   staleness only (the link plan's `stale_after`). A new connection's first push after an
//!   earlier book writes `resnapshot`.
//! - **Trades**: deduplicated by `tid` across connections and restarts (the first push of a
//!   subscription replays recent trades). `tid`s are not consecutive, so a hole shows only
//!   where a connection's first push (the replay) holds no trade already recorded: one
//!   `trade_gap` row then says trades may be missing before its oldest `tid`. `hash` is not a
//!   key (it can be all zeros) and `users` are ignored.
//! - An `error` message is a `venue_error` and ends the connection; subscription responses and
//!   pongs write nothing.

use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, Level, Qty, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{self, levels, RecentIds, Saved, SavedConn, Sink, Verdict};

use super::check;
use super::wire::{self, BookPush, Message, WireTrade};

/// A live connection: the book of its last push and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    book: Book,
    /// Book pushes applied (the `seq` of their rows).
    book_frames: u64,
    /// The venue time of the last push applied; a push before it is refused.
    book_time: Option<EventTime>,
    /// Trades pushes written (the `seq` of their rows).
    trade_frames: u64,
    replayed: bool,
}

impl Open {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            book: Book::new(),
            book_frames: 0,
            book_time: None,
            trade_frames: 0,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file (its book is in [`SavedConn`]'s levels).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    book_frames: u64,
    /// The last push's venue time, ns.
    book_time: Option<i64>,
    trade_frames: u64,
}

/// The Hyperliquid rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The coin as the messages spell it (`BTC`, `PURR/USDC`, `@107`).
    coin: String,
    conns: Conns<Open>,
    trade_ids: RecentIds,
    had_book: bool,
}

fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "l2Book",
        Stream::Trades => "trades",
        Stream::Combined => "l2Book+trades",
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
        // Both streams connect to one URL: the connect row says which this connection is.
        match self.conns.route(record, sink, Open::new, channel) {
            Some((conn, text)) => self.frame(sink, record.ts_recv, conn, text),
            None => Verdict::Continue,
        }
    }
}

impl Rules {
    /// The rules of `coin` (as Hyperliquid spells it: `BTC`, `PURR/USDC`; see
    /// [`super::symbol`]) in the state [`rules::Rules::save`] returned.
    pub fn restore(coin: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            coin: coin.to_owned(),
            conns: Conns::after(saved.max_conn),
            had_book: saved.had_book,
            trade_ids: RecentIds::restore(&saved.trade_ids),
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => Some(Open {
                    stream,
                    book: c.book(),
                    book_frames: own.book_frames,
                    book_time: own.book_time.map(EventTime::from_nanos),
                    trade_frames: own.trade_frames,
                    replayed: c.replayed,
                }),
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable hyperliquid connection");
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
        let previous = self.conns.open_mut(conn).and_then(|open| open.book_time);
        let want = Expect { market: &self.coin, ts_recv: ts };
        let checked = match &message {
            Message::Book(push) => check::book(push, &want, previous),
            Message::Trades(trades) => check::trades(trades, &want),
            _ => Ok(()),
        };
        if let Err(error) = checked {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        match message {
            Message::Book(push) => self.book(sink, ts, conn, &push),
            Message::Trades(trades) => self.trades(sink, ts, conn, &trades),
            Message::Error(reason) => {
                let detail = format!("venue error: {reason}");
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
            Message::Subscribed | Message::Pong => {}
        }
        Verdict::Continue
    }

    fn book(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, push: &BookPush) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        let mut book = Book::new();
        for (side, levels) in [(BookSide::Bid, &push.bids), (BookSide::Ask, &push.asks)] {
            for level in levels {
                book.set(side, level.price, level.qty);
            }
        }
        open.book_frames += 1;
        open.book_time = Some(push.ts_event);
        let seq = open.book_frames as i64;
        let snapshot = seq == 1;
        let row = |side, level: Level| DepthRow {
            ts_event: push.ts_event,
            ts_recv: ts,
            conn,
            seq,
            snapshot,
            side,
            price: level.price,
            qty: level.qty,
        };
        for side in [BookSide::Bid, BookSide::Ask] {
            for level in book.levels(side) {
                if snapshot || open.book.get(side, level.price) != Some(level.qty) {
                    sink.out.depth.push(row(side, level));
                }
            }
            if snapshot {
                continue;
            }
            for level in open.book.levels(side) {
                if book.get(side, level.price).is_none() {
                    let gone = Level::new(level.price, Qty::ZERO);
                    sink.out.depth.push(row(side, gone));
                }
            }
        }
        open.book = book;
        sink.book_top(&open.book, push.ts_event, ts, conn, seq, snapshot);
        if snapshot {
            if self.had_book {
                let detail = "book rebuilt from the first push of a new connection".to_owned();
                sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
            }
            self.had_book = true;
        }
    }

    fn trades(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, trades: &[WireTrade]) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        open.trade_frames += 1;
        let first = !std::mem::replace(&mut open.replayed, true);
        let seq = open.trade_frames as i64;
        // tids are not consecutive, so a hole shows only here: a connection's first push
        // replays recent trades, and one that reaches back to no trade already recorded may
        // have missed some between the two.
        let known = |id: &i64| self.trade_ids.set().contains(id);
        if first && self.trade_ids.ids().next().is_some() && !trades.iter().any(|t| known(&t.id)) {
            if let Some(oldest) = trades.iter().min_by_key(|t| t.ts_event.as_nanos()) {
                sink.counters.gaps += 1;
                let detail = format!(
                    "the first trades push of this connection replays no trade already recorded: trades before tid {} may be missing",
                    oldest.id
                );
                sink.event(ts, conn, EventKind::TradeGap, Some(oldest.id), None, Some(detail));
            }
        }
        for trade in trades {
            if !self.trade_ids.insert(trade.id) {
                continue;
            }
            sink.out.trades.push(TradeRow {
                ts_event: trade.ts_event,
                ts_recv: ts,
                conn,
                seq,
                trade_id: trade.id,
                side: trade.side,
                price: trade.price,
                qty: trade.qty,
                kind: TradeKind::Trade,
            });
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
                        book_time: open.book_time.map(EventTime::as_nanos),
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
