//! One market stream's connections: the supervisor loop (connect, read until the stream
//! ends, back off, connect again) and the connection task itself.
//!
//! A connection task reads frames, stamps each with `ts_recv` the moment it is read, and
//! sends it to the writer thread; pings are answered by the WebSocket layer as frames are
//! read. It ends when the venue closes, the socket fails, the writer thread says the stream
//! broke, the watchdog finds a book stream silent for `stale_after` (VENUES.md §1.2), or the
//! recorder stops. It must not parse frames: the writer thread does, after journaling them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rand::Rng as _;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, USER_AGENT};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::http;
use super::station::Inbound;
use super::Backoff;
use crate::model::RecvTime;
use crate::storage::{Cause, Entry, Stream};
use crate::venue::extended::{MAX_MESSAGE_BYTES, USER_AGENT as MDKIT_AGENT};

/// How long the TCP connect and WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one REST snapshot request may take, answer included.
const REST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a supervisor needs: where to connect, where to send frames, when to stop.
pub struct Link {
    pub market: usize,
    pub stream: Stream,
    pub url: String,
    pub next_conn: Arc<AtomicU32>,
    pub tx: mpsc::Sender<Inbound>,
    pub stop: watch::Receiver<bool>,
    /// The watchdog's limit; `None` for a stream that may be quiet (trades).
    pub stale_after: Option<Duration>,
    pub backoff: Backoff,
    /// Binance: the REST depth snapshot URL, fetched once per connection after its first
    /// diff-depth frame arrived (VENUES.md §3.3); the body is sent on as a frame of the
    /// connection. `None` for venues whose stream carries its own snapshots (Extended).
    pub rest: Option<String>,
}

type Fetch =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, http::HttpError>> + Send>>;

/// Where a connection's REST snapshot stands.
enum Rest {
    /// Waiting for the first diff (or no REST snapshot on this venue).
    Idle,
    Fetching(Fetch),
    /// The last request failed; the next one goes out at this instant.
    Retry(Instant),
    Done,
}

fn fetch(url: &str) -> Fetch {
    let url = url.to_owned();
    Box::pin(async move { http::get(&url, MDKIT_AGENT, REST_TIMEOUT).await })
}

/// A diff-depth frame of a combined stream, told by its stream name (no JSON parse).
fn is_depth(text: &str) -> bool {
    text.get(..text.len().min(80)).is_some_and(|head| head.contains("@depth"))
}

/// The writer thread is gone (it stopped on an error it reports itself).
struct WriterGone;

/// Connects, reads and reconnects until the recorder stops.
pub async fn supervise(mut link: Link) {
    let mut attempt: u32 = 0;
    loop {
        if *link.stop.borrow() {
            return;
        }
        let conn = link.next_conn.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        match run_connection(&mut link, conn).await {
            Err(WriterGone) => return,
            Ok(()) if *link.stop.borrow() => return,
            Ok(()) => {}
        }
        if started.elapsed() >= link.backoff.stable_after {
            attempt = 0;
        }
        let delay = backoff_delay(link.backoff, attempt);
        attempt = attempt.saturating_add(1);
        tracing::debug!(url = %link.url, delay_ms = delay.as_millis() as u64, "reconnecting");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = link.stop.changed() => return,
        }
    }
}

/// `min · 2^attempt` capped at `max`, then a uniform draw from the upper half ("equal
/// jitter"), so many recorders restarting together do not reconnect in step.
fn backoff_delay(backoff: Backoff, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(20));
    let full = backoff.min.saturating_mul(factor).min(backoff.max);
    let half = full / 2;
    half + full.saturating_sub(half).mul_f64(rand::rng().random::<f64>())
}

async fn send(link: &Link, ts_recv: RecvTime, entry: Entry) -> Result<(), WriterGone> {
    let inbound = Inbound::Record { market: link.market, ts_recv, entry };
    link.tx.send(inbound).await.map_err(|_| WriterGone)
}

