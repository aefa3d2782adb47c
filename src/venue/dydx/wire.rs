//! dYdX v4 indexer WebSocket messages read from the venue's text (docs/VENUES.md §15): the
//! greeting (`connected`), the subscription answers that carry the book snapshot or the
//! trades replay (`subscribed`), one update (`channel_data`) or a list of them
//! (`channel_batch_data`) on `v4_orderbook` and `v4_trades`, and `unsubscribed`, `error` and
//! `pong`.
//!
//! Two level shapes on one channel: the snapshot spells levels as objects `{"price","size"}`,
//! updates as `[price, size]` arrays, and an update may leave either side out. Prices and sizes
//! are JSON strings parsed as exact decimals, `message_id` a JSON integer read exactly, trade
//! times RFC 3339 text read to the nanosecond ([`crate::venue::json`]), never `f64`. A trade id
//! is 24 hexadecimal digits, the indexer's 96-bit event id ([`TradeId`]). Refusals name the
//! field (`contents.bids[3].price`, `contents[2].asks[0][1]`, `contents.trades[0].id`). Must
//! not know books, sequences or rows.

use crate::model::{EventTime, Level, Price, Qty, TakerSide, TradeKind};
use crate::venue::json::{self, Obj, Path, Value};
use crate::venue::ParseError;

/// The book channel's name on the wire.
pub const BOOK_CHANNEL: &str = "v4_orderbook";
/// The trades channel's name on the wire.
pub const TRADES_CHANNEL: &str = "v4_trades";

/// One book update, or a snapshot: levels in the venue's order, sizes absolute, `"0"`
/// removing a level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookUpdate {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A trade id as the indexer spells `id`: 24 hexadecimal digits, the 96 bits of the event
/// that made the trade — block height, transaction index + 2, event index, 32 bits each
/// (v4-chain `TendermintEventTable.createEventId`), so ids sort in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TradeId(pub u128);

/// Table ids with this bit set are folds, not exact ids ([`TradeId::table_id`]).
pub const FOLDED: i64 = 1 << 62;

impl TradeId {
    /// The id of 24 hexadecimal digits (either case).
    pub fn parse(text: &str) -> Option<TradeId> {
        if text.len() != 24 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(text, 16).ok().map(TradeId)
    }

    /// Block height, transaction index + 2, event index.
    pub fn parts(self) -> (u64, u64, u64) {
        let part = |shift: u32| ((self.0 >> shift) & 0xffff_ffff) as u64;
        (part(64), part(32), part(0))
    }

    /// Whether [`TradeId::table_id`] holds the id exactly: a height below 2³⁰ (some 37 years of
    /// one-second blocks), a transaction field below 2¹² and an event index below 2²⁰.
    pub fn is_exact(self) -> bool {
        let (height, tx, event) = self.parts();
        height < 1 << 30 && tx < 1 << 12 && event < 1 << 20
    }

    /// The id in the tables' Int64 `trade_id` (docs/VENUES.md §15.4): exactly
    /// `height << 32 | tx << 20 | event` when [`TradeId::is_exact`] — every id so far, and in
    /// chain order — else a 62-bit fold with bit 62 set (`(height << 32 | tx)` rotated left 20,
    /// XOR the event index), stable across runs but not unique in principle, so
    /// deduplication compares the whole id.
    pub fn table_id(self) -> i64 {
        let (height, tx, event) = self.parts();
        if self.is_exact() {
            return ((height << 32) | (tx << 20) | event) as i64;
        }
        let folded = ((height << 32) | tx).rotate_left(20) ^ event;
        (folded & (FOLDED as u64 - 1)) as i64 | FOLDED
    }
}

/// The id as the indexer spells it (lower case).
impl std::fmt::Display for TradeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:024x}", self.0)
    }
}

/// One trade of `contents.trades`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTrade {
    /// `id`.
    pub id: TradeId,
    /// `price`.
    pub price: Price,
    /// `size`, in the base asset.
    pub qty: Qty,
    /// `side`: the taker's (a trade is the taker order's fill).
    pub side: TakerSide,
    /// `type`: LIMIT and TWAP_SUBORDER are trades, LIQUIDATED a liquidation, DELEVERAGED a
    /// deleverage.
    pub kind: TradeKind,
    /// `createdAt`: the block's time, venue clock.
    pub ts_event: EventTime,
    /// `createdAtHeight`, where sent (not used).
    pub height: Option<i64>,
}

