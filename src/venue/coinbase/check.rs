//! Every value an Advanced Trade message puts in the tables, checked in one place before the
//! message may change anything (docs/VENUES.md §10, §16.5): the message's `timestamp` (not
//! before 2010, not a day after the receive clock), `sequence_num` (not below zero), each
//! `l2_data` event's product (the subscribed one) and levels (price above zero, size not
//! below zero: zero removes), each trade's product, `time`, price and size (above zero).
//! Number syntax, sides and ids are refused by the parser itself ([`super::wire`]), naming
//! the field; which channel may arrive on which connection is the rules' to judge.

use crate::model::BookSide;
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{Body, Envelope};

/// A message whose every value the tables can hold.
pub fn message(message: &Envelope, want: &Expect<'_>) -> Result<(), ParseError> {
    want.time("timestamp", message.ts_event)?;
    if message.sequence_num < 0 {
        return Err(ParseError::Impossible {
            field: "sequence_num".to_owned(),
            value: message.sequence_num.to_string(),
            rule: "is not a sequence number of zero or more".to_owned(),
        });
    }
    match &message.body {
        Body::L2(events) => {
            for (index, event) in events.iter().enumerate() {
                want.market(&format!("events[{index}].product_id"), &event.product_id)?;
                // Levels are split by side after reading; the name says which side and the
                // level's place within it.
                for (side, name, levels) in
                    [(BookSide::Bid, "bid", &event.bids), (BookSide::Ask, "offer", &event.asks)]
                {
                    check::levels(side, levels, |i| {
                        format!("events[{index}].updates ({name} {i}).price_level")
                    })?;
                }
            }
        }
        Body::Trades(events) => {
            for (index, event) in events.iter().enumerate() {
                for (at, trade) in event.trades.iter().enumerate() {
                    let field = |name: &str| format!("events[{index}].trades[{at}].{name}");
                    want.market(&field("product_id"), &trade.product_id)?;
                    want.time(&field("time"), trade.ts_event)?;
                    check::price(&field("price"), trade.price)?;
                    check::trade_size(&field("size"), trade.qty)?;
                }
            }
        }
        Body::Heartbeat | Body::Subscriptions | Body::Other { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::coinbase::wire::{parse, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_675_974_770_000_000_000); // 2023-02-09

    fn run(text: &str, market: &str) -> Result<(), String> {
        let Message::Data(envelope) = parse(text).map_err(|e| e.to_string())? else {
            panic!("not data")
        };
        message(&envelope, &Expect { market, ts_recv: RECV }).map_err(|e| e.to_string())
    }

    fn l2(product: &str, px: &str, qty: &str) -> String {
        format!(
            r#"{{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":3,"events":[{{"type":"update","product_id":"{product}","updates":[{{"side":"offer","event_time":"2023-02-09T20:32:50.7Z","price_level":"{px}","new_quantity":"{qty}"}}]}}]}}"#
        )
    }

    fn trade(px: &str, size: &str, time: &str) -> String {
        format!(
            r#"{{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,"events":[{{"type":"update","trades":[{{"trade_id":"5","product_id":"BTC-USD","price":"{px}","size":"{size}","side":"SELL","time":"{time}"}}]}}]}}"#
        )
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        const T: &str = "2023-02-09T20:19:35Z";
        assert_eq!(run(&l2("BTC-USD", "21921.73", "0"), "BTC-USD"), Ok(()));
        assert_eq!(run(&trade("21921.73", "0.1", T), "BTC-USD"), Ok(()));
        let cases = [
            (
                run(&l2("ETH-USD", "1", "1"), "BTC-USD"),
                "field `events[0].product_id` = \"ETH-USD\" names another market",
            ),
            (
                run(&l2("BTC-USD", "0", "1"), "BTC-USD"),
                "field `events[0].updates (offer 0).price_level` = 0 is not a price above zero",
            ),
            (
                run(&l2("BTC-USD", "1", "-1"), "BTC-USD"),
                "ask level 1 has negative absolute size -1",
            ),
            (
                run(
                    &l2("BTC-USD", "1", "1").replace("\"sequence_num\":3", "\"sequence_num\":-3"),
                    "BTC-USD",
                ),
                "field `sequence_num` = -3 is not a sequence number of zero or more",
            ),
            (
                run(&trade("1", "0", T), "BTC-USD"),
                "field `events[0].trades[0].size` = 0 is not a traded size above zero",
            ),
            (
                run(&trade("1", "1", "2009-12-31T23:59:59Z"), "BTC-USD"),
                "field `events[0].trades[0].time` = 2009-12-31T23:59:59.000Z is before 2010-01-01",
            ),
            (
                run(
                    &trade("1", "1", T)
                        .replace("2023-02-09T20:19:35.39625135Z", "2023-02-11T00:00:00Z"),
                    "BTC-USD",
                ),
                "field `timestamp` = 2023-02-11T00:00:00.000Z is more than a day after",
            ),
        ];
        for (result, want) in cases {
            let err = result.unwrap_err();
            assert!(err.starts_with(want), "{err}");
        }
    }
}
