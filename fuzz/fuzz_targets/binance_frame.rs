//! Binance combined-stream frames and REST snapshot bodies (spot, USD-M, COIN-M): parser,
//! checks, and a recorder of each market with nothing before, and with a snapshot first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdkit::model::RecvTime;
use mdkit::storage::Stream;
use mdkit::venue::binance::{self, check, Message};
use mdkit::venue::check::Expect;
use mdkit::venue::Venue;
use mdkit_fuzz::{record, AT};

const SNAPSHOT: &str = r#"{"lastUpdateId":7000000030,"bids":[["30000.00000000","1.50000000"]],"asks":[["30001.00000000","0.75000000"]]}"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(message) = binance::parse(&text) {
        let want = Expect { market: "BTCUSDT", ts_recv: RecvTime::from_nanos(AT) };
        let _ = match &message {
            Message::Depth(diff) => check::depth(diff, &want),
            Message::Snapshot(snap) => check::snapshot(snap, &want),
            Message::Trade(trade) => check::trade(trade, &want),
            _ => Ok(()),
        };
    }
    for venue in [Venue::BinanceSpot, Venue::BinanceUsdm, Venue::BinanceCoinm] {
        record(venue, "BTCUSDT", Stream::Combined, &[], &text);
        record(venue, "BTCUSDT", Stream::Combined, &[SNAPSHOT], &text);
    }
});
