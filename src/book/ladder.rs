//! A flat L2 book for replay speed, used where [`super::Book`] would be too slow: `verify`
//! replays every depth row through one, and the backtest's simulated exchange keeps the
//! recorded book in one. Each side is a sorted `Vec` of raw (price, qty) with the best level
//! last, so the updates near the touch that dominate a feed move few elements, a lookup is a
//! binary search, the top N is a slice, and nothing allocates once the vectors have grown.
//!
//! Same rules as [`super::Book`] (levels keyed by exact price, a size of 0 or less removes
//! the level, a snapshot replaces the book; property tests hold the two equal), but raw
//! fixed-point units, no boxed iterators, and no judging of frames: callers check those.

use crate::model::{BookSide, Price, Qty};

/// Raw fixed-point (price, qty), 10⁻⁸ units.
pub type RawLevel = (i64, i64);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ladder {
    /// Ascending by price: the best bid is last.
    bids: Vec<RawLevel>,
    /// Descending by price: the best ask is last.
    asks: Vec<RawLevel>,
}

impl Ladder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ladder with room for `levels` levels per side before it allocates.
    pub fn with_capacity(levels: usize) -> Self {
        Self { bids: Vec::with_capacity(levels), asks: Vec::with_capacity(levels) }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn side(&self, side: BookSide) -> &Vec<RawLevel> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: BookSide) -> &mut Vec<RawLevel> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    fn position(levels: &[RawLevel], side: BookSide, price: i64) -> Result<usize, usize> {
        match side {
            BookSide::Bid => levels.binary_search_by(|l| l.0.cmp(&price)),
            BookSide::Ask => levels.binary_search_by(|l| price.cmp(&l.0)),
        }
    }

    /// Sets a level to its new absolute size (raw units; zero or less removes it) and returns
    /// its previous size (0 when there was no level).
    pub fn set(&mut self, side: BookSide, price: i64, qty: i64) -> i64 {
        let levels = self.side_mut(side);
        // Most updates touch the best level: try it before searching.
        if let Some(last) = levels.last_mut() {
            if last.0 == price {
                let prev = last.1;
                if qty > 0 {
                    last.1 = qty;
                } else {
                    levels.pop();
                }
                return prev;
            }
        }
        match Self::position(levels, side, price) {
            Ok(i) => {
                let prev = levels[i].1;
                if qty > 0 {
                    levels[i].1 = qty;
                } else {
                    levels.remove(i);
                }
                prev
            }
            Err(i) => {
                if qty > 0 {
                    levels.insert(i, (price, qty));
                }
                0
            }
        }
    }

    /// [`Ladder::set`] in typed units.
    pub fn set_level(&mut self, side: BookSide, price: Price, qty: Qty) -> Qty {
        Qty::from_raw(self.set(side, price.raw(), qty.raw()))
    }

    /// Adds a level without keeping order; call [`Ladder::finish_unsorted`] after the last.
    pub fn push_unsorted(&mut self, side: BookSide, price: i64, qty: i64) {
        if qty > 0 {
            self.side_mut(side).push((price, qty));
        }
    }

    /// Sorts what [`Ladder::push_unsorted`] added and returns how many prices were named
    /// more than once (the later one is kept, as in a sequence of sets).
    pub fn finish_unsorted(&mut self) -> usize {
        let mut repeated = 0;
        for side in [BookSide::Bid, BookSide::Ask] {
            let levels = self.side_mut(side);
            match side {
                BookSide::Bid => levels.sort_by_key(|l| l.0),
                BookSide::Ask => levels.sort_by_key(|l| std::cmp::Reverse(l.0)),
            }
            let before = levels.len();
            // Stable sort keeps arrival order among equal prices; keep the last of each run.
            levels.reverse();
            levels.dedup_by_key(|l| l.0);
            levels.reverse();
            repeated += before - levels.len();
        }
        repeated
    }

    /// The best level of one side, raw.
    pub fn best(&self, side: BookSide) -> Option<RawLevel> {
        self.side(side).last().copied()
    }

    /// The best level of one side, typed.
    pub fn best_level(&self, side: BookSide) -> Option<(Price, Qty)> {
        self.best(side).map(|(p, q)| (Price::from_raw(p), Qty::from_raw(q)))
    }

    /// Level `i` of one side (0 = best).
    pub fn level(&self, side: BookSide, i: usize) -> Option<RawLevel> {
        let levels = self.side(side);
        levels.len().checked_sub(i + 1).map(|j| levels[j])
    }

    /// Number of levels on one side.
    pub fn depth(&self, side: BookSide) -> usize {
        self.side(side).len()
    }

    /// The visible size at a price, raw (0 when there is no level).
    pub fn size(&self, side: BookSide, price: i64) -> i64 {
        let levels = self.side(side);
        match Self::position(levels, side, price) {
            Ok(i) => levels[i].1,
            Err(_) => 0,
        }
    }

    /// [`Ladder::size`] in typed units.
    pub fn size_at(&self, side: BookSide, price: Price) -> Qty {
        Qty::from_raw(self.size(side, price.raw()))
    }

    /// Levels of one side from the best outwards, typed.
    pub fn walk(&self, side: BookSide) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.side(side).iter().rev().map(|&(p, q)| (Price::from_raw(p), Qty::from_raw(q)))
    }

    /// Whether the best `levels.len()` levels of a side are exactly `levels` (best first) and
    /// the side has no other level within the first `n` (the hot path of the top comparison).
    pub fn top_equals(&self, side: BookSide, levels: &[RawLevel], n: usize) -> bool {
        let own = self.side(side);
        own.len().min(n) == levels.len() && own.iter().rev().zip(levels).all(|(a, b)| a == b)
    }

    /// Best bid at or above best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best(BookSide::Bid), self.best(BookSide::Ask)), (Some(b), Some(a)) if b.0 >= a.0)
    }

    /// The levels that differ between two books, walking both sides in price order:
    /// `(side, price, qty here, qty there)` with 0 for a missing level. Calls `each` per
    /// difference and returns how many there were.
    pub fn differences(
        &self,
        other: &Ladder,
        mut each: impl FnMut(BookSide, i64, i64, i64),
    ) -> usize {
        let mut count = 0;
        for side in [BookSide::Bid, BookSide::Ask] {
            let (a, b) = (self.side(side), other.side(side));
            let (mut i, mut j) = (a.len(), b.len());
            let better = |x: i64, y: i64| match side {
                BookSide::Bid => x > y,
                BookSide::Ask => x < y,
            };
            // Walk from the best level down, so the first differences reported are the top.
            while i > 0 || j > 0 {
                let pa = (i > 0).then(|| a[i - 1]);
                let pb = (j > 0).then(|| b[j - 1]);
                match (pa, pb) {
                    (Some(x), Some(y)) if x.0 == y.0 => {
                        if x.1 != y.1 {
                            count += 1;
                            each(side, x.0, x.1, y.1);
                        }
                        i -= 1;
                        j -= 1;
                    }
                    (Some(x), Some(y)) if better(x.0, y.0) => {
                        count += 1;
                        each(side, x.0, x.1, 0);
                        i -= 1;
                    }
                    (Some(x), None) => {
                        count += 1;
                        each(side, x.0, x.1, 0);
                        i -= 1;
                    }
                    (_, Some(y)) => {
                        count += 1;
                        each(side, y.0, 0, y.1);
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
    use BookSide::{Ask, Bid};

    /// (side, price, qty) applied in order, then the expected best bid and ask.
    type SetCase = (&'static [(BookSide, i64, i64)], Option<RawLevel>, Option<RawLevel>);

    #[test]
    fn sets_follow_the_book_rules() {
        let cases: &[SetCase] = &[
            (&[(Bid, 10, 1), (Bid, 11, 2), (Ask, 13, 1)], Some((11, 2)), Some((13, 1))),
            (&[(Bid, 10, 1), (Bid, 11, 2), (Bid, 11, 0)], Some((10, 1)), None),
            (&[(Ask, 13, 1), (Ask, 12, 5), (Ask, 12, 7)], None, Some((12, 7))),
            (&[(Ask, 13, 1), (Ask, 14, 0)], None, Some((13, 1))),
            (&[(Bid, 10, 1), (Bid, 10, -3)], None, None),
        ];
        for (sets, bid, ask) in cases {
            let mut ladder = Ladder::default();
            for &(s, p, q) in *sets {
                ladder.set(s, p, q);
            }
            assert_eq!((ladder.best(Bid), ladder.best(Ask)), (*bid, *ask), "{sets:?}");
        }
    }

    #[test]
    fn keeps_levels_sorted_with_the_best_first_when_walked() {
        let p = Price::from_raw;
        let mut b = Ladder::with_capacity(16);
        for (side, price, qty) in
            [(Bid, 100, 5), (Bid, 102, 1), (Bid, 101, 2), (Ask, 105, 3), (Ask, 103, 4)]
        {
            b.set_level(side, p(price), Qty::from_raw(qty));
        }
        assert_eq!(b.best_level(Bid), Some((p(102), Qty::from_raw(1))));
        assert_eq!(b.best_level(Ask), Some((p(103), Qty::from_raw(4))));
        let bids: Vec<i64> = b.walk(Bid).map(|(p, _)| p.raw()).collect();
        assert_eq!(bids, [102, 101, 100]);
        assert_eq!(b.set_level(Bid, p(102), Qty::ZERO), Qty::from_raw(1));
        assert_eq!(b.best_level(Bid).map(|l| l.0), Some(p(101)));
        assert_eq!(b.size_at(Ask, p(105)), Qty::from_raw(3));
        assert_eq!(b.size_at(Ask, p(104)), Qty::ZERO);
        assert_eq!(b.set_level(Ask, p(104), Qty::ZERO), Qty::ZERO);
    }

    #[test]
    fn unsorted_snapshot_keeps_the_last_of_a_repeated_price() {
        let mut ladder = Ladder::default();
        for (s, p, q) in [(Bid, 10, 1), (Bid, 12, 1), (Bid, 10, 4), (Ask, 15, 2), (Ask, 14, 1)] {
            ladder.push_unsorted(s, p, q);
        }
        assert_eq!(ladder.finish_unsorted(), 1);
        assert_eq!(ladder.level(Bid, 1), Some((10, 4)));
        assert_eq!(ladder.best(Ask), Some((14, 1)));
        assert_eq!(ladder.level(Ask, 1), Some((15, 2)));
    }

    #[test]
    fn differences_name_each_level_once() {
        let mut a = Ladder::default();
        let mut b = Ladder::default();
        a.set(Bid, 10, 1);
        b.set(Bid, 10, 2);
        a.set(Ask, 12, 1);
        b.set(Ask, 13, 1);
        let mut seen = Vec::new();
        let n = a.differences(&b, |s, p, x, y| seen.push((s, p, x, y)));
        assert_eq!(n, 3);
        assert_eq!(seen, vec![(Bid, 10, 1, 2), (Ask, 12, 1, 0), (Ask, 13, 0, 1)]);
        assert_eq!(a.differences(&a.clone(), |_, _, _, _| {}), 0);
    }
}
