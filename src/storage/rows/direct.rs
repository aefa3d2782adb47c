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

    /// Appends column `index` of `rows` (of `venue`/`market`) to `out`.
    fn push_column(
        venue: &str,
        market: &str,
        rows: &[Self],
        index: usize,
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

    fn push_column(&self, index: usize, start: usize, len: usize, out: ColumnIn<'_>) -> Result<()> {
        R::push_column(self.venue, self.market, &self.rows[start..start + len], index, out)
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
    const COLUMNS: usize = KEY_COLUMNS + 1 + 4 * BOOK_TOP_LEVELS;

    fn sort_key(&self) -> ((i64, i64), u32) {
        ((self.ts_recv.as_nanos(), self.seq), self.conn)
    }

    fn push_column(
        venue: &str,
        market: &str,
        rows: &[Self],
        index: usize,
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
        // Then for each level, bid price and size, ask price and size.
        let at = index - KEY_COLUMNS - 1;
        let (level, bid, qty) = (at / 4, at % 4 < 2, at % 2 == 1);
        let values = rows.iter().map(|r| {
            let side = if bid { &r.bids } else { &r.asks };
            side.get(level).map(|l| if qty { l.qty.raw() } else { l.price.raw() })
        });
        out.opt_ints(values)
    }
}

#[cfg(test)]
mod tests;
