//! Avellaneda–Stoikov quotes with asymmetric spreads (docs/MODEL.md "Quotes"): the pure math that
//! `spread` prints and `backtest` will trade on, so both quote exactly alike.
//!
//! Statistics (σ, κ, γ, δ, the reservation price) are `f64`; the final bid and ask are exact
//! [`Price`]s on the tick grid. No I/O, no knowledge of tables or flags: settings arrive as a
//! [`QuoteSettings`] (deserializable from `config.json` with docs/MODEL.md's names and defaults).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Price;

/// How γ is chosen (docs/MODEL.md `gamma_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GammaMode {
    /// γ such that the reservation shift at q_max is `inventory_skew` × the mean base
    /// half-spread (1/κ_bid + 1/κ_ask)/2: scale-free, the default.
    #[default]
    InventorySkew,
    /// γ = `risk_aversion_gamma`, 1/price.
    Constant,
    /// γ = `risk_aversion_gamma` · |q| / q_max: 0 when flat, full at the limit.
    InventoryScaled,
    /// γ such that the reservation shift at q_max is `max_shift_ticks` ticks.
    MaxShift,
}

impl GammaMode {
    pub const NAMES: [&'static str; 4] =
        ["inventory_skew", "constant", "inventory_scaled", "max_shift"];

    pub const fn as_str(self) -> &'static str {
        match self {
            GammaMode::InventorySkew => "inventory_skew",
            GammaMode::Constant => "constant",
            GammaMode::InventoryScaled => "inventory_scaled",
            GammaMode::MaxShift => "max_shift",
        }
    }
}

impl fmt::Display for GammaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GammaMode {
    type Err = QuoteError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "inventory_skew" => Ok(GammaMode::InventorySkew),
            "constant" => Ok(GammaMode::Constant),
            "inventory_scaled" => Ok(GammaMode::InventoryScaled),
            "max_shift" => Ok(GammaMode::MaxShift),
            _ => Err(QuoteError::Setting(format!(
                "gamma mode {text:?} is not one of {}",
                GammaMode::NAMES.join(", ")
            ))),
        }
    }
}

/// The quoting settings of docs/MODEL.md, with its defaults. Keys not listed here are ignored, so
/// one `config.json` can hold the recorder's and the backtester's settings too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuoteSettings {
    /// T, seconds (default 1800).
    pub inventory_horizon_seconds: f64,
    /// γ, 1 / price (default 0.1), for [`GammaMode::Constant`] and
    /// [`GammaMode::InventoryScaled`]: an expert setting, since its effect depends on the
    /// market's price scale.
    pub risk_aversion_gamma: f64,
    pub gamma_mode: GammaMode,
    /// For [`GammaMode::InventorySkew`] (default 1): the reservation shift at q_max in mean
    /// base half-spreads; dimensionless.
    pub inventory_skew: f64,
    /// For [`GammaMode::MaxShift`] (default 10).
    pub max_shift_ticks: f64,
    /// q_max in lots (units of `order_size`): docs/MODEL.md's `max_inventory` / `order_size`,
    /// 10 by default since `max_inventory` defaults to 10 × `order_size`.
    pub max_inventory_lots: f64,
    /// Maker fee in basis points of traded value (default 1.5); the spread is at least twice it.
    pub maker_fee_bps: f64,
    /// Spread bounds in basis points of mid (defaults 2 and 200).
    pub min_spread_bps: f64,
    pub max_spread_bps: f64,
    /// Clamps on σ when quoting, price / √second.
    pub min_volatility: f64,
    pub max_volatility: f64,
}

impl Default for QuoteSettings {
    fn default() -> Self {
        Self {
            inventory_horizon_seconds: 1800.0,
            risk_aversion_gamma: 0.1,
            gamma_mode: GammaMode::InventorySkew,
            inventory_skew: 1.0,
            max_shift_ticks: 10.0,
            max_inventory_lots: 10.0,
            maker_fee_bps: 1.5,
            min_spread_bps: 2.0,
            max_spread_bps: 200.0,
            min_volatility: 1e-12,
            max_volatility: 1e12,
        }
    }
}

/// A setting or an input that cannot give a quote.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuoteError {
    #[error("{0}")]
    Setting(String),
    #[error("cannot quote: {0}")]
    Input(String),
}

/// What a quote is computed from: the market now and the calibrated parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteInputs {
    pub best_bid: Price,
    pub best_ask: Price,
    pub tick: Price,
    /// σ as calibrated (unclamped), price / √second.
    pub sigma: f64,
    pub kappa_bid: f64,
    pub kappa_ask: f64,
    /// Signed inventory q in lots.
    pub inventory_lots: f64,
}

