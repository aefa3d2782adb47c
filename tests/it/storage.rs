//! Writer → reader: every row comes back exactly, in (time, seq) order, across rotations by
//! row count, by age and at UTC midnight; parts are sorted and named as documented.

use std::collections::BTreeSet;
use std::time::Duration;

use mdkit::model::{BookSide, EventKind, EventTime, Price, Qty, RecvTime, TakerSide, TradeKind};
use mdkit::storage::{
    list, DepthRow, EventRow, Rows, Selection, Table, TimeRange, TradeRow, Writer, WriterConfig,
};
use proptest::prelude::*;

use crate::common::{trades, write_trades, DAY_20, SEC};

fn read_all<R: Rows>(root: &std::path::Path, selection: &Selection) -> Vec<R> {
    let listing = list(root, R::TABLE, selection).expect("list");
    assert!(listing.bad.is_empty(), "unexpected bad parts: {:?}", listing.bad);
    let mut rows = Vec::new();
    for batch in listing.scan() {
        rows.extend(R::from_batch(&batch.expect("batch")).expect("decode"));
    }
    rows
}

fn small_config(coalesce: usize) -> WriterConfig {
    WriterConfig {
        row_group_rows: 3,
        part_max_rows: 7,
        part_max_age: Duration::from_secs(30),
        zstd_level: 3,
        coalesce_rows: coalesce,
        defer_publish: false,
    }
}

/// A frame: rows sharing (ts_recv, seq). Times start a minute before midnight so runs cross
/// the date boundary, and sometimes step back (a wall clock adjusted) between frames.
fn frames() -> impl Strategy<Value = Vec<(i64, usize)>> {
    prop::collection::vec((-5i64..20, 1usize..5), 1..40)
}

fn depth_rows(frames: &[(i64, usize)], snapshot_every: usize) -> Vec<Vec<DepthRow>> {
    let mut t = DAY_20 - 60 * SEC;
    frames
        .iter()
        .enumerate()
        .map(|(f, (step, levels))| {
            t += step * SEC + 1;
            (0..*levels)
                .map(|l| DepthRow {
                    ts_event: EventTime::from_nanos(t - 1_250_000_000),
                    ts_recv: mdkit::model::RecvTime::from_nanos(t),
                    conn: 1 + (f / 10) as u32,
                    seq: f as i64 + 1,
                    snapshot: f % snapshot_every == 0,
                    side: if l % 2 == 0 { BookSide::Bid } else { BookSide::Ask },
                    price: Price::from_raw(8_405_000_000_000 + (f * 7 + l) as i64 * 1_234_567),
                    qty: Qty::from_raw(((f + l) % 4) as i64 * 20_000),
                })
                .collect()
        })
        .collect()
}

