//! What every fuzz target shares: a recorder fed a connect, a prefix of valid frames and the
//! fuzzed text, and the checks that must hold for any input (no panic; a refusal is one
//! `refused` row and nothing else).

use mdkit::model::{EventKind, RecvTime};
use mdkit::record::Recorder;
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::Venue;

/// 2026-01-01T00:00:01Z: the receive time of the fuzzed frame (venue times in the seeds
/// are around 2021–2026; a frame a day ahead of it is refused, which is fine).
pub const AT: i64 = 1_767_225_601_000_000_000;

/// Feeds `prefix` and then `text` to a fresh recorder of `venue`'s `market` on one
/// connection carrying `stream`; panics if the fuzzed frame's refusal came with other rows.
pub fn record(venue: Venue, market: &str, stream: Stream, prefix: &[&str], text: &str) {
    let mut recorder = Recorder::new(venue, market, 5);
    let mut ts = AT - 1_000_000_000;
    let connect = Entry::Connect { conn: 1, stream, url: "wss://fuzz".to_owned() };
    recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(ts), entry: connect });
    for frame in prefix {
        ts += 1_000_000;
        let entry = Entry::Frame { conn: 1, text: (*frame).to_owned() };
        recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(ts), entry });
    }
    recorder.clear_output();
    let entry = Entry::Frame { conn: 1, text: text.to_owned() };
    recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(AT), entry });
    let out = recorder.output();
    if out.events.iter().any(|e| e.kind == EventKind::Refused) {
        assert_eq!(out.events.len(), 1, "a refusal with other events: {:?}", out.events);
        assert_eq!(
            out.depth.len() + out.book_top.len() + out.trades.len(),
            0,
            "a refusal with rows"
        );
    }
    // Whatever happened, the state must still save (a state file after any frame).
    let _ = recorder.save();
}

/// A v1 SNAPSHOT of ETH-USD in the simulator's layout, so DELTA inputs have a book.
pub const V1_SNAPSHOT: &str = r#"{"type":"SNAPSHOT","data":{"t":"SNAPSHOT","m":"ETH-USD","b":[{"p":"3000.00","q":"1.500"},{"p":"2999.50","q":"2.000"}],"a":[{"p":"3000.50","q":"0.750"},{"p":"3001.00","q":"3.000"}],"d":"f"},"ts":1767225600000,"seq":1}"#;
