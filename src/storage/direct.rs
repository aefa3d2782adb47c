//! A Parquet part writer that encodes its own pages, for the two tables a recorder writes on
//! every frame: `depth` and `book_top`.
//!
//! arrow-rs's general writer spends most of its time per value on things these tables do not
//! need: gathering values through index lists, casting `Decimal128` to `i64` in a new array,
//! comparing page statistics through the column's logical type, hashing every string into
//! a dictionary. Writing those two tables was about two thirds of the recorder's time. This
//! writer reads each column once — from an Arrow batch, or straight from the table's rows
//! ([`DirectSource`]), which spares the recorder building a batch at all — keeps each
//! column's page as plain `i64`s, booleans or dictionary keys, and encodes a page when it is
//! full ([`encode`]). Everything else of the
//! file — page headers, footer, column and offset indexes, the embedded Arrow schema — goes
//! through the `parquet` crate, so the files are the ones [`ArrowWriter`] would write with the
//! same [`WriterProperties`]: the same schema, encodings, ZSTD level, page and row-group
//! limits, page statistics and sorting columns. The writer's tests read them back with the
//! `parquet` crate's own reader.
//!
//! Which encoding a column gets comes from the properties, as for [`ArrowWriter`]: a
//! dictionary where it is enabled, otherwise the column's encoding (`PLAIN` or
//! `DELTA_BINARY_PACKED`). Only the column types these tables use are supported: `Int64`,
//! nanosecond timestamps, `Decimal128` up to 18 digits, `UInt32`, `Boolean` and `Utf8`.
//!
//! [`ArrowWriter`]: parquet::arrow::ArrowWriter

use std::io::Write;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{BoundaryOrder, Compression, Encoding, Type as Physical};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, LevelHistogram, OffsetIndexBuilder,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::encode;
pub use input::{ColumnIn, DirectSource};
use values::{Bounds, Dictionary};

mod input;
mod values;

/// Writes one Parquet file from record batches (or other [`DirectSource`]s) of a flat schema
/// of supported columns.
pub struct DirectWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    columns: Vec<Column>,
    codec: Codec,
    page_rows: usize,
    group_rows: usize,
    rows_in_page: usize,
    rows_in_group: usize,
    /// Lent to the source for each run of rows ([`DirectSource::push_column`]), kept so a
    /// source that needs one does not allocate it on every write.
    scratch: Vec<i64>,
}

impl<W: Write + Send> DirectWriter<W> {
    /// Starts a file on `sink` for batches of `schema`, written as `props` say.
    pub fn try_new(sink: W, schema: SchemaRef, props: WriterProperties) -> Result<Self> {
        let mut props = props;
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let parquet_schema =
            ArrowSchemaConverter::new().with_coerce_types(props.coerce_types()).convert(&schema)?;
        let mut columns = Vec::with_capacity(schema.fields().len());
        let mut level = None;
        for (field, descr) in schema.fields().iter().zip(parquet_schema.columns()) {
            let kind = Kind::of(field.data_type()).ok_or_else(|| {
                ParquetError::General(format!(
                    "column {}: {} is not a type the direct writer encodes",
                    field.name(),
                    field.data_type()
                ))
            })?;
            let path = descr.path();
            match props.compression(path) {
                Compression::ZSTD(l) if level.is_none_or(|x| x == l.compression_level()) => {
                    level = Some(l.compression_level());
                }
                other => {
                    return Err(ParquetError::General(format!(
                        "the direct writer compresses every column with one ZSTD level, not {other}"
                    )))
                }
            }
            if props.statistics_enabled(path) != EnabledStatistics::Page {
                return Err(ParquetError::General(
                    "the direct writer always writes page statistics".into(),
                ));
            }
            let plan = if kind == Kind::Bool {
                Plan::Plain
            } else if props.dictionary_enabled(path) || kind == Kind::Str {
                Plan::Dictionary
            } else {
                match props.encoding(path) {
                    Some(Encoding::DELTA_BINARY_PACKED) if kind == Kind::Int64 => Plan::Delta,
                    None | Some(Encoding::PLAIN) => Plan::Plain,
                    Some(other) => {
                        return Err(ParquetError::General(format!(
                            "column {}: the direct writer does not write {other}",
                            field.name()
                        )))
                    }
                }
            };
            columns.push(Column::new(descr.clone(), kind, plan, field.is_nullable()));
        }
        let codec = Codec::new(level.unwrap_or(3))?;
        let page_rows = props.data_page_row_count_limit().max(1);
        let group_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let file =
            SerializedFileWriter::new(sink, parquet_schema.root_schema_ptr(), Arc::new(props))?;
        Ok(Self {
            file,
            columns,
            codec,
            page_rows,
            group_rows,
            rows_in_page: 0,
            rows_in_group: 0,
            scratch: Vec::new(),
        })
    }

