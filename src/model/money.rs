//! Exact cash and PnL: [`Money`], an `i128` count of 10⁻¹⁶ units of quote currency.
//!
//! 10⁻¹⁶ is the scale of a [`Price`] (10⁻⁸) times a [`Qty`] (10⁻⁸), so the notional of a fill,
//! `price × qty`, is exact with no rounding at all, and `i128` holds ±1.7·10²² currency units
//! at that scale — far beyond any backtest. Only two operations round, both documented where
//! they are: fees ([`Money::fee`], rounded up, against the trader) and marking a fractional
//! share of a position ([`Money::mul_div_floor`], rounded down). `f64` appears only in
//! [`Money::to_f64`], for statistics and plots.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use super::{Price, Qty};

/// Decimal places of [`Money`].
pub const MONEY_SCALE: u32 = 16;
/// Raw units of [`Money`] per 1.0 of quote currency.
pub const MONEY_UNIT: i128 = 10_000_000_000_000_000;

/// A fee rate in millionths of a basis point (10⁻¹⁰ of traded value), so fee settings given
/// as decimal basis points (`1.5`, `0.25`, `-0.5` for a rebate) are held exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FeeRate(i64);

/// Units of [`FeeRate`] per 1.0 of value.
const FEE_RATE_DENOM: i128 = 10_000_000_000;

impl FeeRate {
    pub const ZERO: Self = Self(0);

    /// From basis points, to the nearest millionth of a basis point; `None` when not finite
    /// or beyond ±100 % of value.
    pub fn from_bps(bps: f64) -> Option<Self> {
        let micro = (bps * 1e6).round();
        (micro.is_finite() && micro.abs() <= 1e10).then_some(Self(micro as i64))
    }

    pub fn as_bps(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

/// Quote-currency amount exact to 10⁻¹⁶ (see the module header).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i128);

impl Money {
    pub const ZERO: Self = Self(0);

    pub const fn from_raw(raw: i128) -> Self {
        Self(raw)
    }

    pub const fn raw(self) -> i128 {
        self.0
    }

    /// Whole currency units.
    pub const fn from_units(units: i64) -> Self {
        Self(units as i128 * MONEY_UNIT)
    }

    /// `price × qty`, exact.
    pub fn notional(price: Price, qty: Qty) -> Self {
        Self(i128::from(price.raw()) * i128::from(qty.raw()))
    }

    /// The fee on a traded value: `value × rate`, rounded up to the next 10⁻¹⁶ (toward the
    /// exchange), so a backtest never earns a fraction of a unit it would not get. A negative
    /// rate (rebate) rounds up too, i.e. the rebate is rounded toward zero.
    pub fn fee(value: Money, rate: FeeRate) -> Self {
        let product = value.0.abs() * i128::from(rate.0);
        Self(div_ceil(product, FEE_RATE_DENOM))
    }

    /// `self × num / den`, rounded toward −∞ (`den` > 0). Used to take a share of a cost basis
    /// when part of a position is closed.
    pub fn mul_div_floor(self, num: i128, den: i128) -> Self {
        debug_assert!(den > 0);
        Self((self.0 * num).div_euclid(den))
    }

    /// A position marked at the mid of a best bid and ask: `qty × (bid + ask) / 2`, rounded
    /// toward −∞ when the half falls between two units.
    pub fn mark(qty: Qty, bid: Price, ask: Price) -> Self {
        let sum = i128::from(bid.raw()) + i128::from(ask.raw());
        Self((i128::from(qty.raw()) * sum).div_euclid(2))
    }

    pub fn abs(self) -> Self {
        Self(self.0.abs())
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// An approximation for statistics and plots; never for bookkeeping.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / MONEY_UNIT as f64
    }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 {
        q
    } else {
        q + 1
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// The shortest exact decimal text (`12.5`, `-0.0000000000000001`, `0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let unit = MONEY_UNIT as u128;
        let (int, frac) = (abs / unit, abs % unit);
        if frac == 0 {
            return write!(f, "{sign}{int}");
        }
        let text = format!("{frac:016}");
        write!(f, "{sign}{int}.{}", text.trim_end_matches('0'))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl serde::Serialize for Money {
    /// As a decimal string: JSON numbers would lose the exact value.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn q(text: &str) -> Qty {
        Qty::parse(text).unwrap()
    }

    #[test]
    fn notional_is_exact_and_prints_shortest() {
        let n = Money::notional(p("84050.01"), q("0.00012345"));
        // 84050.01 × 0.00012345 = 10.3759737345
        assert_eq!(n.to_string(), "10.3759737345");
        assert_eq!((-n).to_string(), "-10.3759737345");
        assert_eq!(Money::ZERO.to_string(), "0");
        assert_eq!(Money::from_raw(-1).to_string(), "-0.0000000000000001");
    }

    #[test]
    fn fees_round_up_toward_the_exchange() {
        let rate = FeeRate::from_bps(1.5).unwrap();
        // 3000 × 0.1 = 300; 1.5 bps of it = 0.045 exactly.
        let value = Money::notional(p("3000"), q("0.1"));
        assert_eq!(Money::fee(value, rate).to_string(), "0.045");
        // 1.5 bps of 10⁻¹⁶ is 1.5·10⁻²⁰: rounds up to one unit.
        assert_eq!(Money::fee(Money::from_raw(1), rate), Money::from_raw(1));
        // A rebate rounds toward zero: −1.5 bps of 10⁻¹⁶ → 0.
        let rebate = FeeRate::from_bps(-1.5).unwrap();
        assert_eq!(Money::fee(Money::from_raw(1), rebate), Money::ZERO);
        assert_eq!(Money::fee(value, rebate).to_string(), "-0.045");
    }

    #[test]
    fn marking_at_a_half_tick_mid_rounds_down() {
        // 0.00000001 × (1 + 0.00000002)/2: the half unit rounds down.
        let m = Money::mark(Qty::from_raw(1), Price::from_raw(1), Price::from_raw(2));
        assert_eq!(m.raw(), 1);
        assert_eq!(Money::mark(q("2"), p("99.99"), p("100.01")).to_string(), "200");
        // −10⁻⁸ × (1 + 1.00000001)/2 = −1.000000005·10⁻⁸: rounds down to −100000001 units.
        let m = Money::mark(Qty::from_raw(-1), p("1"), Price::from_raw(100_000_001));
        assert_eq!(m.raw(), -100_000_001);
    }

    #[test]
    fn serializes_as_a_string() {
        let json = serde_json::to_string(&Money::from_units(-3)).unwrap();
        assert_eq!(json, "\"-3\"");
    }
}
