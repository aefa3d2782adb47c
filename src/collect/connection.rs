//! One market stream's connections: the supervisor loop (connect, read until the stream
//! ends, back off, connect again) and the connection task itself, which carries out the
//! venue's link plan ([`LinkSpec`]) and names no venue.
//!
//! A connection task sends the plan's subscribe messages, then reads frames, stamps each with
//! `ts_recv` the moment it is read, and sends it to the writer thread; WebSocket pings are
//! answered as frames are read, and the plan's application pings go out on their timer. If
//! the plan has a REST snapshot, it is fetched once the frame that triggers it arrived and
//! its body is sent on as a frame of the connection. A connection ends when the venue closes,
//! the socket fails, the writer thread says the stream broke, the watchdog finds a watched
//! stream silent for its `stale_after`, or the recorder stops. It must not parse frames: the
//! writer thread does, after journaling them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rand::Rng as _;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, USER_AGENT};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::http;
use super::station::Inbound;
use super::Backoff;
use crate::model::RecvTime;
use crate::storage::{Cause, Entry};
use crate::venue::{LinkSpec, USER_AGENT as MDKIT_AGENT};

/// How long the TCP connect and WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one REST snapshot request may take, answer included.
const REST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a supervisor needs: the venue's plan for this connection, where to send frames,
/// when to stop.
pub struct Link {
    pub market: usize,
    pub spec: LinkSpec,
    pub next_conn: Arc<AtomicU32>,
    pub tx: mpsc::Sender<Inbound>,
    pub stop: watch::Receiver<bool>,
    pub backoff: Backoff,
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
        let frames = match run_connection(&mut link, conn).await {
            Err(WriterGone) => return,
            Ok(_) if *link.stop.borrow() => return,
            Ok(frames) => frames,
        };
        let delay = reconnect_delay(link.backoff, &mut attempt, frames, started.elapsed());
        tracing::debug!(url = %link.spec.url, delay_ms = delay.as_millis() as u64, "reconnecting");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = link.stop.changed() => return,
        }
    }
}

