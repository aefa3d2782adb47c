//! Extended v2 JSON-RPC stream: many topics on one socket (docs/VENUES.md §2). Beta: keep it behind
//! a config switch.
//!
//! Owns the request builders (`subscribe`, `unsubscribe`, `ping`, `list-subscriptions`) and
//! [`parse`], which classifies every text frame of a connection as a response or a data
//! frame. Data payloads are the v1 payloads (`frames`). Must not check the connection-global
//! `seq` (that is `seq::RpcSequencer`) or hold subscription state.

use serde::Serialize;

use super::frames::{self, BookUpdate, FundingFrame, PriceFrame, PriceKind, TradesFrame};
use super::json::{self, Obj, Path};
use super::ParseError;
use crate::model::{EventTime, FrameKind};

/// Which book an `orderbooks` subscription asks for (docs/VENUES.md §2 scope table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookView {
    /// `depth "full"`, topic `orderbooks.{m}`.
    Full,
    /// `depth "full"`, `rfqOnly true`, topic `orderbooks.{m}.rfq`.
    Rfq,
    /// `depth "1"` (best bid/ask), topic `orderbooks.1.{m}`.
    Top,
}

/// Which price a `candles` subscription aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandleKind {
    Mark,
    Index,
    Last,
}

/// One v2 subscription; `market: None` means all markets (`"market": null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subscription {
    OrderBook {
        market: Option<String>,
        view: BookView,
    },
    Trades {
        market: Option<String>,
    },
    Prices {
        kind: PriceKind,
        market: Option<String>,
    },
    FundingRates {
        market: Option<String>,
    },
    /// `interval` is ISO-8601, e.g. `PT1M`.
    Candles {
        kind: CandleKind,
        market: Option<String>,
        interval: String,
    },
}

impl Subscription {
    pub fn scope(&self) -> &'static str {
        match self {
            Subscription::OrderBook { .. } => "orderbooks",
            Subscription::Trades { .. } => "trades",
            Subscription::Prices { .. } => "prices",
            Subscription::FundingRates { .. } => "funding-rates",
            Subscription::Candles { .. } => "candles",
        }
    }

    pub fn market(&self) -> Option<&str> {
        match self {
            Subscription::OrderBook { market, .. }
            | Subscription::Trades { market }
            | Subscription::Prices { market, .. }
            | Subscription::FundingRates { market }
            | Subscription::Candles { market, .. } => market.as_deref(),
        }
    }

    /// The topic id the venue names in acks and data frames (docs/VENUES.md §2 scope table).
    /// `None` for an all-markets subscription, whose topic id is not documented.
    pub fn topic(&self) -> Option<String> {
        let m = self.market()?;
        Some(match self {
            Subscription::OrderBook { view: BookView::Full, .. } => format!("orderbooks.{m}"),
            Subscription::OrderBook { view: BookView::Rfq, .. } => format!("orderbooks.{m}.rfq"),
            Subscription::OrderBook { view: BookView::Top, .. } => format!("orderbooks.1.{m}"),
            Subscription::Trades { .. } => format!("trades.{m}"),
            Subscription::Prices { kind, .. } => format!("prices.{}.{m}", price_kind_wire(*kind)),
            Subscription::FundingRates { .. } => format!("funding-rates.{m}"),
            Subscription::Candles { kind, interval, .. } => {
                format!("candles.{}.{m}.{interval}", candle_kind_wire(*kind))
            }
        })
    }

    fn selector(&self) -> Selector<'_> {
        let mut selector = Selector {
            kind: None,
            market: self.market(),
            depth: None,
            rfq_only: None,
            interval: None,
        };
        match self {
            Subscription::OrderBook { view, .. } => {
                selector.depth = Some(if *view == BookView::Top { "1" } else { "full" });
                selector.rfq_only = (*view == BookView::Rfq).then_some(true);
            }
            Subscription::Prices { kind, .. } => selector.kind = Some(price_kind_wire(*kind)),
            Subscription::Candles { kind, interval, .. } => {
                selector.kind = Some(candle_kind_wire(*kind));
                selector.interval = Some(interval);
            }
            Subscription::Trades { .. } | Subscription::FundingRates { .. } => {}
        }
        selector
    }
}

fn price_kind_wire(kind: PriceKind) -> &'static str {
    match kind {
        PriceKind::Mark => "mark",
        PriceKind::Index => "index",
    }
}

fn candle_kind_wire(kind: CandleKind) -> &'static str {
    match kind {
        CandleKind::Mark => "mark",
        CandleKind::Index => "index",
        CandleKind::Last => "last",
    }
}

// Field order follows the SDK's requests ([X10-RPC] `streamrpc_client.py`); JSON does not
// care, but it keeps journals and test expectations readable.
#[derive(Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    id: String,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Params<'a>>,
}

