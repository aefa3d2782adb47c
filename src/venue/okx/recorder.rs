//! The recorder's rules for one OKX v5 instrument: journal records in, table rows out.
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md §10): a message that cannot be read or
//!   fails [`super::check`] writes one `refused` row and changes nothing.
//! - **Book** (docs/VENUES.md §12.3): each `books` message is applied in order; a delete of
//!   an absent level changes nothing. Continuity is proved twice where the feed allows:
//!   `prevSeqId` must equal the previous message's `seqId` (never `seqId + 1`; feeds before
//!   2023 carry neither; an update without them on a connection whose snapshot had them is
//!   refused), and a non-zero `checksum` must equal the CRC32 of the book's top 25
//!   levels from their received text. A message whose `seqId` is the one just applied — a
//!   quiet book's keep-alive (`prevSeqId` = `seqId`) or a repeat — brings nothing new and
//!   writes nothing. A break, a mismatch or an update before any snapshot
//!   writes one `seq_gap` row (what arrived and what was expected), drops the connection's
//!   book and closes it ([`Verdict::Close`]); the next connection subscribes again and
//!   rebuilds from its snapshot (`resnapshot`). Rows number a connection's book messages
//!   from 1.
//! - **Trades**: deduplicated by `tradeId` across connections and restarts (the first frame
//!   after subscribing may replay old trades). Ids increase by one per trade on an
//!   instrument (the fixture's 74), so a jump writes a `trade_gap` row (received, expected);
//!   a row that aggregates `count` fills may advance the id by up to `count` (whether OKX
//!   numbers an aggregate by its first or its last fill, the larger of the two counts
//!   bounds the step).
//! - An `error` event ends the connection with a `venue_error` row; data of a channel not
//!   subscribed here (`tickers`) is refused; acks, notices and pongs write nothing.

use crate::book::Book;
use crate::model::{BookSide, EventKind, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{self, levels, IdChain, RecentIds, Saved, SavedConn, Sink, Verdict};
use crate::venue::ParseError;

use super::book::OkxBook;
use super::check;
use super::wire::{self, BookMessage, Message, WireTrade};

/// A live connection: its book (with the received text, for the checksum), the same levels
/// as the tables' [`Book`] for `book_top`, and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    okx: OkxBook,
    book: Book,
    /// Book messages applied (the `seq` of their rows).
    book_frames: u64,
    /// The `seqId` of the last book message, where the feed sends one.
    last_seq_id: Option<i64>,
    /// Trades messages written (the `seq` of their rows).
    trade_frames: u64,
    replayed: bool,
}

impl Open {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            okx: OkxBook::new(),
            book: Book::new(),
            book_frames: 0,
            last_seq_id: None,
            trade_frames: 0,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    book_frames: u64,
    last_seq_id: Option<i64>,
    trade_frames: u64,
    bids: Vec<[String; 2]>,
    asks: Vec<[String; 2]>,
}

/// The OKX rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The instrument as the messages spell it (`BTC-USDT`).
    inst_id: String,
    conns: Conns<Open>,
    trade_ids: RecentIds,
    /// Trade ids rise by each trade's `count`.
    ids: IdChain,
    had_book: bool,
}

