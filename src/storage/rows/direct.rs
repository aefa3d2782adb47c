//! `depth` and `book_top` rows handed to the direct Parquet writer as they are: a recorder
//! writes these two tables on every frame, and building an Arrow batch of them only to take
//! it apart again column by column cost a tenth of its time. The columns read here must be
//! the ones [`Rows::to_batch`] builds, in schema order; the tests write both and compare the
//! files byte for byte.

use super::super::direct::{ColumnIn, DirectSource};
use super::{BookTopRow, DepthRow, FrameKey, Rows};
use crate::storage::BOOK_TOP_LEVELS;
use parquet::errors::{ParquetError, Result};

/// The columns every frame table starts with: venue, market, ts_event, ts_recv, conn, seq.
const KEY_COLUMNS: usize = 6;

/// A table whose rows the direct writer can read without an Arrow batch.
pub trait DirectRows: Rows {
    /// Columns in the table's schema.
    const COLUMNS: usize;

    /// The row's place in the table's sort order, (ts_recv, seq), and its connection.
    fn sort_key(&self) -> ((i64, i64), u32);

    /// Appends column `index` of `rows` (of `venue`/`market`) to `out`, with `scratch` as
    /// [`DirectSource::push_column`] lends it.
    fn push_column(
        venue: &str,
        market: &str,
        rows: &[Self],
        index: usize,
        scratch: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()>;
}

/// A slice of one venue and market's rows, as a [`DirectSource`].
pub struct RowColumns<'a, R> {
    pub venue: &'a str,
    pub market: &'a str,
    pub rows: &'a [R],
}

impl<R: DirectRows> DirectSource for RowColumns<'_, R> {
    fn num_rows(&self) -> usize {
        self.rows.len()
    }

    fn num_columns(&self) -> usize {
        R::COLUMNS
    }

    fn push_column(
        &self,
        index: usize,
        start: usize,
        len: usize,
        scratch: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()> {
        let rows = &self.rows[start..start + len];
        R::push_column(self.venue, self.market, rows, index, scratch, out)
    }
}

/// Column `index` (below [`KEY_COLUMNS`]) of rows with these frame keys.
fn key_column<R>(
    venue: &str,
    market: &str,
    rows: &[R],
    key: impl Fn(&R) -> FrameKey,
    index: usize,
    out: ColumnIn<'_>,
) -> Result<()> {
    let keys = rows.iter().map(key);
    match index {
        0 => out.repeat_str(venue, rows.len()),
        1 => out.repeat_str(market, rows.len()),
        2 => out.ints(keys.map(|k| k.ts_event.as_nanos())),
        3 => out.ints(keys.map(|k| k.ts_recv.as_nanos())),
        4 => out.ints(keys.map(|k| i64::from(k.conn))),
        5 => out.ints(keys.map(|k| k.seq)),
        _ => Err(no_column(index)),
    }
}

fn no_column(index: usize) -> ParquetError {
    ParquetError::General(format!("no column {index}"))
}

impl DirectRows for DepthRow {
    const COLUMNS: usize = KEY_COLUMNS + 4;

    fn sort_key(&self) -> ((i64, i64), u32) {
        ((self.ts_recv.as_nanos(), self.seq), self.conn)
    }

    fn push_column(
        venue: &str,
        market: &str,
        rows: &[Self],
        index: usize,
        _: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()> {
        match index {
            6 => out.bools(rows.iter().map(|r| r.snapshot)),
            7 => out.strs(rows.iter().map(|r| r.side.as_str())),
            8 => out.ints(rows.iter().map(|r| r.price.raw())),
            9 => out.ints(rows.iter().map(|r| r.qty.raw())),
            _ => key_column(venue, market, rows, DepthRow::key, index, out),
        }
    }
}

impl DirectRows for BookTopRow {
    const COLUMNS: usize = KEY_COLUMNS + 1 + LEVEL_COLUMNS;

    fn sort_key(&self) -> ((i64, i64), u32) {
        ((self.ts_recv.as_nanos(), self.seq), self.conn)
    }

    fn push_column(
        venue: &str,
        market: &str,
        rows: &[Self],
        index: usize,
        scratch: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()> {
        if index < KEY_COLUMNS {
            return key_column(venue, market, rows, BookTopRow::key, index, out);
        }
        if index == KEY_COLUMNS {
            return out.bools(rows.iter().map(|r| r.snapshot));
        }
        if index >= Self::COLUMNS {
            return Err(no_column(index));
        }
        let at = index - KEY_COLUMNS - 1;
        if at == 0 {
            LevelColumns::fill(rows, scratch);
        }
        LevelColumns::push(rows.len(), scratch, at, out)
    }
}

/// Level columns of `book_top`: for each level, bid price and size, then ask price and size.
const LEVEL_COLUMNS: usize = 4 * BOOK_TOP_LEVELS;

/// The level columns of a run of `book_top` rows, laid out column by column in the writer's
/// scratch buffer when the first of them is asked for.
///
/// Each row holds its levels side by side, so reading one column straight from the rows
/// strides through memory by a whole row; across 80 columns that was most of the time spent
/// on `book_top` in the recorder's profile. Turned once, every column is a contiguous run.
///
/// Layout for `n` rows, with each column `stride` values apart: the 80 columns, then the bid
/// and the ask depth of every row (as columns), then the least bid and ask depth of the run.
struct LevelColumns;

impl LevelColumns {
    /// Values apart of two columns: a little more than the rows, so the columns do not all
    /// start at the same offset within a page (which sends 80 write streams to one cache set).
    fn stride(n: usize) -> usize {
        n + 8
    }

    fn len(n: usize) -> usize {
        (LEVEL_COLUMNS + 2) * Self::stride(n) + 2
    }

    fn fill(rows: &[BookTopRow], scratch: &mut Vec<i64>) {
        let (n, stride) = (rows.len(), Self::stride(rows.len()));
        // Slots past a side's depth keep what they held: their rows are null in that column.
        scratch.resize(Self::len(n), 0);
        let (values, depths) = scratch.split_at_mut(LEVEL_COLUMNS * stride);
        let mut least = [i64::MAX; 2];
        for (r, row) in rows.iter().enumerate() {
            for (s, side) in [&row.bids, &row.asks].into_iter().enumerate() {
                let depth = side.len() as i64;
                depths[s * stride + r] = depth;
                least[s] = least[s].min(depth);
                for (level, l) in side.iter().enumerate() {
                    let column = 4 * level + 2 * s;
                    values[column * stride + r] = l.price.raw();
                    values[(column + 1) * stride + r] = l.qty.raw();
                }
            }
        }
        depths[2 * stride..].copy_from_slice(&least);
    }

    /// Pushes level column `at` of the `n` rows [`LevelColumns::fill`] laid out.
    fn push(n: usize, scratch: &[i64], at: usize, out: ColumnIn<'_>) -> Result<()> {
        if scratch.len() != Self::len(n) {
            return Err(ParquetError::General(
                "book_top level columns asked for out of order".into(),
            ));
        }
        let stride = Self::stride(n);
        let (level, side) = ((at / 4) as i64, at % 4 / 2);
        let values = &scratch[at * stride..][..n];
        let depths = &scratch[LEVEL_COLUMNS * stride + side * stride..][..n];
        if scratch[LEVEL_COLUMNS * stride + 2 * stride + side] > level {
            // Every row of the run has this level: the usual case, a run with no null.
            return out.ints(values.iter().copied());
        }
        out.opt_ints(values.iter().zip(depths).map(|(&v, &depth)| (depth > level).then_some(v)))
    }
}

#[cfg(test)]
mod tests;
