//! `mdkit import` on the real Binance captures in ../shared/realdata/hftbacktest-binance
//! (skipped with a message when the shared tree is absent), and on small hand-made files for
//! the refusals.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde_json::Value;

use crate::common::{mdkit, stderr, stdout};

/// Lines of a capture carrying a `@trade` frame, counted straight from the gzip text.
fn trade_frames(path: &Path) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    reader.lines().filter(|l| l.as_ref().unwrap().contains("@trade\",\"data\"")).count() as u64
}

fn import(data: &Path, files: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", "--from-format", "hftbacktest-raw"];
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    args.extend_from_slice(extra);
    mdkit(data, &args)
}

fn verify_json(data: &Path) -> Value {
    let out = mdkit(data, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(0), "verify: {}{}", stdout(&out), stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn kinds(market: &Value) -> Vec<String> {
    market["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_real_capture_imports_into_tables_verify_finds_clean_with_the_clock_skew() {
    let Some(dir) = crate::common::shared_realdata() else { return };
    let cases = [
        ("spot/btcusdt_20240808.gz", "binance-spot", "BTCUSDT", true),
        ("spot/btcusdt_20240809.gz", "binance-spot", "BTCUSDT", false),
        ("usdm/btcusdt_20240808.gz", "binance-usdm", "BTCUSDT", true),
        ("cm/btcusd_perp_20240808.gz", "binance-coinm", "BTCUSD_PERP", true),
        ("cm/btcusd_perp_20240809.gz", "binance-coinm", "BTCUSD_PERP", false),
    ];
    for (file, venue, market, has_snapshot) in cases {
        let data = tempfile::tempdir().unwrap();
        let path = dir.join(file);
        let out = import(data.path(), &[&path], &[]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        assert!(
            stdout(&out)
                .contains(&format!("{venue} {market} (venue inferred from its diff-depth frames)")),
            "{file}: {}",
            stdout(&out)
        );
        let report = verify_json(data.path());
        let m = &report["markets"][0];
        assert_eq!((m["venue"].as_str(), m["market"].as_str()), (Some(venue), Some(market)));
        assert_eq!(m["violations"], 0, "{file}: {m:#}");
        let kinds = kinds(m);
        assert!(!kinds.iter().any(|k| k == "unexplained_gap"), "{file}: {kinds:?}");
        assert_eq!(m["rows"]["trades"].as_u64(), Some(trade_frames(&path)), "{file}");
        // The recorder's clock ran ~1.27 s behind Binance's on every row (README of the data).
        let skew = &m["skew"];
        assert_eq!(skew["rows"], skew["of"], "{file}: every row is skewed");
        let median = skew["ahead_median_ns"].as_i64().unwrap();
        assert!((1_150_000_000..1_350_000_000).contains(&median), "{file}: {median}");
        if has_snapshot {
            // One connection, spliced once: every depth frame but the few before the
            // bridging diff is a book frame.
            assert_eq!(m["book_conns"], serde_json::json!([1]), "{file}");
            assert!(m["rows"]["book_top"].as_u64().unwrap() > 3000, "{file}");
            assert!(!kinds.iter().any(|k| k == "recorded_unsynced"), "{file}: {kinds:?}");
        } else {
            // A continuation file alone has no book: its diffs are explained, not recorded.
            assert_eq!(m["rows"]["depth"], 0, "{file}");
            assert!(kinds.iter().any(|k| k == "recorded_unsynced"), "{file}: {kinds:?}");
        }
    }
}

#[test]
fn two_days_of_one_market_are_one_stream_and_reimport_is_refused_or_replaced() {
    let Some(dir) = crate::common::shared_realdata() else { return };
    let data = tempfile::tempdir().unwrap();
    let (d8, d9) = (dir.join("cm/btcusd_perp_20240808.gz"), dir.join("cm/btcusd_perp_20240809.gz"));
    // Given in the wrong order: sorted by receive time.
    let out = import(data.path(), &[&d9, &d8], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = verify_json(data.path());
    let m = &report["markets"][0];
    assert_eq!(m["violations"], 0, "{m:#}");
    assert_eq!(m["book_conns"], serde_json::json!([1]));
    // The chain continues across midnight: 0809's diffs are in the one book connection.
    let frames = m["rows"]["book_top"].as_u64().unwrap();
    assert!(frames > 26_847 + 17_000, "{frames}");
    assert_eq!(m["rows"]["trades"].as_u64(), Some(trade_frames(&d8) + trade_frames(&d9)));

    let again = import(data.path(), &[&d9], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("importing again would write them twice; pass --replace"),
        "{}",
        stderr(&again)
    );
    let replaced = import(data.path(), &[&d8, &d9], &["--replace"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    let after = verify_json(data.path());
    assert_eq!(after["markets"][0]["rows"], m["rows"]);
}

pub fn gz(path: &Path, text: &str) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
}

pub const DIFF: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":10,"u":12,"b":[["100.0","1"]],"a":[["101.0","2"]]}}"#;
pub const SNAP: &str = r#"{"lastUpdateId":11,"bids":[["99.0","1"]],"asks":[["102.0","1"]]}"#;

#[test]
fn a_bad_line_is_named_by_file_and_line_and_a_chain_break_starts_a_new_connection() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.gz");
    gz(&bad, &format!("1723161254000000000 {DIFF}\n1723161254100000000{SNAP}\n"));
    let out = import(&dir.path().join("data"), &[&bad], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.gz:2: expected `<receive time ns> <frame>`"), "{err}");

    // Spliced at line 2, then a diff that skips updates 13–19: recorded as a seq_gap that ends
    // connection 1; the next snapshot and diff build the book again on connection 2.
    let skip = DIFF.replace("\"U\":10,\"u\":12", "\"U\":20,\"u\":22");
    let snap2 = SNAP.replace("11", "23");
    let next = DIFF.replace("\"U\":10,\"u\":12", "\"U\":23,\"u\":25");
    let text = format!(
        "1723161254000000000 {DIFF}\n1723161254100000000 {SNAP}\n1723161254200000000 {skip}\n1723161254300000000 {snap2}\n1723161254400000000 {next}\n"
    );
    let file = dir.path().join("spot").join("gap.gz");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    gz(&file, &text);
    let data = dir.path().join("data2");
    let out = import(&data, &[&file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("gap.gz:3: update id chain broke: U 20 where 13 was due"),
        "{}",
        stdout(&out)
    );
    let report = verify_json(&data);
    let m = &report["markets"][0];
    assert_eq!(m["book_conns"], serde_json::json!([1, 2]));
    assert!(kinds(m).iter().any(|k| k == "recorded_gap"), "{m:#}");
}

/// Rows of one table as sortable text: row order inside equal keys may differ between parts.
fn sorted<T: std::fmt::Debug>(rows: &[T]) -> Vec<String> {
    let mut text: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    text.sort();
    text
}

#[test]
fn importing_a_collect_journal_reproduces_every_table_row_for_row() {
    use crate::live::{Collector, Recording, Sim};
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--speed", "10", "--duration", "2h", "--seed", "5"]);
    let args = ["ETH-USD", "--url", &sim.url, "--backoff-min", "10ms", "--backoff-max", "50ms"];
    // Two runs: the restart, its checkpoints and an archived segment are all in the journal.
    for _ in 0..2 {
        let mut run = Collector::start(&data, &args, true);
        run.wait_journaled(300);
        assert!(run.interrupt().success());
    }
    sim.stop();
    let journal = data.join("_journal/extended/ETH-USD");
    assert!(journal.join("archive").is_dir(), "committed segments are kept");
    let archived: Vec<String> = std::fs::read_dir(journal.join("archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !archived.is_empty() && archived.iter().all(|n| n.ends_with(".journal.zst")),
        "archived segments are compressed: {archived:?}"
    );
    let rebuilt = dir.path().join("rebuilt");
    let out = mdkit(&rebuilt, &["import", "--from-format", "journal", journal.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("extended ETH-USD"), "{}", stdout(&out));
    let (a, b) = (Recording::read(&data, "ETH-USD"), Recording::read(&rebuilt, "ETH-USD"));
    assert!(!a.depth.is_empty() && !a.trades.is_empty());
    assert_eq!(sorted(&a.depth), sorted(&b.depth));
    assert_eq!(sorted(&a.book_top), sorted(&b.book_top));
    assert_eq!(sorted(&a.trades), sorted(&b.trades));
    assert_eq!(sorted(&a.events), sorted(&b.events));
    // Rebuilding in place is refused without --replace, and with it gives the same rows.
    let again = mdkit(&data, &["import", "--from-format", "journal", journal.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    let replace = ["import", "--from-format", "journal", "--replace", journal.to_str().unwrap()];
    assert!(mdkit(&data, &replace).status.success());
    let c = Recording::read(&data, "ETH-USD");
    assert_eq!(sorted(&a.trades), sorted(&c.trades));
    assert_eq!(sorted(&a.depth), sorted(&c.depth));
}
