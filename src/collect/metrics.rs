//! `collect --metrics ADDR`: Prometheus text at `/metrics` and a liveness verdict at
//! `/healthz`, served by hyper (HTTP/1.1) on the collector's tokio runtime.
//!
//! The writer thread owns the markets; once a second it copies what the endpoint shows into a
//! [`Board`] (one lock, held for a copy), and requests read the board. So a scrape never waits
//! on the recorder, and the recorder never waits on a scrape. `/healthz` answers 503 when a
//! market has had no frame for longer than `--stale-after` (the recorder reconnects such a
//! stream; the verdict says it is not recording now). Must not change what is recorded.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use tokio::sync::watch;

use super::daily::CompactionCounts;
use crate::record::Market;
use crate::storage::Journal;

/// One market's figures, as of the last copy.
#[derive(Debug, Clone, Default)]
struct Figures {
    venue: String,
    market: String,
    frames: u64,
    refused: u64,
    rows_received: u64,
    rows_committed: Vec<(String, u64)>,
    parts: u64,
    gaps: u64,
    reconnects: u64,
    stale_timeouts: u64,
    lag_seconds: f64,
    journal_bytes: u64,
    /// Since the last frame of this market, or since the start when none came yet.
    silent: Duration,
}

/// What the endpoint serves; written by the writer thread, read by requests.
#[derive(Debug)]
pub struct Board {
    stale_after: Duration,
    inner: Mutex<Snapshot>,
}

#[derive(Debug, Default)]
struct Snapshot {
    markets: Vec<Figures>,
    since_commit: Duration,
    compactions: CompactionCounts,
}

impl Board {
    pub fn new(stale_after: Duration) -> Arc<Self> {
        Arc::new(Self { stale_after, inner: Mutex::new(Snapshot::default()) })
    }

