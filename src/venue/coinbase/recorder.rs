//! The recorder's rules for one Coinbase Advanced Trade product: journal records in, table
//! rows out (docs/VENUES.md §16).
//!
//! Deterministic: the same records in the same order give the same rows, live, after a crash
//! or from `import`. Must not do I/O or read clocks: times come from the records.
//!
//! - **Refused = never received** (docs/VENUES.md §10): a message that cannot be read, fails
//!   [`super::check`] or carries a channel this connection did not subscribe writes one
//!   `refused` row and changes nothing — its `sequence_num` included, as on Bybit and OKX.
//!   So the next message shows the hole and the connection is rebuilt: a refused book update
//!   costs a resubscribe, exactly as a lost one would; if the venue re-sends the message
//!   properly, nothing was lost.
//! - **Sequence** (docs/VENUES.md §16.2): `sequence_num` is one more on every message of a
//!   connection, whatever its channel. The first accepted message starts the count; a
//!   message repeating the number just accepted brings nothing new and writes nothing; any
//!   other number — ahead (a message of *some* channel was lost, a heartbeat as much as a
//!   book update) or behind — is a break: one `seq_gap` row (received, expected), the
//!   connection's book dropped, [`Verdict::Close`]; the next connection subscribes again and
//!   rebuilds from its snapshot (`resnapshot`).
//! - **Book** (docs/VENUES.md §16.3): a `snapshot` event replaces the book, an `update`
//!   sets each level to its absolute `new_quantity` (0 removes; removing an absent level
//!   changes nothing and writes no row). An update before any snapshot on the connection,
//!   or a book left crossed by a message (there is no checksum: a crossed book is proof it
//!   is wrong), is a break like a hole. Rows take the message's `timestamp`; `seq` numbers a
//!   connection's book messages from 1.
//! - **Trades** (docs/VENUES.md §16.4): the taker's side (the wire's `side` is the maker's),
//!   deduplicated by `trade_id` across connections and restarts; the replay that opens each
//!   subscription (a `snapshot` event of recent trades) overlapping no recorded trade, after
//!   trades were recorded, writes one `trade_gap`. A message's trades are written in id
//!   order.
//! - An error message ends the connection with a `venue_error` row; heartbeats and
//!   subscription acknowledgements only count in the sequence.

use crate::book::Book;
use crate::model::{BookSide, EventKind, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::bybit::book::{apply as apply_levels, is_crossed};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{self, levels, RecentIds, Saved, SavedConn, Sink, Verdict};
use crate::venue::ParseError;

use super::check;
use super::link::channel;
use super::wire::{self, Body, Envelope, L2Event, Message, TradesEvent, WireTrade};

/// A live connection: its book, where its sequence stands and what it has delivered.
#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    book: Book,
    /// The `sequence_num` of the last message accepted.
    last_seq: Option<i64>,
    /// Book messages applied (the `seq` of their rows).
    book_frames: u64,
    /// Trades messages received (the `seq` of their rows).
    trade_frames: u64,
    replayed: bool,
}

impl Open {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            book: Book::new(),
            last_seq: None,
            book_frames: 0,
            trade_frames: 0,
            replayed: false,
        }
    }
}

/// A connection's own fields in the state file (its book is in [`SavedConn`]'s levels).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    last_seq: Option<i64>,
    book_frames: u64,
    trade_frames: u64,
}

/// The Advanced Trade rules' own state; rows and counters go to the recorder's [`Sink`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// The product id as the messages spell it (`BTC-USD`).
    product: String,
    conns: Conns<Open>,
    trade_ids: RecentIds,
    had_book: bool,
}

/// A connection's channels, for its `connect` row.
fn channels(stream: Stream) -> &'static str {
    match stream {
        Stream::Book => "level2+heartbeats",
        Stream::Trades => "market_trades+heartbeats",
        Stream::Combined => "level2+market_trades+heartbeats",
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
        match self.conns.route(record, sink, Open::new, channels) {
            Some((conn, text)) => self.frame(sink, record.ts_recv, conn, text),
            None => Verdict::Continue,
        }
    }
}

