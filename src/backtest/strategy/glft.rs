//! The Guéant–Lehalle–Fernandez-Tapia (GLFT) market maker of docs/MODEL.md "GLFT quotes": the
//! closed-form asymptotic quotes of an inventory-constrained market maker with no terminal
//! time, beside the Avellaneda–Stoikov strategy ([`super::avellaneda`]).
//!
//! On every book frame it reads σ and, per side, A and κ from the fit in force, computes each
//! side's depth from mid with [`depths`] (Guéant 2017, "Optimal market making", eqs. 4.6 and
//! 4.7, with the order size Δ as the unit of inventory), rounds the bid down and the ask up to
//! the tick, keeps both off the opposite best (post-only), and keeps one order per side
//! ([`super::requote`]).
//!
//! No quote: during warm-up, before a fit with σ and both sides' A and κ, with a one-sided
//! book, on a side whose last fill was reported less than `fill_cooldown_seconds` ago, and on
//! a side where one more fill of `order_size` would take |position| beyond `max_inventory`
//! (the model's inventory limit: no bid when q + Δ > Q, no ask when q − Δ < −Q). A partial
//! fill cancels the rest of the order, as for AS.
//!
//! Its settings ([`GlftSettings`]): `glft_gamma` (γ) and `glft_xi` (ξ, `gamma` by default).

use crate::backtest::settings::{number, Base, Config, SettingsError};
use crate::backtest::strategy::{
    requote, side_index, Orders, Registered, Report, ReportKind, Strategy, View,
};
use crate::model::quote::{next_tick, prev_tick, round_to_tick, Rounding};
use crate::model::{BookSide, Price, Qty};
use crate::storage::BookTopRow;

/// Below this x = ξ/κ, ln(1 + x)/x is taken from its series 1 − x/2 + x²/3 − x³/4 (the next
/// term, x⁴/5, is under 2·10⁻¹⁷ there), so that ξ → 0 has no 0/0.
pub const SERIES_BELOW: f64 = 1e-4;

/// ξ, the exponent of the intensity-penalty term (docs/MODEL.md "GLFT quotes").
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Xi {
    /// ξ = γ: the model with exponential utility (Guéant's "model A"), the default.
    #[default]
    Gamma,
    /// A fixed ξ ≥ 0, 1/price; 0 is the risk-neutral model with a running inventory
    /// penalty ("model B").
    Value(f64),
}

/// GLFT's own settings, as given (docs/MODEL.md's table).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlftSettings {
    /// γ, 1/price (per lot of `order_size`).
    pub gamma: f64,
    pub xi: Xi,
}

impl Default for GlftSettings {
    fn default() -> Self {
        Self { gamma: 0.1, xi: Xi::Gamma }
    }
}

/// [`GlftSettings`] validated: ξ resolved to a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlftConfig {
    /// γ, 1/price, ≥ 0.
    pub gamma: f64,
    /// ξ, 1/price, ≥ 0.
    pub xi: f64,
}

/// A GLFT quote that cannot be computed from its inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot quote GLFT: {0}")]
pub struct GlftError(pub String);

/// One side's order-arrival fit, λ(δ) = A·e^(−κδ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intensity {
    /// A, 1/second.
    pub a: f64,
    /// κ, 1/price.
    pub kappa: f64,
}

/// One side's two terms: the depth is `half_spread` ± (q ± ½)·`skew`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideTerms {
    /// c₁ = (1/ξ)·ln(1 + ξ/κ), price; 1/κ at ξ = 0.
    pub half_spread: f64,
    /// ω = √(γσ²/(2Aκ) · (1 + ξ/κ)^(κ/ξ + 1)), price per lot; √(γσ²e/(2Aκ)) at ξ = 0.
    pub skew: f64,
}

