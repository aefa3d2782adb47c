//! The local Binance venue (`mdkit simulate --venue binance-*`): the same synthetic market as
//! the Extended venue, spoken as Binance's combined WebSocket stream and REST depth snapshot
//! (docs/VENUES.md §3), both on one 127.0.0.1 port.
//!
//! * `GET /stream?streams=<sym>@depth[@100ms|@0ms|@500ms]/<sym>@trade/…` upgrades to a
//!   WebSocket (also under `/public` and `/market`, the USD-M routes). Each step sends one
//!   frame per trade, then one diff per subscribed market (empty ones too: a simplification,
//!   real Binance skips steps with no change). Symbols match case-insensitively.
//! * `GET <depth path>?symbol=SYM[&limit=N]` (spot `/api/v3/depth`, USD-M `/fapi/v1/depth`,
//!   COIN-M `/dapi/v1/depth`) answers the book as it stood when the request arrived, but only
//!   after `rest_lag` more steps have been broadcast: diffs newer than the snapshot reach the
//!   client first, the trap a recorder must handle by buffering them.
//! * COIN-M: `GET /dapi/v1/exchangeInfo` lists every market with its `contractSize` (100 USD
//!   for BTC, 10 otherwise), which `collect` stores as the market's contract; not a counted
//!   REST request.
//!
//! Faults (see `fault`): frame numbers count a connection's data frames (diffs and trades
//! together); `skip=N` drops the first diff at or after frame N (a break of the update-id
//! chain); `disconnect`, `duplicate`, `swap`, `malformed`, `stall`, `burst` act as on
//! Extended; `bad=K` sends a bad frame before every K-th frame (its sequence number is the
//! diff's `u` or the trade's `t`; `bad.jsonl` names the stream `combined`); `http429=N`
//! answers REST request N with HTTP 429. Pings every `ping_every`.
//! Owns routing, the handshake and REST answers; spelling is `binance_wire`'s.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::binance_wire as wire;
use super::hub::Hub;
use super::server::{accept_until, Conn, Event, Flow, ServerConfig};
use crate::venue::binance::Kind;

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

struct Shared {
    hub: Hub,
    kind: Kind,
    config: ServerConfig,
    rest_lag: u64,
    accepted: AtomicU64,
    requests: AtomicU64,
}

/// Accepts connections until `shutdown`, then lets them drain (as `server::serve` does).
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    kind: Kind,
    config: ServerConfig,
    rest_lag: u64,
    shutdown: impl Future<Output = ()>,
) {
    let drain_timeout = config.drain_timeout;
    let shared = Arc::new(Shared {
        hub,
        kind,
        config,
        rest_lag,
        accepted: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    });
    accept_until(listener, drain_timeout, shutdown, |stream, stop| {
        connection(stream, Arc::clone(&shared), stop)
    })
    .await;
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
}

fn parse_head(text: &str) -> Option<Head> {
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    if first.next()? != "GET" {
        return None;
    }
    let target = first.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Head { path: path.to_owned(), query, headers })
}

async fn read_head(stream: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        true
    };
    if !tokio::time::timeout(Duration::from_secs(5), read).await.unwrap_or(false) {
        return None;
    }
    parse_head(std::str::from_utf8(&buf).ok()?)
}

async fn respond(mut stream: TcpStream, status: &str, extra: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// One subscribed stream of a combined connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sub {
    name: String,
    market: usize,
    depth: bool,
}

/// The subscriptions of `?streams=a/b/c`, or the name of the first one not served.
fn subscriptions(hub: &Hub, streams: &str) -> Result<Vec<Sub>, String> {
    let mut subs = Vec::new();
    for name in streams.split('/').filter(|s| !s.is_empty()) {
        let (symbol, kind) = name.split_once('@').ok_or_else(|| name.to_owned())?;
        let market = hub
            .markets()
            .iter()
            .position(|m| m.eq_ignore_ascii_case(symbol))
            .ok_or_else(|| name.to_owned())?;
        let depth = match kind {
            "depth" | "depth@100ms" | "depth@0ms" | "depth@500ms" | "depth@250ms" => true,
            "trade" => false,
            _ => return Err(name.to_owned()),
        };
        subs.push(Sub { name: name.to_owned(), market, depth });
    }
    if subs.is_empty() {
        return Err(String::new());
    }
    Ok(subs)
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>, stop: watch::Receiver<()>) {
    let Some(head) = read_head(&mut stream).await else { return };
    let upgrade = head.headers.get("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let path = head.path.strip_prefix("/public").or(head.path.strip_prefix("/market"));
    let path = path.unwrap_or(&head.path);
    if path == "/stream" && upgrade {
        let streams = head.query.get("streams").map(String::as_str).unwrap_or("");
        let subs = match subscriptions(&shared.hub, streams) {
            Ok(subs) => subs,
            Err(name) => {
                let body = wire::error(-1121, &format!("Invalid symbol or stream {name:?}."));
                return respond(stream, "400 Bad Request", "", &body).await;
            }
        };
        let Some(key) = head.headers.get("sec-websocket-key") else {
            return respond(stream, "400 Bad Request", "", &wire::error(-1, "no key")).await;
        };
        let accept = derive_accept_key(key.as_bytes());
        let reply = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        let ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        let period = shared.config.ping_every;
        let conn = Conn {
            ws,
            inj: shared.config.faults.injector(number, super::fault::FaultStream::Book, number, 1),
            stop,
            ping: tokio::time::interval_at(Instant::now() + period, period),
            number,
            stream: "combined",
            bad_log: Arc::clone(&shared.config.bad_log),
        };
        return combined(conn, &shared, &subs).await;
    }
    if head.path == depth_path(shared.kind) {
        return rest(stream, &shared, &head).await;
    }
    if shared.kind == Kind::CoinM && head.path == "/dapi/v1/exchangeInfo" {
        // The contract of each market, as Binance lists it (not counted as a REST request).
        let body = wire::exchange_info(shared.hub.markets());
        return respond(stream, "200 OK", "", &body).await;
    }
    respond(stream, "404 Not Found", "", &wire::error(-1, "unknown path")).await;
}

/// The REST depth path this venue serves.
pub fn depth_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Spot => "/api/v3/depth",
        Kind::UsdM => "/fapi/v1/depth",
        Kind::CoinM => "/dapi/v1/depth",
    }
}

