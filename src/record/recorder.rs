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

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::book::Book;
use crate::model::{BookSide, EventKind, FrameKind, Price, Qty, RecvTime};
use crate::storage::{BookTopRow, Cause, DepthRow, Entry, EventRow, Record, Stream, TradeRow};
use crate::venue::extended::seq::{replay_overlap, BookSequencer, TradesSequencer};
use crate::venue::extended::v1::{self, Message};

/// Trade ids remembered for deduplication: far more than the 50 a reconnect replays.
const REMEMBERED_TRADES: usize = 10_000;

/// What the connection task must do after a record was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    /// Close connection `conn`: its stream can no longer be trusted (`reason` for logs).
    Close {
        conn: u32,
        reason: String,
    },
}

/// Rows produced and not yet handed to the writers.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub depth: Vec<DepthRow>,
    pub book_top: Vec<BookTopRow>,
    pub trades: Vec<TradeRow>,
    pub events: Vec<EventRow>,
}

impl Output {
    pub fn rows(&self) -> usize {
        self.depth.len() + self.book_top.len() + self.trades.len() + self.events.len()
    }
}

/// Running counts for a status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    pub connects: u64,
    /// Breaks, stale streams and possible trade gaps.
    pub gaps: u64,
    pub last_book_seq: u64,
    /// `ts_recv − ts_event` of the last book frame, ns.
    pub lag_ns: i64,
}

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

/// The recorder of one venue and market.
#[derive(Debug, Clone)]
pub struct Recorder {
    levels: usize,
    conns: BTreeMap<u32, Conn>,
    trade_ids: RecentIds,
    max_conn: u32,
    /// A book connection has held a book before: the next first SNAPSHOT is a rebuild.
    had_book: bool,
    counters: Counters,
    pub out: Output,
}