/// Both sides' depths from mid at inventory q, with their terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Depths {
    pub bid: SideTerms,
    pub ask: SideTerms,
    /// δ_b(q) = c₁_b + (q + ½)·ω_b: the bid is mid − δ_b.
    pub delta_bid: f64,
    /// δ_a(q) = c₁_a − (q − ½)·ω_a: the ask is mid + δ_a.
    pub delta_ask: f64,
}

/// ln(1 + x)/x for x ≥ 0, its limit 1 at x = 0 ([`SERIES_BELOW`]).
pub fn ln_1p_over_x(x: f64) -> f64 {
    if x < SERIES_BELOW {
        1.0 - x / 2.0 + x * x / 3.0 - x * x * x / 4.0
    } else {
        x.ln_1p() / x
    }
}

/// One side's terms for γ, ξ, σ and that side's fit.
///
/// With x = ξ/κ and L = ln(1 + x)/x: c₁ = L/κ and (1 + x)^(κ/ξ + 1) = e^((1 + x)·L), both of
/// which stay finite as ξ → 0 (c₁ → 1/κ, the power → e).
pub fn side_terms(gamma: f64, xi: f64, sigma: f64, side: Intensity) -> SideTerms {
    let Intensity { a, kappa } = side;
    let l = ln_1p_over_x(xi / kappa);
    let power = ((1.0 + xi / kappa) * l).exp();
    SideTerms {
        half_spread: l / kappa,
        skew: (gamma * sigma * sigma / (2.0 * a * kappa) * power).sqrt(),
    }
}

/// The GLFT depths (Guéant 2017, eqs. 4.6 and 4.7 with Δ = 1 lot), each side with its own A
/// and κ. `inventory_lots` is q in lots of `order_size`.
pub fn depths(
    config: &GlftConfig,
    sigma: f64,
    bid: Intensity,
    ask: Intensity,
    inventory_lots: f64,
) -> Result<Depths, GlftError> {
    for (name, side) in [("bid", bid), ("ask", ask)] {
        if !(side.a.is_finite() && side.a > 0.0 && side.kappa.is_finite() && side.kappa > 0.0) {
            return Err(GlftError(format!(
                "the {name} fit (A {}, kappa {}) is not two positive numbers",
                side.a, side.kappa
            )));
        }
    }
    if !(sigma.is_finite() && sigma >= 0.0 && inventory_lots.is_finite()) {
        return Err(GlftError(format!(
            "sigma {sigma} and inventory {inventory_lots} must be finite, sigma not negative"
        )));
    }
    let (b, a) = (
        side_terms(config.gamma, config.xi, sigma, bid),
        side_terms(config.gamma, config.xi, sigma, ask),
    );
    let q = inventory_lots;
    Ok(Depths {
        bid: b,
        ask: a,
        delta_bid: b.half_spread + (q + 0.5) * b.skew,
        delta_ask: a.half_spread - (q - 0.5) * a.skew,
    })
}

/// A quote on the tick grid, with the depths it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlftQuote {
    pub mid: f64,
    pub depths: Depths,
    /// mid − δ_b rounded down, at most one tick below the best ask; `None` at the inventory
    /// limit or when it would not be a positive price.
    pub bid: Option<Price>,
    /// mid + δ_a rounded up, at least one tick above the best bid; `None` at the limit.
    pub ask: Option<Price>,
}

/// The book and the account a quote is made for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market {
    pub best_bid: Price,
    pub best_ask: Price,
    pub tick: Price,
    pub position: Qty,
    /// Δ, the size of one order (one lot of inventory).
    pub order_size: Qty,
    /// Q, the inventory limit.
    pub max_inventory: Qty,
}