/// What the reader must return: the rows stably sorted by (time, seq).
fn expected<R: Clone>(rows: &[R], key: impl Fn(&R) -> (i64, i64)) -> Vec<R> {
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(key);
    sorted
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn depth_rows_round_trip_in_order_across_rotations(
        frames in frames(),
        coalesce in 1usize..12,
        snap in 1usize..6,
        // Handed over as rows (`write_rows`, as a recorder does) or as batches, `group`
        // frames at a time: a group whose clock steps back is out of order in itself.
        by_rows in any::<bool>(),
        group in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Writer::new(dir.path(), Table::Depth, "extended", "BTC-USD", small_config(coalesce)).unwrap();
        let frames = depth_rows(&frames, snap);
        for frames in frames.chunks(group) {
            let rows = frames.concat();
            if by_rows {
                writer.write_rows(&rows).unwrap();
            } else {
                writer.write(&DepthRow::to_batch("extended", "BTC-USD", &rows)).unwrap();
            }
        }
        let parts = writer.close().unwrap();
        let written: Vec<DepthRow> = frames.concat();
        let got: Vec<DepthRow> = read_all(dir.path(), &Selection::default());
        prop_assert_eq!(got, expected(&written, |r| (r.ts_recv.as_nanos(), r.seq)));

        // Every part respects the rotation limits and holds one UTC date.
        for part in &parts {
            let listing = list(dir.path(), Table::Depth, &Selection::default()).unwrap();
            let info = listing.parts.iter().find(|p| &p.path == part).expect("committed part is listed");
            prop_assert!(info.rows <= 7);
            prop_assert!(info.row_groups.iter().all(|g| g.rows <= 3));
            let (lo, hi) = info.time_span().unwrap();
            prop_assert!(hi - lo < 30 * SEC);
            let date = RecvTime::from_nanos(lo).utc_date();
            prop_assert_eq!(RecvTime::from_nanos(hi).utc_date(), date);
            prop_assert_eq!(info.partition.date, date);
        }
    }

    #[test]
    fn events_with_nulls_round_trip(kinds in prop::collection::vec((0usize..8, any::<Option<i64>>(), any::<Option<i64>>(), prop::option::of("[a-z ]{0,12}")), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<EventRow> = kinds.iter().enumerate().map(|(i, (k, seq, expected_seq, detail))| EventRow {
            ts_recv: RecvTime::from_nanos(DAY_20 - 10 * SEC + (i as i64 / 2) * SEC),
            conn: (i / 7) as u32,
            kind: EventKind::ALL[*k],
            seq: *seq,
            expected_seq: *expected_seq,
            detail: detail.clone(),
        }).collect();
        let mut writer = Writer::new(dir.path(), Table::Events, "extended", "ETH-USD", small_config(4)).unwrap();
        for chunk in rows.chunks(5) {
            writer.write(&EventRow::to_batch("extended", "ETH-USD", chunk)).unwrap();
        }
        writer.close().unwrap();
        let got: Vec<EventRow> = read_all(dir.path(), &Selection::default());
        prop_assert_eq!(got, rows);
    }

    #[test]
    fn a_time_range_returns_exactly_its_rows(start in 0i64..120, len in 0i64..120) {
        let dir = tempfile::tempdir().unwrap();
        let rows = trades(100, DAY_20 - 50 * SEC);
        let mut writer = Writer::new(dir.path(), Table::Trades, "extended", "ETH-USD", small_config(9)).unwrap();
        writer.write(&TradeRow::to_batch("extended", "ETH-USD", &rows)).unwrap();
        writer.close().unwrap();
        let range = TimeRange::new(Some(DAY_20 - 50 * SEC + start * SEC), Some(DAY_20 - 50 * SEC + (start + len) * SEC));
        let got: Vec<TradeRow> = read_all(dir.path(), &Selection { range, ..Selection::default() });
        let want: Vec<TradeRow> = rows.into_iter().filter(|r| range.contains(r.ts_recv.as_nanos())).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn parts_overlapping_in_time_are_merged_in_order() {
    // Two markets interleaved in time: a scan of both returns one (time, seq) ordered stream.
    let dir = tempfile::tempdir().unwrap();
    let eth = trades(30_000, DAY_20);
    let mut btc = trades(30_000, DAY_20 + SEC / 2);
    for row in &mut btc {
        row.trade_id += 1_000_000;
    }
    write_trades(dir.path(), "ETH-USD", &eth);
    write_trades(dir.path(), "BTC-USD", &btc);
    let got: Vec<TradeRow> = read_all(dir.path(), &Selection::default());
    assert_eq!(got.len(), 60_000);
    assert!(got.windows(2).all(|w| (w[0].ts_recv, w[0].seq) <= (w[1].ts_recv, w[1].seq)));
    let ids: BTreeSet<i64> = got.iter().map(|r| r.trade_id).collect();
    assert_eq!(ids.len(), 60_000, "no row lost or repeated");
    let only_btc: Vec<TradeRow> =
        read_all(dir.path(), &Selection { market: Some("BTC-USD".into()), ..Selection::default() });
    assert_eq!(only_btc, btc);
}

#[test]
fn default_writer_makes_hive_parts_with_metadata_and_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let parts = write_trades(dir.path(), "ETH-USD", &trades(250_000, DAY_20 + 3_600 * SEC * 5));
    // 250,000 s of trades at one per second: rotated hourly and at midnight.
    assert!(parts.len() >= 69, "{} parts", parts.len());
    let first = &parts[0];
    let rel = first.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned();
    assert!(
        rel.starts_with(
            "trades/venue=extended/market=ETH-USD/date=2026-11-20/part-050000-1-0.parquet"
        ),
        "{rel}"
    );
    let file = std::fs::File::open(first).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader;
    let meta = reader.metadata();
    let kv: Vec<(String, String)> = meta
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
        .collect();
    assert!(kv.contains(&("mdkit.schema_version".into(), "1".into())), "{kv:?}");
    assert!(kv.contains(&("mdkit.table".into(), "trades".into())));
    assert!(kv.iter().any(|(k, v)| k == "mdkit.version" && v == env!("CARGO_PKG_VERSION")));
    let rg = meta.row_group(0);
    assert_eq!(rg.num_rows(), 3600);
    let price = rg.columns().iter().find(|c| c.column_path().string() == "price").unwrap();
    // The file records the codec, not its level (the level is checked on the writer settings).
    assert!(matches!(price.compression(), parquet::basic::Compression::ZSTD(_)));
    assert_eq!(price.column_type(), parquet::basic::Type::INT64, "decimals are stored as INT64");
    let sorting = rg.sorting_columns().expect("sorting columns recorded");
    assert_eq!(sorting.len(), 2);
}

#[test]
fn a_row_of_another_market_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        Writer::new(dir.path(), Table::Trades, "extended", "ETH-USD", WriterConfig::default())
            .unwrap();
    let err =
        writer.write(&TradeRow::to_batch("extended", "BTC-USD", &trades(3, DAY_20))).unwrap_err();
    assert!(err.to_string().contains("\"BTC-USD\""), "{err}");
    assert!(writer.close().unwrap().is_empty());
    let err = Writer::new(dir.path(), Table::Trades, "extended", "../etc", WriterConfig::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("cannot name a partition"), "{err}");
}

#[test]
fn rows_of_another_table_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(1);
    let mut writer =
        Writer::new(dir.path(), Table::BookTop, "extended", "ETH-USD", config).unwrap();
    let rows = depth_rows(&[(1, 2)], 1).concat();
    let err = writer.write_rows(&rows).expect_err("depth rows refused by a book_top writer");
    assert!(err.to_string().contains("depth rows"), "{err}");
    assert!(writer.close().unwrap().is_empty(), "nothing written");
}

