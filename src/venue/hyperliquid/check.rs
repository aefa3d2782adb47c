//! Every value a Hyperliquid message puts in the tables, checked in one place before the
//! message may change anything (docs/VENUES.md §10 "Bad venue data", §13.5): the `coin` (the
//! subscribed one, compared exactly: Hyperliquid's names are case-sensitive, `kPEPE`), the
//! venue `time` (not before 2010, not a day after the receive clock, and a book push's not
//! before the previous push's on the same connection — it would move the book back), each
//! level's price (above zero) and size (not below zero), bids strictly descending and asks
//! strictly ascending (a repeated or misordered price is not a book), each trade's price and
//! size (above zero). Sides, ids, `n` and number syntax are refused by the parser itself
//! ([`super::wire`]), naming the field.

use crate::model::{BookSide, EventTime, Level, Price, NANOS_PER_MILLI};
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{BookPush, WireLevel, WireTrade};

/// The places of the two sides' levels, for refusals.
const SIDES: [(BookSide, &str); 2] =
    [(BookSide::Bid, "data.levels[0]"), (BookSide::Ask, "data.levels[1]")];

/// An `l2Book` push whose every value the tables can hold; `previous` is the venue time of
/// the last push accepted on this connection (none for its first).
pub fn book(
    push: &BookPush,
    want: &Expect<'_>,
    previous: Option<EventTime>,
) -> Result<(), ParseError> {
    coin(want, "data.coin", &push.coin)?;
    want.time("data.time", push.ts_event)?;
    if let Some(previous) = previous.filter(|p| push.ts_event < *p) {
        return Err(ParseError::Impossible {
            field: "data.time".to_owned(),
            value: millis(push.ts_event).to_string(),
            rule: format!(
                "is before the previous book push's time {} on this connection (the book would move back)",
                millis(previous)
            ),
        });
    }
    for ((side, place), levels) in SIDES.into_iter().zip([&push.bids, &push.asks]) {
        let field = |i: usize| format!("{place}[{i}].px");
        check::levels(side, &plain(levels), field)?;
        for (index, pair) in levels.windows(2).enumerate() {
            let (before, level) = (pair[0].price, pair[1].price);
            let ordered = match side {
                BookSide::Bid => level < before,
                BookSide::Ask => level > before,
            };
            if !ordered {
                return Err(misordered(side, field(index + 1), level, before));
            }
        }
    }
    Ok(())
}

/// A `trades` push whose every trade the tables can hold.
pub fn trades(trades: &[WireTrade], want: &Expect<'_>) -> Result<(), ParseError> {
    for (index, trade) in trades.iter().enumerate() {
        let at = |name: &str| format!("data[{index}].{name}");
        coin(want, &at("coin"), &trade.coin)?;
        want.time(&at("time"), trade.ts_event)?;
        check::price(&at("px"), trade.price)?;
        check::trade_size(&at("sz"), trade.qty)?;
    }
    Ok(())
}

/// The coin is the subscribed one, exactly (not ignoring case as [`Expect::market`] does).
fn coin(want: &Expect<'_>, field: &str, found: &str) -> Result<(), ParseError> {
    if found == want.market {
        return Ok(());
    }
    Err(ParseError::OtherMarket {
        field: field.to_owned(),
        found: found.to_owned(),
        expected: want.market.to_owned(),
    })
}

fn misordered(side: BookSide, field: String, price: Price, before: Price) -> ParseError {
    let rule = match side {
        BookSide::Bid => format!("is not below the bid before it ({before}): bids must descend"),
        BookSide::Ask => format!("is not above the ask before it ({before}): asks must ascend"),
    };
    ParseError::Impossible { field, value: price.to_string(), rule }
}

/// A venue time in epoch ms, as the wire spells it.
fn millis(ts: EventTime) -> i64 {
    ts.as_nanos().div_euclid(NANOS_PER_MILLI)
}

