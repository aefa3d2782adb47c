//! Kraken WebSocket v2 messages read from the venue's text (docs/VENUES.md §9 "Kraken v2"):
//! the `book` channel (`snapshot` / `update`, each with its CRC32 `checksum`), the `trade`
//! channel, and the messages around them (`heartbeat`, `status`, the `subscribe` and `pong`
//! responses).
//!
//! Kraken sends prices and quantities as JSON **numbers** whose text carries the pair's
//! precision (`0.10000000`), and its checksum is computed over that text. So numbers are never
//! read through `f64`: serde_json first checks that the frame is well-formed JSON (nesting
//! limit included), then [`Fields`] splits each object into its fields' raw text and each
//! number token is parsed exactly into a [`Num`], which keeps the value and the number of
//! decimal places the text had. Refusals name the field (`data[0].bids[3].qty`). Must not
//! know books, checksums or rows.

use serde::de::IgnoredAny;

use super::scan;

use crate::model::{parse_raw, EventTime, TakerSide};
use crate::venue::json::excerpt;
use crate::venue::ParseError;

/// A price or quantity as Kraken wrote it: the exact value in 10⁻⁸ units and the decimal
/// places of its text (`0.10000000` → scale 8), which the checksum needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Num {
    pub raw: i64,
    pub scale: u8,
}

/// One `{"price", "qty"}` level of a `book` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLevel {
    pub price: Num,
    pub qty: Num,
}

/// One element of a `book` message's `data`: one symbol's levels and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookData {
    pub symbol: String,
    /// Bids in the venue's order: apply in order (a price may repeat, the last one wins).
    pub bids: Vec<WireLevel>,
    pub asks: Vec<WireLevel>,
    pub checksum: u32,
    /// Absent from snapshots of the API as captured in 2023 (the fixture); documented now.
    pub ts_event: Option<EventTime>,
}

/// A `book` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMessage {
    pub snapshot: bool,
    pub data: Vec<BookData>,
}

/// One trade of a `trade` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    pub symbol: String,
    /// The taker's side.
    pub side: TakerSide,
    pub price: Num,
    pub qty: Num,
    /// Sequential per book (docs: "Sequence number unique per trading book").
    pub id: i64,
    pub ts_event: EventTime,
}

/// A `trade` message: the snapshot of the last 50 trades on subscribing, then updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesMessage {
    pub snapshot: bool,
    pub trades: Vec<WireTrade>,
}

/// Any message the public v2 endpoint sends on a market-data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Book(BookMessage),
    Trades(TradesMessage),
    /// `{"channel":"heartbeat"}`, about once a second without other traffic.
    Heartbeat,
    /// `{"channel":"status", ...}`: the engine's state, sent on connecting.
    Status,
    /// A `subscribe` (or other method) response; `error` when `success` is false.
    Response {
        method: String,
        success: bool,
        error: Option<String>,
    },
    /// The answer to the application ping.
    Pong,
}

/// The channels a data message may name.
const CHANNELS: &[&str] = &["book", "trade", "heartbeat", "status"];
/// The `type` of a data message.
const TYPES: &[&str] = &["snapshot", "update"];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    serde_json::from_str::<IgnoredAny>(text)
        .map_err(|e| ParseError::Json { reason: e.to_string(), excerpt: excerpt(text) })?;
    let root = Fields::of(Raw(text.trim()), "<frame>".to_owned())?;
    if let Some(method) = root.opt_str("method")? {
        if method == "pong" {
            return Ok(Message::Pong);
        }
        let success = root.opt_bool("success")?.unwrap_or(false);
        let error = root.opt_str("error")?.map(str::to_owned);
        return Ok(Message::Response { method: method.to_owned(), success, error });
    }
    let channel = root.str("channel")?;
    match channel {
        "heartbeat" => return Ok(Message::Heartbeat),
        "status" => return Ok(Message::Status),
        "book" | "trade" => {}
        other => {
            return Err(ParseError::UnknownType { text: other.to_owned(), expected: CHANNELS })
        }
    }
    let snapshot = match root.str("type")? {
        "snapshot" => true,
        "update" => false,
        other => return Err(ParseError::UnknownType { text: other.to_owned(), expected: TYPES }),
    };
    let items = root.array("data")?;
    if channel == "book" {
        let mut data = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            data.push(book_data(Fields::of(*item, format!("data[{index}]"))?)?);
        }
        return Ok(Message::Book(BookMessage { snapshot, data }));
    }
    let mut trades = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        trades.push(trade(Fields::of(*item, format!("data[{index}]"))?)?);
    }
    Ok(Message::Trades(TradesMessage { snapshot, trades }))
}

