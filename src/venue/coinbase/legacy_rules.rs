//! The rules that turn one product's messages of a legacy Coinbase Exchange capture into
//! table rows (docs/VENUES.md §16.6), for `import --from-format coinbase-legacy`. The
//! capture's connection carries the `level2` and `matches` channels of every product; the
//! importer hands each product's rules that product's messages.
//!
//! Deterministic and pure, like every venue's rules: no I/O, no clocks.
//!
//! - **No continuity proof.** `l2update` carries no sequence number (only `match` and
//!   `ticker` have `sequence`, which counts every event of the product, not the book's), so a
//!   lost update cannot be seen. The `connect` row says so; the only check is that the book
//!   never crosses — a crossed book is proof it is wrong and a break (`seq_gap` without
//!   numbers), after which the product has no book until a new snapshot.
//! - **Book**: `snapshot` replaces the book and carries no time: its rows take the venue time
//!   of the connection's last book row, or for the first snapshot the connection's start (the
//!   capture's connect time) — a bound that never makes `ts_event` go back within the book
//!   stream (the receive time would: the venue's clock ran 13–18 ms ahead in the fixture, so
//!   the first update was stamped before the snapshot's arrival). `l2update` sets absolute sizes (zero, in any spelling,
//!   removes; removing an absent level is no change) and its rows take its `time`. Updates
//!   before the product's snapshot cannot be applied: one `unsynced` row says so and they are
//!   skipped. `seq` numbers the connection's book messages of the product from 1.
//! - **Trades**: `last_match` and `match`, with the taker's side (the wire's `side` is the
//!   maker's), deduplicated by `trade_id`; ids are contiguous per product, so an id past the
//!   last + 1 writes `trade_gap` ([`IdChain`]). `seq` counts the product's matches.
//! - **Refused = never received** (docs/VENUES.md §10); an `error` message is a
//!   `venue_error` that ends the connection.

use crate::book::Book;
use crate::model::{BookSide, EventKind, EventTime, Level, RecvTime, TradeKind};
use crate::storage::{DepthRow, Record, Stream, TradeRow};
use crate::venue::bybit::book::{apply as apply_levels, is_crossed};
use crate::venue::check::Expect;
use crate::venue::conns::Conns;
use crate::venue::rules::{self, levels, IdChain, RecentIds, Saved, SavedConn, Sink, Verdict};

use super::legacy::{self, Legacy, LegacyTrade};

/// What the `connect` row says after the capture's URL.
pub const CHANNELS: &str =
    "level2+matches; l2update has no sequence number: continuity cannot be proven";

#[derive(Debug, Clone)]
struct Open {
    stream: Stream,
    book: Book,
    /// A snapshot was applied on this connection.
    synced: bool,
    /// The `unsynced` row of this connection was written.
    said_unsynced: bool,
    book_frames: u64,
    trade_frames: u64,
    /// The `ts_event` a snapshot takes: the connection's start, then its last book row's.
    book_time: EventTime,
}

