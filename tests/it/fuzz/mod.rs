//! Issue 28, "a venue can send anything": property tests that take real frames of every venue
//! parser (Extended v1 book and trades, Extended v2 JSON-RPC, Binance spot / USD-M / COIN-M
//! combined-stream frames and REST snapshot bodies, Kraken v2 `book` and `trade` messages in
//! `kraken.rs`, OKX v5 `books` and `trades` messages in `okx.rs`) — frames in the exact layout
//! `mdkit simulate` sends, and the captured frames of `../shared/fixtures/` when present —
//! mutate them field by field with a JSON-aware mutator, and drive the public [`Recorder`]:
//! connect, whatever must precede the frame (a snapshot, acks), the mutated frame, then the
//! original frame. For every case:
//!
//! 1. nothing panics;
//! 2. the mutated frame gives exactly the rows (and the state) the original gives — a
//!    value-preserving mutation such as trailing zeros — or exactly one `refused` row with a
//!    non-empty reason and nothing else;
//! 3. after a refusal the state is untouched: the recorder's saved state is the one before
//!    the frame, and the original frame then gives exactly the rows it gives on a recorder
//!    that never saw the mutant (same seq, same book, trade ids not consumed).
//!
//! On venues whose every book message carries a checksum (Kraken, OKX) a third outcome is
//! right: a well-formed message that means something else (a side deleted, another
//! `prevSeqId`) fails the checksum or the chain, and the recorder writes exactly one `seq_gap`
//! saying which, no data row, and closes the connection.
//!
//! Mutations that can make a different but legal value are *weak*: for them only 1 holds, and
//! "a refusal is one `refused` row and nothing else, and changes nothing". They are byte-level
//! edits (a digit may change) and mutations of the loose fields ([`EXTENDED_LOOSE`],
//! [`BINANCE_LOOSE`]: optional or free-text fields, each with its reason). Everything else —
//! including a loose field repeated with another value — is held to 2 and 3. Mutations
//! never change a value to another legal value of a strict field (no 3000 → 3001) except by
//! a byte-level edit.
//!
//! Case count: `PROPTEST_CASES` (default [`DEFAULT_CASES`] per test); seed: fixed unless
//! `PROPTEST_RNG_SEED` is set. Failing inputs found so far are the named regression tests
//! at the bottom.
//!
//! Here: the JSON tree, the scenario runner, the properties and the regressions; the mutator is
//! in `mutate.rs`, the frames and fixtures in `scenarios.rs`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mdkit::model::{EventKind, RecvTime};
use mdkit::record::Recorder;
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::{Output, Saved, Venue, Verdict};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

use self::mutate::{mutate, mutation, Mutant, Mutation};
use self::scenarios::*;

mod kraken;
mod mutate;
mod okx;
mod scenarios;

/// Cases per property test when `PROPTEST_CASES` is not set: the file runs in well under a
/// minute in a debug build.
const DEFAULT_CASES: u32 = 4000;
/// The seed when `PROPTEST_RNG_SEED` is not set (issue 28).
const DEFAULT_SEED: u64 = 28;

fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(DEFAULT_SEED);
    }
    // Failing inputs become named regression tests below, not files beside the tests.
    config.failure_persistence = None;
    config
}

// ---------------------------------------------------------------------------------------
// A JSON tree that keeps every scalar's text as written (so `"84050.000000"` and ids beyond
// 2^53 survive) and the keys in frame order (the fast path cares).

#[derive(Debug, Clone, PartialEq)]
enum J {
    Obj(Vec<(String, J)>),
    Arr(Vec<J>),
    /// A scalar's text: a string with its quotes, a number, `true`, `false`, `null`.
    Raw(String),
}

impl J {
    fn parse(text: &str) -> J {
        let mut p = Reader { b: text.as_bytes(), at: 0 };
        let value = p.value();
        p.ws();
        assert_eq!(p.at, text.len(), "text after the frame: {text:.100}");
        value
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.emit(&mut out);
        out
    }