    /// Copies the markets' figures (called by the writer thread about once a second).
    pub fn update(
        &self,
        markets: &[Market],
        watch: &mut Silence,
        since_commit: Duration,
        compactions: CompactionCounts,
    ) {
        let figures = markets
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let c = m.counters();
                let (_, parts) = m.committed();
                Figures {
                    venue: m.venue().to_string(),
                    market: m.market().to_owned(),
                    frames: c.frames,
                    refused: c.refused,
                    rows_received: m.rows_received(),
                    rows_committed: m
                        .committed_rows()
                        .iter()
                        .map(|(table, rows)| (table.clone(), *rows))
                        .collect(),
                    parts,
                    gaps: c.gaps,
                    reconnects: c.connects.saturating_sub(m.open_conns().len() as u64),
                    stale_timeouts: m.stale_timeouts(),
                    lag_seconds: c.lag_ns as f64 / 1e9,
                    journal_bytes: dir_bytes(&Journal::dir(m.root(), m.venue().name(), m.market())),
                    silent: watch.silent(i, c.frames),
                }
            })
            .collect();
        if let Ok(mut inner) = self.inner.lock() {
            *inner = Snapshot { markets: figures, since_commit, compactions };
        }
    }

    /// The Prometheus text exposition of the last copy.
    pub fn render(&self) -> String {
        let Ok(inner) = self.inner.lock() else { return String::new() };
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, values: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in values {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        };
        let per = |f: &dyn Fn(&Figures) -> String| -> Vec<(String, String)> {
            inner.markets.iter().map(|m| (labels(m), f(m))).collect()
        };
        metric(
            "mdkit_frames_received_total",
            "counter",
            "Frames read from the venue.",
            per(&|m| m.frames.to_string()),
        );
        metric(
            "mdkit_frames_refused_total",
            "counter",
            "Frames refused (an events row of kind refused each).",
            per(&|m| m.refused.to_string()),
        );
        metric(
            "mdkit_rows_received_total",
            "counter",
            "Rows the recorder made from frames, committed or not.",
            per(&|m| m.rows_received.to_string()),
        );
        let committed = inner
            .markets
            .iter()
            .flat_map(|m| {
                m.rows_committed.iter().map(move |(table, rows)| {
                    (format!("{},table=\"{table}\"", labels(m)), rows.to_string())
                })
            })
            .collect();
        metric(
            "mdkit_rows_committed_total",
            "counter",
            "Rows in published parts, per table.",
            committed,
        );
        metric(
            "mdkit_parts_committed_total",
            "counter",
            "Parts published.",
            per(&|m| m.parts.to_string()),
        );
        metric(
            "mdkit_gaps_total",
            "counter",
            "Sequence breaks, stale streams and possible trade gaps.",
            per(&|m| m.gaps.to_string()),
        );
        metric(
            "mdkit_reconnects_total",
            "counter",
            "Connections opened after the first, per market.",
            per(&|m| m.reconnects.to_string()),
        );
        metric(
            "mdkit_stale_timeouts_total",
            "counter",
            "Connections closed because their stream went silent past --stale-after.",
            per(&|m| m.stale_timeouts.to_string()),
        );
        metric(
            "mdkit_receive_lag_seconds",
            "gauge",
            "ts_recv - ts_event of the last book frame.",
            per(&|m| m.lag_seconds.to_string()),
        );
        metric(
            "mdkit_journal_bytes",
            "gauge",
            "Bytes of the market's journal, live and archived.",
            per(&|m| m.journal_bytes.to_string()),
        );
        metric(
            "mdkit_seconds_since_last_frame",
            "gauge",
            "Seconds since the market's last frame.",
            per(&|m| m.silent.as_secs_f64().to_string()),
        );
        let since = inner.since_commit.as_secs_f64().to_string();
        metric(
            "mdkit_seconds_since_last_commit",
            "gauge",
            "Seconds since the last checkpoint.",
            vec![(String::new(), since)],
        );
        let CompactionCounts { days, failures } = inner.compactions;
        metric(
            "mdkit_compacted_days_total",
            "counter",
            "Market-days compacted by --compact-daily.",
            vec![(String::new(), days.to_string())],
        );
        metric(
            "mdkit_compaction_failures_total",
            "counter",
            "Daily compactions that failed (the day is left as it was).",
            vec![(String::new(), failures.to_string())],
        );
        if let Some(rss) = resident_bytes() {
            metric(
                "mdkit_process_resident_memory_bytes",
                "gauge",
                "Resident memory of this process.",
                vec![(String::new(), rss.to_string())],
            );
        }
        out
    }

    /// `None` when every market had a frame within `--stale-after`, else what is silent.
    pub fn stale(&self) -> Option<String> {
        let inner = self.inner.lock().ok()?;
        let silent: Vec<String> = inner
            .markets
            .iter()
            .filter(|m| m.silent > self.stale_after)
            .map(|m| format!("{}/{} silent {:.0} s", m.venue, m.market, m.silent.as_secs_f64()))
            .collect();
        (!silent.is_empty()).then(|| {
            format!("{} (limit --stale-after {} s)", silent.join(", "), self.stale_after.as_secs())
        })
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let (status, body) = match path {
            "/metrics" => (StatusCode::OK, self.render()),
            "/healthz" => match self.stale() {
                None => (StatusCode::OK, "ok\n".to_owned()),
                Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("stale: {why}\n")),
            },
            _ => (StatusCode::NOT_FOUND, "not found: try /metrics or /healthz\n".to_owned()),
        };
        let content = if path == "/metrics" { "text/plain; version=0.0.4" } else { "text/plain" };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        if let Ok(value) = content.parse() {
            response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
        }
        response
    }
}

fn labels(m: &Figures) -> String {
    format!("venue=\"{}\",market=\"{}\"", m.venue, m.market)
}

/// When each market last received a frame (by watching its frame count change).
#[derive(Debug)]
pub struct Silence {
    started: Instant,
    seen: Vec<(u64, Option<Instant>)>,
}

impl Silence {
    pub fn new(markets: usize) -> Self {
        Self { started: Instant::now(), seen: vec![(0, None); markets] }
    }

    fn silent(&mut self, market: usize, frames: u64) -> Duration {
        let Some(seen) = self.seen.get_mut(market) else { return Duration::ZERO };
        if frames != seen.0 || seen.1.is_none() && frames > 0 {
            *seen = (frames, Some(Instant::now()));
        }
        seen.1.unwrap_or(self.started).elapsed()
    }
}

/// Total bytes of the files below `dir` (the journal and its archive).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// This process's resident memory (Linux `/proc/self/statm`), bytes.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Binds `addr` and serves the board until `stop` turns true. Returns the bound address
/// (the port the OS chose for port 0) once listening.
pub async fn start(
    addr: SocketAddr,
    board: Arc<Board>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let board = board.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let response = board.respond(req.uri().path());
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
                _ = stop.changed() => break,
            }
        }
    });
    Ok((bound, task))
}