fn book_data(fields: Fields<'_>) -> Result<BookData, ParseError> {
    let checksum = fields.u64("checksum")?;
    let checksum = u32::try_from(checksum).map_err(|_| ParseError::InvalidField {
        field: fields.field("checksum"),
        expected: "an unsigned 32-bit CRC",
        found: checksum.to_string(),
    })?;
    let ts_event = match fields.get("timestamp") {
        None => None,
        Some(_) => Some(fields.time("timestamp")?),
    };
    Ok(BookData {
        symbol: fields.str("symbol")?.to_owned(),
        bids: levels(&fields, "bids")?,
        asks: levels(&fields, "asks")?,
        checksum,
        ts_event,
    })
}

/// A side's levels; a side absent from an update changed nothing.
fn levels(fields: &Fields<'_>, name: &str) -> Result<Vec<WireLevel>, ParseError> {
    if fields.get(name).is_none() {
        return Ok(Vec::new());
    }
    let items = fields.array(name)?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let level = Fields::of(*item, format!("{}[{index}]", fields.field(name)))?;
        out.push(WireLevel { price: level.num("price")?, qty: level.num("qty")? });
    }
    Ok(out)
}

fn trade(fields: Fields<'_>) -> Result<WireTrade, ParseError> {
    let side = match fields.str("side")? {
        "buy" => TakerSide::Buy,
        "sell" => TakerSide::Sell,
        other => {
            return Err(ParseError::UnknownValue {
                field: fields.field("side"),
                text: other.to_owned(),
                expected: vec!["buy", "sell"],
            })
        }
    };
    Ok(WireTrade {
        symbol: fields.str("symbol")?.to_owned(),
        side,
        price: fields.num("price")?,
        qty: fields.num("qty")?,
        id: fields.id("trade_id")?,
        ts_event: fields.time("timestamp")?,
    })
}

/// One JSON value's text, inside a frame serde_json has already found well-formed.
#[derive(Debug, Clone, Copy)]
struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    fn get(self) -> &'a str {
        self.0
    }
}

/// An object's fields as raw JSON text, in frame order, with its place for error messages.
struct Fields<'a> {
    fields: Vec<(&'a str, Raw<'a>)>,
    path: String,
}

impl<'a> Fields<'a> {
    /// The object `raw` holds, found at `path`; a key repeated with different values makes
    /// the frame unreadable (which one the venue meant is unknowable), as in the shared reader.
    fn of(raw: Raw<'a>, path: String) -> Result<Self, ParseError> {
        let not_object = || ParseError::InvalidField {
            field: path.clone(),
            expected: "an object",
            found: describe(raw),
        };
        let pairs = scan::object(raw.get()).ok_or_else(not_object)?;
        let mut fields: Vec<(&'a str, Raw<'a>)> = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let key = serde_json::from_str::<&'a str>(key).map_err(|_| not_object())?;
            match fields.iter().find(|(k, _)| *k == key) {
                None => fields.push((key, Raw(value))),
                Some((_, first)) if first.get() == value => {}
                Some(_) => {
                    return Err(ParseError::Json {
                        reason: format!("duplicate key `{key}` with different values"),
                        excerpt: excerpt(raw.get()),
                    })
                }
            }
        }
        Ok(Self { fields, path })
    }

    fn field(&self, name: &str) -> String {
        if self.path == "<frame>" {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The field's raw value; JSON `null` counts as absent.
    fn get(&self, name: &str) -> Option<Raw<'a>> {
        self.fields
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, v)| *v)
            .filter(|v| v.get() != "null")
    }

    fn req(&self, name: &str) -> Result<Raw<'a>, ParseError> {
        self.get(name).ok_or_else(|| ParseError::MissingField { field: self.field(name) })
    }

    fn invalid(&self, name: &str, expected: &'static str, raw: Raw<'_>) -> ParseError {
        ParseError::InvalidField { field: self.field(name), expected, found: describe(raw) }
    }

    fn str(&self, name: &str) -> Result<&'a str, ParseError> {
        let raw = self.req(name)?;
        serde_json::from_str::<&'a str>(raw.get()).map_err(|_| self.invalid(name, "a string", raw))
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(_) => self.str(name).map(Some),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<bool>(raw.get())
                .map(Some)
                .map_err(|_| self.invalid(name, "a boolean", raw)),
        }
    }

    fn array(&self, name: &str) -> Result<Vec<Raw<'a>>, ParseError> {
        let raw = self.req(name)?;
        let items = scan::array(raw.get()).ok_or_else(|| self.invalid(name, "an array", raw))?;
        Ok(items.into_iter().map(Raw).collect())
    }

    fn u64(&self, name: &str) -> Result<u64, ParseError> {
        let raw = self.req(name)?;
        let text = raw.get();
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid(name, "an unsigned integer", raw));
        }
        text.parse::<u64>().map_err(|_| ParseError::IdOutOfRange {
            field: self.field(name),
            text: text.to_owned(),
        })
    }

    /// A trade id: an exact integer in `0..=i64::MAX`, read from its text.
    fn id(&self, name: &str) -> Result<i64, ParseError> {
        let value = self.u64(name)?;
        i64::try_from(value).map_err(|_| ParseError::IdOutOfRange {
            field: self.field(name),
            text: value.to_string(),
        })
    }

    /// A JSON number token, exactly: plain decimal text only (no exponent), at most 8
    /// decimal places unless the extra ones are zeros (the tables' scale).
    fn num(&self, name: &str) -> Result<Num, ParseError> {
        let raw = self.req(name)?;
        let text = raw.get();
        if text.starts_with(['"', '{', '[', 't', 'f']) {
            return Err(self.invalid(name, "a JSON number", raw));
        }
        let value = parse_raw(text).map_err(|source| ParseError::Decimal {
            field: self.field(name),
            text: text.to_owned(),
            source,
        })?;
        let places = text.split_once('.').map_or(0, |(_, frac)| frac.len());
        let scale = u8::try_from(places).map_err(|_| ParseError::InvalidField {
            field: self.field(name),
            expected: "a number with fewer than 256 decimal places",
            found: excerpt(text),
        })?;
        Ok(Num { raw: value, scale })
    }

    /// An RFC 3339 time (`2023-07-30T15:29:58.343415Z`) on the venue's clock.
    fn time(&self, name: &str) -> Result<EventTime, ParseError> {
        let text = self.str(name)?;
        let nanos = chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .ok_or_else(|| ParseError::InvalidField {
                field: self.field(name),
                expected: "an RFC 3339 time",
                found: format!("string {:?}", excerpt(text)),
            })?;
        Ok(EventTime::from_nanos(nanos))
    }
}

