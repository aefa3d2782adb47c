//! Real processes for end-to-end tests: `mdkit simulate` on 127.0.0.1 with an OS-assigned
//! port, and `mdkit collect` against it, stopped with SIGINT or SIGKILL. Nothing here sleeps:
//! the tests wait for a process to print a line or to exit. Also the checks every venue's live
//! test makes of a recording: against the simulator's truth, and against a re-import of its
//! journal.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};

use mdkit::model::{EventKind, Price, Qty, TakerSide};
use mdkit::storage::{list, BookTopRow, DepthRow, EventRow, Rows, Selection, TradeRow};

use crate::common::{mdkit, stderr};

/// A running `mdkit simulate`.
pub struct Sim {
    child: Child,
    /// The base URL to give `collect --url`.
    pub url: String,
}

impl Sim {
    /// Starts the simulator with `args` (plus `--port 0` and `--log <log>`), and waits for its
    /// `listening on` line.
    pub fn start(log: &Path, args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
            .args(["simulate", "--port", "0", "--log"])
            .arg(log)
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mdkit simulate");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("read the listening line");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Sim { child, url }
    }

    /// Sends the simulator a signal (`STOP` freezes the venue, `CONT` resumes it).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name}");
    }

    /// Ctrl+C: the simulator flushes its log and exits 0.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-s", "INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        self.wait();
    }

    /// Waits until the simulator ends by itself (`--duration`).
    pub fn wait(&mut self) {
        let status = self.child.wait().expect("wait for the simulator");
        assert!(status.success(), "simulator: {status}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `mdkit collect`.
pub struct Collector {
    child: Child,
    lines: Option<Lines<BufReader<ChildStderr>>>,
}

impl Collector {
    /// Starts `mdkit --data <data> collect <args>`. With `trace`, stderr carries one
    /// `journaled` line per journal record, for [`Collector::wait_journaled`].
    pub fn start(data: &Path, args: &[&str], trace: bool) -> Collector {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mdkit"));
        command.arg("--data").arg(data).arg("collect").args(args);
        if trace {
            command.env("RUST_LOG", "mdkit::record=trace").stderr(Stdio::piped());
        } else {
            command.env("RUST_LOG", "warn").stderr(Stdio::null());
        }
        let mut child = command.stdout(Stdio::null()).spawn().expect("start mdkit collect");
        let lines = child.stderr.take().map(|e| BufReader::new(e).lines());
        Collector { child, lines }
    }

    /// Starts `mdkit --data <data> collect <args>` with its warnings and errors (and any
    /// panic message) written to the file `log`.
    pub fn start_logged(data: &Path, args: &[&str], log: &Path) -> Collector {
        let file = std::fs::File::create(log).expect("create the collect log");
        let child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
            .arg("--data")
            .arg(data)
            .arg("collect")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start mdkit collect");
        Collector { child, lines: None }
    }

    /// Reads stderr (started with trace) up to the line containing `text`, and returns it.
    pub fn wait_line(&mut self, text: &str) -> String {
        let lines = self.lines.as_mut().expect("started with trace");
        loop {
            let line = lines.next().expect("recorder ended early").expect("read stderr");
            if line.contains(text) {
                return line;
            }
        }
    }

    /// Blocks until the recorder has journaled `n` more records.
    pub fn wait_journaled(&mut self, n: usize) {
        let lines = self.lines.as_mut().expect("started with trace");
        let mut seen = 0;
        while seen < n {
            let line = lines.next().expect("recorder ended early").expect("read stderr");
            if line.contains("journaled") {
                seen += 1;
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name}");
    }

    /// The recorder's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The recorder's peak resident memory so far (Linux `VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status (Linux)");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
        let kb: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kB");
        kb * 1024
    }

    /// Ctrl+C: the recorder must publish everything and exit 0.
    pub fn interrupt(mut self) -> ExitStatus {
        self.signal("INT");
        self.lines = None; // no reader: a full pipe must not stall the shutdown
        self.child.wait().expect("wait for collect")
    }

    /// kill -9.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait for collect");
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every row of `R`'s table for `market`, in stored order.
pub fn read<R: Rows>(data: &Path, market: &str) -> Vec<R> {
    let selection = Selection { market: Some(market.to_owned()), ..Selection::default() };
    let listing = list(data, R::TABLE, &selection).expect("list parts");
    assert!(listing.bad.is_empty(), "unreadable parts: {:?}", listing.bad);
    let mut rows = Vec::new();
    for batch in listing.scan() {
        rows.extend(R::from_batch(&batch.expect("read batch")).expect("decode rows"));
    }
    rows
}

/// Everything recorded for one market.
pub struct Recording {
    pub depth: Vec<DepthRow>,
    pub book_top: Vec<BookTopRow>,
    pub trades: Vec<TradeRow>,
    pub events: Vec<EventRow>,
}

impl Recording {
    pub fn read(data: &Path, market: &str) -> Recording {
        Recording {
            depth: read(data, market),
            book_top: read(data, market),
            trades: read(data, market),
            events: read(data, market),
        }
    }

    /// Connection numbers of `stream` ("orderbooks" or "publicTrades"), in order.
    pub fn conns(&self, stream: &str) -> Vec<u32> {
        let mut conns: Vec<u32> = self
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Connect)
            .filter(|e| e.detail.as_deref().is_some_and(|d| d.contains(stream)))
            .map(|e| e.conn)
            .collect();
        conns.sort();
        conns
    }

    pub fn events_of(&self, conn: u32) -> Vec<&EventRow> {
        self.events.iter().filter(|e| e.conn == conn).collect()
    }

    /// Asserts no row is stored twice in any table.
    pub fn assert_no_duplicates(&self) {
        let mut seen = std::collections::HashSet::new();
        for d in &self.depth {
            assert!(seen.insert((d.conn, d.seq, d.side, d.price)), "depth row twice: {d:?}");
        }
        let mut seen = std::collections::HashSet::new();
        for b in &self.book_top {
            assert!(
                seen.insert((b.conn, b.seq)),
                "book frame twice: conn {} seq {}",
                b.conn,
                b.seq
            );
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.trades {
            assert!(seen.insert(t.trade_id), "trade {} twice", t.trade_id);
        }
        let mut seen = std::collections::HashSet::new();
        for e in &self.events {
            let key = (e.ts_recv, e.conn, e.kind, e.seq, e.detail.clone());
            assert!(seen.insert(key), "event twice: {e:?}");
        }
    }

    /// Asserts every book connection's frames are seq 1, 2, 3, … with no hole.
    pub fn assert_book_seqs_contiguous(&self) {
        let mut by_conn: HashMap<u32, Vec<i64>> = HashMap::new();
        for b in &self.book_top {
            by_conn.entry(b.conn).or_default().push(b.seq);
        }
        for (conn, mut seqs) in by_conn {
            seqs.sort();
            let want: Vec<i64> = (1..=seqs.len() as i64).collect();
            assert_eq!(seqs, want, "book conn {conn} has a hole");
        }
    }
}

/// One line of the simulator's `trades.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthTrade {
    pub id: i64,
    pub ts_ms: i64,
    pub side: TakerSide,
    pub price: Price,
    pub qty: Qty,
}

fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

/// The simulator's trades for `market`, in order.
pub fn truth_trades(log: &Path, market: &str) -> Vec<TruthTrade> {
    jsonl(&log.join(market).join("trades.jsonl"))
        .into_iter()
        .map(|v| TruthTrade {
            id: v["id"].as_i64().expect("id"),
            ts_ms: v["ts"].as_i64().expect("ts"),
            side: v["side"].as_str().expect("side").parse().expect("side name"),
            price: Price::parse(v["price"].as_str().expect("price")).expect("price"),
            qty: Qty::parse(v["qty"].as_str().expect("qty")).expect("qty"),
        })
        .collect()
}

/// The simulator's book checksum after each step, by the step's ts (ms).
pub fn truth_checksums(log: &Path, market: &str) -> HashMap<i64, u64> {
    jsonl(&log.join(market).join("book.jsonl"))
        .into_iter()
        .map(|v| {
            let ts = v["ts"].as_i64().expect("ts");
            (ts, v["checksum"].as_str().expect("checksum").parse().expect("u64"))
        })
        .collect()
}

/// The simulator's best bid and ask after each step, by the step's ts (ms): the truth for a
/// venue that records only the top of the book (Kraken's 10 levels).
pub fn truth_tops(log: &Path, market: &str) -> HashMap<i64, (Option<Price>, Option<Price>)> {
    let price = |v: &serde_json::Value| v.as_str().map(|p| Price::parse(p).expect("price"));
    jsonl(&log.join(market).join("book.jsonl"))
        .into_iter()
        .map(|v| (v["ts"].as_i64().expect("ts"), (price(&v["best_bid"]), price(&v["best_ask"]))))
        .collect()
}

/// Replays `depth` frame by frame (each book connection on its own book) and returns, for
/// every frame in `book_top`, (ts_event ms, checksum of the replayed book).
pub fn replayed_checksums(rec: &Recording) -> Vec<(i64, u64)> {
    use mdkit::book::Book;
    use mdkit::model::{BookFrame, FrameKind, Level};
    let mut levels: HashMap<(u32, i64), Vec<&DepthRow>> = HashMap::new();
    for d in &rec.depth {
        levels.entry((d.conn, d.seq)).or_default().push(d);
    }
    let mut frames: Vec<&BookTopRow> = rec.book_top.iter().collect();
    frames.sort_by_key(|b| (b.conn, b.seq));
    let mut books: HashMap<u32, Book> = HashMap::new();
    let mut out = Vec::new();
    for top in frames {
        let rows = levels.remove(&(top.conn, top.seq)).unwrap_or_default();
        let side =
            |s| rows.iter().filter(|d| d.side == s).map(|d| Level::new(d.price, d.qty)).collect();
        let frame = BookFrame {
            market: String::new(),
            kind: if top.snapshot { FrameKind::Snapshot } else { FrameKind::Delta },
            seq: top.seq as u64,
            ts_event: top.ts_event,
            bids: side(mdkit::model::BookSide::Bid),
            asks: side(mdkit::model::BookSide::Ask),
        };
        let book = books.entry(top.conn).or_default();
        book.apply(&frame).expect("depth rows apply");
        out.push((top.ts_event.as_nanos() / 1_000_000, book.checksum()));
    }
    assert!(levels.is_empty(), "depth rows without a book_top frame: {:?}", levels.keys());
    out
}

/// The connection numbers among `conns`, in order, once each.
pub fn conns(conns: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut conns: Vec<u32> = conns.collect();
    conns.sort();
    conns.dedup();
    conns
}

fn sorted<T: std::fmt::Debug>(rows: &[T]) -> Vec<String> {
    let mut text: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    text.sort();
    text
}

/// Every book frame's best levels are the venue's at that step (and `depth` levels a side,
/// where given); every trade is one the venue made, field for field; a hole in the trade ids
/// is flagged by a `trade_gap` event. For venues that name their markets like the simulator.
pub fn assert_matches_truth(rec: &Recording, log: &Path, market: &str, depth: Option<usize>) {
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    let tops = truth_tops(log, market);
    assert_book_matches(rec, &tops, depth);
    assert_trades_match_truth(rec, log, market);
}

/// [`assert_matches_truth`] for a venue whose book messages carry no venue time (dYdX's
/// indexer): book frames cannot be paired with the simulator's steps, so only their count and
/// continuity are held here (`verify`'s replay check proves `depth` against `book_top`).
pub fn assert_matches_truth_untimed_book(rec: &Recording, log: &Path, market: &str) {
    rec.assert_no_duplicates();
    rec.assert_book_seqs_contiguous();
    assert!(rec.book_top.len() > 100, "only {} book frames", rec.book_top.len());
    assert_trades_match_truth(rec, log, market);
}

fn assert_book_matches(
    rec: &Recording,
    tops: &HashMap<i64, (Option<Price>, Option<Price>)>,
    depth: Option<usize>,
) {
    assert!(rec.book_top.len() > 100, "only {} book frames", rec.book_top.len());
    for top in &rec.book_top {
        let ts = top.ts_event.as_nanos() / 1_000_000;
        let best = |levels: &mdkit::storage::TopLevels| levels.first().map(|l| l.price);
        let want = tops.get(&ts).unwrap_or_else(|| panic!("no step at ts {ts}"));
        assert_eq!((best(&top.bids), best(&top.asks)), *want, "best levels at ts {ts}");
        if let Some(depth) = depth {
            assert_eq!((top.bids.len(), top.asks.len()), (depth, depth), "depth at ts {ts}");
        }
    }
}

fn assert_trades_match_truth(rec: &Recording, log: &Path, market: &str) {
    let trades = truth_trades(log, market);
    let by_id: HashMap<i64, _> = trades.iter().map(|t| (t.id, t)).collect();
    for t in &rec.trades {
        let want =
            by_id.get(&t.trade_id).unwrap_or_else(|| panic!("trade {} never made", t.trade_id));
        let got = (t.side, t.price, t.qty, t.ts_event.as_nanos() / 1_000_000);
        assert_eq!(got, (want.side, want.price, want.qty, want.ts_ms), "trade {}", t.trade_id);
    }
    let recorded: HashSet<i64> = rec.trades.iter().map(|t| t.trade_id).collect();
    let (Some(&lo), Some(&hi)) = (recorded.iter().min(), recorded.iter().max()) else {
        panic!("no trades recorded")
    };
    let missing = trades.iter().filter(|t| t.id >= lo && t.id <= hi && !recorded.contains(&t.id));
    if missing.count() > 0 {
        assert!(rec.events.iter().any(|e| e.kind == EventKind::TradeGap), "unflagged trade hole");
    }
}

/// Re-imports `venue`/`market`'s journal into a fresh tree and asserts its tables equal `rec`.
pub fn assert_journal_reimports(data: &Path, venue: &str, market: &str, rec: &Recording) {
    let journal = data.join("_journal").join(venue).join(market);
    let rebuilt = data.with_file_name("rebuilt");
    let out = mdkit(&rebuilt, &["import", "--from-format", "journal", journal.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = Recording::read(&rebuilt, market);
    assert_eq!(sorted(&rec.depth), sorted(&again.depth));
    assert_eq!(sorted(&rec.book_top), sorted(&again.book_top));
    assert_eq!(sorted(&rec.trades), sorted(&again.trades));
    assert_eq!(sorted(&rec.events), sorted(&again.events));
}
