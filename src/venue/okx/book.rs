//! An OKX `books` subscription's book and its CRC32 checksum (OKX API v5, "Order book
//! channel", checksum section; docs/VENUES.md §12.3):
//!
//! - Maintaining: a snapshot replaces the book; an update's levels are applied in order; a
//!   size of `0` deletes the level, and deleting a level that is not in the book is normal
//!   (the fixture has hundreds) and changes nothing. Each side is kept to [`DEPTH`] levels,
//!   the channel's depth, so levels the venue pushed out of scope do not linger.
//! - Checksum: the best 25 bids (high → low) and asks (low → high), interleaved as
//!   `bid1px:bid1sz:ask1px:ask1sz:bid2px:…` — when one side runs out the other continues
//!   alone — with each price and size **string exactly as received**; CRC32 (ISO-HDLC,
//!   `crc32fast`) read as a *signed* 32-bit integer.
//!
//! Pure: no clocks, no rows. Levels are exact 10⁻⁸ integers (never `f64`) carrying their text.

use std::collections::BTreeMap;

use crate::model::{BookSide, Level, Price, Qty};

use super::wire::WireLevel;

/// Levels per side the checksum covers.
pub const CHECKSUM_LEVELS: usize = 25;
/// Levels per side of the `books` channel (its snapshot has 400 where the book is that deep).
pub const DEPTH: usize = 400;

/// One level's size and the text of its price and size as last received.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    qty: i64,
    px: String,
    sz: String,
}

/// A change the book made: a level set to a new size (0: removed), in the order made.
pub type Changes = Vec<(BookSide, Level)>;

/// The book of one `books` subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkxBook {
    bids: BTreeMap<i64, Entry>,
    asks: BTreeMap<i64, Entry>,
}

impl OkxBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Applies one message's levels (`snapshot` replaces the book first), then keeps each
    /// side to [`DEPTH`] levels. Returns every change, the levels cut as removals; a delete
    /// of an absent level is not a change.
    pub fn apply(&mut self, snapshot: bool, bids: &[WireLevel], asks: &[WireLevel]) -> Changes {
        if snapshot {
            self.bids.clear();
            self.asks.clear();
        }
        let mut changes = Vec::with_capacity(bids.len() + asks.len());
        for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
            let map = self.side_mut(side);
            for wire in levels {
                let price = wire.level.price.raw();
                if wire.level.qty.raw() == 0 {
                    if map.remove(&price).is_none() {
                        continue;
                    }
                } else {
                    let entry = Entry {
                        qty: wire.level.qty.raw(),
                        px: wire.px.clone(),
                        sz: wire.sz.clone(),
                    };
                    map.insert(price, entry);
                }
                changes.push((side, wire.level));
            }
            while map.len() > DEPTH {
                let worst = match side {
                    BookSide::Bid => map.pop_first(),
                    BookSide::Ask => map.pop_last(),
                };
                if let Some((price, _)) = worst {
                    changes.push((side, to_level(price, 0)));
                }
            }
        }
        changes
    }

    /// Levels of one side, best first.
    pub fn levels(&self, side: BookSide) -> Vec<Level> {
        self.entries(side).map(|(p, e)| to_level(*p, e.qty)).collect()
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.bids.last_key_value(), self.asks.first_key_value()), (Some((b, _)), Some((a, _))) if b >= a)
    }

    /// OKX's checksum of the top 25 levels, from the text each level was received with.
    pub fn checksum(&self) -> i32 {
        let mut text = String::with_capacity(CHECKSUM_LEVELS * 2 * 24);
        let mut bids = self.entries(BookSide::Bid).take(CHECKSUM_LEVELS);
        let mut asks = self.entries(BookSide::Ask).take(CHECKSUM_LEVELS);
        loop {
            let (bid, ask) = (bids.next(), asks.next());
            if bid.is_none() && ask.is_none() {
                break;
            }
            for (_, entry) in bid.into_iter().chain(ask) {
                if !text.is_empty() {
                    text.push(':');
                }
                text.push_str(&entry.px);
                text.push(':');
                text.push_str(&entry.sz);
            }
        }
        crc32fast::hash(text.as_bytes()) as i32
    }

    /// One side's levels for the state file, best first, as the text received (`[px, sz]`):
    /// what the checksum needs after a restart.
    pub fn saved(&self, side: BookSide) -> Vec<[String; 2]> {
        self.entries(side).map(|(_, e)| [e.px.clone(), e.sz.clone()]).collect()
    }

    /// The book [`OkxBook::saved`] described; `None` if a level does not read back.
    pub fn restore(bids: &[[String; 2]], asks: &[[String; 2]]) -> Option<Self> {
        let mut book = Self::new();
        for (side, rows) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
            for [px, sz] in rows {
                let price = Price::parse(px).ok()?.raw();
                let qty = Qty::parse(sz).ok()?.raw();
                book.side_mut(side).insert(price, Entry { qty, px: px.clone(), sz: sz.clone() });
            }
        }
        Some(book)
    }

    fn entries(&self, side: BookSide) -> Box<dyn Iterator<Item = (&i64, &Entry)> + '_> {
        match side {
            BookSide::Bid => Box::new(self.bids.iter().rev()),
            BookSide::Ask => Box::new(self.asks.iter()),
        }
    }

    fn side_mut(&mut self, side: BookSide) -> &mut BTreeMap<i64, Entry> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }
}

