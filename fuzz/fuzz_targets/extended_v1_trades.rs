//! Extended v1 public-trades frames: parser, checks, and a recorder (first frame = replay,
//! and a second frame after a valid one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdkit::model::RecvTime;
use mdkit::storage::Stream;
use mdkit::venue::check::Expect;
use mdkit::venue::extended::check;
use mdkit::venue::extended::v1::{self, Message};
use mdkit::venue::Venue;
use mdkit_fuzz::{record, AT};

const REPLAY: &str = r#"{"ts":1767225600000,"seq":1,"data":[{"i":1001,"m":"ETH-USD","S":"BUY","tT":"TRADE","T":1767225599997,"p":"3000.5","q":"0.250"}]}"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(Message::Data(frame)) = v1::parse_trades(&text) {
        let want = Expect { market: "ETH-USD", ts_recv: RecvTime::from_nanos(AT) };
        let _ = check::trades(&frame, &want);
    }
    record(Venue::Extended, "ETH-USD", Stream::Trades, &[], &text);
    record(Venue::Extended, "ETH-USD", Stream::Trades, &[REPLAY], &text);
});