/// Any message the indexer sends on a market-data connection. `message_id` counts every
/// message of the connection, one more each, from the greeting's 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `connected`: the greeting.
    Connected { message_id: i64 },
    /// `subscribed` on `v4_orderbook`: the snapshot (levels as `{price, size}` objects).
    BookSnapshot { market: String, message_id: i64, book: BookUpdate },
    /// `channel_data` (one update) or `channel_batch_data` (several, to apply in order) on
    /// `v4_orderbook` (levels as `[price, size]` arrays).
    BookUpdates { market: String, message_id: i64, updates: Vec<BookUpdate>, batched: bool },
    /// `v4_trades`: the recent trades replayed by `subscribed` (`replay`), or new ones.
    Trades { market: String, message_id: i64, trades: Vec<WireTrade>, replay: bool },
    /// A channel mdkit does not record (`v4_markets`): read, not used.
    OtherChannel { channel: String, message_id: i64 },
    /// `unsubscribed`: the venue ended a subscription.
    Unsubscribed { channel: String, message_id: i64 },
    /// `error`: the venue refused a request (its `message_id` repeats the last one sent).
    Error { message: String },
    /// `pong` (older indexers answered `{"type":"ping"}`; mdkit sends none).
    Pong,
}

const TYPES: &[&str] = &[
    "connected",
    "subscribed",
    "channel_data",
    "channel_batch_data",
    "unsubscribed",
    "error",
    "pong",
];
const SIDES: &[(&str, TakerSide)] = &[("BUY", TakerSide::Buy), ("SELL", TakerSide::Sell)];
const KINDS: &[(&str, TradeKind)] = &[
    ("LIMIT", TradeKind::Trade),
    ("TWAP_SUBORDER", TradeKind::Trade),
    ("LIQUIDATED", TradeKind::Liquidation),
    ("DELEVERAGED", TradeKind::Deleverage),
];

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ParseError> {
    let value = json::parse(text)?;
    let root = Obj::of(&value, Path::Root)?;
    let kind = root.str("type")?;
    match kind {
        "error" => {
            let message = root.opt_str("message")?.unwrap_or_default().to_owned();
            return Ok(Message::Error { message });
        }
        "pong" => return Ok(Message::Pong),
        "connected" => return Ok(Message::Connected { message_id: root.i64("message_id")? }),
        _ => {}
    }
    if !TYPES.contains(&kind) {
        return Err(ParseError::UnknownType { text: kind.to_owned(), expected: TYPES });
    }
    let message_id = root.i64("message_id")?;
    let channel = root.str("channel")?;
    if kind == "unsubscribed" {
        return Ok(Message::Unsubscribed { channel: channel.to_owned(), message_id });
    }
    if channel != BOOK_CHANNEL && channel != TRADES_CHANNEL {
        return Ok(Message::OtherChannel { channel: channel.to_owned(), message_id });
    }
    let market = root.str("id")?.to_owned();
    let book = channel == BOOK_CHANNEL;
    match kind {
        "subscribed" => {
            let contents = object(root.req("contents")?, Path::Key("contents"))?;
            if book {
                let book = BookUpdate {
                    bids: within("contents.", objects(&contents, "bids", "bids"))?,
                    asks: within("contents.", objects(&contents, "asks", "asks"))?,
                };
                Ok(Message::BookSnapshot { market, message_id, book })
            } else {
                let trades = within("contents.", trades(&contents))?;
                Ok(Message::Trades { market, message_id, trades, replay: true })
            }
        }
        "channel_data" => {
            let contents = object(root.req("contents")?, Path::Key("contents"))?;
            if book {
                let updates = vec![within("contents.", update(&contents))?];
                Ok(Message::BookUpdates { market, message_id, updates, batched: false })
            } else {
                let trades = within("contents.", trades(&contents))?;
                Ok(Message::Trades { market, message_id, trades, replay: false })
            }
        }
        _ => {
            // channel_batch_data: a list of what channel_data carries, in the venue's order.
            let items = root.array("contents")?;
            let mut updates = Vec::with_capacity(items.len());
            let mut all = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let entry = object(item, Path::Item("contents", index))?;
                let prefix = format!("contents[{index}].");
                if book {
                    updates.push(within(&prefix, update(&entry))?);
                } else {
                    all.extend(within(&prefix, trades(&entry))?);
                }
            }
            if book {
                Ok(Message::BookUpdates { market, message_id, updates, batched: true })
            } else {
                Ok(Message::Trades { market, message_id, trades: all, replay: false })
            }
        }
    }
}

