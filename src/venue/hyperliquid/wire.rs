//! Hyperliquid WebSocket messages read from the venue's text (docs/VENUES.md §13): the
//! `l2Book` channel (`WsBook`: `coin`, `levels` = `[bids, asks]` of `{px, sz, n}`, `time` in
//! ms), the `trades` channel (a list of `WsTrade`: `coin`, `side`, `px`, `sz`, `hash`, `time`,
//! `tid`, `users`), and the messages around them (`subscriptionResponse`, `pong`, `error`).
//! Also the body of the REST `info` `l2Book` request, which is a `WsBook` on its own.
//!
//! Prices and sizes are JSON strings read as exact decimals through the shared reader
//! ([`crate::venue::json`]), never `f64`; keys are found by name (their order differs between
//! captures). Refusals name the field (`data.levels[0][3].px`, `data[2].tid`). Must not know
//! books, connections or rows.

use crate::model::{EventTime, Price, Qty, TakerSide};
use crate::venue::json::{self, Obj, Path, Value};
use crate::venue::ParseError;

/// One `{px, sz, n}` level of an `l2Book` push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLevel {
    pub price: Price,
    pub qty: Qty,
    /// `n`, the number of orders at the level (read and checked, not stored).
    pub orders: u64,
}

/// An `l2Book` push: a full snapshot of the top levels of both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookPush {
    pub coin: String,
    /// `time`, on the venue's clock.
    pub ts_event: EventTime,
    /// Best first, as sent (descending prices).
    pub bids: Vec<WireLevel>,
    /// Best first, as sent (ascending prices).
    pub asks: Vec<WireLevel>,
}

/// One trade of a `trades` push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    pub coin: String,
    /// The taker's side: `B` (buy) or `A` (sell).
    pub side: TakerSide,
    pub price: Price,
    pub qty: Qty,
    /// `tid`, unique across assets but not consecutive; read exactly, refused past `i64::MAX`.
    pub id: i64,
    /// `time`, on the venue's clock.
    pub ts_event: EventTime,
}

/// Any message the public endpoint sends on a market-data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Book(BookPush),
    Trades(Vec<WireTrade>),
    /// `{"channel":"subscriptionResponse",...}`: a subscription was accepted.
    Subscribed,
    /// `{"channel":"pong"}`, the answer to `{"method":"ping"}`.
    Pong,
    /// `{"channel":"error","data":"..."}`: the venue refused a request (`data`'s text).
    Error(String),
}

/// The channels a message may name.
const CHANNELS: &[&str] = &["l2Book", "trades", "subscriptionResponse", "pong", "error"];
/// `side` on the wire → the taker's side.
const SIDES: &[(&str, TakerSide)] = &[("B", TakerSide::Buy), ("A", TakerSide::Sell)];
/// The places of the two sides inside a WebSocket push and inside a bare REST body.
const PUSH_SIDES: [&str; 2] = ["data.levels[0]", "data.levels[1]"];
const REST_SIDES: [&str; 2] = ["levels[0]", "levels[1]"];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    match root.str("channel")? {
        "l2Book" => book(&root.obj("data", Path::Key("data"))?, PUSH_SIDES).map(Message::Book),
        "trades" => trades(&root).map(Message::Trades),
        "subscriptionResponse" => Ok(Message::Subscribed),
        "pong" => Ok(Message::Pong),
        "error" => Ok(Message::Error(match root.get("data") {
            Some(Value::String(reason)) => reason.to_string(),
            Some(other) => other.to_string(),
            None => "(no reason given)".to_owned(),
        })),
        other => Err(ParseError::UnknownType { text: other.to_owned(), expected: CHANNELS }),
    }
}

/// Reads the body of a REST `POST /info {"type":"l2Book","coin":…}`: the same book as a
/// push's `data` (fields named without the `data.` prefix).
pub fn parse_rest_book(text: &str) -> Result<BookPush, ParseError> {
    let value = json::parse(text)?;
    book(&Obj::of(&value, Path::Root)?, REST_SIDES)
}

fn book(data: &Obj<'_>, sides: [&'static str; 2]) -> Result<BookPush, ParseError> {
    let levels = data.array("levels")?;
    if levels.len() != 2 {
        return Err(ParseError::InvalidField {
            field: data.field("levels"),
            expected: "an array of two sides (bids, asks)",
            found: format!("an array of {} items", levels.len()),
        });
    }
    Ok(BookPush {
        coin: data.str("coin")?.to_owned(),
        ts_event: data.millis("time")?,
        bids: side(&levels[0], sides[0])?,
        asks: side(&levels[1], sides[1])?,
    })
}

fn side(value: &Value<'_>, place: &'static str) -> Result<Vec<WireLevel>, ParseError> {
    let Value::Array(items) = value else {
        return Err(ParseError::InvalidField {
            field: place.to_owned(),
            expected: "an array of levels",
            found: value.to_string().chars().take(40).collect(),
        });
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let level = Obj::of(item, Path::Item(place, index))?;
        out.push(WireLevel {
            price: level.price("px")?,
            qty: level.qty("sz")?,
            orders: level.u64("n")?,
        });
    }
    Ok(out)
}