    fn emit(&self, out: &mut String) {
        match self {
            J::Raw(raw) => out.push_str(raw),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.emit(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(key);
                    out.push(':');
                    value.emit(out);
                }
                out.push('}');
            }
        }
    }

    /// Every node below this one, as paths of child indexes, with the key when the node is
    /// an object's field.
    fn nodes(&self, prefix: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, Option<String>)>) {
        match self {
            J::Raw(_) => {}
            J::Arr(items) => {
                for (i, item) in items.iter().enumerate() {
                    prefix.push(i);
                    out.push((prefix.clone(), None));
                    item.nodes(prefix, out);
                    prefix.pop();
                }
            }
            J::Obj(fields) => {
                for (i, (key, value)) in fields.iter().enumerate() {
                    prefix.push(i);
                    out.push((prefix.clone(), Some(key.trim_matches('"').to_owned())));
                    value.nodes(prefix, out);
                    prefix.pop();
                }
            }
        }
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut J {
        let Some((first, rest)) = path.split_first() else { return self };
        match self {
            J::Arr(items) => items[*first].at_mut(rest),
            J::Obj(fields) => fields[*first].1.at_mut(rest),
            J::Raw(_) => unreachable!("a path through a scalar"),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn byte(&mut self) -> u8 {
        self.ws();
        let b = self.b[self.at];
        self.at += 1;
        b
    }

    fn value(&mut self) -> J {
        self.ws();
        match self.b[self.at] {
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.b[self.at] == b'}' {
                    self.at += 1;
                    return J::Obj(fields);
                }
                loop {
                    self.ws();
                    let key = self.string();
                    assert_eq!(self.byte(), b':');
                    fields.push((key, self.value()));
                    match self.byte() {
                        b',' => continue,
                        b'}' => return J::Obj(fields),
                        other => panic!("unexpected {:?} in an object", other as char),
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b[self.at] == b']' {
                    self.at += 1;
                    return J::Arr(items);
                }
                loop {
                    items.push(self.value());
                    match self.byte() {
                        b',' => continue,
                        b']' => return J::Arr(items),
                        other => panic!("unexpected {:?} in an array", other as char),
                    }
                }
            }
            b'"' => J::Raw(self.string()),
            _ => {
                let start = self.at;
                while let Some(c) = self.b.get(self.at) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.at += 1;
                }
                J::Raw(String::from_utf8(self.b[start..self.at].to_vec()).expect("UTF-8"))
            }
        }
    }

    /// A string with its quotes.
    fn string(&mut self) -> String {
        let start = self.at;
        assert_eq!(self.b[self.at], b'"');
        self.at += 1;
        loop {
            match self.b[self.at] {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    break;
                }
                _ => self.at += 1,
            }
        }
        String::from_utf8(self.b[start..self.at].to_vec()).expect("UTF-8")
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios: a frame, what precedes it on its connection, and what it gives.

struct Scenario {
    name: String,
    venue: Venue,
    market: String,
    stream: Stream,
    /// The receive time of the connect; each frame follows 1 ms later.
    at: i64,
    prefix: Vec<String>,
    frame: J,
    /// The frame as the tree writes it (compact, keys in frame order).
    text: String,
    /// Rows the frame gives after the prefix.
    want: Output,
    /// The state before the frame, and after it.
    before: Saved,
    after: Saved,
    /// Loose fields (see [`EXTENDED_LOOSE`]): a mutation of one is held to the weak
    /// property only, except a repeat with another value.
    optional: &'static [&'static str],
}

struct Fed {
    /// The state after the prefix, before the frames under test.
    before: Saved,
    rows: Vec<(Output, Verdict, Saved)>,
}

fn feed(s: &Scenario, frames: &[&str]) -> Fed {
    let mut recorder = Recorder::new(s.venue, &s.market, 5);
    let connect = Entry::Connect { conn: 1, stream: s.stream, url: "wss://fuzz".to_owned() };
    recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(s.at), entry: connect });
    let mut ts = s.at;
    for text in &s.prefix {
        ts += 1_000_000;
        let entry = Entry::Frame { conn: 1, text: text.clone() };
        recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(ts), entry });
    }
    recorder.clear_output();
    let before = recorder.save();
    // The frame under test and the frames after it share one receive time, so the original
    // after a refused mutant is compared row for row with the original on its own.
    ts += 1_000_000;
    let mut rows = Vec::new();
    for text in frames {
        let entry = Entry::Frame { conn: 1, text: (*text).to_owned() };
        let verdict = recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(ts), entry });
        rows.push((recorder.output().clone(), verdict, recorder.save()));
        recorder.clear_output();
    }
    Fed { before, rows }
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    name: &str,
    venue: Venue,
    market: &str,
    stream: Stream,
    at: i64,
    prefix: Vec<String>,
    frame: &str,
    optional: &'static [&'static str],
) -> Scenario {
    let tree = J::parse(frame);
    let text = tree.text();
    let prefix: Vec<String> = prefix.iter().map(|p| J::parse(p).text()).collect();
    let mut s = Scenario {
        name: name.to_owned(),
        venue,
        market: market.to_owned(),
        stream,
        at,
        prefix,
        frame: tree,
        text,
        want: Output::default(),
        before: Saved::default(),
        after: Saved::default(),
        optional,
    };
    let before = feed(&s, &[]).before;
    let fed = feed(&s, &[&s.text.clone()]);
    let (want, verdict, after) = fed.rows.into_iter().next().expect("one frame");
    assert_eq!(verdict, Verdict::Continue, "{name}: the original frame ends its connection");
    assert!(
        !want.events.iter().any(|e| e.kind == EventKind::Refused),
        "{name}: the original frame is refused: {:?}",
        want.events
    );
    s.want = want;
    s.before = before;
    s.after = after;
    s
}

