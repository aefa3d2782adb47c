//! The local Extended venue: WebSocket upgrade, routing, and one task per connection.
//!
//! Owns the handshake rules (403 without `User-Agent`, docs/VENUES.md §1.2), the paths of §1.1 and
//! §2, each connection's seq (v1: per stream from 1; v2: per connection from 0, across topics)
//! and its fault injector, server pings, and graceful shutdown. [`serve`] takes its listener
//! and a shutdown future (mini-redis style) and returns only when every connection task has
//! ended; connection tasks live in a `JoinSet`, never detached. It must not step the market
//! or spell JSON itself: `hub` and `wire` do.
//!
//! A connection that falls further behind the market than the broadcast holds is closed with
//! code 1013: a seq is never skipped silently.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::bad::Payload;
use super::fault::{FaultPlan, FaultStream, Injector, Out};
use super::hub::{Hub, Tick};
use super::log::{BadLog, BadSent};
use super::wire;
use crate::model::FrameKind;

const V1_PREFIX: &str = "/stream.extended.exchange/v1/";
const V2_PATH: &str = "/stream.extended.exchange/v2/rpc";

/// Server settings that are not market settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub faults: FaultPlan,
    /// Interval of the server's WebSocket pings (Extended: 15 s, docs/VENUES.md §1.2).
    pub ping_every: Duration,
    /// How long connections get to drain and close after shutdown before they are aborted.
    pub drain_timeout: Duration,
    /// Where connections count and log the bad frames they send (`bad=K`).
    pub bad_log: Arc<BadLog>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            faults: FaultPlan::default(),
            ping_every: Duration::from_secs(15),
            drain_timeout: Duration::from_secs(5),
            bad_log: Arc::new(BadLog::counting()),
        }
    }
}

struct Shared {
    hub: Hub,
    config: ServerConfig,
    accepted: AtomicU64,
    /// Accepted connections per [`FaultStream`] (book, trades, rpc).
    accepted_by: [AtomicU64; 3],
}

/// Accepts connections on `listener` until `shutdown` completes, then lets every connection
/// drain what the hub already broadcast and close (up to `drain_timeout`), and returns.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let drain_timeout = config.drain_timeout;
    let shared = Arc::new(Shared {
        hub,
        config,
        accepted: AtomicU64::new(0),
        accepted_by: Default::default(),
    });
    accept_until(listener, drain_timeout, shutdown, |stream, stop| {
        connection(stream, Arc::clone(&shared), stop)
    })
    .await;
}

/// Runs `connection` for every socket `listener` accepts until `shutdown` completes; then
/// closes the listener, signals every connection to stop (the watch sender is dropped) and
/// waits up to `drain_timeout` for them to finish what they were sending. Both venues' servers
/// share it.
pub(crate) async fn accept_until<F, C>(
    listener: TcpListener,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()>,
    connection: C,
) where
    C: Fn(TcpStream, watch::Receiver<()>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let (stop_tx, stop_rx) = watch::channel(());
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, stop_rx.clone()));
                }
                Err(err) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(ended) = conns.join_next(), if !conns.is_empty() => {
                if let Err(err) = ended {
                    tracing::warn!(%err, "connection task failed");
                }
            }
        }
    }
    drop(listener);
    drop(stop_tx);
    let drained =
        tokio::time::timeout(drain_timeout, async { while conns.join_next().await.is_some() {} })
            .await;
    if drained.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

/// What a request path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Book { market: String, depth1: bool },
    Trades { market: String },
    Rpc,
}

fn route(path: &str, query: Option<&str>) -> Result<Route, (StatusCode, &'static str)> {
    if path == V2_PATH {
        return Ok(Route::Rpc);
    }
    let not_found = (StatusCode::NOT_FOUND, "unknown stream path");
    let rest = path.strip_prefix(V1_PREFIX).ok_or(not_found)?;
    let (stream, market) = rest.split_once('/').ok_or(not_found)?;
    if market.is_empty() || market.contains('/') {
        return Err(not_found);
    }
    let market = market.to_owned();
    match (stream, query) {
        ("orderbooks", None) => Ok(Route::Book { market, depth1: false }),
        ("orderbooks", Some("depth=1")) => Ok(Route::Book { market, depth1: true }),
        ("publicTrades", None) => Ok(Route::Trades { market }),
        ("orderbooks" | "publicTrades", Some(_)) => {
            Err((StatusCode::BAD_REQUEST, "bad query parameters"))
        }
        _ => Err(not_found),
    }
}

