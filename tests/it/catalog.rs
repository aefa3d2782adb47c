//! The catalog (docs/ARCHITECTURE.md "Catalog"): on a tree of 10,000 parts, listing one hour
//! reads the footers of that hour's parts only; without manifests every part of the day is
//! read, with the same result; a part rewritten since its manifest line is read by its footer.

use std::time::Duration;

use mdkit::storage::{
    footer_reads, list, manifest, Rows, Selection, Table, TimeRange, TradeRow, Writer, WriterConfig,
};

use crate::common::{trades, DAY_20, SEC};

/// Lists `table` for 13:00–14:00 on 2026-11-20 and returns (parts, rows, footers read).
fn hour(root: &std::path::Path) -> (usize, u64, u64) {
    let selection = Selection {
        venue: Some("extended".into()),
        market: Some("ETH-USD".into()),
        range: TimeRange::new(Some(DAY_20 + 13 * 3600 * SEC), Some(DAY_20 + 14 * 3600 * SEC)),
    };
    let before = footer_reads();
    let listing = list(root, Table::Trades, &selection).unwrap();
    (listing.parts.len(), listing.rows(), footer_reads() - before)
}

#[test]
fn an_hour_of_ten_thousand_parts_reads_only_that_hours_footers() {
    // 30,000 fsyncs: on a RAM disk when the machine has one, else a few minutes of disk.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let root = dir.path();
    // 100,000 trades a second apart (27.8 h from midnight), 10 to a part: 10,000 parts, 360
    // of them in each hour.
    let config = WriterConfig {
        part_max_rows: 10,
        coalesce_rows: 10_000,
        part_max_age: Duration::from_secs(3600),
        ..WriterConfig::default()
    };
    let mut writer = Writer::new(root, Table::Trades, "extended", "ETH-USD", config).unwrap();
    let rows = trades(100_000, DAY_20);
    for chunk in rows.chunks(10_000) {
        writer.write(&TradeRow::to_batch("extended", "ETH-USD", chunk)).unwrap();
    }
    assert_eq!(writer.close().unwrap().len(), 10_000);

    let (parts, rows, footers) = hour(root);
    assert_eq!((parts, rows), (360, 3600));
    assert_eq!(footers, 360, "only the hour's parts have their footers read");

    // A tree without manifests (older, or written by another tool) lists the same parts by
    // reading every footer of the day.
    let day = root.join("trades/venue=extended/market=ETH-USD/date=2026-11-20");
    let manifest_file = day.join(manifest::MANIFEST);
    let kept = std::fs::read(&manifest_file).unwrap();
    std::fs::remove_file(&manifest_file).unwrap();
    assert_eq!(hour(root), (360, 3600, 8640), "no manifest: every footer of the day");
    std::fs::write(&manifest_file, kept).unwrap();

    // A part outside the hour rewritten (here: with the rows of one inside it) no longer
    // matches its manifest line: its footer is read, and it is listed.
    let inside = day.join(&list_names(&day)[13 * 360]);
    let outside = day.join(&list_names(&day)[2 * 360]);
    std::fs::copy(&inside, &outside).unwrap();
    let (parts, rows, footers) = hour(root);
    let same_size = std::fs::metadata(&inside).unwrap().len()
        == manifest::read(&day)[outside.file_name().unwrap().to_str().unwrap()].bytes;
    assert!(!same_size, "the copy must change the size for this check to mean anything");
    assert_eq!((parts, rows, footers), (361, 3610, 361));
}

fn list_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    names.sort();
    names
}
