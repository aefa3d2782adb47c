//! The typed values an Extended frame becomes, and the parsers for the payloads that v1 and
//! v2 share (docs/VENUES.md §2: v2 `data` is the v1 payload, so §1.3 and §1.4 apply unchanged).
//!
//! Owns the book-level rules of docs/VENUES.md §1.3: SNAPSHOT levels take `q` (absolute, `c`
//! ignored), DELTA levels take `c` (new absolute size) and keep the signed `q` for `verify`,
//! `data.d` is `"f"` or `"1"`. Must not know envelopes (`v1`, `v2`) or sequence rules (`seq`).

use rust_decimal::Decimal;

use super::json::{Obj, Path};
use super::ParseError;
use crate::model::{
    BookFrame, BookSide, EventTime, FrameKind, Level, Price, Qty, TakerSide, Trade, TradeKind,
};

/// Which book a stream carries (`data.d`, docs/VENUES.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Depth {
    /// `"f"`: the full book; SNAPSHOT then DELTAs.
    Full,
    /// `"1"`: best bid and ask only; every frame a SNAPSHOT.
    Top,
}

/// An order-book frame: the venue-neutral [`BookFrame`] (levels hold the new absolute size)
/// plus the wire facts only Extended has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookUpdate {
    pub frame: BookFrame,
    pub depth: Depth,
    /// The signed size change `q` of each DELTA bid, parallel to `frame.bids`; empty on a
    /// SNAPSHOT. Kept so `verify` can check `before + q == c` (docs/VENUES.md §1.3 rule 1).
    pub bid_changes: Vec<Qty>,
    /// As `bid_changes`, for `frame.asks`.
    pub ask_changes: Vec<Qty>,
}

/// A DELTA level whose signed change does not lead from the size before to the new size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeMismatch {
    pub side: BookSide,
    pub price: Price,
    pub before: Qty,
    pub change: Qty,
    pub after: Qty,
}

impl BookUpdate {
    /// The signed changes of one side, parallel to `frame.side(side)`.
    pub fn changes(&self, side: BookSide) -> &[Qty] {
        match side {
            BookSide::Bid => &self.bid_changes,
            BookSide::Ask => &self.ask_changes,
        }
    }

    /// Every DELTA level where `before + q != c`, given the size of each level in the book
    /// *before* this frame (zero for an absent level). Empty on a SNAPSHOT. On real frames
    /// the identity holds for every level (`fixtures/extended/README.md`), so a mismatch
    /// means the local book drifted from the venue's.
    pub fn change_mismatches(
        &self,
        before: impl Fn(BookSide, Price) -> Qty,
    ) -> Vec<ChangeMismatch> {
        let mut out = Vec::new();
        for side in [BookSide::Bid, BookSide::Ask] {
            for (level, change) in self.frame.side(side).iter().zip(self.changes(side)) {
                let old = before(side, level.price);
                if old.checked_add(*change) != Some(level.qty) {
                    out.push(ChangeMismatch {
                        side,
                        price: level.price,
                        before: old,
                        change: *change,
                        after: level.qty,
                    });
                }
            }
        }
        out
    }
}

/// A trades frame: one or more public trades (docs/VENUES.md §1.4). The first frame of a v1
/// connection is a replay of the market's last 50 trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradesFrame {
    pub seq: u64,
    /// The frame's `ts`; each trade carries its own trade time `T` as `ts_event`.
    pub ts_event: EventTime,
    pub trades: Vec<Trade>,
}

/// Mark or index price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriceKind {
    Mark,
    Index,
}

/// A mark- or index-price frame (v1 `type` `MP`, v2 `PRICES.MP` / `PRICES.IP`, docs/VENUES.md §1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceFrame {
    pub seq: u64,
    pub ts_event: EventTime,
    pub market: String,
    pub kind: PriceKind,
    /// Exact, with all the venue's places: mark prices carry 12 (`"84058.473541750005"`),
    /// more than [`Price`] holds, so this is a `Decimal` and not a book price.
    pub price: Decimal,
    /// `data.ts`; `None` when the venue sends 0, as it does on mark-price frames (§1.5).
    pub ts_price: Option<EventTime>,
}

/// A funding-rate frame (`data {m, f, T}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingFrame {
    pub seq: u64,
    pub ts_event: EventTime,
    pub market: String,
    /// The rate exactly as sent (`"0.000013"`).
    pub rate: Decimal,
    /// `data.T`: the time the rate applies to.
    pub ts_rate: EventTime,
}