fn refuse(status: StatusCode, message: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(message.to_owned()));
    *response.status_mut() = status;
    response
}

// The handshake callback's error type is tungstenite's, large by design.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<()>) {
    let mut routed = None;
    let callback = |request: &Request, response: Response| {
        if !request.headers().contains_key(header::USER_AGENT) {
            return Err(refuse(StatusCode::FORBIDDEN, "User-Agent header is required"));
        }
        match route(request.uri().path(), request.uri().query()) {
            Ok(r) => {
                routed = Some(r);
                Ok(response)
            }
            Err((status, message)) => Err(refuse(status, message)),
        }
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let Some(route) = routed else {
        return;
    };
    let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
    let (kind, first_seq) = match route {
        Route::Rpc => (FaultStream::Rpc, 0),
        Route::Book { .. } => (FaultStream::Book, 1),
        Route::Trades { .. } => (FaultStream::Trades, 1),
    };
    let of_kind = shared.accepted_by[kind as usize].fetch_add(1, Ordering::SeqCst) + 1;
    let period = shared.config.ping_every;
    let mut conn = Conn {
        ws,
        inj: shared.config.faults.injector(number, kind, of_kind, first_seq),
        stop,
        ping: tokio::time::interval_at(Instant::now() + period, period),
        number,
        stream: kind.name(),
        bad_log: Arc::clone(&shared.config.bad_log),
    };
    let hub = &shared.hub;
    match route {
        Route::Rpc => rpc(conn, hub).await,
        Route::Book { market, .. } | Route::Trades { market }
            if hub.market_index(&market).is_none() =>
        {
            // docs/VENUES.md §1.5: an unknown market gets the error envelope and no data.
            if conn.text(wire::error_envelope(1001, "Market not found")).await == Flow::Continue {
                conn.close(CloseCode::Normal, "market not found").await;
            }
        }
        Route::Book { market, depth1 } => {
            let index = hub.market_index(&market).expect("checked by the arm above");
            v1(conn, hub, index, Stream::Book { depth1 }).await;
        }
        Route::Trades { market } => {
            let index = hub.market_index(&market).expect("checked by the arm above");
            v1(conn, hub, index, Stream::Trades).await;
        }
    }
}

/// Whether a connection goes on after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    End,
}

pub(super) enum Event {
    Tick(Result<Arc<Tick>, broadcast::error::RecvError>),
    Client(Option<Result<Message, WsError>>),
    Ping,
    Stop,
}

pub(super) struct Conn {
    pub(super) ws: WebSocketStream<TcpStream>,
    pub(super) inj: Injector,
    pub(super) stop: watch::Receiver<()>,
    pub(super) ping: Interval,
    /// The connection's number in accept order, from 1.
    pub(super) number: u64,
    /// `book`, `trades`, `rpc` or `combined`, as `bad.jsonl` names it.
    pub(super) stream: &'static str,
    pub(super) bad_log: Arc<BadLog>,
}

impl Conn {
    /// The next thing to react to. Client messages come first so pings are answered even
    /// while the market floods; steps come before shutdown so queued steps drain first.
    pub(super) async fn next_event(&mut self, rx: &mut broadcast::Receiver<Arc<Tick>>) -> Event {
        tokio::select! {
            biased;
            msg = self.ws.next() => Event::Client(msg),
            tick = rx.recv() => Event::Tick(tick),
            _ = self.ping.tick() => Event::Ping,
            _ = self.stop.changed() => Event::Stop,
        }
    }

