//! The rows path must write the very file the Arrow-batch path writes.

use proptest::prelude::*;

use super::{DirectRows, RowColumns};
use crate::model::{BookSide, EventTime, Level, Price, Qty, RecvTime};
use crate::storage::direct::DirectWriter;
use crate::storage::writer::{writer_properties, WriterConfig};
use crate::storage::{BookTopRow, DepthRow, Rows, BOOK_TOP_LEVELS};

const VENUE: &str = "extended";
const MARKET: &str = "ETH-USD";

fn props<R: Rows>(
    page_rows: usize,
    group_rows: usize,
) -> parquet::file::properties::WriterProperties {
    let config = WriterConfig { row_group_rows: group_rows, ..WriterConfig::default() };
    writer_properties(R::TABLE, &config)
        .expect("properties")
        .into_builder()
        .set_data_page_row_count_limit(page_rows)
        .build()
}

/// The file written from Arrow batches of `chunk` rows at a time.
fn from_batches<R: DirectRows>(rows: &[R], chunk: usize, page: usize, group: usize) -> Vec<u8> {
    let props = props::<R>(page, group);
    let mut writer = DirectWriter::try_new(Vec::new(), R::TABLE.schema(), props).expect("writer");
    for part in rows.chunks(chunk) {
        writer.write(&R::to_batch(VENUE, MARKET, part)).expect("write batch");
    }
    writer.into_inner().expect("finish")
}

/// The file written from the rows themselves, `chunk` rows at a time.
fn from_rows<R: DirectRows>(rows: &[R], chunk: usize, page: usize, group: usize) -> Vec<u8> {
    let props = props::<R>(page, group);
    let mut writer = DirectWriter::try_new(Vec::new(), R::TABLE.schema(), props).expect("writer");
    for part in rows.chunks(chunk) {
        writer.write(&RowColumns { venue: VENUE, market: MARKET, rows: part }).expect("write rows");
    }
    writer.into_inner().expect("finish")
}

fn key(i: usize) -> (EventTime, RecvTime, u32, i64) {
    let ms = 1_795_132_800_000 + (i as i64 / 3) * 100;
    let ts_event = EventTime::from_millis(ms).expect("in range");
    (ts_event, RecvTime::from_nanos(ms * 1_000_000 + 4_000_000), 3 + (i >= 40) as u32, i as i64 / 3)
}

fn level(price: i64, qty: i64) -> Level {
    Level::new(Price::from_raw(price * 1_000_000), Qty::from_raw(qty * 100_000))
}

fn depth_rows(spec: &[(bool, i64, i64)]) -> Vec<DepthRow> {
    spec.iter()
        .enumerate()
        .map(|(i, &(bid, price, qty))| {
            let (ts_event, ts_recv, conn, seq) = key(i);
            DepthRow {
                ts_event,
                ts_recv,
                conn,
                seq,
                snapshot: i % 29 == 0,
                side: if bid { BookSide::Bid } else { BookSide::Ask },
                price: Price::from_raw(price * 1_000_000),
                qty: Qty::from_raw(qty * 100_000),
            }
        })
        .collect()
}

fn top_rows(spec: &[(usize, usize, i64)]) -> Vec<BookTopRow> {
    spec.iter()
        .enumerate()
        .map(|(i, &(bids, asks, mid))| {
            let (ts_event, ts_recv, conn, seq) = key(i);
            BookTopRow {
                ts_event,
                ts_recv,
                conn,
                seq,
                snapshot: i % 31 == 0,
                bids: (0..bids as i64)
                    .map(|k| level(mid - 1 - k, 1 + (k * 7 + mid) % 13))
                    .collect(),
                asks: (0..asks as i64)
                    .map(|k| level(mid + 1 + k, 1 + (k * 5 + mid) % 11))
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn column_counts_are_the_schemas() {
    assert_eq!(DepthRow::COLUMNS, DepthRow::TABLE.schema().fields().len());
    assert_eq!(BookTopRow::COLUMNS, BookTopRow::TABLE.schema().fields().len());
}

#[test]
fn a_column_past_the_schema_is_refused() {
    let rows = depth_rows(&[(true, 3000, 1)]);
    let props = props::<DepthRow>(10, 10);
    let schema = crate::storage::Table::BookTop.schema();
    // A depth source handed to a book_top file: the column counts differ.
    let mut writer = DirectWriter::try_new(Vec::new(), schema, props).expect("writer");
    let err = writer
        .write(&RowColumns { venue: VENUE, market: MARKET, rows: &rows })
        .expect_err("wrong table refused");
    assert!(err.to_string().contains("columns"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn depth_rows_write_the_file_their_batches_write(
        spec in prop::collection::vec((any::<bool>(), 2990i64..3010, 0i64..40), 1..300),
        chunk in 1usize..120,
        page in 1usize..50,
        group in 1usize..200,
    ) {
        let rows = depth_rows(&spec);
        let batches = from_batches(&rows, chunk, page, group);
        prop_assert!(from_rows(&rows, chunk, page, group) == batches);
        // How the rows are split does not matter either.
        prop_assert!(from_rows(&rows, rows.len(), page, group) == batches);
    }

    #[test]
    fn book_top_rows_write_the_file_their_batches_write(
        // Up to a few levels past what the table keeps, and empty sides.
        spec in prop::collection::vec(
            (0..BOOK_TOP_LEVELS + 3, 0..BOOK_TOP_LEVELS + 3, 2990i64..3010),
            1..150,
        ),
        chunk in 1usize..60,
        page in 1usize..40,
        group in 1usize..100,
    ) {
        let rows = top_rows(&spec);
        let batches = from_batches(&rows, chunk, page, group);
        prop_assert!(from_rows(&rows, chunk, page, group) == batches);
        prop_assert!(from_rows(&rows, rows.len(), page, group) == batches);
    }
}
