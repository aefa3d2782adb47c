//! The market's increments ([`MarketSpec`], which also carries the contract that
//! [`super::contract`] found) for a backtest, from the configuration when it
//! names them, else inferred from the whole recording of the market.
//!
//! - tick: [`crate::estimate::infer_market_tick`] (`sql/tick.sql`: the greatest common
//!   divisor of the distinct best bid and ask prices), the rule `mdkit calibrate` uses.
//! - lot (minimum order size): the greatest common divisor of the raw fixed-point values of
//!   the distinct trade quantities. Every trade is a whole number of lots, so the true lot
//!   divides the gcd; the gcd can only overestimate it when every recorded trade happens to
//!   be a multiple of a larger size, which a few thousand trades make unlikely — and then
//!   quotes are merely coarser. Pass `lot_size` to override.
//!
//! Both read the market's rows over all of its recording, not just the replay range: they are
//! constants of the market, not signals, and more rows make the gcd safer.

use arrow::array::{Array, Decimal128Array, TimestampNanosecondArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;

use crate::estimate::{infer_market_tick, run_query, CalibrateError, MarketKey, Window};
use crate::model::contract::Contract;
use crate::model::{EventTime, Price, Qty, SCALE};

use super::event::MarketSpec;

/// What can stop the inference.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Query(#[from] CalibrateError),
    #[error("{market}: no book prices to infer the tick from; set tick_size in the config")]
    NoTick { market: String },
    #[error("{market}: no trades to infer the lot (minimum order size) from; set lot_size in the config")]
    NoLot { market: String },
    #[error("{market}: a query returned {detail}")]
    Result { market: String, detail: String },
}

/// Every venue-clock time.
const ALL: Window =
    Window { start: EventTime::from_nanos(i64::MIN), end: EventTime::from_nanos(i64::MAX) };

/// The spec: configured values win; missing ones are inferred from the recording.
pub async fn market_spec(
    ctx: &SessionContext,
    key: &MarketKey,
    tick: Option<Price>,
    lot: Option<Qty>,
    contract: Contract,
) -> Result<MarketSpec, SpecError> {
    let tick = match tick {
        Some(tick) => tick,
        None => infer_market_tick(ctx, key, ALL)
            .await?
            .ok_or_else(|| SpecError::NoTick { market: key.market.clone() })?,
    };
    let lot = match lot {
        Some(lot) => lot,
        None => infer_lot(ctx, key).await?,
    };
    Ok(MarketSpec { tick, lot, contract })
}

/// The gcd of the market's distinct trade quantities.
pub async fn infer_lot(ctx: &SessionContext, key: &MarketKey) -> Result<Qty, SpecError> {
    let batches = run_query(
        ctx,
        "lot",
        "SELECT DISTINCT qty FROM trades WHERE venue = $venue AND market = $market AND qty > 0",
        vec![
            ("venue", ScalarValue::from(key.venue.as_str())),
            ("market", ScalarValue::from(key.market.as_str())),
        ],
    )
    .await?;
    let bad = |detail: String| SpecError::Result { market: key.market.clone(), detail };
    let mut raws = Vec::new();
    for batch in &batches {
        let column = cast(batch.column(0), &DataType::Decimal128(18, SCALE as i8))
            .map_err(|e| bad(e.to_string()))?;
        let values = column
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or_else(|| bad("no decimal column".into()))?;
        for i in 0..values.len() {
            if values.is_valid(i) {
                raws.push(i64::try_from(values.value(i)).map_err(|_| bad("a huge qty".into()))?);
            }
        }
    }
    gcd_all(raws).map(Qty::from_raw).ok_or_else(|| SpecError::NoLot { market: key.market.clone() })
}

/// The smallest and largest `ts_event` of the market's book frames (`None` without frames):
/// the event clock's default range, and the clock hint's venue-time span.
pub async fn event_span(
    ctx: &SessionContext,
    key: &MarketKey,
) -> Result<Option<(EventTime, EventTime)>, SpecError> {
    let batches = run_query(
        ctx,
        "event span",
        "SELECT min(ts_event), max(ts_event) FROM book_top WHERE venue = $venue AND market = $market",
        vec![
            ("venue", ScalarValue::from(key.venue.as_str())),
            ("market", ScalarValue::from(key.market.as_str())),
        ],
    )
    .await?;
    let bad =
        |detail: &str| SpecError::Result { market: key.market.clone(), detail: detail.into() };
    let Some(batch) = batches.first() else { return Ok(None) };
    let get = |i: usize| -> Result<Option<EventTime>, SpecError> {
        let column = batch
            .column(i)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .ok_or_else(|| bad("no timestamps for the ts_event span"))?;
        Ok((column.len() == 1 && column.is_valid(0))
            .then(|| EventTime::from_nanos(column.value(0))))
    };
    Ok(get(0)?.zip(get(1)?))
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
