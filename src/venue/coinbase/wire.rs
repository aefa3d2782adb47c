//! Coinbase Advanced Trade WebSocket messages read from the venue's text (docs/VENUES.md
//! §16): the envelope every message shares — `channel`, `timestamp`, `sequence_num`,
//! `events` — and the events of the channels mdkit uses: `l2_data` (the `level2` channel:
//! `snapshot` / `update` events of `{side: bid|offer, event_time, price_level,
//! new_quantity}`), `market_trades` (`snapshot` / `update` events of trades), `heartbeats`
//! and `subscriptions`; and the error message `{"type":"error","message":…}`.
//!
//! Prices and sizes are JSON strings parsed as exact decimals, `sequence_num` a JSON integer
//! and a trade id a string of digits read exactly ([`crate::venue::json`]), never `f64`.
//! A trade's `side` is the **maker's** (docs/VENUES.md §16.4): [`WireTrade::side`] is the
//! taker's, the opposite. A level's `event_time` is not read: snapshot levels carry
//! `1970-01-01T00:00:00Z` there (the documentation's example), and the rows take the
//! message's `timestamp`. Refusals name the field (`events[0].updates[3].new_quantity`).
//! Must not know books, sequences or rows.

use crate::model::{BookSide, EventTime, Level, Price, Qty, TakerSide};
use crate::venue::json::{self, Obj, Path};
use crate::venue::ParseError;

/// One `l2_data` event: a snapshot (the whole book) or an update, of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Event {
    pub snapshot: bool,
    pub product_id: String,
    /// `side` `bid`, in the venue's order; sizes absolute, 0 removes the level.
    pub bids: Vec<Level>,
    /// `side` `offer`.
    pub asks: Vec<Level>,
}

/// One trade of a `market_trades` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    /// `trade_id`: a string of digits, exact.
    pub id: i64,
    pub product_id: String,
    pub price: Price,
    /// `size`.
    pub qty: Qty,
    /// The **taker's** side: the opposite of the `side` sent, which is the maker's
    /// (docs/VENUES.md §16.4).
    pub side: TakerSide,
    /// `time`: when the trade was matched, venue clock.
    pub ts_event: EventTime,
}

/// One `market_trades` event: `snapshot` (the recent trades replayed on subscribing) or
/// `update` (trades of the last 250 ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesEvent {
    pub snapshot: bool,
    pub trades: Vec<WireTrade>,
}

/// What a message carries, by channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `l2_data`.
    L2(Vec<L2Event>),
    /// `market_trades`.
    Trades(Vec<TradesEvent>),
    /// `heartbeats`: keeps the connection open; it counts in `sequence_num` like any other.
    Heartbeat,
    /// `subscriptions`: the acknowledgement of a (un)subscribe; counts in `sequence_num`.
    Subscriptions,
    /// A channel mdkit does not record (`ticker`, `status`, `candles`): read, not used.
    Other { channel: String },
}

/// A message with the envelope every Advanced Trade channel shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub channel: String,
    /// `timestamp`: when the venue sent the message, venue clock.
    pub ts_event: EventTime,
    /// `sequence_num`: one more on every message of the connection, across channels.
    pub sequence_num: i64,
    pub body: Body,
}

/// Any message the endpoint sends on a market-data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Data(Envelope),
    /// `{"type":"error","message":…}`: the venue refused a request (an unknown product, a
    /// malformed subscription).
    Error {
        message: String,
    },
}

const EVENT_TYPES: &[&str] = &["snapshot", "update"];
const BOOK_SIDES: &[(&str, BookSide)] = &[("bid", BookSide::Bid), ("offer", BookSide::Ask)];
/// `side` is the maker's: a `BUY` maker was hit by a selling taker (docs/VENUES.md §16.4).
const MAKER_SIDES: &[(&str, TakerSide)] = &[("BUY", TakerSide::Sell), ("SELL", TakerSide::Buy)];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    if root.opt_str("type")? == Some("error") {
        let message = root.opt_str("message")?.unwrap_or_default();
        let reason = root.opt_str("reason")?.map(|r| format!(": {r}")).unwrap_or_default();
        return Ok(Message::Error { message: format!("{message}{reason}") });
    }
    let channel = root.str("channel")?;
    let body = match channel {
        "l2_data" => Body::L2(each_event(&root, l2_event)?),
        "market_trades" => Body::Trades(each_event(&root, trades_event)?),
        "heartbeats" => Body::Heartbeat,
        "subscriptions" => Body::Subscriptions,
        other => Body::Other { channel: other.to_owned() },
    };
    Ok(Message::Data(Envelope {
        channel: channel.to_owned(),
        ts_event: root.rfc3339("timestamp")?,
        sequence_num: root.i64("sequence_num")?,
        body,
    }))
}

