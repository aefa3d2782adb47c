//! The depth grid δₖ = start + k·step (k < levels) that λ(δ) is counted on, and its default:
//! chosen per window from how deep that window's aggressive orders reached (`sql/reach.sql`,
//! docs/MODEL.md "The depth grid").
//!
//! A one-tick grid suits a market whose trades walk a few ticks; on BTCUSDT (tick 0.01 USD,
//! price 60,000 USD) most orders reach tens of ticks, 70 % fall on the first point of a
//! 20-tick grid and the fit is poor (R² 0.21). So the grid is stretched until its last point
//! is still reached by [`tail_orders`] orders on each side: every point then has that many
//! orders, and the points spread over the distances that orders actually reach.

use datafusion::common::ScalarValue;

use super::{run_query, CalibrateError, Orders, QueryTable, Settings};
use crate::model::{GridSource, Price};

/// `sql/reach.sql`.
pub const REACH_SQL: &str = include_str!("../../sql/reach.sql");

/// The last grid point must be reached by at least this share of a side's orders …
pub const TAIL_SHARE: f64 = 0.02;

/// … and by at least this many orders: four times the orders a point needs to enter the fit.
pub fn tail_orders(min_count: i64) -> i64 {
    min_count.saturating_mul(4)
}

/// A resolved grid: δₖ = start + k·step, k < levels, in price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthGrid {
    pub start: Price,
    pub step: Price,
    pub levels: u32,
}

impl DepthGrid {
    /// The one-tick grid: step = tick, start = step / 2, 20 levels.
    pub fn for_tick(tick: Price) -> Self {
        Self { start: Price::from_raw(tick.raw() / 2), step: tick, levels: DEFAULT_LEVELS }
    }

    /// The last grid depth, start + (levels − 1)·step.
    pub fn last(&self) -> Price {
        Price::from_raw(self.start.raw() + i64::from(self.levels - 1) * self.step.raw())
    }
}

impl std::fmt::Display for DepthGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "δ = {} + k·{}, k < {} (up to {})",
            self.start,
            self.step,
            self.levels,
            self.last()
        )
    }
}

/// Grid points per side unless set.
pub const DEFAULT_LEVELS: u32 = 20;

/// How the grid of a window is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridSpec {
    /// This grid, whatever the data.
    Set(DepthGrid),
    /// From the window's orders ([`choose`]): the step a multiple of `tick`; the start
    /// `start`, or half the step.
    FromData { tick: Price, levels: u32, start: Option<Price> },
}

impl From<DepthGrid> for GridSpec {
    fn from(grid: DepthGrid) -> Self {
        GridSpec::Set(grid)
    }
}

impl GridSpec {
    pub fn levels(&self) -> u32 {
        match self {
            GridSpec::Set(g) => g.levels,
            GridSpec::FromData { levels, .. } => *levels,
        }
    }

    pub(super) fn validate(&self) -> Result<(), CalibrateError> {
        let bad = |m: &str| Err(CalibrateError::Setting(m.to_owned()));
        let (step, start) = match self {
            GridSpec::Set(g) => (g.step, Some(g.start)),
            GridSpec::FromData { tick, start, .. } => (*tick, *start),
        };
        if step.raw() <= 0 || start.is_some_and(|s| s.is_negative()) {
            return bad("the depth step must be above zero and the depth start not negative");
        }
        if self.levels() == 0 {
            return bad("at least one depth level is needed");
        }
        Ok(())
    }
}

/// The grid of a window: the set one, or the one [`choose`] picks from the window's orders.
pub async fn resolve(
    orders: &Orders,
    settings: &Settings,
) -> Result<(DepthGrid, GridSource), CalibrateError> {
    let (tick, levels, start) = match settings.grid {
        GridSpec::Set(grid) => return Ok((grid, GridSource::Set)),
        GridSpec::FromData { tick, levels, start } => (tick, levels, start),
    };
    let params = vec![
        ("tail_orders", ScalarValue::from(tail_orders(settings.min_count))),
        ("tail_share", ScalarValue::from(TAIL_SHARE)),
    ];
    let batches = run_query(&orders.ctx, "reach.sql", REACH_SQL, params).await?;
    let rows = QueryTable::new("reach.sql", &batches)?;
    let mut reaches = Vec::new();
    for i in 0..rows.len() {
        // A side with too few orders has a null reach and no say in the grid.
        if let Some(twice) = rows.opt_price("twice_reach", i)? {
            reaches.push(twice);
        }
    }
    Ok(choose(tick, levels, start, reaches.into_iter().min()))
}

