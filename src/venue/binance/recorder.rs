//! The recorder's rules for one Binance market (spot, USD-M or COIN-M; docs/VENUES.md §3): one
//! combined-stream connection carries the market's diff depth, trades and bookTicker, and
//! the REST depth snapshots are journaled on it as frames (as the hftbacktest collector
//! writes them, `../realdata/hftbacktest-binance/README.md`).
//!
//! * Depth: diffs are spliced onto a REST snapshot by `venue::binance::seq` (diffs received
//!   before the snapshot are buffered and replayed). The splice is written as one
//!   *snapshot* frame — the REST book with the bridging diffs applied, stamped with the last
//!   applied diff's event time — and every later diff as a *delta* frame. `seq` in `depth`
//!   and `book_top` counts the book frames of the connection from 1 (the splice): Binance's
//!   update ids are not consecutive, so they cannot be the `seq` `verify` checks; the
//!   journal keeps them. A break of the update-id chain ends the connection with a
//!   `seq_gap` row naming the update ids (received, expected), like a break on Extended.
//!   Diffs that no snapshot ever bridged are not in `depth`: an `unsynced` row says so.
//! * Trades: `seq` is the trade id; ids are consecutive per symbol, so a jump writes a
//!   `trade_gap` row (received id, expected id) and the trade is kept; repeated ids are
//!   dropped (deduplicated across connections and restarts).
//! * bookTicker frames write no rows (schemas/binance.md): `book_top` is the top of the book
//!   replayed from `depth`, and the journal keeps the frames.
//!
//! Must not do I/O or read clocks: times come from the records.

use std::collections::{BTreeMap, VecDeque};

use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, Level, Price, Qty, RecvTime};
use crate::storage::{DepthRow, Entry, Record, Stream, TradeRow};
use crate::venue::binance::check;
use crate::venue::binance::{
    self, DepthSync, DepthUpdate, DiffStep, Kind, Message, Snapshot, SnapshotStep, Splice, Sync,
};
use crate::venue::check::Expect;
use crate::venue::rules::{self, levels, RecentIds, Saved, SavedConn, Sink, Verdict};

#[derive(Debug, Clone)]
enum Conn {
    Open {
        sync: DepthSync,
        book: Book,
        /// Book frames written on this connection (the `seq` of the last one).
        frames: u64,
    },
    /// Ended by a break: its later frames and its disconnect are ignored.
    Ended,
}

/// The Binance rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone)]
pub struct Rules {
    kind: Kind,
    /// The symbol as the frames spell it (`BTCUSDT`).
    market: String,
    conns: BTreeMap<u32, Conn>,
    trade_ids: RecentIds,
    last_trade_id: Option<i64>,
    max_conn: u32,
    had_book: bool,
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
            Entry::Connect { conn, url, .. } => {
                self.max_conn = self.max_conn.max(*conn);
                let state = Conn::Open {
                    sync: DepthSync::new(self.kind.chain()),
                    book: Book::new(),
                    frames: 0,
                };
                self.conns.insert(*conn, state);
                sink.connected(ts, *conn, url);
                Verdict::Continue
            }
            Entry::Frame { conn, text } => {
                sink.frame(ts, *conn);
                match self.conns.get(conn) {
                    Some(Conn::Open { .. }) => self.frame(sink, ts, *conn, text),
                    Some(Conn::Ended) | None => Verdict::Continue,
                }
            }
            Entry::Disconnect { conn, cause, detail } => {
                if let Some(Conn::Open { sync, .. }) = self.conns.get(conn) {
                    unsynced_at_end(sink, ts, *conn, sync);
                    sink.disconnected(ts, *conn, *cause, detail);
                }
                self.conns.remove(conn);
                Verdict::Continue
            }
            Entry::Restart => {
                for conn in rules::Rules::open_conns(self) {
                    if let Some(Conn::Open { sync, .. }) = self.conns.get(&conn) {
                        unsynced_at_end(sink, ts, conn, sync);
                    }
                    sink.restarted(ts, conn);
                }
                self.conns.clear();
                Verdict::Continue
            }
        }
    }
}