/// The GLFT quote for `market` (docs/MODEL.md "GLFT quotes"): depths at q = position /
/// order_size, tick rounding away from mid, post-only, and the inventory limit Q.
pub fn quote(
    config: &GlftConfig,
    sigma: f64,
    bid: Intensity,
    ask: Intensity,
    market: &Market,
) -> Result<GlftQuote, GlftError> {
    let Market { best_bid, best_ask, tick, position, order_size, max_inventory } = *market;
    if tick.raw() <= 0 || order_size.raw() <= 0 {
        return Err(GlftError(format!("tick {tick} and order size {order_size} must be positive")));
    }
    if best_bid >= best_ask {
        return Err(GlftError(format!("the book is crossed or locked: {best_bid} / {best_ask}")));
    }
    let q = position.raw() as f64 / order_size.raw() as f64;
    let depths = depths(config, sigma, bid, ask, q)?;
    let mid = (best_bid.to_f64() + best_ask.to_f64()) / 2.0;
    let round =
        |v: f64, r: Rounding| round_to_tick(v, tick, r).map_err(|e| GlftError(e.to_string()));
    let bid_price = round(mid - depths.delta_bid, Rounding::Down)?.min(prev_tick(best_ask, tick));
    let ask_price = round(mid + depths.delta_ask, Rounding::Up)?.max(next_tick(best_bid, tick));
    // Q in raw units: a bid may fill only if q + Δ ≤ Q, an ask only if q − Δ ≥ −Q.
    let (p, d, limit) = (position.raw(), order_size.raw(), max_inventory.raw());
    let bid_room = p.checked_add(d).is_some_and(|after| after <= limit);
    let ask_room = p.checked_sub(d).is_some_and(|after| after >= -limit);
    Ok(GlftQuote {
        mid,
        depths,
        bid: (bid_room && bid_price.raw() > 0).then_some(bid_price),
        ask: ask_room.then_some(ask_price),
    })
}

impl Registered for Glft {
    const NAMES: &'static [&'static str] = &["glft"];
    const USES_FIT: bool = true;
    const KEYS: &'static [(&'static str, &'static str)] =
        &[("glft_gamma", "time_stop_seconds"), ("glft_xi", "glft_gamma")];
    const ALIASES: &'static [(&'static str, &'static str)] = &[];
    type Settings = GlftSettings;
    type Config = GlftConfig;

    fn set(s: &mut GlftSettings, key: &'static str, value: &str) -> Result<(), SettingsError> {
        match key {
            "glft_gamma" => s.gamma = number(key, value)?,
            "glft_xi" => {
                s.xi = match value.trim() {
                    "gamma" => Xi::Gamma,
                    _ => Xi::Value(number(key, value).map_err(|_| SettingsError::BadValue {
                        key,
                        value: value.to_owned(),
                        expected: "gamma or a number >= 0",
                    })?),
                }
            }
            _ => return Err(SettingsError::UnknownKey { key: key.to_owned() }),
        }
        Ok(())
    }

    fn text(s: &GlftSettings, key: &str) -> Option<String> {
        Some(match key {
            "glft_gamma" => s.gamma.to_string(),
            "glft_xi" => match s.xi {
                Xi::Gamma => "gamma".to_owned(),
                Xi::Value(v) => v.to_string(),
            },
            _ => return None,
        })
    }

    fn resolve(s: &GlftSettings, _base: &Base<'_>) -> Result<GlftConfig, SettingsError> {
        let xi = match s.xi {
            Xi::Gamma => s.gamma,
            Xi::Value(v) => v,
        };
        if !(s.gamma.is_finite() && s.gamma >= 0.0 && xi.is_finite() && xi >= 0.0) {
            return Err(SettingsError::Invalid(
                "glft_gamma and glft_xi must be zero or positive numbers".into(),
            ));
        }
        Ok(GlftConfig { gamma: s.gamma, xi })
    }

    fn new(config: &Config) -> Self {
        Glft::new(config)
    }
}

/// The GLFT strategy's state: its settings, the sizes, and when each side last filled.
#[derive(Debug, Clone)]
pub struct Glft {
    config: GlftConfig,
    order_size: Qty,
    max_inventory: Qty,
    cooldown_ns: i64,
    /// Strategy time of the last fill report per side (bid, ask).
    last_fill: [Option<i64>; 2],
}

