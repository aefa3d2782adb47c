//! How one `v4_orderbook` message changes a dYdX book (docs/VENUES.md §15.3), on the tables'
//! own [`Book`]: dYdX has no checksum over the text, so no book of its own is needed.
//!
//! - A snapshot (the `subscribed` answer) replaces the book; a level of size 0 in it names
//!   nothing and is skipped.
//! - Updates — one in `channel_data`, a list in `channel_batch_data` — are applied **in
//!   order**, each level's size absolute, `"0"` removing it: one batch can touch a price
//!   several times, and the last size it names is the one that stands. A delete of a level
//!   that is not in the book changes nothing (the snapshot holds 100 levels a side, the
//!   updates name levels of the whole book).
//! - What a message changed is returned as **one change per level** — its size after the
//!   message, where that differs from before — so `depth` never names a level twice within a
//!   book message and replaying `depth` gives the book after every message.
//!
//! No depth cut: the indexer sends updates for every level and deletes each level it removes.
//! Pure: no clocks, no rows. Levels are exact 10⁻⁸ integers, never `f64`.

use std::collections::HashSet;

use crate::book::Book;
use crate::model::{BookSide, Level, Price, Qty};

use super::wire::BookUpdate;

/// What a message changed: each level touched whose size differs from before it (0:
/// removed), in the order first touched.
pub type Changes = Vec<(BookSide, Level)>;

/// Replaces `book` with the snapshot's levels; the changes are the levels of the new book.
pub fn snapshot(book: &mut Book, levels: &BookUpdate) -> Changes {
    book.clear();
    apply(book, std::slice::from_ref(levels))
}

/// Applies `updates` to `book` in order and returns the net change of each level touched.
pub fn apply(book: &mut Book, updates: &[BookUpdate]) -> Changes {
    // Each level touched, with its size before the message, in the order first touched.
    let mut touched: Vec<(BookSide, Price, Qty)> = Vec::new();
    let mut seen: HashSet<(BookSide, i64)> = HashSet::new();
    for update in updates {
        for (side, levels) in [(BookSide::Bid, &update.bids), (BookSide::Ask, &update.asks)] {
            for level in levels {
                let before = book.get(side, level.price);
                if seen.insert((side, level.price.raw())) {
                    touched.push((side, level.price, before.unwrap_or(Qty::ZERO)));
                }
                if level.qty.raw() == 0 && before.is_none() {
                    continue;
                }
                book.set(side, level.price, level.qty);
            }
        }
    }
    touched
        .into_iter()
        .filter_map(|(side, price, before)| {
            let after = book.get(side, price).unwrap_or(Qty::ZERO);
            (after != before).then(|| (side, Level::new(price, after)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(px: &str, sz: &str) -> Level {
        Level::new(Price::parse(px).unwrap(), Qty::parse(sz).unwrap())
    }

    fn update(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> BookUpdate {
        let side = |v: &[(&str, &str)]| v.iter().map(|(p, q)| lv(p, q)).collect();
        BookUpdate { bids: side(bids), asks: side(asks) }
    }

    #[test]
    fn a_batch_applies_in_order_and_each_level_changes_once() {
        let mut book = Book::new();
        let made = snapshot(&mut book, &update(&[("100", "1"), ("99", "0")], &[("101", "2")]));
        // The size-0 snapshot level is nothing.
        assert_eq!(made, vec![(BookSide::Bid, lv("100", "1")), (BookSide::Ask, lv("101", "2"))]);
        let batch = [
            update(&[("100", "3")], &[]),
            update(&[("98", "5")], &[("101", "0")]),
            update(&[("100", "4"), ("98", "0")], &[("102", "1")]),
            // A price named again ends at the last size; 97 appears and goes: no change.
            update(&[("100", "1.5"), ("97", "1")], &[]),
            update(&[("97", "0"), ("96", "0")], &[]),
        ];
        let made = apply(&mut book, &batch);
        assert_eq!(
            made,
            vec![
                (BookSide::Bid, lv("100", "1.5")),
                (BookSide::Ask, lv("101", "0")),
                (BookSide::Ask, lv("102", "1")),
            ]
        );
        assert_eq!(book.top(BookSide::Bid, 5), vec![lv("100", "1.5")]);
        assert_eq!(book.top(BookSide::Ask, 5), vec![lv("102", "1")]);
        // A snapshot replaces everything.
        snapshot(&mut book, &update(&[("1", "1")], &[]));
        assert_eq!((book.depth(BookSide::Bid), book.depth(BookSide::Ask)), (1, 0));
    }
}
