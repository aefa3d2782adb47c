//! A flat L2 book for replay speed, used where [`super::Book`] would be too slow: `verify`
//! replays every depth row through one, and the backtest's simulated exchange keeps the
//! recorded book in one. Each side is a sorted run of raw (price, qty) with the best level
//! last, cut into chunks of at most [`CHUNK`] levels: a lookup is two binary searches, the
//! top N is the end of the last chunk, an update of the best level touches nothing else, and
//! an insert or removal anywhere moves at most one chunk's levels.
//!
//! One sorted `Vec` per side moved every level between the change and the best: cheap near
//! the touch, but a real venue's deep book (a thousand levels a side, updated all over) spent
//! 18 % of a backtest of the shipped BTCUSDT sample moving levels (issue 22).
//!
//! Same rules as [`super::Book`] (levels keyed by exact price, a size of 0 or less removes
//! the level, a snapshot replaces the book; property tests hold the two equal), but raw
//! fixed-point units, no boxed iterators, and no judging of frames: callers check those.

use std::cmp::Ordering;

use crate::model::{BookSide, Price, Qty};

/// Raw fixed-point (price, qty), 10⁻⁸ units.
pub type RawLevel = (i64, i64);

/// The most levels a chunk holds; a fuller one is split in two.
const CHUNK: usize = 128;

/// One side: levels with a size, worst first and best last, in chunks that are never empty.
#[derive(Debug, Clone, Default)]
struct Levels {
    chunks: Vec<Vec<RawLevel>>,
    len: usize,
    /// The chunk the last [`Levels::set`] found: a frame's rows come in price order, so the
    /// next lookup is usually in that chunk or the next, found without searching the chunks.
    finger: usize,
    /// Where in that chunk it found it: the next row of the frame is usually a place or two
    /// away, found by galloping from here in two or three comparisons rather than the
    /// binary search's six or seven (a frame of the simulated venue updates most of its 50
    /// levels a side: the search was 8 % of a replay, issue 22).
    place: usize,
}

