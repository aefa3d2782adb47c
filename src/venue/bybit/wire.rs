//! Bybit v5 public WebSocket messages read from the venue's text (docs/VENUES.md §14): the
//! `orderbook.{depth}.{symbol}` topic (`snapshot` / `delta`, each with its update id `u` and
//! cross sequence `seq`), the `publicTrade.{symbol}` topic, and the operation replies around
//! them — `subscribe` acknowledgements and failures (`success`), and the two spellings of the
//! answer to `{"op":"ping"}` (spot: `"op":"ping","ret_msg":"pong"`; linear and inverse:
//! `"op":"pong"`).
//!
//! Prices and sizes are JSON strings parsed as exact decimals, times and ids are JSON integers
//! read exactly ([`crate::venue::json`]), never `f64`. A trade id `i` is a string: digits on
//! spot, a UUID on the derivatives endpoints ([`TradeId`]). Refusals name the field
//! (`data.b[3][1]`, `data[0].i`). Must not know books, sequences or rows.

use crate::model::{EventTime, Level, Price, Qty, TakerSide};
use crate::venue::json::{self, Obj, Path, Value};
use crate::venue::ParseError;

/// The `data` of an `orderbook` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookData {
    /// `s`, the symbol.
    pub symbol: String,
    /// `b`, in the venue's order; a size of 0 deletes the level, sizes are absolute.
    pub bids: Vec<Level>,
    /// `a`.
    pub asks: Vec<Level>,
    /// `u`, the update id: one more on every message of a subscription; 1 after the
    /// venue's service restarted (then on a snapshot).
    pub u: i64,
    /// `seq`, the cross sequence: increasing, not contiguous (not used for continuity).
    pub seq: Option<i64>,
}

/// An `orderbook.{depth}.{symbol}` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMessage {
    pub topic: String,
    pub snapshot: bool,
    /// `ts`: when the venue's market-data service sent it, venue clock.
    pub ts_event: EventTime,
    /// `cts`: the matching engine's time of the book (≤ `ts`), where sent.
    pub cts: Option<EventTime>,
    pub data: BookData,
}

/// A trade id as Bybit spells `i`: a string of digits (spot) or a UUID (derivatives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeId {
    /// Digits, exact.
    Number(i64),
    /// A UUID, all 128 bits (compared exactly; case does not matter).
    Uuid(u128),
}

impl TradeId {
    /// The id in the tables' Int64 `trade_id` (docs/VENUES.md §14.4): a number as it is; a
    /// UUID folded to 63 bits (its two halves XORed, the sign bit cleared). The fold is stable
    /// across runs and releases; it is not unique in principle, so deduplication compares the
    /// whole UUID and a fold shared by two trades is two rows (which `verify` reports).
    pub fn table_id(self) -> i64 {
        match self {
            TradeId::Number(id) => id,
            TradeId::Uuid(bits) => {
                let folded = ((bits >> 64) as u64) ^ (bits as u64);
                (folded & i64::MAX as u64) as i64
            }
        }
    }
}

/// The id as Bybit spells it (a UUID in lower case).
impl std::fmt::Display for TradeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TradeId::Number(id) => write!(f, "{id}"),
            TradeId::Uuid(bits) => {
                let hex = format!("{bits:032x}");
                let (a, rest) = hex.split_at(8);
                let (b, rest) = rest.split_at(4);
                let (c, rest) = rest.split_at(4);
                let (d, e) = rest.split_at(4);
                write!(f, "{a}-{b}-{c}-{d}-{e}")
            }
        }
    }
}

/// One trade of a `publicTrade` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    /// `s`.
    pub symbol: String,
    /// `i`.
    pub id: TradeId,
    /// `p`.
    pub price: Price,
    /// `v`.
    pub qty: Qty,
    /// `S`: the taker's side (Bybit: "Side of taker").
    pub side: TakerSide,
    /// `T`: when the trade was matched, venue clock.
    pub ts_event: EventTime,
    /// `BT`: a block trade (negotiated off the book), where sent.
    pub block: bool,
    /// `seq`: the matching sequence, where sent (not used).
    pub seq: Option<i64>,
}

