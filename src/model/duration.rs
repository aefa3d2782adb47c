//! Human durations on the command line: `90s`, `15m`, `1h30m`, `250ms`, `2d`.

use std::time::Duration;

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration: use a number and a unit (ns, us, ms, s, m, h, d), e.g. 90s, 15m, 1h30m")]
pub struct DurationError {
    pub text: String,
}

/// Parses `90s`, `15m`, `1h30m`, `250ms`, `1.5s`, `2d`. A bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let err = || DurationError { text: text.to_owned() };
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = trimmed;
    let mut total_nanos: u128 = 0;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(err)?;
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(err()),
        };
        let (int_text, frac_text) = number.split_once('.').unwrap_or((number, ""));
        if int_text.is_empty() && frac_text.is_empty() {
            return Err(err());
        }
        let int: u128 =
            if int_text.is_empty() { 0 } else { int_text.parse().map_err(|_| err())? };
        let mut nanos = int.checked_mul(unit_nanos).ok_or_else(err)?;
        let mut scale = unit_nanos;
        for digit in frac_text.bytes() {
            if !digit.is_ascii_digit() {
                return Err(err());
            }
            scale /= 10;
            nanos += u128::from(digit - b'0') * scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(err)?;
        rest = next;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| err())?;
    Ok(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_human_forms() {
        let cases = [
            ("90s", Duration::from_secs(90)),
            ("15m", Duration::from_secs(900)),
            ("1h30m", Duration::from_secs(5400)),
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("2d", Duration::from_secs(172_800)),
            ("0", Duration::ZERO),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        for bad in ["", "90", "s", "5 minutes", "1h-5m", "3w", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
