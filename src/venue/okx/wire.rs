//! OKX v5 public WebSocket messages read from the venue's text (docs/VENUES.md §12): the
//! `books` channel (`snapshot` / `update`, each with its `checksum` and, on feeds since 2023,
//! `seqId` / `prevSeqId`), the `trades` channel, the `event` messages around them
//! (`subscribe` acknowledgements, `error`, `notice`) and the bare `pong` answering the
//! application ping.
//!
//! Prices and sizes are JSON strings; the checksum is computed over those strings exactly as
//! received, so each level keeps its text beside its exact value ([`WireLevel`]). Numbers go
//! through the shared JSON reader ([`crate::venue::json`]), never `f64`. Refusals name the
//! field (`data[0].bids[3][1]`). Must not know books, checksums or rows.

use crate::model::{EventTime, Level, Price, Qty, TakerSide};
use crate::venue::json::{self, Obj, Path};
use crate::venue::ParseError;

/// One `[px, sz, "0", orders]` level: its exact value and the text the checksum hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireLevel {
    pub level: Level,
    pub px: String,
    pub sz: String,
}

/// One element of a `books` message's `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookData {
    /// Bids in the venue's order; a size of 0 deletes the level (even one not in the book).
    pub bids: Vec<WireLevel>,
    pub asks: Vec<WireLevel>,
    /// `ts`: when the venue generated the book, venue clock.
    pub ts_event: EventTime,
    /// The CRC32 of the top 25 levels as a signed 32-bit integer; `None` when absent or 0
    /// (newer feeds send 0 on every message: "not provided", docs/VENUES.md §12.3).
    pub checksum: Option<i32>,
    /// `seqId`, on feeds since 2023.
    pub seq_id: Option<i64>,
    /// `prevSeqId`: the `seqId` of the previous message (-1 on a snapshot).
    pub prev_seq_id: Option<i64>,
}

/// A `books` message for one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMessage {
    pub inst_id: String,
    pub snapshot: bool,
    pub data: Vec<BookData>,
}

/// One trade of a `trades` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    pub inst_id: String,
    /// `tradeId`, increasing per instrument (a string on the wire).
    pub id: i64,
    pub price: Price,
    pub qty: Qty,
    /// `side` is the taker's side (the fixture's README verified it against the book).
    pub side: TakerSide,
    /// `ts`, venue clock.
    pub ts_event: EventTime,
    /// `count`: how many fills OKX aggregated into this row (feeds since 2023; 1 without it).
    pub count: i64,
}

/// Any message the public endpoint sends on a market-data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Book(BookMessage),
    Trades(Vec<WireTrade>),
    /// Data of a channel mdkit does not record (`tickers`, say): read, not used.
    OtherChannel {
        channel: String,
    },
    /// `{"event":"subscribe","arg":{…}}`: a subscription took.
    Subscribed,
    /// `{"event":"error","code":"60012","msg":"…"}`: the venue refused a request.
    Error {
        code: String,
        message: String,
    },
    /// `{"event":"notice",…}`: e.g. the connection will be closed for an upgrade.
    Notice {
        message: String,
    },
    /// The text `pong`, the answer to the text `ping`.
    Pong,
}

const ACTIONS: &[&str] = &["snapshot", "update"];
const EVENTS: &[&str] = &["subscribe", "unsubscribe", "error", "notice"];
const SIDES: &[(&str, TakerSide)] = &[("buy", TakerSide::Buy), ("sell", TakerSide::Sell)];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    if text.trim() == "pong" {
        return Ok(Message::Pong);
    }
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    if let Some(event) = root.opt_str("event")? {
        return match event {
            "subscribe" | "unsubscribe" => Ok(Message::Subscribed),
            "error" => Ok(Message::Error {
                code: root.text_or_number("code")?.unwrap_or_default(),
                message: root.opt_str("msg")?.unwrap_or_default().to_owned(),
            }),
            "notice" => {
                Ok(Message::Notice { message: root.opt_str("msg")?.unwrap_or_default().to_owned() })
            }
            other => Err(ParseError::UnknownType { text: other.to_owned(), expected: EVENTS }),
        };
    }
    let arg = root.obj("arg", Path::Key("arg"))?;
    let channel = arg.str("channel")?;
    let items = root.array("data")?;
    match channel {
        "books" => {
            let snapshot = match root.str("action")? {
                "snapshot" => true,
                "update" => false,
                other => {
                    return Err(ParseError::UnknownType {
                        text: other.to_owned(),
                        expected: ACTIONS,
                    })
                }
            };
            let mut data = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                data.push(book_data(Obj::of(item, Path::Item("data", index))?)?);
            }
            Ok(Message::Book(BookMessage {
                inst_id: arg.str("instId")?.to_owned(),
                snapshot,
                data,
            }))
        }
        "trades" => {
            let mut trades = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                trades.push(trade(Obj::of(item, Path::Item("data", index))?)?);
            }
            Ok(Message::Trades(trades))
        }
        other => Ok(Message::OtherChannel { channel: other.to_owned() }),
    }
}

fn book_data(o: Obj<'_>) -> Result<BookData, ParseError> {
    let checksum = match o.get("checksum") {
        None => None,
        Some(_) => {
            let value = o.i64("checksum")?;
            let checksum = i32::try_from(value).map_err(|_| ParseError::InvalidField {
                field: o.field("checksum"),
                expected: "a signed 32-bit CRC",
                found: value.to_string(),
            })?;
            (checksum != 0).then_some(checksum)
        }
    };
    let seq = |name: &str| match o.get(name) {
        None => Ok(None),
        Some(_) => o.i64(name).map(Some),
    };
    Ok(BookData {
        bids: levels(&o, "bids")?,
        asks: levels(&o, "asks")?,
        ts_event: millis_text(&o, "ts")?,
        checksum,
        seq_id: seq("seqId")?,
        prev_seq_id: seq("prevSeqId")?,
    })
}

