//! Bad frames for the `bad=K` fault: each [`BadKind`] spelled from the text of the real frame
//! it precedes, for every protocol the simulator speaks.
//!
//! Owns the kinds (their names and fixed rotation order) and the mutations. A bad frame built
//! from a real frame is that frame's text — so it carries the same seq, update ids and trade
//! ids as the real frame sent right after it — changed in exactly one way the recorder must
//! refuse. Pure functions on text: no I/O, no sequencing. The frames are the simulator's own
//! (`wire`, `binance_wire`), whose spelling is known, so the mutations edit the text in place
//! instead of re-serialising it (serde_json would reorder the keys). Shapes:
//!
//! * Extended book (v1 `{"type":"SNAPSHOT|DELTA","data":{…"b":[{"p","q"[,"c"]}],"a":…},"ts","seq"}`,
//!   v2 the same `data` in `{"type":"ORDERBOOKS.…","data","ts","seq","subscription"}`);
//! * Extended trades (v1 `{"ts","seq","data":[{"i","m","S","tT","T","p","q"}]}`, v2 `TRADES`);
//! * Binance diff (`{"stream","data":{"e":"depthUpdate","E",…"u",…"b":[["p","q"]],"a"}}`);
//! * Binance trade (`{"stream","data":{"e":"trade","E",…"t","p","q",…"m":bool}}`);
//! * Kraken book (`{"channel":"book","type","data":[{"symbol","bids":[{"price":n,"qty":n}],
//!   "asks",…,"checksum","timestamp":"RFC 3339"}]}`) and trade (`{"channel":"trade","type",
//!   "data":[{"symbol","side","price":n,"qty":n,…,"trade_id","timestamp"}]}`): prices and
//!   sizes are JSON numbers, not strings.
//!
//! A frame's *sequence number* is what the recorder checks the order by: Extended `seq`,
//! Binance diff `u` (last update id), Binance trade `t` (trade id), Kraken book `checksum`
//! (Kraken has no sequence: the checksum proves continuity), Kraken trade `trade_id`. Its
//! *venue time* is Extended `ts`, Binance `E` (and `T` where present), Kraken `timestamp`.

use std::fmt;
use std::ops::Range;

/// One way a frame can be bad. The order of [`BadKind::ALL`] is the rotation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadKind {
    /// The first book level's price (a level is added to an empty diff) or the first trade's
    /// price made negative: the real price with a `-` in front.
    NegativePrice,
    /// That price `"0"`.
    ZeroPrice,
    /// Book: the first level's size negative (Extended DELTA: the absolute size `c`, since `q`
    /// is a signed change; a zero size becomes `"-1"`). Trades: the trade's size `"0"`.
    NegativeSize,
    /// Venue time −1 ms: Extended `ts`, Binance `E` and `T`.
    EarlyTime,
    /// Venue time 2 days after the real one.
    FutureTime,
    /// Extended trade `S` `"SIDEWAYS"`; Binance trade `m` the string `"maybe"`. Book frames
    /// (no side field exists): the first level becomes a 3-element array
    /// `["<p>","<q>","SIDEWAYS"]` (Extended levels are objects; Binance's get a third element).
    BadSide,
    /// A price with 12 decimals (`"3000.500000000001"`), beyond the tables' scale 8.
    FineDecimal,
    /// Book: a level's size `"1e400"`. Trades: the size a 400-digit integer.
    HugeNumber,
    /// Trades: the trade id 99999999999999999999 (> i64::MAX and u64::MAX). Book frames: the
    /// seq (Extended) or `u` (Binance) 18446744073709551616 (u64::MAX + 1).
    IdRange,
    /// The market set to one the run should not serve, otherwise valid: Extended every
    /// `data.m` (v2 keeps its `subscription`); Binance `s`, `ps` and the `stream` name's
    /// symbol. `DOGE-USD` / `DOGEUSDT` (`XRP-USD` / `XRPUSDT` if that is the real market).
    OtherMarket,
    /// The sequence number as a JSON string (`"seq":"12"`; Binance `"u":"…"` or `"t":"…"`).
    WrongType,
    /// The sequence number deleted (`seq`, Binance `u` or `t`).
    MissingField,
    /// The envelope type unknown: Extended `type` + `2` (`SNAPSHOT2`, `ORDERBOOKS.DELTA2`;
    /// a v1 trades frame, which has no `type`, gets `"type":"TRADES2"` in front); Binance `e`
    /// + `2` (`depthUpdate2`, `trade2`).
    UnknownType,
    /// The real frame cut at half its length: never valid JSON.
    NotJson,
    /// A WebSocket binary message of bytes that are not UTF-8.
    Binary,
    /// Valid JSON nested [`DEEP_NESTING`] arrays deep.
    DeepNesting,
    /// The real frame with a `"pad"` string at its end, [`oversized_len`] bytes in all: valid
    /// JSON over the recorder's message limit. Sent at most once per connection.
    Oversized,
}