fn plain(levels: &[WireLevel]) -> Vec<Level> {
    levels.iter().map(|l| Level::new(l.price, l.qty)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::hyperliquid::wire::{parse, Message};

    /// 2025-01-26T19:14:03Z, the fixture's day.
    const RECV: RecvTime = RecvTime::from_nanos(1_737_918_843_000_000_000);
    const TIME: i64 = 1_737_918_843_542;

    fn run(text: &str, previous: Option<i64>) -> Result<(), String> {
        let want = Expect { market: "BTC", ts_recv: RECV };
        let previous = previous.and_then(EventTime::from_millis);
        match parse(text).map_err(|e| e.to_string())? {
            Message::Book(push) => book(&push, &want, previous),
            Message::Trades(list) => trades(&list, &want),
            other => panic!("{other:?}"),
        }
        .map_err(|e| e.to_string())
    }

    fn book_text(coin: &str, time: i64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> String {
        let side = |levels: &[(&str, &str)]| {
            levels
                .iter()
                .map(|(p, s)| format!(r#"{{"px":"{p}","sz":"{s}","n":1}}"#))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            r#"{{"channel":"l2Book","data":{{"coin":"{coin}","time":{time},"levels":[[{}],[{}]]}}}}"#,
            side(bids),
            side(asks)
        )
    }

    fn trade_text(coin: &str, px: &str, sz: &str, time: i64) -> String {
        format!(
            r#"{{"channel":"trades","data":[{{"coin":"{coin}","hash":"0x0","px":"{px}","side":"B","sz":"{sz}","tid":7,"time":{time},"users":[]}}]}}"#
        )
    }

    #[test]
    fn good_values_pass() {
        let good =
            book_text("BTC", TIME, &[("101", "1"), ("100", "0")], &[("102", "2"), ("103", "1")]);
        assert_eq!(run(&good, Some(TIME)), Ok(()), "an equal time is not going back");
        assert_eq!(run(&trade_text("BTC", "101", "0.1", TIME), None), Ok(()));
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let b = |bids: &[(&str, &str)], asks: &[(&str, &str)]| book_text("BTC", TIME, bids, asks);
        let cases = [
            (
                run(&book_text("btc", TIME, &[], &[]), None),
                "field `data.coin` = \"btc\" names another market than the one subscribed (BTC)",
            ),
            (
                run(&book_text("BTC", 1_000, &[], &[]), None),
                "field `data.time` = 1970-01-01T00:00:01.000Z is before 2010-01-01",
            ),
            (
                run(&book_text("BTC", TIME - 1, &[], &[]), Some(TIME)),
                "field `data.time` = 1737918843541 is before the previous book push's time 1737918843542",
            ),
            (
                run(&b(&[("101", "1"), ("0", "1")], &[]), None),
                "field `data.levels[0][1].px` = 0 is not a price above zero",
            ),
            (run(&b(&[], &[("102", "-1")]), None), "ask level 102 has negative absolute size -1"),
            (
                run(&b(&[("101", "1"), ("101", "2")], &[]), None),
                "field `data.levels[0][1].px` = 101 is not below the bid before it (101)",
            ),
            (
                run(&b(&[], &[("102", "1"), ("103", "1"), ("102.5", "1")]), None),
                "field `data.levels[1][2].px` = 102.5 is not above the ask before it (103)",
            ),
            (
                run(&trade_text("ETH", "101", "1", TIME), None),
                "field `data[0].coin` = \"ETH\" names another market",
            ),
            (
                run(&trade_text("BTC", "101", "0", TIME), None),
                "field `data[0].sz` = 0 is not a traded size above zero",
            ),
            (
                run(&trade_text("BTC", "-1", "1", TIME), None),
                "field `data[0].px` = -1 is not a price above zero",
            ),
            (
                run(&trade_text("BTC", "1", "1", TIME + 2 * 86_400_000), None),
                "field `data[0].time` = 2025-01-28T19:14:03.542Z is more than a day after",
            ),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err();
            assert!(err.starts_with(want), "{want}\n{err}");
        }
    }
}
