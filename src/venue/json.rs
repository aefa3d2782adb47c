//! Reading fields out of a parsed frame so that every refusal names the field
//! (`data.b[3].c`), what was expected and what was found.
//!
//! Frames are parsed by serde_json into [`Value`], a tree that borrows its strings from the
//! frame text (objects are short lists of fields, not maps), so the recorder's hot path does
//! not allocate a string per key and per price. An integer literal that fits `u64` or `i64`
//! is held as that integer, never as `f64`, so trade ids above 2^53 stay exact (docs/VENUES.md
//! §1.4); only literals beyond `u64` fall back to `f64`, and [`Obj::id`] refuses those as out
//! of range. Prices and sizes are JSON strings parsed as exact decimals (docs/VENUES.md §0). Must
//! not know any frame layout: that is each venue's `frames`, `v1`, `v2` (Extended) and
//! `binance::frames`.

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ParseError;
use crate::model::{DecimalError, EventTime, Level, Price, Qty};

const EXCERPT_CHARS: usize = 80;

/// The start of `text`, cut at a character boundary, for error messages.
pub(super) fn excerpt(text: &str) -> String {
    excerpt_of(text, EXCERPT_CHARS)
}

/// The first `chars` characters of `text`, with `…` when it was cut.
pub(super) fn excerpt_of(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A JSON number as serde_json reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Number {
    fn as_u64(self) -> Option<u64> {
        match self {
            Number::U64(n) => Some(n),
            _ => None,
        }
    }

    fn as_i64(self) -> Option<i64> {
        match self {
            Number::U64(n) => i64::try_from(n).ok(),
            Number::I64(n) => Some(n),
            Number::F64(_) => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::U64(n) => write!(f, "{n}"),
            Number::I64(n) => write!(f, "{n}"),
            Number::F64(n) => write!(f, "{n}"),
        }
    }
}

/// A parsed JSON value whose strings borrow from the frame text where they can.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Fields in frame order; a key repeated with the same value is kept once, and one
    /// repeated with a different value makes the frame unreadable (see `visit_map`).
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// Compact JSON text, for error details that quote a value.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{}", serde_json::Value::from(s.as_ref())),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{value}", serde_json::Value::from(key.as_ref()))?;
                }
                f.write_str("}")
            }
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::U64(n)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(if n >= 0 { Number::U64(n as u64) } else { Number::I64(n) }))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value<'de>, E> {
        Ok(Value::Number(Number::F64(n)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut fields: Vec<(Cow<'de, str>, Value<'de>)> = Vec::with_capacity(8);
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            match fields.iter().find(|(k, _)| *k == key) {
                None => fields.push((key, value)),
                // The same field twice with the same value says one thing: kept once.
                Some((_, first)) if *first == value => {}
                // Twice with different values, the frame says two things; which one the
                // venue meant is unknowable (and parsers disagree on first or last wins),
                // so the frame is refused, naming the key.
                Some(_) => {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key `{key}` with different values"
                    )))
                }
            }
        }
        Ok(Value::Object(fields))
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

pub(super) fn parse(text: &str) -> Result<Value<'_>, ParseError> {
    serde_json::from_str(text)
        .map_err(|e| ParseError::Json { reason: e.to_string(), excerpt: excerpt(text) })
}