/// Answers a depth request: the book now, sent after `rest_lag` more steps.
async fn rest(stream: TcpStream, shared: &Shared, head: &Head) {
    let request = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if shared.config.faults.http429(request) {
        let body = wire::error(
            -1003,
            "Too many requests; current limit is 2400 request weight per 1 MINUTE.",
        );
        return respond(stream, "429 Too Many Requests", "Retry-After: 1\r\n", &body).await;
    }
    let symbol = head.query.get("symbol").map(String::as_str).unwrap_or("");
    let Some(market) = shared.hub.markets().iter().position(|m| m == symbol) else {
        let body = wire::error(-1121, "Invalid symbol.");
        return respond(stream, "400 Bad Request", "", &body).await;
    };
    let limit = head.query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let rx = shared.hub.subscribe();
    let Some((index, ts_ms, bids, asks)) = shared.hub.book(market) else { return };
    let body = wire::snapshot(shared.kind, symbol, index, ts_ms, &bids, &asks, limit);
    if let Some(mut rx) = rx.filter(|_| shared.rest_lag > 0) {
        // Lag: let `rest_lag` steps go out first (or the simulation end).
        while let Ok(tick) = rx.recv().await {
            if tick.index >= index + shared.rest_lag {
                break;
            }
        }
    }
    respond(stream, "200 OK", "", &body).await;
}

/// Sends one data frame of market `at` (index, symbol) through the injector; a `skip` drops
/// the next diff instead.
async fn send(
    conn: &mut Conn,
    skip: &mut bool,
    is_diff: bool,
    text: String,
    at: (usize, &str),
) -> Flow {
    if conn.inj.is_stalled() {
        return Flow::Continue;
    }
    let (frame, _) = conn.inj.next_frame();
    *skip |= conn.inj.skips(frame);
    if *skip && is_diff {
        *skip = false;
        return Flow::Continue;
    }
    let outs = conn.inj.emit(frame, text, at.0, at.1);
    conn.deliver(outs).await
}

/// A combined-stream connection: every step, each subscription's frames.
async fn combined(mut conn: Conn, shared: &Shared, subs: &[Sub]) {
    let Some(mut rx) = shared.hub.subscribe_stream() else {
        conn.close(CloseCode::Away, "simulation ended").await;
        return;
    };
    let kind = shared.kind;
    let mut skip = false;
    loop {
        let flow = match conn.next_event(&mut rx).await {
            Event::Tick(Ok(tick)) => {
                let mut flow = Flow::Continue;
                // A step's trades go out before its diff: the 100 ms diff is the book after them.
                for sub in subs.iter().filter(|s| !s.depth).chain(subs.iter().filter(|s| s.depth)) {
                    let Some(step) = tick.markets.get(sub.market) else { continue };
                    let symbol = &shared.hub.markets()[sub.market];
                    let texts: Vec<(bool, String)> = if sub.depth {
                        let text = wire::diff(
                            kind, &sub.name, symbol, tick.index, tick.ts_ms, &step.bids, &step.asks,
                        );
                        vec![(true, text)]
                    } else {
                        step.trade_list
                            .iter()
                            .map(|t| (false, wire::trade(kind, &sub.name, symbol, tick.ts_ms, t)))
                            .collect()
                    };
                    for (is_diff, text) in texts {
                        let at = (sub.market, symbol.as_str());
                        flow = send(&mut conn, &mut skip, is_diff, text, at).await;
                        if flow == Flow::End {
                            break;
                        }
                    }
                    if flow == Flow::End {
                        break;
                    }
                }
                flow
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_heads_and_stream_lists_are_read() {
        let head = parse_head(
            "GET /stream?streams=btcusdt@depth@100ms/btcusdt@trade HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.path, "/stream");
        assert_eq!(head.headers["upgrade"], "websocket");
        let hub = Hub::new(vec![super::super::market::MarketParams::preset("BTCUSDT")], 1, 0, 4);
        let subs = subscriptions(&hub, &head.query["streams"]).unwrap();
        assert_eq!(subs.iter().map(|s| s.depth).collect::<Vec<_>>(), [true, false]);
        assert_eq!(subscriptions(&hub, "ethusdt@trade"), Err("ethusdt@trade".to_owned()));
        assert_eq!(subscriptions(&hub, "btcusdt@kline_1m"), Err("btcusdt@kline_1m".to_owned()));
        assert!(parse_head("POST / HTTP/1.1\r\n\r\n").is_none());
    }
}