/// A `publicTrade.{symbol}` message (typed `snapshot` though each carries new trades only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesMessage {
    pub topic: String,
    /// `ts`, venue clock.
    pub ts_event: EventTime,
    pub trades: Vec<WireTrade>,
}

/// Any message the public endpoint sends on a market-data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Book(BookMessage),
    Trades(TradesMessage),
    /// Data of a topic mdkit does not record (`tickers.BTCUSDT`): read, not used.
    OtherTopic {
        topic: String,
    },
    /// `{"success":true,"op":"subscribe",…}`: a subscription took.
    Subscribed,
    /// The answer to `{"op":"ping"}`, in either spelling.
    Pong,
    /// `{"success":false,"ret_msg":…,"op":…}`: the venue refused a request.
    Error {
        op: String,
        message: String,
    },
}

const BOOK_TYPES: &[&str] = &["snapshot", "delta"];
const TRADE_TYPES: &[&str] = &["snapshot"];
const OPS: &[&str] = &["subscribe", "unsubscribe", "ping", "pong"];
const SIDES: &[(&str, TakerSide)] = &[("Buy", TakerSide::Buy), ("Sell", TakerSide::Sell)];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    if let Some(topic) = root.opt_str("topic")? {
        return if topic.starts_with("orderbook.") {
            book(&root, topic).map(Message::Book)
        } else if topic.starts_with("publicTrade.") {
            trades(&root, topic).map(Message::Trades)
        } else {
            Ok(Message::OtherTopic { topic: topic.to_owned() })
        };
    }
    let op = root.str("op")?;
    if boolean(&root, "success")? == Some(false) {
        let message = root.opt_str("ret_msg")?.unwrap_or_default().to_owned();
        return Ok(Message::Error { op: op.to_owned(), message });
    }
    match op {
        "subscribe" | "unsubscribe" => Ok(Message::Subscribed),
        "ping" | "pong" => Ok(Message::Pong),
        other => Err(ParseError::UnknownType { text: other.to_owned(), expected: OPS }),
    }
}

fn book(root: &Obj<'_>, topic: &str) -> Result<BookMessage, ParseError> {
    let snapshot = match root.str("type")? {
        "snapshot" => true,
        "delta" => false,
        other => {
            return Err(ParseError::UnknownType { text: other.to_owned(), expected: BOOK_TYPES })
        }
    };
    let data = root.obj("data", Path::Key("data"))?;
    let side = |name| match data.get(name) {
        None => Ok(Vec::new()),
        Some(_) => data.pairs(name),
    };
    Ok(BookMessage {
        topic: topic.to_owned(),
        snapshot,
        ts_event: root.millis("ts")?,
        cts: optional(root, "cts", |o, n| o.millis(n))?,
        data: BookData {
            symbol: data.str("s")?.to_owned(),
            bids: side("b")?,
            asks: side("a")?,
            u: data.i64("u")?,
            seq: optional(&data, "seq", |o, n| o.i64(n))?,
        },
    })
}

fn trades(root: &Obj<'_>, topic: &str) -> Result<TradesMessage, ParseError> {
    let kind = root.str("type")?;
    if !TRADE_TYPES.contains(&kind) {
        return Err(ParseError::UnknownType { text: kind.to_owned(), expected: TRADE_TYPES });
    }
    let items = root.array("data")?;
    let mut trades = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        trades.push(trade(Obj::of(item, Path::Item("data", index))?)?);
    }
    Ok(TradesMessage { topic: topic.to_owned(), ts_event: root.millis("ts")?, trades })
}