fn channel(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "books",
        Stream::Trades => "trades",
        Stream::Combined => "books+trades",
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
    /// The rules of `inst_id` (as OKX spells it), in the state [`rules::Rules::save`] returned.
    pub fn restore(inst_id: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            inst_id: inst_id.to_owned(),
            conns: Conns::after(saved.max_conn),
            had_book: saved.had_book,
            trade_ids: RecentIds::restore(&saved.trade_ids),
            ids: IdChain::after(saved.trade_ids.iter().copied().max()),
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => {
                    OkxBook::restore(&own.bids, &own.asks).map(|okx| Open {
                        stream,
                        okx,
                        book: c.book(),
                        book_frames: own.book_frames,
                        last_seq_id: own.last_seq_id,
                        trade_frames: own.trade_frames,
                        replayed: c.replayed,
                    })
                }
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable okx connection");
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
        let want = Expect { market: &self.inst_id, ts_recv: ts };
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
            Message::Book(book) => self.book(sink, ts, conn, (&book, text)),
            Message::Trades(trades) => {
                self.trades(sink, ts, conn, &trades);
                Verdict::Continue
            }
            Message::Error { code, message } => {
                let detail = format!("venue error {code}: {message}");
                self.conns.break_off(sink, ts, conn, EventKind::VenueError, None, None, detail)
            }
            Message::OtherChannel { channel } => {
                // Data nobody subscribed to here: refused like any frame that cannot be used.
                let error = ParseError::UnknownValue {
                    field: "arg.channel".to_owned(),
                    text: channel,
                    expected: vec!["books", "trades"],
                };
                sink.refuse(ts, conn, &error, text);
                Verdict::Continue
            }
            Message::Subscribed | Message::Notice { .. } | Message::Pong => Verdict::Continue,
        }
    }

    fn book(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        (message, text): (&BookMessage, &str),
    ) -> Verdict {
        for (index, data) in message.data.iter().enumerate() {
            let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
            if !message.snapshot && open.book_frames == 0 {
                let detail = "a book update before any snapshot on this connection".to_owned();
                return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, None, None, detail);
            }
            if !message.snapshot
                && open.last_seq_id.is_some()
                && (data.seq_id.is_none() || data.prev_seq_id.is_none())
            {
                // A feed does not drop its chain mid-connection: without the ids this update
                // cannot be placed, so it is refused (and the next one shows the hole).
                let field = if data.seq_id.is_none() { "seqId" } else { "prevSeqId" };
                let error = ParseError::MissingField { field: format!("data[{index}].{field}") };
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
            if let (false, Some(prev), Some(last)) =
                (message.snapshot, data.prev_seq_id, open.last_seq_id)
            {
                if data.seq_id == Some(last) {
                    // The keep-alive of a quiet book, or the message just applied again:
                    // nothing new (sizes are absolute), no row.
                    continue;
                }
                if prev != last {
                    let detail = format!(
                        "book message {} has prevSeqId {prev} but the previous one had seqId {last}: updates were lost; book dropped, subscribing again",
                        open.book_frames + 1
                    );
                    return self.conns.break_off(
                        sink,
                        ts,
                        conn,
                        EventKind::SeqGap,
                        Some(prev),
                        Some(last),
                        detail,
                    );
                }
            }
            let changes = open.okx.apply(message.snapshot, &data.bids, &data.asks);
            if let Some(sent) = data.checksum {
                let computed = open.okx.checksum();
                if computed != sent {
                    let detail = format!(
                        "book checksum mismatch after book message {}: the venue sent {sent}, the book gives {computed}; book dropped, subscribing again",
                        open.book_frames + 1
                    );
                    let (got, want) = (Some(i64::from(sent)), Some(i64::from(computed)));
                    return self.conns.break_off(
                        sink,
                        ts,
                        conn,
                        EventKind::SeqGap,
                        got,
                        want,
                        detail,
                    );
                }
            }
            open.last_seq_id = data.seq_id.or(open.last_seq_id);
            open.book_frames += 1;
            let seq = open.book_frames as i64;
            if message.snapshot {
                open.book.clear();
            }
            for (side, level) in &changes {
                open.book.set(*side, level.price, level.qty);
                sink.out.depth.push(DepthRow {
                    ts_event: data.ts_event,
                    ts_recv: ts,
                    conn,
                    seq,
                    snapshot: message.snapshot,
                    side: *side,
                    price: level.price,
                    qty: level.qty,
                });
            }
            sink.book_top(&open.book, data.ts_event, ts, conn, seq, message.snapshot);
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

    fn trades(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, trades: &[WireTrade]) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        open.trade_frames += 1;
        open.replayed = true;
        let seq = open.trade_frames as i64;
        for trade in trades {
            if !self.trade_ids.insert(trade.id) {
                continue;
            }
            self.ids.trade(sink, ts, conn, trade.id, trade.count);
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
                        last_seq_id: open.last_seq_id,
                        trade_frames: open.trade_frames,
                        bids: open.okx.saved(BookSide::Bid),
                        asks: open.okx.saved(BookSide::Ask),
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
