//! The skeleton every subscription venue of the simulator shares (Kraken, OKX, Hyperliquid):
//! one WebSocket path serves every stream, and a connection becomes a book or a trades
//! stream by its first `subscribe` message. Owns accepting (until shutdown, then the drain
//! `server::serve` also does), the path check of the handshake, the connection loop, and
//! which stream a connection is for the `@book:N` / `@trades:N` faults.
//!
//! A venue module says only what is its own through [`Protocol`]: its path, what greets a new
//! connection, how it answers a client's text, and what it sends for one market step.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::fault::FaultStream;
use super::hub::{Hub, Tick};
use super::server::{accept_until, Conn, Event, Flow, ServerConfig};

/// What one venue's protocol adds to the skeleton.
pub(super) trait Protocol: Send + Sync + 'static {
    /// The subscriptions of one connection.
    type Subs: Default + Send + Sync;
    /// The WebSocket path; any other is refused with 404 (unless [`Protocol::serves`] says
    /// otherwise).
    const PATH: &'static str;

    /// Whether a request for `path` is served (Bybit serves one path per product category).
    fn serves(path: &str) -> bool {
        path == Self::PATH
    }

    /// A message sent as soon as a connection is accepted (Kraken's `status`).
    fn hello(_conn: &Conn) -> Option<String> {
        None
    }

    /// Answers one text message of the client (subscribe, ping, anything else).
    fn request<'a>(
        conn: &'a mut Conn,
        shared: &'a Shared,
        subs: &'a mut Self::Subs,
        text: &'a str,
    ) -> impl Future<Output = Flow> + Send + 'a;

    /// Sends what one market step changed for the connection's subscriptions.
    fn tick<'a>(
        conn: &'a mut Conn,
        shared: &'a Shared,
        subs: &'a mut Self::Subs,
        tick: &'a Tick,
    ) -> impl Future<Output = Flow> + Send + 'a;
}

/// What every connection of one server shares.
pub(super) struct Shared {
    pub(super) hub: Hub,
    pub(super) config: ServerConfig,
    accepted: AtomicU64,
    /// Connections whose first subscription was a book / trades one.
    accepted_by: [AtomicU64; 2],
}

impl Shared {
    /// Called before a connection's first subscription: that subscription says which stream
    /// the connection is, so the faults of `@book:N` or `@trades:N` apply to it from here.
    pub(super) fn first_subscription(&self, conn: &mut Conn, book: bool) {
        let (kind, index) = if book { (FaultStream::Book, 0) } else { (FaultStream::Trades, 1) };
        let of_kind = self.accepted_by[index].fetch_add(1, Ordering::SeqCst) + 1;
        conn.inj = self.config.faults.injector(conn.number, kind, of_kind, 1);
        conn.stream = kind.name();
    }
}

/// Accepts connections until `shutdown`, then lets them drain (as `server::serve` does).
pub(super) async fn serve<P: Protocol>(
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
        connection::<P>(stream, Arc::clone(&shared), stop)
    })
    .await;
}

// The handshake callback's error type is tungstenite's, large by design.
#[allow(clippy::result_large_err)]
async fn connection<P: Protocol>(
    stream: TcpStream,
    shared: Arc<Shared>,
    stop: watch::Receiver<()>,
) {
    let callback = |request: &Request, response: Response| {
        if P::serves(request.uri().path()) {
            Ok(response)
        } else {
            let text = format!("not found: the API is at {}", P::PATH);
            let mut refused = ErrorResponse::new(Some(text));
            *refused.status_mut() = StatusCode::NOT_FOUND;
            Err(refused)
        }
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let number = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
    let period = shared.config.ping_every;
    let conn = Conn {
        ws,
        // Replaced by the first subscription, which says which stream this is.
        inj: shared.config.faults.injector(number, FaultStream::Book, 0, 1),
        stop,
        ping: tokio::time::interval_at(Instant::now() + period, period),
        number,
        stream: "book",
        bad_log: Arc::clone(&shared.config.bad_log),
    };
    run::<P>(conn, &shared).await;
}

async fn run<P: Protocol>(mut conn: Conn, shared: &Shared) {
    let Some(mut rx) = shared.hub.subscribe() else {
        return conn.close(CloseCode::Away, "simulation ended").await;
    };
    if let Some(hello) = P::hello(&conn) {
        if conn.text(hello).await == Flow::End {
            return;
        }
    }
    let mut subs = P::Subs::default();
    loop {
        let flow = match conn.next_event(&mut rx).await {
            Event::Tick(Ok(tick)) => P::tick(&mut conn, shared, &mut subs, &tick).await,
            Event::Tick(Err(err)) => return conn.close_for(err).await,
            Event::Client(Some(Ok(Message::Text(text)))) => {
                P::request(&mut conn, shared, &mut subs, text.as_str()).await
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
