//! The L2 order book: price levels per side, keyed by exact price, and its integrity rules.
//!
//! Used by `collect` (to build `book_top` rows), `verify` (to replay and check), `backtest`
//! and `simulate` (the simulator's own book is one of these, so a client that applies the
//! simulator's frames can be compared with it level for level).
//!
//! Levels are keyed by [`Price`] value, never by text: `"84050.000000"` and `"84050"` are one
//! level (docs/VENUES.md §1.3 rule 2). A level holds its absolute size; setting 0 removes it.
//!
//! The family: [`Book`] (a `BTreeMap` per side, the reference, applies whole frames) and
//! [`Ladder`] (sorted vectors of raw levels, for the replays of `verify` and `backtest`).
//! Property tests hold the two to the same rules.

pub mod ladder;
#[cfg(test)]
mod proptests;

pub use ladder::{Ladder, RawLevel};

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::model::{BookFrame, BookSide, FrameKind, Level, Price, Qty};

/// A frame that would leave the book in a state no venue can have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("negative size {qty} for {side} level {price}")]
    NegativeSize { side: BookSide, price: Price, qty: Qty },
}

/// An L2 book: every visible level of both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
}

impl Book {
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every level (a break discards the book until the next snapshot).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Number of levels on one side.
    pub fn depth(&self, side: BookSide) -> usize {
        self.side_map(side).len()
    }

    /// Applies a frame: a SNAPSHOT replaces the whole book, a DELTA sets each level it names
    /// to its new absolute size. The frame is checked first, so a refused frame changes nothing.
    pub fn apply(&mut self, frame: &BookFrame) -> Result<(), BookError> {
        for side in [BookSide::Bid, BookSide::Ask] {
            if let Some(bad) = frame.side(side).iter().find(|level| level.qty.is_negative()) {
                return Err(BookError::NegativeSize { side, price: bad.price, qty: bad.qty });
            }
        }
        if frame.kind == FrameKind::Snapshot {
            self.clear();
        }
        for level in &frame.bids {
            self.set(BookSide::Bid, level.price, level.qty);
        }
        for level in &frame.asks {
            self.set(BookSide::Ask, level.price, level.qty);
        }
        Ok(())
    }

    /// Sets one level to `qty`; zero (or less) removes it.
    pub fn set(&mut self, side: BookSide, price: Price, qty: Qty) {
        let map = self.side_map_mut(side);
        if qty.raw() <= 0 {
            map.remove(&price);
        } else {
            map.insert(price, qty);
        }
    }

    /// The size at `price`, if the level exists.
    pub fn get(&self, side: BookSide, price: Price) -> Option<Qty> {
        self.side_map(side).get(&price).copied()
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.iter().next_back().map(|(p, q)| Level::new(*p, *q))
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(|(p, q)| Level::new(*p, *q))
    }

    /// The best level of one side.
    pub fn best(&self, side: BookSide) -> Option<Level> {
        match side {
            BookSide::Bid => self.best_bid(),
            BookSide::Ask => self.best_ask(),
        }
    }