impl Glft {
    pub fn new(config: &Config) -> Self {
        Self {
            config: config.strategies.glft,
            order_size: config.order_size,
            max_inventory: config.max_inventory,
            cooldown_ns: config.fill_cooldown_ns,
            last_fill: [None; 2],
        }
    }

    /// The wanted `(price, size)` per side, or `None`.
    fn wanted(&self, view: &View<'_>) -> [Option<(Price, Qty)>; 2] {
        let none = [None, None];
        if view.warming_up {
            return none;
        }
        let (Some(best_bid), Some(best_ask)) = (view.best_bid, view.best_ask) else { return none };
        let Some(cal) = view.calibration else { return none };
        let fit = &cal.fit;
        let (Some(sigma), Some(a_bid), Some(k_bid), Some(a_ask), Some(k_ask)) =
            (fit.sigma, fit.bid.a, fit.bid.kappa, fit.ask.a, fit.ask.kappa)
        else {
            return none;
        };
        let market = Market {
            best_bid,
            best_ask,
            tick: view.config.tick,
            position: view.position,
            order_size: self.order_size,
            max_inventory: self.max_inventory,
        };
        let bid = Intensity { a: a_bid, kappa: k_bid };
        let ask = Intensity { a: a_ask, kappa: k_ask };
        let Ok(q) = quote(&self.config, sigma, bid, ask, &market) else { return none };
        let now = view.now.as_nanos();
        let cooling = |side: BookSide| {
            self.last_fill[side_index(side)]
                .is_some_and(|t| now < t.saturating_add(self.cooldown_ns))
        };
        let size = self.order_size;
        [
            q.bid.filter(|_| !cooling(BookSide::Bid)).map(|p| (p, size)),
            q.ask.filter(|_| !cooling(BookSide::Ask)).map(|p| (p, size)),
        ]
    }
}

impl Strategy for Glft {
    fn on_top(&mut self, view: &View<'_>, _top: &BookTopRow, out: &mut Orders) {
        requote(view, self.wanted(view), out);
    }