impl Levels {
    fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
        self.finger = 0;
        self.place = 0;
    }

    /// The levels from the best outwards.
    fn walk(&self) -> impl Iterator<Item = RawLevel> + '_ {
        self.chunks.iter().rev().flat_map(|c| c.iter().rev()).copied()
    }

    fn best(&self) -> Option<RawLevel> {
        self.chunks.last().and_then(|c| c.last()).copied()
    }

    /// How a level's price ranks against `price` (worse levels are `Less`).
    fn rank(side: BookSide, level: i64, price: i64) -> Ordering {
        match side {
            BookSide::Bid => level.cmp(&price),
            BookSide::Ask => price.cmp(&level),
        }
    }

    /// The chunk that holds `price` or would (`chunks.len()` when it is better than every
    /// level), and its place there.
    fn find(&self, side: BookSide, price: i64) -> (usize, Result<usize, usize>) {
        // Chunk `c` holds `price` (or would) when its last level is not worse and the last
        // level of the chunk before is: try the finger and its neighbours first.
        let below = |c: usize| {
            self.chunks[c].last().is_some_and(|l| Self::rank(side, l.0, price) == Ordering::Less)
        };
        let fits = |c: usize| c < self.chunks.len() && !below(c) && (c == 0 || below(c - 1));
        let f = self.finger;
        let c = if fits(f) {
            f
        } else if fits(f + 1) {
            f + 1
        } else if f > 0 && fits(f - 1) {
            f - 1
        } else {
            self.chunks.partition_point(|chunk| {
                chunk.last().is_some_and(|l| Self::rank(side, l.0, price) == Ordering::Less)
            })
        };
        match self.chunks.get(c) {
            Some(chunk) => {
                let hint = if c == f { self.place } else { chunk.len() };
                (c, Self::gallop(chunk, side, price, hint))
            }
            None => (c, Err(0)),
        }
    }

    /// `binary_search` of `price` in a chunk, by exponential steps out from place `hint`.
    fn gallop(chunk: &[RawLevel], side: BookSide, price: i64, hint: usize) -> Result<usize, usize> {
        let worse = |i: usize| Self::rank(side, chunk[i].0, price) == Ordering::Less;
        let hint = hint.min(chunk.len());
        // Find `[lo, hi)` holding the first level that is not worse than `price`: every
        // level before `lo` is worse, the level at `hi` (if any) is not.
        let (lo, hi) = if hint > 0 && !worse(hint - 1) {
            // At or before hint - 1: step down.
            let (mut hi, mut step) = (hint - 1, 1);
            loop {
                if hi < step {
                    break (0, hi);
                }
                let probe = hi - step;
                if worse(probe) {
                    break (probe + 1, hi);
                }
                hi = probe;
                step *= 2;
            }
        } else {
            // At or after hint: step up.
            let (mut lo, mut step) = (hint, 1);
            loop {
                let probe = lo + step - 1;
                if probe >= chunk.len() {
                    break (lo, chunk.len());
                }
                if !worse(probe) {
                    break (lo, probe);
                }
                lo = probe + 1;
                step *= 2;
            }
        };
        let at =
            lo + chunk[lo..hi].partition_point(|l| Self::rank(side, l.0, price) == Ordering::Less);
        match chunk.get(at) {
            Some(l) if l.0 == price => Ok(at),
            _ => Err(at),
        }
    }

    fn size(&self, side: BookSide, price: i64) -> i64 {
        match self.find(side, price) {
            (c, Ok(i)) => self.chunks[c][i].1,
            _ => 0,
        }
    }

    fn set(&mut self, side: BookSide, price: i64, qty: i64) -> i64 {
        // Most updates touch the best level: try it before searching.
        if let Some(last) = self.chunks.last_mut() {
            if let Some(best) = last.last_mut() {
                if best.0 == price {
                    let prev = best.1;
                    if qty > 0 {
                        best.1 = qty;
                    } else {
                        last.pop();
                        self.len -= 1;
                        if last.is_empty() {
                            self.chunks.pop();
                        }
                    }
                    return prev;
                }
            }
        }
        let found = self.find(side, price);
        self.finger = found.0;
        self.place = match found.1 {
            Ok(i) | Err(i) => i,
        };
        match found {
            (c, Ok(i)) => {
                let chunk = &mut self.chunks[c];
                let prev = chunk[i].1;
                if qty > 0 {
                    chunk[i].1 = qty;
                } else {
                    chunk.remove(i);
                    self.len -= 1;
                    if chunk.is_empty() {
                        self.chunks.remove(c);
                    }
                }
                prev
            }
            (c, Err(i)) => {
                if qty > 0 {
                    // Better than every level: the end of the last chunk.
                    let (c, i) = match self.chunks.len() {
                        0 => {
                            self.chunks.push(Vec::with_capacity(CHUNK + 1));
                            (0, 0)
                        }
                        n if c == n => (n - 1, self.chunks[n - 1].len()),
                        _ => (c, i),
                    };
                    let chunk = &mut self.chunks[c];
                    chunk.insert(i, (price, qty));
                    self.len += 1;
                    if chunk.len() > CHUNK {
                        let mut upper = Vec::with_capacity(CHUNK + 1);
                        upper.extend(chunk.drain(CHUNK / 2..));
                        self.chunks.insert(c + 1, upper);
                    }
                }
                0
            }
        }
    }

    /// Sorts levels added in any order into chunks; how many repeated prices were dropped
    /// (the later one is kept).
    fn sort(&mut self, side: BookSide) -> usize {
        let mut levels: Vec<RawLevel> = self.chunks.drain(..).flatten().collect();
        levels.sort_by(|a, b| Self::rank(side, a.0, b.0));
        let before = levels.len();
        // Stable sort keeps arrival order among equal prices; keep the last of each run.
        levels.reverse();
        levels.dedup_by_key(|l| l.0);
        levels.reverse();
        self.len = levels.len();
        self.chunks = levels.chunks(CHUNK / 2).map(<[RawLevel]>::to_vec).collect();
        before - self.len
    }
}