    /// Levels of one side, best first.
    pub fn levels(&self, side: BookSide) -> Box<dyn Iterator<Item = Level> + '_> {
        let level = |(p, q): (&Price, &Qty)| Level::new(*p, *q);
        match side {
            BookSide::Bid => Box::new(self.bids.iter().rev().map(level)),
            BookSide::Ask => Box::new(self.asks.iter().map(level)),
        }
    }

    /// The best `n` levels of one side, best first.
    pub fn top(&self, side: BookSide, n: usize) -> Vec<Level> {
        let mut out = Vec::with_capacity(n.min(self.side_map(side).len()));
        self.extend_top(side, n, &mut out);
        out
    }

    /// Appends the best `n` levels of one side to `out`, best first.
    pub fn extend_top(&self, side: BookSide, n: usize, out: &mut impl Extend<Level>) {
        // Not through `levels`: the recorder calls this twice per frame, and the boxed
        // iterator showed in its profile.
        let level = |(p, q): (&Price, &Qty)| Level::new(*p, *q);
        match side {
            BookSide::Bid => out.extend(self.bids.iter().rev().take(n).map(level)),
            BookSide::Ask => out.extend(self.asks.iter().take(n).map(level)),
        }
    }

    /// (best bid + best ask) / 2, exactly; `None` while a side is empty.
    pub fn mid(&self) -> Option<Decimal> {
        let (bid, ask) = (self.best_bid()?, self.best_ask()?);
        Some((bid.price.to_decimal() + ask.price.to_decimal()) / Decimal::TWO)
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// A 64-bit FNV-1a digest of every level (side, price, size; best first). Two books have
    /// the same checksum exactly when they hold the same levels (up to hash collisions), so a
    /// recording can be compared with the simulator's log frame by frame.
    pub fn checksum(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(PRIME);
            }
        };
        for side in [BookSide::Bid, BookSide::Ask] {
            eat(side.as_str().as_bytes());
            for level in self.levels(side) {
                eat(&level.price.raw().to_le_bytes());
                eat(&level.qty.raw().to_le_bytes());
            }
        }
        hash
    }

    fn side_map(&self, side: BookSide) -> &BTreeMap<Price, Qty> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn side_map_mut(&mut self, side: BookSide) -> &mut BTreeMap<Price, Qty> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;

    fn lv(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    fn frame(kind: FrameKind, bids: Vec<Level>, asks: Vec<Level>) -> BookFrame {
        BookFrame {
            market: "BTC-USD".into(),
            kind,
            seq: 1,
            ts_event: EventTime::from_nanos(0),
            bids,
            asks,
        }
    }

    #[test]
    fn delta_keys_levels_by_value_not_text() {
        let mut book = Book::new();
        let snap = frame(
            FrameKind::Snapshot,
            vec![lv("84050.000000", "3"), lv("84049", "1")],
            vec![lv("84052.0", "2")],
        );
        book.apply(&snap).unwrap();
        book.apply(&frame(FrameKind::Delta, vec![lv("84050", "0")], vec![lv("84052", "2.5")]))
            .unwrap();
        assert_eq!(book.best_bid(), Some(lv("84049", "1")));
        assert_eq!(book.best_ask(), Some(lv("84052", "2.5")));
        assert_eq!(book.depth(BookSide::Bid), 1);
    }

    #[test]
    fn snapshot_replaces_the_whole_book() {
        let mut book = Book::new();
        book.apply(&frame(
            FrameKind::Snapshot,
            vec![lv("10", "1"), lv("9", "1")],
            vec![lv("11", "1")],
        ))
        .unwrap();
        book.apply(&frame(FrameKind::Snapshot, vec![lv("8", "2")], vec![lv("12", "3")])).unwrap();
        assert_eq!(book.top(BookSide::Bid, 5), vec![lv("8", "2")]);
        assert_eq!(book.top(BookSide::Ask, 5), vec![lv("12", "3")]);
        assert_eq!(book.mid(), Some(Decimal::from(10)));
    }

    #[test]
    fn negative_size_is_refused_and_changes_nothing() {
        let mut book = Book::new();
        book.apply(&frame(FrameKind::Snapshot, vec![lv("10", "1")], vec![lv("11", "1")])).unwrap();
        let before = book.clone();
        let err = book
            .apply(&frame(FrameKind::Delta, vec![lv("10", "2")], vec![lv("11", "-1")]))
            .unwrap_err();
        assert_eq!(
            err,
            BookError::NegativeSize {
                side: BookSide::Ask,
                price: Price::parse("11").unwrap(),
                qty: Qty::parse("-1").unwrap()
            }
        );
        assert_eq!(book, before);
    }

    #[test]
    fn crossed_and_checksum() {
        let mut a = Book::new();
        a.apply(&frame(FrameKind::Snapshot, vec![lv("10", "1")], vec![lv("11", "1")])).unwrap();
        assert!(!a.is_crossed());
        let mut b = a.clone();
        assert_eq!(a.checksum(), b.checksum());
        b.set(BookSide::Bid, Price::parse("11").unwrap(), Qty::parse("1").unwrap());
        assert!(b.is_crossed());
        assert_ne!(a.checksum(), b.checksum());
    }
}
