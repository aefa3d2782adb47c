//! Every value an Extended frame puts in the tables, checked in one place before the frame
//! may change anything (docs/VENUES.md "Bad venue data"): the book's market `data.m`, its
//! venue time `ts`, each level's price (above zero) and new size (not below zero, which the
//! parser already holds); each trade's market `m`, time `T`, price and size (above zero).
//! Sides, trade kinds, ids, numbers and decimals beyond the tables' scale are refused by the
//! parser itself, naming the field. Both transports (v1, v2) carry the same payloads, so
//! both use these checks.

use super::{BookUpdate, TradesFrame};
use crate::model::BookSide;
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

/// A book frame whose every value the tables can hold.
pub fn book(update: &BookUpdate, want: &Expect<'_>) -> Result<(), ParseError> {
    let frame = &update.frame;
    want.market("data.m", &frame.market)?;
    want.time("ts", frame.ts_event)?;
    check::levels(BookSide::Bid, &frame.bids, |i| format!("data.b[{i}].p"))?;
    check::levels(BookSide::Ask, &frame.asks, |i| format!("data.a[{i}].p"))
}

/// A trades frame whose every trade the tables can hold (one bad trade refuses the frame:
/// its other trades come again in the next connection's replay only if it reconnects, so
/// the refusal is an `events` row and the journal keeps the frame for a later `import`).
pub fn trades(frame: &TradesFrame, want: &Expect<'_>) -> Result<(), ParseError> {
    want.time("ts", frame.ts_event)?;
    for (i, trade) in frame.trades.iter().enumerate() {
        want.market(&format!("data[{i}].m"), &trade.market)?;
        want.time(&format!("data[{i}].T"), trade.ts_event)?;
        check::price(&format!("data[{i}].p"), trade.price)?;
        check::trade_size(&format!("data[{i}].q"), trade.qty)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::extended::v1::{self, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_767_225_600_000_000_000); // 2026-01-01

    fn book_frame(market: &str, ts: i64, price: &str) -> String {
        format!(
            r#"{{"type":"SNAPSHOT","ts":{ts},"seq":1,"data":{{"t":"SNAPSHOT","m":"{market}","b":[{{"p":"{price}","q":"1"}}],"a":[{{"p":"3001","q":"2"}}],"d":"f"}}}}"#
        )
    }

    fn check_book(text: &str) -> Result<(), String> {
        let Ok(Message::Data(update)) = v1::parse_book(text) else { panic!("{text}") };
        book(&update, &Expect { market: "ETH-USD", ts_recv: RECV }).map_err(|e| e.to_string())
    }

    #[test]
    fn a_book_frame_of_another_market_a_bad_time_or_price_is_refused() {
        let now = RECV.as_nanos() / 1_000_000;
        assert_eq!(check_book(&book_frame("ETH-USD", now, "3000")), Ok(()));
        let err = check_book(&book_frame("BTC-USD", now, "3000")).unwrap_err();
        assert!(err.contains("`data.m` = \"BTC-USD\" names another market"), "{err}");
        let err = check_book(&book_frame("ETH-USD", -1, "3000")).unwrap_err();
        assert!(err.contains("`ts` = 1969-12-31T23:59:59.999Z is before 2010-01-01"), "{err}");
        let err = check_book(&book_frame("ETH-USD", now + 2 * 86_400_000, "3000")).unwrap_err();
        assert!(err.contains("more than a day after"), "{err}");
        let err = check_book(&book_frame("ETH-USD", now, "-3000")).unwrap_err();
        assert_eq!(err, "field `data.b[0].p` = -3000 is not a price above zero");
        assert!(check_book(&book_frame("ETH-USD", now, "0")).is_err());
    }

    #[test]
    fn a_trade_with_a_price_at_or_below_zero_refuses_its_frame() {
        let now = RECV.as_nanos() / 1_000_000;
        let frame = |price: &str, market: &str| {
            format!(
                r#"{{"ts":{now},"seq":2,"data":[{{"i":1,"m":"ETH-USD","S":"BUY","tT":"TRADE","T":{now},"p":"3000","q":"1"}},{{"i":2,"m":"{market}","S":"SELL","tT":"TRADE","T":{now},"p":"{price}","q":"1"}}]}}"#
            )
        };
        let run = |text: &str| {
            let Ok(Message::Data(f)) = v1::parse_trades(text) else { panic!("{text}") };
            trades(&f, &Expect { market: "ETH-USD", ts_recv: RECV }).map_err(|e| e.to_string())
        };
        assert_eq!(run(&frame("2999.5", "ETH-USD")), Ok(()));
        assert_eq!(
            run(&frame("-1", "ETH-USD")).unwrap_err(),
            "field `data[1].p` = -1 is not a price above zero"
        );
        assert!(run(&frame("1", "SOL-USD")).unwrap_err().contains("data[1].m"));
    }
}
