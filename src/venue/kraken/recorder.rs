//! The recorder's rules for one Kraken v2 market: journal records in, table rows out.
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md "Bad venue data"): a message that cannot be
//!   read or fails [`super::check`] writes one `refused` row and changes nothing.
//! - **Book** (Kraken's guide "Book checksum (WebSocket v2)"): each `book` message is applied
//!   in order and truncated to the subscribed depth; then its CRC32 `checksum` is verified.
//!   Kraken has no sequence number, so the checksum *is* the continuity proof: a mismatch,
//!   or an update before any snapshot, writes one `seq_gap` row (detail: the checksum sent and
//!   the one computed), drops the connection's book and closes it ([`Verdict::Close`]); the
//!   next connection subscribes again and rebuilds from its snapshot (`resnapshot`). Levels
//!   pushed out by truncation are written to `depth` as removals (size 0), so replaying
//!   `depth` gives the same book. Rows number a connection's book messages from 1.
//! - **Trades**: deduplicated by `trade_id` across connections and restarts (the subscribe
//!   snapshot replays the last 50). Kraken's ids are sequential per book, so an id past the
//!   highest recorded + 1 writes a `trade_gap` row (received, expected).
//! - A failed subscribe response is a `venue_error` and ends the connection; heartbeats,
//!   status and pongs write nothing.

use crate::book::Book;
use crate::model::{BookSide, EventKind, Price, Qty, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{self, levels, IdChain, RecentIds, Saved, SavedConn, Sink, Verdict};

use super::book::{KrakenBook, Precision};
use super::check;
use super::wire::{self, BookMessage, Message, TradesMessage};

/// The depth mdkit subscribes to unless told otherwise (the checksum covers 10 levels).
pub const DEFAULT_DEPTH: usize = 10;

/// A live connection: its book (with the wire text's places, for the checksum), the same
/// levels as the tables' [`Book`] for `book_top`, and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    kraken: KrakenBook,
    book: Book,
    /// Book messages applied (the `seq` of their rows).
    book_frames: u64,
    /// Trades messages written (the `seq` of their rows).
    trade_frames: u64,
    replayed: bool,
}

impl Open {
    fn new(stream: Stream, depth: usize) -> Self {
        Self {
            stream,
            kraken: KrakenBook::new(depth),
            book: Book::new(),
            book_frames: 0,
            trade_frames: 0,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    book_frames: u64,
    trade_frames: u64,
    bids: Vec<[i64; 4]>,
    asks: Vec<[i64; 4]>,
}

/// The Kraken rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The pair as the messages spell it (`BTC/USD`).
    market: String,
    depth: usize,
    conns: Conns<Open>,
    trade_ids: RecentIds,
    /// Trade ids are sequential per book.
    ids: IdChain,
    had_book: bool,
    /// Places to print levels with for the checksum; `None`: each number's own wire text.
    precision: Option<Precision>,
}

/// Both channels connect to one URL: connect rows say which this connection is.
fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "book",
        Stream::Trades => "trade",
        Stream::Combined => "book+trade",
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
        let depth = self.depth;
        match self.conns.route(record, sink, |stream| Open::new(stream, depth), channel) {
            Some((conn, text)) => self.frame(sink, record.ts_recv, conn, text),
            None => Verdict::Continue,
        }
    }
}

impl Rules {
    /// The rules of `market` (as Kraken spells it, `BTC/USD`) subscribed at `depth`, in the
    /// state [`rules::Rules::save`] returned.
    pub fn restore(market: &str, depth: usize, saved: &Saved) -> Self {
        let mut rules = Self {
            market: market.to_owned(),
            depth,
            conns: Conns::after(saved.max_conn),
            had_book: saved.had_book,
            trade_ids: RecentIds::restore(&saved.trade_ids),
            ids: IdChain::after(saved.trade_ids.iter().copied().max()),
            ..Self::default()
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => KrakenBook::restore(depth, &own.bids, &own.asks)
                    .map(|kraken| Open {
                        stream,
                        kraken,
                        book: c.book(),
                        book_frames: own.book_frames,
                        trade_frames: own.trade_frames,
                        replayed: c.replayed,
                    }),
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable kraken connection");
                    None
                }
                (None, _) => None,
            };
            rules.conns.restore(c.conn, state);
        }
        rules
    }

    /// These rules hashing every level at `precision` instead of its wire text's places:
    /// for captures whose number text was re-serialized (Kraken's own text needs none).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = Some(precision);
        self
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
            Message::Book(book) => check::book(book, &want),
            Message::Trades(trades) => check::trades(trades, &want),
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
            Message::Response { success: false, method, error } => {
                let detail = format!(
                    "venue error: {method} failed: {}",
                    error.as_deref().unwrap_or("(no reason given)")
                );
                self.conns.break_off(sink, ts, conn, EventKind::VenueError, None, None, detail)
            }
            Message::Response { .. } | Message::Heartbeat | Message::Status | Message::Pong => {
                Verdict::Continue
            }
        }
    }

    fn book(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, message: &BookMessage) -> Verdict {
        for data in &message.data {
            let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
            if !message.snapshot && open.book_frames == 0 {
                let detail = "a book update before any snapshot on this connection".to_owned();
                return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, None, None, detail);
            }
            // `check::book` refused a book message without its venue time.
            let Some(ts_event) = data.ts_event else {
                let detail = "a checked book message has no timestamp".to_owned();
                return self.conns.break_off(
                    sink,
                    ts,
                    conn,
                    EventKind::Malformed,
                    None,
                    None,
                    detail,
                );
            };
            let changes = open.kraken.apply(message.snapshot, &data.bids, &data.asks);
            let computed = open.kraken.checksum(self.precision);
            if computed != data.checksum {
                let detail = format!(
                    "book checksum mismatch after book message {}: the venue sent {}, the book gives {}; book dropped, subscribing again",
                    open.book_frames + 1,
                    data.checksum,
                    computed
                );
                let (got, want) = (Some(i64::from(data.checksum)), Some(i64::from(computed)));
                return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, got, want, detail);
            }
            open.book_frames += 1;
            let seq = open.book_frames as i64;
            if message.snapshot {
                open.book.clear();
            }
            for (side, level) in &changes {
                open.book.set(*side, level.price, level.qty);
                sink.out.depth.push(DepthRow {
                    ts_event,
                    ts_recv: ts,
                    conn,
                    seq,
                    snapshot: message.snapshot,
                    side: *side,
                    price: level.price,
                    qty: level.qty,
                });
            }
            sink.book_top(&open.book, ts_event, ts, conn, seq, message.snapshot);
            if seq == 1 {
                if self.had_book {
                    let detail = "book rebuilt from the snapshot of a new subscription".to_owned();
                    sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
                }
                self.had_book = true;
            }
        }
        Verdict::Continue
    }

    fn trades(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, message: &TradesMessage) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        open.trade_frames += 1;
        open.replayed = true;
        let seq = open.trade_frames as i64;
        for trade in &message.trades {
            if !self.trade_ids.insert(trade.id) {
                continue;
            }
            self.ids.trade(sink, ts, conn, trade.id, 1);
            sink.out.trades.push(TradeRow {
                ts_event: trade.ts_event,
                ts_recv: ts,
                conn,
                seq,
                trade_id: trade.id,
                side: trade.side,
                price: Price::from_raw(trade.price.raw),
                qty: Qty::from_raw(trade.qty.raw),
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
                        trade_frames: open.trade_frames,
                        bids: open.kraken.saved(BookSide::Bid),
                        asks: open.kraken.saved(BookSide::Ask),
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