fn same(a: &Output, b: &Output) -> bool {
    a.depth == b.depth && a.book_top == b.book_top && a.trades == b.trades && a.events == b.events
}

/// A short account of rows for failure messages (a real snapshot gives thousands).
fn summary(out: &Output) -> String {
    let events: Vec<String> = out
        .events
        .iter()
        .map(|e| format!("{:?} {:.160}", e.kind, e.detail.as_deref().unwrap_or("")))
        .collect();
    format!(
        "{} depth, {} book_top, {} trades, events {:?}; first depth {:?}; first trade {:?}",
        out.depth.len(),
        out.book_top.len(),
        out.trades.len(),
        events,
        out.depth.first(),
        out.trades.first()
    )
}

fn data_rows(out: &Output) -> usize {
    out.depth.len() + out.book_top.len() + out.trades.len()
}

/// Properties 1–3 for one mutant of one scenario.
fn check(s: &Scenario, m: &Mutant) -> Result<(), TestCaseError> {
    let fed = feed(s, &[&m.text, &s.text]);
    let (rows, verdict, state) = &fed.rows[0];
    let context = || {
        format!(
            "{} / {} (weak: {})\nmutant: {:.400}\nrows: {}\nwant: {}",
            s.name,
            m.what,
            m.weak,
            m.text,
            summary(rows),
            summary(&s.want)
        )
    };
    // 2a: value-preserving — the very rows and the very state of the original.
    if same(rows, &s.want) && *state == s.after {
        return Ok(());
    }
    let refusals = rows.events.iter().filter(|e| e.kind == EventKind::Refused).count();
    if refusals > 0 {
        // 2b: one `refused` row naming a reason, nothing else, the connection kept.
        prop_assert_eq!(rows.events.len(), 1, "a refusal with other events: {}", context());
        prop_assert_eq!(data_rows(rows), 0, "a refusal with data rows: {}", context());
        let detail = rows.events[0].detail.as_deref().unwrap_or("");
        prop_assert!(!detail.trim().is_empty(), "a refusal without a reason: {}", context());
        prop_assert_eq!(
            verdict,
            &Verdict::Continue,
            "a refusal closed the connection: {}",
            context()
        );
        // 3: nothing changed; the original then gives its own rows.
        prop_assert!(*state == s.before, "a refusal changed the state: {}", context());
        let (again, _, after) = &fed.rows[1];
        prop_assert!(
            same(again, &s.want),
            "after a refusal the original gives other rows: {}\nagain: {}",
            context(),
            summary(again)
        );
        prop_assert!(
            *after == s.after,
            "after a refusal the original leaves another state: {}",
            context()
        );
        return Ok(());
    }
    // 2c, venues whose every book message carries a checksum: a well-formed message that says
    // something else (a side deleted, a level dropped) no longer matches the checksum the
    // venue sent, or (OKX) names another previous message — the break it proves is one
    // `seq_gap` saying so, no data row, and the connection closed to be subscribed again.
    if checksummed(s.venue) && rows.events.iter().any(|e| e.kind == EventKind::SeqGap) {
        prop_assert_eq!(rows.events.len(), 1, "a checksum break with other events: {}", context());
        let detail = rows.events[0].detail.as_deref().unwrap_or("");
        let proved = detail.contains("checksum mismatch") || detail.contains("prevSeqId");
        prop_assert!(proved, "not a checksum or chain break: {}", context());
        prop_assert_eq!(data_rows(rows), 0, "a checksum break with data rows: {}", context());
        prop_assert!(matches!(verdict, Verdict::Close { .. }), "not closed: {}", context());
        return Ok(());
    }
    // A different but legal value (weak mutations only): any rows but a refusal mixed in.
    prop_assert!(m.weak, "neither the original's rows nor a refusal: {}", context());
    Ok(())
}

/// Venues whose book messages each carry a checksum of the book they lead to.
fn checksummed(venue: Venue) -> bool {
    matches!(venue, Venue::Kraken | Venue::Okx)
}

fn run(
    scenarios: &[Scenario],
    pick: Index,
    node: Index,
    field: Index,
    m: &Mutation,
) -> Result<(), TestCaseError> {
    let s = &scenarios[pick.index(scenarios.len())];
    let mutant = mutate(&s.frame, node, field, m, s.optional);
    check(s, &mutant)
}