    /// Appends a batch, or other rows, of the schema the writer was made for.
    pub fn write<S: DirectSource + ?Sized>(&mut self, rows: &S) -> Result<()> {
        if rows.num_columns() != self.columns.len() {
            return Err(ParquetError::General(format!(
                "rows have {} columns, the file {}",
                rows.num_columns(),
                self.columns.len()
            )));
        }
        let mut start = 0;
        while start < rows.num_rows() {
            let room =
                (self.page_rows - self.rows_in_page).min(self.group_rows - self.rows_in_group);
            let len = room.min(rows.num_rows() - start);
            for (index, column) in self.columns.iter_mut().enumerate() {
                rows.push_column(index, start, len, &mut self.scratch, ColumnIn(column))?;
            }
            start += len;
            self.rows_in_page += len;
            self.rows_in_group += len;
            if self.rows_in_group == self.group_rows {
                self.flush_group()?;
            } else if self.rows_in_page == self.page_rows {
                self.flush_pages()?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered and the footer, and returns the sink.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush_group()?;
        self.file.into_inner()
    }

    fn flush_pages(&mut self) -> Result<()> {
        for column in &mut self.columns {
            column.flush_page(&mut self.codec)?;
        }
        self.rows_in_page = 0;
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        self.flush_pages()?;
        let mut group = self.file.next_row_group()?;
        for column in &mut self.columns {
            let (bytes, close) = column.close_chunk(&mut self.codec)?;
            group.append_column(&bytes, close)?;
        }
        group.close()?;
        self.rows_in_group = 0;
        Ok(())
    }
}

/// The Arrow types this writer reads, by how they are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Int64`, `Timestamp(Nanosecond)`, `Decimal128` of precision ≤ 18: Parquet INT64.
    Int64,
    /// `UInt32`: Parquet INT32 annotated unsigned.
    UInt32,
    Bool,
    Str,
}

impl Kind {
    fn of(data_type: &DataType) -> Option<Self> {
        match data_type {
            DataType::Int64 | DataType::Timestamp(TimeUnit::Nanosecond, _) => Some(Kind::Int64),
            DataType::Decimal128(precision, _) if *precision <= 18 => Some(Kind::Int64),
            DataType::UInt32 => Some(Kind::UInt32),
            DataType::Boolean => Some(Kind::Bool),
            DataType::Utf8 => Some(Kind::Str),
            _ => None,
        }
    }

    fn physical(self) -> Physical {
        match self {
            Kind::Int64 => Physical::INT64,
            Kind::UInt32 => Physical::INT32,
            Kind::Bool => Physical::BOOLEAN,
            Kind::Str => Physical::BYTE_ARRAY,
        }
    }
}

/// How a column's values are encoded in its data pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Plain,
    Delta,
    Dictionary,
}

/// One reusable ZSTD context and its output buffer.
struct Codec {
    compressor: zstd::bulk::Compressor<'static>,
    level: i32,
    out: Vec<u8>,
}

impl Codec {
    fn new(level: i32) -> Result<Self> {
        let compressor = zstd::bulk::Compressor::new(level)
            .map_err(|e| ParquetError::General(format!("zstd level {level}: {e}")))?;
        Ok(Self { compressor, level, out: Vec::new() })
    }