fn trade(o: Obj<'_>) -> Result<WireTrade, ParseError> {
    Ok(WireTrade {
        symbol: o.str("s")?.to_owned(),
        id: trade_id(&o, "i")?,
        price: o.price("p")?,
        qty: o.qty("v")?,
        side: o.choose("S", SIDES)?,
        ts_event: o.millis("T")?,
        block: boolean(&o, "BT")?.unwrap_or(false),
        seq: optional(&o, "seq", |o, n| o.i64(n))?,
    })
}

/// An optional field read by `read` when present (JSON `null` counts as absent).
fn optional<'v, T>(
    o: &Obj<'v>,
    name: &str,
    read: impl Fn(&Obj<'v>, &str) -> Result<T, ParseError>,
) -> Result<Option<T>, ParseError> {
    match o.get(name) {
        None => Ok(None),
        Some(_) => read(o, name).map(Some),
    }
}

/// An optional JSON boolean (`success`, `BT`); a string `"true"` is not one.
fn boolean(o: &Obj<'_>, name: &str) -> Result<Option<bool>, ParseError> {
    match o.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ParseError::InvalidField {
            field: o.field(name),
            expected: "a boolean",
            found: format!("{}", other),
        }),
    }
}

/// `i`: digits (an exact id in 0..=i64::MAX) or a UUID (8-4-4-4-12 hexadecimal digits).
fn trade_id(o: &Obj<'_>, name: &str) -> Result<TradeId, ParseError> {
    let text = o.str(name)?;
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map(TradeId::Number)
            .map_err(|_| ParseError::IdOutOfRange { field: o.field(name), text: text.to_owned() });
    }
    uuid(text).map(TradeId::Uuid).ok_or_else(|| ParseError::InvalidField {
        field: o.field(name),
        expected: "a trade id of digits or a UUID",
        found: format!("string {text:?}"),
    })
}