#[test]
fn trade_rows_keep_every_decimal_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![TradeRow {
        ts_event: EventTime::from_nanos(DAY_20 + 1),
        ts_recv: RecvTime::from_nanos(DAY_20 + 2),
        conn: 4_000_000_000,
        seq: i64::MAX,
        trade_id: 9_007_199_254_740_993, // 2^53 + 1: not representable as f64
        side: TakerSide::Sell,
        price: Price::parse("9999999999.99999999").unwrap(),
        qty: Qty::parse("0.00000001").unwrap(),
        kind: TradeKind::Deleverage,
    }];
    write_trades(dir.path(), "ETH-USD", &rows);
    let got: Vec<TradeRow> = read_all(dir.path(), &Selection::default());
    assert_eq!(got, rows);
}

#[test]
fn tick_commits_a_quiet_part_once_it_is_older_than_the_age_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig { part_max_age: Duration::from_secs(60), ..WriterConfig::default() };
    let mut writer = Writer::new(dir.path(), Table::Trades, "extended", "ETH-USD", config).unwrap();
    writer.write(&TradeRow::to_batch("extended", "ETH-USD", &trades(10, DAY_20))).unwrap();
    writer.tick(RecvTime::from_nanos(DAY_20 + 59 * SEC)).unwrap();
    assert!(writer.committed().is_empty(), "younger than the limit: still open");
    writer.tick(RecvTime::from_nanos(DAY_20 + 60 * SEC)).unwrap();
    assert_eq!(writer.committed().len(), 1, "a quiet market still commits on the timer");
    let got: Vec<TradeRow> = read_all(dir.path(), &Selection::default());
    assert_eq!(got, trades(10, DAY_20));
    assert!(writer.close().unwrap().len() == 1, "nothing more to commit");
}
