//! `collect --metrics`: Prometheus text at /metrics and /healthz, scraped over real HTTP
//! during a simulated recording. The counters move while frames arrive; with the venue frozen
//! (the simulator stopped with SIGSTOP, its sockets open) /healthz turns 503 once the market
//! has been silent past --stale-after, and the committed rows it reports are the rows the
//! tables hold after exit.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::live::{Collector, Recording, Sim};

/// GET `path` from `addr` (host:port): (status, body). A plain HTTP/1.1 client; the server
/// side is hyper's.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The samples of a scrape: `name{labels}` → value.
fn scrape(addr: &str) -> HashMap<String, f64> {
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples.get(key).unwrap_or_else(|| panic!("{key} not scraped: {samples:?}"))
}

const ETH: &str = "venue=\"extended\",market=\"ETH-USD\"";

/// Polls `check` on the endpoint until it holds (the board is copied once a second, so a
/// condition shows up within about a second of becoming true); panics after `limit`.
fn until(limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_move_while_recording_and_healthz_turns_503_when_the_venue_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let (log, data) = (dir.path().join("log"), dir.path().join("data"));
    let sim = Sim::start(&log, &["--speed", "10", "--duration", "2h", "--seed", "21"]);
    let args = [
        "ETH-USD",
        "--url",
        &sim.url,
        "--backoff-min",
        "10ms",
        "--backoff-max",
        "50ms",
        "--commit-every",
        "300ms",
        "--stale-after",
        "2s",
        "--metrics",
        "127.0.0.1:0",
    ];
    let mut collector = Collector::start(&data, &args, true);
    let line = collector.wait_line("metrics: http://");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("the address line")
        .to_owned();
    collector.wait_journaled(200);
    let first = scrape(&addr);
    collector.wait_journaled(400);
    until(Duration::from_secs(10), || {
        let now = scrape(&addr);
        let key = format!("mdkit_frames_received_total{{{ETH}}}");
        value(&now, &key) > value(&first, &key)
    });
    let moving = scrape(&addr);
    for name in ["mdkit_rows_received_total", "mdkit_journal_bytes"] {
        let key = format!("{name}{{{ETH}}}");
        assert!(value(&moving, &key) > 0.0, "{key}: {moving:?}");
    }
    assert!(value(&moving, "mdkit_process_resident_memory_bytes") > 1e6);
    assert_eq!(get(&addr, "/healthz"), (200, "ok\n".to_owned()));

    // The venue freezes: no frame, no close. Past --stale-after /healthz says so.
    sim.signal("STOP");
    until(Duration::from_secs(20), || get(&addr, "/healthz").0 == 503);
    let (_, why) = get(&addr, "/healthz");
    assert!(why.starts_with("stale: extended/ETH-USD silent"), "{why}");
    // Nothing arrives now: once a checkpoint has published everything, the committed rows stop
    // moving, and they are what the tables hold after exit.
    let mut last = HashMap::new();
    until(Duration::from_secs(20), || {
        let now = scrape(&addr);
        let steady = value(&now, "mdkit_seconds_since_last_commit") < 1.0
            && ["depth", "book_top", "trades"].iter().all(|t| {
                let key = format!("mdkit_rows_committed_total{{{ETH},table=\"{t}\"}}");
                now.contains_key(&key) && now.get(&key) == last.get(&key)
            });
        last = now;
        steady
    });
    assert!(collector.interrupt().success());
    sim.signal("CONT");
    let rec = Recording::read(&data, "ETH-USD");
    for (table, rows) in
        [("depth", rec.depth.len()), ("book_top", rec.book_top.len()), ("trades", rec.trades.len())]
    {
        let key = format!("mdkit_rows_committed_total{{{ETH},table=\"{table}\"}}");
        assert_eq!(value(&last, &key) as usize, rows, "{table}");
    }
    sim.stop();
}