    fn compress(&mut self, data: &[u8]) -> Result<Bytes> {
        self.out.clear();
        self.out.reserve(zstd::zstd_safe::compress_bound(data.len()));
        self.compressor
            .compress_to_buffer(data, &mut self.out)
            .map_err(|e| ParquetError::General(format!("zstd: {e}")))?;
        Ok(Bytes::copy_from_slice(&self.out))
    }

    fn compression(&self) -> Result<Compression> {
        Ok(Compression::ZSTD(parquet::basic::ZstdLevel::try_new(self.level)?))
    }
}

/// A data page already written to the chunk buffer.
struct PageInfo {
    offset: u64,
    size: usize,
    rows: usize,
    nulls: usize,
    bounds: Option<Bounds>,
    /// Bytes of the page's strings, unencoded (string columns only).
    value_bytes: Option<i64>,
}

/// One column: the page being filled and the chunk's pages so far.
struct Column {
    descr: ColumnDescPtr,
    kind: Kind,
    plan: Plan,
    nullable: bool,
    // The page being filled.
    ints: Vec<i64>,
    bools: Vec<bool>,
    keys: Vec<u32>,
    /// Definition levels, kept only once the page has a null (until then every row is 1).
    defs: Vec<u32>,
    rows: usize,
    nulls: usize,
    bounds: Option<(i64, i64)>,
    /// Dictionary keys used by the page (strings only: their bounds are found at the end).
    used: Vec<bool>,
    /// Bytes of the page's strings.
    value_bytes: i64,
    // The chunk.
    dictionary: Dictionary,
    sink: TrackedWrite<Vec<u8>>,
    pages: Vec<PageInfo>,
    uncompressed: usize,
    scratch: Vec<u8>,
    levels: Vec<u8>,
}

impl Column {
    fn new(descr: ColumnDescPtr, kind: Kind, plan: Plan, nullable: bool) -> Self {
        Self {
            descr,
            kind,
            plan,
            nullable,
            ints: Vec::new(),
            bools: Vec::new(),
            keys: Vec::new(),
            defs: Vec::new(),
            rows: 0,
            nulls: 0,
            bounds: None,
            used: Vec::new(),
            value_bytes: 0,
            dictionary: Dictionary::default(),
            sink: TrackedWrite::new(Vec::new()),
            pages: Vec::new(),
            uncompressed: 0,
            scratch: Vec::new(),
            levels: Vec::new(),
        }
    }

    fn page_bounds(&mut self) -> Option<Bounds> {
        match self.kind {
            Kind::Int64 | Kind::UInt32 => self.bounds.take().map(|(a, b)| Bounds::Int(a, b)),
            Kind::Bool => {
                let min = !self.bools.iter().any(|b| !b);
                let max = self.bools.iter().any(|b| *b);
                (!self.bools.is_empty()).then_some(Bounds::Bool(min, max))
            }
            Kind::Str => {
                let strs = &self.dictionary.strs;
                let mut used =
                    self.used.iter().enumerate().filter(|(_, u)| **u).map(|(k, _)| &strs[k]);
                let first = used.next()?;
                let (mut min, mut max) = (first, first);
                for s in used {
                    if s < min {
                        min = s;
                    }
                    if s > max {
                        max = s;
                    }
                }
                Some(Bounds::Bytes(min.clone(), max.clone()))
            }
        }
    }

