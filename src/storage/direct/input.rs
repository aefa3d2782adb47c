//! What a [`DirectWriter`] reads: an Arrow batch, or a table's own rows handed over column by
//! column through [`ColumnIn`], so a recorder need not build a batch it would only take apart
//! again.
//!
//! [`DirectWriter`]: super::DirectWriter

use arrow::array::{Array, AsArray, BooleanArray, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Decimal128Type, Int64Type, TimestampNanosecondType, UInt32Type};
use arrow::record_batch::RecordBatch;
use parquet::errors::{ParquetError, Result};

use super::{min_max, Column, Kind, Plan};

/// Rows for a [`DirectWriter`](super::DirectWriter), read column by column in schema order.
pub trait DirectSource {
    fn num_rows(&self) -> usize;
    fn num_columns(&self) -> usize;
    /// Appends rows `start..start + len` of column `index` to `out`.
    ///
    /// The writer asks for every column of a run of rows in schema order, then for the next
    /// run. `scratch` is the source's to use across the columns of a run (say, to turn rows
    /// into columns once): the writer hands the same buffer to every call and never reads it.
    fn push_column(
        &self,
        index: usize,
        start: usize,
        len: usize,
        scratch: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()>;
}

impl DirectSource for RecordBatch {
    fn num_rows(&self) -> usize {
        RecordBatch::num_rows(self)
    }

    fn num_columns(&self) -> usize {
        RecordBatch::num_columns(self)
    }

    fn push_column(
        &self,
        index: usize,
        start: usize,
        len: usize,
        _: &mut Vec<i64>,
        out: ColumnIn<'_>,
    ) -> Result<()> {
        out.0.push(self.column(index).as_ref(), start, len)
    }
}

/// One column of the page being filled, taking a run of values. Each method checks that the
/// values are of the column's Parquet type; what they mean (a decimal's scale, a clock) is the
/// source's business.
pub struct ColumnIn<'a>(pub(super) &'a mut Column);

impl ColumnIn<'_> {
    /// Values of an `Int64`, timestamp, decimal or `UInt32` column, all present.
    pub fn ints(self, values: impl Iterator<Item = i64>) -> Result<()> {
        self.check_kind(&[Kind::Int64, Kind::UInt32])?;
        self.0.push_iter(values, None, 0);
        Ok(())
    }

    /// Values of a nullable `Int64`, timestamp, decimal or `UInt32` column.
    pub fn opt_ints(self, values: impl Iterator<Item = Option<i64>> + Clone) -> Result<()> {
        self.check_kind(&[Kind::Int64, Kind::UInt32])?;
        if !self.0.nullable {
            self.refuse_nulls(values.clone().any(|v| v.is_none()))?;
        }
        self.0.push_opts(values);
        Ok(())
    }

    /// Values of a `Boolean` column, all present.
    pub fn bools(self, values: impl Iterator<Item = bool>) -> Result<()> {
        self.check_kind(&[Kind::Bool])?;
        for value in values {
            self.0.count(true);
            self.0.bools.push(value);
        }
        Ok(())
    }

    /// Values of a `Utf8` column, all present.
    pub fn strs<'s>(self, values: impl Iterator<Item = &'s str>) -> Result<()> {
        self.check_kind(&[Kind::Str])?;
        for value in values {
            self.0.count(true);
            self.0.push_str(value.as_bytes());
        }
        Ok(())
    }

    /// `value`, `n` times, in a `Utf8` column (a partition column: one venue, one market).
    pub fn repeat_str(self, value: &str, n: usize) -> Result<()> {
        self.check_kind(&[Kind::Str])?;
        if n == 0 {
            return Ok(());
        }
        let column = self.0;
        let key = column.dictionary.str_key(value.as_bytes());
        column.keys.extend(std::iter::repeat_n(key, n));
        column.mark_used(key);
        column.value_bytes += (value.len() * n) as i64;
        column.rows += n;
        if column.nulls > 0 {
            column.defs.resize(column.rows, 1);
        }
        Ok(())
    }

    fn check_kind(&self, kinds: &[Kind]) -> Result<()> {
        if kinds.contains(&self.0.kind) {
            return Ok(());
        }
        Err(ParquetError::General(format!(
            "column {}: values of the wrong type for {:?}",
            self.0.descr.path(),
            self.0.kind
        )))
    }

    fn refuse_nulls(&self, any_null: bool) -> Result<()> {
        if any_null && !self.0.nullable {
            return Err(ParquetError::General(format!(
                "column {}: null in a required column",
                self.0.descr.path()
            )));
        }
        Ok(())
    }
}