/// Every intermediate of a quote, so a report can show the working.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub mid: f64,
    /// σ after the clamps.
    pub sigma: f64,
    pub gamma: f64,
    /// r = mid − γ·σ²·T·q.
    pub reservation: f64,
    pub delta_bid: f64,
    pub delta_ask: f64,
    /// r − δ_bid/2 and r + δ_ask/2, before bounds and rounding.
    pub raw_bid: f64,
    pub raw_ask: f64,
    /// The spread bounds in price: max(min_spread_bps, 2 × maker fee) and max_spread_bps of mid.
    pub min_spread: f64,
    pub max_spread: f64,
    /// Which bound the spread ask₀ − bid₀ was clamped to, if any.
    pub spread_clamped: Option<SpreadBound>,
    /// Final quotes on the tick grid; `None` when inventory is at the limit on that side.
    pub bid: Option<Price>,
    pub ask: Option<Price>,
}

/// The spread bound a quote was held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpreadBound {
    /// Widened to the lower bound (min_spread_bps or twice the maker fee).
    Min,
    /// Narrowed to max_spread_bps.
    Max,
}

/// γ for the chosen mode (docs/MODEL.md "γ modes"); σ is the clamped σ, κ per side, q and q_max
/// in lots.
pub fn gamma(settings: &QuoteSettings, inputs: &QuoteInputs, sigma: f64) -> f64 {
    let q_max = settings.max_inventory_lots;
    let (inventory_lots, tick) = (inputs.inventory_lots, inputs.tick);
    match settings.gamma_mode {
        GammaMode::InventorySkew => {
            let half_spread = (1.0 / inputs.kappa_bid + 1.0 / inputs.kappa_ask) / 2.0;
            settings.inventory_skew * half_spread
                / (sigma * sigma * settings.inventory_horizon_seconds * q_max)
        }
        GammaMode::Constant => settings.risk_aversion_gamma,
        GammaMode::InventoryScaled => {
            settings.risk_aversion_gamma * (inventory_lots.abs() / q_max).min(1.0)
        }
        GammaMode::MaxShift => {
            settings.max_shift_ticks * tick.to_f64()
                / (sigma * sigma * settings.inventory_horizon_seconds * q_max)
        }
    }
}

/// δ = γ·σ²·T + (2/γ)·ln(1 + γ/κ), written as (2/κ)·ln(1 + x)/x with x = γ/κ so that it is
/// accurate for small γ and equals its limit 2/κ at γ = 0.
pub fn optimal_delta(gamma: f64, sigma: f64, horizon_secs: f64, kappa: f64) -> f64 {
    let x = gamma / kappa;
    let log_term = if x == 0.0 { 1.0 } else { x.ln_1p() / x };
    gamma * sigma * sigma * horizon_secs + 2.0 / kappa * log_term
}

impl QuoteSettings {
    /// Checks the ranges the formulas need.
    pub fn validate(&self) -> Result<(), QuoteError> {
        let bad = |what: &str| Err(QuoteError::Setting(what.to_owned()));
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;
        if !finite_pos(self.inventory_horizon_seconds) {
            return bad("inventory_horizon_seconds must be a positive number");
        }
        if !(self.risk_aversion_gamma.is_finite() && self.risk_aversion_gamma >= 0.0) {
            return bad("risk_aversion_gamma must be zero or positive");
        }
        if !finite_pos(self.max_inventory_lots) {
            return bad("max_inventory_lots must be a positive number");
        }
        if !finite_pos(self.max_shift_ticks) {
            return bad("max_shift_ticks must be a positive number");
        }
        if !(self.inventory_skew.is_finite() && self.inventory_skew >= 0.0) {
            return bad("inventory_skew must be zero or positive");
        }
        if !(self.min_spread_bps >= 0.0
            && self.maker_fee_bps >= 0.0
            && self.max_spread_bps.is_finite()
            && self.max_spread_bps >= self.min_spread_bps.max(2.0 * self.maker_fee_bps))
        {
            return bad(
                "spread bounds: need 0 <= min_spread_bps, 2 x maker_fee_bps <= max_spread_bps",
            );
        }
        if !(self.min_volatility > 0.0 && self.max_volatility >= self.min_volatility) {
            return bad("volatility clamps: need 0 < min_volatility <= max_volatility");
        }
        Ok(())
    }
}