fn describe(raw: Raw<'_>) -> String {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => "an object".to_owned(),
        Some(b'[') => "an array".to_owned(),
        Some(b'"') => format!("string {}", excerpt(text)),
        _ => excerpt(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_numbers_keep_their_text_scale() {
        let text = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":29430.3,"qty":6.64305344},{"price":29430.3,"qty":0.10000000}],"asks":[],"checksum":3393952446,"timestamp":"2023-07-30T15:30:15.230502Z"}]}"#;
        let Message::Book(book) = parse(text).unwrap() else { panic!("not a book message") };
        assert!(!book.snapshot);
        let data = &book.data[0];
        assert_eq!(data.symbol, "BTC/USD");
        assert_eq!(data.bids.len(), 2);
        assert_eq!(data.bids[0].price, Num { raw: 2_943_030_000_000, scale: 1 });
        assert_eq!(data.bids[1].qty, Num { raw: 10_000_000, scale: 8 });
        assert_eq!(data.checksum, 3_393_952_446);
        assert_eq!(data.ts_event.unwrap().as_nanos(), 1_690_731_015_230_502_000);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1.0","qty":1.0}],"checksum":1}]}"#,
                "field `data[0].bids[0].price` should be a JSON number, found string \"1.0\"",
            ),
            (
                r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","asks":[{"price":1e5,"qty":1.0}],"checksum":1}]}"#,
                "field `data[0].asks[0].price` = \"1e5\" is not an exact decimal",
            ),
            (
                r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":4294967296}]}"#,
                "field `data[0].checksum` should be an unsigned 32-bit CRC, found 4294967296",
            ),
            (
                r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"up","price":1.0,"qty":1.0,"trade_id":1,"timestamp":"2023-09-25T07:48:36.925533Z"}]}"#,
                "field `data[0].side` = \"up\" is not one of: buy, sell",
            ),
            (r#"{"channel":"ticker","type":"update","data":[]}"#, "unknown frame type \"ticker\""),
            (
                r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD"}]}"#,
                "missing field `data[0].checksum`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }

    #[test]
    fn trades_and_other_messages_read() {
        let text = r#"{"channel":"trade","type":"snapshot","data":[{"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}]}"#;
        let Message::Trades(trades) = parse(text).unwrap() else { panic!("not trades") };
        assert!(trades.snapshot);
        let t = &trades.trades[0];
        assert_eq!(
            (t.id, t.side, t.price.raw, t.qty.scale),
            (4_665_846, TakerSide::Buy, 51_470_000, 5)
        );
        assert_eq!(parse(r#"{"channel":"heartbeat"}"#), Ok(Message::Heartbeat));
        assert_eq!(parse(r#"{"method":"pong","req_id":1}"#), Ok(Message::Pong));
        let failed = parse(
            r#"{"method":"subscribe","error":"Currency pair not supported","success":false}"#,
        );
        assert_eq!(
            failed,
            Ok(Message::Response {
                method: "subscribe".into(),
                success: false,
                error: Some("Currency pair not supported".into())
            })
        );
        assert!(parse(r#"{"channel":"book","channel":"trade"}"#).is_err());
    }
}