fn to_level(price: i64, qty: i64) -> Level {
    Level::new(Price::from_raw(price), Qty::from_raw(qty))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn lv(px: &str, sz: &str) -> WireLevel {
        let level = Level::new(Price::parse(px).unwrap(), Qty::parse(sz).unwrap());
        WireLevel { level, px: px.to_owned(), sz: sz.to_owned() }
    }

    #[test]
    fn the_checksum_interleaves_the_received_text_and_continues_one_side_alone() {
        let mut book = OkxBook::new();
        book.apply(
            true,
            &[lv("3366.1", "7"), lv("3366", "6"), lv("3365.90", "1")],
            &[lv("3366.8", "9")],
        );
        let text = "3366.1:7:3366.8:9:3366:6:3365.90:1";
        assert_eq!(book.checksum(), crc32fast::hash(text.as_bytes()) as i32);
        // The documentation's example string is hashed as given, sign included.
        assert!(book.checksum() != 0);
    }

    #[test]
    fn deletes_of_absent_levels_change_nothing_and_the_depth_is_kept() {
        let mut book = OkxBook::new();
        book.apply(true, &[lv("10", "1")], &[lv("11", "1")]);
        let changes = book.apply(false, &[lv("9", "0")], &[lv("11", "0")]);
        assert_eq!(changes, vec![(BookSide::Ask, to_level(1_100_000_000, 0))]);
        assert!(book.levels(BookSide::Ask).is_empty());
        let many: Vec<WireLevel> = (1..=DEPTH + 2).map(|p| lv(&p.to_string(), "1")).collect();
        let changes = book.apply(true, &many, &[]);
        assert_eq!(book.levels(BookSide::Bid).len(), DEPTH);
        assert_eq!(changes.last(), Some(&(BookSide::Bid, to_level(200_000_000, 0))));
        assert!(!book.is_crossed());
        book.apply(false, &[], &[lv("402", "1")]);
        assert!(book.is_crossed());
    }

    #[test]
    fn saved_books_restore_with_their_text() {
        let mut book = OkxBook::new();
        book.apply(true, &[lv("10.50", "1.0")], &[lv("11", "2")]);
        let back =
            OkxBook::restore(&book.saved(BookSide::Bid), &book.saved(BookSide::Ask)).unwrap();
        assert_eq!(back, book);
        assert_eq!(back.checksum(), book.checksum());
        assert!(OkxBook::restore(&[["x".into(), "1".into()]], &[]).is_none());
    }
}
