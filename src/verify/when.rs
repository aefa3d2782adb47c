//! `--from` / `--to` in human forms: `2026-11-20`, `2026-11-20T13:00Z`, RFC 3339 with any
//! offset, `2026-11-20 13:00:05.5` (UTC), or a duration meaning that long before now (`90m`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::model::{parse_duration, RecvTime};

/// Why a time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a time: use 2026-11-20, 2026-11-20T13:00Z, 2026-11-20T13:00:05.25+01:00, or a duration before now such as 90m")]
pub struct BadTime {
    pub text: String,
}

/// Parses a time on this machine's clock (the `ts_recv` that partitions the tables).
pub fn parse_time(text: &str, now: RecvTime) -> Result<RecvTime, BadTime> {
    let bad = || BadTime { text: text.to_owned() };
    let trimmed = text.trim();
    if let Ok(ago) = parse_duration(trimmed) {
        let nanos = i64::try_from(ago.as_nanos()).map_err(|_| bad())?;
        return Ok(RecvTime::from_nanos(now.as_nanos().saturating_sub(nanos)));
    }
    let utc = |t: DateTime<Utc>| t.timestamp_nanos_opt().map(RecvTime::from_nanos);
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return utc(t.with_timezone(&Utc)).ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M%:z") {
        return utc(t.with_timezone(&Utc)).ok_or_else(bad);
    }
    let naive = trimmed.strip_suffix(['Z', 'z']).unwrap_or(trimmed);
    for format in
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
    {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return utc(t.and_utc()).ok_or_else(bad);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).and_then(|t| utc(t.and_utc())).ok_or_else(bad);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20T00:00:00Z.
    const DAY_20: i64 = 1_795_132_800_000_000_000;
    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn accepts_human_forms() {
        let now = RecvTime::from_nanos(DAY_20 + 10 * HOUR);
        let cases = [
            ("2026-11-20", DAY_20),
            ("2026-11-20T13:00Z", DAY_20 + 13 * HOUR),
            ("2026-11-20T13:00", DAY_20 + 13 * HOUR),
            ("2026-11-20T13:00:00Z", DAY_20 + 13 * HOUR),
            ("2026-11-20T13:00:00.5+01:00", DAY_20 + 12 * HOUR + 500_000_000),
            ("2026-11-20T13:00+01:00", DAY_20 + 12 * HOUR),
            ("2026-11-20 13:00:00", DAY_20 + 13 * HOUR),
            ("90m", DAY_20 + 10 * HOUR - 90 * 60_000_000_000),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text, now).map(|t| t.as_nanos()), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_other_text() {
        for text in ["", "yesterday", "2026-13-01", "20/11/2026", "13:00"] {
            assert!(parse_time(text, RecvTime::from_nanos(0)).is_err(), "{text}");
        }
    }
}
