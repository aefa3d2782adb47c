//! The market's increments ([`MarketSpec`], which also carries the contract that
//! [`super::contract`] found) for a backtest, from the configuration when it
//! names them, else inferred from the whole recording of the market.
//!
//! - tick: the greatest common divisor of the best bid and ask prices, the rule
//!   `mdkit calibrate` uses (`sql/tick.sql` there).
//! - lot (minimum order size): the greatest common divisor of the raw fixed-point values of
//!   the distinct trade quantities. Every trade is a whole number of lots, so the true lot
//!   divides the gcd; the gcd can only overestimate it when every recorded trade happens to
//!   be a multiple of a larger size, which a few thousand trades make unlikely — and then
//!   quotes are merely coarser. Pass `lot_size` to override.
//!
//! Both read the market's rows over all of its recording, not just the replay range: they are
//! constants of the market, not signals, and more rows make the gcd safer. They read the
//! parts directly, one column each, rather than through DataFusion: on a short recording a
//! query's planning cost more than the whole replay (issue 22).

use arrow::array::{Array, Decimal128Array, RecordBatch, TimestampNanosecondArray};

use crate::estimate::MarketKey;
use crate::model::contract::Contract;
use crate::model::{EventTime, Price, Qty};
use crate::storage::{Listing, StorageError};

use super::event::MarketSpec;
use super::replay::Recording;

/// What can stop the inference.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("reading the market's rows: {0}")]
    Storage(#[from] StorageError),
    #[error("{market}: no book prices to infer the tick from; set tick_size in the config")]
    NoTick { market: String },
    #[error("{market}: no trades to infer the lot (minimum order size) from; set lot_size in the config")]
    NoLot { market: String },
    #[error("{market}: {table} has {detail}")]
    Column { market: String, table: &'static str, detail: String },
}

/// The spec: configured values win; missing ones are inferred from the recording.
pub fn market_spec(
    recording: &Recording,
    key: &MarketKey,
    tick: Option<Price>,
    lot: Option<Qty>,
    contract: Contract,
) -> Result<MarketSpec, SpecError> {
    let tick = match tick {
        Some(tick) => tick,
        None => infer_tick(&recording.book_top, key)?,
    };
    let lot = match lot {
        Some(lot) => lot,
        None => infer_lot(&recording.trades, key)?,
    };
    Ok(MarketSpec { tick, lot, contract })
}

/// The gcd of the best bid and ask prices over the market's recording (what `sql/tick.sql`
/// and [`crate::model::quote::infer_tick`] give `mdkit calibrate`, over every price rather
/// than its first 5,000 distinct ones).
/// `book_top` is the market's whole listing.
pub fn infer_tick(book_top: &Listing, key: &MarketKey) -> Result<Price, SpecError> {
    gcd_of(book_top, key, &["bid_price_0", "ask_price_0"])?
        .map(Price::from_raw)
        .ok_or_else(|| SpecError::NoTick { market: key.market.clone() })
}

/// The gcd of the market's trade quantities; `trades` is the market's whole listing.
pub fn infer_lot(trades: &Listing, key: &MarketKey) -> Result<Qty, SpecError> {
    gcd_of(trades, key, &["qty"])?
        .map(Qty::from_raw)
        .ok_or_else(|| SpecError::NoLot { market: key.market.clone() })
}

/// The gcd of the positive raw values of decimal `columns` over a listing's rows; `None`
/// when there are none. Each column is read once, and a value equal to the one before it
/// (most of them: best prices and sizes repeat) is skipped.
fn gcd_of(listing: &Listing, key: &MarketKey, columns: &[&str]) -> Result<Option<i64>, SpecError> {
    let mut g: Option<i64> = None;
    let bad = |detail: String| SpecError::Column {
        market: key.market.clone(),
        table: listing.table.name(),
        detail,
    };
    for batch in listing.scan_columns(|c| columns.contains(&c)) {
        let batch: RecordBatch = batch?;
        for name in columns {
            let values = batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Decimal128Array>())
                .ok_or_else(|| bad(format!("no decimal column {name}")))?;
            let mut last = None;
            for raw in values.iter().flatten() {
                if last == Some(raw) {
                    continue;
                }
                last = Some(raw);
                let v =
                    i64::try_from(raw).map_err(|_| bad(format!("{name} {raw} out of range")))?;
                if v > 0 {
                    g = Some(g.map_or(v, |a| gcd(a, v)));
                }
            }
        }
    }
    Ok(g)
}

/// The smallest and largest `ts_event` of a listing's book frames (`None` without frames):
/// the event clock's default range, and the clock hint's venue-time span. From the parts'
/// statistics; a part without them is read.
pub fn event_span(listing: &Listing) -> Result<Option<(EventTime, EventTime)>, SpecError> {
    let mut span: Option<(i64, i64)> = None;
    let mut widen = |lo: i64, hi: i64| {
        span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
    };
    for part in &listing.parts {
        if part.rows == 0 {
            continue;
        }
        if let Some((lo, hi)) = part.column_span("ts_event") {
            widen(lo, hi);
            continue;
        }
        let one = Listing { parts: vec![part.clone()], bad: Vec::new(), ..listing.clone() };
        for batch in one.scan_columns(|c| c == "ts_event") {
            let batch = batch?;
            let ts = batch
                .column_by_name("ts_event")
                .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
                .ok_or_else(|| StorageError::Schema {
                    table: listing.table,
                    detail: "ts_event missing".into(),
                })?;
            for t in ts.iter().flatten() {
                widen(t, t);
            }
        }
    }
    Ok(span.map(|(lo, hi)| (EventTime::from_nanos(lo), EventTime::from_nanos(hi))))
}

/// The gcd of positive values; `None` when there are none.
pub fn gcd_all(values: impl IntoIterator<Item = i64>) -> Option<i64> {
    values.into_iter().filter(|v| *v > 0).fold(None, |acc, v| Some(acc.map_or(v, |a| gcd(a, v))))
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lot_is_the_gcd_of_the_quantities() {
        // 0.003, 0.005 and 0.012 (raw, 8 decimals) share 0.001.
        assert_eq!(gcd_all([300_000, 500_000, 1_200_000]), Some(100_000));
        assert_eq!(gcd_all([2_000_000, 4_000_000]), Some(2_000_000));
        assert_eq!(gcd_all([0, -5]), None, "no positive quantity: nothing to infer");
        assert_eq!(gcd_all([]), None);
    }
}
