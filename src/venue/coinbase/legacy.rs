//! Legacy Coinbase Exchange feed messages (`wss://ws-feed.exchange.coinbase.com`, formerly
//! `ws-feed.pro.coinbase.com`; docs/VENUES.md §16.6) read from the venue's text, for importing
//! old captures: the `level2` channel's `snapshot` (`bids` / `asks` of `[price, size]`) and
//! `l2update` (`changes` of `[side, price, size]`, `time`), the `matches` channel's `match`
//! and `last_match`, and the error message. Other types (`ticker`, `heartbeat`,
//! `subscriptions`, the `full` channel's) are read as [`Legacy::Other`].
//!
//! Sizes are absolute and a zero removes the level; the venue writes zero with the product's
//! precision (`"0.00"`, `"0.00000000"`, never `"0"` in the fixture), so sizes are compared as
//! numbers, which [`Qty`] is. A match's `side` is the **maker's** (Coinbase Exchange
//! documentation, "match": "The side field indicates the maker order side"); [`LegacyTrade`]
//! holds the taker's, the opposite. `trade_id` is a JSON integer read exactly. Must not know
//! books or rows.

use crate::model::{BookSide, EventTime, Level, Price, Qty, TakerSide};
use crate::venue::check::{self, Expect};
use crate::venue::json::{self, Obj, Path, Value};
use crate::venue::ParseError;

/// One match, as the tables keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTrade {
    /// `trade_id`, contiguous per product.
    pub id: i64,
    pub product_id: String,
    pub price: Price,
    pub qty: Qty,
    /// The taker's side: the opposite of the maker's `side` sent.
    pub side: TakerSide,
    /// `time`, venue clock.
    pub ts_event: EventTime,
}

/// A legacy feed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Legacy {
    /// `snapshot`: the whole book; it carries no time.
    Snapshot { product_id: String, bids: Vec<Level>, asks: Vec<Level> },
    /// `l2update`: levels set to new absolute sizes (`buy` → bid, `sell` → ask), in order.
    Update { product_id: String, bids: Vec<Level>, asks: Vec<Level>, ts_event: EventTime },
    /// `match`, or `last_match` (the product's last trade, sent once after subscribing).
    Match { last: bool, trade: LegacyTrade },
    /// A type the tables have no use for (`ticker`, `heartbeat`, `subscriptions`, …).
    Other { kind: String },
    /// `{"type":"error","message":…}`.
    Error { message: String },
}

const CHANGE_SIDES: &[(&str, BookSide)] = &[("buy", BookSide::Bid), ("sell", BookSide::Ask)];
/// `side` is the maker's: a `buy` maker was hit by a selling taker.
const MAKER_SIDES: &[(&str, TakerSide)] = &[("buy", TakerSide::Sell), ("sell", TakerSide::Buy)];

/// The `product_id` a message names, if it is readable JSON and names one (how `import`
/// sorts a capture's messages by product before the rules read them).
pub fn product_of(text: &str) -> Option<String> {
    let value = json::parse(text).ok()?;
    let root = Obj::of(&value, Path::Root).ok()?;
    root.opt_str("product_id").ok().flatten().map(str::to_owned)
}

/// Reads one text message.
pub fn parse(text: &str) -> Result<Legacy, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    match root.str("type")? {
        "snapshot" => Ok(Legacy::Snapshot {
            product_id: root.str("product_id")?.to_owned(),
            bids: root.pairs("bids")?,
            asks: root.pairs("asks")?,
        }),
        "l2update" => {
            let (bids, asks) = changes(&root)?;
            Ok(Legacy::Update {
                product_id: root.str("product_id")?.to_owned(),
                bids,
                asks,
                ts_event: root.rfc3339("time")?,
            })
        }
        kind @ ("match" | "last_match") => Ok(Legacy::Match {
            last: kind == "last_match",
            trade: LegacyTrade {
                id: root.id("trade_id")?,
                product_id: root.str("product_id")?.to_owned(),
                price: root.price("price")?,
                qty: root.qty("size")?,
                side: root.choose("side", MAKER_SIDES)?,
                ts_event: root.rfc3339("time")?,
            },
        }),
        "error" => {
            let message = root.opt_str("message")?.unwrap_or_default();
            let reason = root.opt_str("reason")?.map(|r| format!(": {r}")).unwrap_or_default();
            Ok(Legacy::Error { message: format!("{message}{reason}") })
        }
        other => Ok(Legacy::Other { kind: other.to_owned() }),
    }
}

/// `changes`: `[side, price, size]` strings, split by side in their order.
fn changes(root: &Obj<'_>) -> Result<(Vec<Level>, Vec<Level>), ParseError> {
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    for (index, item) in root.array("changes")?.iter().enumerate() {
        let place = format!("changes[{index}]");
        let Some([Value::String(side), Value::String(px), Value::String(qty)]) = item.as_array()
        else {
            return Err(ParseError::InvalidField {
                field: place,
                expected: "a [side, price, size] triple of strings",
                found: format!("{item}"),
            });
        };
        let decimal = |at: usize, text: &str, source| ParseError::Decimal {
            field: format!("{place}[{at}]"),
            text: text.to_owned(),
            source,
        };
        let (side, px, qty): (&str, &str, &str) = (side, px, qty);
        let level = Level::new(
            Price::parse(px).map_err(|e| decimal(1, px, e))?,
            Qty::parse(qty).map_err(|e| decimal(2, qty, e))?,
        );
        match CHANGE_SIDES.iter().find(|(name, _)| *name == side) {
            Some((_, BookSide::Bid)) => bids.push(level),
            Some((_, BookSide::Ask)) => asks.push(level),
            None => {
                return Err(ParseError::UnknownValue {
                    field: format!("{place}[0]"),
                    text: side.to_string(),
                    expected: CHANGE_SIDES.iter().map(|(name, _)| *name).collect(),
                })
            }
        }
    }
    Ok((bids, asks))
}

