//! The recorder's rules for one Extended market: journal records in, table rows out.
//!
//! Deterministic: the same records in the same order give the same rows, whether they come
//! live from a socket, from the journal after a crash, or from `import`.
//!
//! A frame that cannot be read, or whose values fail the venue's checks (`check`: market,
//! times, prices, sizes), is refused: one `refused` row, and nothing changes — not the book,
//! not the sequence, not the trade ids; the connection stays up and the sequence rule judges
//! the next frame (docs/VENUES.md "Bad venue data"). Each book connection has its own book
//! and sequencer (§1.3): a break — gap, duplicate, a first frame that is not a SNAPSHOT, a
//! venue error — writes one terminal `events` row, drops that connection's book, and asks
//! for the socket to be closed ([`Verdict::Close`]); nothing more from that connection is
//! used. Trades (§1.4) are deduplicated by id across connections and restarts; a trades `seq`
//! jump ends the connection (`seq_gap`) so the next one's replay of the last 50 trades fills
//! the hole, and a replay that shares no id with what was recorded writes a `trade_gap` row.
//!
//! Must not do I/O or read clocks: times come from the records.

use std::collections::BTreeMap;

use crate::book::Book;
use crate::model::{BookFrame, BookSide, EventKind, FrameKind, RecvTime};
use crate::storage::{DepthRow, Entry, Record, Stream, TradeRow};

use super::check;
use super::seq::{replay_overlap, BookSequencer, RpcSequencer, TradesSequencer};
use super::v1::{self, Message};
use super::v2::{self, Payload, RpcMessage};
use super::{BookUpdate, TradesFrame};
use crate::venue::check::Expect;
use crate::venue::rules::{self, levels, RecentIds, Saved, SavedConn, Sink, Verdict};

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
    /// A v2 JSON-RPC connection (docs/VENUES.md §2) carrying the market's book and trades.
    Rpc(Box<Rpc>),
    /// Ended by a break: its later frames and its disconnect are ignored.
    Ended,
}

/// A v2 connection's state: one sequence for every topic, the book, and how many book frames
/// were written (the `seq` of `depth` and `book_top` rows counts them from 1, as the
/// connection-global `seq` also numbers trades frames).
#[derive(Debug, Clone, Default)]
struct Rpc {
    seq: RpcSequencer,
    book: Book,
    book_frames: u64,
    /// The first trades frame (the venue's replay of recent trades) has arrived.
    replayed: bool,
}

/// A v2 connection's own fields in the state file.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedRpc {
    book_frames: u64,
    /// Acked topics, each with whether its first frame arrived.
    topics: Vec<(String, bool)>,
}

/// The Extended rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The market as the frames spell it (`ETH-USD`).
    market: String,
    conns: BTreeMap<u32, Conn>,
    trade_ids: RecentIds,
    max_conn: u32,
    /// A book connection has held a book before: the next first SNAPSHOT is a rebuild.
    had_book: bool,
    /// The last book frame's update, read into again by the next (its vectors are reused).
    spare: Option<BookUpdate>,
}

impl rules::Rules for Rules {
    fn max_conn(&self) -> u32 {
        self.max_conn
    }

    fn open_conns(&self) -> Vec<u32> {
        self.conns.iter().filter(|(_, c)| !matches!(c, Conn::Ended)).map(|(n, _)| *n).collect()
    }

    fn save(&self) -> Saved {
        self.saved()
    }

    fn apply(&mut self, record: &Record, sink: &mut Sink) -> Verdict {
        let ts = record.ts_recv;
        match &record.entry {
            Entry::Connect { conn, stream, url } => {
                self.max_conn = self.max_conn.max(*conn);
                let state = match stream {
                    Stream::Book => Conn::Book { seq: BookSequencer::new(), book: Book::new() },
                    Stream::Trades => Conn::Trades { seq: TradesSequencer::new(), replayed: false },
                    // One connection for every stream: the v2 JSON-RPC transport.
                    Stream::Combined => Conn::Rpc(Box::default()),
                };
                self.conns.insert(*conn, state);
                sink.connected(ts, *conn, url);
                Verdict::Continue
            }
            Entry::Frame { conn, text } => {
                sink.frame(ts, *conn);
                match self.conns.get(conn) {
                    Some(Conn::Book { .. }) => self.book_frame(sink, ts, *conn, text),
                    Some(Conn::Trades { .. }) => self.trades_frame(sink, ts, *conn, text),
                    Some(Conn::Rpc(_)) => self.rpc_frame(sink, ts, *conn, text),
                    Some(Conn::Ended) | None => Verdict::Continue,
                }
            }
            Entry::Disconnect { conn, cause, detail } => {
                if let Some(Conn::Book { .. } | Conn::Trades { .. } | Conn::Rpc(_)) =
                    self.conns.get(conn)
                {
                    sink.disconnected(ts, *conn, *cause, detail);
                }
                self.conns.remove(conn);
                Verdict::Continue
            }
            Entry::Restart => {
                for conn in rules::Rules::open_conns(self) {
                    sink.restarted(ts, conn);
                }
                self.conns.clear();
                Verdict::Continue
            }
        }
    }
}