impl Rules {
    fn frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let message = match binance::parse(text) {
            Ok(message) => message,
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        let want = Expect { market: &self.market, ts_recv: ts };
        let checked = match &message {
            Message::Depth(diff) => check::depth(diff, &want),
            Message::Snapshot(snap) => check::snapshot(snap, &want),
            Message::Trade(trade) => check::trade(trade, &want),
            Message::BookTicker(_) | Message::Reply | Message::VenueError { .. } => Ok(()),
        };
        if let Err(error) = checked {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        match message {
            Message::Depth(diff) => self.diff(sink, ts, conn, diff),
            Message::Snapshot(snapshot) => self.snapshot(sink, ts, conn, snapshot),
            Message::Trade(trade) => {
                self.trade(sink, ts, conn, trade);
                Verdict::Continue
            }
            Message::BookTicker(_) | Message::Reply => Verdict::Continue,
            Message::VenueError { code, message } => {
                let detail = format!("venue error {code}: {message}");
                self.end(sink, ts, conn, EventKind::VenueError, None, detail)
            }
        }
    }

    fn diff(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, diff: DepthUpdate) -> Verdict {
        let Some(Conn::Open { sync, .. }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        match sync.on_diff(diff) {
            Ok(DiffStep::Buffered | DiffStep::Stale) => Verdict::Continue,
            Ok(DiffStep::Apply(diff)) => {
                self.write_delta(sink, ts, conn, &diff);
                Verdict::Continue
            }
            Ok(DiffStep::Spliced(splice)) => {
                self.write_splice(sink, ts, conn, splice);
                Verdict::Continue
            }
            Ok(DiffStep::SnapshotTooOld { last_update_id, first_id }) => {
                too_old(sink, ts, conn, last_update_id, first_id);
                Verdict::Continue
            }
            Err(brk) => {
                let ids = Some((brk.received, brk.expected));
                self.end(sink, ts, conn, EventKind::SeqGap, ids, brk.to_string())
            }
        }
    }

    fn snapshot(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, snap: Snapshot) -> Verdict {
        let Some(Conn::Open { sync, .. }) = self.conns.get_mut(&conn) else {
            return Verdict::Continue;
        };
        match sync.on_snapshot(snap) {
            Ok(SnapshotStep::Spliced(splice)) => {
                self.write_splice(sink, ts, conn, splice);
                Verdict::Continue
            }
            Ok(SnapshotStep::Waiting | SnapshotStep::Ignored) => Verdict::Continue,
            Ok(SnapshotStep::TooOld { last_update_id, first_id }) => {
                too_old(sink, ts, conn, last_update_id, first_id);
                Verdict::Continue
            }
            Err(brk) => {
                let ids = Some((brk.received, brk.expected));
                self.end(sink, ts, conn, EventKind::SeqGap, ids, brk.to_string())
            }
        }
    }

    /// The book first becomes known: the REST snapshot with the bridging diffs applied,
    /// written as one snapshot frame.
    fn write_splice(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, splice: Splice) {
        let Some(Conn::Open { book, frames, .. }) = self.conns.get_mut(&conn) else { return };
        book.clear();
        for (side, list) in
            [(BookSide::Bid, &splice.snapshot.bids), (BookSide::Ask, &splice.snapshot.asks)]
        {
            for level in list {
                book.set(side, level.price, level.qty);
            }
        }
        for diff in &splice.diffs {
            set_levels(book, diff);
        }
        // The book is as of the last diff applied; a splice always holds at least one.
        let ts_event = splice
            .diffs
            .last()
            .map(|d| d.ts_event)
            .or(splice.snapshot.ts_event)
            .unwrap_or(EventTime::from_nanos(ts.as_nanos()));
        *frames += 1;
        let seq = *frames as i64;
        for side in [BookSide::Bid, BookSide::Ask] {
            sink.out.depth.extend(book.levels(side).map(|l| DepthRow {
                ts_event,
                ts_recv: ts,
                conn,
                seq,
                snapshot: true,
                side,
                price: l.price,
                qty: l.qty,
            }));
        }
        sink.book_top(book, ts_event, ts, conn, seq, true);
        if std::mem::replace(&mut self.had_book, true) {
            let detail = format!(
                "book rebuilt from REST snapshot lastUpdateId {} after a break",
                splice.snapshot.last_update_id
            );
            sink.event(ts, conn, EventKind::Resnapshot, Some(seq), None, Some(detail));
        }
    }

    fn write_delta(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, diff: &DepthUpdate) {
        let Some(Conn::Open { book, frames, .. }) = self.conns.get_mut(&conn) else { return };
        set_levels(book, diff);
        *frames += 1;
        let seq = *frames as i64;
        for (side, list) in [(BookSide::Bid, &diff.bids), (BookSide::Ask, &diff.asks)] {
            sink.out.depth.extend(list.iter().map(|l| DepthRow {
                ts_event: diff.ts_event,
                ts_recv: ts,
                conn,
                seq,
                snapshot: false,
                side,
                price: l.price,
                qty: l.qty,
            }));
        }
        sink.book_top(book, diff.ts_event, ts, conn, seq, false);
    }

    fn trade(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, trade: crate::model::Trade) {
        if !self.trade_ids.insert(trade.id) {
            return;
        }
        if let Some(last) = self.last_trade_id.filter(|last| trade.id > last + 1) {
            sink.counters.gaps += 1;
            let detail = format!(
                "trade ids jumped from {last} to {}: {} trades missing",
                trade.id,
                trade.id - last - 1
            );
            sink.event(ts, conn, EventKind::TradeGap, Some(trade.id), Some(last + 1), Some(detail));
        }
        self.last_trade_id = Some(self.last_trade_id.map_or(trade.id, |l| l.max(trade.id)));
        sink.out.trades.push(TradeRow {
            ts_event: trade.ts_event,
            ts_recv: ts,
            conn,
            seq: trade.id,
            trade_id: trade.id,
            side: trade.side,
            price: trade.price,
            qty: trade.qty,
            kind: trade.kind,
        });
    }

    /// Ends `conn` with one terminal event and asks for its socket to be closed.
    fn end(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        kind: EventKind,
        ids: Option<(u64, u64)>,
        detail: String,
    ) -> Verdict {
        self.conns.insert(conn, Conn::Ended);
        let (seq, expected) = (ids.map(|i| i.0 as i64), ids.map(|i| i.1 as i64));
        sink.broken(ts, conn, kind, seq, expected, detail)
    }

    /// What must survive a restart, for the state file.
    fn saved(&self) -> Saved {
        let conns = self
            .conns
            .iter()
            .map(|(&conn, state)| match state {
                Conn::Open { sync, book, frames } => SavedConn {
                    conn,
                    stream: Some(Stream::Combined),
                    last_seq: Some(*frames),
                    bids: levels(book, BookSide::Bid),
                    asks: levels(book, BookSide::Ask),
                    replayed: false,
                    sync: serde_json::to_value(SavedSync::of(sync.state())).ok(),
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

    /// The rules of a `kind` market in the state [`rules::Rules::save`] returned.
    /// (`market` as the frames spell it).
    pub fn restore(kind: Kind, market: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            kind,
            market: market.to_owned(),
            conns: BTreeMap::new(),
            trade_ids: RecentIds::restore(&saved.trade_ids),
            last_trade_id: saved.trade_ids.iter().copied().max(),
            max_conn: saved.max_conn,
            had_book: saved.had_book,
        };
        for c in &saved.conns {
            // A splice that does not read back (a hand-edited state file) ends the
            // connection: the journal tail after it is then not spliced, which is said.
            let sync = c.sync.clone().and_then(|v| match serde_json::from_value::<SavedSync>(v) {
                Ok(sync) => Some(sync),
                Err(e) => {
                    tracing::warn!(conn = c.conn, "state file: unreadable Binance splice: {e}");
                    None
                }
            });
            let state = match (&c.stream, sync) {
                (Some(_), Some(sync)) => {
                    let book = c.book();
                    let sync = DepthSync::resume(kind.chain(), sync.to_sync());
                    Conn::Open { sync, book, frames: c.last_seq.unwrap_or(0) }
                }
                _ => Conn::Ended,
            };
            rules.conns.insert(c.conn, state);
        }
        rules
    }
}

fn set_levels(book: &mut Book, diff: &DepthUpdate) {
    for level in &diff.bids {
        book.set(BookSide::Bid, level.price, level.qty);
    }
    for level in &diff.asks {
        book.set(BookSide::Ask, level.price, level.qty);
    }
}

fn too_old(sink: &mut Sink, ts: RecvTime, conn: u32, last_update_id: u64, first_id: u64) {
    let detail = format!(
        "REST snapshot lastUpdateId {last_update_id} is older than the diffs kept (first U {first_id}): the updates between them were never seen; the book waits for another snapshot"
    );
    sink.event(ts, conn, EventKind::Unsynced, None, None, Some(detail));
}

/// When a connection ends with no book, says what its diffs were and why they are not in
/// `depth`.
fn unsynced_at_end(sink: &mut Sink, ts: RecvTime, conn: u32, sync: &DepthSync) {
    let detail = match sync.state() {
        Sync::Synced { .. } => return,
        Sync::Unsynced { buffer, dropped } => {
            let (Some(first), Some(last)) = (buffer.front(), buffer.back()) else { return };
            format!(
                "the connection ended with no book: {} depth diffs (update ids {}–{}) had no REST snapshot to splice onto and are not in depth",
                buffer.len() as u64 + dropped,
                first.first_id,
                last.last_id
            )
        }
        Sync::Waiting { snapshot } => format!(
            "the connection ended with no book: REST snapshot lastUpdateId {} was waiting for a diff to bridge it",
            snapshot.last_update_id
        ),
    };
    sink.event(ts, conn, EventKind::Unsynced, None, None, Some(detail));
}

/// A diff or snapshot in the state file (prices and sizes in raw 1e-8 units).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedBook {
    pub ts_event_ns: Option<i64>,
    pub first_id: u64,
    pub last_id: u64,
    pub prev_last_id: Option<u64>,
    pub symbol: String,
    pub bids: Vec<[i64; 2]>,
    pub asks: Vec<[i64; 2]>,
}

/// Where a Binance connection's splice stood at a checkpoint, so that replaying the journal
/// tail after a crash splices exactly as the uninterrupted run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedSync {
    /// Synced: the book is exact up to this update id.
    pub last_id: Option<u64>,
    /// Waiting for the diff that bridges this snapshot (`last_id` holds `lastUpdateId`).
    pub waiting: Option<SavedBook>,
    /// Unsynced: the diffs buffered, oldest first, and how many were dropped.
    pub buffer: Vec<SavedBook>,
    pub dropped: u64,
}

fn raw(list: &[Level]) -> Vec<[i64; 2]> {
    list.iter().map(|l| [l.price.raw(), l.qty.raw()]).collect()
}

fn typed(list: &[[i64; 2]]) -> Vec<Level> {
    list.iter().map(|[p, q]| Level::new(Price::from_raw(*p), Qty::from_raw(*q))).collect()
}

impl SavedSync {
    fn of(sync: &Sync) -> Self {
        match sync {
            Sync::Synced { last_id } => Self { last_id: Some(*last_id), ..Self::default() },
            Sync::Waiting { snapshot } => Self {
                waiting: Some(SavedBook {
                    ts_event_ns: snapshot.ts_event.map(EventTime::as_nanos),
                    first_id: snapshot.last_update_id,
                    last_id: snapshot.last_update_id,
                    prev_last_id: None,
                    symbol: snapshot.symbol.clone().unwrap_or_default(),
                    bids: raw(&snapshot.bids),
                    asks: raw(&snapshot.asks),
                }),
                ..Self::default()
            },
            Sync::Unsynced { buffer, dropped } => Self {
                buffer: buffer
                    .iter()
                    .map(|d| SavedBook {
                        ts_event_ns: Some(d.ts_event.as_nanos()),
                        first_id: d.first_id,
                        last_id: d.last_id,
                        prev_last_id: d.prev_last_id,
                        symbol: d.symbol.clone(),
                        bids: raw(&d.bids),
                        asks: raw(&d.asks),
                    })
                    .collect(),
                dropped: *dropped,
                ..Self::default()
            },
        }
    }

    fn to_sync(&self) -> Sync {
        if let Some(last_id) = self.last_id {
            return Sync::Synced { last_id };
        }
        if let Some(w) = &self.waiting {
            let snapshot = Snapshot {
                last_update_id: w.last_id,
                ts_event: w.ts_event_ns.map(EventTime::from_nanos),
                symbol: (!w.symbol.is_empty()).then(|| w.symbol.clone()),
                bids: typed(&w.bids),
                asks: typed(&w.asks),
            };
            return Sync::Waiting { snapshot };
        }
        let buffer: VecDeque<DepthUpdate> = self
            .buffer
            .iter()
            .map(|b| DepthUpdate {
                symbol: b.symbol.clone(),
                ts_event: EventTime::from_nanos(b.ts_event_ns.unwrap_or(0)),
                first_id: b.first_id,
                last_id: b.last_id,
                prev_last_id: b.prev_last_id,
                bids: typed(&b.bids),
                asks: typed(&b.asks),
            })
            .collect();
        Sync::Unsynced { buffer, dropped: self.dropped }
    }
}
