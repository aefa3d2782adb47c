//! Property tests of the book family: [`Book`] and [`Ladder`] follow the same rules, and
//! those rules hold for any input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{Book, Ladder};
use crate::model::{BookFrame, BookSide, EventTime, FrameKind, Level, Price, Qty};

fn side_of(bid: bool) -> BookSide {
    if bid {
        BookSide::Bid
    } else {
        BookSide::Ask
    }
}

/// (bid?, price, qty) updates on a small price grid, so levels are often hit twice and
/// removed; qty 0 removes.
fn updates(max: usize) -> impl Strategy<Value = Vec<(bool, i64, i64)>> {
    prop::collection::vec((any::<bool>(), 1i64..40, 0i64..4), 0..max)
}

fn frame(kind: FrameKind, updates: &[(bool, i64, i64)]) -> BookFrame {
    let level = |&(_, p, q): &(bool, i64, i64)| Level::new(Price::from_raw(p), Qty::from_raw(q));
    BookFrame {
        market: "X".into(),
        kind,
        seq: 1,
        ts_event: EventTime::from_nanos(0),
        bids: updates.iter().filter(|u| u.0).map(level).collect(),
        asks: updates.iter().filter(|u| !u.0).map(level).collect(),
    }
}

/// The final state of a sequence of sets: price → qty per side, zeros dropped.
fn final_state(sets: &[(bool, i64, i64)]) -> [BTreeMap<i64, i64>; 2] {
    let mut state = [BTreeMap::new(), BTreeMap::new()];
    for &(bid, p, q) in sets {
        let side = &mut state[usize::from(!bid)];
        if q > 0 {
            side.insert(p, q);
        } else {
            side.remove(&p);
        }
    }
    state
}

fn raw_levels(book: &Book, side: BookSide) -> Vec<(i64, i64)> {
    book.levels(side).map(|l| (l.price.raw(), l.qty.raw())).collect()
}

/// One set on both forms; the ladder must return the size the book had.
fn set_both(
    ladder: &mut Ladder,
    book: &mut Book,
    bid: bool,
    price: i64,
    qty: i64,
) -> Result<(), TestCaseError> {
    let before = book.get(side_of(bid), Price::from_raw(price)).map_or(0, |q| q.raw());
    prop_assert_eq!(ladder.set(side_of(bid), price, qty), before);
    book.set(side_of(bid), Price::from_raw(price), Qty::from_raw(qty));
    Ok(())
}

fn ladder_levels(ladder: &Ladder, side: BookSide) -> Vec<(i64, i64)> {
    (0..ladder.depth(side)).filter_map(|i| ladder.level(side, i)).collect()
}

