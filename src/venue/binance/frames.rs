//! Binance text frames → typed values (docs/VENUES.md §3): combined-stream envelopes
//! `{"stream":"<sym>@<stream>","data":{…}}`, the same payloads on raw streams, the bare REST
//! depth snapshot body `{"lastUpdateId":…,"bids":…,"asks":…}` (as the hftbacktest collector
//! writes it into the stream, and as `collect` journals it), subscription replies and error
//! envelopes.
//!
//! Owns the wire layouts of spot, USD-M and COIN-M, which differ only in optional fields
//! (`pu`, `T`, `ps`, `X`, `M`). Must not check update-id chains (that is `seq`) or touch a
//! book.

use crate::model::{BookSide, EventTime, Level, TakerSide, Trade, TradeKind};
use crate::venue::json::{self, Obj, Path};
use crate::venue::ParseError;

/// One Binance frame, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `depthUpdate` of a diff-depth stream (§3.2).
    Depth(DepthUpdate),
    /// One public trade of a `@trade` stream (§3.4).
    Trade(Trade),
    /// Best bid and ask of a `@bookTicker` stream (§3.4).
    BookTicker(BookTicker),
    /// A REST depth snapshot body (§3.2).
    Snapshot(Snapshot),
    /// A reply to a SUBSCRIBE request (`{"result":null,"id":1}`): no data.
    Reply,
    /// `{"error":{"code":…,"msg":…}}` or `{"code":…,"msg":…}`: the venue refused something.
    VenueError { code: i64, message: String },
}

