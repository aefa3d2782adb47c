//! Exact fixed-point decimals for prices and quantities.
//!
//! Venues send numbers as decimal text (`"84050.000000"`, `"84050"`, `"0.00020"`), and the
//! same level can arrive in several spellings. Both [`Price`] and [`Qty`] hold the value as an
//! `i64` count of 10⁻⁸ units, parsed straight from the text — never through `f64` — so equal
//! values compare equal whatever their spelling, and arithmetic in the hot path is integer
//! arithmetic. The scale ([`SCALE`]) is the one every table stores (`Decimal128(18, 8)`).
//!
//! Text with more than eight decimal places is refused unless the extra digits are zeros:
//! rounding a venue's number silently would make two different levels one.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Decimal places kept by [`Price`] and [`Qty`] (and by the tables' decimal columns).
pub const SCALE: u32 = 8;
/// Raw units per 1.0.
pub const UNIT: i64 = 100_000_000;

/// Why a decimal text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty decimal text")]
    Empty,
    #[error("{text:?} is not a plain decimal number (digits, one optional '.', optional sign)")]
    Syntax { text: String },
    #[error("{text:?} has more than {SCALE} decimal places")]
    TooPrecise { text: String },
    #[error("{text:?} is out of range for an 18-digit decimal with {SCALE} places")]
    Overflow { text: String },
}

/// Parses decimal text into raw units of 10⁻⁸, exactly.
///
/// Accepts an optional sign, digits, and one optional `.` with digits on at least one side
/// (`"5"`, `"-0.5"`, `"84052.0"`, `".5"`). Exponents, spaces and other characters are refused.
pub fn parse_raw(text: &str) -> Result<i64, DecimalError> {
    parse_short(text.as_bytes()).map_or_else(|| parse_general(text), Ok)
}

/// The venue's usual shape, `[-]digits[.digits]` with at most 10 integer and 8 fraction
/// digits (a delta's size change is often negative), where nothing can overflow; `None` for
/// anything else, which [`parse_general`] decides.
#[inline]
fn parse_short(bytes: &[u8]) -> Option<i64> {
    let (raw, len) = short_prefix(bytes)?;
    (len == bytes.len()).then_some(raw)
}

/// A decimal in [`parse_short`]'s shape that is followed by a `"` in `bytes`, as a JSON
/// string's content is: its raw value and its length (the quote's index). `None` when the
/// text before the first quote is not in that shape, or there is no quote; that is not a
/// refusal, [`parse_raw`] decides such text.
///
/// One pass over the bytes, for parsers that would otherwise find the closing quote first
/// and then read the digits again.
#[inline]
pub fn parse_short_quoted(bytes: &[u8]) -> Option<(i64, usize)> {
    let (raw, len) = short_prefix(bytes)?;
    (bytes.get(len) == Some(&b'"')).then_some((raw, len))
}

/// The longest prefix of `bytes` of the form `[-][digits][.][digits]` (one dot), if it is in
/// [`parse_short`]'s shape: its raw value and its length.
#[inline]
fn short_prefix(bytes: &[u8]) -> Option<(i64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let start = usize::from(negative);
    let mut acc: i64 = 0;
    let mut dot = None;
    let mut end = start;
    while let Some(&b) = bytes.get(end) {
        let digit = b.wrapping_sub(b'0');
        if digit < 10 {
            // Digits past 18 can wrap here; text that long is refused below, so a wrapped
            // value is never returned.
            acc = acc.wrapping_mul(10).wrapping_add(i64::from(digit));
        } else if b == b'.' && dot.is_none() {
            dot = Some(end - start);
        } else {
            break;
        }
        end += 1;
    }
    let len = end - start;
    let (int_digits, frac_digits) = match dot {
        Some(at) => (at, len - at - 1),
        None => (len, 0),
    };
    if int_digits > 10 || frac_digits > SCALE as usize || int_digits + frac_digits == 0 {
        return None;
    }
    let value = acc * POW10[SCALE as usize - frac_digits];
    Some((if negative { -value } else { value }, end))
}