/// Arrays nested by a `deep-nesting` frame.
pub const DEEP_NESTING: usize = 100_000;

/// Length of an `oversized` frame: the recorder's limit plus 64 KiB.
pub const fn oversized_len() -> usize {
    crate::venue::MAX_MESSAGE_BYTES + 64 * 1024
}

/// The bytes of a `binary` frame (0xff never occurs in UTF-8).
pub const BINARY: &[u8] = b"\xff\xfe\x00\x80mdkit-simulate bad frame\xc3\x28";

const TWO_DAYS_MS: i64 = 2 * 86_400_000;
const HUGE_ID: &str = "99999999999999999999";
const PAST_U64: &str = "18446744073709551616";

impl BadKind {
    /// Every kind, in rotation order.
    pub const ALL: [BadKind; 17] = [
        BadKind::NegativePrice,
        BadKind::ZeroPrice,
        BadKind::NegativeSize,
        BadKind::EarlyTime,
        BadKind::FutureTime,
        BadKind::BadSide,
        BadKind::FineDecimal,
        BadKind::HugeNumber,
        BadKind::IdRange,
        BadKind::OtherMarket,
        BadKind::WrongType,
        BadKind::MissingField,
        BadKind::UnknownType,
        BadKind::NotJson,
        BadKind::Binary,
        BadKind::DeepNesting,
        BadKind::Oversized,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BadKind::NegativePrice => "negative-price",
            BadKind::ZeroPrice => "zero-price",
            BadKind::NegativeSize => "negative-size",
            BadKind::EarlyTime => "early-time",
            BadKind::FutureTime => "future-time",
            BadKind::BadSide => "bad-side",
            BadKind::FineDecimal => "fine-decimal",
            BadKind::HugeNumber => "huge-number",
            BadKind::IdRange => "id-range",
            BadKind::OtherMarket => "other-market",
            BadKind::WrongType => "wrong-type",
            BadKind::MissingField => "missing-field",
            BadKind::UnknownType => "unknown-type",
            BadKind::NotJson => "not-json",
            BadKind::Binary => "binary",
            BadKind::DeepNesting => "deep-nesting",
            BadKind::Oversized => "oversized",
        }
    }

    /// Position in [`BadKind::ALL`].
    pub fn index(self) -> usize {
        BadKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    pub fn from_name(name: &str) -> Option<BadKind> {
        BadKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for BadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a bad frame is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

impl Payload {
    pub fn len(&self) -> usize {
        match self {
            Payload::Text(t) => t.len(),
            Payload::Binary(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Payload::Text(t) => Some(t),
            Payload::Binary(_) => None,
        }
    }
}

/// The shape of a real frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    ExtendedBook,
    ExtendedTrades,
    BinanceDiff,
    BinanceTrade,
    KrakenBook,
    KrakenTrades,
    /// Not one of the simulator's frames (only in tests): mutations that need a field give
    /// `<html>502 Bad Gateway</html>`.
    Unknown,
}

impl Shape {
    pub fn of(text: &str) -> Shape {
        if text.starts_with(r#"{"channel":"book""#) {
            return Shape::KrakenBook;
        }
        if text.starts_with(r#"{"channel":"trade""#) {
            return Shape::KrakenTrades;
        }
        if text.starts_with("{\"stream\":") {
            return if text.contains("\"e\":\"depthUpdate\"") {
                Shape::BinanceDiff
            } else {
                Shape::BinanceTrade
            };
        }
        match value_span(text, "data", 0).and_then(|r| text.as_bytes().get(r.start).copied()) {
            Some(b'{') => Shape::ExtendedBook,
            Some(b'[') => Shape::ExtendedTrades,
            _ => Shape::Unknown,
        }
    }

    fn binance(self) -> bool {
        matches!(self, Shape::BinanceDiff | Shape::BinanceTrade)
    }

    fn book(self) -> bool {
        matches!(self, Shape::ExtendedBook | Shape::BinanceDiff | Shape::KrakenBook)
    }

    fn kraken(self) -> bool {
        matches!(self, Shape::KrakenBook | Shape::KrakenTrades)
    }

    /// The keys of a book level's (or a trade's) price and size.
    fn level_keys(self) -> (&'static str, &'static str) {
        if self.kraken() {
            ("price", "qty")
        } else {
            ("p", "q")
        }
    }

    /// The key of the frame's sequence number.
    fn seq_key(self) -> &'static str {
        match self {
            Shape::BinanceDiff => "u",
            Shape::BinanceTrade => "t",
            Shape::KrakenBook => "checksum",
            Shape::KrakenTrades => "trade_id",
            _ => "seq",
        }
    }
}

/// The sequence number a frame spells (Extended `seq`, Binance diff `u`, Binance trade `t`),
/// if it is valid JSON and spells one as an unsigned integer.
pub fn seq_of(text: &str) -> Option<u64> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let span = value_span(text, Shape::of(text).seq_key(), 0)?;
    text.get(span)?.parse().ok()
}