fn trades(root: &Obj<'_>) -> Result<Vec<WireTrade>, ParseError> {
    let items = root.array("data")?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let trade = Obj::of(item, Path::Item("data", index))?;
        out.push(WireTrade {
            coin: trade.str("coin")?.to_owned(),
            side: trade.choose("side", SIDES)?,
            price: trade.price("px")?,
            qty: trade.qty("sz")?,
            id: trade.id("tid")?,
            ts_event: trade.millis("time")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = r#"{"channel":"l2Book","data":{"coin":"BTC","time":1737918843542,"levels":[[{"px":"105055.0","sz":"3.03622","n":5},{"n":1,"px":"105054.0","sz":"0.1428"}],[{"n":13,"px":"105056.0","sz":"6.34472"}]]}}"#;

    #[test]
    fn a_book_push_reads_whatever_the_key_order() {
        let Message::Book(book) = parse(BOOK).unwrap() else { panic!("not a book") };
        assert_eq!(book.coin, "BTC");
        assert_eq!(book.ts_event.as_nanos(), 1_737_918_843_542_000_000);
        assert_eq!((book.bids.len(), book.asks.len()), (2, 1));
        let best = book.bids[0];
        assert_eq!(
            (best.price.to_string(), best.qty.to_string(), best.orders),
            ("105055".to_owned(), "3.03622".to_owned(), 5)
        );
        assert_eq!(book.asks[0].orders, 13);
    }

    #[test]
    fn trades_and_the_other_messages_read() {
        let text = r#"{"channel":"trades","data":[{"coin":"BTC","hash":"0x0000000000000000000000000000000000000000000000000000000000000000","px":"105056.0","side":"B","sz":"0.00219","tid":1113244137548134,"time":1737918794873,"users":["0xa","0xb"]},{"coin":"BTC","hash":"0x1","px":"105055.0","side":"A","sz":"0.1","tid":5,"time":1737918794874,"users":["0xa","0xb"]}]}"#;
        let Message::Trades(trades) = parse(text).unwrap() else { panic!("not trades") };
        assert_eq!(trades.len(), 2);
        assert_eq!(
            (trades[0].id, trades[0].side, trades[0].qty.to_string()),
            (1_113_244_137_548_134, TakerSide::Buy, "0.00219".to_owned())
        );
        assert_eq!(trades[1].side, TakerSide::Sell);
        assert_eq!(trades[1].ts_event.as_nanos(), 1_737_918_794_874_000_000);
        let ack = r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}}"#;
        assert_eq!(parse(ack), Ok(Message::Subscribed));
        assert_eq!(parse(r#"{"channel":"pong"}"#), Ok(Message::Pong));
        assert_eq!(
            parse(r#"{"channel":"error","data":"Invalid subscription"}"#),
            Ok(Message::Error("Invalid subscription".into()))
        );
        assert_eq!(parse(r#"{"channel":"error"}"#), Ok(Message::Error("(no reason given)".into())));
    }

    #[test]
    fn refusals_name_the_field() {
        let book = |levels: &str| {
            format!(r#"{{"channel":"l2Book","data":{{"coin":"BTC","time":1,"levels":{levels}}}}}"#)
        };
        let level = r#"{"px":"1.0","sz":"1.0","n":1}"#;
        let cases = [
            (
                book(&format!(r#"[[{level},{level},{level},{{"px":1.5,"sz":"1","n":1}}],[]]"#)),
                "field `data.levels[0][3].px` should be a string, found number 1.5",
            ),
            (
                book(&format!(r#"[[],[{level},{{"px":"2","sz":"1e3","n":1}}]]"#)),
                "field `data.levels[1][1].sz` = \"1e3\" is not an exact decimal",
            ),
            (
                book(r#"[[{"px":"2","sz":"1","n":-1}],[]]"#),
                "field `data.levels[0][0].n` should be an unsigned integer, found number -1",
            ),
            (
                book(r#"[[{"px":"2","sz":"1","n":1.5}],[]]"#),
                "field `data.levels[0][0].n` should be an unsigned integer",
            ),
            (book(r#"[[]]"#), "field `data.levels` should be an array of two sides"),
            (book(r#"[[],{}]"#), "field `data.levels[1]` should be an array of levels"),
            (
                book(r#"[[{"px":"2.000000001","sz":"1","n":1}],[]]"#),
                "field `data.levels[0][0].px` = \"2.000000001\" is not an exact decimal",
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","px":"1","side":"S","sz":"1","tid":1,"time":1}]}"#.to_owned(),
                "field `data[0].side` = \"S\" is not one of: B, A",
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","px":"1","side":"B","sz":"1","tid":9223372036854775808,"time":1}]}"#.to_owned(),
                "field `data[0].tid` = 9223372036854775808 is not an id in 0..=9223372036854775807",
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","px":"1","side":"B","sz":"1","tid":1}]}"#.to_owned(),
                "missing field `data[0].time`",
            ),
            (r#"{"channel":"bbo","data":{}}"#.to_owned(), "unknown frame type \"bbo\""),
            (r#"{"data":{}}"#.to_owned(), "missing field `channel`"),
            (
                r#"{"channel":"l2Book","channel":"trades"}"#.to_owned(),
                "invalid JSON (duplicate key `channel` with different values",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }

    #[test]
    fn the_rest_body_is_a_book_with_fields_named_from_its_root() {
        let body = r#"{"coin":"DYDX","levels":[[{"n":1,"px":"2.111","sz":"10.0"}],[{"n":2,"px":"2.1124","sz":"5.5"}]],"time":1689630203930}"#;
        let book = parse_rest_book(body).unwrap();
        assert_eq!((book.coin.as_str(), book.bids.len(), book.asks[0].orders), ("DYDX", 1, 2));
        let err = parse_rest_book(&body.replace("\"2.111\"", "2.111")).unwrap_err().to_string();
        assert!(err.starts_with("field `levels[0][0].px` should be a string"), "{err}");
    }
}
