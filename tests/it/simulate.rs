//! `mdkit simulate` over real sockets: the binary runs on 127.0.0.1:0, the tests read the
//! port from its first stdout line and speak to it with a plain tokio-tungstenite client.
//! Nothing sleeps to wait: every wait is a read with a generous timeout that fails the test.
//! Frames are decoded with serde_json `Value` here, independently of `src/venue/`.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mdkit::book::Book;
use mdkit::model::{BookFrame, Price};
use mdkit::venue::extended::v1;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const BOOK: &str = "/stream.extended.exchange/v1/orderbooks/ETH-USD";
const TRADES: &str = "/stream.extended.exchange/v1/publicTrades/ETH-USD";
const RPC: &str = "/stream.extended.exchange/v2/rpc";
/// Serving starts here (a whole minute), so minutely snapshots fall on whole minutes.
const START: &str = "2026-01-01T00:00:00Z";
const START_MS: i64 = 1_767_225_600_000;
/// A bound on every wait; reached only when the simulator is broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running simulator; killed when dropped.
struct Sim {
    child: Child,
    url: String,
    stdout: BufReader<ChildStdout>,
}

impl Sim {
    fn start(extra: &[&str]) -> Sim {
        Sim::spawn(extra, Stdio::inherit())
    }

    /// [`Sim::start`] with the simulator's stderr going to `stderr`.
    fn spawn(extra: &[&str], stderr: Stdio) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
            .args(["simulate", "--port", "0", "--seed", "7", "--start", START])
            .args(extra)
            // A loaded test machine must not make a reader lag (that is its own test).
            .args(if extra.contains(&"--backlog") { &[][..] } else { &["--backlog", "20000"][..] })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn mdkit simulate");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line {line:?}"))
            .to_owned();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        Sim { child, url, stdout }
    }

    /// The market lines after the first one, as key=value maps.
    fn market_line(&mut self) -> Vec<(String, String)> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    async fn connect(&self, path: &str) -> Ws {
        let mut request = format!("{}{path}", self.url).into_client_request().unwrap();
        request.headers_mut().insert("User-Agent", "mdkit-test/0.1".parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
        ws
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next message of any kind (None when the stream ended).
async fn next_msg(ws: &mut Ws) -> Option<Result<Message, WsError>> {
    tokio::time::timeout(PATIENCE, ws.next()).await.expect("simulator went silent")
}

/// The next text frame, skipping control frames; panics if the stream ends.
async fn text(ws: &mut Ws) -> String {
    loop {
        match next_msg(ws).await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn json_frame(ws: &mut Ws) -> Value {
    let t = text(ws).await;
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}"))
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap()
}

/// Decodes a v1 book frame with mdkit's Extended parser.
fn book_frame(v: &Value) -> BookFrame {
    match v1::parse_book(&v.to_string()) {
        Ok(v1::Message::Data(update)) => update.frame,
        other => panic!("the parser refused a simulator frame: {other:?}\n{v}"),
    }
}

/// Reads `n` book frames and returns their seqs.
async fn seqs(ws: &mut Ws, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(seq(&json_frame(ws).await));
    }
    out
}

#[tokio::test]
async fn book_stream_has_contiguous_seq_deltas_with_c_and_minutely_snapshots() {
    let mut sim = Sim::start(&["--speed", "600"]);
    let params = sim.market_line();
    for key in
        ["market", "tick", "lot", "sigma", "a_bid", "kappa_bid", "a_ask", "kappa_ask", "seed"]
    {
        assert!(params.iter().any(|(k, _)| k == key), "missing {key} in {params:?}");
    }
    assert!(
        params.contains(&("market".into(), "ETH-USD".into()))
            && params.contains(&("seed".into(), "7".into()))
    );
    let mut ws = sim.connect(BOOK).await;
    let first = json_frame(&mut ws).await;
    assert_eq!((first["type"].as_str(), seq(&first)), (Some("SNAPSHOT"), 1));
    // The venue's formatting trap: padded prices in snapshots.
    assert!(first["data"]["b"][0]["p"].as_str().unwrap().ends_with(|c: char| c.is_ascii_digit()));
    assert_eq!(
        first["data"]["b"][0]["p"].as_str().unwrap().split('.').nth(1).map(str::len),
        Some(6)
    );
    let mut book = Book::new();
    book.apply(&book_frame(&first)).unwrap();
    let (mut last_seq, mut last_ts) = (1, first["ts"].as_i64().unwrap());
    let mut snapshot_ts = Vec::new();
    while snapshot_ts.len() < 2 {
        let frame = json_frame(&mut ws).await;
        assert_eq!(seq(&frame), last_seq + 1, "seq must rise by exactly 1");
        let ts = frame["ts"].as_i64().unwrap();
        let kind = frame["type"].as_str().unwrap();
        // One DELTA per 100 ms step; the minutely SNAPSHOT follows its step's DELTA.
        let step_ms = if kind == "SNAPSHOT" { 0 } else { 100 };
        assert_eq!(ts - last_ts, step_ms, "{kind} at seq {}", seq(&frame));
        (last_seq, last_ts) = (seq(&frame), ts);
        match kind {
            "DELTA" => {
                for level in frame["data"]["b"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(frame["data"]["a"].as_array().unwrap())
                {
                    assert!(
                        level["c"].is_string() && level["q"].is_string(),
                        "delta level {level}"
                    );
                }
                book.apply(&book_frame(&frame)).unwrap();
                assert!(!book.is_crossed());
            }
            "SNAPSHOT" => {
                // A minutely SNAPSHOT is exactly the book the deltas built (no snapshot drift,
                // docs/VENUES.md §1.3 rule 4).
                let mut alone = Book::new();
                alone.apply(&book_frame(&frame)).unwrap();
                assert_eq!(alone.checksum(), book.checksum(), "snapshot drift at ts {ts}");
                book.apply(&book_frame(&frame)).unwrap();
                assert!(!book.is_crossed());
                snapshot_ts.push(ts);
            }
            other => panic!("type {other}"),
        }
    }
    assert_eq!(snapshot_ts[1] - snapshot_ts[0], 60_000, "a SNAPSHOT every simulated minute");
    assert_eq!((snapshot_ts[0] - START_MS) % 60_000, 0);
}

#[tokio::test]
async fn depth_1_stream_sends_top_of_book_snapshots() {
    let sim = Sim::start(&["--speed", "600"]);
    let mut ws = sim.connect(&format!("{BOOK}?depth=1")).await;
    for n in 1..=20 {
        let frame = json_frame(&mut ws).await;
        assert_eq!((frame["type"].as_str(), seq(&frame)), (Some("SNAPSHOT"), n));
        assert_eq!(frame["data"]["d"], "1");
        let (bids, asks) =
            (frame["data"]["b"].as_array().unwrap(), frame["data"]["a"].as_array().unwrap());
        assert_eq!((bids.len(), asks.len()), (1, 1));
        let bid = Price::parse(bids[0]["p"].as_str().unwrap()).unwrap();
        let ask = Price::parse(asks[0]["p"].as_str().unwrap()).unwrap();
        assert!(bid < ask);
    }
}

#[tokio::test]
async fn a_client_that_falls_behind_is_closed_not_skipped() {
    // Wide, fast-moving book: ~16 KB deltas fill the socket buffers within a few hundred
    // steps, after which the backlog of 256 steps overflows.
    let market = "ETH-USD:sigma=5,levels=200";
    // The duration bounds the test if the server never gives up on the reader (close 1000).
    let args = ["--speed", "300", "--backlog", "256", "--market", market, "--duration", "30m"];
    let sim = Sim::start(&args);
    let mut slow = sim.connect(BOOK).await;
    let first = json_frame(&mut slow).await;
    let first_ts = first["ts"].as_i64().unwrap();
    // While `slow` reads nothing, let 3000 steps pass, measured on another connection's
    // clock (no sleeping).
    let mut pace = sim.connect(TRADES).await;
    while json_frame(&mut pace).await["ts"].as_i64().unwrap() < first_ts + 3000 * 100 {}
    let mut last = 1;
    let code = loop {
        match next_msg(&mut slow).await {
            Some(Ok(Message::Text(t))) => {
                let n = seq(&serde_json::from_str(&t).unwrap());
                assert_eq!(n, last + 1, "frames before the close are contiguous");
                last = n;
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1013), "closed as too slow after seq {last}");
}

/// `--wait-streams 2`: the clock stays at --start until both streams attached, however long
/// the second took, so both start from the state at --start and the book goes on with the
/// first step.
#[tokio::test]
async fn wait_streams_holds_the_clock_until_the_streams_attach() {
    let sim = Sim::start(&["--speed", "600", "--wait-streams", "2"]);
    let mut trades = sim.connect(TRADES).await;
    let replay = json_frame(&mut trades).await;
    assert_eq!((seq(&replay), replay["ts"].as_i64()), (1, Some(START_MS)));
    let mut book = sim.connect(BOOK).await;
    let first = json_frame(&mut book).await;
    assert_eq!((first["type"].as_str(), first["ts"].as_i64()), (Some("SNAPSHOT"), Some(START_MS)));
    let next = json_frame(&mut book).await;
    assert_eq!((next["type"].as_str(), next["ts"].as_i64()), (Some("DELTA"), Some(START_MS + 100)));
}

#[tokio::test]
async fn trades_stream_starts_with_the_replay_and_continues_it() {
    let sim = Sim::start(&["--speed", "600"]);
    let mut ws = sim.connect(TRADES).await;
    let replay = json_frame(&mut ws).await;
    assert_eq!(seq(&replay), 1);
    let connect_ts = replay["ts"].as_i64().unwrap();
    let trades = replay["data"].as_array().unwrap();
    assert!(!trades.is_empty() && trades.len() <= 50, "{} trades", trades.len());
    let ids: Vec<u64> = trades.iter().map(|t| t["i"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascending");
    assert!(ids[0] > 1 << 53, "ids above 2^53");
    assert!(trades.iter().all(|t| t["T"].as_i64().unwrap() <= connect_ts
        && t["m"] == "ETH-USD"
        && t["tT"] == "TRADE"));
    let mut last_id = *ids.last().unwrap();
    for n in 2..=20 {
        let frame = json_frame(&mut ws).await;
        assert_eq!(seq(&frame), n);
        for t in frame["data"].as_array().unwrap() {
            // Attaching is atomic: the live trades continue the replay without a gap.
            assert_eq!(t["i"].as_u64().unwrap(), last_id + 1);
            last_id += 1;
            assert!(matches!(t["S"].as_str(), Some("BUY" | "SELL")));
            assert!(t["T"].as_i64().unwrap() > connect_ts);
        }
    }
}

#[tokio::test]
async fn refuses_without_user_agent_and_reports_unknown_markets() {
    let sim = Sim::start(&[]);
    let bare = format!("{}{BOOK}", sim.url).into_client_request().unwrap();
    match tokio_tungstenite::connect_async(bare).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    let mut ws = sim.connect("/stream.extended.exchange/v1/orderbooks/NOPE-USD").await;
    let error = json_frame(&mut ws).await;
    assert_eq!(
        error,
        json!({"status": "ERROR", "error": {"code": 1001, "message": "Market not found"}})
    );
    let mut request = format!("{}/stream.extended.exchange/v1/nothing/ETH-USD", sim.url)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("User-Agent", "mdkit-test/0.1".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected HTTP 404, got {other:?}"),
    }
}

async fn rpc_send(ws: &mut Ws, request: Value) {
    ws.send(Message::text(request.to_string())).await.unwrap();
}

#[tokio::test]
async fn v2_rpc_acks_then_snapshot_at_seq_0_and_one_global_seq() {
    let sim = Sim::start(&["--speed", "600"]);
    let mut ws = sim.connect(RPC).await;
    let book_params =
        json!({"scope": "orderbooks", "selector": {"market": "ETH-USD", "depth": "full"}});
    rpc_send(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": "1", "method": "subscribe", "params": book_params}),
    )
    .await;
    let ack = json_frame(&mut ws).await;
    assert_eq!(
        ack,
        json!({"id": "1", "result": {"method": "subscribe", "status": "OK", "subscription": "orderbooks.ETH-USD"}, "jsonrpc": "2.0"})
    );
    let snapshot = json_frame(&mut ws).await;
    assert_eq!((snapshot["type"].as_str(), seq(&snapshot)), (Some("ORDERBOOKS.SNAPSHOT"), 0));
    assert_eq!(snapshot["subscription"], "orderbooks.ETH-USD");
    assert_eq!(snapshot["data"]["t"], "SNAPSHOT");
    for want in 1..=5 {
        let frame = json_frame(&mut ws).await;
        assert_eq!(seq(&frame), want);
        assert!(frame["type"].as_str().unwrap().starts_with("ORDERBOOKS."));
    }
    let trades_params = json!({"scope": "trades", "selector": {"market": "ETH-USD"}});
    rpc_send(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": "2", "method": "subscribe", "params": trades_params}),
    )
    .await;
    rpc_send(&mut ws, json!({"jsonrpc": "2.0", "id": "3", "method": "list-subscriptions"})).await;
    let bad = json!({"scope": "trades", "selector": {"market": "NOPE-USD"}});
    rpc_send(&mut ws, json!({"jsonrpc": "2.0", "id": "4", "method": "subscribe", "params": bad}))
        .await;
    // Data frames keep one seq across topics; responses carry none.
    let (mut next_seq, mut saw_trades, mut responses) = (6, false, Vec::new());
    while responses.len() < 3 || !saw_trades {
        let frame = json_frame(&mut ws).await;
        if frame.get("id").is_some() {
            assert!(frame.get("seq").is_none());
            responses.push(frame);
            continue;
        }
        assert_eq!(seq(&frame), next_seq);
        next_seq += 1;
        saw_trades |= frame["type"] == "TRADES";
    }
    assert_eq!(responses[0]["result"]["subscription"], "trades.ETH-USD");
    assert_eq!(
        responses[1]["result"]["subscriptions"],
        json!(["orderbooks.ETH-USD", "trades.ETH-USD"])
    );
    assert_eq!(responses[2]["error"]["code"], 1001);
}

/// Starts a simulator with `fault`, connects a book stream, returns both.
async fn faulty(fault: &str, speed: &str) -> (Sim, Ws) {
    let sim = Sim::start(&["--speed", speed, "--fault", fault]);
    let ws = sim.connect(BOOK).await;
    (sim, ws)
}

#[tokio::test]
async fn fault_skip_leaves_a_hole_on_the_chosen_connection_only() {
    let sim = Sim::start(&["--speed", "600", "--fault", "skip=3@2"]);
    let mut clean = sim.connect(BOOK).await;
    assert_eq!(seqs(&mut clean, 8).await, [1, 2, 3, 4, 5, 6, 7, 8]);
    let mut second = sim.connect(BOOK).await;
    assert_eq!(seqs(&mut second, 5).await, [1, 2, 4, 5, 6]);
}

#[tokio::test]
async fn a_scenario_file_injects_its_faults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.json");
    std::fs::write(&file, r#"{"faults": ["skip=3", "duplicate=5"]}"#).unwrap();
    let sim = Sim::start(&["--speed", "600", "--scenario", file.to_str().unwrap()]);
    let mut ws = sim.connect(BOOK).await;
    assert_eq!(seqs(&mut ws, 7).await, [1, 2, 4, 5, 6, 6, 7]);
}

#[tokio::test]
async fn the_server_pings_every_connection() {
    let sim = Sim::start(&["--speed", "1", "--ping-interval", "300ms"]);
    let mut ws = sim.connect(BOOK).await;
    let mut data_frames = 0;
    loop {
        match next_msg(&mut ws).await {
            Some(Ok(Message::Ping(_))) => break,
            Some(Ok(Message::Text(_))) => data_frames += 1,
            other => panic!("expected data then a ping, got {other:?}"),
        }
    }
    assert!(data_frames >= 1, "the ping came with the stream running");
}

#[tokio::test]
async fn fault_duplicate_sends_a_frame_twice() {
    let (_sim, mut ws) = faulty("duplicate=4", "600").await;
    let mut frames = Vec::new();
    for _ in 0..6 {
        frames.push(text(&mut ws).await);
    }
    assert_eq!(frames[3], frames[4], "the duplicate is the same text");
    let got: Vec<u64> = frames.iter().map(|f| seq(&serde_json::from_str(f).unwrap())).collect();
    assert_eq!(got, [1, 2, 3, 4, 4, 5]);
}

#[tokio::test]
async fn fault_swap_delivers_out_of_order() {
    let (_sim, mut ws) = faulty("swap=3", "600").await;
    assert_eq!(seqs(&mut ws, 6).await, [1, 2, 4, 3, 5, 6]);
}

#[tokio::test]
async fn fault_malformed_replaces_a_frame_with_bad_json() {
    let (_sim, mut ws) = faulty("malformed=3", "600").await;
    assert_eq!(seqs(&mut ws, 2).await, [1, 2]);
    let bad = text(&mut ws).await;
    assert!(serde_json::from_str::<Value>(&bad).is_err(), "{bad}");
    assert_eq!(seqs(&mut ws, 1).await, [4]);
}

#[tokio::test]
async fn fault_disconnect_drops_the_socket_after_n_frames() {
    let (_sim, mut ws) = faulty("disconnect=4", "600").await;
    assert_eq!(seqs(&mut ws, 4).await, [1, 2, 3, 4]);
    loop {
        match next_msg(&mut ws).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Text(t))) => panic!("data after the disconnect: {t}"),
            Some(Ok(Message::Close(frame))) => {
                panic!("a disconnect sends no close frame: {frame:?}")
            }
            Some(Ok(other)) => panic!("{other:?}"),
            None | Some(Err(_)) => break,
        }
    }
}

/// Sends a ping and returns the data frames that arrived before its pong.
async fn frames_before_pong(ws: &mut Ws) -> Vec<String> {
    ws.send(Message::Ping(b"probe".to_vec().into())).await.unwrap();
    let mut before = Vec::new();
    loop {
        match next_msg(ws).await {
            Some(Ok(Message::Pong(payload))) if &payload[..] == b"probe" => return before,
            Some(Ok(Message::Text(t))) => before.push(t.to_string()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("connection ended while waiting for the pong: {other:?}"),
        }
    }
}

#[tokio::test]
async fn fault_stall_stops_data_but_answers_pings() {
    let (sim, mut stalled) = faulty("stall=3", "600").await;
    assert_eq!(seqs(&mut stalled, 3).await, [1, 2, 3]);
    // The market keeps moving: a second connection sees 100 steps (10 simulated seconds)
    // while the stalled one, probed with pings, delivers nothing yet stays open.
    let mut other = sim.connect(BOOK).await;
    for _ in 0..4 {
        let _ = seqs(&mut other, 25).await;
        assert_eq!(frames_before_pong(&mut stalled).await, Vec::<String>::new());
    }
}

#[tokio::test]
async fn fault_burst_delivers_held_frames_back_to_back() {
    // 10 steps per wall second × 10: a step every 10 ms, so a held frame is ~10 ms overdue
    // per position, while a ping's round trip on loopback is far shorter.
    let (_sim, mut ws) = faulty("burst=5:10", "10").await;
    assert_eq!(seqs(&mut ws, 5).await, [1, 2, 3, 4, 5]);
    // Frame 5 came in one write with frames 6..=14: the pong can only follow them.
    let before: Vec<u64> = frames_before_pong(&mut ws)
        .await
        .iter()
        .map(|t| seq(&serde_json::from_str(t).unwrap()))
        .collect();
    assert_eq!(before, (6..=14).collect::<Vec<_>>());
}

#[tokio::test]
async fn duration_end_closes_cleanly_and_the_log_matches_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().to_str().unwrap();
    let mut sim = Sim::start(&["--speed", "60", "--duration", "90s", "--log", log]);
    let mut ws = sim.connect(BOOK).await;
    let mut book = Book::new();
    let mut seen = Vec::new();
    let close = loop {
        match next_msg(&mut ws).await {
            Some(Ok(Message::Text(t))) => {
                let frame = book_frame(&serde_json::from_str(&t).unwrap());
                book.apply(&frame).unwrap();
                seen.push((frame.ts_event.as_nanos() / 1_000_000, book.checksum()));
            }
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a clean close, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1000));
    let status = sim.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let lines = std::fs::read_to_string(dir.path().join("ETH-USD/book.jsonl")).unwrap();
    let truth: std::collections::HashMap<i64, u64> = lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["ts"].as_i64().unwrap(), v["checksum"].as_str().unwrap().parse().unwrap())
        })
        .collect();
    // Warm-up (60 s) plus 90 s, one line per step.
    assert_eq!(truth.len(), 1500);
    assert!(seen.len() > 100, "{} frames", seen.len());
    assert_eq!(seen.last().unwrap().0, START_MS + 90_000, "the stream runs to the end");
    for (ts, checksum) in &seen {
        assert_eq!(truth.get(ts), Some(checksum), "book at ts {ts} differs from the log");
    }
    let trades = std::fs::read_to_string(dir.path().join("ETH-USD/trades.jsonl")).unwrap();
    assert!(trades.lines().count() > 100);
}