impl Recorder {
    /// A recorder that writes `levels` levels per side to `book_top`.
    pub fn new(levels: usize) -> Self {
        Self {
            levels,
            conns: BTreeMap::new(),
            trade_ids: RecentIds::default(),
            max_conn: 0,
            had_book: false,
            counters: Counters::default(),
            out: Output::default(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The highest connection number seen.
    pub fn max_conn(&self) -> u32 {
        self.max_conn
    }

    /// Connections open and not ended, with their streams.
    pub fn open_conns(&self) -> Vec<u32> {
        self.conns.iter().filter(|(_, c)| !matches!(c, Conn::Ended)).map(|(n, _)| *n).collect()
    }

    /// Applies one journal record.
    pub fn apply(&mut self, record: &Record) -> Verdict {
        let ts = record.ts_recv;
        match &record.entry {
            Entry::Connect { conn, stream, url } => {
                self.max_conn = self.max_conn.max(*conn);
                self.counters.connects += 1;
                let state = match stream {
                    Stream::Book => Conn::Book { seq: BookSequencer::new(), book: Book::new() },
                    Stream::Trades => Conn::Trades { seq: TradesSequencer::new(), replayed: false },
                };
                self.conns.insert(*conn, state);
                self.event(ts, *conn, EventKind::Connect, None, None, Some(url.clone()));
                Verdict::Continue
            }
            Entry::Frame { conn, text } => {
                self.counters.frames += 1;
                match self.conns.get(conn) {
                    Some(Conn::Book { .. }) => self.book_frame(ts, *conn, text),
                    Some(Conn::Trades { .. }) => self.trades_frame(ts, *conn, text),
                    Some(Conn::Ended) | None => Verdict::Continue,
                }
            }
            Entry::Disconnect { conn, cause, detail } => {
                if let Some(Conn::Book { .. } | Conn::Trades { .. }) = self.conns.get(conn) {
                    let kind = match cause {
                        Cause::Stale => {
                            self.counters.gaps += 1;
                            EventKind::Stale
                        }
                        Cause::Closed | Cause::Shutdown => EventKind::Disconnect,
                    };
                    self.event(ts, *conn, kind, None, None, Some(detail.clone()));
                }
                self.conns.remove(conn);
                Verdict::Continue
            }
            Entry::Restart => {
                for conn in self.open_conns() {
                    self.event(
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

    fn book_frame(&mut self, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let Some(Conn::Book { seq, book }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        let update = match v1::parse_book(text) {
            Ok(Message::Data(update)) => update,
            Ok(Message::VenueError(error)) => {
                let detail = format!("venue error {}: {}", error.code, error.message);
                return self.end(ts, conn, EventKind::VenueError, None, None, detail);
            }
            Err(error) => {
                let brk = seq.protocol_error(None, error);
                let expected = Some(brk.expected as i64);
                return self.end(ts, conn, EventKind::Malformed, None, expected, brk.to_string());
            }
        };
        let frame = &update.frame;
        if let Err(brk) = seq.check_frame(frame) {
            let received = brk.received.map(|s| s as i64);
            let expected = Some(brk.expected as i64);
            return self.end(ts, conn, EventKind::SeqGap, received, expected, brk.to_string());
        }
        if let Err(error) = book.apply(frame) {
            let detail = format!("seq {}: {error}", frame.seq);
            return self.end(ts, conn, EventKind::Malformed, Some(frame.seq as i64), None, detail);
        }
        let snapshot = frame.kind == FrameKind::Snapshot;
        let (seq_no, ts_event) = (frame.seq as i64, frame.ts_event);
        for (side, levels) in [(BookSide::Bid, &frame.bids), (BookSide::Ask, &frame.asks)] {
            self.out.depth.extend(levels.iter().map(|l| DepthRow {
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
        self.out.book_top.push(BookTopRow {
            ts_event,
            ts_recv: ts,
            conn,
            seq: seq_no,
            snapshot,
            bids: book.top(BookSide::Bid, self.levels),
            asks: book.top(BookSide::Ask, self.levels),
        });
        self.counters.last_book_seq = frame.seq;
        self.counters.lag_ns = ts.as_nanos() - ts_event.as_nanos();
        if snapshot && frame.seq == 1 {
            if self.had_book {
                let detail = "book rebuilt from the first SNAPSHOT of a new connection".to_owned();
                self.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
            }
            self.had_book = true;
        }
        Verdict::Continue
    }

    fn trades_frame(&mut self, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let frame = match v1::parse_trades(text) {
            Ok(Message::Data(frame)) => frame,
            Ok(Message::VenueError(error)) => {
                let detail = format!("venue error {}: {}", error.code, error.message);
                return self.end(ts, conn, EventKind::VenueError, None, None, detail);
            }
            Err(error) => {
                let detail = format!("unreadable trades frame: {error}");
                return self.end(ts, conn, EventKind::Malformed, None, None, detail);
            }
        };
        let Some(Conn::Trades { seq, replayed }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        let jump = seq.observe(frame.seq);
        let first = !std::mem::replace(replayed, true);
        if let Some(gap) = jump {
            self.counters.gaps += 1;
            let detail = "trades seq jumped; trades may be missing".to_owned();
            let (got, want) = (Some(gap.received as i64), Some(gap.expected as i64));
            self.event(ts, conn, EventKind::TradeGap, got, want, Some(detail));
        }
        if first {
            let ids: Vec<i64> = frame.trades.iter().map(|t| t.id).collect();
            let overlap = replay_overlap(self.trade_ids.set(), &ids);
            if overlap.possible_gap() {
                self.counters.gaps += 1;
                let detail = format!(
                    "the replay of {} trades shares no id with the trades recorded: more may have been missed",
                    ids.len()
                );
                self.event(
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
            self.out.trades.push(TradeRow {
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
    fn end(
        &mut self,
        ts: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: String,
    ) -> Verdict {
        self.counters.gaps += 1;
        self.conns.insert(conn, Conn::Ended);
        self.event(ts, conn, kind, seq, expected_seq, Some(detail.clone()));
        Verdict::Close { conn, reason: detail }
    }

    fn event(
        &mut self,
        ts_recv: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: Option<String>,
    ) {
        self.out.events.push(EventRow { ts_recv, conn, kind, seq, expected_seq, detail });
    }

    /// What must survive a restart, for the state file.
    pub fn save(&self) -> Saved {
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
                },
                Conn::Trades { seq, replayed } => SavedConn {
                    conn,
                    stream: Some(Stream::Trades),
                    last_seq: seq.last(),
                    bids: Vec::new(),
                    asks: Vec::new(),
                    replayed: *replayed,
                },
                Conn::Ended => SavedConn {
                    conn,
                    stream: None,
                    last_seq: None,
                    bids: Vec::new(),
                    asks: Vec::new(),
                    replayed: false,
                },
            })
            .collect();
        Saved {
            conns,
            trade_ids: self.trade_ids.order.iter().copied().collect(),
            max_conn: self.max_conn,
            had_book: self.had_book,
        }
    }

    /// A recorder in the state [`Recorder::save`] returned.
    pub fn restore(levels_per_side: usize, saved: &Saved) -> Self {
        let mut recorder = Self::new(levels_per_side);
        recorder.max_conn = saved.max_conn;
        recorder.had_book = saved.had_book;
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
                None => Conn::Ended,
            };
            recorder.conns.insert(c.conn, state);
        }
        recorder
    }
}

fn levels(book: &Book, side: BookSide) -> Vec<[i64; 2]> {
    book.levels(side).map(|l| [l.price.raw(), l.qty.raw()]).collect()
}

/// The recorder's state in the state file: open connections with their books (raw 1e-8
/// units) and the trade ids remembered for deduplication, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    pub conns: Vec<SavedConn>,
    pub trade_ids: Vec<i64>,
    pub max_conn: u32,
    pub had_book: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedConn {
    pub conn: u32,
    /// `None`: the connection was ended by a break.
    pub stream: Option<Stream>,
    pub last_seq: Option<u64>,
    pub bids: Vec<[i64; 2]>,
    pub asks: Vec<[i64; 2]>,
    pub replayed: bool,
}

/// The last [`REMEMBERED_TRADES`] trade ids, in arrival order, with a set for lookups.
#[derive(Debug, Clone, Default)]
struct RecentIds {
    order: VecDeque<i64>,
    set: HashSet<i64>,
}

impl RecentIds {
    /// Remembers `id`; false if it was already known.
    fn insert(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED_TRADES {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn set(&self) -> &HashSet<i64> {
        &self.set
    }
}