/// One connection, from handshake to its `Disconnect` record. A failed handshake records
/// nothing (no frame was read) and is only logged.
async fn run_connection(link: &mut Link, conn: u32) -> Result<(), WriterGone> {
    let mut request = match link.url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(url = %link.url, "bad stream URL: {e}");
            return Ok(());
        }
    };
    request.headers_mut().insert(USER_AGENT, HeaderValue::from_static(MDKIT_AGENT));
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let mut ws = tokio::select! {
        result = timeout(CONNECT_TIMEOUT, connect) => match result {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                tracing::warn!(url = %link.url, "cannot connect: {e}");
                return Ok(());
            }
            Err(_) => {
                tracing::warn!(url = %link.url, "cannot connect: no handshake within {CONNECT_TIMEOUT:?}");
                return Ok(());
            }
        },
        _ = link.stop.changed() => return Ok(()),
    };
    let (kill_tx, mut kill_rx) = oneshot::channel::<String>();
    let connect = Entry::Connect { conn, stream: link.stream, url: link.url.clone() };
    link.tx
        .send(Inbound::Opened { market: link.market, conn, kill: kill_tx })
        .await
        .map_err(|_| WriterGone)?;
    send(link, RecvTime::now(), connect).await?;
    tracing::info!(url = %link.url, conn, "connected");

    let mut last_frame = Instant::now();
    let mut rest = Rest::Idle;
    let mut rest_attempt: u32 = 0;
    let (cause, detail) = loop {
        let watchdog = async {
            match link.stale_after {
                Some(limit) => tokio::time::sleep_until(last_frame + limit).await,
                None => std::future::pending().await,
            }
        };
        let snapshot = async {
            match &mut rest {
                Rest::Fetching(request) => Some(request.await),
                Rest::Retry(at) => {
                    tokio::time::sleep_until(*at).await;
                    None
                }
                Rest::Idle | Rest::Done => std::future::pending().await,
            }
        };
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let ts_recv = RecvTime::now();
                    last_frame = Instant::now();
                    if let (Rest::Idle, Some(url)) = (&rest, &link.rest) {
                        if is_depth(text.as_str()) {
                            tracing::debug!(%url, conn, "first diff: requesting the REST snapshot");
                            rest = Rest::Fetching(fetch(url));
                        }
                    }
                    send(link, ts_recv, Entry::Frame { conn, text: text.as_str().to_owned() }).await?;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let ts_recv = RecvTime::now();
                    last_frame = Instant::now();
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    send(link, ts_recv, Entry::Frame { conn, text }).await?;
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", f.code, f.reason)).unwrap_or_default();
                    break (Cause::Closed, format!("closed by the venue {why}").trim_end().to_owned());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break (Cause::Closed, format!("socket error: {e}")),
                None => break (Cause::Closed, "socket closed without a close frame".to_owned()),
            },
            reason = &mut kill_rx => {
                let reason = reason.unwrap_or_else(|_| "writer stopped".to_owned());
                let _ = ws.close(None).await;
                break (Cause::Closed, format!("closed by the recorder: {reason}"));
            }
            answer = snapshot => match (answer, &link.rest) {
                (None, Some(url)) => rest = Rest::Fetching(fetch(url)),
                (None, None) => rest = Rest::Done,
                (Some(Ok(body)), _) => {
                    rest = Rest::Done;
                    tracing::info!(conn, bytes = body.len(), "REST snapshot received");
                    send(link, RecvTime::now(), Entry::Frame { conn, text: body }).await?;
                }
                (Some(Err(e)), _) => {
                    let delay = backoff_delay(link.backoff, rest_attempt)
                        .max(e.retry_after().unwrap_or_default());
                    rest_attempt = rest_attempt.saturating_add(1);
                    tracing::warn!(conn, "REST snapshot failed: {e}; retrying in {delay:?}");
                    rest = Rest::Retry(Instant::now() + delay);
                }
            },
            () = watchdog => {
                let _ = ws.close(None).await;
                let limit = link.stale_after.unwrap_or_default();
                break (Cause::Stale, format!("no frame for {limit:?}"));
            }
            _ = link.stop.changed() => {
                let _ = ws.close(None).await;
                break (Cause::Shutdown, "recorder stopped".to_owned());
            }
        }
    };
    tracing::info!(url = %link.url, conn, "{detail}");
    send(link, RecvTime::now(), Entry::Disconnect { conn, cause, detail }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stays_in_its_upper_half() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
            stable_after: Duration::from_secs(60),
        };
        for (attempt, full_ms) in [(0, 100), (1, 200), (3, 800), (5, 2000), (60, 2000)] {
            for _ in 0..20 {
                let d = backoff_delay(b, attempt).as_millis() as u64;
                assert!(d >= full_ms / 2 && d <= full_ms, "attempt {attempt}: {d} ms");
            }
        }
    }
}