/// `bad=3` on every connection: before frames 3, 6, 9, … one bad frame, built from the real
/// frame that follows and carrying its seq (when it spells one); the real frames keep their
/// contiguous seqs; the stderr count line and `bad.jsonl` describe exactly what arrived.
#[tokio::test]
async fn fault_bad_sends_a_bad_frame_before_every_kth_frame_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().to_str().unwrap();
    let args = [
        "--speed",
        "600",
        "--duration",
        "25s",
        "--wait-streams",
        "1",
        "--fault",
        "bad=3",
        "--log",
        log,
    ];
    let mut sim = Sim::spawn(&args, Stdio::piped());
    let mut ws = sim.connect(BOOK).await;
    // (frame number of the real frame it preceded, seq it spells, ts of the real frame, len)
    let mut bads: Vec<(u64, Option<u64>, i64, usize)> = Vec::new();
    let mut pending: Option<Message> = None;
    let mut real = 0u64;
    let close = loop {
        let msg = match next_msg(&mut ws).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(msg)) => msg,
            other => panic!("expected frames then a clean close, got {other:?}"),
        };
        if (real + 1).is_multiple_of(3) && pending.is_none() {
            // The bad frame due before real frame real + 1.
            pending = Some(msg);
            continue;
        }
        let Message::Text(text) = msg else { panic!("real frame {} is not text", real + 1) };
        let frame: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        real += 1;
        assert_eq!(seq(&frame), real, "real frames keep contiguous seqs");
        let ts = frame["ts"].as_i64().unwrap();
        if let Some(bad) = pending.take() {
            let (carried, len) = match &bad {
                Message::Text(t) => {
                    assert_ne!(t.as_str(), text.as_str(), "a bad frame differs from the real one");
                    let parsed = serde_json::from_str::<Value>(t).ok();
                    (parsed.and_then(|v| v["seq"].as_u64()), t.len())
                }
                Message::Binary(b) => {
                    assert!(std::str::from_utf8(b).is_err(), "binary frames are not UTF-8");
                    (None, b.len())
                }
                other => panic!("bad frame {other:?}"),
            };
            if let Some(carried) = carried {
                assert_eq!(carried, real, "a bad frame carries the seq of the real frame after it");
            }
            bads.push((real, carried, ts, len));
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1000));
    assert!(real >= 3 * 17, "{real} frames: every kind had its turn");
    assert_eq!(bads.len() as u64, real / 3, "one bad frame per 3 real frames");
    let oversized = mdkit::venue::MAX_MESSAGE_BYTES + 64 * 1024;
    assert_eq!(bads.iter().filter(|b| b.3 == oversized).count(), 1, "oversized once");

    let mut stderr = String::new();
    std::io::Read::read_to_string(sim.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(sim.child.wait().unwrap().success());
    let counts_line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("bad frames sent: "))
        .unwrap_or_else(|| panic!("no count line in {stderr:?}"));
    let counts: Vec<(String, usize)> = counts_line
        .split(", ")
        .map(|kv| {
            let (k, n) = kv.rsplit_once(' ').unwrap();
            (k.to_owned(), n.parse().unwrap())
        })
        .collect();

    let lines = std::fs::read_to_string(dir.path().join("ETH-USD/bad.jsonl")).unwrap();
    let logged: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(logged.len(), bads.len(), "one line per bad frame received");
    for (line, (frame, carried, ts, _)) in logged.iter().zip(&bads) {
        let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{line}");
        assert_eq!(line["conn"], 1, "{line}");
        assert_eq!(line["stream"], "book", "{line}");
        assert_eq!(line["frame"].as_u64(), Some(*frame), "{line}");
        assert_eq!(line["seq"].as_u64(), *carried, "{line}");
        assert_eq!(line["ts"].as_i64(), Some(*ts), "{line}");
    }
    let order = [
        "negative-price",
        "zero-price",
        "negative-size",
        "early-time",
        "future-time",
        "bad-side",
        "fine-decimal",
        "huge-number",
        "id-range",
        "other-market",
        "wrong-type",
        "missing-field",
        "unknown-type",
        "not-json",
        "binary",
        "deep-nesting",
        "oversized",
    ];
    let kinds: Vec<&str> = logged.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[..17], order, "the rotation order");
    let (binary_at, oversized_at) = (14, 16);
    assert_eq!(bads[binary_at].1, None);
    assert_eq!(bads[oversized_at].3, oversized);
    // The count line and the log agree, kind by kind, in rotation order.
    let tallied: Vec<(String, usize)> = order
        .iter()
        .map(|k| (k.to_string(), kinds.iter().filter(|x| *x == k).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(counts, tallied);
}