/// The quote of docs/MODEL.md: γ by mode, δ per side, reservation price, spread bounds (widened or
/// narrowed about the quote's centre), bid rounded down and ask up to the tick, never crossing
/// the opposite best (post-only), and no bid at +q_max / no ask at −q_max.
pub fn quote(settings: &QuoteSettings, inputs: &QuoteInputs) -> Result<Quote, QuoteError> {
    settings.validate()?;
    let QuoteInputs { best_bid, best_ask, tick, sigma, kappa_bid, kappa_ask, inventory_lots } =
        *inputs;
    if tick.raw() <= 0 {
        return Err(QuoteError::Input(format!("tick {tick} must be positive")));
    }
    if best_bid >= best_ask {
        return Err(QuoteError::Input(format!(
            "the book is crossed or locked: {best_bid} / {best_ask}"
        )));
    }
    for (name, kappa) in [("kappa_bid", kappa_bid), ("kappa_ask", kappa_ask)] {
        if !(kappa.is_finite() && kappa > 0.0) {
            return Err(QuoteError::Input(format!("{name} is {kappa}, not a positive number")));
        }
    }
    if !sigma.is_finite() || !inventory_lots.is_finite() {
        return Err(QuoteError::Input("sigma and inventory must be finite".into()));
    }
    let mid = (best_bid.raw() as f64 + best_ask.raw() as f64) / 2.0 / super::UNIT as f64;
    let sigma = sigma.clamp(settings.min_volatility, settings.max_volatility);
    let horizon = settings.inventory_horizon_seconds;
    let gamma = gamma(settings, inputs, sigma);
    let delta_bid = optimal_delta(gamma, sigma, horizon, kappa_bid);
    let delta_ask = optimal_delta(gamma, sigma, horizon, kappa_ask);
    let reservation = mid - gamma * sigma * sigma * horizon * inventory_lots;
    let (raw_bid, raw_ask) = (reservation - delta_bid / 2.0, reservation + delta_ask / 2.0);

    let min_spread = mid * settings.min_spread_bps.max(2.0 * settings.maker_fee_bps) / 1e4;
    let max_spread = mid * settings.max_spread_bps / 1e4;
    let centre = (raw_bid + raw_ask) / 2.0;
    let raw_spread = raw_ask - raw_bid;
    let spread = raw_spread.clamp(min_spread, max_spread);
    let spread_clamped = if raw_spread < min_spread {
        Some(SpreadBound::Min)
    } else if raw_spread > max_spread {
        Some(SpreadBound::Max)
    } else {
        None
    };
    let (bounded_bid, bounded_ask) = (centre - spread / 2.0, centre + spread / 2.0);

    let bid = round_to_tick(bounded_bid, tick, Rounding::Down)?.min(prev_tick(best_ask, tick));
    let ask = round_to_tick(bounded_ask, tick, Rounding::Up)?.max(next_tick(best_bid, tick));
    let q_max = settings.max_inventory_lots;
    Ok(Quote {
        mid,
        sigma,
        gamma,
        reservation,
        delta_bid,
        delta_ask,
        raw_bid,
        raw_ask,
        min_spread,
        max_spread,
        spread_clamped,
        bid: (inventory_lots < q_max).then_some(bid),
        ask: (inventory_lots > -q_max).then_some(ask),
    })
}

/// Which way [`round_to_tick`] goes: a bid rounds down and an ask up, away from mid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// Rounds a price statistic onto the tick grid. A billionth of a tick of slack keeps an f64
/// that lands a hair off a grid point (2999.99 computed as 2999.9899999) on that point.
pub fn round_to_tick(value: f64, tick: Price, rounding: Rounding) -> Result<Price, QuoteError> {
    let ticks = value / tick.to_f64();
    let ticks = match rounding {
        Rounding::Down => (ticks + 1e-9).floor(),
        Rounding::Up => (ticks - 1e-9).ceil(),
    };
    // Prices are 18-digit decimals: stay well inside i64 raw units.
    let limit = 9e17 / tick.raw() as f64;
    if !ticks.is_finite() || ticks.abs() > limit {
        return Err(QuoteError::Input(format!("quote {value} is out of the price range")));
    }
    Ok(Price::from_raw(ticks as i64 * tick.raw()))
}

/// One tick below `price`.
pub fn prev_tick(price: Price, tick: Price) -> Price {
    Price::from_raw(price.raw() - tick.raw())
}

/// One tick above `price`.
pub fn next_tick(price: Price, tick: Price) -> Price {
    Price::from_raw(price.raw() + tick.raw())
}