    fn flush_page(&mut self, codec: &mut Codec) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let bounds = self.page_bounds();
        let mut data = std::mem::take(&mut self.scratch);
        data.clear();
        if self.nullable {
            self.levels.clear();
            if self.nulls == 0 {
                encode::rle_repeat(1, self.rows, 1, &mut self.levels);
            } else {
                encode::rle_hybrid(&self.defs, 1, &mut self.levels);
            }
            data.extend_from_slice(&(self.levels.len() as u32).to_le_bytes());
            data.extend_from_slice(&self.levels);
        }
        let encoding = match (self.plan, self.kind) {
            (Plan::Dictionary, _) => {
                let width = encode::bit_width(self.dictionary.len().saturating_sub(1) as u64);
                data.push(width);
                encode::rle_hybrid(&self.keys, width, &mut data);
                Encoding::RLE_DICTIONARY
            }
            (Plan::Delta, _) => {
                encode::delta_binary_packed(&self.ints, &mut data);
                Encoding::DELTA_BINARY_PACKED
            }
            (Plan::Plain, Kind::Bool) => {
                encode::plain_bools(&self.bools, &mut data);
                Encoding::PLAIN
            }
            (Plan::Plain, Kind::UInt32) => {
                data.extend(self.ints.iter().flat_map(|v| (*v as u32).to_le_bytes()));
                Encoding::PLAIN
            }
            (Plan::Plain, _) => {
                data.reserve(self.ints.len() * 8);
                for v in &self.ints {
                    data.extend_from_slice(&v.to_le_bytes());
                }
                Encoding::PLAIN
            }
        };
        let page = Page::DataPage {
            buf: codec.compress(&data)?,
            num_values: self.rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = SerializedPageWriter::new(&mut self.sink)
            .write_page(CompressedPage::new(page, data.len()))?;
        self.uncompressed += spec.uncompressed_size;
        self.pages.push(PageInfo {
            offset: spec.offset,
            size: spec.compressed_size,
            rows: self.rows,
            nulls: self.nulls,
            bounds,
            value_bytes: (self.kind == Kind::Str).then_some(self.value_bytes),
        });
        self.scratch = data;
        self.ints.clear();
        self.bools.clear();
        self.keys.clear();
        self.defs.clear();
        self.used.clear();
        self.value_bytes = 0;
        self.rows = 0;
        self.nulls = 0;
        Ok(())
    }

    /// Finishes the column chunk: its bytes (dictionary page first) and what the file's
    /// metadata says about them.
    fn close_chunk(&mut self, codec: &mut Codec) -> Result<(Bytes, ColumnCloseResult)> {
        let physical = self.kind.physical();
        let data_pages = std::mem::replace(&mut self.sink, TrackedWrite::new(Vec::new()));
        let data_pages =
            data_pages.into_inner().map_err(|e| ParquetError::General(e.to_string()))?;
        let mut chunk = TrackedWrite::new(Vec::with_capacity(data_pages.len() + 64));
        let mut uncompressed = self.uncompressed;
        let mut encodings = vec![Encoding::RLE];
        let dictionary = self.plan == Plan::Dictionary;
        if dictionary {
            let mut plain = Vec::new();
            match self.kind {
                Kind::Str => {
                    for s in &self.dictionary.strs {
                        plain.extend_from_slice(&(s.len() as u32).to_le_bytes());
                        plain.extend_from_slice(s);
                    }
                }
                Kind::UInt32 => plain
                    .extend(self.dictionary.ints.iter().flat_map(|v| (*v as u32).to_le_bytes())),
                _ => plain.extend(self.dictionary.ints.iter().flat_map(|v| v.to_le_bytes())),
            }
            let page = Page::DictionaryPage {
                buf: codec.compress(&plain)?,
                num_values: self.dictionary.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = SerializedPageWriter::new(&mut chunk)
                .write_page(CompressedPage::new(page, plain.len()))?;
            uncompressed += spec.uncompressed_size;
            encodings.extend([Encoding::PLAIN, Encoding::RLE_DICTIONARY]);
        } else {
            encodings.push(match self.plan {
                Plan::Delta => Encoding::DELTA_BINARY_PACKED,
                _ => Encoding::PLAIN,
            });
        }
        let shift = chunk.bytes_written() as u64;
        chunk.write_all(&data_pages)?;
        let bytes =
            Bytes::from(chunk.into_inner().map_err(|e| ParquetError::General(e.to_string()))?);

        let mut column_index = ColumnIndexBuilder::new(physical);
        let mut offset_index = OffsetIndexBuilder::new();
        let (mut ascending, mut descending) = (true, true);
        let mut previous: Option<&Bounds> = None;
        let mut chunk_bounds: Option<Bounds> = None;
        let (mut rows, mut nulls) = (0usize, 0usize);
        let mut value_bytes = None;
        for page in &self.pages {
            offset_index.append_offset_and_size((page.offset + shift) as i64, page.size as i32);
            offset_index.append_row_count(page.rows as i64);
            offset_index.append_unencoded_byte_array_data_bytes(page.value_bytes);
            if let Some(bytes) = page.value_bytes {
                *value_bytes.get_or_insert(0) += bytes;
            }
            rows += page.rows;
            nulls += page.nulls;
            match &page.bounds {
                Some(bounds) => {
                    let (min, max) = bounds.to_bytes(physical);
                    column_index.append(false, min, max, page.nulls as i64);
                    if let Some(previous) = previous {
                        let (up, down) = previous.order(bounds);
                        ascending &= up;
                        descending &= down;
                    }
                    previous = Some(bounds);
                    chunk_bounds = Some(match chunk_bounds {
                        Some(b) => b.merge(bounds.clone()),
                        None => bounds.clone(),
                    });
                }
                None => column_index.append(true, Vec::new(), Vec::new(), page.nulls as i64),
            }
            if self.nullable {
                let histogram = [page.nulls as i64, (page.rows - page.nulls) as i64];
                column_index
                    .append_histograms(&None, &Some(LevelHistogram::from(histogram.to_vec())));
            }
        }
        column_index.set_boundary_order(if ascending {
            BoundaryOrder::ASCENDING
        } else if descending {
            BoundaryOrder::DESCENDING
        } else {
            BoundaryOrder::UNORDERED
        });
        let statistics = self.statistics(chunk_bounds, nulls as u64);
        let first_data = self.pages.first().map_or(shift, |p| p.offset + shift);
        let metadata = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(codec.compression()?)
            .set_encodings(encodings)
            .set_total_compressed_size(bytes.len() as i64)
            .set_total_uncompressed_size(uncompressed as i64)
            .set_num_values(rows as i64)
            .set_data_page_offset(first_data as i64)
            .set_dictionary_page_offset(dictionary.then_some(0))
            .set_statistics(statistics)
            .set_unencoded_byte_array_data_bytes(value_bytes)
            .set_definition_level_histogram(
                self.nullable
                    .then(|| LevelHistogram::from(vec![nulls as i64, (rows - nulls) as i64])),
            )
            .build()?;
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: rows as u64,
            metadata,
            bloom_filter: None,
            column_index: Some(column_index.build()?),
            offset_index: Some(offset_index.build()),
        };
        self.pages.clear();
        self.uncompressed = 0;
        self.dictionary.clear();
        Ok((bytes, close))
    }

