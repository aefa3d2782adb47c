//! What one unit of a market's quantity is worth: its [`Contract`].
//!
//! A quantity is a count of contracts. A *linear* contract of size `s` is `s` units of the
//! base asset, valued in the quote currency: `q` contracts at price `p` are worth `q·s·p`
//! quote (spot, Binance USD-M and Extended: `s` = 1, so a quantity is an amount of base). An
//! *inverse* contract of size `S` is `S` units of the quote currency, valued in the base
//! asset: `q` contracts at `p` are worth `q·S/p` base (Binance COIN-M: 100 USD for BTC
//! contracts, 10 USD otherwise). Money — cash, PnL, fees, turnover — is in the *settlement*
//! currency: quote for linear, base for inverse.
//!
//! Cash flows, with `v` the value above: buying linear contracts pays `v`, selling receives
//! it; buying inverse contracts *receives* `v` and selling pays it, so a long of `q` inverse
//! contracts opened at `p0` and closed at `p1` earns `q·S·(1/p0 − 1/p1)` base, and a
//! position of `n` contracts (signed) is marked at `n·s·mid` (linear) or `−n·S/mid` (inverse)
//! on top of the cash.
//!
//! Rounding ([`Money`] has 16 decimal places): a linear value of size 1 is exact
//! (`price × qty`); other values ([`Contract::value`]) are computed in `i128` and rounded
//! half to even at 10⁻¹⁶, once per fill; marks ([`Contract::mark`]) round toward −∞, as
//! [`Money::mark`] does.

use std::fmt;
use std::str::FromStr;

use crate::model::money::Money;
use crate::model::{BookSide, Price, Qty, UNIT};

/// How a market's quantities are valued (see the module header). Sizes are exact decimals
/// with 8 places, above zero and at most [`MAX_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    /// `size` units of base per contract, valued in quote.
    Linear { size: Qty },
    /// `size` units of quote per contract, valued in base.
    Inverse { size: Qty },
}

/// The largest contract size accepted (a million units), so no product overflows `i128`.
pub const MAX_SIZE: i64 = 1_000_000 * UNIT;

/// Why a contract text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad contract {text:?}: expected linear:SIZE or inverse:SIZE with a SIZE above 0 and at most 1000000 (e.g. linear:1, inverse:100)")]
pub struct ContractError {
    pub text: String,
}

impl Contract {
    /// Spot and linear perpetuals quoted per unit of base.
    pub const LINEAR_1: Contract = Contract::Linear { size: Qty::from_raw(UNIT) };

    pub const fn is_inverse(self) -> bool {
        matches!(self, Contract::Inverse { .. })
    }

    pub const fn size(self) -> Qty {
        match self {
            Contract::Linear { size } | Contract::Inverse { size } => size,
        }
    }

    /// The currency money is in: the quote currency (linear) or the base asset (inverse).
    pub fn settlement<'a>(self, base: &'a str, quote: &'a str) -> &'a str {
        if self.is_inverse() {
            base
        } else {
            quote
        }
    }

    /// What one unit of quantity is, for labels: `BTC` (linear 1), `contracts of 0.001 BTC`,
    /// `contracts of 100 USD`.
    pub fn quantity_unit(self, base: &str, quote: &str) -> String {
        match self {
            Contract::Linear { size } if size.raw() == UNIT => base.to_owned(),
            Contract::Linear { size } => format!("contracts of {size} {base}"),
            Contract::Inverse { size } => format!("contracts of {size} {quote}"),
        }
    }

    /// The value of `qty` contracts (≥ 0) at `price` (> 0), in the settlement currency:
    /// `qty·size·price` (linear) or `qty·size/price` (inverse), rounded half to even at
    /// 10⁻¹⁶ unless exact. A price of zero or below values an inverse contract at zero.
    pub fn value(self, price: Price, qty: Qty) -> Money {
        match self {
            Contract::Linear { size } if size.raw() == UNIT => Money::notional(price, qty),
            Contract::Linear { size } => {
                let n = i128::from(price.raw()) * i128::from(qty.raw());
                Money::from_raw(mul_div_half_even(n, i128::from(size.raw()), i128::from(UNIT)))
            }
            Contract::Inverse { size } => {
                if price.raw() <= 0 {
                    return Money::ZERO;
                }
                // q·S/p in units of 10⁻¹⁶: q_raw·S_raw·10⁸ / p_raw.
                let n = i128::from(qty.raw()) * i128::from(size.raw());
                Money::from_raw(mul_div_half_even(n, i128::from(UNIT), i128::from(price.raw())))
            }
        }
    }