/// The wait before the next connection, after one that received `frames` frames in `lived`.
/// A connection that delivered frames for `stable_after` resets the backoff; the first
/// reconnect after a connection that delivered anything is immediate (an oversized message
/// or a dropped socket on a healthy stream costs no wait); a connection that delivered
/// nothing, or the next failure soon after, backs off (docs/VENUES.md "Bad venue data").
/// A refused frame never ends a connection, so it never comes here.
fn reconnect_delay(backoff: Backoff, attempt: &mut u32, frames: u64, lived: Duration) -> Duration {
    if frames > 0 && lived >= backoff.stable_after {
        *attempt = 0;
    }
    let delay =
        if *attempt == 0 && frames > 0 { Duration::ZERO } else { backoff_delay(backoff, *attempt) };
    *attempt = attempt.saturating_add(1);
    delay
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

/// One connection, from handshake to its `Disconnect` record; the number of frames it
/// received. A failed handshake records nothing (no frame was read) and is only logged.
async fn run_connection(link: &mut Link, conn: u32) -> Result<u64, WriterGone> {
    let spec = link.spec.clone();
    let mut request = match spec.url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(url = %spec.url, "bad stream URL: {e}");
            return Ok(0);
        }
    };
    request.headers_mut().insert(USER_AGENT, HeaderValue::from_static(MDKIT_AGENT));
    let config = WebSocketConfig::default()
        .max_message_size(Some(spec.max_message_bytes))
        .max_frame_size(Some(spec.max_message_bytes));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let mut ws = tokio::select! {
        result = timeout(CONNECT_TIMEOUT, connect) => match result {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                tracing::warn!(url = %spec.url, conn, "cannot connect: {e}");
                return Ok(0);
            }
            Err(_) => {
                tracing::warn!(url = %spec.url, conn, "cannot connect: no handshake within {CONNECT_TIMEOUT:?}");
                return Ok(0);
            }
        },
        _ = link.stop.changed() => return Ok(0),
    };
    let (kill_tx, mut kill_rx) = oneshot::channel::<String>();
    let connect = Entry::Connect { conn, stream: spec.stream, url: spec.url.clone() };
    link.tx
        .send(Inbound::Opened { market: link.market, conn, kill: kill_tx })
        .await
        .map_err(|_| WriterGone)?;
    send(link, RecvTime::now(), connect).await?;
    tracing::info!(url = %spec.url, conn, "connected");
    let mut sent = Ok(());
    for message in &spec.subscribe {
        sent = ws.send(Message::text(message.clone())).await;
        if sent.is_err() {
            break;
        }
    }
    let mut ping = spec.ping.as_ref().map(|p| {
        let mut every = tokio::time::interval_at(Instant::now() + p.every, p.every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        (every, p.text.clone())
    });

    let mut last_frame = Instant::now();
    let mut frames: u64 = 0;
    let mut rest = Rest::Idle;
    let mut rest_attempt: u32 = 0;
    let (cause, detail) = loop {
        if let Err(e) = &sent {
            break (Cause::Closed, format!("cannot send to the venue: {e}"));
        }
        let watchdog = async {
            match spec.stale_after {
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
                    frames += 1;
                    if let (Rest::Idle, Some(plan)) = (&rest, &spec.rest) {
                        if plan.triggered_by(text.as_str()) {
                            tracing::debug!(url = %plan.url, conn, "requesting the REST snapshot");
                            rest = Rest::Fetching(fetch(&plan.url));
                        }
                    }
                    send(link, ts_recv, Entry::Frame { conn, text: text.as_str().to_owned() }).await?;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    // No venue mdkit records sends binary data: journaled as text (invalid
                    // UTF-8 replaced) so the recorder refuses it with a reason.
                    let ts_recv = RecvTime::now();
                    last_frame = Instant::now();
                    frames += 1;
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    send(link, ts_recv, Entry::Frame { conn, text }).await?;
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", f.code, f.reason)).unwrap_or_default();
                    break (Cause::Closed, format!("closed by the venue {why}").trim_end().to_owned());
                }
                Some(Ok(_)) => {}
                Some(Err(WsError::Capacity(e))) => break (
                    Cause::Closed,
                    format!("refused a message over this venue's limit of {} bytes ({e}); the connection cannot go on", spec.max_message_bytes),
                ),
                Some(Err(e)) => break (Cause::Closed, format!("socket error: {e}")),
                None => break (Cause::Closed, "socket closed without a close frame".to_owned()),
            },
            reason = &mut kill_rx => {
                let reason = reason.unwrap_or_else(|_| "writer stopped".to_owned());
                let _ = ws.close(None).await;
                break (Cause::Closed, format!("closed by the recorder: {reason}"));
            }
            answer = snapshot => match (answer, &spec.rest) {
                (None, Some(plan)) => rest = Rest::Fetching(fetch(&plan.url)),
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
            Some(text) = async {
                match &mut ping {
                    Some((every, text)) => {
                        every.tick().await;
                        Some(text.clone())
                    }
                    None => std::future::pending().await,
                }
            } => {
                sent = ws.send(Message::text(text)).await;
            }
            () = watchdog => {
                let _ = ws.close(None).await;
                let limit = spec.stale_after.unwrap_or_default();
                break (Cause::Stale, format!("no frame for {limit:?}"));
            }
            _ = link.stop.changed() => {
                let _ = ws.close(None).await;
                break (Cause::Shutdown, "recorder stopped".to_owned());
            }
        }
    };
    // Each failure is its own line (the connection number makes it distinct, so the
    // once-per-warning rule of the log keeps every one); a clean stop is only info.
    if cause == Cause::Shutdown {
        tracing::info!(url = %spec.url, conn, "{detail}");
    } else {
        tracing::warn!(url = %spec.url, conn, "connection ended: {detail}");
    }
    send(link, RecvTime::now(), Entry::Disconnect { conn, cause, detail }).await?;
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_connection_reconnects_at_once_then_backs_off() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
            stable_after: Duration::from_secs(10),
        };
        let mut attempt = 0;
        let secs = Duration::from_secs;
        // Delivered frames: at once. Failing again soon after: the usual backoff.
        assert_eq!(reconnect_delay(b, &mut attempt, 5, secs(1)), Duration::ZERO);
        assert!(reconnect_delay(b, &mut attempt, 5, secs(1)) >= Duration::from_millis(100));
        assert!(reconnect_delay(b, &mut attempt, 0, secs(0)) >= Duration::from_millis(200));
        // Delivering frames for stable_after resets the count: at once again.
        assert_eq!(reconnect_delay(b, &mut attempt, 1, secs(10)), Duration::ZERO);
        // A connection that delivered nothing never skips the wait.
        let mut fresh = 0;
        assert!(reconnect_delay(b, &mut fresh, 0, secs(60)) >= Duration::from_millis(50));
    }

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
