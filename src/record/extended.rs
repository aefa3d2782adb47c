//! The recorder's rules for one Extended market: journal records in, table rows out.
//!
//! Deterministic: the same records in the same order give the same rows, whether they come
//! live from a socket, from the journal after a crash, or from `import`. Each book connection
//! has its own book and sequencer (VENUES.md §1.3): a break — gap, duplicate, a first frame
//! that is not a SNAPSHOT, a frame that cannot be read, a venue error — writes one terminal
//! `events` row, drops that connection's book, and asks for the socket to be closed
//! ([`Verdict::Close`]); nothing more from that connection is used. Trades (§1.4) are
//! deduplicated by id across connections and restarts; a trades `seq` jump or a replay that
//! shares no id with what was recorded writes a `trade_gap` row; an unreadable trades frame
//! ends the connection, so the next connection's 50-trade replay can fill the hole.
//!
//! Must not do I/O or read clocks: times come from the records.

use std::collections::BTreeMap;

use super::recorder::{levels, RecentIds, Saved, SavedConn, Sink, Verdict};
use crate::book::Book;
use crate::model::{BookSide, EventKind, FrameKind, Price, Qty, RecvTime};
use crate::storage::{Cause, DepthRow, Entry, Record, Stream, TradeRow};
use crate::venue::extended::seq::{replay_overlap, BookSequencer, TradesSequencer};
use crate::venue::extended::v1::{self, Message};
use crate::venue::extended::BookUpdate;

#[derive(Debug, Clone)]
enum Conn {
    Book {
        seq: BookSequencer,
        book: Book,
    },
    Trades {
        seq: TradesSequencer,
        replayed: bool,
    },
    /// Ended by a break: its later frames and its disconnect are ignored.
    Ended,
}

/// The Extended rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub(super) struct Rules {
    conns: BTreeMap<u32, Conn>,
    trade_ids: RecentIds,
    max_conn: u32,
    /// A book connection has held a book before: the next first SNAPSHOT is a rebuild.
    had_book: bool,
    /// The last book frame's update, read into again by the next (its vectors are reused).
    spare: Option<BookUpdate>,
}

impl Rules {
    /// The highest connection number seen.
    pub(super) fn max_conn(&self) -> u32 {
        self.max_conn
    }

    /// Connections open and not ended, with their streams.
    pub(super) fn open_conns(&self) -> Vec<u32> {
        self.conns.iter().filter(|(_, c)| !matches!(c, Conn::Ended)).map(|(n, _)| *n).collect()
    }

    /// Applies one journal record.
    pub(super) fn apply(&mut self, record: &Record, sink: &mut Sink) -> Verdict {
        let ts = record.ts_recv;
        match &record.entry {
            Entry::Connect { conn, stream, url } => {
                self.max_conn = self.max_conn.max(*conn);
                sink.counters.connects += 1;
                let state = match stream {
                    Stream::Book => Conn::Book { seq: BookSequencer::new(), book: Book::new() },
                    Stream::Trades => Conn::Trades { seq: TradesSequencer::new(), replayed: false },
                    // Extended has no combined stream: nothing read on one is used.
                    Stream::Combined => Conn::Ended,
                };
                self.conns.insert(*conn, state);
                sink.event(ts, *conn, EventKind::Connect, None, None, Some(url.clone()));
                Verdict::Continue
            }
            Entry::Frame { conn, text } => {
                sink.counters.frames += 1;
                match self.conns.get(conn) {
                    Some(Conn::Book { .. }) => self.book_frame(sink, ts, *conn, text),
                    Some(Conn::Trades { .. }) => self.trades_frame(sink, ts, *conn, text),
                    Some(Conn::Ended) | None => Verdict::Continue,
                }
            }
            Entry::Disconnect { conn, cause, detail } => {
                if let Some(Conn::Book { .. } | Conn::Trades { .. }) = self.conns.get(conn) {
                    let kind = match cause {
                        Cause::Stale => {
                            sink.counters.gaps += 1;
                            EventKind::Stale
                        }
                        Cause::Closed | Cause::Shutdown => EventKind::Disconnect,
                    };
                    sink.event(ts, *conn, kind, None, None, Some(detail.clone()));
                }
                self.conns.remove(conn);
                Verdict::Continue
            }
            Entry::Restart => {
                for conn in self.open_conns() {
                    sink.event(
                        ts,
                        conn,
                        EventKind::Disconnect,
                        None,
                        None,
                        Some("recorder restarted".into()),
                    );
                }
                self.conns.clear();
                Verdict::Continue
            }
        }
    }

    fn book_frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let Some(Conn::Book { seq, book }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        let update = match v1::parse_book_reusing(text, self.spare.take()) {
            Ok(Message::Data(update)) => update,
            Ok(Message::VenueError(error)) => {
                let detail = format!("venue error {}: {}", error.code, error.message);
                return self.end(sink, ts, conn, EventKind::VenueError, None, None, detail);
            }
            Err(error) => {
                let brk = seq.protocol_error(None, error);
                let expected = Some(brk.expected as i64);
                return self.end(
                    sink,
                    ts,
                    conn,
                    EventKind::Malformed,
                    None,
                    expected,
                    brk.to_string(),
                );
            }
        };
        let frame = &update.frame;
        if let Err(brk) = seq.check_frame(frame) {
            let received = brk.received.map(|s| s as i64);
            let expected = Some(brk.expected as i64);
            return self.end(
                sink,
                ts,
                conn,
                EventKind::SeqGap,
                received,
                expected,
                brk.to_string(),
            );
        }
        if let Err(error) = book.apply(frame) {
            let detail = format!("seq {}: {error}", frame.seq);
            return self.end(
                sink,
                ts,
                conn,
                EventKind::Malformed,
                Some(frame.seq as i64),
                None,
                detail,
            );
        }
        let snapshot = frame.kind == FrameKind::Snapshot;
        let (seq_no, ts_event) = (frame.seq as i64, frame.ts_event);
        for (side, levels) in [(BookSide::Bid, &frame.bids), (BookSide::Ask, &frame.asks)] {
            sink.out.depth.extend(levels.iter().map(|l| DepthRow {
                ts_event,
                ts_recv: ts,
                conn,
                seq: seq_no,
                snapshot,
                side,
                price: l.price,
                qty: l.qty,
            }));
        }
        sink.book_top(book, ts_event, ts, conn, seq_no, snapshot);
        if snapshot && frame.seq == 1 {
            if self.had_book {
                let detail = "book rebuilt from the first SNAPSHOT of a new connection".to_owned();
                sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
            }
            self.had_book = true;
        }
        self.spare = Some(update);
        Verdict::Continue
    }

