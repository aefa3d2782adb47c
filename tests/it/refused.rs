//! "A refused frame is a frame never received" (docs/VENUES.md "Bad venue data"), through the
//! recorder's public API, for every transport: a bad frame that carries the next sequence
//! number, followed by the real frame with that number, leaves one `refused` row and the
//! real frame recorded — no gap, no reconnect, no value from the bad frame. Also the three
//! frames the recorder used to accept: a trade with a negative price, a book frame stamped
//! −1 ms, and a book frame of another market on this market's stream.

use mdkit::model::{EventKind, RecvTime};
use mdkit::record::{Output, Recorder, Verdict};
use mdkit::storage::{Entry, Record, Stream};
use mdkit::venue::Venue;

/// 2026-01-01T00:00:00Z: the receive clock of these sessions.
const T0_NS: i64 = 1_767_225_600_000_000_000;
const T0_MS: i64 = T0_NS / 1_000_000;

struct Session {
    recorder: Recorder,
    ts: i64,
}

impl Session {
    fn open(venue: Venue, market: &str, stream: Stream) -> Self {
        let mut s = Session { recorder: Recorder::new(venue, market, 20), ts: T0_NS };
        let url = "ws://127.0.0.1:1/test".to_owned();
        assert_eq!(s.apply(Entry::Connect { conn: 1, stream, url }), Verdict::Continue);
        s
    }

    fn apply(&mut self, entry: Entry) -> Verdict {
        self.ts += 1_000_000;
        self.recorder.apply(&Record { jseq: 0, ts_recv: RecvTime::from_nanos(self.ts), entry })
    }

    /// Applies a frame; every frame here must keep the connection up.
    fn frame(&mut self, text: &str) {
        let verdict = self.apply(Entry::Frame { conn: 1, text: text.to_owned() });
        assert_eq!(verdict, Verdict::Continue, "{text}\n{:?}", self.out().events);
    }

    fn out(&self) -> &Output {
        self.recorder.output()
    }

    fn kinds(&self) -> Vec<EventKind> {
        self.out().events.iter().map(|e| e.kind).collect()
    }

    /// The reasons of the `refused` rows.
    fn refusals(&self) -> Vec<String> {
        let refused = self.out().events.iter().filter(|e| e.kind == EventKind::Refused);
        refused.map(|e| e.detail.clone().unwrap_or_default()).collect()
    }
}