#[derive(Serialize)]
struct Params<'a> {
    scope: &'static str,
    selector: Selector<'a>,
}

#[derive(Serialize)]
struct Selector<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    market: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    depth: Option<&'static str>,
    #[serde(rename = "rfqOnly", skip_serializing_if = "Option::is_none")]
    rfq_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<&'a str>,
}

fn request(id: u64, method: &'static str, subscription: Option<&Subscription>) -> String {
    let params = subscription.map(|s| Params { scope: s.scope(), selector: s.selector() });
    let request = Request { jsonrpc: "2.0", id: id.to_string(), method, params };
    serde_json::to_string(&request)
        .expect("a request of strings, bools and nulls always serializes")
}

/// `{"jsonrpc":"2.0","id":"<id>","method":"subscribe","params":{"scope":…,"selector":…}}`.
pub fn subscribe(id: u64, subscription: &Subscription) -> String {
    request(id, "subscribe", Some(subscription))
}

/// Same params as [`subscribe`].
pub fn unsubscribe(id: u64, subscription: &Subscription) -> String {
    request(id, "unsubscribe", Some(subscription))
}

pub fn ping(id: u64) -> String {
    request(id, "ping", None)
}

pub fn list_subscriptions(id: u64) -> String {
    request(id, "list-subscriptions", None)
}

/// Any frame of a v2 connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcMessage {
    /// A successful `subscribe`/`unsubscribe`: `result {method, status:"OK", subscription}`.
    Ack {
        id: String,
        method: String,
        topic: String,
    },
    /// The `list-subscriptions` result.
    Subscriptions {
        id: String,
        topics: Vec<String>,
    },
    /// Any other successful response (e.g. to `ping`): no topic.
    Reply {
        id: String,
        method: String,
    },
    /// `error {code, message[, data]}`; `id` is absent when the venue could not tell which
    /// request failed. `data`, if any, is kept as JSON text.
    Failure {
        id: Option<String>,
        code: i64,
        message: String,
        data: Option<String>,
    },
    Data(DataFrame),
}

/// A data frame `{type, data, ts, seq, subscription}`. Acks carry no `seq`; data frames
/// carry the connection-global one (docs/VENUES.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFrame {
    pub seq: u64,
    pub ts_event: EventTime,
    /// The `subscription` topic id, e.g. `orderbooks.BTC-USD`.
    pub topic: String,
    pub payload: Payload,
}

/// The typed payload; each carries the envelope's `seq` and `ts` as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Book(BookUpdate),
    Trades(TradesFrame),
    Price(PriceFrame),
    Funding(FundingFrame),
    /// Recognised but not decoded: the `data` object as JSON text.
    Candle {
        data: String,
    },
}

impl DataFrame {
    /// SNAPSHOT or DELTA for a book frame; `None` for every other payload.
    pub fn book_kind(&self) -> Option<FrameKind> {
        match &self.payload {
            Payload::Book(update) => Some(update.frame.kind),
            _ => None,
        }
    }
}

const DATA_TYPES: &[&str] = &[
    "ORDERBOOKS.SNAPSHOT",
    "ORDERBOOKS.DELTA",
    "TRADES",
    "PRICES.MP",
    "PRICES.IP",
    "FUNDING_RATES",
    "CANDLE",
];

/// Classifies one text frame of a v2 connection.
pub fn parse(text: &str) -> Result<RpcMessage, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    // The error branch also covers the v1-style `{"status":"ERROR","error":…}` envelope.
    if root.get("error").is_some() {
        let error = root.obj("error", Path::Key("error"))?;
        return Ok(RpcMessage::Failure {
            id: root.text_or_number("id")?,
            code: error.i64("code")?,
            message: error.str("message")?.to_owned(),
            data: error.get("data").map(ToString::to_string),
        });
    }
    if root.get("result").is_some() {
        return reply(&root);
    }
    if root.get("type").is_some() {
        return data_frame(&root).map(RpcMessage::Data);
    }
    Err(ParseError::UnknownFrame { excerpt: json::excerpt(text) })
}

fn reply(root: &Obj<'_>) -> Result<RpcMessage, ParseError> {
    let id = root
        .text_or_number("id")?
        .ok_or_else(|| ParseError::MissingField { field: "id".to_owned() })?;
    let result = root.obj("result", Path::Key("result"))?;
    result.choose("status", &[("OK", ())])?;
    let method = result.str("method")?.to_owned();
    if result.get("subscriptions").is_some() {
        let topics = result.strings("subscriptions")?.into_iter().map(str::to_owned).collect();
        return Ok(RpcMessage::Subscriptions { id, topics });
    }
    Ok(match result.opt_str("subscription")? {
        Some(topic) => RpcMessage::Ack { id, method, topic: topic.to_owned() },
        None => RpcMessage::Reply { id, method },
    })
}

