//! Points in time on the command line (`--from`, `--to`): RFC 3339 and the shorter forms
//! docs/ARCHITECTURE.md promises (`2026-11-20T13:00Z`, `2026-11-20`), always UTC unless an offset is
//! written, and (where a command has a "now") a duration meaning that long ago (`90m`). Pure;
//! shared by every command that takes a time range.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{parse_duration, Clock, Timestamp};

/// Why a time text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a time: use RFC 3339 or a short UTC form, e.g. 2026-11-20T13:00:00Z, 2026-11-20T13:00Z, 2026-11-20T13:00+01:00, \"2026-11-20 13:00\" or 2026-11-20")]
pub struct TimeTextError {
    pub text: String,
}

/// Parses a point in time on clock `C`: RFC 3339 (any offset), `YYYY-MM-DDTHH:MM` with an
/// offset, `YYYY-MM-DDTHH:MM[:SS[.f]][Z]` or with a space instead of `T` (UTC), or a date alone
/// (its UTC midnight).
pub fn parse_time<C: Clock>(text: &str) -> Result<Timestamp<C>, TimeTextError> {
    let err = || TimeTextError { text: text.to_owned() };
    let t = text.trim();
    let utc: DateTime<Utc> = if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        dt.with_timezone(&Utc)
    } else if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M%:z") {
        dt.with_timezone(&Utc)
    } else {
        let naive = t.strip_suffix('Z').unwrap_or(t).replace(' ', "T");
        let parsed = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&naive, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(&naive, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .ok_or_else(err)?;
        parsed.and_utc()
    };
    utc.timestamp_nanos_opt().map(Timestamp::from_nanos).ok_or_else(err)
}

/// As [`parse_time`], or a duration (`90m`, `2h`) meaning that long before `now`.
pub fn parse_time_or_ago<C: Clock>(
    text: &str,
    now: Timestamp<C>,
) -> Result<Timestamp<C>, TimeTextError> {
    match parse_duration(text.trim()) {
        Ok(ago) => i64::try_from(ago.as_nanos())
            .map(|ago| Timestamp::from_nanos(now.as_nanos().saturating_sub(ago)))
            .map_err(|_| TimeTextError { text: text.to_owned() }),
        Err(_) => parse_time(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;

    #[test]
    fn accepts_rfc3339_and_short_utc_forms() {
        let want = 1_795_179_600_000_000_000; // 2026-11-20T13:00:00Z
        for text in [
            "2026-11-20T13:00:00Z",
            "2026-11-20T14:00:00+01:00",
            "2026-11-20T13:00Z",
            "2026-11-20T13:00",
            "2026-11-20 13:00",
            "2026-11-20 13:00:00.000",
        ] {
            assert_eq!(
                parse_time::<crate::model::VenueClock>(text).map(|t| t.as_nanos()),
                Ok(want),
                "{text}"
            );
        }
        let day: EventTime = parse_time("2026-11-20").unwrap();
        assert_eq!(day.as_nanos(), want - 13 * 3_600_000_000_000);
        let offset: EventTime = parse_time("2026-11-20T14:00+01:00").unwrap();
        assert_eq!(offset.as_nanos(), want);
    }

    #[test]
    fn a_duration_is_that_long_before_now() {
        let now = EventTime::from_nanos(1_795_179_600_000_000_000);
        let ago = parse_time_or_ago("90m", now).unwrap();
        assert_eq!(now.as_nanos() - ago.as_nanos(), 90 * 60_000_000_000);
        assert_eq!(parse_time_or_ago("2026-11-20T13:00Z", now), Ok(now));
        assert!(parse_time_or_ago("ninety", now).is_err());
    }

    #[test]
    fn refuses_other_text() {
        for bad in ["", "yesterday", "2026-13-01", "13:00", "2026-11-20T25:00Z", "20/11/2026"] {
            assert!(parse_time::<crate::model::VenueClock>(bad).is_err(), "{bad}");
        }
    }
}