fn each_event<T>(
    root: &Obj<'_>,
    read: impl Fn(Obj<'_>) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let items = root.array("events")?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        out.push(read(Obj::of(item, Path::Item("events", index))?)?);
    }
    Ok(out)
}

fn snapshot(o: &Obj<'_>) -> Result<bool, ParseError> {
    match o.str("type")? {
        "snapshot" => Ok(true),
        "update" => Ok(false),
        other => Err(ParseError::UnknownType { text: other.to_owned(), expected: EVENT_TYPES }),
    }
}

/// Renames a field error of an object nested below `events[i]` (which [`Path`] cannot
/// spell) to its full place, e.g. `events[0].updates[3].new_quantity`.
fn nested(error: ParseError, prefix: &str) -> ParseError {
    let place = |field: String| format!("{prefix}.{field}");
    match error {
        ParseError::MissingField { field } => ParseError::MissingField { field: place(field) },
        ParseError::InvalidField { field, expected, found } => {
            ParseError::InvalidField { field: place(field), expected, found }
        }
        ParseError::Decimal { field, text, source } => {
            ParseError::Decimal { field: place(field), text, source }
        }
        ParseError::UnknownValue { field, text, expected } => {
            ParseError::UnknownValue { field: place(field), text, expected }
        }
        ParseError::IdOutOfRange { field, text } => {
            ParseError::IdOutOfRange { field: place(field), text }
        }
        other => other,
    }
}

fn l2_event(o: Obj<'_>) -> Result<L2Event, ParseError> {
    let snapshot = snapshot(&o)?;
    let product_id = o.str("product_id")?.to_owned();
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    let prefix = o.field("");
    let prefix = prefix.trim_end_matches('.');
    for (index, item) in o.array("updates")?.iter().enumerate() {
        let read = || -> Result<(BookSide, Level), ParseError> {
            let u = Obj::of(item, Path::Item("updates", index))?;
            let side = u.choose("side", BOOK_SIDES)?;
            Ok((side, Level::new(u.price("price_level")?, u.qty("new_quantity")?)))
        };
        let (side, level) = read().map_err(|e| nested(e, prefix))?;
        match side {
            BookSide::Bid => bids.push(level),
            BookSide::Ask => asks.push(level),
        }
    }
    Ok(L2Event { snapshot, product_id, bids, asks })
}