impl Rules {
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
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        let want = Expect { market: &self.market, ts_recv: ts };
        if let Err(error) = check::book(&update, &want) {
            sink.refuse(ts, conn, &error, text);
            self.spare = Some(update);
            return Verdict::Continue;
        }
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
        if let Err(detail) = write_book(sink, book, frame, ts, conn, frame.seq as i64) {
            let seq = Some(frame.seq as i64);
            return self.end(sink, ts, conn, EventKind::Malformed, seq, None, detail);
        }
        if frame.kind == FrameKind::Snapshot && frame.seq == 1 {
            self.opened_book(sink, ts, conn);
        }
        self.spare = Some(update);
        Verdict::Continue
    }

    /// A connection's first SNAPSHOT was written: after an earlier book, that is a rebuild.
    fn opened_book(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32) {
        if self.had_book {
            let detail = "book rebuilt from the first SNAPSHOT of a new connection".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
        }
        self.had_book = true;
    }

    fn trades_frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let frame = match v1::parse_trades(text) {
            Ok(Message::Data(frame)) => frame,
            Ok(Message::VenueError(error)) => {
                let detail = format!("venue error {}: {}", error.code, error.message);
                return self.end(sink, ts, conn, EventKind::VenueError, None, None, detail);
            }
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        if let Err(error) = check::trades(&frame, &Expect { market: &self.market, ts_recv: ts }) {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        let Some(Conn::Trades { seq, replayed }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        // Frames are missing (or late): the venue does not resend them on this connection,
        // but the next one opens with a replay of its last 50 trades. This frame is not
        // written, so the replay either reaches back to the trades recorded (and fills the
        // hole) or shares no id with them (and its `trade_gap` row says so). A frame that
        // comes again (an older seq) only repeats trades, which the ids drop.
        if let Some(gap) = seq.observe(frame.seq).filter(|gap| gap.received > gap.expected) {
            let detail = format!(
                "trades seq jumped from {} to {}: reconnecting so the venue's replay of its last trades fills the hole",
                gap.expected.saturating_sub(1),
                gap.received
            );
            let (got, want) = (Some(gap.received as i64), Some(gap.expected as i64));
            return self.end(sink, ts, conn, EventKind::SeqGap, got, want, detail);
        }
        let first = !std::mem::replace(replayed, true);
        self.write_trades(sink, ts, conn, &frame, first);
        Verdict::Continue
    }

    /// Writes a trades frame's trades not recorded yet; the first frame of a connection is
    /// the venue's replay, and one that shares no id with what was recorded is a possible gap.
    fn write_trades(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        frame: &TradesFrame,
        first: bool,
    ) {
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
    }

    /// One frame of a v2 connection: a response, or a book or trades data frame. A break of
    /// the connection-global sequence, a frame that cannot be read or a venue error ends the
    /// connection, as on v1 (docs/VENUES.md §2).
    fn rpc_frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let Some(Conn::Rpc(rpc)) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        let message = match v2::parse(text) {
            Ok(message) => message,
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        if let RpcMessage::Data(data) = &message {
            let want = Expect { market: &self.market, ts_recv: ts };
            let checked = match &data.payload {
                Payload::Book(update) => check::book(update, &want),
                Payload::Trades(frame) => check::trades(frame, &want),
                Payload::Price(_) | Payload::Funding(_) | Payload::Candle { .. } => Ok(()),
            };
            if let Err(error) = checked {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        }
        if let RpcMessage::Failure { code, message, .. } = &message {
            let detail = format!("venue error {code}: {message}");
            return self.end(sink, ts, conn, EventKind::VenueError, None, None, detail);
        }
        if let Err(brk) = rpc.seq.observe(&message) {
            let received = brk.received.map(|s| s as i64);
            let expected = Some(brk.expected as i64);
            let detail = brk.to_string();
            return self.end(sink, ts, conn, EventKind::SeqGap, received, expected, detail);
        }
        let RpcMessage::Data(data) = message else {
            return Verdict::Continue;
        };
        match data.payload {
            Payload::Book(update) => {
                let frame = &update.frame;
                rpc.book_frames += 1;
                let seq_no = rpc.book_frames as i64;
                if let Err(detail) = write_book(sink, &mut rpc.book, frame, ts, conn, seq_no) {
                    let seq = Some(data.seq as i64);
                    return self.end(sink, ts, conn, EventKind::Malformed, seq, None, detail);
                }
                if seq_no == 1 {
                    self.opened_book(sink, ts, conn);
                }
            }
            Payload::Trades(frame) => {
                let first = !std::mem::replace(&mut rpc.replayed, true);
                self.write_trades(sink, ts, conn, &frame, first);
            }
            // Not subscribed to by collect; a journal that has them keeps them.
            Payload::Price(_) | Payload::Funding(_) | Payload::Candle { .. } => {}
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
        self.conns.insert(conn, Conn::Ended);
        sink.broken(ts, conn, kind, seq, expected_seq, detail)
    }

    /// What must survive a restart, for the state file.
    fn saved(&self) -> Saved {
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
                Conn::Rpc(rpc) => SavedConn {
                    conn,
                    stream: Some(Stream::Combined),
                    last_seq: rpc.seq.last(),
                    bids: levels(&rpc.book, BookSide::Bid),
                    asks: levels(&rpc.book, BookSide::Ask),
                    replayed: rpc.replayed,
                    sync: serde_json::to_value(SavedRpc {
                        book_frames: rpc.book_frames,
                        topics: rpc.seq.topics(),
                    })
                    .ok(),
                },
                Conn::Ended => SavedConn::ended(conn),
            })
            .collect();
        Saved {
            conns,
            trade_ids: self.trade_ids.ids().copied().collect(),
            max_conn: self.max_conn,
            had_book: self.had_book,
        }
    }

    /// The rules of `market` (as the frames spell it) in the state [`rules::Rules::save`]
    /// returned.
    pub fn restore(market: &str, saved: &Saved) -> Self {
        let mut recorder = Self {
            market: market.to_owned(),
            max_conn: saved.max_conn,
            had_book: saved.had_book,
            trade_ids: RecentIds::restore(&saved.trade_ids),
            ..Self::default()
        };
        for c in &saved.conns {
            let state = match c.stream {
                Some(Stream::Book) => {
                    let book = c.book();
                    let seq = c.last_seq.map_or_else(BookSequencer::new, BookSequencer::resume);
                    Conn::Book { seq, book }
                }
                Some(Stream::Trades) => {
                    Conn::Trades { seq: TradesSequencer::resume(c.last_seq), replayed: c.replayed }
                }
                Some(Stream::Combined) => {
                    let own = c.sync.clone().map(serde_json::from_value::<SavedRpc>);
                    match own {
                        Some(Ok(own)) => Conn::Rpc(Box::new(Rpc {
                            seq: RpcSequencer::resume(c.last_seq, &own.topics),
                            book: c.book(),
                            book_frames: own.book_frames,
                            replayed: c.replayed,
                        })),
                        // A state file that lost the connection's own fields (hand-edited):
                        // the journal tail of that connection is not used, which is said.
                        _ => {
                            tracing::warn!(conn = c.conn, "state file: unreadable v2 connection");
                            Conn::Ended
                        }
                    }
                }
                None => Conn::Ended,
            };
            recorder.conns.insert(c.conn, state);
        }
        recorder
    }
}

/// Applies a book frame and writes its `depth` rows and `book_top` row under `seq`; the
/// error says why the frame could not be applied.
fn write_book(
    sink: &mut Sink,
    book: &mut Book,
    frame: &BookFrame,
    ts: RecvTime,
    conn: u32,
    seq: i64,
) -> Result<(), String> {
    book.apply(frame).map_err(|error| format!("seq {}: {error}", frame.seq))?;
    let snapshot = frame.kind == FrameKind::Snapshot;
    let ts_event = frame.ts_event;
    for (side, levels) in [(BookSide::Bid, &frame.bids), (BookSide::Ask, &frame.asks)] {
        sink.out.depth.extend(levels.iter().map(|l| DepthRow {
            ts_event,
            ts_recv: ts,
            conn,
            seq,
            snapshot,
            side,
            price: l.price,
            qty: l.qty,
        }));
    }
    sink.book_top(book, ts_event, ts, conn, seq, snapshot);
    Ok(())
}