fn data_frame(root: &Obj<'_>) -> Result<DataFrame, ParseError> {
    let envelope = root.str("type")?;
    let seq = root.u64("seq")?;
    let ts_event = root.millis("ts")?;
    let topic = root.str("subscription")?.to_owned();
    let data = || root.obj("data", Path::Key("data"));
    let payload = match envelope {
        "ORDERBOOKS.SNAPSHOT" => Payload::Book(frames::book_update(
            &data()?,
            envelope,
            FrameKind::Snapshot,
            seq,
            ts_event,
        )?),
        "ORDERBOOKS.DELTA" => {
            Payload::Book(frames::book_update(&data()?, envelope, FrameKind::Delta, seq, ts_event)?)
        }
        "TRADES" => Payload::Trades(frames::trades_frame(root, seq, ts_event)?),
        "PRICES.MP" => {
            Payload::Price(frames::price_frame(&data()?, PriceKind::Mark, seq, ts_event)?)
        }
        "PRICES.IP" => {
            Payload::Price(frames::price_frame(&data()?, PriceKind::Index, seq, ts_event)?)
        }
        "FUNDING_RATES" => Payload::Funding(frames::funding_frame(&data()?, seq, ts_event)?),
        "CANDLE" => Payload::Candle { data: root.req("data")?.to_string() },
        other => {
            return Err(ParseError::UnknownType { text: other.to_owned(), expected: DATA_TYPES })
        }
    };
    Ok(DataFrame { seq, ts_event, topic, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BookSide, Level, Price, Qty};

    fn sub(market: &str, view: BookView) -> Subscription {
        Subscription::OrderBook { market: Some(market.to_owned()), view }
    }

    #[test]
    fn requests_match_the_sdk_shape() {
        let btc = Some("BTC-USD".to_owned());
        let cases = [
            (
                subscribe(1, &sub("BTC-USD", BookView::Full)),
                r#"{"jsonrpc":"2.0","id":"1","method":"subscribe","params":{"scope":"orderbooks","selector":{"market":"BTC-USD","depth":"full"}}}"#,
            ),
            (
                subscribe(2, &sub("BTC-USD", BookView::Rfq)),
                r#"{"jsonrpc":"2.0","id":"2","method":"subscribe","params":{"scope":"orderbooks","selector":{"market":"BTC-USD","depth":"full","rfqOnly":true}}}"#,
            ),
            (
                unsubscribe(3, &sub("ETH-USD", BookView::Top)),
                r#"{"jsonrpc":"2.0","id":"3","method":"unsubscribe","params":{"scope":"orderbooks","selector":{"market":"ETH-USD","depth":"1"}}}"#,
            ),
            (
                subscribe(4, &Subscription::Trades { market: None }),
                r#"{"jsonrpc":"2.0","id":"4","method":"subscribe","params":{"scope":"trades","selector":{"market":null}}}"#,
            ),
            (
                subscribe(5, &Subscription::Prices { kind: PriceKind::Index, market: btc.clone() }),
                r#"{"jsonrpc":"2.0","id":"5","method":"subscribe","params":{"scope":"prices","selector":{"type":"index","market":"BTC-USD"}}}"#,
            ),
            (
                subscribe(6, &Subscription::FundingRates { market: btc.clone() }),
                r#"{"jsonrpc":"2.0","id":"6","method":"subscribe","params":{"scope":"funding-rates","selector":{"market":"BTC-USD"}}}"#,
            ),
            (
                subscribe(
                    7,
                    &Subscription::Candles {
                        kind: CandleKind::Last,
                        market: btc,
                        interval: "PT1M".into(),
                    },
                ),
                r#"{"jsonrpc":"2.0","id":"7","method":"subscribe","params":{"scope":"candles","selector":{"type":"last","market":"BTC-USD","interval":"PT1M"}}}"#,
            ),
            (ping(8), r#"{"jsonrpc":"2.0","id":"8","method":"ping"}"#),
            (list_subscriptions(9), r#"{"jsonrpc":"2.0","id":"9","method":"list-subscriptions"}"#),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn topics_follow_the_scope_table() {
        let btc = || Some("BTC-USD".to_owned());
        let cases = [
            (sub("BTC-USD", BookView::Full), "orderbooks.BTC-USD"),
            (sub("BTC-USD", BookView::Top), "orderbooks.1.BTC-USD"),
            (sub("BTC-USD", BookView::Rfq), "orderbooks.BTC-USD.rfq"),
            (Subscription::Trades { market: btc() }, "trades.BTC-USD"),
            (Subscription::Prices { kind: PriceKind::Mark, market: btc() }, "prices.mark.BTC-USD"),
            (Subscription::FundingRates { market: btc() }, "funding-rates.BTC-USD"),
            (
                Subscription::Candles {
                    kind: CandleKind::Mark,
                    market: btc(),
                    interval: "PT1M".into(),
                },
                "candles.mark.BTC-USD.PT1M",
            ),
        ];
        for (subscription, topic) in cases {
            assert_eq!(subscription.topic().as_deref(), Some(topic));
        }
        assert_eq!(Subscription::Trades { market: None }.topic(), None);
    }

    #[test]
    fn responses_are_classified() {
        let cases = [
            (
                r#"{"id":"1","result":{"method":"subscribe","status":"OK","subscription":"orderbooks.BTC-USD"},"jsonrpc":"2.0"}"#,
                RpcMessage::Ack {
                    id: "1".into(),
                    method: "subscribe".into(),
                    topic: "orderbooks.BTC-USD".into(),
                },
            ),
            (
                r#"{"id":"6","result":{"method":"list-subscriptions","status":"OK","subscriptions":["a","b"]},"jsonrpc":"2.0"}"#,
                RpcMessage::Subscriptions { id: "6".into(), topics: vec!["a".into(), "b".into()] },
            ),
            (
                r#"{"id":"8","result":{"method":"ping","status":"OK"},"jsonrpc":"2.0"}"#,
                RpcMessage::Reply { id: "8".into(), method: "ping".into() },
            ),
            (
                r#"{"id":"3","error":{"code":-32602,"message":"Invalid params","data":{"field":"market"}},"jsonrpc":"2.0"}"#,
                RpcMessage::Failure {
                    id: Some("3".into()),
                    code: -32602,
                    message: "Invalid params".into(),
                    data: Some(r#"{"field":"market"}"#.into()),
                },
            ),
            (
                r#"{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}"#,
                RpcMessage::Failure {
                    id: None,
                    code: 1001,
                    message: "Market not found".into(),
                    data: None,
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn malformed_frames_are_refused_by_name() {
        let cases = [
            (r#"{"hello":1}"#, ParseError::UnknownFrame { excerpt: r#"{"hello":1}"#.into() }),
            (
                r#"{"id":"1","result":{"method":"subscribe","status":"FAIL"}}"#,
                ParseError::UnknownValue {
                    field: "result.status".into(),
                    text: "FAIL".into(),
                    expected: vec!["OK"],
                },
            ),
            (
                r#"{"type":"NEWS","data":{},"ts":1,"seq":0,"subscription":"x"}"#,
                ParseError::UnknownType { text: "NEWS".into(), expected: DATA_TYPES },
            ),
            (
                r#"{"type":"TRADES","data":[],"ts":1,"seq":0}"#,
                ParseError::MissingField { field: "subscription".into() },
            ),
            (
                r#"{"type":"ORDERBOOKS.SNAPSHOT","data":{"t":"DELTA","m":"X","d":"f","b":[],"a":[]},"ts":1,"seq":0,"subscription":"orderbooks.X"}"#,
                ParseError::TypeMismatch {
                    envelope: "ORDERBOOKS.SNAPSHOT".into(),
                    data: "DELTA".into(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn book_data_frame_carries_envelope_seq_and_levels() {
        let text = r#"{"type":"ORDERBOOKS.DELTA","data":{"t":"DELTA","m":"BTC-USD","b":[{"q":"0.00082","p":"84073","c":"0.00175"}],"a":[],"d":"f"},"ts":1790425441925,"seq":1,"subscription":"orderbooks.BTC-USD"}"#;
        let Ok(RpcMessage::Data(frame)) = parse(text) else { panic!("data frame") };
        assert_eq!((frame.seq, frame.topic.as_str()), (1, "orderbooks.BTC-USD"));
        assert_eq!(frame.book_kind(), Some(FrameKind::Delta));
        let Payload::Book(update) = &frame.payload else { panic!("book payload") };
        assert_eq!(update.frame.seq, 1);
        let level = Level::new(Price::parse("84073").unwrap(), Qty::parse("0.00175").unwrap());
        assert_eq!(update.frame.side(BookSide::Bid), &[level]);
        assert_eq!(update.bid_changes, vec![Qty::parse("0.00082").unwrap()]);
    }

    #[test]
    fn candle_is_recognised_not_decoded() {
        let text = r#"{"type":"CANDLE","data":{"o":"1"},"ts":1,"seq":7,"subscription":"candles.last.BTC-USD.PT1M"}"#;
        let Ok(RpcMessage::Data(frame)) = parse(text) else { panic!("data frame") };
        assert_eq!(frame.payload, Payload::Candle { data: r#"{"o":"1"}"#.into() });
        assert_eq!(frame.book_kind(), None);
    }
}