/// The grid whose last point sits at or inside `twice_reach / 2` (the shorter side's reach),
/// with a step of `tick` × 1, 2 or 5 × 10ⁿ (a round number, so that nearby windows share a
/// grid) and at least one tick. Without a reach (too few orders on both sides) the one-tick
/// grid, marked [`GridSource::Tick`].
pub fn choose(
    tick: Price,
    levels: u32,
    start: Option<Price>,
    twice_reach: Option<Price>,
) -> (DepthGrid, GridSource) {
    let Some(twice_reach) = twice_reach else {
        let step = tick;
        let start = start.unwrap_or(Price::from_raw(step.raw() / 2));
        return (DepthGrid { start, step, levels }, GridSource::Tick);
    };
    let twice = i128::from(twice_reach.raw().max(0));
    let k = i128::from(levels.max(1));
    // Last point start + (K − 1)·step ≤ reach: with start = step/2, step ≤ 2·reach / (2K − 1).
    let target = match start {
        None => twice / (2 * k - 1),
        Some(s) if k > 1 => (twice / 2 - i128::from(s.raw())).max(0) / (k - 1),
        Some(_) => twice / 2,
    };
    let ticks = nice_floor(target / i128::from(tick.raw()).max(1));
    let step = Price::from_raw(i64::try_from(i128::from(tick.raw()) * ticks).unwrap_or(i64::MAX));
    let start = start.unwrap_or(Price::from_raw(step.raw() / 2));
    (DepthGrid { start, step, levels }, GridSource::Data)
}

/// The largest of 1, 2, 5, 10, 20, 50, … that is at most `n`, and 1 for `n` below 1.
fn nice_floor(n: i128) -> i128 {
    let mut best = 1;
    let mut decade = 1i128;
    while decade <= n {
        for m in [1, 2, 5] {
            if m * decade <= n {
                best = m * decade;
            }
        }
        decade = decade.saturating_mul(10);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    #[test]
    fn round_steps() {
        let got: Vec<i128> = [0, 1, 2, 3, 4, 5, 9, 10, 19, 20, 49, 50, 99, 100, 7_000]
            .into_iter()
            .map(nice_floor)
            .collect();
        assert_eq!(got, vec![1, 1, 2, 2, 2, 5, 5, 10, 10, 20, 20, 50, 50, 100, 5_000]);
    }

    #[test]
    fn the_last_point_stays_inside_the_reach() {
        // Reach 2.3 (2δ = 4.6), tick 0.01, 20 levels: 4.6 / 39 = 0.1179… → 0.1 (10 ticks).
        let (grid, source) = choose(p("0.01"), 20, None, Some(p("4.6")));
        assert_eq!(source, GridSource::Data);
        assert_eq!(grid, DepthGrid { start: p("0.05"), step: p("0.1"), levels: 20 });
        assert!(grid.last() <= p("2.3"), "{grid}");
        // A start that is set stays; the step fills the rest: (2.3 − 0.5) / 19 = 0.0947 → 0.05.
        let (grid, _) = choose(p("0.01"), 20, Some(p("0.5")), Some(p("4.6")));
        assert_eq!(grid, DepthGrid { start: p("0.5"), step: p("0.05"), levels: 20 });
        // Steps are whole ticks: tick 0.25, target 1.2 ticks → 1 tick.
        let (grid, _) = choose(p("0.25"), 3, None, Some(p("1.5")));
        assert_eq!(grid.step, p("0.25"));
    }

    #[test]
    fn too_few_orders_fall_back_to_the_tick() {
        let (grid, source) = choose(p("0.1"), 20, None, None);
        assert_eq!(source, GridSource::Tick);
        assert_eq!(grid, DepthGrid::for_tick(p("0.1")));
        // A reach shorter than one tick per level still steps by one tick.
        let (grid, source) = choose(p("0.1"), 20, None, Some(p("0.2")));
        assert_eq!((grid.step, source), (p("0.1"), GridSource::Data));
    }
}