fn ext_book(kind: &str, seq: u64, ts: i64, market: &str, bid: &str) -> String {
    let (t, level) = match kind {
        "SNAPSHOT" => ("SNAPSHOT", format!(r#"{{"p":"{bid}","q":"1"}}"#)),
        _ => ("DELTA", format!(r#"{{"p":"{bid}","q":"0.5","c":"1.5"}}"#)),
    };
    format!(
        r#"{{"type":"{t}","data":{{"t":"{t}","m":"{market}","b":[{level}],"a":[{{"p":"3001","q":"2","c":"2"}}],"d":"f"}},"ts":{ts},"seq":{seq}}}"#
    )
}

fn ext_trades(seq: u64, id: i64, price: &str) -> String {
    format!(
        r#"{{"ts":{T0_MS},"seq":{seq},"data":[{{"i":{id},"m":"ETH-USD","S":"BUY","tT":"TRADE","T":{T0_MS},"p":"{price}","q":"0.1"}}]}}"#
    )
}

#[test]
fn extended_book_a_refused_frame_with_the_next_seq_then_the_real_one_is_no_gap() {
    let mut s = Session::open(Venue::Extended, "ETH-USD", Stream::Book);
    s.frame(&ext_book("SNAPSHOT", 1, T0_MS, "ETH-USD", "3000"));
    // Each bad frame carries seq 2, and the real seq 2 follows the last of them.
    s.frame(&ext_book("DELTA", 2, -1, "ETH-USD", "2999")); // stamped −1 ms
    s.frame(&ext_book("DELTA", 2, T0_MS, "BTC-USD", "2999")); // another market
    s.frame(&ext_book("DELTA", 2, T0_MS, "ETH-USD", "-2999")); // a negative price
    s.frame(&ext_book("DELTA", 2, T0_MS, "ETH-USD", "2999")[..40]); // cut short
    s.frame(&ext_book("DELTA", 2, T0_MS, "ETH-USD", "2999"));
    s.frame(&ext_book("DELTA", 3, T0_MS, "ETH-USD", "2998"));
    use EventKind::*;
    assert_eq!(s.kinds(), [Connect, Refused, Refused, Refused, Refused]);
    let reasons = s.refusals();
    assert!(reasons[0].contains("`ts` = 1969-12-31T23:59:59.999Z is before 2010-01-01"));
    assert!(reasons[1].contains("`data.m` = \"BTC-USD\" names another market"), "{reasons:?}");
    assert!(reasons[2].contains("`data.b[0].p` = -2999 is not a price above zero"));
    assert!(reasons[3].contains("invalid JSON"), "{reasons:?}");
    let out = s.out();
    assert_eq!(out.book_top.iter().map(|b| b.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(out.depth.iter().all(|d| d.price.raw() > 0 && d.ts_event.as_nanos() > 0));
    let bids: Vec<String> = out.book_top[2].bids.iter().map(|l| l.price.to_string()).collect();
    assert_eq!(bids, ["3000", "2999", "2998"]);
}

#[test]
fn extended_trades_a_refused_frame_consumes_neither_the_seq_nor_the_trade_id() {
    let mut s = Session::open(Venue::Extended, "ETH-USD", Stream::Trades);
    s.frame(&ext_trades(1, 100, "3000"));
    s.frame(&ext_trades(2, 101, "-3000")); // the next seq and the next id, a negative price
    s.frame(&ext_trades(2, 101, "3000.5"));
    use EventKind::*;
    assert_eq!(s.kinds(), [Connect, Refused]);
    let trades: Vec<(i64, String)> =
        s.out().trades.iter().map(|t| (t.trade_id, t.price.to_string())).collect();
    assert_eq!(trades, [(100, "3000".to_owned()), (101, "3000.5".to_owned())]);
}

#[test]
fn extended_v2_a_refused_frame_keeps_the_connection_global_seq() {
    let mut s = Session::open(Venue::ExtendedV2, "ETH-USD", Stream::Combined);
    for (id, topic) in [(1, "orderbooks.ETH-USD"), (2, "trades.ETH-USD")] {
        s.frame(&format!(
            r#"{{"id":"{id}","result":{{"method":"subscribe","status":"OK","subscription":"{topic}"}},"jsonrpc":"2.0"}}"#
        ));
    }
    let v2 = |kind: &str, data: &str, seq: u64, topic: &str| {
        format!(
            r#"{{"type":"{kind}","data":{data},"ts":{T0_MS},"seq":{seq},"subscription":"{topic}"}}"#
        )
    };
    let book = |t: &str, bid: &str| {
        let inner = ext_book(t, 0, T0_MS, "ETH-USD", bid);
        let start = inner.find("\"data\":").unwrap() + 7;
        let end = inner.find(",\"ts\"").unwrap();
        inner[start..end].to_owned()
    };
    let topic = "orderbooks.ETH-USD";
    s.frame(&v2("ORDERBOOKS.SNAPSHOT", &book("SNAPSHOT", "3000"), 0, topic));
    s.frame(&v2("ORDERBOOKS.DELTA", &book("DELTA", "0"), 1, topic)); // a zero price
    s.frame(&v2("ORDERBOOKS.DELTA", &book("DELTA", "2999"), 1, topic));
    let trade = r#"[{"i":7,"m":"ETH-USD","S":"SIDEWAYS","tT":"TRADE","T":T,"p":"3000","q":"1"}]"#
        .replace("T,", &format!("{T0_MS},"));
    s.frame(&v2("TRADES", &trade, 2, "trades.ETH-USD")); // an unknown side
    s.frame(&v2("TRADES", &trade.replace("SIDEWAYS", "SELL"), 2, "trades.ETH-USD"));
    use EventKind::*;
    assert_eq!(s.kinds(), [Connect, Refused, Refused], "{:?}", s.out().events);
    assert!(
        s.refusals()[1].contains("\"SIDEWAYS\" is not one of: BUY, SELL"),
        "{:?}",
        s.refusals()
    );
    assert_eq!(s.out().book_top.len(), 2);
    assert_eq!(s.out().trades.len(), 1);
}

#[test]
fn binance_a_refused_diff_or_trade_with_the_next_ids_then_the_real_one_is_no_gap() {
    let mut s = Session::open(Venue::BinanceSpot, "BTCUSDT", Stream::Combined);
    let diff = |first: u64, last: u64, symbol: &str, bid: &str, e: i64| {
        format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":{e},"s":"{symbol}","U":{first},"u":{last},"b":[["{bid}","1.5"]],"a":[["60010","2"]]}}}}"#
        )
    };
    let trade = |id: i64, price: &str| {
        format!(
            r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":{T0_MS},"s":"BTCUSDT","t":{id},"p":"{price}","q":"0.01","T":{T0_MS},"m":true}}}}"#
        )
    };
    s.frame(&diff(10, 12, "BTCUSDT", "60000", T0_MS));
    s.frame(r#"{"lastUpdateId":11,"bids":[["59999","1"]],"asks":[["60010","1"]]}"#);
    assert_eq!(s.out().book_top.len(), 1, "{:?}", s.out().events);
    s.frame(&diff(13, 14, "ETHUSDT", "59998", T0_MS)); // another symbol
    s.frame(&diff(13, 14, "BTCUSDT", "59998", T0_MS + 3 * 86_400_000)); // days ahead
    s.frame(&diff(13, 14, "BTCUSDT", "59998", T0_MS));
    s.frame(&trade(500, "-60000"));
    s.frame(&trade(500, "60000"));
    s.frame(&trade(501, "60001"));
    use EventKind::*;
    assert_eq!(s.kinds(), [Connect, Refused, Refused, Refused], "{:?}", s.out().events);
    assert_eq!(s.out().book_top.len(), 2);
    let ids: Vec<i64> = s.out().trades.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids, [500, 501]);
}

#[test]
fn a_tenth_of_a_connections_frames_refused_writes_one_refused_share_row() {
    let mut s = Session::open(Venue::Extended, "ETH-USD", Stream::Trades);
    for seq in 1..=200u64 {
        if seq % 5 == 0 {
            s.frame(&ext_trades(seq, 1000 + seq as i64, "0"));
        }
        s.frame(&ext_trades(seq, 1000 + seq as i64, "3000"));
    }
    let events = &s.out().events;
    let share: Vec<_> = events.iter().filter(|e| e.kind == EventKind::RefusedShare).collect();
    assert_eq!(share.len(), 1, "{share:?}");
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::Refused).count(), 40);
    assert_eq!(s.out().trades.len(), 200);
}

/// A local "venue" on 127.0.0.1: the first book connection gets one 100 MB text message,
/// every later one a SNAPSHOT; trades connections get nothing. Runs until the test ends.
// The handshake callback's error type is tungstenite's (`ErrorResponse`), not ours.
#[allow(clippy::result_large_err)]
fn oversized_venue() -> String {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let mut book_conns = 0;
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let mut path = String::new();
                let callback =
                    |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                        path = req.uri().path().to_owned();
                        Ok(resp)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    continue;
                };
                let text = if !path.contains("orderbooks") {
                    None
                } else {
                    book_conns += 1;
                    Some(if book_conns == 1 {
                        // 100 MB: one message, far past Extended's 2 MiB limit.
                        format!("{{\"pad\":\"{}\"}}", "x".repeat(100 * 1024 * 1024))
                    } else {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis() as i64;
                        ext_book("SNAPSHOT", 1, now, "ETH-USD", "3000")
                    })
                };
                tokio::spawn(async move {
                    if let Some(text) = text {
                        let _ = ws.send(Message::text(text)).await;
                    }
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
    });
    url
}

#[test]
fn a_100_mb_message_is_refused_at_the_socket_with_an_event_and_little_memory() {
    use crate::live::{Collector, Recording};

    let url = oversized_venue();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["ETH-USD", "--url", &url, "--backoff-min", "10ms"];
    let mut collector = Collector::start(&data, &args, true);
    // The opening restart record, two connects, the book's disconnect, the next book
    // connection's connect and its SNAPSHOT.
    collector.wait_journaled(6);
    let peak = collector.peak_rss();
    assert!(collector.interrupt().success());
    assert!(peak < 150 * 1024 * 1024, "peak RSS {} MB", peak / (1024 * 1024));
    let rec = Recording::read(&data, "ETH-USD");
    let why = rec.events.iter().find(|e| e.kind == EventKind::Disconnect);
    let why = why.and_then(|e| e.detail.clone()).unwrap_or_default();
    assert!(why.contains("refused a message over this venue's limit of 2097152 bytes"), "{why}");
    assert_eq!(rec.book_top.len(), 1, "{:?}", rec.events);
    eprintln!("peak RSS with a 100 MB message: {} MB", peak / (1024 * 1024));
}