#[derive(Debug, Clone, Default)]
pub struct Ladder {
    /// Ascending by price: the best bid is last.
    bids: Levels,
    /// Descending by price: the best ask is last.
    asks: Levels,
}

/// Two ladders are equal when they hold the same levels, however they are chunked.
impl PartialEq for Ladder {
    fn eq(&self, other: &Self) -> bool {
        self.bids.walk().eq(other.bids.walk()) && self.asks.walk().eq(other.asks.walk())
    }
}

impl Eq for Ladder {}

impl Ladder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ladder with room for `levels` levels per side before its chunk lists grow.
    pub fn with_capacity(levels: usize) -> Self {
        let side = || Levels {
            chunks: Vec::with_capacity(levels / (CHUNK / 2) + 1),
            len: 0,
            finger: 0,
            place: 0,
        };
        Self { bids: side(), asks: side() }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn side(&self, side: BookSide) -> &Levels {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn side_mut(&mut self, side: BookSide) -> &mut Levels {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// Sets a level to its new absolute size (raw units; zero or less removes it) and returns
    /// its previous size (0 when there was no level).
    pub fn set(&mut self, side: BookSide, price: i64, qty: i64) -> i64 {
        self.side_mut(side).set(side, price, qty)
    }

    /// [`Ladder::set`] in typed units.
    pub fn set_level(&mut self, side: BookSide, price: Price, qty: Qty) -> Qty {
        Qty::from_raw(self.set(side, price.raw(), qty.raw()))
    }

    /// Adds a level without keeping order; call [`Ladder::finish_unsorted`] after the last.
    pub fn push_unsorted(&mut self, side: BookSide, price: i64, qty: i64) {
        if qty > 0 {
            let levels = self.side_mut(side);
            match levels.chunks.last_mut() {
                Some(chunk) => chunk.push((price, qty)),
                None => levels.chunks.push(vec![(price, qty)]),
            }
        }
    }

    /// Sorts what [`Ladder::push_unsorted`] added and returns how many prices were named
    /// more than once (the later one is kept, as in a sequence of sets).
    pub fn finish_unsorted(&mut self) -> usize {
        self.bids.sort(BookSide::Bid) + self.asks.sort(BookSide::Ask)
    }

    /// The best level of one side, raw.
    pub fn best(&self, side: BookSide) -> Option<RawLevel> {
        self.side(side).best()
    }

    /// The best level of one side, typed.
    pub fn best_level(&self, side: BookSide) -> Option<(Price, Qty)> {
        self.best(side).map(|(p, q)| (Price::from_raw(p), Qty::from_raw(q)))
    }

    /// Level `i` of one side (0 = best).
    pub fn level(&self, side: BookSide, i: usize) -> Option<RawLevel> {
        self.side(side).walk().nth(i)
    }

    /// Number of levels on one side.
    pub fn depth(&self, side: BookSide) -> usize {
        self.side(side).len
    }

    /// The visible size at a price, raw (0 when there is no level).
    pub fn size(&self, side: BookSide, price: i64) -> i64 {
        self.side(side).size(side, price)
    }

    /// [`Ladder::size`] in typed units.
    pub fn size_at(&self, side: BookSide, price: Price) -> Qty {
        Qty::from_raw(self.size(side, price.raw()))
    }

    /// Levels of one side from the best outwards, typed.
    pub fn walk(&self, side: BookSide) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.side(side).walk().map(|(p, q)| (Price::from_raw(p), Qty::from_raw(q)))
    }

    /// Whether the best `levels.len()` levels of a side are exactly `levels` (best first) and
    /// the side has no other level within the first `n` (the hot path of the top comparison).
    pub fn top_equals(&self, side: BookSide, levels: &[RawLevel], n: usize) -> bool {
        let own = self.side(side);
        own.len.min(n) == levels.len() && own.walk().zip(levels).all(|(a, b)| a == *b)
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
            let mut a = self.side(side).walk().peekable();
            let mut b = other.side(side).walk().peekable();
            let better = |x: i64, y: i64| match side {
                BookSide::Bid => x > y,
                BookSide::Ask => x < y,
            };
            // Walk from the best level down, so the first differences reported are the top.
            loop {
                match (a.peek().copied(), b.peek().copied()) {
                    (Some(x), Some(y)) if x.0 == y.0 => {
                        if x.1 != y.1 {
                            count += 1;
                            each(side, x.0, x.1, y.1);
                        }
                        a.next();
                        b.next();
                    }
                    (Some(x), Some(y)) if better(x.0, y.0) => {
                        count += 1;
                        each(side, x.0, x.1, 0);
                        a.next();
                    }
                    (Some(x), None) => {
                        count += 1;
                        each(side, x.0, x.1, 0);
                        a.next();
                    }
                    (_, Some(y)) => {
                        count += 1;
                        each(side, y.0, 0, y.1);
                        b.next();
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
    fn galloping_from_any_place_finds_what_a_binary_search_finds() {
        for len in 0..12usize {
            for side in [Bid, Ask] {
                // Worst first: ascending bids, descending asks, at even prices.
                let mut chunk: Vec<RawLevel> = (0..len as i64).map(|i| (2 * i + 2, 1)).collect();
                if side == Ask {
                    chunk.reverse();
                }
                for price in 0..=(2 * len as i64 + 3) {
                    let want = chunk.binary_search_by(|l| Levels::rank(side, l.0, price));
                    for hint in 0..=len + 2 {
                        let got = Levels::gallop(&chunk, side, price, hint);
                        assert_eq!(got, want, "{side:?} len {len} price {price} hint {hint}");
                    }
                }
            }
        }
    }

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

    /// Many levels set and removed in a scattered order (so chunks split and empty) read
    /// the same as a sorted map of the same sets.
    #[test]
    fn chunks_split_and_empty_like_a_sorted_map() {
        use std::collections::BTreeMap;
        for side in [Bid, Ask] {
            let mut ladder = Ladder::with_capacity(16);
            let mut model = BTreeMap::new();
            // 1,000 prices in a scattered order (7919 is prime), then every third removed,
            // then a second pass of new sizes and removals.
            let prices = (0..1_000i64).map(|k| 10_000 + (k * 7_919) % 1_000);
            for (k, p) in prices.clone().enumerate() {
                let qty = 1 + k as i64;
                assert_eq!(ladder.set(side, p, qty), model.insert(p, qty).unwrap_or(0));
            }
            for (k, p) in prices.enumerate() {
                let qty = if k % 3 == 0 { 0 } else { 5 + k as i64 % 7 };
                let prev = if qty > 0 { model.insert(p, qty) } else { model.remove(&p) };
                assert_eq!(ladder.set(side, p, qty), prev.unwrap_or(0));
            }
            let expected: Vec<RawLevel> = match side {
                Bid => model.iter().rev().map(|(&p, &q)| (p, q)).collect(),
                Ask => model.iter().map(|(&p, &q)| (p, q)).collect(),
            };
            let walked: Vec<RawLevel> =
                ladder.walk(side).map(|(p, q)| (p.raw(), q.raw())).collect();
            assert_eq!(walked, expected);
            assert_eq!(ladder.depth(side), expected.len());
            assert_eq!(ladder.best(side), expected.first().copied());
            assert_eq!(ladder.level(side, 500), expected.get(500).copied());
            for p in 9_990..11_010 {
                assert_eq!(ladder.size(side, p), model.get(&p).copied().unwrap_or(0), "{p}");
            }
            assert!(ladder.side(side).chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
            // Emptying the side from the best down leaves no chunk.
            for (p, _) in expected {
                ladder.set(side, p, 0);
            }
            assert_eq!((ladder.best(side), ladder.depth(side)), (None, 0));
            assert!(ladder.side(side).chunks.is_empty());
        }
    }
}
