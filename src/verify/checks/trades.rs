//! The trades checks: duplicates by trade_id over the whole selection, positive price and
//! size, frame order and clocks per trades connection, receive latency, and the price against
//! the book at that moment (the latest book frame received before the trade, unless its
//! connection had already ended: a book nobody was keeping is no book).
//!
//! A taker may sweep past the best level, so only a price beyond the best bid or ask by more
//! than the tolerance (in basis points of that price) is counted. A book that was the last
//! frame of a connection ending in `seq_gap` was already missing updates when the trade came
//! (a message lost or refused before the break was seen), so a trade outside it is a note
//! saying so, not a violation.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::book::{fmt_duration, ConnSummary, MarketTop};
use super::cursor::{fmt_ts, TradeRaw};
use super::latency::Histogram;
use crate::model::{Price, Qty};
use crate::storage::Table;
use crate::verify::findings::{Findings, Key, Kind};

/// A book older than this at a trade is not "the book at that moment".
pub const FRESH_BOOK_NS: i64 = 10 * crate::model::NANOS_PER_SEC;

/// The first and last trade of a trades connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeMark {
    pub seq: i64,
    pub ts_recv: i64,
    pub ts_event: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeConn {
    pub conn: u32,
    pub first: TradeMark,
    pub last: TradeMark,
    pub rows: u64,
}

pub struct TradeCheck {
    /// trade_id → ts_recv of its first row.
    seen: HashMap<i64, i64, foldhash::fast::RandomState>,
    conns: Vec<TradeConn>,
    tolerance_bps: u32,
    /// How each ended book connection ended.
    ends: HashMap<u32, BookEnd>,
    /// Trades outside a book of a lossy connection, judged once its last frame is known.
    held: Vec<Held>,
    pub latency: Histogram,
    pub rows: u64,
    pub compared: u64,
}

/// The terminal event of a book connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookEnd {
    pub ts_recv: i64,
    /// Ended by a `seq_gap`: updates were lost before the break was seen.
    pub seq_gap: bool,
}

/// A trade outside the book it met, waiting for `finish` to know whether that book was the
/// connection's last before its break.
struct Held {
    conn: u32,
    seq: i64,
    text: String,
    keys: Vec<Key>,
}

pub struct TradeSummary {
    pub conns: Vec<TradeConn>,
    pub latency: Histogram,
    pub rows: u64,
    pub compared: u64,
}

impl TradeCheck {
    /// `ends`: the terminal event of each ended book connection.
    pub fn new(tolerance_bps: u32, ends: HashMap<u32, BookEnd>) -> Self {
        Self {
            seen: HashMap::default(),
            conns: Vec::new(),
            tolerance_bps,
            ends,
            held: Vec::new(),
            latency: Histogram::default(),
            rows: 0,
            compared: 0,
        }
    }