/// The 128 bits of a UUID spelled `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn uuid(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut bits: u128 = 0;
    for (at, b) in bytes.iter().enumerate() {
        if matches!(at, 8 | 13 | 18 | 23) {
            if *b != b'-' {
                return None;
            }
            continue;
        }
        let digit = (*b as char).to_digit(16)?;
        bits = (bits << 4) | u128::from(digit);
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;

    #[test]
    fn book_messages_read_exactly() {
        let Message::Book(book) = parse(SNAPSHOT).unwrap() else { panic!("not a book") };
        assert_eq!((book.topic.as_str(), book.snapshot), ("orderbook.50.BTCUSDT", true));
        let d = &book.data;
        assert_eq!((d.symbol.as_str(), d.u, d.seq), ("BTCUSDT", 18_521_288, Some(7_961_638_724)));
        assert_eq!(d.bids[1].price, Price::parse("16493").unwrap());
        assert_eq!(d.asks[0].qty, Qty::parse("0.029").unwrap());
        assert_eq!(book.ts_event.as_nanos(), 1_672_304_484_978_000_000);
        assert_eq!(book.cts.map(EventTime::as_nanos), Some(1_672_304_484_976_000_000));
        // A delta may leave a side out, and older feeds send no `cts` or `seq`.
        let delta = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","a":[["1","0"]],"u":2}}"#;
        let Message::Book(book) = parse(delta).unwrap() else { panic!("not a book") };
        assert!(book.data.bids.is_empty() && !book.snapshot);
        assert_eq!((book.cts, book.data.seq), (None, None));
    }

    #[test]
    fn trades_replies_and_pongs_read() {
        let text = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false,"seq":1783284617},{"T":1672304486866,"s":"BTCUSDT","S":"Sell","v":"2","p":"16578","i":"2290000000061666327","BT":true}]}"#;
        let Message::Trades(m) = parse(text).unwrap() else { panic!("not trades") };
        let (a, b) = (&m.trades[0], &m.trades[1]);
        assert_eq!((a.side, a.block, a.seq), (TakerSide::Buy, false, Some(1_783_284_617)));
        assert_eq!(a.id, TradeId::Uuid(0x20f4_3950_d8dd_5b31_9112_a178_eb60_23af));
        let fold = (0x20f4_3950_d8dd_5b31_u64 ^ 0x9112_a178_eb60_23af_u64) & i64::MAX as u64;
        assert_eq!(a.id.table_id(), fold as i64);
        assert_eq!(
            (b.id, b.side, b.block),
            (TradeId::Number(2_290_000_000_061_666_327), TakerSide::Sell, true)
        );
        assert_eq!(b.id.table_id(), 2_290_000_000_061_666_327);
        let upper = text.replace("20f43950-d8dd", "20F43950-D8DD");
        let Message::Trades(u) = parse(&upper).unwrap() else { panic!("not trades") };
        assert_eq!(u.trades[0].id, a.id);
        assert_eq!(a.id.to_string(), "20f43950-d8dd-5b31-9112-a178eb6023af");
        let replies = [
            (
                r#"{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"10001","op":"subscribe"}"#,
                Message::Subscribed,
            ),
            (
                r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#,
                Message::Pong,
            ),
            (
                r#"{"req_id":"","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}"#,
                Message::Pong,
            ),
            (
                r#"{"success":false,"ret_msg":"Invalid symbol :[orderbook.50.NOPE]","conn_id":"x","req_id":"","op":"subscribe"}"#,
                Message::Error {
                    op: "subscribe".into(),
                    message: "Invalid symbol :[orderbook.50.NOPE]".into(),
                },
            ),
            (
                r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{}}"#,
                Message::OtherTopic { topic: "tickers.BTCUSDT".into() },
            ),
        ];
        for (text, want) in replies {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let book = |data: &str| {
            format!(r#"{{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{data}}}"#)
        };
        let trade = |fields: &str| {
            format!(
                r#"{{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"1",{fields}}}]}}"#
            )
        };
        let cases = [
            (
                book(r#"{"s":"BTCUSDT","b":[[1,"1"]],"u":2}"#),
                "field `data.b[0]` should be a [price, size] pair of strings",
            ),
            (
                book(r#"{"s":"BTCUSDT","a":[["1","x"]],"u":2}"#),
                "field `data.a[0][1]` = \"x\" is not an exact decimal",
            ),
            (book(r#"{"s":"BTCUSDT","u":"2"}"#), "field `data.u` should be an integer"),
            (book(r#"{"s":"BTCUSDT"}"#), "missing field `data.u`"),
            (book(r#"{"s":"BTCUSDT","u":2,"seq":1.5}"#), "field `data.seq` should be an integer"),
            (
                book(r#"{"s":"BTCUSDT","u":2}"#).replace("delta", "partial"),
                "unknown frame type \"partial\"",
            ),
            (
                book(r#"{"s":"BTCUSDT","u":2}"#).replace(r#""ts":1"#, r#""ts":"1""#),
                "field `ts` should be an integer",
            ),
            (
                trade(r#""i":"1""#).replace(r#""S":"Buy""#, r#""S":"buy""#),
                "field `data[0].S` = \"buy\" is not one of: Buy, Sell",
            ),
            (
                trade(r#""i":"not-a-uuid""#),
                "field `data[0].i` should be a trade id of digits or a UUID",
            ),
            (
                trade(r#""i":"99999999999999999999""#),
                "field `data[0].i` = 99999999999999999999 is not an id",
            ),
            (trade(r#""i":"1","BT":"false""#), "field `data[0].BT` should be a boolean"),
            (trade(r#""i":"1""#).replace("snapshot", "delta"), "unknown frame type \"delta\""),
            (r#"{"op":"auth","success":true}"#.to_owned(), "unknown frame type \"auth\""),
            (r#"{"success":true}"#.to_owned(), "missing field `op`"),
            ("pong".to_owned(), "invalid JSON"),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
