//! Extended v2 JSON-RPC frames: parser, then a recorder with the book and trades topics
//! acked (BTC-USD, the fixtures' market, and ETH-USD, the simulator's) and a SNAPSHOT.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mdkit::storage::Stream;
use mdkit::venue::extended::v2;
use mdkit::venue::Venue;
use mdkit_fuzz::record;

const ACKS_BTC: [&str; 2] = [
    r#"{"id":"1","result":{"method":"subscribe","status":"OK","subscription":"orderbooks.BTC-USD"},"jsonrpc":"2.0"}"#,
    r#"{"id":"2","result":{"method":"subscribe","status":"OK","subscription":"trades.BTC-USD"},"jsonrpc":"2.0"}"#,
];
const ACKS_ETH: [&str; 3] = [
    r#"{"id":1,"result":{"method":"subscribe","status":"OK","subscription":"orderbooks.ETH-USD"},"jsonrpc":"2.0"}"#,
    r#"{"id":2,"result":{"method":"subscribe","status":"OK","subscription":"trades.ETH-USD"},"jsonrpc":"2.0"}"#,
    r#"{"type":"ORDERBOOKS.SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":[{"p":"3000.00","q":"1.500"}],"a":[{"p":"3000.50","q":"0.750"}],"d":"f"},"ts":1767225600000,"seq":0,"subscription":"orderbooks.ETH-USD"}"#,
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = v2::parse(&text);
    record(Venue::ExtendedV2, "BTC-USD", Stream::Combined, &ACKS_BTC, &text);
    record(Venue::ExtendedV2, "ETH-USD", Stream::Combined, &ACKS_ETH, &text);
});