/// The venue's error envelope `{"status":"ERROR","error":{"code","message"}}`, e.g. code
/// 1001 "Market not found" (docs/VENUES.md §1.5). Record it as an event and back off; it is
/// not data and not a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Extended error {code}: {message}")]
pub struct VenueError {
    pub code: i64,
    pub message: String,
}

/// The error envelope, if `root` is one.
pub(super) fn venue_error(root: &Obj<'_>) -> Result<Option<VenueError>, ParseError> {
    if root.opt_str("status")? != Some("ERROR") {
        return Ok(None);
    }
    let error = root.obj("error", Path::Key("error"))?;
    Ok(Some(VenueError { code: error.i64("code")?, message: error.str("message")?.to_owned() }))
}

pub(super) fn frame_kind_wire(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Snapshot => "SNAPSHOT",
        FrameKind::Delta => "DELTA",
    }
}

/// A book payload `data {t, m, b, a, d}` whose envelope said `kind`; `envelope` is the
/// envelope's type text, for the mismatch error.
pub(super) fn book_update(
    data: &Obj<'_>,
    envelope: &str,
    kind: FrameKind,
    seq: u64,
    ts_event: EventTime,
) -> Result<BookUpdate, ParseError> {
    let t = data.str("t")?;
    if t != frame_kind_wire(kind) {
        return Err(ParseError::TypeMismatch { envelope: envelope.to_owned(), data: t.to_owned() });
    }
    let depth = match data.str("d")? {
        "f" => Depth::Full,
        "1" => Depth::Top,
        other => return Err(ParseError::UnknownDepth { text: other.to_owned() }),
    };
    let market = data.str("m")?.to_owned();
    let (bids, bid_changes) = levels(data, "b", "data.b", BookSide::Bid, kind)?;
    let (asks, ask_changes) = levels(data, "a", "data.a", BookSide::Ask, kind)?;
    Ok(BookUpdate {
        frame: BookFrame { market, kind, seq, ts_event, bids, asks },
        depth,
        bid_changes,
        ask_changes,
    })
}

fn levels(
    data: &Obj<'_>,
    key: &str,
    prefix: &'static str,
    side: BookSide,
    kind: FrameKind,
) -> Result<(Vec<Level>, Vec<Qty>), ParseError> {
    let items = data.array(key)?;
    let mut levels = Vec::with_capacity(items.len());
    let mut changes = Vec::with_capacity(if kind == FrameKind::Delta { items.len() } else { 0 });
    for (index, item) in items.iter().enumerate() {
        let level = Obj::of(item, Path::Item(prefix, index))?;
        let price = level.price("p")?;
        let qty = match kind {
            // Snapshot `q` is absolute; a `c` on a snapshot (docs example only) is ignored.
            FrameKind::Snapshot => level.qty("q")?,
            // Delta `q` is the signed change; `c` is the new absolute size and is what we
            // apply (docs/VENUES.md §1.3 rule 1).
            FrameKind::Delta => {
                changes.push(level.qty("q")?);
                level.opt_qty("c")?.ok_or(ParseError::DeltaWithoutNewSize { side, price })?
            }
        };
        if qty.is_negative() {
            return Err(ParseError::NegativeSize { side, price, qty });
        }
        levels.push(Level::new(price, qty));
    }
    Ok((levels, changes))
}

const TAKER_SIDES: &[(&str, TakerSide)] = &[("BUY", TakerSide::Buy), ("SELL", TakerSide::Sell)];
const TRADE_KINDS: &[(&str, TradeKind)] = &[
    ("TRADE", TradeKind::Trade),
    ("LIQUIDATION", TradeKind::Liquidation),
    ("DELEVERAGE", TradeKind::Deleverage),
];

/// A trades payload: the array `data [{i, m, S, tT, T, p, q}]` (docs/VENUES.md §1.4).
pub(super) fn trades_frame(
    root: &Obj<'_>,
    seq: u64,
    ts_event: EventTime,
) -> Result<TradesFrame, ParseError> {
    let items = root.array("data")?;
    let mut trades = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let t = Obj::of(item, Path::Item("data", index))?;
        let qty = t.qty("q")?;
        if qty.is_negative() || qty.is_zero() {
            return Err(ParseError::InvalidField {
                field: t.field("q"),
                expected: "a positive quantity",
                found: format!("{qty}"),
            });
        }
        trades.push(Trade {
            id: t.id("i")?,
            market: t.str("m")?.to_owned(),
            // `S` is the taker's side ([EXT-DOCS] "Trades stream").
            side: t.choose("S", TAKER_SIDES)?,
            kind: t.choose("tT", TRADE_KINDS)?,
            ts_event: t.millis("T")?,
            price: t.price("p")?,
            qty,
        });
    }
    Ok(TradesFrame { seq, ts_event, trades })
}