impl Column {
    /// Appends rows `start..start + len` of `array`.
    fn push(&mut self, array: &dyn Array, start: usize, len: usize) -> Result<()> {
        let nulls = array.logical_nulls();
        let nulls = nulls.as_ref().filter(|n| n.slice(start, len).null_count() > 0);
        ColumnIn(self).refuse_nulls(nulls.is_some())?;
        match array.data_type() {
            DataType::Int64 => self.push_ints(
                &array.as_primitive::<Int64Type>().values()[start..start + len],
                nulls,
                start,
            ),
            DataType::Timestamp(..) => {
                let values = array.as_primitive::<TimestampNanosecondType>().values();
                self.push_ints(&values[start..start + len], nulls, start)
            }
            DataType::Decimal128(..) => {
                let values = &array.as_primitive::<Decimal128Type>().values()[start..start + len];
                self.push_iter(values.iter().map(|v| *v as i64), nulls, start)
            }
            DataType::UInt32 => {
                let values = &array.as_primitive::<UInt32Type>().values()[start..start + len];
                self.push_iter(values.iter().map(|v| i64::from(*v)), nulls, start)
            }
            DataType::Boolean => self.push_bools(array.as_boolean(), nulls, start, len),
            DataType::Utf8 => self.push_strs(array.as_string::<i32>(), nulls, start, len),
            other => {
                return Err(ParquetError::General(format!(
                    "column {}: unexpected {other}",
                    self.descr.path()
                )))
            }
        }
        Ok(())
    }

    fn push_ints(&mut self, values: &[i64], nulls: Option<&NullBuffer>, start: usize) {
        self.push_iter(values.iter().copied(), nulls, start);
    }

    fn push_iter(
        &mut self,
        values: impl Iterator<Item = i64>,
        nulls: Option<&NullBuffer>,
        start: usize,
    ) {
        if nulls.is_none() && self.plan != Plan::Dictionary {
            // The common case: a run of present values, copied as they are.
            let before = self.ints.len();
            self.ints.extend(values);
            if let Some((min, max)) = min_max(&self.ints[before..]) {
                self.bounds = Some(match self.bounds {
                    Some((a, b)) => (a.min(min), b.max(max)),
                    None => (min, max),
                });
            }
            self.rows += self.ints.len() - before;
            if self.nulls > 0 {
                self.defs.resize(self.rows, 1);
            }
            return;
        }
        self.push_opts(
            values
                .enumerate()
                .map(|(i, v)| nulls.is_none_or(|n| n.is_valid(start + i)).then_some(v)),
        );
    }

    /// Appends values, `None` for a null (the caller has checked the column may hold one).
    fn push_opts(&mut self, values: impl Iterator<Item = Option<i64>>) {
        let (mut min, mut max) = self.bounds.unwrap_or((i64::MAX, i64::MIN));
        let mut any = self.bounds.is_some();
        for value in values {
            let Some(value) = value else {
                self.count(false);
                continue;
            };
            self.count(true);
            any = true;
            min = min.min(value);
            max = max.max(value);
            if self.plan == Plan::Dictionary {
                let key = self.dictionary.int_key(value);
                self.keys.push(key);
            } else {
                self.ints.push(value);
            }
        }
        if any {
            self.bounds = Some((min, max));
        }
    }

    fn push_bools(
        &mut self,
        array: &BooleanArray,
        nulls: Option<&NullBuffer>,
        start: usize,
        len: usize,
    ) {
        for i in start..start + len {
            if self.present(nulls, i) {
                let value = array.value(i);
                self.bools.push(value);
            }
        }
    }

    fn push_strs(
        &mut self,
        array: &StringArray,
        nulls: Option<&NullBuffer>,
        start: usize,
        len: usize,
    ) {
        for i in start..start + len {
            if self.present(nulls, i) {
                self.push_str(array.value(i).as_bytes());
            }
        }
    }

    /// Appends one present string (its row already counted).
    #[inline]
    fn push_str(&mut self, value: &[u8]) {
        self.value_bytes += value.len() as i64;
        let key = self.dictionary.str_key(value);
        self.keys.push(key);
        self.mark_used(key);
    }

    #[inline]
    fn mark_used(&mut self, key: u32) {
        let key = key as usize;
        if self.used.len() <= key {
            self.used.resize(key + 1, false);
        }
        self.used[key] = true;
    }

    /// Counts row `i` and its definition level; whether it holds a value.
    #[inline]
    fn present(&mut self, nulls: Option<&NullBuffer>, i: usize) -> bool {
        self.count(nulls.is_none_or(|n| n.is_valid(i)))
    }

    /// Counts a row and its definition level; returns `valid`.
    #[inline]
    fn count(&mut self, valid: bool) -> bool {
        if !valid {
            if self.nulls == 0 {
                // The page's first null: the rows before it were all present.
                self.defs.clear();
                self.defs.resize(self.rows, 1);
            }
            self.nulls += 1;
        }
        if self.nulls > 0 {
            self.defs.push(u32::from(valid));
        }
        self.rows += 1;
        valid
    }
}