/// 10^0 ..= 10^8.
const POW10: [i64; SCALE as usize + 1] =
    [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// [`parse_raw`] for any text: signs, long fractions with trailing zeros, every refusal.
fn parse_general(text: &str) -> Result<i64, DecimalError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(DecimalError::Empty);
    }
    let syntax = || DecimalError::Syntax { text: text.to_owned() };
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut int_part: i64 = 0;
    let mut frac_part: i64 = 0;
    let mut frac_digits = 0u32;
    let mut seen_dot = false;
    let mut seen_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                let d = i64::from(b - b'0');
                if seen_dot {
                    if frac_digits < SCALE {
                        frac_part = frac_part * 10 + d;
                        frac_digits += 1;
                    } else if d != 0 {
                        return Err(DecimalError::TooPrecise { text: text.to_owned() });
                    }
                } else {
                    int_part = int_part
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(d))
                        .ok_or_else(|| DecimalError::Overflow { text: text.to_owned() })?;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(syntax()),
        }
    }
    if !seen_digit {
        return Err(syntax());
    }
    frac_part *= 10i64.pow(SCALE - frac_digits);
    let raw = int_part
        .checked_mul(UNIT)
        .and_then(|v| v.checked_add(frac_part))
        .ok_or_else(|| DecimalError::Overflow { text: text.to_owned() })?;
    // Precision 18 is what the tables store; keep every value representable there.
    if raw.unsigned_abs() >= 1_000_000_000_000_000_000 {
        return Err(DecimalError::Overflow { text: text.to_owned() });
    }
    Ok(if negative { -raw } else { raw })
}

/// Writes raw units as the shortest exact decimal text (`84050`, `0.0002`, `-1.5`).
fn write_raw(raw: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let unit = UNIT as u64;
    let (int, frac) = (abs / unit, abs % unit);
    if frac == 0 {
        return write!(f, "{sign}{int}");
    }
    let mut frac_text = format!("{frac:08}");
    while frac_text.ends_with('0') {
        frac_text.pop();
    }
    write!(f, "{sign}{int}.{frac_text}")
}

macro_rules! fixed_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(i64);

        impl $name {
            pub const ZERO: Self = Self(0);

            /// From raw units of 10⁻⁸.
            pub const fn from_raw(raw: i64) -> Self {
                Self(raw)
            }

            /// Raw units of 10⁻⁸ (what the tables store).
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// Parses decimal text exactly (see [`parse_raw`]).
            pub fn parse(text: &str) -> Result<Self, DecimalError> {
                parse_raw(text).map(Self)
            }

            pub fn is_zero(self) -> bool {
                self.0 == 0
            }

            pub fn is_negative(self) -> bool {
                self.0 < 0
            }

            /// The value as a `rust_decimal::Decimal` (exact).
            pub fn to_decimal(self) -> Decimal {
                Decimal::new(self.0, SCALE)
            }

            /// From a `Decimal`, refusing values that need more than [`SCALE`] places.
            pub fn from_decimal(value: Decimal) -> Result<Self, DecimalError> {
                let too_precise = || DecimalError::TooPrecise { text: value.to_string() };
                let mut scaled = value;
                scaled.rescale(SCALE);
                if scaled != value {
                    return Err(too_precise());
                }
                let mantissa = scaled.mantissa();
                i64::try_from(mantissa)
                    .ok()
                    .filter(|raw| raw.unsigned_abs() < 1_000_000_000_000_000_000)
                    .map(Self)
                    .ok_or_else(|| DecimalError::Overflow { text: value.to_string() })
            }

            /// An approximation for statistics and reports; never for bookkeeping.
            pub fn to_f64(self) -> f64 {
                self.0 as f64 / UNIT as f64
            }

            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }

            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map(Self)
            }
        }

        impl FromStr for $name {
            type Err = DecimalError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_raw(self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                write_raw(self.0, f)?;
                write!(f, ")")
            }
        }
    };
}