fn levels(o: &Obj<'_>, name: &str) -> Result<Vec<WireLevel>, ParseError> {
    if o.get(name).is_none() {
        return Ok(Vec::new());
    }
    Ok(o.text_levels(name)?
        .into_iter()
        .map(|l| WireLevel {
            level: l.level,
            px: l.price_text.to_owned(),
            sz: l.qty_text.to_owned(),
        })
        .collect())
}

fn trade(o: Obj<'_>) -> Result<WireTrade, ParseError> {
    Ok(WireTrade {
        inst_id: o.str("instId")?.to_owned(),
        id: id_text(&o, "tradeId")?,
        price: o.price("px")?,
        qty: o.qty("sz")?,
        side: o.choose("side", SIDES)?,
        ts_event: millis_text(&o, "ts")?,
        count: match o.get("count") {
            None => 1,
            Some(_) => id_text(&o, "count")?.max(1),
        },
    })
}

/// Epoch milliseconds written as a string of digits (`"1652459225464"`).
fn millis_text(o: &Obj<'_>, name: &str) -> Result<EventTime, ParseError> {
    let text = o.str(name)?;
    let invalid = || ParseError::InvalidField {
        field: o.field(name),
        expected: "epoch milliseconds as a string of digits",
        found: format!("string {text:?}"),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let millis = text.parse::<i64>().map_err(|_| invalid())?;
    EventTime::from_millis(millis)
        .ok_or_else(|| ParseError::TimeOutOfRange { field: o.field(name), millis })
}

/// A non-negative integer id written as a string of digits (`"338476307"`).
fn id_text(o: &Obj<'_>, name: &str) -> Result<i64, ParseError> {
    let text = o.str(name)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::InvalidField {
            field: o.field(name),
            expected: "an integer id as a string of digits",
            found: format!("string {text:?}"),
        });
    }
    text.parse::<i64>()
        .map_err(|_| ParseError::IdOutOfRange { field: o.field(name), text: text.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_levels_keep_their_text_and_checksum_zero_means_none() {
        let text = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.60","452","0","1"]],"ts":"1652459225464","checksum":-914047754,"seqId":123,"prevSeqId":116}]}"#;
        let Message::Book(book) = parse(text).unwrap() else { panic!("not a book") };
        assert_eq!((book.inst_id.as_str(), book.snapshot), ("BTC-USDT", false));
        let d = &book.data[0];
        assert_eq!((d.bids[0].px.as_str(), d.bids[0].sz.as_str()), ("30182.60", "452"));
        assert_eq!(d.bids[0].level.price, Price::parse("30182.6").unwrap());
        assert_eq!(d.asks.len(), 2);
        assert_eq!(
            (d.checksum, d.seq_id, d.prev_seq_id),
            (Some(-914_047_754), Some(123), Some(116))
        );
        assert_eq!(d.ts_event.as_nanos(), 1_652_459_225_464_000_000);
        let zero = text.replace("-914047754", "0");
        let Message::Book(book) = parse(&zero).unwrap() else { panic!("not a book") };
        assert_eq!(book.data[0].checksum, None);
    }

    #[test]
    fn trades_events_and_pong_read() {
        let text = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}"#;
        let Message::Trades(trades) = parse(text).unwrap() else { panic!("not trades") };
        assert_eq!((trades[0].id, trades[0].side), (338_476_307, TakerSide::Buy));
        assert_eq!(parse("pong"), Ok(Message::Pong));
        assert_eq!(
            parse(r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#),
            Ok(Message::Subscribed)
        );
        assert_eq!(
            parse(
                r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:X doesn't exist","connId":"a4d3ae55"}"#
            ),
            Ok(Message::Error {
                code: "60018".into(),
                message: "Wrong URL or channel:books,instId:X doesn't exist".into()
            })
        );
        assert_eq!(
            parse(r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{}]}"#),
            Ok(Message::OtherChannel { channel: "tickers".into() })
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let book = |data: &str| {
            format!(
                r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{data}]}}"#
            )
        };
        let cases = [
            (book(r#"{"bids":[[1,"1"]],"ts":"1"}"#), "field `data[0].bids[0]` should be a [price, size, …] array of strings"),
            (book(r#"{"bids":[["1","x"]],"ts":"1"}"#), "field `data[0].bids[0][1]` = \"x\" is not an exact decimal"),
            (book(r#"{"ts":"1","checksum":4294967295}"#), "field `data[0].checksum` should be a signed 32-bit CRC"),
            (book(r#"{"ts":"16e11"}"#), "field `data[0].ts` should be epoch milliseconds"),
            (book(r#"{"asks":[]}"#), "missing field `data[0].ts`"),
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}"#.to_owned(),
                "field `data[0].side` = \"up\" is not one of: buy, sell",
            ),
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"99999999999999999999","px":"1","sz":"1","side":"buy","ts":"1"}]}"#.to_owned(),
                "field `data[0].tradeId` = 99999999999999999999 is not an id",
            ),
            (r#"{"event":"login"}"#.to_owned(), "unknown frame type \"login\""),
            ("ping".to_owned(), "invalid JSON"),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