impl Open {
    fn new(stream: Stream, connected: RecvTime) -> Self {
        Self {
            stream,
            book: Book::new(),
            synced: false,
            said_unsynced: false,
            book_frames: 0,
            trade_frames: 0,
            book_time: EventTime::from_nanos(connected.as_nanos()),
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SavedOpen {
    synced: bool,
    said_unsynced: bool,
    book_frames: u64,
    trade_frames: u64,
    book_time: i64,
}

/// One product's rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    product: String,
    conns: Conns<Open>,
    trade_ids: RecentIds,
    chain: IdChain,
    had_book: bool,
}

impl rules::Rules for Rules {
    fn max_conn(&self) -> u32 {
        self.conns.max_conn()
    }

    fn open_conns(&self) -> Vec<u32> {
        self.conns.open_conns()
    }

    fn save(&self) -> Saved {
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
                    replayed: false,
                    sync: serde_json::to_value(SavedOpen {
                        synced: open.synced,
                        said_unsynced: open.said_unsynced,
                        book_frames: open.book_frames,
                        trade_frames: open.trade_frames,
                        book_time: open.book_time.as_nanos(),
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

    fn apply(&mut self, record: &Record, sink: &mut Sink) -> Verdict {
        let connected = record.ts_recv;
        match self.conns.route(record, sink, |s| Open::new(s, connected), |_| CHANNELS) {
            Some((conn, text)) => self.frame(sink, record.ts_recv, conn, text),
            None => Verdict::Continue,
        }
    }
}

impl Rules {
    /// The rules of `product` (`BTC-USD`) in the state [`rules::Rules::save`] returned; the
    /// trade id chain continues from the highest id remembered.
    pub fn restore(product: &str, saved: &Saved) -> Self {
        let mut rules = Self {
            product: product.to_owned(),
            conns: Conns::after(saved.max_conn),
            trade_ids: RecentIds::restore(&saved.trade_ids),
            chain: IdChain::after(saved.trade_ids.iter().copied().max()),
            had_book: saved.had_book,
        };
        for c in &saved.conns {
            let own = c.sync.clone().map(serde_json::from_value::<SavedOpen>);
            let state = match (c.stream, own) {
                (Some(stream), Some(Ok(own))) => Some(Open {
                    stream,
                    book: c.book(),
                    synced: own.synced,
                    said_unsynced: own.said_unsynced,
                    book_frames: own.book_frames,
                    trade_frames: own.trade_frames,
                    book_time: EventTime::from_nanos(own.book_time),
                }),
                _ => None,
            };
            rules.conns.restore(c.conn, state);
        }
        rules
    }

    fn frame(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, text: &str) -> Verdict {
        let want = Expect { market: &self.product, ts_recv: ts };
        let message = match legacy::parse(text).and_then(|m| legacy::check(&m, &want).map(|()| m)) {
            Ok(message) => message,
            Err(error) => {
                sink.refuse(ts, conn, &error, text);
                return Verdict::Continue;
            }
        };
        match message {
            Legacy::Snapshot { bids, asks, .. } => {
                // A snapshot has no time: the connection's last book time stands for it.
                let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
                let ts_event = open.book_time;
                self.book(sink, ts, conn, true, &bids, &asks, ts_event)
            }
            Legacy::Update { bids, asks, ts_event, .. } => {
                self.book(sink, ts, conn, false, &bids, &asks, ts_event)
            }
            Legacy::Match { trade, .. } => {
                self.trade(sink, ts, conn, &trade);
                Verdict::Continue
            }
            Legacy::Error { message } => {
                let detail = format!("venue error: {message}");
                self.conns.break_off(sink, ts, conn, EventKind::VenueError, None, None, detail)
            }
            Legacy::Other { .. } => Verdict::Continue,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn book(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        snapshot: bool,
        bids: &[Level],
        asks: &[Level],
        ts_event: EventTime,
    ) -> Verdict {
        let Some(open) = self.conns.open_mut(conn) else { return Verdict::Continue };
        if !snapshot && !open.synced {
            if !std::mem::replace(&mut open.said_unsynced, true) {
                let detail = "l2update before any snapshot of this product on this connection: it and the updates until a snapshot are not in depth".to_owned();
                sink.event(ts, conn, EventKind::Unsynced, None, None, Some(detail));
            }
            return Verdict::Continue;
        }
        let replaced = snapshot && open.synced;
        let changes = apply_levels(&mut open.book, snapshot, bids, asks, usize::MAX);
        let next = open.book_frames + 1;
        if is_crossed(&open.book) {
            let (bid, ask) = (open.book.best_bid(), open.book.best_ask());
            let (bid, ask) = (bid.map(|l| l.price.to_string()), ask.map(|l| l.price.to_string()));
            let detail = format!(
                "book crossed after book message {next}: best bid {} at or above best ask {}; the book waits for a new snapshot",
                bid.unwrap_or_default(),
                ask.unwrap_or_default()
            );
            return self.conns.break_off(sink, ts, conn, EventKind::SeqGap, None, None, detail);
        }
        open.synced = true;
        open.book_frames = next;
        open.book_time = open.book_time.max(ts_event);
        let seq = next as i64;
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
        if replaced || (seq == 1 && self.had_book) {
            let detail = "book rebuilt from a new snapshot".to_owned();
            sink.event(ts, conn, EventKind::Resnapshot, Some(seq), None, Some(detail));
        }
        self.had_book = true;
        Verdict::Continue
    }

    fn trade(&mut self, sink: &mut Sink, ts: RecvTime, conn: u32, trade: &LegacyTrade) {
        let Some(open) = self.conns.open_mut(conn) else { return };
        if !self.trade_ids.insert(trade.id) {
            return;
        }
        open.trade_frames += 1;
        let seq = open.trade_frames as i64;
        self.chain.trade(sink, ts, conn, trade.id, 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TakerSide;
    use crate::storage::{Cause, Entry};
    use crate::venue::rules::Rules as _;

    const T0: i64 = 1_618_677_817_000_000_000; // 2021-04-17, the fixture's day

    struct Run {
        rules: Rules,
        sink: Sink,
        n: i64,
    }

    impl Run {
        fn feed(&mut self, entry: Entry) -> Verdict {
            self.n += 1;
            let ts_recv = RecvTime::from_nanos(T0 + self.n * 1_000_000);
            self.rules.apply(&Record { jseq: 0, ts_recv, entry }, &mut self.sink)
        }

        fn frame(&mut self, text: &str) -> Verdict {
            self.feed(Entry::Frame { conn: 1, text: text.to_owned() })
        }

        fn kinds(&self) -> Vec<EventKind> {
            self.sink.out.events.iter().map(|e| e.kind).collect()
        }
    }

    fn update(side: &str, px: &str, qty: &str) -> String {
        format!(
            r#"{{"type":"l2update","product_id":"SKL-USD","changes":[["{side}","{px}","{qty}"]],"time":"2021-04-17T16:43:37.075687Z"}}"#
        )
    }

    fn matched(id: i64, side: &str) -> String {
        format!(
            r#"{{"type":"match","trade_id":{id},"maker_order_id":"a","taker_order_id":"b","side":"{side}","size":"10","price":"0.5","product_id":"SKL-USD","sequence":{},"time":"2021-04-17T16:43:37.1Z"}}"#,
            1000 + id
        )
    }

    #[test]
    fn a_capture_replays_into_rows_with_taker_sides_and_id_gaps() {
        let mut run =
            Run { rules: Rules::restore("SKL-USD", &Saved::default()), sink: Sink::new(5), n: 0 };
        let url = "wss://ws-feed.pro.coinbase.com".to_owned();
        run.feed(Entry::Connect { conn: 1, stream: Stream::Combined, url });
        assert!(run.sink.out.events[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("continuity cannot be proven"));
        // Before the snapshot: one unsynced row for any number of updates.
        run.frame(&update("buy", "0.49", "5"));
        run.frame(&update("buy", "0.48", "5"));
        run.frame(r#"{"type":"snapshot","product_id":"SKL-USD","bids":[["0.49","100.0"]],"asks":[["0.51","10.00"]]}"#);
        run.frame(&update("sell", "0.51", "0.00"));
        run.frame(&update("sell", "0.52", "7.5"));
        run.frame(r#"{"type":"ticker","product_id":"SKL-USD","price":"0.5"}"#);
        assert_eq!(run.kinds(), vec![EventKind::Connect, EventKind::Unsynced]);
        let depth = &run.sink.out.depth;
        assert_eq!(depth.len(), 4);
        assert!(depth[..2].iter().all(|r| r.snapshot && r.seq == 1));
        // The snapshot's rows take the connection's start; updates their `time`.
        assert_eq!(depth[0].ts_event.as_nanos(), T0 + 1_000_000);
        assert_eq!(depth[2].ts_event.as_nanos(), 1_618_677_817_075_687_000);
        assert_eq!(depth[2].qty, crate::model::Qty::ZERO);
        assert_eq!(run.sink.out.book_top.last().map(|t| t.seq), Some(3));
        // Trades: the maker's side flipped; a repeat dropped; a jump in ids said.
        run.frame(&matched(7, "sell").replace("\"match\"", "\"last_match\""));
        run.frame(&matched(8, "buy"));
        run.frame(&matched(8, "buy"));
        run.frame(&matched(11, "buy"));
        let rows: Vec<_> =
            run.sink.out.trades.iter().map(|t| (t.trade_id, t.side, t.seq)).collect();
        assert_eq!(
            rows,
            vec![(7, TakerSide::Buy, 1), (8, TakerSide::Sell, 2), (11, TakerSide::Sell, 3)]
        );
        let gap = run.sink.out.events.last().unwrap();
        assert_eq!((gap.kind, gap.seq, gap.expected_seq), (EventKind::TradeGap, Some(11), Some(9)));
        // Another product's message is refused; a crossed book ends the connection.
        run.frame(&update("buy", "1", "1").replace("SKL-USD", "SKL-BTC"));
        assert_eq!(run.kinds().last(), Some(&EventKind::Refused));
        let Verdict::Close { reason, .. } = run.frame(&update("buy", "0.53", "1")) else {
            panic!()
        };
        assert!(reason.contains("best bid 0.53 at or above best ask 0.52"), "{reason}");
        run.feed(Entry::Disconnect { conn: 1, cause: Cause::Shutdown, detail: "end".into() });
        assert_eq!(run.kinds().last(), Some(&EventKind::SeqGap));
        let saved = run.rules.save();
        assert_eq!(saved.trade_ids, vec![7, 8, 11]);
        assert!(saved.had_book);
    }
}
