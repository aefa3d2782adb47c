//! How one `orderbook.{depth}` message changes a Bybit book (docs/VENUES.md §14.3), on the
//! tables' own [`Book`]: Bybit needs no book of its own, having no checksum over the text.
//!
//! - A snapshot replaces the book; a delta's levels are applied in order, each size absolute,
//!   `"0"` deleting the level. A delete of a level that is not in the book changes nothing and
//!   is no change (Bybit's documentation does not speak of it; the fixture has none; it is
//!   what a delete of a level this side cut itself looks like).
//! - Then each side is kept to the subscribed depth. The venue deletes a level that falls out
//!   of its depth itself (the fixture keeps exactly 500 a side after every message without
//!   help), so the cut is a defence: a level it removes is written as a removal.
//!
//! - A snapshot that continues the stream ([`replace`]) can be taken as its difference from the
//!   book, so the tables hold it as the delta it is.
//!
//! Pure: no clocks, no rows. Levels are exact 10⁻⁸ integers, never `f64`.

use crate::book::Book;
use crate::model::{BookSide, Level, Qty};

/// A change the book made: a level set to a new size (0: removed), in the order made.
pub type Changes = Vec<(BookSide, Level)>;

/// Applies one message's levels to `book` (`snapshot` clears it first), then keeps each side
/// to `depth` levels. Returns every change, the levels cut as removals.
pub fn apply(
    book: &mut Book,
    snapshot: bool,
    bids: &[Level],
    asks: &[Level],
    depth: usize,
) -> Changes {
    if snapshot {
        book.clear();
    }
    let mut changes = Vec::with_capacity(bids.len() + asks.len());
    for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
        for level in levels {
            if level.qty.raw() == 0 && book.get(side, level.price).is_none() {
                continue;
            }
            book.set(side, level.price, level.qty);
            changes.push((side, *level));
        }
        while book.depth(side) > depth {
            // Rare (the venue deletes these itself), so walking to the worst level is fine.
            let Some(worst) = book.levels(side).last() else { break };
            book.set(side, worst.price, Qty::ZERO);
            changes.push((side, Level::new(worst.price, Qty::ZERO)));
        }
    }
    changes
}

/// Replaces `book` with a snapshot's levels (kept to `depth`), returning the difference as
/// changes — levels gone as removals, levels new or resized with their size — so a snapshot
/// that continues the stream (the depth-1 topic sends nothing else) can be written as the
/// delta it amounts to, and a replay of the changes gives the same book.
pub fn replace(book: &mut Book, bids: &[Level], asks: &[Level], depth: usize) -> Changes {
    let mut next = Book::new();
    apply(&mut next, true, bids, asks, depth);
    let mut changes = Vec::new();
    for side in [BookSide::Bid, BookSide::Ask] {
        for old in book.levels(side) {
            if next.get(side, old.price).is_none() {
                changes.push((side, Level::new(old.price, Qty::ZERO)));
            }
        }
        for new in next.levels(side) {
            if book.get(side, new.price) != Some(new.qty) {
                changes.push((side, new));
            }
        }
    }
    *book = next;
    changes
}

/// True when the best bid is at or above the best ask.
pub fn is_crossed(book: &Book) -> bool {
    matches!((book.best_bid(), book.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Price;

    fn lv(px: &str, sz: &str) -> Level {
        Level::new(Price::parse(px).unwrap(), Qty::parse(sz).unwrap())
    }

    #[test]
    fn absent_deletes_change_nothing_and_the_depth_is_kept() {
        let mut book = Book::new();
        apply(&mut book, true, &[lv("10", "1")], &[lv("11", "1")], 2);
        let changes = apply(&mut book, false, &[lv("9", "0")], &[lv("11", "0")], 2);
        assert_eq!(changes, vec![(BookSide::Ask, lv("11", "0"))]);
        assert_eq!(book.depth(BookSide::Ask), 0);
        let changes = apply(&mut book, false, &[lv("12", "1"), lv("13", "2")], &[], 2);
        // 13 and 12 are better than 10, which falls out of the top 2 and is cut.
        assert_eq!(changes.last(), Some(&(BookSide::Bid, lv("10", "0"))));
        assert_eq!(book.top(BookSide::Bid, 5), vec![lv("13", "2"), lv("12", "1")]);
        assert!(!is_crossed(&book));
        apply(&mut book, false, &[], &[lv("13", "1")], 2);
        assert!(is_crossed(&book));
        // A snapshot replaces everything.
        apply(&mut book, true, &[lv("1", "1")], &[], 2);
        assert_eq!((book.depth(BookSide::Bid), book.depth(BookSide::Ask)), (1, 0));
    }

    #[test]
    fn a_replacing_snapshot_is_its_difference() {
        let mut book = Book::new();
        apply(&mut book, true, &[lv("10", "1"), lv("9", "1")], &[lv("11", "1")], 5);
        let changes = replace(&mut book, &[lv("10", "2"), lv("9", "1")], &[lv("12", "1")], 5);
        let want = vec![
            (BookSide::Bid, lv("10", "2")),
            (BookSide::Ask, lv("11", "0")),
            (BookSide::Ask, lv("12", "1")),
        ];
        assert_eq!(changes, want);
        let mut replayed = Book::new();
        apply(&mut replayed, true, &[lv("10", "1"), lv("9", "1")], &[lv("11", "1")], 5);
        let (bids, asks): (Vec<_>, Vec<_>) = changes.iter().partition(|(s, _)| *s == BookSide::Bid);
        let levels =
            |v: Vec<&(BookSide, Level)>| v.into_iter().map(|(_, l)| *l).collect::<Vec<_>>();
        apply(&mut replayed, false, &levels(bids), &levels(asks), 5);
        assert_eq!(replayed, book);
    }
}
