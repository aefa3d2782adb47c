//! A flat L2 book for replay speed: each side a sorted `Vec` of raw (price, qty) with the best
//! level last, so updates near the top move few elements and the top N is a slice.
//!
//! Same rules as [`crate::book::Book`] (levels keyed by exact price, 0 removes, a snapshot
//! replaces the book; a unit test holds the two equal), but no allocation once warm and no
//! boxed iterators. It must not judge frames: the checks in `book.rs` do that.

/// Raw fixed-point (price, qty), 10⁻⁸ units.
pub(crate) type RawLevel = (i64, i64);

#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    /// Ascending by price: the best bid is last.
    bids: Vec<RawLevel>,
    /// Descending by price: the best ask is last.
    asks: Vec<RawLevel>,
}

impl Ladder {
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn side(&self, bid: bool) -> &Vec<RawLevel> {
        if bid {
            &self.bids
        } else {
            &self.asks
        }
    }

    fn position(side: &[RawLevel], bid: bool, price: i64) -> Result<usize, usize> {
        if bid {
            side.binary_search_by(|l| l.0.cmp(&price))
        } else {
            side.binary_search_by(|l| price.cmp(&l.0))
        }
    }

    /// Sets a level to its new absolute size; zero or less removes it.
    pub fn set(&mut self, bid: bool, price: i64, qty: i64) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        // Most updates touch the best level: try it before searching.
        if let Some(last) = side.last_mut() {
            if last.0 == price {
                if qty > 0 {
                    last.1 = qty;
                } else {
                    side.pop();
                }
                return;
            }
        }
        match Self::position(side, bid, price) {
            Ok(i) if qty > 0 => side[i].1 = qty,
            Ok(i) => {
                side.remove(i);
            }
            Err(i) if qty > 0 => side.insert(i, (price, qty)),
            Err(_) => {}
        }
    }

    /// Adds a level without keeping order; call [`Ladder::finish_unsorted`] after the last.
    pub fn push_unsorted(&mut self, bid: bool, price: i64, qty: i64) {
        if qty > 0 {
            let side = if bid { &mut self.bids } else { &mut self.asks };
            side.push((price, qty));
        }
    }

    /// Sorts what [`Ladder::push_unsorted`] added and returns how many prices were named
    /// more than once (the later one is kept, as in a sequence of sets).
    pub fn finish_unsorted(&mut self) -> usize {
        let mut repeated = 0;
        for bid in [true, false] {
            let side = if bid { &mut self.bids } else { &mut self.asks };
            if bid {
                side.sort_by_key(|l| l.0);
            } else {
                side.sort_by_key(|l| std::cmp::Reverse(l.0));
            }
            let before = side.len();
            // Stable sort keeps arrival order among equal prices; keep the last of each run.
            side.reverse();
            side.dedup_by_key(|l| l.0);
            side.reverse();
            repeated += before - side.len();
        }
        repeated
    }

    pub fn best(&self, bid: bool) -> Option<RawLevel> {
        self.side(bid).last().copied()
    }

    /// Level `i` of one side (0 = best).
    pub fn level(&self, bid: bool, i: usize) -> Option<RawLevel> {
        let side = self.side(bid);
        side.len().checked_sub(i + 1).map(|j| side[j])
    }

    #[cfg(test)]
    pub fn depth(&self, bid: bool) -> usize {
        self.side(bid).len()
    }

    /// Whether the best `levels.len()` levels of a side are exactly `levels` (best first) and
    /// the side has no other level within the first `n` (the hot path of the top comparison).
    pub fn top_equals(&self, bid: bool, levels: &[RawLevel], n: usize) -> bool {
        let side = self.side(bid);
        side.len().min(n) == levels.len() && side.iter().rev().zip(levels).all(|(a, b)| a == b)
    }

    /// Best bid at or above best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best(true), self.best(false)), (Some(b), Some(a)) if b.0 >= a.0)
    }

    /// The levels that differ between two books, walking both sides in price order:
    /// `(bid, price, qty here, qty there)` with 0 for a missing level. Calls `each` per
    /// difference and returns how many there were.
    pub fn differences(&self, other: &Ladder, mut each: impl FnMut(bool, i64, i64, i64)) -> usize {
        let mut count = 0;
        for bid in [true, false] {
            let (a, b) = (self.side(bid), other.side(bid));
            let (mut i, mut j) = (a.len(), b.len());
            // Walk from the best level down, so the first differences reported are the top.
            while i > 0 || j > 0 {
                let pa = (i > 0).then(|| a[i - 1]);
                let pb = (j > 0).then(|| b[j - 1]);
                let better = |x: i64, y: i64| if bid { x > y } else { x < y };
                match (pa, pb) {
                    (Some(x), Some(y)) if x.0 == y.0 => {
                        if x.1 != y.1 {
                            count += 1;
                            each(bid, x.0, x.1, y.1);
                        }
                        i -= 1;
                        j -= 1;
                    }
                    (Some(x), Some(y)) if better(x.0, y.0) => {
                        count += 1;
                        each(bid, x.0, x.1, 0);
                        i -= 1;
                    }
                    (Some(x), None) => {
                        count += 1;
                        each(bid, x.0, x.1, 0);
                        i -= 1;
                    }
                    (_, Some(y)) => {
                        count += 1;
                        each(bid, y.0, 0, y.1);
                        j -= 1;
                    }
                    (None, None) => break,
                }
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Book;
    use crate::model::{BookSide, Price, Qty};
    use proptest::prelude::*;

    /// (bid, price, qty) applied in order, then the expected best bid and ask.
    type SetCase = (&'static [(bool, i64, i64)], Option<RawLevel>, Option<RawLevel>);

    #[test]
    fn sets_follow_the_book_rules() {
        let cases: &[SetCase] = &[
            (&[(true, 10, 1), (true, 11, 2), (false, 13, 1)], Some((11, 2)), Some((13, 1))),
            (&[(true, 10, 1), (true, 11, 2), (true, 11, 0)], Some((10, 1)), None),
            (&[(false, 13, 1), (false, 12, 5), (false, 12, 7)], None, Some((12, 7))),
            (&[(false, 13, 1), (false, 14, 0)], None, Some((13, 1))),
            (&[(true, 10, 1), (true, 10, -3)], None, None),
        ];
        for (sets, bid, ask) in cases {
            let mut ladder = Ladder::default();
            for &(b, p, q) in *sets {
                ladder.set(b, p, q);
            }
            assert_eq!((ladder.best(true), ladder.best(false)), (*bid, *ask), "{sets:?}");
        }
    }

    #[test]
    fn unsorted_snapshot_keeps_the_last_of_a_repeated_price() {
        let mut ladder = Ladder::default();
        for (b, p, q) in
            [(true, 10, 1), (true, 12, 1), (true, 10, 4), (false, 15, 2), (false, 14, 1)]
        {
            ladder.push_unsorted(b, p, q);
        }
        assert_eq!(ladder.finish_unsorted(), 1);
        assert_eq!(ladder.level(true, 1), Some((10, 4)));
        assert_eq!(ladder.best(false), Some((14, 1)));
        assert_eq!(ladder.level(false, 1), Some((15, 2)));
    }

    #[test]
    fn differences_name_each_level_once() {
        let mut a = Ladder::default();
        let mut b = Ladder::default();
        for (l, p, q) in [(&mut a, 10, 1), (&mut b, 10, 2)] {
            l.set(true, p, q);
        }
        a.set(false, 12, 1);
        b.set(false, 13, 1);
        let mut seen = Vec::new();
        let n = a.differences(&b, |bid, p, x, y| seen.push((bid, p, x, y)));
        assert_eq!(n, 3);
        assert_eq!(seen, vec![(true, 10, 1, 2), (false, 12, 1, 0), (false, 13, 0, 1)]);
        assert_eq!(a.differences(&a.clone(), |_, _, _, _| {}), 0);
    }

    proptest! {
        #[test]
        fn ladder_equals_the_shared_book(sets in prop::collection::vec((any::<bool>(), 1i64..40, 0i64..4), 0..200)) {
            let mut ladder = Ladder::default();
            let mut book = Book::new();
            for (bid, price, qty) in sets {
                ladder.set(bid, price, qty);
                let side = if bid { BookSide::Bid } else { BookSide::Ask };
                book.set(side, Price::from_raw(price), Qty::from_raw(qty));
            }
            for (bid, side) in [(true, BookSide::Bid), (false, BookSide::Ask)] {
                let want: Vec<RawLevel> = book.top(side, 100).iter().map(|l| (l.price.raw(), l.qty.raw())).collect();
                let got: Vec<RawLevel> = (0..ladder.depth(bid)).filter_map(|i| ladder.level(bid, i)).collect();
                prop_assert_eq!(got, want);
            }
            prop_assert_eq!(ladder.is_crossed(), book.is_crossed());
        }
    }
}