    /// Sends one text message outside the data sequence (acks, error envelopes).
    pub(super) async fn text(&mut self, text: String) -> Flow {
        match self.ws.send(Message::text(text)).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    /// Sends one data frame of market number `market` named `name` through the fault
    /// injector; `render` spells it for its seq.
    pub(super) async fn data(
        &mut self,
        (market, name): (usize, &str),
        render: impl FnOnce(u64) -> String,
    ) -> Flow {
        if self.inj.is_stalled() {
            return Flow::Continue;
        }
        let (frame, seq) = self.inj.next_frame();
        let outs = self.inj.emit(frame, render(seq), market, name);
        self.deliver(outs).await
    }

    /// Sends one data message of a venue spelled per connection (Kraken, OKX) through the
    /// fault injector, where `skip=N` drops frame N outright: the client sees the hole in its
    /// checksum or sequence chain, as after a lost message.
    pub(super) async fn send_data(&mut self, at: (usize, &str), text: String) -> Flow {
        if self.inj.is_stalled() {
            return Flow::Continue;
        }
        let (frame, _) = self.inj.next_frame();
        self.emit_data(at, frame, text).await
    }

    /// [`Conn::send_data`] for a frame already numbered (whose text depended on its number).
    pub(super) async fn emit_data(&mut self, at: (usize, &str), frame: u64, text: String) -> Flow {
        if self.inj.skips(frame) {
            return Flow::Continue;
        }
        let outs = self.inj.emit(frame, text, at.0, at.1);
        self.deliver(outs).await
    }

    /// Sends what the fault injector made of one frame, in order.
    pub(super) async fn deliver(&mut self, outs: Vec<Out>) -> Flow {
        if outs.is_empty() {
            return Flow::Continue;
        }
        for out in outs {
            match out {
                Out::Text(text) => {
                    if self.ws.feed(Message::text(text)).await.is_err() {
                        return Flow::End;
                    }
                }
                Out::Bad(bad) => {
                    let message = match bad.payload {
                        Payload::Text(text) => Message::text(text),
                        Payload::Binary(bytes) => Message::binary(bytes),
                    };
                    if self.ws.feed(message).await.is_err() {
                        return Flow::End;
                    }
                    self.bad_log.record(&BadSent {
                        kind: bad.kind,
                        market: bad.market,
                        conn: self.number,
                        stream: self.stream,
                        frame: bad.frame,
                        seq: bad.seq,
                        ts: bad.ts,
                    });
                }
                Out::Disconnect => {
                    // Push out what was fed, then drop the socket without a close frame.
                    let _ = self.ws.flush().await;
                    return Flow::End;
                }
            }
        }
        match self.ws.flush().await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    /// Reacts to a client message that needs no protocol answer (pings, close, noise).
    pub(super) async fn client(&mut self, msg: Option<Result<Message, WsError>>) -> Flow {
        match msg {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                // tungstenite queued the close reply; push it out.
                let _ = self.ws.flush().await;
                Flow::End
            }
            Some(Ok(Message::Ping(_))) => match self.ws.flush().await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::End,
            },
            Some(Ok(_)) => Flow::Continue,
        }
    }

    pub(super) async fn ping(&mut self) -> Flow {
        match self.ws.send(Message::Ping(Default::default())).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::End,
        }
    }

    /// Sends a close frame and waits (bounded) for the client's reply.
    pub(super) async fn close(mut self, code: CloseCode, reason: &str) {
        let frame = CloseFrame { code, reason: reason.into() };
        if self.ws.close(Some(frame)).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// Closes for a broadcast that ended (simulation over) or overflowed (client too slow).
    pub(super) async fn close_for(self, err: broadcast::error::RecvError) {
        match err {
            broadcast::error::RecvError::Closed => {
                self.close(CloseCode::Normal, "simulation ended").await
            }
            broadcast::error::RecvError::Lagged(_) => {
                self.close(CloseCode::Again, "client too slow: fell behind the market, reconnect")
                    .await;
            }
        }
    }
}

/// Which v1 stream a connection carries.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Book { depth1: bool },
    Trades,
}