impl Rules {
    /// The rules of `product` (as Coinbase spells it), in the state [`rules::Rules::save`]
    /// returned.
    pub fn restore(product: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            product: product.to_owned(),
            conns: Conns::after(saved.max_conn),
            trade_ids: RecentIds::restore(&saved.trade_ids),
            had_book: saved.had_book,
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => Some(Open {
                    stream,
                    book: c.book(),
                    last_seq: own.last_seq,
                    book_frames: own.book_frames,
                    trade_frames: own.trade_frames,
                    replayed: c.replayed,
                }),
                (Some(_), _) => {
                    // A state file that lost the connection's own fields (hand-edited): the
                    // journal tail of that connection is not used, which is said.
                    tracing::warn!(conn = c.conn, "state file: unreadable coinbase connection");
                    None
                }
                (None, _) => None,
            };
            rules.conns.restore(c.conn, state);
        }
        rules
    }

    fn frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let envelope = match wire::parse(text) {
            Ok(Message::Data(envelope)) => envelope,
            Ok(Message::Error { message }) => {
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
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        let Some(stream) = self.conns.open_mut(conn).map(|o| o.stream) else {
            return Verdict::Continue;
        };
        let want = Expect { market: &self.product, ts_recv: ts };
        let checked = subscribed(stream, &envelope).and_then(|()| check::message(&envelope, &want));
        if let Err(error) = checked {
            sink.refuse(ts, conn, &error, text);
            return Verdict::Continue;
        }
        if let Some(verdict) = self.sequence(sink, ts, conn, &envelope) {
            return verdict;
        }
        match &envelope.body {
            Body::L2(events) => self.book(sink, ts, conn, &envelope, events),
            Body::Trades(events) => {
                self.trades(sink, ts, conn, events);
                Verdict::Continue
            }
            Body::Heartbeat | Body::Subscriptions | Body::Other { .. } => Verdict::Continue,
        }
    }

    /// Judges `sequence_num`: `None` to go on with the message; `Some` when it is a repeat
    /// (nothing to do) or a break.
    fn sequence(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        envelope: &Envelope,
    ) -> Option<Verdict> {
        let open = self.conns.open_mut(conn)?;
        let seq = envelope.sequence_num;
        match open.last_seq {
            Some(last) if seq == last => Some(Verdict::Continue),
            Some(last) if seq != last + 1 => {
                let detail = format!(
                    "{} message has sequence_num {seq} but the previous one had {last}: {}; book dropped, subscribing again",
                    envelope.channel,
                    if seq > last { "messages were lost" } else { "the sequence went back" }
                );
                Some(self.conns.break_off(
                    sink,
                    ts,
                    conn,
                    EventKind::SeqGap,
                    Some(seq),
                    Some(last + 1),
                    detail,
                ))
            }
            _ => {
                open.last_seq = Some(seq);
                None
            }
        }
    }

    fn book(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        envelope: &Envelope,
        events: &[L2Event],
    ) -> Verdict {
        let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
        if events.is_empty() {
            return Verdict::Continue;
        }
        let next = open.book_frames + 1;
        let mut changes = Vec::new();
        let mut snapshot = false;
        let mut replaced = false;
        for event in events {
            if !event.snapshot && open.book_frames == 0 && !snapshot {
                let detail = format!(
                    "a level2 update before any snapshot on this connection (sequence_num {})",
                    envelope.sequence_num
                );
                let seq = Some(envelope.sequence_num);
                return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, seq, None, detail);
            }
            if event.snapshot {
                replaced |= open.book_frames > 0;
                snapshot = true;
                changes.clear();
            }
            changes.extend(apply_levels(
                &mut open.book,
                event.snapshot,
                &event.bids,
                &event.asks,
                usize::MAX,
            ));
        }
        if is_crossed(&open.book) {
            let (bid, ask) = (open.book.best_bid(), open.book.best_ask());
            let (bid, ask) = (bid.map(|l| l.price.to_string()), ask.map(|l| l.price.to_string()));
            let detail = format!(
                "book crossed after book message {next} (sequence_num {}): best bid {} at or above best ask {}; book dropped, subscribing again",
                envelope.sequence_num,
                bid.unwrap_or_default(),
                ask.unwrap_or_default()
            );
            let seq = Some(envelope.sequence_num);
            return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, seq, None, detail);
        }
        open.book_frames = next;
        let seq = next as i64;
        for (side, level) in &changes {
            sink.out.depth.push(DepthRow {
                ts_event: envelope.ts_event,
                ts_recv: ts,
                conn,
                seq,
                snapshot,
                side: *side,
                price: level.price,
                qty: level.qty,
            });
        }
        sink.book_top(&open.book, envelope.ts_event, ts, conn, seq, snapshot);
        if replaced {
            let detail = "the venue sent a new level2 snapshot mid-stream".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(seq), None, Some(detail));
        } else if seq == 1 && self.had_book {
            let detail = "book rebuilt from the snapshot of a new subscription".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(1), None, Some(detail));
        }
        self.had_book = true;
        Verdict::Continue
    }

    fn trades(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, events: &[TradesEvent]) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        let mut trades: Vec<&WireTrade> = events.iter().flat_map(|e| &e.trades).collect();
        if trades.is_empty() {
            return;
        }
        trades.sort_by_key(|t| t.id);
        open.trade_frames += 1;
        let first = !std::mem::replace(&mut open.replayed, true);
        let seq = open.trade_frames as i64;
        // The replay that opens a subscription reaches back some way: if none of it was
        // recorded already, trades between the last connection and this one may be missing.
        let recorded = self.trade_ids.ids().next().is_some();
        if first && recorded && !trades.iter().any(|t| self.trade_ids.set().contains(&t.id)) {
            if let Some(oldest) = trades.first() {
                sink.counters.gaps += 1;
                let detail = format!(
                    "the first market_trades message of this connection holds no trade already recorded: trades before {} (trade {}) may be missing",
                    oldest.ts_event.to_datetime().to_rfc3339(),
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
                        last_seq: open.last_seq,
                        book_frames: open.book_frames,
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

/// Whether `envelope`'s channel belongs on a connection of `stream`: book data only on the
/// book connection, trades only on the trades one (a combined connection takes both);
/// heartbeats and acknowledgements anywhere; any other channel was not subscribed here.
fn subscribed(stream: Stream, envelope: &Envelope) -> Result<(), ParseError> {
    let fits = matches!(
        (&envelope.body, stream),
        (Body::L2(_), Stream::Book | Stream::Combined)
            | (Body::Trades(_), Stream::Trades | Stream::Combined)
            | (Body::Heartbeat | Body::Subscriptions, _)
    );
    if fits {
        return Ok(());
    }
    Err(ParseError::Impossible {
        field: "channel".to_owned(),
        value: envelope.channel.clone(),
        rule: format!(
            "is not a channel subscribed on this connection ({}, heartbeats)",
            channel(stream)
        ),
    })
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
