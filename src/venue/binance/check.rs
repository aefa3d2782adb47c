//! Every value a Binance frame puts in the tables, checked in one place before the frame may
//! change anything (docs/VENUES.md "Bad venue data"): the symbol `s` (and a COIN-M
//! snapshot's `symbol`), the event time `E` (a trade's `T`), each level's price (above zero)
//! and size (not below zero: zero deletes the level), each trade's price and size (above
//! zero). The taker side `m`, ids and decimals beyond the tables' scale are refused by the
//! parser itself, naming the field.

use super::{DepthUpdate, Snapshot};
use crate::model::{BookSide, Trade};
use crate::venue::check::{self, Expect};
use crate::venue::ParseError;

/// A diff-depth event whose every value the tables can hold.
pub fn depth(diff: &DepthUpdate, want: &Expect<'_>) -> Result<(), ParseError> {
    want.market("data.s", &diff.symbol)?;
    want.time("data.E", diff.ts_event)?;
    check::levels(BookSide::Bid, &diff.bids, |i| format!("data.b[{i}][0]"))?;
    check::levels(BookSide::Ask, &diff.asks, |i| format!("data.a[{i}][0]"))
}

/// A REST depth snapshot whose every level the tables can hold.
pub fn snapshot(snap: &Snapshot, want: &Expect<'_>) -> Result<(), ParseError> {
    if let Some(symbol) = &snap.symbol {
        want.market("symbol", symbol)?;
    }
    if let Some(ts) = snap.ts_event {
        want.time("E", ts)?;
    }
    check::levels(BookSide::Bid, &snap.bids, |i| format!("bids[{i}][0]"))?;
    check::levels(BookSide::Ask, &snap.asks, |i| format!("asks[{i}][0]"))
}

/// A trade the tables can hold.
pub fn trade(trade: &Trade, want: &Expect<'_>) -> Result<(), ParseError> {
    want.market("data.s", &trade.market)?;
    want.time("data.T", trade.ts_event)?;
    check::price("data.p", trade.price)?;
    check::trade_size("data.q", trade.qty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::venue::binance::{parse, Message};

    const RECV: RecvTime = RecvTime::from_nanos(1_767_225_600_000_000_000); // 2026-01-01

    fn run(text: &str) -> Result<(), String> {
        let want = Expect { market: "BTCUSDT", ts_recv: RECV };
        match parse(text).map_err(|e| e.to_string())? {
            Message::Depth(d) => depth(&d, &want),
            Message::Trade(t) => trade(&t, &want),
            Message::Snapshot(s) => snapshot(&s, &want),
            other => panic!("{other:?}"),
        }
        .map_err(|e| e.to_string())
    }

    #[test]
    fn diffs_trades_and_snapshots_are_checked_field_by_field() {
        let now = RECV.as_nanos() / 1_000_000;
        let diff = |sym: &str, e: i64, p: &str| {
            format!(
                r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{e},"s":"{sym}","U":10,"u":12,"b":[["{p}","1.0"]],"a":[["60001","0"]]}}}}"#
            )
        };
        assert_eq!(run(&diff("BTCUSDT", now, "60000")), Ok(()));
        assert!(run(&diff("ETHUSDT", now, "60000"))
            .unwrap_err()
            .contains("`data.s` = \"ETHUSDT\""));
        assert!(run(&diff("BTCUSDT", -1, "60000")).unwrap_err().contains("before 2010-01-01"));
        assert_eq!(
            run(&diff("BTCUSDT", now, "-60000")).unwrap_err(),
            "field `data.b[0][0]` = -60000 is not a price above zero"
        );
        let trade = |p: &str| {
            format!(
                r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{now},"s":"BTCUSDT","t":5,"p":"{p}","q":"0.1","T":{now},"m":true}}}}"#
            )
        };
        assert_eq!(run(&trade("60000")), Ok(()));
        assert_eq!(run(&trade("0")).unwrap_err(), "field `data.p` = 0 is not a price above zero");
        let snap = r#"{"lastUpdateId":9,"bids":[["0","1"]],"asks":[]}"#;
        assert_eq!(run(snap).unwrap_err(), "field `bids[0][0]` = 0 is not a price above zero");
    }
}
