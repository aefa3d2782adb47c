//! Every value a dYdX indexer message puts in the tables, checked in one place before the
//! message may change anything (docs/VENUES.md §10, §15.5): the market (`id`: the subscribed
//! one), `message_id` (0 or above), each level's price (above zero) and size (not below zero:
//! zero deletes), each trade's price and size (above zero) and time (`createdAt`: not before
//! 2010, not a day after the receive clock). Number syntax, sides, trade kinds and ids are
//! refused by the parser itself ([`super::wire`]), naming the field; the channel is the rules'
//! to judge. Book messages carry no venue time, so there is none to check.

use crate::model::BookSide;
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

use super::wire::{BookUpdate, Message, WireTrade};

/// A message whose every value the tables can hold.
pub fn message(message: &Message, want: &Expect<'_>) -> Result<(), ParseError> {
    match message {
        Message::Connected { message_id }
        | Message::OtherChannel { message_id, .. }
        | Message::Unsubscribed { message_id, .. } => id(*message_id),
        Message::BookSnapshot { market, message_id, book } => {
            id(*message_id)?;
            want.market("id", market)?;
            levels(book, |side, i| format!("contents.{side}[{i}].price"))
        }
        Message::BookUpdates { market, message_id, updates, batched } => {
            id(*message_id)?;
            want.market("id", market)?;
            for (index, update) in updates.iter().enumerate() {
                let at = if *batched { format!("contents[{index}]") } else { "contents".into() };
                levels(update, |side, i| format!("{at}.{side}[{i}][0]"))?;
            }
            Ok(())
        }
        Message::Trades { market, message_id, trades, .. } => {
            id(*message_id)?;
            want.market("id", market)?;
            self::trades(trades, want)
        }
        Message::Error { .. } | Message::Pong => Ok(()),
    }
}

fn id(message_id: i64) -> Result<(), ParseError> {
    if message_id >= 0 {
        return Ok(());
    }
    Err(ParseError::Impossible {
        field: "message_id".to_owned(),
        value: message_id.to_string(),
        rule: "is not a message id (0 or above)".to_owned(),
    })
}

fn levels(update: &BookUpdate, field: impl Fn(&str, usize) -> String) -> Result<(), ParseError> {
    check::levels(BookSide::Bid, &update.bids, |i| field("bids", i))?;
    check::levels(BookSide::Ask, &update.asks, |i| field("asks", i))
}

fn trades(trades: &[WireTrade], want: &Expect<'_>) -> Result<(), ParseError> {
    for (index, trade) in trades.iter().enumerate() {
        let at = |name: &str| format!("contents.trades[{index}].{name}");
        want.time(&at("createdAt"), trade.ts_event)?;
        check::price(&at("price"), trade.price)?;
        check::trade_size(&at("size"), trade.qty)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::dydx::wire::parse;

    const RECV: RecvTime = RecvTime::from_nanos(1_721_848_356_000_000_000); // 2024-07-24

    fn run(text: &str) -> Result<(), String> {
        let want = Expect { market: "ETH-USD", ts_recv: RECV };
        let message = parse(text).map_err(|e| e.to_string())?;
        message_check(&message, &want)
    }

    fn message_check(m: &Message, want: &Expect<'_>) -> Result<(), String> {
        message(m, want).map_err(|e| e.to_string())
    }

    fn update(market: &str, px: &str, sz: &str, id: &str) -> String {
        format!(
            r#"{{"type":"channel_data","connection_id":"c","message_id":{id},"channel":"v4_orderbook","id":"{market}","version":"1.0.0","contents":{{"bids":[["{px}","{sz}"]]}}}}"#
        )
    }

    fn trade(px: &str, sz: &str, at: &str) -> String {
        format!(
            r#"{{"type":"channel_data","connection_id":"c","message_id":5,"channel":"v4_trades","id":"ETH-USD","version":"2.1.0","contents":{{"trades":[{{"id":"014206cf0000000200000002","size":"{sz}","price":"{px}","side":"BUY","createdAt":"{at}","type":"LIMIT"}}]}}}}"#
        )
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        const AT: &str = "2024-07-24T19:12:35.705Z";
        assert_eq!(run(&update("ETH-USD", "3392.9", "0", "7")), Ok(()));
        assert_eq!(run(&trade("3392.9", "0.01", AT)), Ok(()));
        let cases = [
            (
                update("BTC-USD", "1", "1", "7"),
                "field `id` = \"BTC-USD\" names another market than the one subscribed (ETH-USD)",
            ),
            (update("ETH-USD", "0", "1", "7"), "field `contents.bids[0][0]` = 0 is not a price"),
            (update("ETH-USD", "1", "-1", "7"), "bid level 1 has negative absolute size -1"),
            (update("ETH-USD", "1", "1", "-1"), "field `message_id` = -1 is not a message id"),
            (
                trade("3392.9", "0", AT),
                "field `contents.trades[0].size` = 0 is not a traded size above zero",
            ),
            (trade("-1", "1", AT), "field `contents.trades[0].price` = -1 is not a price"),
            (
                trade("1", "1", "2009-12-31T23:59:59.999Z"),
                "field `contents.trades[0].createdAt` = 2009-12-31T23:59:59.999Z is before 2010",
            ),
            (
                trade("1", "1", "2024-07-26T00:00:00Z"),
                "field `contents.trades[0].createdAt` = 2024-07-26",
            ),
        ];
        for (text, want) in cases {
            let err = run(&text).unwrap_err();
            assert!(err.starts_with(want), "{text}\n{err}");
        }
    }
}