fixed_type!(
    /// A price in quote currency per unit of base asset, exact to 10⁻⁸.
    Price
);
fixed_type!(
    /// A quantity in base asset, exact to 10⁻⁸. Signed: a venue's size *change* can be negative.
    Qty
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_level_are_equal() {
        let a = Price::parse("84050.000000").unwrap();
        let b = Price::parse("84050").unwrap();
        let c = Price::parse("84050.0").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.to_string(), "84050");
    }

    #[test]
    fn parses_table_of_texts() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("0.00020", 20_000),
            ("-0.04619", -4_619_000),
            ("+1.5", 150_000_000),
            (".5", 50_000_000),
            ("5.", 500_000_000),
            ("0.000000010", 1),
            ("9999999999.99999999", 999_999_999_999_999_999),
        ];
        for (text, raw) in cases {
            assert_eq!(parse_raw(text), Ok(*raw), "{text}");
        }
    }

    #[test]
    fn refuses_bad_text_with_the_reason() {
        assert_eq!(parse_raw(""), Err(DecimalError::Empty));
        for bad in ["abc", "1e5", "1.2.3", "-", ".", " 1", "1,5", "NaN"] {
            assert!(matches!(parse_raw(bad), Err(DecimalError::Syntax { .. })), "{bad}");
        }
        assert!(matches!(parse_raw("0.000000001"), Err(DecimalError::TooPrecise { .. })));
        assert!(matches!(parse_raw("10000000000"), Err(DecimalError::Overflow { .. })));
        assert!(matches!(parse_raw("99999999999999999999999"), Err(DecimalError::Overflow { .. })));
    }

    #[test]
    fn decimal_conversion_refuses_extra_places() {
        let d = Decimal::from_str("1.000000001").unwrap();
        assert!(Qty::from_decimal(d).is_err());
        let d = Decimal::from_str("2.50").unwrap();
        assert_eq!(Qty::from_decimal(d).unwrap(), Qty::parse("2.5").unwrap());
    }

    #[test]
    fn the_short_path_takes_a_delta_s_negative_change() {
        assert_eq!(parse_short(b"-0.001"), Some(-100_000));
        assert_eq!(parse_short(b"-3000.25"), Some(-300_025_000_000));
        for refused in [&b"-"[..], b"--1", b"-+1", b"+1", b"-1-", b"-.", b"1.2.3", b"1\"2"] {
            assert_eq!(parse_short(refused), None, "{}", String::from_utf8_lossy(refused));
        }
    }

    #[test]
    fn the_quoted_short_path_stops_at_the_quote() {
        assert_eq!(parse_short_quoted(b"2999.91\",\"q\""), Some((299_991_000_000, 7)));
        assert_eq!(parse_short_quoted(b"-0.001\""), Some((-100_000, 6)));
        for declined in [&b"2999.91"[..], b"1e5\"", b"\"", b"-\"", b"1.2.3\"", b"+1\"", b" 1\""] {
            assert_eq!(parse_short_quoted(declined), None, "{}", String::from_utf8_lossy(declined));
        }
        // Long enough to wrap the accumulator: declined, never a wrong value.
        assert_eq!(parse_short_quoted(b"99999999999999999999\""), None);
        assert_eq!(parse_short_quoted(b"12345678901.5\""), None);
    }

    proptest! {
        /// The short path decides exactly as the general one wherever it decides at all.
        #[test]
        fn short_path_agrees_with_general(text in "[0-9.]{0,21}|[-+]?[0-9]{0,12}[.]?[0-9]{0,10}") {
            if let Some(raw) = parse_short(text.as_bytes()) {
                prop_assert_eq!(Ok(raw), parse_general(&text));
            }
            prop_assert_eq!(parse_raw(&text), parse_general(&text));
            let quoted = format!("{text}\"");
            let short = parse_short_quoted(quoted.as_bytes());
            prop_assert_eq!(short.map(|(raw, _)| raw), parse_short(text.as_bytes()));
            if let Some((raw, len)) = short {
                prop_assert_eq!(len, text.len());
                prop_assert_eq!(Ok(raw), parse_general(&text));
            }
        }

        #[test]
        fn text_round_trip_matches_rust_decimal(raw in -999_999_999_999_999_999i64..=999_999_999_999_999_999i64) {
            let price = Price::from_raw(raw);
            let text = price.to_string();
            prop_assert_eq!(Price::parse(&text).unwrap(), price);
            let decimal = Decimal::from_str(&text).unwrap();
            prop_assert_eq!(decimal, price.to_decimal());
            prop_assert_eq!(Price::from_decimal(decimal).unwrap(), price);
        }

        #[test]
        fn trailing_zeros_never_change_the_value(raw in 0i64..1_000_000_000_000, zeros in 0usize..12) {
            let text = format!("{}{}", Qty::from_raw(raw), if Qty::from_raw(raw).to_string().contains('.') { "0".repeat(zeros) } else { format!(".{}", "0".repeat(zeros)) });
            prop_assert_eq!(Qty::parse(&text).unwrap().raw(), raw);
        }
    }
}