/// A v1 stream (docs/VENUES.md §1.3, §1.4): a SNAPSHOT or the trades replay at seq 1, then one
/// frame per step (book: every step, empty deltas included, plus the minutely SNAPSHOT after
/// its step's DELTA; trades: steps with trades).
async fn v1(mut conn: Conn, hub: &Hub, market: usize, stream: Stream) {
    let Some((start, mut rx)) = hub.attach(market) else {
        conn.close(CloseCode::Away, "simulation ended").await;
        return;
    };
    let first = match stream {
        Stream::Book { depth1: false } => &start.snapshot,
        Stream::Book { depth1: true } => &start.top,
        Stream::Trades => &start.replay,
    };
    let at = (market, hub.markets().get(market).map_or("", String::as_str));
    let flow = conn
        .data(at, |seq| match stream {
            Stream::Book { .. } => wire::v1_book(FrameKind::Snapshot, first, start.ts_ms, seq),
            Stream::Trades => wire::v1_trades(first, start.ts_ms, seq),
        })
        .await;
    if flow == Flow::End {
        return;
    }
    loop {
        let flow = match conn.next_event(&mut rx).await {
            Event::Tick(Ok(tick)) => {
                let Some(step) = tick.markets.get(market) else { continue };
                match stream {
                    Stream::Book { depth1: false } => {
                        let delta =
                            |seq| wire::v1_book(FrameKind::Delta, &step.delta, tick.ts_ms, seq);
                        match (conn.data(at, delta).await, &step.snapshot) {
                            (Flow::Continue, Some(snapshot)) => {
                                conn.data(at, |seq| {
                                    wire::v1_book(FrameKind::Snapshot, snapshot, tick.ts_ms, seq)
                                })
                                .await
                            }
                            (flow, _) => flow,
                        }
                    }
                    Stream::Book { depth1: true } => {
                        conn.data(at, |seq| {
                            wire::v1_book(FrameKind::Snapshot, &step.top, tick.ts_ms, seq)
                        })
                        .await
                    }
                    Stream::Trades => match &step.trades {
                        Some(data) => {
                            conn.data(at, |seq| wire::v1_trades(data, tick.ts_ms, seq)).await
                        }
                        None => Flow::Continue,
                    },
                }
            }
            Event::Tick(Err(err)) => return conn.close_for(err).await,
            Event::Client(msg) => conn.client(msg).await,
            Event::Ping => conn.ping().await,
            Event::Stop => return conn.close(CloseCode::Away, "server shutting down").await,
        };
        if flow == Flow::End {
            return;
        }
    }
}

/// One v2 subscription.
#[derive(Debug, Clone)]
struct Sub {
    topic: String,
    market: usize,
    /// The market's name.
    name: String,
    kind: Scope,
    /// Steps up to this index are already in the snapshot or replay sent on subscribe.
    from: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Book { depth1: bool },
    Trades,
}

/// A v2 JSON-RPC connection (docs/VENUES.md §2): one seq for all topics, from 0.
async fn rpc(mut conn: Conn, hub: &Hub) {
    let Some(mut rx) = hub.subscribe() else {
        conn.close(CloseCode::Away, "simulation ended").await;
        return;
    };
    let mut subs: Vec<Sub> = Vec::new();
    loop {
        let flow = match conn.next_event(&mut rx).await {
            Event::Tick(Ok(tick)) => rpc_tick(&mut conn, &subs, &tick).await,
            Event::Tick(Err(err)) => return conn.close_for(err).await,
            Event::Client(Some(Ok(Message::Text(text)))) => {
                rpc_request(&mut conn, hub, &mut subs, &text).await
            }
            Event::Client(msg) => conn.client(msg).await,
            Event::Ping => conn.ping().await,
            Event::Stop => return conn.close(CloseCode::Away, "server shutting down").await,
        };
        if flow == Flow::End {
            return;
        }
    }
}

async fn rpc_tick(conn: &mut Conn, subs: &[Sub], tick: &Tick) -> Flow {
    for sub in subs.iter().filter(|s| tick.index > s.from) {
        let Some(step) = tick.markets.get(sub.market) else { continue };
        let snapshot = wire::v2_book_type(FrameKind::Snapshot);
        // The minutely SNAPSHOT follows its step's DELTA (see `hub`).
        let frames: [Option<(&str, &String)>; 2] = match sub.kind {
            Scope::Book { depth1: false } => [
                Some((wire::v2_book_type(FrameKind::Delta), &step.delta)),
                step.snapshot.as_ref().map(|data| (snapshot, data)),
            ],
            Scope::Book { depth1: true } => [Some((snapshot, &step.top)), None],
            Scope::Trades => [step.trades.as_ref().map(|data| ("TRADES", data)), None],
        };
        for (kind, data) in frames.into_iter().flatten() {
            let at = (sub.market, sub.name.as_str());
            if conn.data(at, |seq| wire::v2_data(kind, data, tick.ts_ms, seq, &sub.topic)).await
                == Flow::End
            {
                return Flow::End;
            }
        }
    }
    Flow::Continue
}