    fn trades_frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let frame = match v1::parse_trades(text) {
            Ok(Message::Data(frame)) => frame,
            Ok(Message::VenueError(error)) => {
                let detail = format!("venue error {}: {}", error.code, error.message);
                return self.end(sink, ts, conn, EventKind::VenueError, None, None, detail);
            }
            Err(error) => {
                let detail = format!("unreadable trades frame: {error}");
                return self.end(sink, ts, conn, EventKind::Malformed, None, None, detail);
            }
        };
        let Some(Conn::Trades { seq, replayed }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        let jump = seq.observe(frame.seq);
        let first = !std::mem::replace(replayed, true);
        if let Some(gap) = jump {
            sink.counters.gaps += 1;
            let detail = "trades seq jumped; trades may be missing".to_owned();
            let (got, want) = (Some(gap.received as i64), Some(gap.expected as i64));
            sink.event(ts, conn, EventKind::TradeGap, got, want, Some(detail));
        }
        if first {
            let ids: Vec<i64> = frame.trades.iter().map(|t| t.id).collect();
            let overlap = replay_overlap(self.trade_ids.set(), &ids);
            if overlap.possible_gap() {
                sink.counters.gaps += 1;
                let detail = format!(
                    "the replay of {} trades shares no id with the trades recorded: more may have been missed",
                    ids.len()
                );
                sink.event(
                    ts,
                    conn,
                    EventKind::TradeGap,
                    Some(frame.seq as i64),
                    None,
                    Some(detail),
                );
            }
        }
        for trade in &frame.trades {
            if !self.trade_ids.insert(trade.id) {
                continue;
            }
            sink.out.trades.push(TradeRow {
                ts_event: trade.ts_event,
                ts_recv: ts,
                conn,
                seq: frame.seq as i64,
                trade_id: trade.id,
                side: trade.side,
                price: trade.price,
                qty: trade.qty,
                kind: trade.kind,
            });
        }
        Verdict::Continue
    }

    /// Ends `conn` with one terminal event and asks for its socket to be closed.
    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: String,
    ) -> Verdict {
        sink.counters.gaps += 1;
        self.conns.insert(conn, Conn::Ended);
        sink.event(ts, conn, kind, seq, expected_seq, Some(detail.clone()));
        Verdict::Close { conn, reason: detail }
    }

    /// What must survive a restart, for the state file.
    pub(super) fn save(&self) -> Saved {
        let conns = self
            .conns
            .iter()
            .map(|(&conn, state)| match state {
                Conn::Book { seq, book } => SavedConn {
                    conn,
                    stream: Some(Stream::Book),
                    last_seq: seq.last(),
                    bids: levels(book, BookSide::Bid),
                    asks: levels(book, BookSide::Ask),
                    replayed: false,
                    sync: None,
                },
                Conn::Trades { seq, replayed } => SavedConn {
                    conn,
                    stream: Some(Stream::Trades),
                    last_seq: seq.last(),
                    bids: Vec::new(),
                    asks: Vec::new(),
                    replayed: *replayed,
                    sync: None,
                },
                Conn::Ended => SavedConn {
                    conn,
                    stream: None,
                    last_seq: None,
                    bids: Vec::new(),
                    asks: Vec::new(),
                    replayed: false,
                    sync: None,
                },
            })
            .collect();
        Saved {
            conns,
            trade_ids: self.trade_ids.ids().copied().collect(),
            max_conn: self.max_conn,
            had_book: self.had_book,
        }
    }

    /// A recorder in the state [`Recorder::save`] returned.
    pub(super) fn restore(saved: &Saved) -> Self {
        let mut recorder =
            Self { max_conn: saved.max_conn, had_book: saved.had_book, ..Self::default() };
        for id in &saved.trade_ids {
            recorder.trade_ids.insert(*id);
        }
        for c in &saved.conns {
            let state = match c.stream {
                Some(Stream::Book) => {
                    let mut book = Book::new();
                    for (side, list) in [(BookSide::Bid, &c.bids), (BookSide::Ask, &c.asks)] {
                        for [price, qty] in list {
                            book.set(side, Price::from_raw(*price), Qty::from_raw(*qty));
                        }
                    }
                    let seq = c.last_seq.map_or_else(BookSequencer::new, BookSequencer::resume);
                    Conn::Book { seq, book }
                }
                Some(Stream::Trades) => {
                    Conn::Trades { seq: TradesSequencer::resume(c.last_seq), replayed: c.replayed }
                }
                Some(Stream::Combined) | None => Conn::Ended,
            };
            recorder.conns.insert(c.conn, state);
        }
        recorder
    }
}
