use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt32Array,
};
use arrow::datatypes::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;

use super::DirectWriter;
use crate::storage::schema::{decimal_type, Table};
use crate::storage::writer::{writer_properties, WriterConfig};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A sorted batch of `table` with `rows` rows: clocks that rise in steps with runs of equal
/// values, one connection or two, a few distinct prices, and (in `book_top`) missing levels.
fn batch(table: Table, rows: usize, seed: u64, first_row: usize) -> RecordBatch {
    let mut rng = Rng(seed | 1);
    let schema = table.schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            let name = field.name().as_str();
            let row = |i: usize| (first_row + i) as i64;
            match (name, field.data_type()) {
                ("venue", _) => Arc::new(StringArray::from(vec!["extended"; rows])),
                ("market", _) => Arc::new(StringArray::from(vec!["ETH-USD"; rows])),
                ("side", _) => Arc::new(StringArray::from_iter_values((0..rows).map(|_| {
                    if rng.below(2) == 0 {
                        "bid"
                    } else {
                        "ask"
                    }
                }))),
                ("ts_event" | "ts_recv", _) => Arc::new(
                    TimestampNanosecondArray::from_iter_values(
                        (0..rows).map(|i| 1_795_132_800_000_000_000 + row(i) / 3 * 100_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                ("seq", _) => Arc::new(arrow::array::Int64Array::from_iter_values(
                    (0..rows).map(|i| row(i) / 3 + 1),
                )),
                ("conn", _) => Arc::new(UInt32Array::from_iter_values((0..rows).map(|i| {
                    if row(i) < 40 {
                        3
                    } else {
                        4_000_000_000
                    }
                }))),
                ("snapshot", _) => {
                    Arc::new(BooleanArray::from_iter((0..rows).map(|i| Some(row(i) % 97 == 0))))
                }
                (_, DataType::Decimal128(..)) => {
                    let nullable = field.is_nullable();
                    let values = (0..rows).map(|_| {
                        let missing = nullable && rng.below(5) == 0;
                        let value = 300_000_000_000 + rng.below(50) as i128 * 1_000_000;
                        (!missing).then_some(if rng.below(9) == 0 { -value } else { value })
                    });
                    Arc::new(Decimal128Array::from_iter(values).with_data_type(decimal_type()))
                }
                (name, other) => panic!("no generator for {name}: {other}"),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("batch")
}

fn props(table: Table, page_rows: usize, group_rows: usize) -> WriterProperties {
    let config = WriterConfig { row_group_rows: group_rows, ..WriterConfig::default() };
    writer_properties(table, &config)
        .expect("properties")
        .into_builder()
        .set_data_page_row_count_limit(page_rows)
        // One row at a time, arrow-rs ends pages exactly at the limit, as the direct writer does.
        .set_write_batch_size(1)
        .build()
}

fn direct(table: Table, batches: &[RecordBatch], props: WriterProperties) -> Bytes {
    let mut writer = DirectWriter::try_new(Vec::new(), table.schema(), props).expect("writer");
    for batch in batches {
        writer.write(batch).expect("write");
    }
    Bytes::from(writer.into_inner().expect("finish"))
}

fn arrow_rs(table: Table, batches: &[RecordBatch], props: WriterProperties) -> Bytes {
    let mut writer = ArrowWriter::try_new(Vec::new(), table.schema(), Some(props)).expect("writer");
    for batch in batches {
        writer.write(batch).expect("write");
    }
    Bytes::from(writer.into_inner().expect("finish"))
}

fn read(file: &Bytes) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .expect("reader")
        .with_batch_size(1 << 20)
        .build()
        .expect("build")
        .collect::<Result<_, _>>()
        .expect("read")
}

fn metadata(file: &Bytes) -> ParquetMetaData {
    ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Required)
        .parse_and_finish(file)
        .expect("metadata")
}

fn concat(table: Table, batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&table.schema(), batches).expect("concat")
}

/// Writes `batches` both ways and checks that the direct writer's file reads back to the
/// input and describes itself exactly as arrow-rs's does: row groups, values, null counts,
/// chunk statistics, encodings, page boundaries and the column index of every page.
fn check_against_arrow_rs(table: Table, batches: &[RecordBatch], page_rows: usize, group: usize) {
    let ours = direct(table, batches, props(table, page_rows, group));
    let theirs = arrow_rs(table, batches, props(table, page_rows, group));
    let input = concat(table, batches);
    assert_eq!(concat(table, &read(&ours)), input, "values read back");

    let (ours, theirs) = (metadata(&ours), metadata(&theirs));
    let (a, b) = (ours.file_metadata(), theirs.file_metadata());
    assert_eq!(a.schema_descr(), b.schema_descr());
    assert_eq!(a.key_value_metadata(), b.key_value_metadata(), "schema and mdkit keys");
    assert_eq!(a.num_rows(), b.num_rows());
    assert_eq!(ours.num_row_groups(), theirs.num_row_groups());
    for (g, (x, y)) in ours.row_groups().iter().zip(theirs.row_groups()).enumerate() {
        assert_eq!(x.num_rows(), y.num_rows(), "row group {g}");
        assert_eq!(x.sorting_columns(), y.sorting_columns());
        for (c, (p, q)) in x.columns().iter().zip(y.columns()).enumerate() {
            let at = format!("row group {g} column {}", p.column_path());
            assert_eq!(p.num_values(), q.num_values(), "{at}");
            assert_eq!(p.compression(), q.compression(), "{at}");
            assert_eq!(p.statistics(), q.statistics(), "{at}: statistics");
            assert_eq!(p.definition_level_histogram(), q.definition_level_histogram(), "{at}");
            assert_eq!(
                p.unencoded_byte_array_data_bytes(),
                q.unencoded_byte_array_data_bytes(),
                "{at}"
            );
            assert_eq!(p.dictionary_page_offset().is_some(), q.dictionary_page_offset().is_some());
            let data_encodings = |m: &parquet::file::metadata::ColumnChunkMetaData| {
                let mut e: Vec<_> = m.encodings().collect();
                e.sort_by_key(|x| *x as i32);
                e
            };
            assert_eq!(data_encodings(p), data_encodings(q), "{at}: encodings");
            let (ci, cj) = (
                &ours.column_index().expect("index")[g][c],
                &theirs.column_index().expect("index")[g][c],
            );
            let (oi, oj) = (
                &ours.offset_index().expect("index")[g][c],
                &theirs.offset_index().expect("index")[g][c],
            );
            let rows = |o: &parquet::file::page_index::offset_index::OffsetIndexMetaData| {
                o.page_locations().iter().map(|l| l.first_row_index as usize).collect::<Vec<_>>()
            };
            // Every page of ours says what its rows hold.
            let first = g * group;
            let starts = rows(oi);
            for (i, start) in starts.iter().enumerate() {
                let end = starts.get(i + 1).copied().unwrap_or(x.num_rows() as usize);
                assert!(end - start <= page_rows, "{at}: page {i} holds {} rows", end - start);
                let array = input.column(c).slice(first + start, end - start);
                assert_eq!(page_entry(ci, i), expected_entry(&array), "{at}: page {i}");
            }
            // arrow-rs ends a nullable column's pages by values, not rows: where its pages are
            // ours, the whole index must match (boundary order, level histograms).
            if starts == rows(oj) {
                assert_eq!(ci, cj, "{at}: column index");
            }
            assert_eq!(
                oi.unencoded_byte_array_data_bytes(),
                oj.unencoded_byte_array_data_bytes(),
                "{at}: string bytes per page"
            );
        }
    }
}

/// A column index entry: (null page, min, max, null count), values as plain bytes.
type Entry = (bool, Vec<u8>, Vec<u8>, Option<i64>);

fn page_entry(index: &ColumnIndexMetaData, i: usize) -> Entry {
    fn le<T: Copy>(v: Option<&T>, f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
        v.map(|v| f(*v)).unwrap_or_default()
    }
    let (min, max) = match index {
        ColumnIndexMetaData::INT64(x) => (
            le(x.min_value(i), |v: i64| v.to_le_bytes().to_vec()),
            le(x.max_value(i), |v: i64| v.to_le_bytes().to_vec()),
        ),
        ColumnIndexMetaData::INT32(x) => (
            le(x.min_value(i), |v: i32| v.to_le_bytes().to_vec()),
            le(x.max_value(i), |v: i32| v.to_le_bytes().to_vec()),
        ),
        ColumnIndexMetaData::BOOLEAN(x) => (
            le(x.min_value(i), |v: bool| vec![u8::from(v)]),
            le(x.max_value(i), |v: bool| vec![u8::from(v)]),
        ),
        ColumnIndexMetaData::BYTE_ARRAY(x) => (
            x.min_value(i).map(<[u8]>::to_vec).unwrap_or_default(),
            x.max_value(i).map(<[u8]>::to_vec).unwrap_or_default(),
        ),
        other => panic!("unexpected index {other:?}"),
    };
    (index.is_null_page(i), min, max, index.null_count(i))
}

fn expected_entry(array: &ArrayRef) -> Entry {
    use arrow::array::AsArray;
    use arrow::compute::{bool_and, bool_or, max, max_string, min, min_string};
    use arrow::datatypes::{Decimal128Type, TimestampNanosecondType, UInt32Type};
    let nulls = Some(array.null_count() as i64);
    if array.null_count() == array.len() {
        return (true, Vec::new(), Vec::new(), nulls);
    }
    let (lo, hi) = match array.data_type() {
        DataType::Decimal128(..) => {
            let a = array.as_primitive::<Decimal128Type>();
            let (lo, hi) = (min(a).expect("min") as i64, max(a).expect("max") as i64);
            (lo.to_le_bytes().to_vec(), hi.to_le_bytes().to_vec())
        }
        DataType::Timestamp(..) => {
            let a = array.as_primitive::<TimestampNanosecondType>();
            (
                min(a).expect("min").to_le_bytes().to_vec(),
                max(a).expect("max").to_le_bytes().to_vec(),
            )
        }
        DataType::Int64 => {
            let a = array.as_primitive::<arrow::datatypes::Int64Type>();
            (
                min(a).expect("min").to_le_bytes().to_vec(),
                max(a).expect("max").to_le_bytes().to_vec(),
            )
        }
        DataType::UInt32 => {
            let a = array.as_primitive::<UInt32Type>();
            (
                min(a).expect("min").to_le_bytes().to_vec(),
                max(a).expect("max").to_le_bytes().to_vec(),
            )
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (vec![u8::from(bool_and(a).expect("and"))], vec![u8::from(bool_or(a).expect("or"))])
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (
                min_string(a).expect("min").as_bytes().to_vec(),
                max_string(a).expect("max").as_bytes().to_vec(),
            )
        }
        other => panic!("no expectation for {other}"),
    };
    (false, lo, hi, nulls)
}

#[test]
fn depth_matches_arrow_rs_across_pages_and_row_groups() {
    let batches: Vec<_> = [(0, 5), (5, 33), (38, 1), (39, 200)]
        .iter()
        .map(|(at, n)| batch(Table::Depth, *n, 7 + *at as u64, *at))
        .collect();
    check_against_arrow_rs(Table::Depth, &batches, 16, 100);
}

#[test]
fn book_top_matches_arrow_rs_with_missing_levels() {
    let batches: Vec<_> = [(0, 70), (70, 70), (140, 9)]
        .iter()
        .map(|(at, n)| batch(Table::BookTop, *n, 11 + *at as u64, *at))
        .collect();
    check_against_arrow_rs(Table::BookTop, &batches, 25, 60);
}

#[test]
fn a_page_of_only_nulls_is_a_null_page() {
    let schema = Table::BookTop.schema();
    let full = batch(Table::BookTop, 8, 5, 0);
    let columns = full
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if f.name() == "ask_qty_19" {
                Arc::new(
                    Decimal128Array::from(vec![None::<i128>; 8]).with_data_type(decimal_type()),
                ) as ArrayRef
            } else {
                c.clone()
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema, columns).expect("batch");
    check_against_arrow_rs(Table::BookTop, &[batch], 4, 100);
}

#[test]
fn refuses_what_it_does_not_encode() {
    let calibration = Table::Calibration.schema();
    let props = writer_properties(Table::Calibration, &WriterConfig::default()).expect("props");
    let err = DirectWriter::try_new(Vec::new(), calibration, props).err().expect("Float64 refused");
    assert!(err.to_string().contains("sigma"), "{err}");
}

#[test]
fn a_null_in_a_required_column_is_an_error() {
    let full = batch(Table::Depth, 4, 3, 0);
    let schema = Table::Depth.schema();
    let price = schema.index_of("price").expect("price");
    let mut columns = full.columns().to_vec();
    columns[price] = Arc::new(
        Decimal128Array::from(vec![Some(1), None, Some(2), Some(3)]).with_data_type(decimal_type()),
    );
    // RecordBatch checks nullability itself; build it unchecked through a nullable schema.
    let loose = Arc::new(arrow::datatypes::Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(loose, columns).expect("batch");
    let mut writer =
        DirectWriter::try_new(Vec::new(), schema, props(Table::Depth, 10, 10)).expect("writer");
    let err = writer.write(&batch).expect_err("null refused");
    assert!(err.to_string().contains("price"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any split of any number of rows into batches, any page and row-group size.
    #[test]
    fn any_batching_matches_arrow_rs(
        table in prop_oneof![Just(Table::Depth), Just(Table::BookTop)],
        sizes in proptest::collection::vec(1usize..90, 1..5),
        page_rows in 1usize..40,
        group_rows in 1usize..120,
        seed in any::<u64>(),
    ) {
        let mut at = 0;
        let batches: Vec<_> = sizes.iter().map(|n| {
            let b = batch(table, *n, seed ^ at as u64, at);
            at += n;
            b
        }).collect();
        check_against_arrow_rs(table, &batches, page_rows, group_rows);
    }
}