    pub fn trade(&mut self, t: &TradeRaw, top: Option<&MarketTop>, f: &mut Findings) {
        self.rows += 1;
        let key = || Key::Trade { trade_id: t.trade_id, ts_recv: t.ts_recv };
        // One hash per trade, by foldhash rather than SipHash: this map was 3 % of `verify`
        // (issue 23); trade ids are the recording's own, not an attacker's keys.
        let first = match self.seen.entry(t.trade_id) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(t.ts_recv);
                None
            }
        };
        if let Some(first) = first {
            f.add(
                Kind::DuplicateTrade,
                || {
                    format!(
                        "trade_id {} (conn {} seq {}) was already recorded at {}",
                        t.trade_id,
                        t.conn,
                        t.seq,
                        fmt_ts(first)
                    )
                },
                vec![Key::Trade { trade_id: t.trade_id, ts_recv: first }, key()],
            );
            return;
        }
        if t.price <= 0 || t.qty <= 0 || !t.side_ok {
            f.add(
                Kind::BadTrade,
                || {
                    format!(
                        "trade_id {}: price {}, size {}",
                        t.trade_id,
                        Price::from_raw(t.price),
                        Qty::from_raw(t.qty)
                    )
                },
                vec![key()],
            );
            return;
        }
        self.stream(t, f);
        self.latency.record(t.ts_recv.saturating_sub(t.ts_event));
        self.band(t, top, f);
    }

    fn stream(&mut self, t: &TradeRaw, f: &mut Findings) {
        let mark = TradeMark { seq: t.seq, ts_recv: t.ts_recv, ts_event: t.ts_event };
        let Some(c) = self.conns.iter_mut().find(|c| c.conn == t.conn) else {
            self.conns.push(TradeConn { conn: t.conn, first: mark, last: mark, rows: 1 });
            return;
        };
        if t.seq < c.last.seq {
            let last = c.last;
            f.add(
                Kind::TradeSeqWentBack,
                || {
                    format!(
                        "trades conn {} seq {}: received at {}, before seq {} ({})",
                        t.conn,
                        t.seq,
                        fmt_ts(t.ts_recv),
                        last.seq,
                        fmt_ts(last.ts_recv)
                    )
                },
                vec![Key::Frame {
                    table: Table::Trades,
                    conn: t.conn,
                    seq: t.seq,
                    ts_recv: t.ts_recv,
                }],
            );
        }
        if t.ts_event < c.last.ts_event {
            let last = c.last;
            f.add(
                Kind::TradeEventWentBack,
                || {
                    format!(
                        "trade_id {} (conn {} seq {}): ts_event {} is {} before the trade before it",
                        t.trade_id,
                        t.conn,
                        t.seq,
                        fmt_ts(t.ts_event),
                        fmt_duration(last.ts_event - t.ts_event)
                    )
                },
                vec![Key::Trade { trade_id: t.trade_id, ts_recv: t.ts_recv }],
            );
        }
        c.last = mark;
        c.rows += 1;
    }

    fn band(&mut self, t: &TradeRaw, top: Option<&MarketTop>, f: &mut Findings) {
        let key = || vec![Key::Trade { trade_id: t.trade_id, ts_recv: t.ts_recv }];
        let Some(top) = top.filter(|b| t.ts_recv - b.ts_recv <= FRESH_BOOK_NS) else {
            f.add(
                Kind::TradeWithoutBook,
                || {
                    format!(
                        "trade_id {} at {}: no book frame in the {} before it",
                        t.trade_id,
                        fmt_ts(t.ts_recv),
                        fmt_duration(FRESH_BOOK_NS)
                    )
                },
                key(),
            );
            return;
        };
        if matches!((top.bid, top.ask), (Some(bid), Some(ask)) if bid >= ask) {
            f.add(
                Kind::TradeWithoutBook,
                || {
                    format!(
                        "trade_id {} at {}: the book of that moment (conn {} seq {}) was crossed",
                        t.trade_id,
                        fmt_ts(t.ts_recv),
                        top.conn,
                        top.seq
                    )
                },
                key(),
            );
            return;
        }
        let end = self.ends.get(&top.conn).copied();
        if let Some(end) = end.filter(|e| e.ts_recv <= t.ts_recv) {
            f.add(
                Kind::TradeWithoutBook,
                || {
                    format!(
                        "trade_id {} at {}: the latest book (conn {}) ended at {}, before it",
                        t.trade_id,
                        fmt_ts(t.ts_recv),
                        top.conn,
                        fmt_ts(end.ts_recv)
                    )
                },
                key(),
            );
            return;
        }
        self.compared += 1;
        let tol = i128::from(self.tolerance_bps);
        // (distance beyond the edge, the edge, which edge)
        let beyond = match (top.bid, top.ask) {
            (Some(bid), _) if t.price < bid => Some((bid - t.price, bid, "below the best bid")),
            (_, Some(ask)) if t.price > ask => Some((t.price - ask, ask, "above the best ask")),
            _ => None,
        };
        let Some((distance, edge, what)) = beyond else { return };
        if i128::from(distance) * 10_000 <= tol * i128::from(edge) {
            return;
        }
        let text = || {
            let bps = distance as f64 / edge as f64 * 10_000.0;
            format!(
                "trade_id {} {} {} × {} at {}: {bps:.1} bps {what} {} (book of conn {} seq {}; tolerance {} bps)",
                t.trade_id,
                if t.sell { "sell" } else { "buy" },
                Price::from_raw(t.price),
                Qty::from_raw(t.qty),
                fmt_ts(t.ts_recv),
                Price::from_raw(edge),
                top.conn,
                top.seq,
                self.tolerance_bps
            )
        };
        let keys = vec![
            Key::Trade { trade_id: t.trade_id, ts_recv: t.ts_recv },
            Key::Frame {
                table: Table::BookTop,
                conn: top.conn,
                seq: top.seq,
                ts_recv: top.ts_recv,
            },
        ];
        if end.is_some_and(|e| e.seq_gap) {
            self.held.push(Held { conn: top.conn, seq: top.seq, text: text(), keys });
        } else {
            f.add(Kind::TradeOutsideBook, text, keys);
        }
    }

    /// Judges the held trades against each book connection's last frame.
    pub fn finish(self, books: &[ConnSummary], f: &mut Findings) -> TradeSummary {
        for held in self.held {
            let last = books.iter().find(|c| c.conn == held.conn).map(|c| c.last.seq);
            if last == Some(held.seq) {
                let text = format!("{}; conn {} ended in seq_gap after it", held.text, held.conn);
                f.add(Kind::TradeBesideLostBook, || text, held.keys);
            } else {
                f.add(Kind::TradeOutsideBook, || held.text, held.keys);
            }
        }
        let mut conns = self.conns;
        conns.sort_by_key(|c| c.conn);
        TradeSummary { conns, latency: self.latency, rows: self.rows, compared: self.compared }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(id: i64, ts: i64, seq: i64, price: i64) -> TradeRaw {
        TradeRaw {
            ts_event: ts - 10,
            ts_recv: ts,
            conn: 2,
            seq,
            trade_id: id,
            sell: false,
            side_ok: true,
            price,
            qty: 5,
        }
    }

    const TOP: MarketTop =
        MarketTop { bid: Some(10_000), ask: Some(10_010), ts_recv: 0, conn: 1, seq: 7 };

    #[test]
    fn each_fault_is_found() {
        // (trades, book, expected kind, expected count)
        let cases: Vec<(Vec<TradeRaw>, Option<MarketTop>, Kind, u64)> = vec![
            (
                vec![trade(1, 1, 1, 10_010), trade(1, 2, 2, 10_010)],
                Some(TOP),
                Kind::DuplicateTrade,
                1,
            ),
            (
                vec![trade(1, 1, 1, 10_000), trade(2, 2, 1, 10_070)],
                Some(TOP),
                Kind::TradeOutsideBook,
                1,
            ),
            // 50 bps of 10,000 is 50: 9,950 is on the edge, 9,949 past it.
            (
                vec![trade(1, 1, 1, 9_950), trade(2, 2, 1, 9_949)],
                Some(TOP),
                Kind::TradeOutsideBook,
                1,
            ),
            (vec![trade(1, 1, 1, 10_000)], None, Kind::TradeWithoutBook, 1),
            (vec![trade(1, FRESH_BOOK_NS + 1, 1, 10_000)], Some(TOP), Kind::TradeWithoutBook, 1),
            (
                vec![trade(1, 5, 3, 10_000), trade(2, 6, 2, 10_000)],
                Some(TOP),
                Kind::TradeSeqWentBack,
                1,
            ),
            (vec![trade(1, 5, 1, 0)], Some(TOP), Kind::BadTrade, 1),
        ];
        for (trades, top, kind, count) in cases {
            let mut f = Findings::new(5);
            let mut check = TradeCheck::new(50, HashMap::new());
            for t in &trades {
                check.trade(t, top.as_ref(), &mut f);
            }
            assert_eq!(f.count(kind), count, "{kind:?} in {trades:?}");
        }
    }

    fn ended_at(seq: i64) -> ConnSummary {
        use super::super::book::FrameMark;
        let mark = |seq| FrameMark { seq, ts_recv: seq, ts_event: seq, snapshot: seq == 1 };
        ConnSummary { conn: 1, first: mark(1), last: mark(seq), frames: seq as u64, gaps: vec![] }
    }

    #[test]
    fn a_trade_beside_the_last_book_of_a_connection_that_broke_is_a_note() {
        // The book of conn 1 seq 7 is its last frame before a seq_gap: a note.
        let outside = [trade(1, 1, 1, 10_070)];
        for (seq_gap, last, kind) in [
            (true, 7, Kind::TradeBesideLostBook),
            // Frames followed on the same connection: the book was whole at that moment.
            (true, 8, Kind::TradeOutsideBook),
            // The connection ended some other way.
            (false, 7, Kind::TradeOutsideBook),
        ] {
            let mut f = Findings::new(5);
            let ends = HashMap::from([(1, BookEnd { ts_recv: 100, seq_gap })]);
            let mut check = TradeCheck::new(50, ends);
            check.trade(&outside[0], Some(&TOP), &mut f);
            check.finish(&[ended_at(last)], &mut f);
            assert_eq!(f.count(kind), 1, "{kind:?} with last seq {last}");
            assert_eq!(f.violations(), u64::from(kind == Kind::TradeOutsideBook));
        }
    }

    #[test]
    fn a_trade_after_the_books_connection_ended_meets_no_book() {
        // Conn 1 ended at 100 (say, a recorder killed and restarted): a trade at 100 or
        // later is not compared with its book, however far outside it lies.
        for (at, kind) in [(99, Kind::TradeOutsideBook), (100, Kind::TradeWithoutBook)] {
            let mut f = Findings::new(5);
            let ends = HashMap::from([(1, BookEnd { ts_recv: 100, seq_gap: false })]);
            let mut check = TradeCheck::new(50, ends);
            check.trade(&trade(1, at, 1, 10_070), Some(&TOP), &mut f);
            check.finish(&[ended_at(7)], &mut f);
            assert_eq!(f.count(kind), 1, "trade at {at}");
        }
    }
}
