//! OKX v5's JSON as the local OKX venue spells it (docs/VENUES.md §12): `books` snapshot and
//! update messages with `seqId`, `prevSeqId` and the signed CRC32 `checksum`, `trades`
//! messages, the `subscribe` acknowledgement and `error` events. Pure functions; no I/O.
//!
//! Prices and sizes are JSON strings in their shortest exact decimal text (`"3000.5"`,
//! `"0.02"`, `"452"`), as OKX writes them; the checksum is computed over that same text.
//! Times are epoch milliseconds as strings, on the simulated clock.

use std::fmt::Write as _;

use crate::model::{Level, TakerSide, Trade};
use crate::venue::okx::WireLevel;

/// A level as its wire text will carry it.
pub fn wire_level(level: &Level) -> WireLevel {
    WireLevel { level: *level, px: level.price.to_string(), sz: level.qty.to_string() }
}

fn levels(out: &mut String, name: &str, levels: &[WireLevel]) {
    let _ = write!(out, r#""{name}":["#);
    for (n, level) in levels.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let _ = write!(out, r#"{comma}["{}","{}","0","1"]"#, level.px, level.sz);
    }
    out.push(']');
}

/// Where a `books` message sits in its subscription's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    pub seq_id: i64,
    /// -1 on a snapshot.
    pub prev_seq_id: i64,
}

/// A `books` message for `inst_id`.
pub fn book(
    snapshot: bool,
    inst_id: &str,
    bids: &[WireLevel],
    asks: &[WireLevel],
    checksum: i32,
    chain: Chain,
    ts_ms: i64,
) -> String {
    let action = if snapshot { "snapshot" } else { "update" };
    let mut out = format!(
        r#"{{"arg":{{"channel":"books","instId":"{inst_id}"}},"action":"{action}","data":[{{"#
    );
    levels(&mut out, "asks", asks);
    out.push(',');
    levels(&mut out, "bids", bids);
    let _ = write!(
        out,
        r#","ts":"{ts_ms}","checksum":{checksum},"prevSeqId":{},"seqId":{}}}]}}"#,
        chain.prev_seq_id, chain.seq_id
    );
    out
}

/// A `trades` message of `trades`, one row each.
pub fn trades(inst_id: &str, trades: &[Trade]) -> String {
    let mut out = format!(r#"{{"arg":{{"channel":"trades","instId":"{inst_id}"}},"data":["#);
    for (n, trade) in trades.iter().enumerate() {
        let comma = if n > 0 { "," } else { "" };
        let side = match trade.side {
            TakerSide::Buy => "buy",
            TakerSide::Sell => "sell",
        };
        let ts = trade.ts_event.as_nanos() / 1_000_000;
        let _ = write!(
            out,
            r#"{comma}{{"instId":"{inst_id}","tradeId":"{}","px":"{}","sz":"{}","side":"{side}","ts":"{ts}","count":"1"}}"#,
            trade.id, trade.price, trade.qty
        );
    }
    out.push_str("]}");
    out
}

/// The acknowledgement of one subscription.
pub fn subscribed(channel: &str, inst_id: &str, conn_id: &str) -> String {
    format!(
        r#"{{"event":"subscribe","arg":{{"channel":"{channel}","instId":"{inst_id}"}},"connId":"{conn_id}"}}"#
    )
}

/// An `error` event (OKX's codes: 60012 bad request, 60018 no such channel or instrument).
pub fn error(code: u32, message: &str, conn_id: &str) -> String {
    let message = serde_json::Value::from(message);
    format!(r#"{{"event":"error","code":"{code}","msg":{message},"connId":"{conn_id}"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTime, Price, Qty};
    use crate::venue::okx::{parse, Message, OkxBook};

    fn level(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    #[test]
    fn book_messages_read_back_with_their_checksum_and_chain() {
        let bids = [wire_level(&level("3000.5", "0.02")), wire_level(&level("3000", "1"))];
        let asks = [wire_level(&level("3001", "2.5"))];
        let mut view = OkxBook::new();
        view.apply(true, &bids, &asks);
        let chain = Chain { seq_id: 10, prev_seq_id: -1 };
        let text = book(true, "ETH-USDT", &bids, &asks, view.checksum(), chain, 1_767_225_600_000);
        assert!(text.contains(r#"["3000.5","0.02","0","1"]"#), "{text}");
        let Ok(Message::Book(message)) = parse(&text) else { panic!("{text}") };
        let data = &message.data[0];
        assert_eq!((data.seq_id, data.prev_seq_id), (Some(10), Some(-1)));
        let mut client = OkxBook::new();
        client.apply(message.snapshot, &data.bids, &data.asks);
        assert_eq!(Some(client.checksum()), data.checksum);
    }

    #[test]
    fn trades_and_events_read_back() {
        let trade = Trade {
            market: "ETH-USDT".into(),
            id: 42,
            ts_event: EventTime::from_nanos(1_767_225_600_123_000_000),
            price: Price::parse("3000.5").unwrap(),
            qty: Qty::parse("0.01").unwrap(),
            side: TakerSide::Sell,
            kind: crate::model::TradeKind::Trade,
        };
        let Ok(Message::Trades(rows)) = parse(&trades("ETH-USDT", &[trade])) else { panic!() };
        assert_eq!((rows[0].id, rows[0].side, rows[0].count), (42, TakerSide::Sell, 1));
        assert_eq!(rows[0].ts_event.as_nanos(), 1_767_225_600_123_000_000);
        assert_eq!(parse(&subscribed("books", "ETH-USDT", "c1")), Ok(Message::Subscribed));
        let Ok(Message::Error { code, .. }) = parse(&error(60018, "no \"X\"", "c1")) else {
            panic!()
        };
        assert_eq!(code, "60018");
    }
}
