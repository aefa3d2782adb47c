//! Issue 28, "a venue can send anything": property tests that take real frames of every venue
//! parser (Extended v1 book and trades, Extended v2 JSON-RPC, Binance spot / USD-M / COIN-M
//! combined-stream frames and REST snapshot bodies) — frames in the exact layout
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

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mdkit::model::{EventKind, RecvTime};
use mdkit::record::Recorder;
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::{Output, Saved, Venue, Verdict};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

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
// The mutator.

/// One mutation; the node it applies to is chosen separately.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the node by a value of another JSON type: 0 string, 1 number, 2 bool, 3 null,
    /// 4 object, 5 array, 6 the node wrapped in an array, 7 wrapped in an object.
    Swap(u8),
    /// `-` added to a number (or numeric string), or removed.
    Sign,
    /// `1e400`, 400 digits, `0.000000000001`, `-1e400`, `1` and 25 zeros, as a number or
    /// inside the string.
    Huge(u8),
    /// Value-preserving spellings: 0 trailing zeros (`3000.000000000`), 1 leading zeros
    /// inside a string (`"0003000"`).
    Zeros(u8),
    /// The field removed.
    Delete,
    /// The field written twice with the same value, before (true) or after it.
    DupSame(bool),
    /// The field written twice, the copy with a different value, before (true) or after.
    DupDiff(bool),
    /// The frame cut at a byte offset.
    Truncate(Index),
    /// A byte replaced (0), inserted (1) or deleted (2) at an offset: weak.
    Byte(u8, Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (0u8..8).prop_map(Mutation::Swap),
        1 => Just(Mutation::Sign),
        2 => (0u8..5).prop_map(Mutation::Huge),
        1 => (0u8..2).prop_map(Mutation::Zeros),
        2 => Just(Mutation::Delete),
        1 => any::<bool>().prop_map(Mutation::DupSame),
        2 => any::<bool>().prop_map(Mutation::DupDiff),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (0u8..3, any::<Index>(), 0x20u8..0x7f).prop_map(|(op, at, b)| Mutation::Byte(op, at, b)),
    ]
}

/// A mutated frame: its text, whether the property is the weak one, and what was done.
#[derive(Debug)]
struct Mutant {
    text: String,
    weak: bool,
    what: String,
}