    fn statistics(&self, bounds: Option<Bounds>, nulls: u64) -> Statistics {
        let signed = self.kind == Kind::Int64;
        match (self.kind, bounds) {
            (Kind::Int64, b) => {
                let (min, max) = match b {
                    Some(Bounds::Int(a, b)) => (Some(a), Some(b)),
                    _ => (None, None),
                };
                Statistics::Int64(
                    ValueStatistics::new(min, max, None, Some(nulls), false)
                        .with_backwards_compatible_min_max(signed),
                )
            }
            (Kind::UInt32, b) => {
                let (min, max) = match b {
                    Some(Bounds::Int(a, b)) => (Some(a as u32 as i32), Some(b as u32 as i32)),
                    _ => (None, None),
                };
                Statistics::Int32(ValueStatistics::new(min, max, None, Some(nulls), false))
            }
            (Kind::Bool, b) => {
                let (min, max) = match b {
                    Some(Bounds::Bool(a, b)) => (Some(a), Some(b)),
                    _ => (None, None),
                };
                Statistics::Boolean(
                    ValueStatistics::new(min, max, None, Some(nulls), false)
                        .with_backwards_compatible_min_max(true),
                )
            }
            (Kind::Str, b) => {
                let (min, max) = match b {
                    Some(Bounds::Bytes(a, b)) => {
                        (Some(ByteArray::from(a.to_vec())), Some(ByteArray::from(b.to_vec())))
                    }
                    _ => (None, None),
                };
                Statistics::ByteArray(ValueStatistics::new(min, max, None, Some(nulls), false))
            }
        }
    }
}

/// The smallest and largest of `values`.
fn min_max(values: &[i64]) -> Option<(i64, i64)> {
    let first = *values.first()?;
    Some(values.iter().fold((first, first), |(lo, hi), v| (lo.min(*v), hi.max(*v))))
}

#[cfg(test)]
mod tests;
