//! [`TopLevels`]: one side of a `book_top` row, held in the row itself.
//!
//! A recorder writes a `book_top` row on every frame. With the levels in two vectors each
//! row cost two allocations, and writing the 80 level columns chased two pointers per row
//! and column into memory the allocator had scattered; the recorder's profile showed both.
//! Inline, the rows of a batch are one block read at a fixed stride.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::super::schema::BOOK_TOP_LEVELS;
use crate::book::Book;
use crate::model::{BookSide, Level, Price, Qty};

const EMPTY: Level = Level { price: Price::ZERO, qty: Qty::ZERO };

/// Up to [`BOOK_TOP_LEVELS`] levels of one side, best first; the levels past that are not
/// kept (the table has no columns for them). Reads as a slice of the levels kept.
#[derive(Clone, Copy)]
pub struct TopLevels {
    len: u8,
    levels: [Level; BOOK_TOP_LEVELS],
}

impl TopLevels {
    pub const CAPACITY: usize = BOOK_TOP_LEVELS;

    pub const fn new() -> Self {
        Self { len: 0, levels: [EMPTY; BOOK_TOP_LEVELS] }
    }

    /// Adds `level` after the others; false (and not kept) when the side is full.
    pub fn push(&mut self, level: Level) -> bool {
        let Some(slot) = self.levels.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = level;
        self.len += 1;
        true
    }

    /// The best `n` levels of one side of `book` (at most [`BOOK_TOP_LEVELS`]).
    pub fn of(book: &Book, side: BookSide, n: usize) -> Self {
        let mut top = Self::new();
        book.extend_top(side, n, &mut top);
        top
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Default for TopLevels {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for TopLevels {
    type Target = [Level];

    fn deref(&self) -> &[Level] {
        &self.levels[..usize::from(self.len)]
    }
}

impl DerefMut for TopLevels {
    fn deref_mut(&mut self) -> &mut [Level] {
        &mut self.levels[..usize::from(self.len)]
    }
}

/// Keeps the first [`BOOK_TOP_LEVELS`] levels.
impl Extend<Level> for TopLevels {
    fn extend<I: IntoIterator<Item = Level>>(&mut self, levels: I) {
        for level in levels {
            if !self.push(level) {
                break;
            }
        }
    }
}

/// Keeps the first [`BOOK_TOP_LEVELS`] levels.
impl FromIterator<Level> for TopLevels {
    fn from_iter<I: IntoIterator<Item = Level>>(levels: I) -> Self {
        let mut top = Self::new();
        top.extend(levels);
        top
    }
}

/// Keeps the first [`BOOK_TOP_LEVELS`] levels.
impl From<Vec<Level>> for TopLevels {
    fn from(levels: Vec<Level>) -> Self {
        levels.into_iter().collect()
    }
}

impl PartialEq for TopLevels {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for TopLevels {}

impl fmt::Debug for TopLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(i: i64) -> Level {
        Level::new(Price::from_raw(100 - i), Qty::from_raw(i + 1))
    }

    #[test]
    fn keeps_the_first_levels_and_reads_as_a_slice() {
        let all: Vec<Level> = (0..BOOK_TOP_LEVELS as i64 + 5).map(level).collect();
        let top = TopLevels::from(all.clone());
        assert_eq!(&*top, &all[..BOOK_TOP_LEVELS]);
        let mut short: TopLevels = all[..3].iter().copied().collect();
        assert_eq!(short.len(), 3);
        assert_eq!(short.first(), Some(&level(0)));
        assert!(short.push(level(3)));
        assert_eq!(&*short, &all[..4]);
        short.clear();
        assert!(short.is_empty());
    }

    #[test]
    fn equality_ignores_the_slots_not_in_use() {
        let mut a: TopLevels = (0..5).map(level).collect();
        let b: TopLevels = (0..2).map(level).collect();
        assert_ne!(a, b);
        a = (0..2).map(level).collect();
        assert_eq!(a, b);
        let mut c = TopLevels::from(vec![level(7), level(8), level(9)]);
        c.clear();
        c.extend([level(0), level(1)]);
        assert_eq!(c, b);
        assert_eq!(format!("{b:?}"), format!("{:?}", vec![level(0), level(1)]));
    }
}