/// The tick implied by a set of prices: the greatest common divisor of their raw values.
/// With a few hundred distinct book prices this is the market's tick; `None` without a
/// positive price.
pub fn infer_tick(prices: impl IntoIterator<Item = Price>) -> Option<Price> {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = prices.into_iter().map(|p| p.raw().abs()).filter(|r| *r > 0).fold(0, gcd);
    (g > 0).then_some(Price::from_raw(g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn inputs() -> QuoteInputs {
        QuoteInputs {
            best_bid: p("2999.99"),
            best_ask: p("3000.01"),
            tick: p("0.01"),
            sigma: 0.05,
            kappa_bid: 15.0,
            kappa_ask: 10.0,
            inventory_lots: 2.0,
        }
    }

    #[test]
    fn delta_tends_to_two_over_kappa_as_gamma_vanishes() {
        assert_eq!(optimal_delta(0.0, 0.5, 1800.0, 15.0), 2.0 / 15.0);
        let tiny = optimal_delta(1e-12, 0.5, 1800.0, 15.0);
        assert!((tiny - 2.0 / 15.0).abs() < 1e-9, "{tiny}");
        // Against the closed form at an ordinary γ.
        let g = 0.1;
        let want = g * 0.25 * 1800.0 + 2.0 / g * (1.0f64 + g / 15.0).ln();
        assert!((optimal_delta(g, 0.5, 1800.0, 15.0) - want).abs() < 1e-12);
    }

    #[test]
    fn constant_gamma_follows_the_formulas() {
        let s = QuoteSettings { gamma_mode: GammaMode::Constant, ..Default::default() };
        let q = quote(&s, &QuoteInputs { sigma: 0.5, ..inputs() }).unwrap();
        // mid 3000, σ²T = 0.25·1800 = 450, γσ²T = 45; q = 2 → r = 3000 − 90 = 2910.
        let d_bid = 45.0 + 20.0 * (1.0f64 + 0.1 / 15.0).ln(); // 45.13289…
        let d_ask = 45.0 + 20.0 * (1.0f64 + 0.1 / 10.0).ln(); // 45.19900…
        let r = 2910.0;
        assert!((q.delta_bid - d_bid).abs() < 1e-9);
        assert!((q.delta_ask - d_ask).abs() < 1e-9);
        assert!((q.reservation - r).abs() < 1e-9);
        assert!((q.raw_bid - (r - d_bid / 2.0)).abs() < 1e-9);
        assert!((q.raw_ask - (r + d_ask / 2.0)).abs() < 1e-9);
        // The spread, ~45.17 = 151 bps, is inside [3, 200] bps. The bid 2887.43355… rounds
        // down to 2887.43; the ask 2932.59950… would cross the best bid 2999.99, so post-only
        // puts it one tick above: 3000.
        assert_eq!(q.bid, Some(p("2887.43")));
        assert_eq!(q.ask, Some(p("3000")));
        // Flat: r = 3000, bid 2977.43355… → 2977.43, ask 3022.59950… → 3022.60.
        let flat = quote(&s, &QuoteInputs { sigma: 0.5, inventory_lots: 0.0, ..inputs() }).unwrap();
        assert_eq!((flat.bid, flat.ask), (Some(p("2977.43")), Some(p("3022.6"))));
    }

    #[test]
    fn inventory_scaled_gamma_is_zero_when_flat_and_full_at_the_limit() {
        let s = QuoteSettings { gamma_mode: GammaMode::InventoryScaled, ..Default::default() };
        let flat = quote(&s, &QuoteInputs { inventory_lots: 0.0, ..inputs() }).unwrap();
        assert_eq!(flat.gamma, 0.0);
        assert!((flat.delta_bid - 2.0 / 15.0).abs() < 1e-12);
        assert!((flat.reservation - 3000.0).abs() < 1e-12);
        let half = quote(&s, &QuoteInputs { inventory_lots: -5.0, ..inputs() }).unwrap();
        assert!((half.gamma - 0.05).abs() < 1e-15);
        let full = quote(&s, &QuoteInputs { inventory_lots: 10.0, ..inputs() }).unwrap();
        assert!((full.gamma - 0.1).abs() < 1e-15);
        assert_eq!(full.bid, None, "no new bid at +q_max");
        assert!(full.ask.is_some());
    }

    #[test]
    fn max_shift_gamma_shifts_the_reservation_by_the_given_ticks_at_the_limit() {
        let s = QuoteSettings { gamma_mode: GammaMode::MaxShift, ..Default::default() };
        let q = quote(&s, &QuoteInputs { inventory_lots: 10.0, ..inputs() }).unwrap();
        // γ = 10 · 0.01 / (0.0025 · 1800 · 10) = 0.1 / 45.
        assert!((q.gamma - 0.1 / 45.0).abs() < 1e-15);
        assert!((q.mid - q.reservation - 10.0 * 0.01).abs() < 1e-9);
    }

    #[test]
    fn inventory_skew_gamma_is_scale_free() {
        // κ 15 and 10: mean base half-spread h = (1/15 + 1/10)/2 = 1/12; σ 0.05, T 1800,
        // q_max 10: γ = 1 · (1/12) / (0.0025 · 1800 · 10) = 1/540.
        let s = QuoteSettings::default();
        assert_eq!(s.gamma_mode, GammaMode::InventorySkew);
        let q = quote(&s, &QuoteInputs { inventory_lots: 10.0, ..inputs() }).unwrap();
        assert!((q.gamma - 1.0 / 540.0).abs() < 1e-15, "{}", q.gamma);
        // At q_max the reservation price sits one mean base half-spread below the mid.
        assert!((q.mid - q.reservation - 1.0 / 12.0).abs() < 1e-9);
        // The same market at 20× the price (σ and 1/κ scale with it) gives the same quote in
        // units of the price: γ scales as 1/price, so γ·price is unchanged.
        let scaled = QuoteInputs {
            best_bid: p("59999.8"),
            best_ask: p("60000.2"),
            tick: p("0.2"),
            sigma: 1.0,
            kappa_bid: 0.75,
            kappa_ask: 0.5,
            inventory_lots: 10.0,
        };
        let big = quote(&s, &scaled).unwrap();
        assert!((big.gamma * 20.0 - q.gamma).abs() < 1e-15);
        assert!(((big.mid - big.reservation) / 20.0 - 1.0 / 12.0).abs() < 1e-9);
        assert!((big.delta_bid / 20.0 - q.delta_bid).abs() < 1e-9);
    }

    #[test]
    fn spread_bounds_and_post_only_hold() {
        // γ = 0 and huge κ: a raw spread of ~0 is widened to the fee floor, 3 bps of 3000 = 0.9.
        let constant = QuoteSettings { gamma_mode: GammaMode::Constant, ..Default::default() };
        let s = QuoteSettings { risk_aversion_gamma: 0.0, ..constant.clone() };
        let q = quote(&s, &QuoteInputs { kappa_bid: 1e6, kappa_ask: 1e6, ..inputs() }).unwrap();
        assert!((q.min_spread - 0.9).abs() < 1e-12);
        assert_eq!(q.spread_clamped, Some(SpreadBound::Min));
        assert_eq!(q.bid, Some(p("2999.55")));
        assert_eq!(q.ask, Some(p("3000.45")));
        // γσ²T = 10·0.25·1800 = 4500 is narrowed to 200 bps = 60 about the centre
        // 3000 + (δ_ask − δ_bid)/4 = 3000.00911…: bid 2970.00911… → 2970, ask 3030.00911… → 3030.01.
        let s = QuoteSettings { risk_aversion_gamma: 10.0, ..constant.clone() };
        let q = quote(&s, &QuoteInputs { inventory_lots: 0.0, sigma: 0.5, ..inputs() }).unwrap();
        assert!((q.max_spread - 60.0).abs() < 1e-12);
        assert_eq!(q.spread_clamped, Some(SpreadBound::Max));
        assert_eq!(q.bid, Some(p("2970")));
        assert_eq!(q.ask, Some(p("3030.01")));
        // A deep short pushes r far above the market: the bid stays one tick under the ask.
        let s = constant;
        let q = quote(&s, &QuoteInputs { inventory_lots: -9.0, sigma: 0.5, ..inputs() }).unwrap();
        assert_eq!(q.bid, Some(p("3000")));
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let s = QuoteSettings::default();
        assert!(quote(&s, &QuoteInputs { kappa_bid: 0.0, ..inputs() }).is_err());
        assert!(quote(&s, &QuoteInputs { kappa_ask: f64::NAN, ..inputs() }).is_err());
        assert!(quote(&s, &QuoteInputs { best_ask: p("2999.99"), ..inputs() }).is_err());
        assert!(quote(&s, &QuoteInputs { tick: Price::ZERO, ..inputs() }).is_err());
        let bad = QuoteSettings { max_spread_bps: 1.0, ..Default::default() };
        assert!(quote(&bad, &inputs()).is_err());
        assert!("fast".parse::<GammaMode>().is_err());
    }

    #[test]
    fn the_tick_is_the_gcd_of_prices() {
        assert_eq!(infer_tick([p("3000.01"), p("3000.03"), p("2999.5")]), Some(p("0.01")));
        assert_eq!(infer_tick([p("84000"), p("84002"), p("84005")]), Some(p("1")));
        assert_eq!(infer_tick([]), None);
    }
}