/// A price payload `data {m, p, ts}`; `data.ts` 0 means "not given" (docs/VENUES.md §1.5).
pub(super) fn price_frame(
    data: &Obj<'_>,
    kind: PriceKind,
    seq: u64,
    ts_event: EventTime,
) -> Result<PriceFrame, ParseError> {
    let ts_price = match data.i64("ts")? {
        0 => None,
        _ => Some(data.millis("ts")?),
    };
    Ok(PriceFrame {
        seq,
        ts_event,
        market: data.str("m")?.to_owned(),
        kind,
        price: data.exact("p")?,
        ts_price,
    })
}

/// A funding payload `data {m, f, T}`.
pub(super) fn funding_frame(
    data: &Obj<'_>,
    seq: u64,
    ts_event: EventTime,
) -> Result<FundingFrame, ParseError> {
    Ok(FundingFrame {
        seq,
        ts_event,
        market: data.str("m")?.to_owned(),
        rate: data.exact("f")?,
        ts_rate: data.millis("T")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::extended::json;

    fn root(text: &str) -> json::Value<'_> {
        json::parse(text).unwrap()
    }

    #[test]
    fn error_envelope_is_recognised_only_by_status_error() {
        let cases = [
            (r#"{"status":"OK","data":[]}"#, Ok(None)),
            (r#"{"type":"DELTA"}"#, Ok(None)),
            (
                r#"{"status":"ERROR","error":{"code":1001,"message":"Market not found"}}"#,
                Ok(Some(VenueError { code: 1001, message: "Market not found".into() })),
            ),
            (r#"{"status":"ERROR"}"#, Err(ParseError::MissingField { field: "error".into() })),
            (
                r#"{"status":"ERROR","error":{"message":"x"}}"#,
                Err(ParseError::MissingField { field: "error.code".into() }),
            ),
        ];
        for (text, want) in cases {
            let value = root(text);
            assert_eq!(venue_error(&Obj::of(&value, Path::Root).unwrap()), want, "{text}");
        }
    }

    #[test]
    fn snapshot_has_no_changes_to_check() {
        let value = root(r#"{"t":"SNAPSHOT","m":"X","d":"f","b":[{"p":"1","q":"2"}],"a":[]}"#);
        let data = Obj::of(&value, Path::Key("data")).unwrap();
        let ts = EventTime::from_millis(1).unwrap();
        let update = book_update(&data, "SNAPSHOT", FrameKind::Snapshot, 1, ts).unwrap();
        assert!(update.bid_changes.is_empty());
        assert!(update.change_mismatches(|_, _| Qty::from_raw(7)).is_empty());
    }

    #[test]
    fn price_data_ts_zero_means_absent_and_nonzero_is_kept() {
        let ts = EventTime::from_millis(5).unwrap();
        let cases = [("0", None), ("1790425443000", EventTime::from_millis(1_790_425_443_000))];
        for (data_ts, want) in cases {
            let text = format!(r#"{{"m":"BTC-USD","p":"84105.013533499994","ts":{data_ts}}}"#);
            let value = root(&text);
            let data = Obj::of(&value, Path::Key("data")).unwrap();
            let frame = price_frame(&data, PriceKind::Index, 3, ts).unwrap();
            assert_eq!(frame.ts_price, want, "{data_ts}");
            assert_eq!(frame.price.to_string(), "84105.013533499994");
        }
    }

    #[test]
    fn zero_or_negative_trade_size_is_refused() {
        let value =
            root(r#"{"data":[{"i":1,"m":"X","S":"BUY","tT":"TRADE","T":1,"p":"1","q":"0"}]}"#);
        let got = trades_frame(&Obj::of(&value, Path::Root).unwrap(), 1, EventTime::from_nanos(0));
        assert_eq!(
            got,
            Err(ParseError::InvalidField {
                field: "data[0].q".into(),
                expected: "a positive quantity",
                found: "0".into(),
            })
        );
    }
}
