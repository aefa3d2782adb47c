//! The legacy Coinbase Exchange capture in `../shared/fixtures/coinbase/` (origin and license
//! in its README: cryptofeed's `sample_data/COINBASE.ws.28.0`, one connection to the legacy
//! feed subscribed to `level2`, `ticker` and `matches` for 10 products, 30.8 s on 2021-04-17):
//! every frame reads; each product's snapshot and `l2update`s (9,719 in all) replay into a book
//! that never crosses; `trade_id` is contiguous per product from `last_match` through every
//! `match` (10 + 97); and `mdkit import --from-format coinbase-legacy`, run as the real
//! binary, writes the 10 products under `coinbase-exchange` with the taker's side (the
//! opposite of the maker's `side`), one `book_top` row per book message, and a tree
//! `mdkit verify` finds clean. Skipped, saying so, when `../shared` is absent.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, Int64Array, StringArray};
use mdkit::book::Book;
use mdkit::model::TakerSide;
use mdkit::venue::bybit::book::{apply, is_crossed};
use mdkit::venue::coinbase::legacy::{self, Legacy};

use crate::backtest::read_parquet;
use crate::common::{mdkit, shared_fixtures, stderr, stdout};

const FILE: &str = "COINBASE.ws.28.0";

/// The capture's frames, in file order (header and request lines left out).
fn frames() -> Option<Vec<String>> {
    let dir = shared_fixtures("coinbase")?;
    let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
    let frames = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with("wss://"))
        .map(|l| l.split_once(": ").unwrap().1.to_owned())
        .collect();
    Some(frames)
}

#[test]
fn every_product_replays_into_a_book_that_never_crosses_with_contiguous_trade_ids() {
    let Some(frames) = frames() else { return };
    let mut books: BTreeMap<String, Book> = BTreeMap::new();
    let mut updates: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_ids: BTreeMap<String, i64> = BTreeMap::new();
    let (mut matches, mut last_matches, mut others) = (0, 0, 0);
    for (index, text) in frames.iter().enumerate() {
        let message = legacy::parse(text).unwrap_or_else(|e| panic!("frame {index}: {e}"));
        match message {
            Legacy::Snapshot { product_id, bids, asks } => {
                let book = books.entry(product_id).or_default();
                apply(book, true, &bids, &asks, usize::MAX);
                assert!(!is_crossed(book), "frame {index}");
            }
            Legacy::Update { product_id, bids, asks, .. } => {
                let book = books.get_mut(&product_id).expect("a snapshot first");
                let known = bids.iter().chain(&asks).filter(|l| l.qty.raw() == 0).count();
                let changed = apply(book, false, &bids, &asks, usize::MAX);
                // No update deletes a level that is absent (the README's property).
                assert_eq!(changed.len(), bids.len() + asks.len(), "frame {index} ({known} zeros)");
                assert!(!is_crossed(book), "frame {index} crossed");
                *updates.entry(product_id).or_default() += 1;
            }
            Legacy::Match { last, trade } => {
                if last {
                    last_matches += 1;
                    assert!(last_ids.insert(trade.product_id.clone(), trade.id).is_none());
                } else {
                    matches += 1;
                    let previous = last_ids.insert(trade.product_id.clone(), trade.id);
                    assert_eq!(previous, Some(trade.id - 1), "frame {index}: ids contiguous");
                }
                // The taker is the opposite of the maker's `side`.
                let maker = if text.contains(r#""side":"buy""#) { "buy" } else { "sell" };
                let taker = if maker == "buy" { TakerSide::Sell } else { TakerSide::Buy };
                assert_eq!(trade.side, taker, "frame {index}");
            }
            Legacy::Other { .. } => others += 1,
            Legacy::Error { message } => panic!("frame {index}: error {message}"),
        }
    }
    assert_eq!(books.len(), 10);
    assert_eq!(updates.values().sum::<usize>(), 9_719);
    assert_eq!(updates.get("SKL-USD"), Some(&2_592));
    assert_eq!(updates.get("NU-GBP"), Some(&76));
    assert_eq!((matches, last_matches, others), (97, 10, 110));
}

/// Every part file of `table` for `market` under `root`, in name order.
fn parts(root: &Path, table: &str, market: &str) -> Vec<std::path::PathBuf> {
    let dir = root.join(table).join("venue=coinbase-exchange").join(format!("market={market}"));
    crate::common::files_under(&dir, &|name| name.ends_with(".parquet"))
}

fn rows(root: &Path, table: &str, market: &str) -> usize {
    parts(root, table, market).iter().flat_map(|p| read_parquet(p)).map(|b| b.num_rows()).sum()
}

#[test]
fn the_binary_imports_ten_products_with_taker_sides_and_verify_finds_them_clean() {
    let Some(dir) = shared_fixtures("coinbase") else { return };
    let data = tempfile::tempdir().unwrap();
    let file = dir.join(FILE);
    let args = ["import", file.to_str().unwrap(), "--from-format", "coinbase-legacy"];
    let out = mdkit(data.path(), &args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let summary = stdout(&out);
    let markets = summary.lines().filter(|l| l.starts_with("coinbase-exchange ")).count();
    assert_eq!(markets, 10, "{summary}");
    assert!(!summary.contains("break:"), "{summary}");

    let frames = frames().unwrap();
    let mut trades_total = 0;
    let mut book_messages: BTreeMap<String, usize> = BTreeMap::new();
    for text in &frames {
        if let Ok(Legacy::Snapshot { product_id, .. } | Legacy::Update { product_id, .. }) =
            legacy::parse(text)
        {
            *book_messages.entry(product_id).or_default() += 1;
        }
    }
    for (market, messages) in &book_messages {
        // One book_top row per book message, none lost or refused.
        assert_eq!(rows(data.path(), "book_top", market), *messages, "{market}");
        let mut ids = Vec::new();
        for batch in parts(data.path(), "trades", market).iter().flat_map(|p| read_parquet(p)) {
            let id = batch.column_by_name("trade_id").unwrap();
            let id = id.as_any().downcast_ref::<Int64Array>().unwrap();
            let side = batch.column_by_name("side").unwrap();
            let side = side.as_any().downcast_ref::<StringArray>().unwrap();
            for row in 0..batch.num_rows() {
                ids.push((id.value(row), side.value(row).to_owned()));
            }
        }
        trades_total += ids.len();
        ids.sort();
        assert!(ids.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{market}: {ids:?}");
        // Each row's side is the opposite of the maker side its frame sent.
        for (id, side) in &ids {
            // (A `ticker` frame names the trade too, with the taker's side: not that one.)
            let frame = frames
                .iter()
                .find(|f| f.contains("match\"") && f.contains(&format!("\"trade_id\":{id},")))
                .unwrap();
            let maker_buy = frame.contains(r#""side":"buy""#);
            assert_eq!(side, if maker_buy { "sell" } else { "buy" }, "{market} trade {id}");
        }
    }
    assert_eq!(book_messages.len(), 10);
    assert_eq!(book_messages.values().sum::<usize>(), 9_729);
    assert_eq!(trades_total, 107);

    let verify = mdkit(data.path(), &["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}{}", stdout(&verify), stderr(&verify));
    // Importing again is refused rather than writing the rows twice.
    let again = mdkit(data.path(), &args);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--replace"), "{}", stderr(&again));
}
