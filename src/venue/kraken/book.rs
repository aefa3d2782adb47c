//! A Kraken v2 `book` subscription's book and its CRC32 checksum, as Kraken's guide "Book
//! checksum (WebSocket v2)" (docs.kraken.com/exchange/guides/websockets/book-checksum-v2)
//! specifies them:
//!
//! - Maintaining: a snapshot replaces the book; an update's levels are applied **in order**
//!   (one update may name a price twice; the last one wins); `qty` 0 removes the level; after
//!   every message each side is **truncated to the subscribed depth**, because Kraken sends no
//!   delete for a level pushed out of scope.
//! - Checksum: the top 10 asks low→high, then the top 10 bids high→low; for each level the
//!   price text and then the qty text with `.` removed and leading zeros stripped, all
//!   concatenated; CRC32 (ISO-HDLC, `crc32fast`), compared as unsigned 32-bit.
//!
//! The text is the venue's own: each level keeps the decimal places its number had on the
//! wire ([`Num::scale`]), so `0.10000000` hashes as `10000000`, never as `1` (which is what a
//! trip through `f64` gives). A [`Precision`] can override the places per pair, for captures
//! whose number text was re-serialized (the fixture in `../shared/fixtures/kraken/`).
//!
//! Pure: no clocks, no rows. Levels are exact 10⁻⁸ integers (never `f64`).

use std::collections::BTreeMap;

use crate::model::{BookSide, Level, Price, Qty, SCALE};

use super::wire::{Num, WireLevel};

/// Levels per side that the checksum covers, whatever the subscribed depth.
pub const CHECKSUM_LEVELS: usize = 10;

/// Decimal places to print prices and quantities with, instead of each number's own (the
/// pair's precision from Kraken's `instrument` channel or AssetPairs: BTC/USD 1 and 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision {
    pub price: u8,
    pub qty: u8,
}

/// One level: its exact value and the places of its wire text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    qty: Num,
    price_scale: u8,
}

/// The book of one `book` subscription at one depth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KrakenBook {
    depth: usize,
    bids: BTreeMap<i64, Entry>,
    asks: BTreeMap<i64, Entry>,
}

/// A change the book made: a level set to a new size (0: removed), in the order made.
pub type Changes = Vec<(BookSide, Level)>;

impl KrakenBook {
    /// An empty book truncated to `depth` levels per side after every message.
    pub fn new(depth: usize) -> Self {
        Self { depth, ..Self::default() }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Applies one message's levels (`snapshot` replaces the book first), then truncates
    /// each side to the depth. Returns every level change, the truncated levels as removals.
    pub fn apply(&mut self, snapshot: bool, bids: &[WireLevel], asks: &[WireLevel]) -> Changes {
        if snapshot {
            self.clear();
        }
        let mut changes = Vec::with_capacity(bids.len() + asks.len());
        for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
            let map = self.side_mut(side);
            for level in levels {
                if level.qty.raw == 0 {
                    map.remove(&level.price.raw);
                } else {
                    map.insert(
                        level.price.raw,
                        Entry { qty: level.qty, price_scale: level.price.scale },
                    );
                }
                changes.push((side, to_level(level.price.raw, level.qty.raw)));
            }
        }
        for side in [BookSide::Bid, BookSide::Ask] {
            let depth = self.depth;
            let map = self.side_mut(side);
            while map.len() > depth {
                // The worst level: the lowest bid, the highest ask.
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
        let level = |(p, e): (&i64, &Entry)| to_level(*p, e.qty.raw);
        match side {
            BookSide::Bid => self.bids.iter().rev().map(level).collect(),
            BookSide::Ask => self.asks.iter().map(level).collect(),
        }
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.bids.last_key_value(), self.asks.first_key_value()), (Some((b, _)), Some((a, _))) if b >= a)
    }

    /// Kraken's CRC32 of the top 10 levels, from each level's own text, or printed at
    /// `precision` when given.
    pub fn checksum(&self, precision: Option<Precision>) -> u32 {
        let mut text = String::with_capacity(CHECKSUM_LEVELS * 2 * 24);
        let asks = self.asks.iter().take(CHECKSUM_LEVELS);
        let bids = self.bids.iter().rev().take(CHECKSUM_LEVELS);
        for (price, entry) in asks.chain(bids) {
            let (price_places, qty_places) = match precision {
                Some(p) => (p.price, p.qty),
                None => (entry.price_scale, entry.qty.scale),
            };
            push_digits(&mut text, *price, price_places);
            push_digits(&mut text, entry.qty.raw, qty_places);
        }
        crc32fast::hash(text.as_bytes())
    }

