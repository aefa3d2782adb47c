//! The simulated exchange's view of the recorded L2 book: one sorted `Vec` per side with the
//! best level last, so the updates near the touch that dominate a feed move few elements, a
//! lookup is a binary search, and nothing allocates once the vectors have grown.
//!
//! The generic [`crate::book::Book`] (a `BTreeMap` per side) is the reference for integrity;
//! this one exists for the replay's speed and knows nothing of frames or sequence numbers.

use crate::model::{BookSide, Price, Qty};

/// Levels of both sides as `(key, size)` in raw units, ascending by key, best last. The key is
/// the price for bids and the negated price for asks.
#[derive(Debug, Default, Clone)]
pub struct Book {
    bids: Vec<(i64, i64)>,
    asks: Vec<(i64, i64)>,
}

fn key(side: BookSide, price: Price) -> i64 {
    match side {
        BookSide::Bid => price.raw(),
        BookSide::Ask => -price.raw(),
    }
}

fn price_of(side: BookSide, key: i64) -> Price {
    match side {
        BookSide::Bid => Price::from_raw(key),
        BookSide::Ask => Price::from_raw(-key),
    }
}

impl Book {
    pub fn new() -> Self {
        Self { bids: Vec::with_capacity(1024), asks: Vec::with_capacity(1024) }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn levels(&self, side: BookSide) -> &Vec<(i64, i64)> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Sets a level's absolute size (0 or less removes it) and returns its previous size.
    pub fn set(&mut self, side: BookSide, price: Price, qty: Qty) -> Qty {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let k = key(side, price);
        match levels.binary_search_by_key(&k, |l| l.0) {
            Ok(i) => {
                let prev = levels[i].1;
                if qty.raw() > 0 {
                    levels[i].1 = qty.raw();
                } else {
                    levels.remove(i);
                }
                Qty::from_raw(prev)
            }
            Err(i) => {
                if qty.raw() > 0 {
                    levels.insert(i, (k, qty.raw()));
                }
                Qty::ZERO
            }
        }
    }

    /// The visible size at a price (zero when there is no level).
    pub fn size(&self, side: BookSide, price: Price) -> Qty {
        let levels = self.levels(side);
        match levels.binary_search_by_key(&key(side, price), |l| l.0) {
            Ok(i) => Qty::from_raw(levels[i].1),
            Err(_) => Qty::ZERO,
        }
    }

    /// The best level of a side.
    pub fn best(&self, side: BookSide) -> Option<(Price, Qty)> {
        self.levels(side).last().map(|&(k, q)| (price_of(side, k), Qty::from_raw(q)))
    }

    /// Levels of a side from the best outwards.
    pub fn walk(&self, side: BookSide) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.levels(side).iter().rev().map(move |&(k, q)| (price_of(side, k), Qty::from_raw(q)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: i64) -> Price {
        Price::from_raw(raw)
    }

    #[test]
    fn keeps_levels_sorted_with_the_best_first_when_walked() {
        let mut b = Book::new();
        for (side, price, qty) in [
            (BookSide::Bid, 100, 5),
            (BookSide::Bid, 102, 1),
            (BookSide::Bid, 101, 2),
            (BookSide::Ask, 105, 3),
            (BookSide::Ask, 103, 4),
        ] {
            b.set(side, p(price), Qty::from_raw(qty));
        }
        assert_eq!(b.best(BookSide::Bid), Some((p(102), Qty::from_raw(1))));
        assert_eq!(b.best(BookSide::Ask), Some((p(103), Qty::from_raw(4))));
        let bids: Vec<i64> = b.walk(BookSide::Bid).map(|(p, _)| p.raw()).collect();
        assert_eq!(bids, [102, 101, 100]);
        assert_eq!(b.set(BookSide::Bid, p(102), Qty::ZERO), Qty::from_raw(1));
        assert_eq!(b.best(BookSide::Bid).map(|l| l.0), Some(p(101)));
        assert_eq!(b.size(BookSide::Ask, p(105)), Qty::from_raw(3));
        assert_eq!(b.size(BookSide::Ask, p(104)), Qty::ZERO);
        assert_eq!(b.set(BookSide::Ask, p(104), Qty::ZERO), Qty::ZERO);
    }
}