    /// The cash a fill of `qty` at `price` adds on `side` (`Bid` = we bought), before fees:
    /// `−value` for a linear buy, `+value` for an inverse buy, the opposite for a sell.
    pub fn cash_flow(self, side: BookSide, price: Price, qty: Qty) -> Money {
        let value = self.value(price, qty);
        match (side, self.is_inverse()) {
            (BookSide::Bid, false) | (BookSide::Ask, true) => -value,
            (BookSide::Ask, false) | (BookSide::Bid, true) => value,
        }
    }

    /// A signed position of `position` raw contracts marked at the mid `mid2 / 2` (`mid2` =
    /// best bid + best ask, raw), rounded toward −∞: `n·s·mid` (linear), `−n·S/mid`
    /// (inverse). A mid of zero or below marks an inverse position at zero.
    pub fn mark(self, position: i64, mid2: i64) -> Money {
        let pos = i128::from(position);
        match self {
            Contract::Linear { size } => {
                // n·s·(bid + ask)/2 in 10⁻¹⁶: pos_raw·mid2·s_raw / (2·10⁸).
                let n = pos * i128::from(mid2);
                Money::from_raw(mul_div_floor(n, i128::from(size.raw()), 2 * i128::from(UNIT)))
            }
            Contract::Inverse { size } => {
                if mid2 <= 0 {
                    return Money::ZERO;
                }
                // −n·S·2/(bid + ask) in 10⁻¹⁶: −pos_raw·S_raw·2·10⁸ / mid2.
                let n = -pos * i128::from(size.raw());
                Money::from_raw(mul_div_floor(n, 2 * i128::from(UNIT), i128::from(mid2)))
            }
        }
    }
}

/// `a·b/d` rounded half to even (`d` > 0, `b` ≥ 0), splitting `a` by `d` first so that the
/// products stay in `i128` for every value a backtest meets; saturates beyond that.
fn mul_div_half_even(a: i128, b: i128, d: i128) -> i128 {
    let (q, r) = (a.div_euclid(d), a.rem_euclid(d));
    // a·b/d = q·b + r·b/d, with 0 ≤ r < d.
    let rb = r.saturating_mul(b);
    let (q2, r2) = (rb.div_euclid(d), rb.rem_euclid(d));
    let whole = q.saturating_mul(b).saturating_add(q2);
    let twice = r2.saturating_mul(2);
    if twice > d || (twice == d && whole.rem_euclid(2) == 1) {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// `a·b/d` rounded toward −∞ (`d` > 0, `b` ≥ 0), split as in [`mul_div_half_even`].
fn mul_div_floor(a: i128, b: i128, d: i128) -> i128 {
    let (q, r) = (a.div_euclid(d), a.rem_euclid(d));
    q.saturating_mul(b).saturating_add(r.saturating_mul(b).div_euclid(d))
}

impl fmt::Display for Contract {
    /// `linear:1`, `inverse:100`: the text [`FromStr`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contract::Linear { size } => write!(f, "linear:{size}"),
            Contract::Inverse { size } => write!(f, "inverse:{size}"),
        }
    }
}

impl FromStr for Contract {
    type Err = ContractError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ContractError { text: text.to_owned() };
        let (kind, size) = text.trim().split_once(':').ok_or_else(bad)?;
        let size = Qty::parse(size.trim()).map_err(|_| bad())?;
        if size.raw() <= 0 || size.raw() > MAX_SIZE {
            return Err(bad());
        }
        match kind.trim().to_ascii_lowercase().as_str() {
            "linear" => Ok(Contract::Linear { size }),
            "inverse" => Ok(Contract::Inverse { size }),
            _ => Err(bad()),
        }
    }
}

impl serde::Serialize for Contract {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Contract {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
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