/// `value` as an object whose fields are named from the root (the caller prefixes them with
/// [`within`]); a value that is not an object is refused naming `path`.
fn object<'v>(value: &'v Value<'v>, path: Path) -> Result<Obj<'v>, ParseError> {
    Obj::of(value, path)?;
    Obj::of(value, Path::Root)
}

/// An update's levels: `[price, size]` arrays, either side possibly absent.
fn update(o: &Obj<'_>) -> Result<BookUpdate, ParseError> {
    let side = |name| match o.get(name) {
        None => Ok(Vec::new()),
        Some(_) => o.pairs(name),
    };
    Ok(BookUpdate { bids: side("bids")?, asks: side("asks")? })
}

/// A snapshot side: `{"price","size"}` objects (absent: empty).
fn objects(o: &Obj<'_>, name: &str, path: &'static str) -> Result<Vec<Level>, ParseError> {
    if o.get(name).is_none() {
        return Ok(Vec::new());
    }
    let items = o.array(name)?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let level = Obj::of(item, Path::Item(path, index))?;
        out.push(Level::new(level.price("price")?, level.qty("size")?));
    }
    Ok(out)
}

/// `trades`: the trades of one contents object.
fn trades(o: &Obj<'_>) -> Result<Vec<WireTrade>, ParseError> {
    let items = o.array("trades")?;
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        out.push(trade(&Obj::of(item, Path::Item("trades", index))?)?);
    }
    Ok(out)
}

fn trade(o: &Obj<'_>) -> Result<WireTrade, ParseError> {
    let id_text = o.str("id")?;
    let id = TradeId::parse(id_text).ok_or_else(|| ParseError::InvalidField {
        field: o.field("id"),
        expected: "a trade id of 24 hexadecimal digits",
        found: format!("string {id_text:?}"),
    })?;
    let height = match o.text_or_number("createdAtHeight")? {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| ParseError::InvalidField {
            field: o.field("createdAtHeight"),
            expected: "a block height",
            found: format!("{text:?}"),
        })?),
    };
    Ok(WireTrade {
        id,
        price: o.price("price")?,
        qty: o.qty("size")?,
        side: o.choose("side", SIDES)?,
        kind: o.choose("type", KINDS)?,
        ts_event: time(o, "createdAt")?,
        height,
    })
}

/// An RFC 3339 time (`2024-07-24T19:12:35.705Z`), to the nanosecond.
fn time(o: &Obj<'_>, name: &str) -> Result<EventTime, ParseError> {
    let text = o.str(name)?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .map(EventTime::from_nanos)
        .ok_or_else(|| ParseError::InvalidField {
            field: o.field(name),
            expected: "an RFC 3339 time",
            found: format!("string {text:?}"),
        })
}

/// `result`'s refusal with `prefix` put before the field it names (`bids[0]` read from
/// `contents[2]` is `contents[2].bids[0]`).
fn within<T>(prefix: &str, result: Result<T, ParseError>) -> Result<T, ParseError> {
    result.map_err(|error| {
        let at = |field: String| format!("{prefix}{field}");
        match error {
            ParseError::MissingField { field } => ParseError::MissingField { field: at(field) },
            ParseError::InvalidField { field, expected, found } => {
                ParseError::InvalidField { field: at(field), expected, found }
            }
            ParseError::Decimal { field, text, source } => {
                ParseError::Decimal { field: at(field), text, source }
            }
            ParseError::UnknownValue { field, text, expected } => {
                ParseError::UnknownValue { field: at(field), text, expected }
            }
            ParseError::IdOutOfRange { field, text } => {
                ParseError::IdOutOfRange { field: at(field), text }
            }
            other => other,
        }
    })
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