fn is_number(raw: &str) -> bool {
    raw.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// The content of a string scalar, if the node is one.
fn string_content(raw: &str) -> Option<&str> {
    raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
}

fn numeric(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Applies `edit` to a number, or to the content of a numeric string.
fn edit_number(node: &J, edit: impl Fn(&str) -> String) -> Option<J> {
    let J::Raw(raw) = node else { return None };
    if is_number(raw) {
        return Some(J::Raw(edit(raw)));
    }
    let inner = string_content(raw).filter(|s| numeric(s))?;
    Some(J::Raw(format!("\"{}\"", edit(inner))))
}

fn swapped(node: &J, to: u8) -> J {
    let kind = match node {
        J::Raw(raw) if raw.starts_with('"') => 0,
        J::Raw(raw) if is_number(raw) => 1,
        J::Raw(raw) if raw == "true" || raw == "false" => 2,
        J::Raw(_) => 3,
        J::Obj(_) => 4,
        J::Arr(_) => 5,
    };
    // A swap always changes the type: the same type moves on to the next one.
    let to = if to == kind { (to + 1) % 6 } else { to };
    match to {
        0 => match node {
            J::Raw(raw) => J::Raw(format!("\"{raw}\"")),
            other => J::Raw(format!("{:?}", other.text())),
        },
        1 => match node {
            J::Raw(raw) => match string_content(raw).filter(|s| numeric(s)) {
                Some(inner) => J::Raw(inner.to_owned()),
                None => J::Raw("1".to_owned()),
            },
            _ => J::Raw("1".to_owned()),
        },
        2 => J::Raw("true".to_owned()),
        3 => J::Raw("null".to_owned()),
        4 => J::Obj(Vec::new()),
        5 => J::Arr(Vec::new()),
        6 => J::Arr(vec![node.clone()]),
        _ => J::Obj(vec![("\"v\"".to_owned(), node.clone())]),
    }
}

/// Another value of the same kind, legal-looking: a number or numeric string with a digit
/// appended, a string with a letter appended, the other boolean.
fn different(node: &J) -> J {
    match node {
        J::Raw(raw) => match raw.as_str() {
            "true" => J::Raw("false".to_owned()),
            "false" => J::Raw("true".to_owned()),
            "null" => J::Raw("0".to_owned()),
            _ if is_number(raw) => J::Raw(format!("{raw}1")),
            _ => match string_content(raw) {
                Some(inner) if numeric(inner) => J::Raw(format!("\"{inner}1\"")),
                Some(inner) => J::Raw(format!("\"{inner}X\"")),
                None => J::Raw("0".to_owned()),
            },
        },
        J::Obj(fields) if fields.is_empty() => {
            J::Obj(vec![("\"x\"".to_owned(), J::Raw("1".into()))])
        }
        J::Obj(_) => J::Obj(Vec::new()),
        J::Arr(items) if items.is_empty() => J::Arr(vec![J::Raw("1".into())]),
        J::Arr(_) => J::Arr(Vec::new()),
    }
}

fn mutate(frame: &J, node: Index, field: Index, m: &Mutation, optional: &[&str]) -> Mutant {
    let original = frame.text();
    let mut nodes = Vec::new();
    frame.nodes(&mut Vec::new(), &mut nodes);
    let fields: Vec<&(Vec<usize>, Option<String>)> =
        nodes.iter().filter(|(_, key)| key.is_some()).collect();
    let (path, key) = nodes[node.index(nodes.len())].clone();
    let mut tree = frame.clone();
    let describe = |what: &str, key: &Option<String>, path: &[usize]| {
        format!("{what} at {} ({path:?})", key.as_deref().unwrap_or("an array item"))
    };
    let optional_field =
        |key: &Option<String>| key.as_deref().is_some_and(|k| optional.contains(&k));
    match m {
        Mutation::Swap(to) => {
            let target = tree.at_mut(&path);
            *target = swapped(target, *to);
            let weak = optional_field(&key);
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Sign | Mutation::Huge(_) | Mutation::Zeros(_) => {
            let target = tree.at_mut(&path);
            let edit = |raw: &str| -> String {
                match m {
                    Mutation::Sign => match raw.strip_prefix('-') {
                        Some(rest) => rest.to_owned(),
                        None => format!("-{raw}"),
                    },
                    Mutation::Huge(0) => "1e400".to_owned(),
                    Mutation::Huge(1) => "9".repeat(400),
                    Mutation::Huge(2) => "0.000000000001".to_owned(),
                    Mutation::Huge(3) => "-1e400".to_owned(),
                    Mutation::Huge(_) => format!("1{}", "0".repeat(25)),
                    Mutation::Zeros(0) if raw.contains('.') => format!("{raw}000000000"),
                    Mutation::Zeros(0) => format!("{raw}.000000000"),
                    _ => match raw.strip_prefix('-') {
                        Some(rest) => format!("-000{rest}"),
                        None => format!("000{raw}"),
                    },
                }
            };
            // Leading zeros are only value-preserving inside a string (JSON numbers may not
            // have them: that is a refusal, still held to 2 and 3).
            if let Some(new) = edit_number(target, edit) {
                *target = new;
            } else if let (Mutation::Huge(_), J::Raw(raw)) = (m, &*target) {
                // A non-numeric scalar becomes the huge text as a string (or number).
                let text = edit("");
                *target = J::Raw(if raw.starts_with('"') { format!("\"{text}\"") } else { text });
            }
            let weak = optional_field(&key);
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Delete | Mutation::DupSame(_) | Mutation::DupDiff(_) => {
            let Some((path, key)) =
                fields.get(field.index(fields.len().max(1))).map(|f| (*f).clone())
            else {
                return Mutant { text: original, weak: false, what: "no field".to_owned() };
            };
            let (last, parent) = path.split_last().expect("a field has a path");
            let J::Obj(siblings) = tree.at_mut(parent) else { unreachable!("a field's parent") };
            let (name, value) = siblings[*last].clone();
            let weak = match m {
                Mutation::Delete => {
                    siblings.remove(*last);
                    optional_field(&key)
                }
                Mutation::DupSame(before) => {
                    siblings.insert(if *before { *last } else { *last + 1 }, (name, value));
                    false
                }
                Mutation::DupDiff(before) => {
                    let other = different(&value);
                    siblings.insert(if *before { *last } else { *last + 1 }, (name, other));
                    false
                }
                _ => unreachable!(),
            };
            Mutant { text: tree.text(), weak, what: describe(&format!("{m:?}"), &key, &path) }
        }
        Mutation::Truncate(at) => {
            let mut cut = at.index(original.len());
            while !original.is_char_boundary(cut) {
                cut -= 1;
            }
            Mutant { text: original[..cut].to_owned(), weak: false, what: format!("cut at {cut}") }
        }
        Mutation::Byte(op, at, b) => {
            let mut bytes = original.clone().into_bytes();
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = *b,
                1 => bytes.insert(i, *b),
                _ => {
                    bytes.remove(i);
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Mutant { text, weak: true, what: format!("byte op {op} at {i} ({:?})", *b as char) }
        }
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
    // A different but legal value (weak mutations only): any rows but a refusal mixed in.
    prop_assert!(m.weak, "neither the original's rows nor a refusal: {}", context());
    Ok(())
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
// Frames as `mdkit simulate` writes them (src/simulate/wire.rs, binance_wire.rs), built here
// so the simulator can change without this file depending on its internals.

/// 2026-01-01T00:00:00Z in ms: the venue times of the simulated frames.
const T0_MS: i64 = 1_767_225_600_000;
/// The receive time of the connect for simulated frames: one second after [`T0_MS`].
const SIM_AT: i64 = (T0_MS + 1_000) * 1_000_000;

fn sim_v1_snapshot(depth: &str, seq: u64) -> String {
    format!(
        r#"{{"type":"SNAPSHOT","data":{{"t":"SNAPSHOT","m":"ETH-USD","b":[{{"p":"3000.00","q":"1.500"}},{{"p":"2999.50","q":"2.000"}}],"a":[{{"p":"3000.50","q":"0.750"}},{{"p":"3001.00","q":"3.000"}}],"d":"{depth}"}},"ts":{},"seq":{seq}}}"#,
        T0_MS
    )
}

fn sim_delta_data() -> &'static str {
    r#"{"t":"DELTA","m":"ETH-USD","b":[{"p":"3000","q":"-0.500","c":"1.000"},{"p":"2998","q":"4.000","c":"4.000"}],"a":[{"p":"3000.5","q":"-0.750","c":"0"}],"d":"f"}"#
}

fn sim_v1_delta(seq: u64) -> String {
    format!(r#"{{"type":"DELTA","data":{},"ts":{},"seq":{seq}}}"#, sim_delta_data(), T0_MS + 5)
}

fn sim_trades_data(first_id: u64) -> String {
    format!(
        r#"[{{"i":{first_id},"m":"ETH-USD","S":"BUY","tT":"TRADE","T":{},"p":"3000.5","q":"0.250"}},{{"i":{},"m":"ETH-USD","S":"SELL","tT":"TRADE","T":{},"p":"3000","q":"1.000"}}]"#,
        T0_MS - 3,
        first_id + 1,
        T0_MS - 2
    )
}

fn sim_v1_trades(seq: u64, first_id: u64) -> String {
    format!(r#"{{"ts":{},"seq":{seq},"data":{}}}"#, T0_MS, sim_trades_data(first_id))
}

fn sim_ack(id: u64, topic: &str) -> String {
    format!(
        r#"{{"id":{id},"result":{{"method":"subscribe","status":"OK","subscription":"{topic}"}},"jsonrpc":"2.0"}}"#
    )
}

fn sim_v2(kind: &str, data: &str, seq: u64, topic: &str) -> String {
    format!(
        r#"{{"type":"{kind}","data":{data},"ts":{},"seq":{seq},"subscription":"{topic}"}}"#,
        T0_MS
    )
}

fn sim_v2_snapshot() -> String {
    let data = J::parse(&sim_v1_snapshot("f", 1));
    let J::Obj(fields) = data else { unreachable!() };
    let data = fields.into_iter().find(|(k, _)| k == "\"data\"").map(|(_, v)| v.text());
    sim_v2("ORDERBOOKS.SNAPSHOT", &data.unwrap_or_default(), 0, "orderbooks.ETH-USD")
}

const BASE_UPDATE_ID: u64 = 7_000_000_000;

fn bn_number(raw: i64) -> String {
    format!("{}.{:08}", raw / 100_000_000, raw % 100_000_000)
}

fn bn_pairs(levels: &[(i64, i64)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| format!(r#"["{}","{}"]"#, bn_number(*p), bn_number(*q)))
        .collect();
    format!("[{}]", items.join(","))
}

fn bn_u(index: u64) -> u64 {
    BASE_UPDATE_ID + 3 * index
}

const BTC: i64 = 100_000_000;

/// The diff-depth frame of simulation step `index`, as binance_wire::diff spells it.
fn bn_diff(
    kind: Venue,
    symbol: &str,
    index: u64,
    bids: &[(i64, i64)],
    asks: &[(i64, i64)],
) -> String {
    let stream = format!("{}@depth@100ms", symbol.to_ascii_lowercase());
    let (u, prev) = (bn_u(index), bn_u(index.saturating_sub(1)));
    let ts = T0_MS + index as i64;
    let mut out = format!(r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","E":{ts},"#);
    if kind == Venue::BinanceSpot {
        out.push_str(&format!(r#""s":"{symbol}","U":{},"u":{u},"#, prev + 1));
    } else {
        out.push_str(&format!(r#""T":{ts},"s":"{symbol}","#));
        if kind == Venue::BinanceCoinm {
            out.push_str(&format!(r#""ps":"{}","#, symbol.split('_').next().unwrap_or(symbol)));
        }
        out.push_str(&format!(r#""U":{},"u":{u},"pu":{prev},"#, u - 1));
    }
    out.push_str(&format!(r#""b":{},"a":{}}}}}"#, bn_pairs(bids), bn_pairs(asks)));
    out
}

fn bn_snapshot(kind: Venue, symbol: &str, index: u64) -> String {
    let mut out = format!(r#"{{"lastUpdateId":{},"#, bn_u(index));
    let ts = T0_MS + index as i64;
    match kind {
        Venue::BinanceUsdm => out.push_str(&format!(r#""E":{ts},"T":{ts},"#)),
        Venue::BinanceCoinm => out.push_str(&format!(
            r#""E":{ts},"T":{ts},"symbol":"{symbol}","pair":"{}","#,
            symbol.split('_').next().unwrap_or(symbol)
        )),
        _ => {}
    }
    let bids = [(30_000 * BTC, 3 * BTC / 2), (29_999 * BTC, 2 * BTC)];
    let asks = [(30_001 * BTC, 3 * BTC / 4), (30_002 * BTC, 3 * BTC)];
    out.push_str(&format!(r#""bids":{},"asks":{}}}"#, bn_pairs(&bids), bn_pairs(&asks)));
    out
}

fn bn_trade(kind: Venue, symbol: &str, id: u64) -> String {
    let stream = format!("{}@trade", symbol.to_ascii_lowercase());
    let (p, q) = (bn_number(30_000 * BTC + BTC / 2), bn_number(BTC / 100));
    let t = T0_MS - 1;
    if kind == Venue::BinanceSpot {
        format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{T0_MS},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","T":{t},"m":true,"M":true}}}}"#
        )
    } else {
        format!(
            r#"{{"stream":"{stream}","data":{{"e":"trade","E":{T0_MS},"T":{t},"s":"{symbol}","t":{id},"p":"{p}","q":"{q}","X":"MARKET","m":false}}}}"#
        )
    }
}

// Loose fields: deleting one, nulling it or changing its text or type is a different but
// legal frame (weak property); repeating one with another value is still held to 2 and 3.
/// Extended v1 and v2. Every field the book and trades parsers read is strict; the loose
/// ones are the JSON-RPC envelope's: `subscription` (an ack for another topic, or without
/// one — a plain reply — is a legal frame that acks something else, so the acked topics in
/// the state differ; in a data frame another topic is judged by the sequence rule, not
/// refused), `method` and `id` (free text naming the request; a number or a string), and
/// `jsonrpc` (not read).
const EXTENDED_LOOSE: &[&str] = &["subscription", "method", "id", "jsonrpc"];
/// Binance: `pu` (futures only; without it the frame is read as a spot-style diff whose
/// chain is judged by `U` alone), `E` of a REST snapshot (spot has none; the splice then
/// takes its time from the diffs), `symbol` of a COIN-M snapshot (absent on the others),
/// `X` of a futures trade (absent means a plain trade), `id` (a frame with `id` and no
/// `stream` is a subscription reply), `stream` (free text: only the kind after `@` is read,
/// as a hint when `e` is absent).
const BINANCE_LOOSE: &[&str] = &["pu", "E", "symbol", "X", "id", "stream"];

fn extended_v1_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (book, trades) = (Stream::Book, Stream::Trades);
        let e = Venue::Extended;
        let mut out = vec![
            scenario(
                "v1 sim snapshot",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![],
                &sim_v1_snapshot("f", 1),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim top snapshot",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![],
                &sim_v1_snapshot("1", 1),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim delta",
                e,
                "ETH-USD",
                book,
                SIM_AT,
                vec![sim_v1_snapshot("f", 1)],
                &sim_v1_delta(2),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim trades replay",
                e,
                "ETH-USD",
                trades,
                SIM_AT,
                vec![],
                &sim_v1_trades(1, 1001),
                EXTENDED_LOOSE,
            ),
            scenario(
                "v1 sim trades",
                e,
                "ETH-USD",
                trades,
                SIM_AT,
                vec![sim_v1_trades(1, 1001)],
                &sim_v1_trades(2, 1003),
                EXTENDED_LOOSE,
            ),
        ];
        // The captured v2 payloads in v1 envelopes (v2 `data` is the v1 payload).
        if let Some(dir) = extended_fixtures() {
            let data = |name: &str| field_text(&fixture_frames(&dir.join(name))[0], "data");
            let ts = |name: &str| field_text(&fixture_frames(&dir.join(name))[0], "ts");
            let at = V2_AT;
            let snap = format!(
                r#"{{"type":"SNAPSHOT","data":{},"ts":{},"seq":1}}"#,
                data("ws_orderbook_snapshot_btc.top50.json"),
                ts("ws_orderbook_snapshot_btc.top50.json")
            );
            let delta = format!(
                r#"{{"type":"DELTA","data":{},"ts":{},"seq":2}}"#,
                data("ws_orderbook_delta_btc.json"),
                ts("ws_orderbook_delta_btc.json")
            );
            let replay = format!(
                r#"{{"ts":{},"seq":1,"data":{}}}"#,
                ts("ws_trades_replay_btc.json"),
                data("ws_trades_replay_btc.json")
            );
            out.push(scenario(
                "v1 real snapshot",
                e,
                "BTC-USD",
                book,
                at,
                vec![],
                &snap,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v1 real delta",
                e,
                "BTC-USD",
                book,
                at,
                vec![snap.clone()],
                &delta,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v1 real trades",
                e,
                "BTC-USD",
                trades,
                at,
                vec![],
                &replay,
                EXTENDED_LOOSE,
            ));
        }
        out
    })
}

/// Just after the v2 fixture was captured (its venue times must not be a day ahead).
const V2_AT: i64 = 1_790_425_450_000_000_000;

fn extended_v2_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (v2, c) = (Venue::ExtendedV2, Stream::Combined);
        let acks = vec![sim_ack(1, "orderbooks.ETH-USD"), sim_ack(2, "trades.ETH-USD")];
        let snap = sim_v2_snapshot();
        let delta = sim_v2("ORDERBOOKS.DELTA", sim_delta_data(), 1, "orderbooks.ETH-USD");
        let trades = sim_v2("TRADES", &sim_trades_data(1001), 0, "trades.ETH-USD");
        let with = |extra: &[&String]| {
            let mut p = acks.clone();
            p.extend(extra.iter().map(|s| (*s).clone()));
            p
        };
        let mut out = vec![
            scenario("v2 sim ack", v2, "ETH-USD", c, SIM_AT, vec![], &acks[0], EXTENDED_LOOSE),
            scenario(
                "v2 sim snapshot",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                acks.clone(),
                &snap,
                EXTENDED_LOOSE,
            ),
            scenario(
                "v2 sim delta",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                with(&[&snap]),
                &delta,
                EXTENDED_LOOSE,
            ),
            scenario(
                "v2 sim trades",
                v2,
                "ETH-USD",
                c,
                SIM_AT,
                acks.clone(),
                &trades,
                EXTENDED_LOOSE,
            ),
        ];
        if let Some(dir) = extended_fixtures() {
            let acks = fixture_frames(&dir.join("ws_rpc_responses_btc.json"));
            let one = |name: &str| fixture_frames(&dir.join(name)).remove(0);
            let snap = one("ws_orderbook_snapshot_btc.top50.json");
            let delta = one("ws_orderbook_delta_btc.json");
            // Renumbered to follow the acks (the capture's own seqs leave gaps between).
            let renumber = |text: String, from: &str| text.replacen(from, "\"seq\": 0", 1);
            let trades = renumber(one("ws_trades_replay_btc.json"), "\"seq\": 299");
            let mark = renumber(one("ws_mark_price_btc.json"), "\"seq\": 312");
            let index = renumber(one("ws_index_price_btc.json"), "\"seq\": 314");
            let funding = one("ws_funding_rate_btc.json");
            let at = V2_AT;
            for (i, ack) in acks.iter().enumerate() {
                let name = format!("v2 real ack {}", i + 1);
                out.push(scenario(
                    &name,
                    v2,
                    "BTC-USD",
                    c,
                    at,
                    acks[..i].to_vec(),
                    ack,
                    EXTENDED_LOOSE,
                ));
            }
            let after = |extra: &[&String]| {
                let mut p = acks.clone();
                p.extend(extra.iter().map(|s| (*s).clone()));
                p
            };
            out.push(scenario(
                "v2 real snapshot",
                v2,
                "BTC-USD",
                c,
                at,
                acks.clone(),
                &snap,
                EXTENDED_LOOSE,
            ));
            out.push(scenario(
                "v2 real delta",
                v2,
                "BTC-USD",
                c,
                at,
                after(&[&snap]),
                &delta,
                EXTENDED_LOOSE,
            ));
            for (name, frame) in
                [("trades", trades), ("mark", mark), ("index", index), ("funding", funding)]
            {
                assert!(frame.contains("\"seq\": 0"), "{name}: renumbering failed");
                let name = format!("v2 real {name}");
                out.push(scenario(
                    &name,
                    v2,
                    "BTC-USD",
                    c,
                    at,
                    acks.clone(),
                    &frame,
                    EXTENDED_LOOSE,
                ));
            }
        }
        out
    })
}

fn binance_scenarios() -> &'static [Scenario] {
    static CELL: OnceLock<Vec<Scenario>> = OnceLock::new();
    CELL.get_or_init(|| {
        let c = Stream::Combined;
        let mut out = Vec::new();
        for (venue, symbol) in [
            (Venue::BinanceSpot, "BTCUSDT"),
            (Venue::BinanceUsdm, "BTCUSDT"),
            (Venue::BinanceCoinm, "BTCUSD_PERP"),
        ] {
            let snap = bn_snapshot(venue, symbol, 10);
            // The first diff kept holds the snapshot's next update id: spot chains
            // `U = previous u + 1`, so that is the next step; a futures step starts at
            // `U = u − 1`, so it is the snapshot's own step.
            let first = if venue == Venue::BinanceSpot { 11 } else { 10 };
            let d1 = bn_diff(venue, symbol, first, &[(30_000 * BTC, BTC)], &[(30_001 * BTC, 0)]);
            let d2 = bn_diff(
                venue,
                symbol,
                first + 1,
                &[(29_998 * BTC, 4 * BTC)],
                &[(30_003 * BTC, BTC / 3)],
            );
            let trade = bn_trade(venue, symbol, 555);
            let name = |what: &str| format!("{venue:?} sim {what}");
            let o = BINANCE_LOOSE;
            out.push(scenario(
                &name("snapshot"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![d1.clone()],
                &snap,
                o,
            ));
            out.push(scenario(
                &name("bridging diff"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![snap.clone()],
                &d1,
                o,
            ));
            out.push(scenario(
                &name("diff"),
                venue,
                symbol,
                c,
                SIM_AT,
                vec![snap.clone(), d1.clone()],
                &d2,
                o,
            ));
            out.push(scenario(&name("trade"), venue, symbol, c, SIM_AT, vec![], &trade, o));
        }
        for (venue, file, symbol) in [
            (Venue::BinanceSpot, "BINANCE", "NKNUSDT"),
            (Venue::BinanceUsdm, "BINANCE_FUTURES", "SUSHIUSDT"),
        ] {
            let Some(real) = binance_fixture(file, symbol, venue == Venue::BinanceSpot) else {
                continue;
            };
            let o = BINANCE_LOOSE;
            let name = |what: &str| format!("{venue:?} real {what}");
            out.push(scenario(
                &name("snapshot"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.bridge.clone()],
                &real.snapshot,
                o,
            ));
            out.push(scenario(
                &name("bridging diff"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.snapshot.clone()],
                &real.bridge,
                o,
            ));
            out.push(scenario(
                &name("diff"),
                venue,
                symbol,
                c,
                real.at,
                vec![real.snapshot.clone(), real.bridge.clone()],
                &real.next,
                o,
            ));
            out.push(scenario(
                &name("bookTicker"),
                venue,
                symbol,
                c,
                real.at,
                vec![],
                &real.ticker,
                o,
            ));
        }
        out
    })
}

// ---------------------------------------------------------------------------------------
// Fixtures.

fn extended_fixtures() -> Option<PathBuf> {
    crate::common::shared_fixtures("extended/rpc_v2")
}

/// The frames of one fixture file as written (pretty-printed): a JSON array of frames, or
/// one frame.
fn fixture_frames(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match J::parse(&text) {
        J::Arr(items) => items.iter().map(J::text).collect(),
        _ => vec![text],
    }
}

fn field_text(frame: &str, key: &str) -> String {
    let J::Obj(fields) = J::parse(frame) else { panic!("not an object: {frame:.80}") };
    let quoted = format!("\"{key}\"");
    fields.into_iter().find(|(k, _)| *k == quoted).map(|(_, v)| v.text()).expect("field")
}

struct BinanceReal {
    at: i64,
    snapshot: String,
    bridge: String,
    next: String,
    ticker: String,
}

fn number_field(frame: &J, key: &str) -> Option<u64> {
    let J::Obj(fields) = frame else { return None };
    let quoted = format!("\"{key}\"");
    fields.iter().find(|(k, _)| *k == quoted).and_then(|(_, v)| match v {
        J::Raw(raw) => raw.parse().ok(),
        _ => None,
    })
}

/// A symbol's first REST snapshot, the diff that bridges it, the diff after that and a
/// bookTicker frame, from the cryptofeed captures.
fn binance_fixture(file: &str, symbol: &str, spot: bool) -> Option<BinanceReal> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/binance");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (the team's real venue frames)", dir.display());
        return None;
    }
    let read = |name: String| {
        std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let lower = symbol.to_ascii_lowercase();
    let http = read(format!("{file}.http.0.0"));
    let (time, snapshot) =
        http.lines().find(|l| l.contains(&format!("symbol={symbol}&"))).and_then(|l| {
            let (head, body) = l.split_once(": {")?;
            let time: f64 = head.rsplit(' ').next()?.parse().ok()?;
            Some((time, format!("{{{body}")))
        })?;
    let last = number_field(&J::parse(&snapshot), "lastUpdateId")?;
    let ws = read(format!("{file}.ws.1.0"));
    let frames: Vec<&str> =
        ws.lines().skip(1).filter_map(|l| l.split_once(": {").map(|(_, f)| f)).collect();
    let depth_stream = format!("\"stream\":\"{lower}@depth@100ms\"");
    let diffs: Vec<String> = frames
        .iter()
        .filter(|f| f.starts_with(&depth_stream[..]))
        .map(|f| format!("{{{f}"))
        .collect();
    let ids = |text: &str| {
        let J::Obj(fields) = J::parse(text) else { return (0, 0) };
        let data = fields.iter().find(|(k, _)| k == "\"data\"").map(|(_, v)| v.clone());
        let data = data.unwrap_or(J::Raw(String::new()));
        (number_field(&data, "U").unwrap_or(0), number_field(&data, "u").unwrap_or(0))
    };
    let bridge_at = diffs.iter().position(|d| {
        let (first, last_id) = ids(d);
        if spot {
            first <= last + 1 && last < last_id
        } else {
            first <= last && last <= last_id
        }
    })?;
    let ticker_stream = format!("\"stream\":\"{lower}@bookTicker\"");
    let ticker =
        frames.iter().find(|f| f.starts_with(&ticker_stream[..])).map(|f| format!("{{{f}"))?;
    Some(BinanceReal {
        at: (time * 1e9) as i64,
        snapshot,
        bridge: diffs[bridge_at].clone(),
        next: diffs.get(bridge_at + 1)?.clone(),
        ticker,
    })
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