    fn c(text: &str) -> Contract {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_both_kinds() {
        assert_eq!(c("linear:1"), Contract::LINEAR_1);
        assert_eq!(c("inverse:100").to_string(), "inverse:100");
        assert_eq!(c(" Inverse : 10.5 ").to_string(), "inverse:10.5");
        for bad in
            ["", "inverse", "inverse:0", "inverse:-1", "swap:1", "linear:x", "linear:2000000"]
        {
            let err = bad.parse::<Contract>().unwrap_err().to_string();
            assert!(err.contains("linear:SIZE or inverse:SIZE"), "{bad}: {err}");
        }
        let json = serde_json::to_string(&c("inverse:100")).unwrap();
        assert_eq!(json, "\"inverse:100\"");
        assert_eq!(serde_json::from_str::<Contract>(&json).unwrap(), c("inverse:100"));
    }

    #[test]
    fn linear_value_is_price_times_qty_times_size() {
        let v = Contract::LINEAR_1.value(p("84050.01"), q("0.00012345"));
        assert_eq!(v.to_string(), "10.3759737345");
        // 0.001 BTC contracts: 3 × 0.001 × 60000 = 180.
        assert_eq!(c("linear:0.001").value(p("60000"), q("3")).to_string(), "180");
        assert_eq!(
            c("linear:0.001").cash_flow(BookSide::Bid, p("60000"), q("3")).to_string(),
            "-180"
        );
    }

    #[test]
    fn inverse_value_matches_a_hand_computation() {
        let btc = c("inverse:100");
        // 840 contracts × 100 USD / 61 000 USD = 1.3770491803278688|5245… BTC: past the 16th
        // place is more than a half, so it rounds up.
        assert_eq!(btc.value(p("61000"), q("840")).to_string(), "1.3770491803278689");
        // 1 × 100 / 60000 = 0.00166666666666666666… → …6667.
        assert_eq!(btc.value(p("60000"), q("1")).to_string(), "0.0016666666666667");
        // Exact values are not rounded: 3 × 100 / 50000 = 0.006.
        assert_eq!(btc.value(p("50000"), q("3")).to_string(), "0.006");
        // Exactly half a unit of 10⁻¹⁶ rounds to even: 10⁻⁸ contracts of 10⁻⁸ USD at 2 USD
        // are 0.5·10⁻¹⁶ BTC → 0; 3·10⁻⁸ contracts are 1.5·10⁻¹⁶ → 2.
        let tiny = c("inverse:0.00000001");
        assert_eq!(tiny.value(Price::from_raw(2 * UNIT), Qty::from_raw(1)).raw(), 0);
        assert_eq!(tiny.value(Price::from_raw(2 * UNIT), Qty::from_raw(3)).raw(), 2);
        // 2.5 units → 2 (even), 3.5 → 4.
        assert_eq!(mul_div_half_even(5, 1, 2), 2);
        assert_eq!(mul_div_half_even(7, 1, 2), 4);
        assert_eq!(mul_div_half_even(-5, 1, 2), -2);
        assert_eq!(mul_div_half_even(10, 3, 4), 8, "30/4 = 7.5 → 8");
    }

    #[test]
    fn an_inverse_round_trip_earns_size_times_the_difference_of_reciprocals() {
        let btc = c("inverse:100");
        // Long 840 at 60 000, closed at 61 000: 840·100·(1/60000 − 1/61000)
        // = 84000 / 3 660 000 000 ·1000 = 0.0229508196721311475… BTC.
        let open = btc.cash_flow(BookSide::Bid, p("60000"), q("840"));
        let close = btc.cash_flow(BookSide::Ask, p("61000"), q("840"));
        assert_eq!(open.to_string(), "1.4");
        assert_eq!(close.to_string(), "-1.3770491803278689");
        assert_eq!((open + close).to_string(), "0.0229508196721311");
        // Marked instead of closed, at a mid of 61 000: the same PnL (the mark rounds down).
        let mark = btc.mark(q("840").raw(), 2 * p("61000").raw());
        assert_eq!(mark.to_string(), "-1.3770491803278689");
        assert_eq!((open + mark).to_string(), "0.0229508196721311");
        // A short of inverse contracts: pays the value, is marked at +n·S/mid.
        let short = btc.cash_flow(BookSide::Ask, p("60000"), q("840"));
        assert_eq!(short.to_string(), "-1.4");
        assert_eq!(
            btc.mark(-q("840").raw(), 2 * p("61000").raw()).to_string(),
            "1.3770491803278688"
        );
    }

    #[test]
    fn linear_mark_of_size_one_is_money_mark() {
        let m = Contract::LINEAR_1.mark(q("2").raw(), p("99.99").raw() + p("100.01").raw());
        assert_eq!(m, Money::mark(q("2"), p("99.99"), p("100.01")));
        let m = Contract::LINEAR_1.mark(-1, p("1").raw() + 100_000_001);
        assert_eq!(m.raw(), -100_000_001);
        assert_eq!(c("linear:0.001").mark(q("3").raw(), 2 * p("60000").raw()).to_string(), "180");
    }
}