/// A short description of a value for "found …" in errors.
fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", excerpt(s)),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Where an object sits in the frame; rendered only when an error is built.
#[derive(Debug, Clone, Copy)]
pub(super) enum Path {
    Root,
    Key(&'static str),
    Item(&'static str, usize),
}

impl Path {
    fn render(self) -> String {
        match self {
            Path::Root => "<frame>".to_owned(),
            Path::Key(key) => key.to_owned(),
            Path::Item(key, index) => format!("{key}[{index}]"),
        }
    }

    fn field(self, name: &str) -> String {
        match self {
            Path::Root => name.to_owned(),
            other => format!("{}.{name}", other.render()),
        }
    }
}

/// A JSON object and its place in the frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct Obj<'v> {
    map: &'v [(Cow<'v, str>, Value<'v>)],
    path: Path,
}

impl<'v> Obj<'v> {
    pub(super) fn of(value: &'v Value<'v>, path: Path) -> Result<Self, ParseError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(ParseError::InvalidField {
                field: path.render(),
                expected: "an object",
                found: describe(other),
            }),
        }
    }

    /// The full name of field `name` of this object, e.g. `data.b[3].c`.
    pub(super) fn field(&self, name: &str) -> String {
        self.path.field(name)
    }

    fn invalid(&self, name: &str, expected: &'static str, found: &Value<'_>) -> ParseError {
        ParseError::InvalidField { field: self.field(name), expected, found: describe(found) }
    }

    /// The field's value; JSON `null` counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&'v Value<'v>> {
        self.map.iter().find(|(key, _)| key == name).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    pub(super) fn req(&self, name: &str) -> Result<&'v Value<'v>, ParseError> {
        self.get(name).ok_or_else(|| ParseError::MissingField { field: self.field(name) })
    }

    pub(super) fn obj(&self, name: &str, path: Path) -> Result<Obj<'v>, ParseError> {
        Obj::of(self.req(name)?, path)
    }

    pub(super) fn array(&self, name: &str) -> Result<&'v [Value<'v>], ParseError> {
        let value = self.req(name)?;
        value.as_array().ok_or_else(|| self.invalid(name, "an array", value))
    }

    /// An array of strings, e.g. `result.subscriptions`.
    pub(super) fn strings(&self, name: &str) -> Result<Vec<&'v str>, ParseError> {
        let items = self.array(name)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let text = item.as_str().ok_or_else(|| ParseError::InvalidField {
                field: format!("{}[{index}]", self.field(name)),
                expected: "a string",
                found: describe(item),
            })?;
            out.push(text);
        }
        Ok(out)
    }

    pub(super) fn str(&self, name: &str) -> Result<&'v str, ParseError> {
        let value = self.req(name)?;
        value.as_str().ok_or_else(|| self.invalid(name, "a string", value))
    }

    pub(super) fn opt_str(&self, name: &str) -> Result<Option<&'v str>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => {
                value.as_str().map(Some).ok_or_else(|| self.invalid(name, "a string", value))
            }
        }
    }

    pub(super) fn u64(&self, name: &str) -> Result<u64, ParseError> {
        let value = self.req(name)?;
        match value {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| self.invalid(name, "an unsigned integer", value))
    }

    pub(super) fn i64(&self, name: &str) -> Result<i64, ParseError> {
        let value = self.req(name)?;
        match value {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| self.invalid(name, "an integer", value))
    }

    /// Epoch milliseconds (Extended's unit for `ts` and `T`) as a venue-clock timestamp.
    pub(super) fn millis(&self, name: &str) -> Result<EventTime, ParseError> {
        let millis = self.i64(name)?;
        EventTime::from_millis(millis)
            .ok_or_else(|| ParseError::TimeOutOfRange { field: self.field(name), millis })
    }

    /// An RFC 3339 time with up to nanoseconds (`2023-02-09T20:32:50.714964855Z`, Coinbase's
    /// spelling, docs/VENUES.md §16) on the venue's clock.
    pub(super) fn rfc3339(&self, name: &str) -> Result<EventTime, ParseError> {
        let text = self.str(name)?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .map(EventTime::from_nanos)
            .ok_or_else(|| ParseError::InvalidField {
                field: self.field(name),
                expected: "an RFC 3339 time",
                found: format!("string {:?}", excerpt_of(text, EXCERPT_CHARS)),
            })
    }

    /// An id spelled as a JSON string of digits (`"trade_id":"34112908"`), exact, in
    /// 0..=i64::MAX.
    pub(super) fn digits_id(&self, name: &str) -> Result<i64, ParseError> {
        let text = self.str(name)?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::InvalidField {
                field: self.field(name),
                expected: "a string of digits",
                found: format!("string {:?}", excerpt_of(text, EXCERPT_CHARS)),
            });
        }
        text.parse::<i64>().map_err(|_| ParseError::IdOutOfRange {
            field: self.field(name),
            text: text.to_owned(),
        })
    }

    /// A non-negative integer id, exact (docs/VENUES.md §1.4: ids exceed 2^53).
    pub(super) fn id(&self, name: &str) -> Result<i64, ParseError> {
        let value = self.req(name)?;
        let Value::Number(number) = value else {
            return Err(self.invalid(name, "an integer id", value));
        };
        if let Some(id) = number.as_i64().filter(|id| *id >= 0) {
            return Ok(id);
        }
        // An integer literal beyond u64 arrives as f64; a fractional literal is not an id.
        let integral = match *number {
            Number::U64(_) | Number::I64(_) => true,
            Number::F64(f) => f.abs() >= 9.223_372_036_854_776e18,
        };
        if integral {
            Err(ParseError::IdOutOfRange { field: self.field(name), text: number.to_string() })
        } else {
            Err(self.invalid(name, "an integer id", value))
        }
    }

    /// A JSON string or number as text (JSON-RPC ids may be either).
    pub(super) fn text_or_number(&self, name: &str) -> Result<Option<String>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.invalid(name, "a string or number", other)),
        }
    }

    pub(super) fn price(&self, name: &str) -> Result<Price, ParseError> {
        let text = self.str(name)?;
        Price::parse(text).map_err(|source| self.bad_decimal(name, text, source))
    }

    pub(super) fn qty(&self, name: &str) -> Result<Qty, ParseError> {
        let text = self.str(name)?;
        Qty::parse(text).map_err(|source| self.bad_decimal(name, text, source))
    }

    pub(super) fn opt_qty(&self, name: &str) -> Result<Option<Qty>, ParseError> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(text) => Qty::parse(text).map(Some).map_err(|s| self.bad_decimal(name, text, s)),
        }
    }

    /// A decimal with any number of places (mark and index prices carry 12, funding rates
    /// more than [`crate::model::SCALE`] can hold), parsed exactly from plain decimal text.
    pub(super) fn exact(&self, name: &str) -> Result<Decimal, ParseError> {
        let text = self.str(name)?;
        if !is_plain_decimal(text) {
            let source = if text.is_empty() {
                DecimalError::Empty
            } else {
                DecimalError::Syntax { text: text.to_owned() }
            };
            return Err(self.bad_decimal(name, text, source));
        }
        Decimal::from_str_exact(text).map_err(|_| {
            self.bad_decimal(name, text, DecimalError::Overflow { text: text.to_owned() })
        })
    }

    /// One of a fixed set of wire names.
    pub(super) fn choose<T: Copy>(
        &self,
        name: &str,
        options: &[(&'static str, T)],
    ) -> Result<T, ParseError> {
        let text = self.str(name)?;
        options.iter().find(|(wire, _)| *wire == text).map(|(_, value)| *value).ok_or_else(|| {
            ParseError::UnknownValue {
                field: self.field(name),
                text: text.to_owned(),
                expected: options.iter().map(|(wire, _)| *wire).collect(),
            }
        })
    }

    /// An array of `[price, size]` string pairs (Binance depth levels), each refusal naming
    /// its place, e.g. `data.b[3][1]`.
    pub(super) fn pairs(&self, name: &str) -> Result<Vec<Level>, ParseError> {
        let items = self.array(name)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let place = || format!("{}[{index}]", self.field(name));
            let pair = match item.as_array() {
                Some([Value::String(p), Value::String(q)]) => (p, q),
                _ => {
                    return Err(ParseError::InvalidField {
                        field: place(),
                        expected: "a [price, size] pair of strings",
                        found: describe(item),
                    })
                }
            };
            let decimal = |at: usize, text: &str, source| ParseError::Decimal {
                field: format!("{}[{at}]", place()),
                text: text.to_owned(),
                source,
            };
            let price = Price::parse(pair.0).map_err(|e| decimal(0, pair.0, e))?;
            let qty = Qty::parse(pair.1).map_err(|e| decimal(1, pair.1, e))?;
            out.push(Level::new(price, qty));
        }
        Ok(out)
    }

    /// An array of levels spelled `[price, size, …]` in strings, more items ignored (OKX:
    /// `[px, sz, "0", orders]`), each with its text as received (a checksum over that text
    /// needs it); refusals name the place, e.g. `data[0].bids[3][1]`.
    pub(super) fn text_levels(&self, name: &str) -> Result<Vec<TextLevel<'v>>, ParseError> {
        let items = self.array(name)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let place = || format!("{}[{index}]", self.field(name));
            let (price_text, qty_text) = match item.as_array() {
                Some([Value::String(p), Value::String(q), ..]) => (p.as_ref(), q.as_ref()),
                _ => {
                    return Err(ParseError::InvalidField {
                        field: place(),
                        expected: "a [price, size, …] array of strings",
                        found: describe(item),
                    })
                }
            };
            let decimal = |at: usize, text: &str, source| ParseError::Decimal {
                field: format!("{}[{at}]", place()),
                text: text.to_owned(),
                source,
            };
            let price = Price::parse(price_text).map_err(|e| decimal(0, price_text, e))?;
            let qty = Qty::parse(qty_text).map_err(|e| decimal(1, qty_text, e))?;
            out.push(TextLevel { price_text, qty_text, level: Level::new(price, qty) });
        }
        Ok(out)
    }

    fn bad_decimal(&self, name: &str, text: &str, source: DecimalError) -> ParseError {
        ParseError::Decimal { field: self.field(name), text: text.to_owned(), source }
    }
}