/// A diff-depth event: update ids `U..=u` (futures add `pu`, the previous event's `u`);
/// sizes are absolute, zero removes the level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthUpdate {
    pub symbol: String,
    /// `E`, the event time.
    pub ts_event: EventTime,
    /// `U`
    pub first_id: u64,
    /// `u`
    pub last_id: u64,
    /// `pu` (USD-M and COIN-M only).
    pub prev_last_id: Option<u64>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A REST depth snapshot: the book as of update id `lastUpdateId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub last_update_id: u64,
    /// `E` on USD-M and COIN-M; spot snapshots carry no time.
    pub ts_event: Option<EventTime>,
    /// `symbol` on COIN-M only.
    pub symbol: Option<String>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A `bookTicker` frame: the best level of each side as of book update id `u`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTicker {
    pub symbol: String,
    pub update_id: u64,
    /// `E` on futures; spot bookTicker frames carry no time.
    pub ts_event: Option<EventTime>,
    pub bid: Level,
    pub ask: Level,
}

/// Futures `X` (order type of the taker) → trade kind.
const TRADE_TYPES: &[(&str, TradeKind)] = &[
    ("MARKET", TradeKind::Trade),
    ("LIQUIDATION", TradeKind::Liquidation),
    ("INSURANCE_FUND", TradeKind::Liquidation),
    ("ADL", TradeKind::Deleverage),
];

/// Classifies one frame; see the module header for the layouts accepted.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    if root.get("lastUpdateId").is_some() {
        return snapshot(&root).map(Message::Snapshot);
    }
    if let Some(error) = venue_error(&root)? {
        return Ok(error);
    }
    if root.get("stream").is_none() && root.get("id").is_some() {
        return Ok(Message::Reply);
    }
    let (data, stream) = match root.opt_str("stream")? {
        Some(stream) => (root.obj("data", Path::Key("data"))?, Some(stream)),
        None => (root, None),
    };
    let event = data.opt_str("e")?;
    let kind = stream.and_then(|s| s.split_once('@')).map(|(_, kind)| kind);
    match (event, kind) {
        (Some("depthUpdate"), _) => depth(&data).map(Message::Depth),
        (Some("trade"), _) => trade(&data).map(Message::Trade),
        (Some("bookTicker"), _) => book_ticker(&data).map(Message::BookTicker),
        // Spot bookTicker payloads have no `e`.
        (None, Some("bookTicker")) => book_ticker(&data).map(Message::BookTicker),
        (None, None) if data.get("u").is_some() && data.get("B").is_some() => {
            book_ticker(&data).map(Message::BookTicker)
        }
        (Some(other), _) => Err(ParseError::UnknownValue {
            field: data.field("e"),
            text: other.to_owned(),
            expected: vec!["depthUpdate", "trade", "bookTicker"],
        }),
        (None, _) => Err(ParseError::UnknownFrame { excerpt: json::excerpt(text) }),
    }
}

fn venue_error(root: &Obj<'_>) -> Result<Option<Message>, ParseError> {
    let error = match root.get("error") {
        Some(_) => root.obj("error", Path::Key("error"))?,
        None if root.get("code").is_some() && root.get("msg").is_some() => *root,
        None => return Ok(None),
    };
    let code = error.i64("code")?;
    let message = error.opt_str("msg")?.unwrap_or_default().to_owned();
    Ok(Some(Message::VenueError { code, message }))
}

fn levels(obj: &Obj<'_>, name: &str, side: BookSide) -> Result<Vec<Level>, ParseError> {
    let levels = obj.pairs(name)?;
    if let Some(bad) = levels.iter().find(|l| l.qty.is_negative()) {
        return Err(ParseError::NegativeSize { side, price: bad.price, qty: bad.qty });
    }
    Ok(levels)
}

fn depth(data: &Obj<'_>) -> Result<DepthUpdate, ParseError> {
    let prev_last_id = match data.get("pu") {
        Some(_) => Some(data.u64("pu")?),
        None => None,
    };
    Ok(DepthUpdate {
        symbol: data.str("s")?.to_owned(),
        ts_event: data.millis("E")?,
        first_id: data.u64("U")?,
        last_id: data.u64("u")?,
        prev_last_id,
        bids: levels(data, "b", BookSide::Bid)?,
        asks: levels(data, "a", BookSide::Ask)?,
    })
}

fn snapshot(root: &Obj<'_>) -> Result<Snapshot, ParseError> {
    let ts_event = match root.get("E") {
        Some(_) => Some(root.millis("E")?),
        None => None,
    };
    Ok(Snapshot {
        last_update_id: root.u64("lastUpdateId")?,
        ts_event,
        symbol: root.opt_str("symbol")?.map(str::to_owned),
        bids: levels(root, "bids", BookSide::Bid)?,
        asks: levels(root, "asks", BookSide::Ask)?,
    })
}

fn trade(data: &Obj<'_>) -> Result<Trade, ParseError> {
    let kind = match data.get("X") {
        Some(_) => data.choose("X", TRADE_TYPES)?,
        None => TradeKind::Trade,
    };
    let buyer_is_maker = match data.req("m")? {
        json::Value::Bool(b) => *b,
        other => {
            return Err(ParseError::InvalidField {
                field: data.field("m"),
                expected: "a boolean",
                found: other.to_string(),
            })
        }
    };
    let qty = data.qty("q")?;
    if qty.raw() <= 0 {
        return Err(ParseError::InvalidField {
            field: data.field("q"),
            expected: "a positive size",
            found: qty.to_string(),
        });
    }
    Ok(Trade {
        market: data.str("s")?.to_owned(),
        id: data.id("t")?,
        // `m`: the buyer was the maker, so the taker sold (docs/VENUES.md §3.4).
        side: if buyer_is_maker { TakerSide::Sell } else { TakerSide::Buy },
        kind,
        ts_event: data.millis("T")?,
        price: data.price("p")?,
        qty,
    })
}

fn book_ticker(data: &Obj<'_>) -> Result<BookTicker, ParseError> {
    let ts_event = match data.get("E") {
        Some(_) => Some(data.millis("E")?),
        None => None,
    };
    Ok(BookTicker {
        symbol: data.str("s")?.to_owned(),
        update_id: data.u64("u")?,
        ts_event,
        bid: Level::new(data.price("b")?, data.qty("B")?),
        ask: Level::new(data.price("a")?, data.qty("A")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Price, Qty};

    fn lv(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    // Lines of the real captures (`../realdata/hftbacktest-binance/`), levels shortened.
    const SPOT_DEPTH: &str = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}"#;
    const UM_DEPTH: &str = r#"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5123107832006,"u":5123107837557,"pu":5123107831937,"b":[["58710.20","0.014"]],"a":[]}}"#;
    const SPOT_TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
    const UM_TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#;
    const SPOT_TICKER: &str = r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
    const CM_SNAPSHOT: &str = r#"{"lastUpdateId":1007198635033,"E":1723161257700,"T":1723161257690,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["61804.7","35"]],"asks":[["61804.8","1645"]]}"#;

    #[test]
    fn real_frames_of_each_stream_are_classified() {
        let Message::Depth(d) = parse(SPOT_DEPTH).unwrap() else { panic!("depth") };
        assert_eq!((d.first_id, d.last_id, d.prev_last_id), (50093239189, 50093239202, None));
        assert_eq!(d.bids, vec![lv("61737.63", "0")]);
        assert_eq!(d.ts_event, EventTime::from_millis(1723161255208).unwrap());
        let Message::Depth(d) = parse(UM_DEPTH).unwrap() else { panic!("depth") };
        assert_eq!(d.prev_last_id, Some(5123107831937));
        assert!(d.asks.is_empty());

        let Message::Trade(t) = parse(SPOT_TRADE).unwrap() else { panic!("trade") };
        assert_eq!((t.id, t.side, t.kind), (3735683259, TakerSide::Sell, TradeKind::Trade));
        assert_eq!(t.ts_event, EventTime::from_millis(1723161255342).unwrap());
        let Message::Trade(t) = parse(UM_TRADE).unwrap() else { panic!("trade") };
        assert_eq!((t.side, t.qty), (TakerSide::Buy, Qty::parse("0.006").unwrap()));

        let Message::BookTicker(b) = parse(SPOT_TICKER).unwrap() else { panic!("ticker") };
        assert_eq!((b.update_id, b.ts_event), (50093239212, None));
        assert_eq!(b.ask, lv("61837.64", "1.54698"));

        let Message::Snapshot(s) = parse(CM_SNAPSHOT).unwrap() else { panic!("snapshot") };
        assert_eq!(s.last_update_id, 1007198635033);
        assert_eq!(s.symbol.as_deref(), Some("BTCUSD_PERP"));
        assert_eq!(s.asks, vec![lv("61804.8", "1645")]);
    }

    #[test]
    fn replies_errors_and_bad_frames() {
        assert_eq!(parse(r#"{"result":null,"id":1}"#).unwrap(), Message::Reply);
        assert_eq!(
            parse(r#"{"error":{"code":2,"msg":"Invalid request"},"id":1}"#).unwrap(),
            Message::VenueError { code: 2, message: "Invalid request".into() }
        );
        let cases: &[(&str, &str)] = &[
            (
                r#"{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","-2"]],"a":[]}}"#,
                "negative absolute size",
            ),
            (
                r#"{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1"]],"a":[]}}"#,
                "field `data.b[0]` should be a [price, size] pair of strings",
            ),
            (
                r#"{"stream":"x@aggTrade","data":{"e":"aggTrade"}}"#,
                "field `data.e` = \"aggTrade\" is not one of",
            ),
            (
                r#"{"stream":"x@trade","data":{"e":"trade","s":"X","t":1,"p":"1","q":"0","T":1,"m":true}}"#,
                "positive size",
            ),
            ("123 not json", "invalid JSON"),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err().to_string();
            assert!(got.contains(want), "{text}: {got}");
        }
    }
}