/// The topic and scope a subscribe/unsubscribe names, or the JSON-RPC error for it.
fn parse_params(
    hub: &Hub,
    params: Option<&Value>,
) -> Result<(String, usize, Scope), (i64, String)> {
    let invalid = |message: &str| (-32602, message.to_owned());
    let params = params.ok_or_else(|| invalid("missing params"))?;
    let scope = params
        .get("scope")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing params.scope"))?;
    let selector = params.get("selector").cloned().unwrap_or(Value::Null);
    let market = selector.get("market").and_then(Value::as_str).ok_or_else(|| {
        invalid("the simulator needs selector.market (all-market topics are not simulated)")
    })?;
    let index = hub.market_index(market).ok_or_else(|| (1001, "Market not found".to_owned()))?;
    match scope {
        "orderbooks" => {
            if selector.get("rfqOnly").and_then(Value::as_bool) == Some(true) {
                return Err(invalid("rfqOnly is not simulated"));
            }
            match selector.get("depth").and_then(Value::as_str).unwrap_or("full") {
                "full" => {
                    Ok((format!("orderbooks.{market}"), index, Scope::Book { depth1: false }))
                }
                "1" => Ok((format!("orderbooks.1.{market}"), index, Scope::Book { depth1: true })),
                _ => Err(invalid("selector.depth must be \"full\" or \"1\"")),
            }
        }
        "trades" => Ok((format!("trades.{market}"), index, Scope::Trades)),
        _ => Err(invalid("scope not simulated (orderbooks and trades are)")),
    }
}

async fn rpc_request(conn: &mut Conn, hub: &Hub, subs: &mut Vec<Sub>, text: &str) -> Flow {
    let Ok(request) = serde_json::from_str::<Value>(text) else {
        return conn.text(wire::rpc_error(&Value::Null, -32700, "Parse error")).await;
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    match method {
        "ping" => conn.text(wire::rpc_ok(&id, "ping", &[])).await,
        "list-subscriptions" => {
            let topics: Vec<Value> = subs.iter().map(|s| Value::from(s.topic.clone())).collect();
            conn.text(wire::rpc_ok(&id, method, &[("subscriptions", Value::from(topics))])).await
        }
        "subscribe" | "unsubscribe" => {
            let (topic, market, kind) = match parse_params(hub, request.get("params")) {
                Ok(parsed) => parsed,
                Err((code, message)) => {
                    return conn.text(wire::rpc_error(&id, code, &message)).await
                }
            };
            subs.retain(|s| s.topic != topic);
            if method == "unsubscribe" {
                return conn
                    .text(wire::rpc_ok(&id, method, &[("subscription", Value::from(topic))]))
                    .await;
            }
            let Some(start) = hub.view(market) else {
                return conn.text(wire::rpc_error(&id, 1001, "Market not found")).await;
            };
            if conn
                .text(wire::rpc_ok(&id, method, &[("subscription", Value::from(topic.clone()))]))
                .await
                == Flow::End
            {
                return Flow::End;
            }
            // The first frame of a topic after its ack: a SNAPSHOT, or the trades replay.
            let (kind_text, data) = match kind {
                Scope::Book { depth1: false } => {
                    (wire::v2_book_type(FrameKind::Snapshot), &start.snapshot)
                }
                Scope::Book { depth1: true } => {
                    (wire::v2_book_type(FrameKind::Snapshot), &start.top)
                }
                Scope::Trades => ("TRADES", &start.replay),
            };
            let name = hub.markets().get(market).cloned().unwrap_or_default();
            let flow = conn
                .data((market, &name), |seq| {
                    wire::v2_data(kind_text, data, start.ts_ms, seq, &topic)
                })
                .await;
            subs.push(Sub { topic, market, name, kind, from: start.index });
            flow
        }
        _ => conn.text(wire::rpc_error(&id, -32601, "Method not found")).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_extended_paths() {
        let book = route("/stream.extended.exchange/v1/orderbooks/ETH-USD", None);
        assert_eq!(book, Ok(Route::Book { market: "ETH-USD".into(), depth1: false }));
        let top = route("/stream.extended.exchange/v1/orderbooks/BTC-USD", Some("depth=1"));
        assert_eq!(top, Ok(Route::Book { market: "BTC-USD".into(), depth1: true }));
        let trades = route("/stream.extended.exchange/v1/publicTrades/ETH-USD", None);
        assert_eq!(trades, Ok(Route::Trades { market: "ETH-USD".into() }));
        assert_eq!(route("/stream.extended.exchange/v2/rpc", None), Ok(Route::Rpc));
        assert_eq!(
            route("/stream.extended.exchange/v1/orderbooks/ETH-USD", Some("depth=7"))
                .unwrap_err()
                .0,
            StatusCode::BAD_REQUEST
        );
        for bad in [
            "/",
            "/stream.extended.exchange/v1/orderbooks",
            "/stream.extended.exchange/v1/funding/ETH-USD",
        ] {
            assert_eq!(route(bad, None).unwrap_err().0, StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