fn trades_event(o: Obj<'_>) -> Result<TradesEvent, ParseError> {
    let snapshot = snapshot(&o)?;
    let prefix = o.field("");
    let prefix = prefix.trim_end_matches('.');
    let items = o.array("trades")?;
    let mut trades = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let read = || -> Result<WireTrade, ParseError> {
            let t = Obj::of(item, Path::Item("trades", index))?;
            Ok(WireTrade {
                id: t.digits_id("trade_id")?,
                product_id: t.str("product_id")?.to_owned(),
                price: t.price("price")?,
                qty: t.qty("size")?,
                side: t.choose("side", MAKER_SIDES)?,
                ts_event: t.rfc3339("time")?,
            })
        };
        trades.push(read().map_err(|e| nested(e, prefix))?);
    }
    Ok(TradesEvent { snapshot, trades })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documentation's examples (Coinbase Advanced Trade "WebSocket Channels": Level2,
    // Market Trades, Heartbeats, Subscriptions), hand-written here with their shapes and
    // values.
    pub(crate) const DOC_L2: &str = r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.3","new_quantity":"0.02"}]}]}"#;
    pub(crate) const DOC_TRADES: &str = r#"{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}"#;
    pub(crate) const DOC_HEARTBEAT: &str = r#"{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":0,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}"#;
    pub(crate) const DOC_SUBSCRIPTIONS: &str = r#"{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":1,"events":[{"subscriptions":{"level2":["BTC-USD"],"heartbeats":["heartbeats"]}}]}"#;

    fn data(text: &str) -> Envelope {
        match parse(text) {
            Ok(Message::Data(envelope)) => envelope,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_documentations_examples_read_exactly() {
        let l2 = data(DOC_L2);
        assert_eq!((l2.channel.as_str(), l2.sequence_num), ("l2_data", 0));
        assert_eq!(l2.ts_event.as_nanos() % 1_000_000_000, 714_964_855);
        let Body::L2(events) = &l2.body else { panic!("{l2:?}") };
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert!(e.snapshot && e.product_id == "BTC-USD" && e.asks.is_empty());
        assert_eq!(e.bids[0].price, Price::parse("21921.73").unwrap());
        assert_eq!(e.bids[1].qty, Qty::parse("0.02").unwrap());

        let trades = data(DOC_TRADES);
        let Body::Trades(events) = &trades.body else { panic!("{trades:?}") };
        let t = &events[0].trades[0];
        assert!(events[0].snapshot);
        // `side` BUY is the maker's: the taker sold.
        assert_eq!((t.id, t.side, t.product_id.as_str()), (0, TakerSide::Sell, "ETH-USD"));
        assert_eq!(t.ts_event.as_nanos() % 1_000_000_000, 265_000_000);

        assert_eq!(data(DOC_HEARTBEAT).body, Body::Heartbeat);
        let subs = data(DOC_SUBSCRIPTIONS);
        assert_eq!((subs.body, subs.sequence_num), (Body::Subscriptions, 1));
        let ticker = DOC_HEARTBEAT.replace("heartbeats", "ticker");
        assert_eq!(data(&ticker).body, Body::Other { channel: "ticker".into() });
        let error =
            r#"{"type":"error","message":"failure to subscribe","reason":"unknown product"}"#;
        assert_eq!(
            parse(error),
            Ok(Message::Error { message: "failure to subscribe: unknown product".into() })
        );
        let big = DOC_TRADES.replace("000000000", "9223372036854775807");
        let Body::Trades(e) = data(&big).body else { panic!() };
        assert_eq!(e[0].trades[0].id, i64::MAX);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                DOC_L2.replace(r#""side":"bid""#, r#""side":"ask""#),
                "field `events[0].updates[0].side` = \"ask\" is not one of: bid, offer",
            ),
            (
                DOC_L2.replace(r#""0.02""#, r#""1e-2""#),
                "field `events[0].updates[1].new_quantity` = \"1e-2\" is not an exact decimal",
            ),
            (
                DOC_L2.replace(r#""price_level":"21921.3","#, ""),
                "missing field `events[0].updates[1].price_level`",
            ),
            (
                DOC_L2.replace(r#""type":"snapshot""#, r#""type":"partial""#),
                "unknown frame type \"partial\"",
            ),
            (
                DOC_L2.replace(r#""sequence_num":0"#, r#""sequence_num":"0""#),
                "field `sequence_num` should be an integer",
            ),
            (
                DOC_L2.replace("2023-02-09T20:32:50.714964855Z", "yesterday"),
                "field `timestamp` should be an RFC 3339 time",
            ),
            (
                DOC_TRADES.replace(r#""side":"BUY""#, r#""side":"buy""#),
                "field `events[0].trades[0].side` = \"buy\" is not one of: BUY, SELL",
            ),
            (
                DOC_TRADES.replace("000000000", "12a"),
                "field `events[0].trades[0].trade_id` should be a string of digits",
            ),
            (
                DOC_TRADES.replace("000000000", "9223372036854775808"),
                "field `events[0].trades[0].trade_id` = 9223372036854775808 is not an id",
            ),
            (
                DOC_TRADES.replace(r#""size":"0.3""#, r#""size":0.3"#),
                "field `events[0].trades[0].size` should be a string",
            ),
            (r#"{"type":"subscriptions"}"#.to_owned(), "missing field `channel`"),
            ("[1]".to_owned(), "field `<frame>` should be an object"),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