proptest! {
    #[test]
    fn snapshot_then_deltas_equals_the_book_of_the_final_state(
        snapshot in prop::collection::vec((any::<bool>(), 1i64..40, 1i64..4), 0..60),
        deltas in prop::collection::vec(updates(20), 0..10),
    ) {
        let mut book = Book::new();
        // Some levels to be replaced by the snapshot.
        book.set(BookSide::Bid, Price::from_raw(7), Qty::from_raw(1));
        book.apply(&frame(FrameKind::Snapshot, &snapshot)).unwrap();
        let mut ladder = Ladder::default();
        for &(bid, p, q) in &snapshot {
            ladder.push_unsorted(side_of(bid), p, q);
        }
        ladder.finish_unsorted();
        // A snapshot lists sizes above zero; one naming a price twice keeps the later size,
        // as a sequence of sets would.
        let mut all = snapshot.clone();
        for delta in &deltas {
            book.apply(&frame(FrameKind::Delta, delta)).unwrap();
            for &(bid, p, q) in delta {
                ladder.set(side_of(bid), p, q);
            }
            all.extend_from_slice(delta);
        }
        let state = final_state(&all);
        let mut fresh = Book::new();
        for (i, side) in [BookSide::Bid, BookSide::Ask].into_iter().enumerate() {
            for (&p, &q) in &state[i] {
                fresh.set(side, Price::from_raw(p), Qty::from_raw(q));
            }
        }
        prop_assert_eq!(&book, &fresh);
        prop_assert_eq!(book.checksum(), fresh.checksum());
        for side in [BookSide::Bid, BookSide::Ask] {
            prop_assert_eq!(ladder_levels(&ladder, side), raw_levels(&book, side));
        }
    }

    #[test]
    fn ladder_equals_the_book_after_any_sets(sets in updates(200)) {
        let mut ladder = Ladder::default();
        let mut book = Book::new();
        for (bid, price, qty) in sets {
            set_both(&mut ladder, &mut book, bid, price, qty)?;
        }
        for side in [BookSide::Bid, BookSide::Ask] {
            prop_assert_eq!(ladder_levels(&ladder, side), raw_levels(&book, side));
            prop_assert_eq!(ladder.best(side), book.best(side).map(|l| (l.price.raw(), l.qty.raw())));
        }
        prop_assert_eq!(ladder.is_crossed(), book.is_crossed());
    }

    /// A deep book over a wide price grid, so the ladder's chunks split, empty and are
    /// found by the finger and by search: every read equals the book's after each batch.
    #[test]
    fn a_deep_ladder_equals_the_book(
        batches in prop::collection::vec(
            prop::collection::vec((any::<bool>(), 1i64..3_000, 0i64..3), 0..400),
            1..8,
        ),
    ) {
        let mut ladder = Ladder::with_capacity(64);
        let mut book = Book::new();
        for sets in batches {
            // Half the batches in price order, as a venue's frames come.
            let mut sets = sets;
            if sets.len() % 2 == 0 {
                sets.sort_by_key(|&(bid, price, _)| (bid, price));
            }
            for (bid, price, qty) in sets {
                set_both(&mut ladder, &mut book, bid, price, qty)?;
            }
            for side in [BookSide::Bid, BookSide::Ask] {
                prop_assert_eq!(ladder_levels(&ladder, side), raw_levels(&book, side));
                prop_assert_eq!(ladder.depth(side), raw_levels(&book, side).len());
                for price in (1..3_000).step_by(37) {
                    let size = book.get(side, Price::from_raw(price)).map_or(0, |q| q.raw());
                    prop_assert_eq!(ladder.size(side, price), size);
                }
            }
        }
    }

    #[test]
    fn an_uncrossed_input_keeps_best_bid_below_best_ask(
        mid in 10i64..1000,
        sets in prop::collection::vec((any::<bool>(), 1i64..50, 0i64..4), 0..200),
    ) {
        // Bids strictly below `mid`, asks at or above it: no input level crosses.
        let mut book = Book::new();
        let mut ladder = Ladder::default();
        for (bid, off, qty) in sets {
            let price = if bid { mid - off } else { mid + off - 1 };
            book.set(side_of(bid), Price::from_raw(price), Qty::from_raw(qty));
            ladder.set(side_of(bid), price, qty);
            if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
                prop_assert!(b.price < a.price);
            }
            prop_assert!(!book.is_crossed());
            prop_assert!(!ladder.is_crossed());
        }
    }

    #[test]
    fn top_n_is_the_best_n_levels_in_order(sets in updates(200), n in 0usize..12) {
        let mut book = Book::new();
        let mut ladder = Ladder::default();
        for &(bid, p, q) in &sets {
            book.set(side_of(bid), Price::from_raw(p), Qty::from_raw(q));
            ladder.set(side_of(bid), p, q);
        }
        for side in [BookSide::Bid, BookSide::Ask] {
            let all = raw_levels(&book, side);
            let top: Vec<(i64, i64)> =
                book.top(side, n).iter().map(|l| (l.price.raw(), l.qty.raw())).collect();
            prop_assert_eq!(top.len(), n.min(all.len()));
            prop_assert_eq!(&top[..], &all[..top.len()]);
            let better = |a: i64, b: i64| if side == BookSide::Bid { a > b } else { a < b };
            prop_assert!(top.windows(2).all(|w| better(w[0].0, w[1].0)));
            prop_assert!(ladder.top_equals(side, &top, n));
        }
    }

    #[test]
    fn a_zero_size_removes_the_level(sets in updates(100), bid in any::<bool>(), price in 1i64..40) {
        let mut book = Book::new();
        let mut ladder = Ladder::default();
        for &(b, p, q) in &sets {
            book.set(side_of(b), Price::from_raw(p), Qty::from_raw(q));
            ladder.set(side_of(b), p, q);
        }
        let side = side_of(bid);
        let depth = book.depth(side);
        let had = book.get(side, Price::from_raw(price)).is_some();
        book.set(side, Price::from_raw(price), Qty::ZERO);
        ladder.set(side, price, 0);
        prop_assert_eq!(book.get(side, Price::from_raw(price)), None);
        prop_assert_eq!(ladder.size(side, price), 0);
        prop_assert_eq!(book.depth(side), depth - usize::from(had));
        prop_assert_eq!(ladder.depth(side), book.depth(side));
    }
}
