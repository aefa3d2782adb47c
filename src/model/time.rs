//! Nanosecond timestamps that name their clock.
//!
//! Every row carries two clocks: the venue's (`ts_event`, when the venue says it generated
//! the frame) and ours (`ts_recv`, when the frame left the socket). They can disagree by
//! more than a second in either direction (docs/VENUES.md §0), so mixing them up is a bug the type
//! system should catch: [`Timestamp<C>`] is an `i64` of nanoseconds since the Unix epoch,
//! tagged with a zero-sized clock type. Use the aliases [`EventTime`] and [`RecvTime`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};

/// A clock that timestamps can be taken from.
pub trait Clock: Copy + 'static {
    /// Short name used in messages (`venue`, `local`).
    const NAME: &'static str;
}

/// The venue's clock: `ts_event`, `T` of a trade, `ts` of a book frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VenueClock;
impl Clock for VenueClock {
    const NAME: &'static str = "venue";
}

/// This machine's wall clock: `ts_recv`, when a frame was read from the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalClock;
impl Clock for LocalClock {
    const NAME: &'static str = "local";
}

/// Nanoseconds since the Unix epoch on clock `C`.
pub struct Timestamp<C: Clock> {
    nanos: i64,
    clock: PhantomData<C>,
}

/// Venue time (`ts_event`).
pub type EventTime = Timestamp<VenueClock>;
/// Local receive time (`ts_recv`).
pub type RecvTime = Timestamp<LocalClock>;

pub const NANOS_PER_MILLI: i64 = 1_000_000;
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

impl<C: Clock> Timestamp<C> {
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos, clock: PhantomData }
    }

    /// From epoch milliseconds (venues send `ts` in ms); `None` if it would overflow.
    pub fn from_millis(millis: i64) -> Option<Self> {
        millis.checked_mul(NANOS_PER_MILLI).map(Self::from_nanos)
    }

    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// The UTC calendar date, which names the `date=` partition.
    pub fn utc_date(self) -> NaiveDate {
        self.to_datetime().date_naive()
    }

    /// Nanoseconds since the start of this timestamp's UTC day.
    pub fn nanos_of_day(self) -> i64 {
        self.nanos.rem_euclid(NANOS_PER_DAY)
    }

    /// The first nanosecond of the next UTC day.
    pub fn next_utc_midnight(self) -> Self {
        Self::from_nanos(self.nanos - self.nanos_of_day() + NANOS_PER_DAY)
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.nanos)
    }

    pub fn saturating_add_nanos(self, nanos: i64) -> Self {
        Self::from_nanos(self.nanos.saturating_add(nanos))
    }
}

impl RecvTime {
    /// Now, on this machine's wall clock.
    pub fn now() -> Self {
        let now = Utc::now();
        Self::from_nanos(now.timestamp_nanos_opt().unwrap_or(i64::MAX))
    }
}

// Manual impls: derives would demand `C: Trait` bounds the marker types need not meet.
impl<C: Clock> Clone for Timestamp<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C: Clock> Copy for Timestamp<C> {}
impl<C: Clock> PartialEq for Timestamp<C> {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl<C: Clock> Eq for Timestamp<C> {}
impl<C: Clock> PartialOrd for Timestamp<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<C: Clock> Ord for Timestamp<C> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}
impl<C: Clock> Hash for Timestamp<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl<C: Clock> fmt::Display for Timestamp<C> {
    /// RFC 3339 with nanoseconds, e.g. `2026-11-20T13:00:00.000000001Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_datetime().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        f.write_str(&text)
    }
}

impl<C: Clock> fmt::Debug for Timestamp<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}({})", C::NAME, self, self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_become_nanos() {
        let t = EventTime::from_millis(1_790_425_441_918).unwrap();
        assert_eq!(t.as_nanos(), 1_790_425_441_918_000_000);
        assert_eq!(t.to_string(), "2026-09-26T12:24:01.918Z");
        assert!(EventTime::from_millis(i64::MAX).is_none());
    }

    #[test]
    fn date_and_midnight_are_utc() {
        let t = RecvTime::from_nanos(NANOS_PER_DAY * 3 - 1);
        assert_eq!(t.utc_date().to_string(), "1970-01-03");
        assert_eq!(t.next_utc_midnight().as_nanos(), NANOS_PER_DAY * 3);
        assert_eq!(
            RecvTime::from_nanos(NANOS_PER_DAY * 3).next_utc_midnight().as_nanos(),
            NANOS_PER_DAY * 4
        );
        let before_epoch = RecvTime::from_nanos(-1);
        assert_eq!(before_epoch.utc_date().to_string(), "1969-12-31");
        assert_eq!(before_epoch.next_utc_midnight().as_nanos(), 0);
    }

    #[test]
    fn debug_names_the_clock() {
        assert!(format!("{:?}", EventTime::from_nanos(0)).starts_with("venue@"));
        assert!(format!("{:?}", RecvTime::from_nanos(0)).starts_with("local@"));
    }
}