// ---------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn extended_v1_mutants_give_the_same_rows_or_one_refusal(
        pick in any::<Index>(), node in any::<Index>(), field in any::<Index>(), m in mutation()
    ) {
        run(extended_v1_scenarios(), pick, node, field, &m)?;
    }

    #[test]
    fn extended_v2_mutants_give_the_same_rows_or_one_refusal(
        pick in any::<Index>(), node in any::<Index>(), field in any::<Index>(), m in mutation()
    ) {
        run(extended_v2_scenarios(), pick, node, field, &m)?;
    }

    #[test]
    fn binance_mutants_give_the_same_rows_or_one_refusal(
        pick in any::<Index>(), node in any::<Index>(), field in any::<Index>(), m in mutation()
    ) {
        run(binance_scenarios(), pick, node, field, &m)?;
    }
}

#[test]
fn every_scenario_gives_rows_where_its_frame_carries_data() {
    for s in
        extended_v1_scenarios().iter().chain(extended_v2_scenarios()).chain(binance_scenarios())
    {
        let quiet = s.name.contains("ack") || s.name.contains("bookTicker") || s.name.contains("mark")
            || s.name.contains("index") || s.name.contains("funding")
            // A REST snapshot is only buffered until a bridging diff arrives... unless the
            // diff came first (it did in these scenarios), so it does give rows.
            ;
        assert_eq!(data_rows(&s.want) == 0, quiet, "{}: {}", s.name, summary(&s.want));
    }
}

// ---------------------------------------------------------------------------------------
// Regression tests: inputs the properties found.

/// The reason of the one `refused` row `text` gives after the scenario's prefix, after
/// checking properties 2 and 3 for it.
fn refusal(s: &Scenario, text: &str) -> String {
    let mutant = Mutant { text: text.to_owned(), weak: false, what: "regression".to_owned() };
    if let Err(e) = check(s, &mutant) {
        panic!("{e}");
    }
    let fed = feed(s, &[text]);
    let rows = &fed.rows[0].0;
    assert_eq!(rows.events.len(), 1, "{}: not refused: {}", s.name, summary(rows));
    assert_eq!(rows.events[0].kind, EventKind::Refused, "{}", s.name);
    rows.events[0].detail.clone().unwrap_or_default()
}

/// Found by the properties on the real Binance spot snapshot: `lastUpdateId` written twice
/// with different values was read as its first value, so the REST snapshot silently
/// became another one (it bridged nothing and gave no rows). A key repeated with a different
/// value is now refused, naming the key, by the one JSON reader every venue uses.
#[test]
fn a_key_repeated_with_another_value_refuses_the_frame() {
    let binance = binance_scenarios();
    let snap = binance.iter().find(|s| s.name == "BinanceSpot sim snapshot").expect("scenario");
    let text = snap.text.replacen(
        "{\"lastUpdateId\":",
        "{\"lastUpdateId\":70000000301,\"lastUpdateId\":",
        1,
    );
    let reason = refusal(snap, &text);
    assert!(reason.contains("duplicate key `lastUpdateId` with different values"), "{reason}");

    // The v1 book's fast path gives up on a repeated key; the general parser now refuses it
    // whichever copy comes first (it used to keep the first: here an empty side).
    let v1 = extended_v1_scenarios();
    let book = v1.iter().find(|s| s.name == "v1 sim snapshot").expect("scenario");
    for (from, to) in [("\"b\":[", "\"b\":[],\"b\":["), ("\"d\":\"f\"", "\"d\":\"f\",\"d\":\"1\"")]
    {
        let text = book.text.replacen(from, to, 1);
        assert_ne!(text, book.text);
        let reason = refusal(book, &text);
        assert!(reason.contains("duplicate key"), "{reason}");
    }
    // A trades `seq` written twice: the first copy used to be a seq jump that ended the
    // connection.
    let trades = v1.iter().find(|s| s.name == "v1 sim trades replay").expect("scenario");
    let text = trades.text.replacen("\"seq\":1", "\"seq\":11,\"seq\":1", 1);
    assert!(refusal(trades, &text).contains("duplicate key `seq`"));

    // The same value twice says one thing: the frame's own rows.
    let text = book.text.replacen("\"d\":\"f\"", "\"d\":\"f\",\"d\":\"f\"", 1);
    let fed = feed(book, &[&text]);
    assert!(same(&fed.rows[0].0, &book.want), "{}", summary(&fed.rows[0].0));
}

/// Found on the real v2 snapshot: a book side written twice (`"b":[],"b":[…]`) recorded the
/// empty side — a book without bids — instead of refusing the frame.
#[test]
fn a_v2_book_side_written_twice_is_refused_not_emptied() {
    let v2 = extended_v2_scenarios();
    let snap = v2.iter().find(|s| s.name == "v2 sim snapshot").expect("scenario");
    let text = snap.text.replacen("\"b\":[", "\"b\":[],\"b\":[", 1);
    assert_ne!(text, snap.text);
    assert!(refusal(snap, &text).contains("duplicate key `b`"));
}