/// The venue time of a real frame in ms (Extended `ts`, Binance `E`, Kraken `timestamp`).
pub fn ts_of(text: &str) -> Option<i64> {
    if Shape::of(text).kraken() {
        let span = value_span(text, "timestamp", 0)?;
        return rfc3339_ms(text.get(span.start + 1..span.end - 1)?);
    }
    let key = if Shape::of(text).binance() { "E" } else { "ts" };
    let span = value_span(text, key, 0)?;
    text.get(span)?.parse().ok()
}

/// The bad frame of `kind` built from the real frame `text` of market `market`.
pub fn build(kind: BadKind, text: &str, market: &str) -> Payload {
    let shape = Shape::of(text);
    let built = match kind {
        BadKind::NotJson => Some(text.get(..text.len() / 2).unwrap_or("{").to_owned()),
        BadKind::Binary => return Payload::Binary(BINARY.to_vec()),
        BadKind::DeepNesting => {
            let mut out = "[".repeat(DEEP_NESTING);
            out.push_str(&"]".repeat(DEEP_NESTING));
            Some(out)
        }
        BadKind::Oversized => Some(oversized(text)),
        _ if shape == Shape::Unknown => None,
        BadKind::NegativePrice => price(shape, text, market, |p| format!("-{p}")),
        BadKind::ZeroPrice => price(shape, text, market, |_| "0".to_owned()),
        BadKind::FineDecimal => price(shape, text, market, fine_decimal),
        BadKind::NegativeSize if shape.book() => size(shape, text, market, negative),
        BadKind::NegativeSize => size(shape, text, market, |_| "0".to_owned()),
        BadKind::HugeNumber if shape.book() => size(shape, text, market, |_| "1e400".to_owned()),
        BadKind::HugeNumber => size(shape, text, market, |_| "9".repeat(400)),
        BadKind::EarlyTime => times(shape, text, |_| -1),
        BadKind::FutureTime => times(shape, text, |t| t.saturating_add(TWO_DAYS_MS)),
        BadKind::BadSide => bad_side(shape, text, market),
        BadKind::IdRange => id_range(shape, text, market),
        BadKind::OtherMarket => other_market(shape, text, market),
        BadKind::WrongType => {
            let span = value_span(text, shape.seq_key(), 0);
            span.map(|r| splice(text, r.clone(), &format!("\"{}\"", &text[r])))
        }
        BadKind::MissingField => delete_key(text, shape.seq_key()),
        BadKind::UnknownType => unknown_type(shape, text),
    };
    Payload::Text(built.unwrap_or_else(|| "<html>502 Bad Gateway</html>".to_owned()))
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    Some(chrono::DateTime::parse_from_rfc3339(text).ok()?.timestamp_millis())
}

fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// The end of the JSON value that starts at byte `start` (exclusive).
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match *bytes.get(start)? {
        b'"' => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            None
        }
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = value_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = bytes[start..].iter().position(|b| matches!(b, b',' | b'}' | b']'));
            Some(start + len.unwrap_or(bytes.len() - start))
        }
    }
}

/// The byte range of the value of the first `"key":` at or after byte `from`.
fn value_span(text: &str, key: &str, from: usize) -> Option<Range<usize>> {
    let pattern = format!("\"{key}\":");
    let start = text.get(from..)?.find(&pattern)? + from + pattern.len();
    Some(start..value_end(text.as_bytes(), start)?)
}

/// The byte ranges of the elements of the JSON array spanning `array`.
fn elements(text: &str, array: Range<usize>) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = array.start + 1;
    while i + 1 < array.end {
        match bytes[i] {
            b',' | b' ' => i += 1,
            _ => match value_end(bytes, i) {
                Some(end) => {
                    out.push(i..end);
                    i = end;
                }
                None => break,
            },
        }
    }
    out
}

/// The text with a book level ensured, and the range of the first level (bids first; an
/// empty frame gets a level `1 @ 1` in its bids).
fn first_level(shape: Shape, text: &str) -> Option<(String, Range<usize>)> {
    let data = if shape == Shape::ExtendedBook { value_span(text, "data", 0)?.start } else { 0 };
    let sides = if shape.kraken() { ["bids", "asks"] } else { ["b", "a"] };
    for side in sides {
        let array = value_span(text, side, data)?;
        if let Some(level) = elements(text, array).into_iter().next() {
            return Some((text.to_owned(), level));
        }
    }
    let template = match shape {
        Shape::BinanceDiff => r#"["1.00000000","1.00000000"]"#,
        Shape::KrakenBook => r#"{"price":1,"qty":1}"#,
        _ if text.contains(r#""t":"DELTA""#) => r#"{"p":"1","q":"1","c":"1"}"#,
        _ => r#"{"p":"1","q":"1"}"#,
    };
    let at = value_span(text, sides[0], data)?.start + 1;
    let with = splice(text, at..at, template);
    Some((with, at..at + template.len()))
}

/// The text with a trade ensured (Extended trades frames may be empty), and the range in
/// which the first trade's fields are found.
fn first_trade(shape: Shape, text: &str, market: &str) -> Option<(String, Range<usize>)> {
    if shape == Shape::BinanceTrade {
        let data = value_span(text, "data", 0)?;
        return Some((text.to_owned(), data));
    }
    let array = value_span(text, "data", 0)?;
    if let Some(trade) = elements(text, array.clone()).into_iter().next() {
        return Some((text.to_owned(), trade));
    }
    if shape.kraken() {
        return None; // the simulator sends a Kraken trade message only with trades in it
    }
    let ts = ts_of(text).unwrap_or(0);
    let template = format!(
        r#"{{"i":1,"m":{},"S":"BUY","tT":"TRADE","T":{ts},"p":"1","q":"1"}}"#,
        serde_json::Value::from(market)
    );
    let at = array.start + 1;
    Some((splice(text, at..at, &template), at..at + template.len()))
}

/// Replaces the string value (quotes kept) of `key` inside `within`.
fn replace_string(
    text: &str,
    key: &str,
    within: Range<usize>,
    f: impl FnOnce(&str) -> String,
) -> Option<String> {
    let span = value_span(text, key, within.start).filter(|r| r.end <= within.end)?;
    let inner = text.get(span.start + 1..span.end - 1)?;
    Some(splice(text, span.clone(), &format!("\"{}\"", f(inner))))
}

/// Replaces the value of `key` inside `within`: a string (quotes kept) or, on Kraken, whose
/// prices and sizes are JSON numbers, the number text.
fn replace_value(
    shape: Shape,
    text: &str,
    key: &str,
    within: Range<usize>,
    f: impl FnOnce(&str) -> String,
) -> Option<String> {
    if !shape.kraken() {
        return replace_string(text, key, within, f);
    }
    let span = value_span(text, key, within.start).filter(|r| r.end <= within.end)?;
    let with = f(text.get(span.clone())?);
    Some(splice(text, span, &with))
}

/// Replaces the `n`th string of a Binance level array.
fn replace_nth(
    text: &str,
    level: Range<usize>,
    n: usize,
    f: impl FnOnce(&str) -> String,
) -> Option<String> {
    let span = elements(text, level).into_iter().nth(n)?;
    let inner = text.get(span.start + 1..span.end - 1)?;
    Some(splice(text, span, &format!("\"{}\"", f(inner))))
}

fn price(shape: Shape, text: &str, market: &str, f: impl FnOnce(&str) -> String) -> Option<String> {
    let (p, _) = shape.level_keys();
    match shape {
        Shape::ExtendedBook | Shape::KrakenBook => {
            let (text, level) = first_level(shape, text)?;
            replace_value(shape, &text, p, level, f)
        }
        Shape::BinanceDiff => {
            let (text, level) = first_level(shape, text)?;
            replace_nth(&text, level, 0, f)
        }
        _ => {
            let (text, trade) = first_trade(shape, text, market)?;
            replace_value(shape, &text, p, trade, f)
        }
    }
}

fn size(shape: Shape, text: &str, market: &str, f: impl FnOnce(&str) -> String) -> Option<String> {
    let (_, q) = shape.level_keys();
    match shape {
        Shape::KrakenBook => {
            let (text, level) = first_level(shape, text)?;
            replace_value(shape, &text, q, level, f)
        }
        Shape::ExtendedBook => {
            let (text, level) = first_level(shape, text)?;
            let key = if text[level.clone()].contains("\"c\":") { "c" } else { "q" };
            replace_string(&text, key, level, f)
        }
        Shape::BinanceDiff => {
            let (text, level) = first_level(shape, text)?;
            replace_nth(&text, level, 1, f)
        }
        _ => {
            let (text, trade) = first_trade(shape, text, market)?;
            replace_value(shape, &text, q, trade, f)
        }
    }
}

/// A negative size: the real one with a `-`, or `-1` for a zero size (`-0` is not negative).
fn negative(size: &str) -> String {
    if size.chars().all(|c| matches!(c, '0' | '.')) {
        "-1".to_owned()
    } else {
        format!("-{size}")
    }
}

/// The price with 12 decimals, equal to it up to the last one.
fn fine_decimal(price: &str) -> String {
    let (whole, fraction) = price.split_once('.').unwrap_or((price, ""));
    let fraction: String = fraction.chars().chain(std::iter::repeat('0')).take(11).collect();
    format!("{whole}.{fraction}1")
}

fn times(shape: Shape, text: &str, f: impl Fn(i64) -> i64) -> Option<String> {
    if shape.kraken() {
        let mut out = text.to_owned();
        let mut from = 0;
        while let Some(span) = value_span(&out, "timestamp", from) {
            let ms = rfc3339_ms(out.get(span.start + 1..span.end - 1)?)?;
            let with = format!("\"{}\"", super::kraken_wire::time(f(ms)));
            from = span.start + with.len();
            out = splice(&out, span, &with);
        }
        return Some(out);
    }
    let keys: &[&str] = if shape.binance() { &["E", "T"] } else { &["ts"] };
    let mut out = text.to_owned();
    let mut changed = false;
    for key in keys {
        let mut from = 0;
        while let Some(span) = value_span(&out, key, from) {
            let Ok(ms) = out[span.clone()].parse::<i64>() else { break };
            let with = f(ms).to_string();
            from = span.start + with.len();
            out = splice(&out, span, &with);
            changed = true;
        }
    }
    changed.then_some(out)
}

fn bad_side(shape: Shape, text: &str, market: &str) -> Option<String> {
    match shape {
        Shape::ExtendedTrades => {
            let (text, trade) = first_trade(shape, text, market)?;
            replace_string(&text, "S", trade, |_| "SIDEWAYS".to_owned())
        }
        Shape::BinanceTrade => {
            let span = value_span(text, "m", 0)?;
            Some(splice(text, span, "\"maybe\""))
        }
        Shape::KrakenTrades => {
            let (text, trade) = first_trade(shape, text, market)?;
            replace_string(&text, "side", trade, |_| "sideways".to_owned())
        }
        Shape::ExtendedBook | Shape::KrakenBook => {
            let (text, level) = first_level(shape, text)?;
            let (p, q) = shape.level_keys();
            let p = value_span(&text, p, level.start)?;
            let q = value_span(&text, q, level.start)?;
            let array = format!("[{},{},\"SIDEWAYS\"]", &text[p], &text[q]);
            Some(splice(&text, level, &array))
        }
        Shape::BinanceDiff => {
            let (text, level) = first_level(shape, text)?;
            let at = level.end - 1;
            Some(splice(&text, at..at, ",\"SIDEWAYS\""))
        }
        Shape::Unknown => None,
    }
}

fn id_range(shape: Shape, text: &str, market: &str) -> Option<String> {
    match shape {
        Shape::ExtendedTrades => {
            let (text, trade) = first_trade(shape, text, market)?;
            let span = value_span(&text, "i", trade.start)?;
            Some(splice(&text, span, HUGE_ID))
        }
        Shape::BinanceTrade => Some(splice(text, value_span(text, "t", 0)?, HUGE_ID)),
        Shape::KrakenTrades => Some(splice(text, value_span(text, "trade_id", 0)?, HUGE_ID)),
        _ => Some(splice(text, value_span(text, shape.seq_key(), 0)?, PAST_U64)),
    }
}

fn other_market(shape: Shape, text: &str, market: &str) -> Option<String> {
    let (key, other) = if shape.binance() {
        ("s", if market == "DOGEUSDT" { "XRPUSDT" } else { "DOGEUSDT" })
    } else if shape.kraken() {
        ("symbol", if market == "DOGE-USD" { "XRP/USD" } else { "DOGE/USD" })
    } else {
        ("m", if market == "DOGE-USD" { "XRP-USD" } else { "DOGE-USD" })
    };
    let (mut out, _) = match shape {
        Shape::ExtendedTrades => first_trade(shape, text, market)?,
        _ => (text.to_owned(), 0..0),
    };
    let quoted = format!("\"{other}\"");
    let mut from = value_span(&out, "data", 0)?.start;
    while let Some(span) = value_span(&out, key, from) {
        from = span.start + quoted.len();
        out = splice(&out, span, &quoted);
    }
    if shape.binance() {
        if let Some(span) = value_span(&out, "ps", 0) {
            out = splice(&out, span, &quoted);
        }
        let stream = value_span(&out, "stream", 0)?;
        let name = &out[stream.start + 1..stream.end - 1];
        let suffix = name.split_once('@').map_or("", |(_, s)| s);
        let renamed = format!("\"{}@{suffix}\"", other.to_ascii_lowercase());
        out = splice(&out, stream, &renamed);
    }
    Some(out)
}

/// The text without `"key":value` (and the comma that joined it).
fn delete_key(text: &str, key: &str) -> Option<String> {
    let value = value_span(text, key, 0)?;
    let start = value.start - key.len() - 3;
    let bytes = text.as_bytes();
    let range = if bytes.get(value.end) == Some(&b',') {
        start..value.end + 1
    } else if start > 0 && bytes.get(start - 1) == Some(&b',') {
        start - 1..value.end
    } else {
        start..value.end
    };
    Some(splice(text, range, ""))
}

fn unknown_type(shape: Shape, text: &str) -> Option<String> {
    let key = if shape.binance() { "e" } else { "type" };
    match value_span(text, key, 0) {
        Some(span) => {
            let at = span.end - 1;
            Some(splice(text, at..at, "2"))
        }
        // A v1 trades frame has no type.
        None => Some(splice(text, 1..1, "\"type\":\"TRADES2\",")),
    }
}

/// The real frame with a padding string at its end, [`oversized_len`] bytes in all.
fn oversized(text: &str) -> String {
    let body = text.strip_suffix('}').unwrap_or(text);
    let (head, tail) = (",\"pad\":\"", "\"}");
    let pad = oversized_len().saturating_sub(body.len() + head.len() + tail.len());
    let mut out = String::with_capacity(oversized_len());
    out.push_str(body);
    out.push_str(head);
    out.extend(std::iter::repeat_n('x', pad));
    out.push_str(tail);
    out
}
