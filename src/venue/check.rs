//! The checks every venue applies to the values the tables store, after a frame was read and
//! before it may change anything (docs/VENUES.md "Bad venue data"): prices above zero, book
//! sizes not below zero (zero deletes a level), trade sizes above zero, the frame's market
//! the one subscribed, and venue times between 2010-01-01 and one day after the receive
//! clock. Each venue calls them from its own `check` module, which knows its fields' names.
//!
//! A failed check is a [`ParseError`] naming the field, the value and the rule; the venue's
//! rules then refuse the frame whole. Pure: no clocks (the receive time is an argument).

use crate::model::{BookSide, EventTime, Level, Price, Qty, RecvTime, NANOS_PER_DAY};
use crate::venue::ParseError;

/// 2010-01-01T00:00:00Z in ns: no venue mdkit records had a market before it.
pub const EARLIEST_NS: i64 = 1_262_304_000_000_000_000;
/// How far a venue time may run ahead of the receive clock (clocks drift; a day does not).
pub const AHEAD_NS: i64 = NANOS_PER_DAY;

/// What a frame on one connection must agree with.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The market as the venue's frames spell it (Extended `ETH-USD`, Binance `BTCUSDT`).
    pub market: &'a str,
    /// When the frame was read, on this machine's clock.
    pub ts_recv: RecvTime,
}

impl Expect<'_> {
    /// A venue time is plausible: not before 2010, not more than a day after `ts_recv`.
    pub fn time(&self, field: &str, ts: EventTime) -> Result<(), ParseError> {
        let nanos = ts.as_nanos();
        let rule = if nanos < EARLIEST_NS {
            "is before 2010-01-01".to_owned()
        } else if nanos > self.ts_recv.as_nanos().saturating_add(AHEAD_NS) {
            format!(
                "is more than a day after the receive time {}",
                rfc3339(self.ts_recv.as_nanos())
            )
        } else {
            return Ok(());
        };
        Err(ParseError::Impossible { field: field.to_owned(), value: rfc3339(nanos), rule })
    }

    /// The frame names the subscribed market (compared as the venue spells it, ignoring case).
    pub fn market(&self, field: &str, found: &str) -> Result<(), ParseError> {
        if found.eq_ignore_ascii_case(self.market) {
            return Ok(());
        }
        Err(ParseError::OtherMarket {
            field: field.to_owned(),
            found: found.to_owned(),
            expected: self.market.to_owned(),
        })
    }
}

/// A price above zero.
pub fn price(field: &str, price: Price) -> Result<(), ParseError> {
    if price.raw() > 0 {
        return Ok(());
    }
    Err(ParseError::Impossible {
        field: field.to_owned(),
        value: price.to_string(),
        rule: "is not a price above zero".to_owned(),
    })
}

/// A traded size above zero.
pub fn trade_size(field: &str, qty: Qty) -> Result<(), ParseError> {
    if qty.raw() > 0 {
        return Ok(());
    }
    Err(ParseError::Impossible {
        field: field.to_owned(),
        value: qty.to_string(),
        rule: "is not a traded size above zero".to_owned(),
    })
}

/// Book levels: prices above zero, sizes not below zero (zero deletes the level). `field`
/// names a level's price field from its index (`data.b[3].p`).
pub fn levels(
    side: BookSide,
    levels: &[Level],
    field: impl Fn(usize) -> String,
) -> Result<(), ParseError> {
    for (index, level) in levels.iter().enumerate() {
        price(&field(index), level.price)?;
        if level.qty.is_negative() {
            return Err(ParseError::NegativeSize { side, price: level.price, qty: level.qty });
        }
    }
    Ok(())
}

fn rfc3339(nanos: i64) -> String {
    EventTime::from_nanos(nanos).to_datetime().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> RecvTime {
        let t = chrono::DateTime::parse_from_rfc3339(text).unwrap();
        RecvTime::from_nanos(t.timestamp_nanos_opt().unwrap())
    }

    #[test]
    fn times_before_2010_or_a_day_ahead_are_refused_with_the_rule() {
        let want = Expect { market: "ETH-USD", ts_recv: at("2026-12-05T12:00:00Z") };
        let ok = EventTime::from_nanos(at("2026-12-06T11:59:59Z").as_nanos());
        assert_eq!(want.time("ts", ok), Ok(()));
        let err = want.time("ts", EventTime::from_nanos(-1_000_000)).unwrap_err().to_string();
        assert_eq!(err, "field `ts` = 1969-12-31T23:59:59.999Z is before 2010-01-01");
        let late = EventTime::from_nanos(at("2026-12-06T12:00:01Z").as_nanos());
        let err = want.time("T", late).unwrap_err().to_string();
        assert!(err.contains("is more than a day after the receive time 2026-12-05T12:00:00.000Z"));
    }

    #[test]
    fn prices_sizes_and_markets_follow_the_rules() {
        let want = Expect { market: "BTCUSDT", ts_recv: at("2026-12-05T12:00:00Z") };
        assert_eq!(want.market("s", "btcusdt"), Ok(()));
        let err = want.market("s", "ETHUSDT").unwrap_err().to_string();
        assert_eq!(
            err,
            "field `s` = \"ETHUSDT\" names another market than the one subscribed (BTCUSDT)"
        );
        let p = |t| Price::parse(t).unwrap();
        assert!(price("p", p("0.00000001")).is_ok());
        assert_eq!(
            price("data.b[0].p", p("-3000.5")).unwrap_err().to_string(),
            "field `data.b[0].p` = -3000.5 is not a price above zero"
        );
        assert!(price("p", p("0")).is_err());
        let q = |t| Qty::parse(t).unwrap();
        assert!(trade_size("q", q("0")).is_err());
        let book = [Level::new(p("1"), q("0")), Level::new(p("2"), q("-1"))];
        let err = levels(BookSide::Bid, &book, |i| format!("b[{i}]")).unwrap_err();
        assert!(matches!(err, ParseError::NegativeSize { .. }), "{err}");
        assert!(levels(BookSide::Bid, &book[..1], |i| format!("b[{i}]")).is_ok());
    }
}