/// A book level with the text its price and size had in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TextLevel<'v> {
    pub price_text: &'v str,
    pub qty_text: &'v str,
    pub level: Level,
}

/// Optional sign, digits, at most one `.`, at least one digit: the same syntax
/// [`crate::model::parse_raw`] accepts (rust_decimal alone would also take `1_000`).
fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_of(text: &str) -> Value<'_> {
        parse(text).unwrap()
    }

    #[test]
    fn ids_are_exact_beyond_2_pow_53_and_refused_beyond_i64() {
        let cases: &[(&str, Result<i64, ParseError>)] = &[
            (r#"{"i":2103821900219158529}"#, Ok(2_103_821_900_219_158_529)),
            (r#"{"i":9223372036854775807}"#, Ok(i64::MAX)),
            (
                r#"{"i":9223372036854775808}"#,
                Err(ParseError::IdOutOfRange {
                    field: "i".into(),
                    text: "9223372036854775808".into(),
                }),
            ),
            (r#"{"i":-1}"#, Err(ParseError::IdOutOfRange { field: "i".into(), text: "-1".into() })),
            (
                r#"{"i":"5"}"#,
                Err(ParseError::InvalidField {
                    field: "i".into(),
                    expected: "an integer id",
                    found: "string \"5\"".into(),
                }),
            ),
            (
                r#"{"i":1.5}"#,
                Err(ParseError::InvalidField {
                    field: "i".into(),
                    expected: "an integer id",
                    found: "number 1.5".into(),
                }),
            ),
        ];
        for (text, want) in cases {
            let value = obj_of(text);
            assert_eq!(&Obj::of(&value, Path::Root).unwrap().id("i"), want, "{text}");
        }
        let huge = obj_of(r#"{"i":18446744073709551616}"#);
        assert!(matches!(
            Obj::of(&huge, Path::Root).unwrap().id("i"),
            Err(ParseError::IdOutOfRange { .. })
        ));
    }

    #[test]
    fn errors_name_the_nested_field() {
        let value = obj_of(r#"{"c":null,"p":5}"#);
        let level = Obj::of(&value, Path::Item("data.b", 3)).unwrap();
        assert_eq!(level.qty("c"), Err(ParseError::MissingField { field: "data.b[3].c".into() }));
        assert_eq!(
            level.price("p"),
            Err(ParseError::InvalidField {
                field: "data.b[3].p".into(),
                expected: "a string",
                found: "number 5".into(),
            })
        );
    }

    #[test]
    fn exact_decimals_keep_every_place_and_refuse_odd_syntax() {
        let value = obj_of(r#"{"a":"84058.473541750005","b":"1_000","c":"1e5","d":""}"#);
        let o = Obj::of(&value, Path::Root).unwrap();
        assert_eq!(o.exact("a").unwrap().to_string(), "84058.473541750005");
        for name in ["b", "c", "d"] {
            assert!(matches!(o.exact(name), Err(ParseError::Decimal { .. })), "{name}");
        }
    }

    #[test]
    fn invalid_json_carries_a_short_excerpt() {
        let text = format!("{{\"type\": {}", "x".repeat(200));
        let Err(ParseError::Json { excerpt, .. }) = parse(&text) else {
            panic!("expected a JSON error");
        };
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.starts_with("{\"type\""));
    }
}