    fn on_report(&mut self, _view: &View<'_>, report: &Report, out: &mut Orders) {
        if let ReportKind::Filled { leaves, .. } = report.kind {
            self.last_fill[side_index(report.side)] = Some(report.ts.as_nanos());
            if leaves.raw() > 0 && self.cooldown_ns > 0 {
                out.cancel(report.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 10⁻⁹ of `want`, relative (so ω ≈ 10⁻⁷ of set 3 is held to 10⁻¹⁶ absolute).
    fn close(got: f64, want: f64, what: &str) {
        assert!((got - want).abs() <= 1e-9 * want.abs(), "{what}: {got} != {want}");
    }

    fn config(gamma: f64, xi: f64) -> GlftConfig {
        GlftConfig { gamma, xi }
    }

    fn side(a: f64, kappa: f64) -> Intensity {
        Intensity { a, kappa }
    }

    // The expected values below were computed independently of this code with Python's
    // `decimal` module at 50 significant digits, straight from eqs. 4.6/4.7 with Δ = 1:
    //
    //   from decimal import Decimal as D, getcontext; getcontext().prec = 50
    //   def side(g, xi, s, a, k):
    //       c1 = 1/k if xi == 0 else (1 + xi/k).ln() / xi
    //       p  = D(1).exp() if xi == 0 else ((k/xi + 1) * (1 + xi/k).ln()).exp()
    //       return c1, (g * s**2 / (2*a*k) * p).sqrt()
    //   δb = c1b + (2q + 1)/2 · ωb ;  δa = c1a − (2q − 1)/2 · ωa
    //
    // (no series, no ln_1p: the high precision is what keeps ξ = 10⁻¹² exact there).

    /// Set 1, an ETH-like market (mid 3000, tick 0.01), asymmetric fits, ξ = γ = 0.1, q = 2:
    /// σ = 0.5, A_b = 2, κ_b = 15, A_a = 1.5, κ_a = 12.
    /// c₁_b = ln(1 + 0.1/15)/0.1 = 0.066445427186685787822,
    /// ω_b = √(0.1·0.25/(2·2·15) · (1 + 0.1/15)^151) = 0.033710394976573234438,
    /// c₁_a = ln(1 + 0.1/12)/0.1 = 0.082988028146950938762,
    /// ω_a = √(0.1·0.25/(2·1.5·12) · (1 + 0.1/12)^121) = 0.043537979668081910442,
    /// δ_b = c₁_b + 2.5·ω_b = 0.15072141462811887392, δ_a = c₁_a − 1.5·ω_a = 0.017681058644828073099.
    #[test]
    fn set_1_eth_like_with_xi_equal_to_gamma() {
        let d = depths(&config(0.1, 0.1), 0.5, side(2.0, 15.0), side(1.5, 12.0), 2.0).unwrap();
        close(d.bid.half_spread, 0.0664454271866858, "c1 bid");
        close(d.bid.skew, 0.03371039497657324, "omega bid");
        close(d.ask.half_spread, 0.08298802814695094, "c1 ask");
        close(d.ask.skew, 0.043537979668081914, "omega ask");
        close(d.delta_bid, 0.15072141462811886, "delta bid");
        close(d.delta_ask, 0.017681058644828072, "delta ask");
    }

    /// Set 2, a BTC-like market, ξ = 0 (the risk-neutral model with an inventory penalty),
    /// γ = 0.01, short 3 lots: σ = 10, A_b = 1.2, κ_b = 0.15, A_a = 0.8, κ_a = 0.2.
    /// c₁ = 1/κ: 6.6666666666666666667 and 5; ω = √(γσ²e/(2Aκ)): ω_b = √(e/0.36) =
    /// 2.7478687845002135781, ω_a = √(e/0.32) = 2.9145549769964052542;
    /// δ_b = c₁_b − 2.5·ω_b = −0.20300529458386727854 (short: the bid goes above mid),
    /// δ_a = c₁_a + 3.5·ω_a = 15.200942419487418390.
    #[test]
    fn set_2_btc_like_with_xi_zero_and_a_short_inventory() {
        let d = depths(&config(0.01, 0.0), 10.0, side(1.2, 0.15), side(0.8, 0.2), -3.0).unwrap();
        close(d.bid.half_spread, 6.666666666666667, "c1 bid");
        close(d.bid.skew, 2.7478687845002137, "omega bid");
        close(d.ask.half_spread, 5.0, "c1 ask");
        close(d.ask.skew, 2.9145549769964054, "omega ask");
        close(d.delta_bid, -0.2030052945838673, "delta bid");
        close(d.delta_ask, 15.200942419487419, "delta ask");
    }

    /// Set 3, γ → 0 (ξ = γ = 10⁻¹², below [`SERIES_BELOW`]), σ = 0.5, A = 2, κ = 15 both
    /// sides, q = 1. Decimal: c₁ = 0.066666666666664444444, ω = 1.0642450039932721880e-7,
    /// δ_b = 0.066666826303415043435, δ_a = 0.066666613454414244781.
    /// Analytically, as γ → 0: c₁ = 1/κ − ξ/(2κ²) + O(ξ²) and ω = σ·√(eγ/(2Aκ))·(1 + O(γ)), so
    /// δ_b → 1/κ + (q + ½)·σ·√(eγ/(2Aκ)) = 0.066666826303417265655 and δ_a → 1/κ − (q − ½)·σ·
    /// √(eγ/(2Aκ)) = 0.066666613454416467004, within ξ/(2κ²) = 2.2·10⁻¹⁵ of the exact values;
    /// at γ = 0 exactly both depths are 1/κ and nothing divides by zero.
    #[test]
    fn set_3_gamma_to_zero_meets_the_analytic_limit() {
        let d = depths(&config(1e-12, 1e-12), 0.5, side(2.0, 15.0), side(2.0, 15.0), 1.0).unwrap();
        close(d.bid.half_spread, 0.06666666666666445, "c1");
        close(d.bid.skew, 1.0642450039932721e-07, "omega");
        close(d.delta_bid, 0.06666682630341504, "delta bid");
        close(d.delta_ask, 0.06666661345441424, "delta ask");
        let root = 0.5 * (std::f64::consts::E * 1e-12 / (2.0 * 2.0 * 15.0)).sqrt();
        close(d.bid.skew, root, "limit omega");
        close(d.delta_bid, 1.0 / 15.0 + 1.5 * root, "limit bid");
        close(d.delta_ask, 1.0 / 15.0 - 0.5 * root, "limit ask");

        let zero = depths(&config(0.0, 0.0), 0.5, side(2.0, 15.0), side(2.0, 15.0), 4.0).unwrap();
        assert_eq!((zero.delta_bid, zero.delta_ask), (1.0 / 15.0, 1.0 / 15.0));
        assert_eq!(zero.bid.skew, 0.0);
    }

    #[test]
    fn the_series_meets_ln_1p_at_the_switch() {
        let x = SERIES_BELOW;
        assert!((ln_1p_over_x(x * (1.0 - 1e-12)) - x.ln_1p() / x).abs() < 1e-15);
        assert_eq!(ln_1p_over_x(0.0), 1.0);
    }

    /// A 3000 ± 0.005 book, tick 0.01, lots of 0.01, Q = 3 lots; set 1's fits.
    fn market(position: &str) -> Market {
        let p = |t: &str| Price::parse(t).unwrap();
        Market {
            best_bid: p("2999.99"),
            best_ask: p("3000.01"),
            tick: p("0.01"),
            position: Qty::parse(position).unwrap(),
            order_size: Qty::parse("0.01").unwrap(),
            max_inventory: Qty::parse("0.03").unwrap(),
        }
    }

    #[test]
    fn quotes_round_away_from_mid_stay_post_only_and_respect_the_limit() {
        let c = config(0.1, 0.1);
        let (b, a) = (side(2.0, 15.0), side(1.5, 12.0));
        let p = |t: &str| Some(Price::parse(t).unwrap());
        // q = 2 (set 1): bid 3000 − 0.150721… = 2999.849278… → 2999.84; ask 3000 + 0.017681…
        // = 3000.017681… → 3000.02.
        let q = quote(&c, 0.5, b, a, &market("0.02")).unwrap();
        assert_eq!((q.bid, q.ask), (p("2999.84"), p("3000.02")));
        // q = 3 = Q: no bid (3 + 1 > 3); the ask 3000 + 0.082988… − 2.5·0.043537… < 3000
        // is held one tick above the best bid: 3000.
        let q = quote(&c, 0.5, b, a, &market("0.03")).unwrap();
        assert_eq!((q.bid, q.ask), (None, p("3000")));
        // q = −3 = −Q: no ask; the bid at 3000 − (c₁_b − 2.5·ω_b) = 3000.017… would cross and
        // is held one tick below the best ask.
        let q = quote(&c, 0.5, b, a, &market("-0.03")).unwrap();
        assert_eq!((q.bid, q.ask), (p("3000"), None));
        // A half lot from the limit: a whole lot would pass it, so no bid.
        let q = quote(&c, 0.5, b, a, &market("0.025")).unwrap();
        assert_eq!(q.bid, None);
        assert!(q.ask.is_some());
        // Unusable inputs are errors, not quotes.
        assert!(quote(&c, f64::NAN, b, a, &market("0")).is_err());
        assert!(quote(&c, 0.5, side(0.0, 15.0), a, &market("0")).is_err());
    }
}