/// Every value a legacy message puts in the tables (docs/VENUES.md §10, §16.6): its product
/// the one imported, its time plausible, prices above zero, book sizes not below zero,
/// traded sizes above zero.
pub fn check(message: &Legacy, want: &Expect<'_>) -> Result<(), ParseError> {
    let book = |product: &str, bids: &[Level], asks: &[Level]| {
        want.market("product_id", product)?;
        check::levels(BookSide::Bid, bids, |i| format!("bid {i} price"))?;
        check::levels(BookSide::Ask, asks, |i| format!("ask {i} price"))
    };
    match message {
        Legacy::Snapshot { product_id, bids, asks } => book(product_id, bids, asks),
        Legacy::Update { product_id, bids, asks, ts_event } => {
            want.time("time", *ts_event)?;
            book(product_id, bids, asks)
        }
        Legacy::Match { trade, .. } => {
            want.market("product_id", &trade.product_id)?;
            want.time("time", trade.ts_event)?;
            check::price("price", trade.price)?;
            check::trade_size("size", trade.qty)
        }
        Legacy::Other { .. } | Legacy::Error { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;

    // Lines of the fixture `COINBASE.ws.28.0` (cryptofeed's sample data), frames as received.
    const LAST_MATCH: &str = r#"{"type":"last_match","trade_id":881613,"maker_order_id":"27fff20b-af29-4f45-8744-56dd1ef57dc0","taker_order_id":"1da6ce16-c8da-4732-9f71-6049f4c6aaf8","side":"sell","size":"0.04","price":"14.7775","product_id":"BAND-GBP","sequence":333938798,"time":"2021-04-17T16:43:30.244075Z"}"#;
    const UPDATE: &str = r#"{"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"]],"time":"2021-04-17T16:43:37.075687Z"}"#;
    const RECV: RecvTime = RecvTime::from_nanos(1_618_677_817_118_783_000);

    #[test]
    fn fixture_messages_read_exactly_with_the_taker_side() {
        let Ok(Legacy::Match { last: true, trade }) = parse(LAST_MATCH) else { panic!() };
        // The maker sold: the taker bought.
        assert_eq!((trade.id, trade.side), (881_613, TakerSide::Buy));
        assert_eq!(trade.price, Price::parse("14.7775").unwrap());
        assert_eq!(trade.ts_event.as_nanos(), 1_618_677_810_244_075_000);
        let Ok(Legacy::Update { product_id, bids, asks, .. }) = parse(UPDATE) else { panic!() };
        assert_eq!((product_id.as_str(), bids.len()), ("SKL-BTC", 0));
        assert_eq!(
            asks[0],
            Level::new(Price::parse("0.00001306").unwrap(), Qty::parse("660.5").unwrap())
        );
        let zero = UPDATE.replace("660.5", "0.00000000");
        let Ok(Legacy::Update { asks, .. }) = parse(&zero) else { panic!() };
        assert_eq!(asks[0].qty, Qty::ZERO);
        let snapshot =
            r#"{"type":"snapshot","product_id":"X-Y","asks":[["2","1.0"]],"bids":[["1","0.5"]]}"#;
        let Ok(Legacy::Snapshot { bids, asks, .. }) = parse(snapshot) else { panic!() };
        assert_eq!((bids.len(), asks.len()), (1, 1));
        assert_eq!(product_of(UPDATE).as_deref(), Some("SKL-BTC"));
        assert_eq!(product_of(r#"{"type":"subscriptions","channels":[]}"#), None);
        assert_eq!(
            parse(r#"{"type":"ticker","product_id":"X-Y"}"#),
            Ok(Legacy::Other { kind: "ticker".into() })
        );
        let want = Expect { market: "SKL-BTC", ts_recv: RECV };
        assert_eq!(check(&parse(UPDATE).unwrap(), &want), Ok(()));
    }

    #[test]
    fn bad_messages_are_refused_naming_the_field() {
        let want = Expect { market: "SKL-BTC", ts_recv: RECV };
        let cases = [
            (
                UPDATE.replace(r#"["sell","#, r#"["ask","#),
                "field `changes[0][0]` = \"ask\" is not one of: buy, sell",
            ),
            (
                UPDATE.replace(r#""660.5""#, "660.5"),
                "field `changes[0]` should be a [side, price, size] triple of strings",
            ),
            (
                UPDATE.replace("660.5", "6,5"),
                "field `changes[0][2]` = \"6,5\" is not an exact decimal",
            ),
            (UPDATE.replace("660.5", "-1"), "ask level 0.00001306 has negative absolute size -1"),
            (
                UPDATE.replace("SKL-BTC", "SKL-USD"),
                "field `product_id` = \"SKL-USD\" names another market",
            ),
            (
                LAST_MATCH.replace(r#""side":"sell""#, r#""side":"up""#),
                "field `side` = \"up\" is not one of: buy, sell",
            ),
            (
                LAST_MATCH.replace("881613", "\"881613\""),
                "field `trade_id` should be an integer id",
            ),
        ];
        for (text, want_err) in cases {
            let err = match parse(&text) {
                Ok(message) => check(&message, &want).unwrap_err().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(err.starts_with(want_err) || err.contains(want_err), "{text}\n{err}");
        }
    }
}