    /// One side's levels for the state file, best first: `[price, qty, price places, qty
    /// places]` (the places keep the checksum computable after a restart).
    pub fn saved(&self, side: BookSide) -> Vec<[i64; 4]> {
        let row = |(p, e): (&i64, &Entry)| {
            [*p, e.qty.raw, i64::from(e.price_scale), i64::from(e.qty.scale)]
        };
        match side {
            BookSide::Bid => self.bids.iter().rev().map(row).collect(),
            BookSide::Ask => self.asks.iter().map(row).collect(),
        }
    }

    /// The book [`KrakenBook::saved`] described; `None` if a row is not one it wrote.
    pub fn restore(depth: usize, bids: &[[i64; 4]], asks: &[[i64; 4]]) -> Option<Self> {
        let mut book = Self::new(depth);
        for (side, rows) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
            for [price, qty, price_scale, qty_scale] in rows {
                let price_scale = u8::try_from(*price_scale).ok()?;
                let qty = Num { raw: *qty, scale: u8::try_from(*qty_scale).ok()? };
                book.side_mut(side).insert(*price, Entry { qty, price_scale });
            }
        }
        Some(book)
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

/// Appends `raw` (10⁻⁸ units, not negative) printed with `places` decimals, `.` removed and
/// leading zeros stripped: the integer `raw · 10^(places − 8)`. Digits beyond `places` are
/// cut (such a number was not written at `places`, and its checksum will not match).
fn push_digits(out: &mut String, raw: i64, places: u8) {
    use std::fmt::Write as _;
    let raw = u128::from(raw.unsigned_abs());
    let scale = SCALE as u8;
    let value = if places >= scale {
        10u128.checked_pow(u32::from(places - scale)).and_then(|f| raw.checked_mul(f))
    } else {
        Some(raw / 10u128.pow(u32::from(scale - places)))
    };
    match value {
        Some(0) => {}
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        // Past u128 (over 30 places): the digits, then the zeros.
        None => {
            let _ = write!(out, "{raw}{}", "0".repeat(usize::from(places - scale)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Num {
        let scale = text.split_once('.').map_or(0, |(_, f)| f.len()) as u8;
        Num { raw: crate::model::parse_raw(text).unwrap(), scale }
    }

    fn lv(price: &str, qty: &str) -> WireLevel {
        WireLevel { price: num(price), qty: num(qty) }
    }

    #[test]
    fn digits_drop_the_point_and_leading_zeros_only() {
        let cases = [
            ("45285.2", "452852"),
            ("0.00100000", "100000"),
            ("0.10000000", "10000000"),
            ("4.0", "40"),
            ("29430", "29430"),
            ("0.000000010000", "10000"),
        ];
        for (text, want) in cases {
            let n = num(text);
            let mut out = String::new();
            push_digits(&mut out, n.raw, n.scale);
            assert_eq!(out, want, "{text}");
        }
        let mut out = String::new();
        push_digits(&mut out, num("0.001").raw, 8);
        assert_eq!(out, "100000", "printed at the pair's 8 places");
    }

    #[test]
    fn a_repeated_price_applies_in_order_and_truncation_reports_removals() {
        let mut book = KrakenBook::new(2);
        book.apply(true, &[lv("10.0", "1.0"), lv("9.0", "1.0")], &[lv("11.0", "1.0")]);
        let changes = book.apply(false, &[lv("9.5", "2.0"), lv("9.5", "3.0")], &[]);
        assert_eq!(
            book.levels(BookSide::Bid),
            vec![to_level(1_000_000_000, 100_000_000), to_level(950_000_000, 300_000_000)]
        );
        assert_eq!(
            changes.last(),
            Some(&(BookSide::Bid, to_level(900_000_000, 0))),
            "9.0 fell out"
        );
        book.apply(false, &[], &[lv("11.0", "0.0")]);
        assert!(book.levels(BookSide::Ask).is_empty());
        assert!(!book.is_crossed());
        book.apply(false, &[], &[lv("9.9", "1.0")]);
        assert!(book.is_crossed());
    }

    #[test]
    fn the_guide_example_level_hashes_as_documented() {
        // Guide: ask 45285.2 × 0.00100000 contributes "452852100000".
        let mut book = KrakenBook::new(10);
        book.apply(true, &[], &[lv("45285.2", "0.00100000")]);
        assert_eq!(book.checksum(None), crc32fast::hash(b"452852100000"));
        assert_eq!(
            book.checksum(Some(Precision { price: 1, qty: 8 })),
            crc32fast::hash(b"452852100000")
        );
        assert_ne!(book.checksum(Some(Precision { price: 1, qty: 3 })), book.checksum(None));
    }
}
