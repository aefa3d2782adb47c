//! A venue's **link plan**: what the connection loop in `collect` must do to receive one
//! market's streams — where to connect, what to send once connected, which application-level
//! pings keep the stream alive, which REST snapshot to fetch and when, how long a stream may
//! be silent and how large a message may be. A venue builds its plan in its own folder
//! (`src/venue/<venue>/link.rs`); `collect` carries it out and names no venue
//! (docs/ARCHITECTURE.md "Layering").
//!
//! Plain data: nothing here opens a socket or keeps time.

use std::time::Duration;

use crate::storage::Stream;

/// Where the user pointed a venue (flags or config file); `None`: the venue's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// The stream base URL (`--url`).
    pub url: Option<String>,
    /// The REST snapshot endpoint (`--rest-url`), for venues that fetch one.
    pub rest_url: Option<String>,
}

impl Endpoints {
    /// The stream URL to connect to: the venue's production `default` unless `--url` names
    /// another; a `--url` of a host alone (`ws://127.0.0.1:PORT`, as `mdkit simulate` prints)
    /// gets `default`'s path, since every venue serves its streams at one path.
    pub fn stream_url(&self, default: &str) -> String {
        let Some(given) = self.url.as_deref() else { return default.to_owned() };
        let given = given.trim_end_matches('/');
        let path = |url: &str| {
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            after_scheme.find('/').map_or("", |at| &after_scheme[at..]).to_owned()
        };
        if path(given).is_empty() {
            format!("{given}{}", path(default))
        } else {
            given.to_owned()
        }
    }
}

/// What to record of a market and how patient to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub book: bool,
    pub trades: bool,
    /// Reconnect a book stream silent this long (`--stale-after`).
    pub stale_after: Duration,
}

/// One connection to keep open for a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// What the connection carries, as journaled in its `Connect` record.
    pub stream: Stream,
    /// The WebSocket URL.
    pub url: String,
    /// Text messages sent once the handshake is done (subscriptions), in order.
    pub subscribe: Vec<String>,
    /// An application-level ping the venue wants besides WebSocket pings.
    pub ping: Option<AppPing>,
    /// A REST snapshot fetched once per connection and journaled as a frame of it.
    pub rest: Option<RestSnapshot>,
    /// The watchdog's limit; `None` for a stream that may be quiet (trades).
    pub stale_after: Option<Duration>,
    /// The largest message accepted; a larger one ends the connection.
    pub max_message_bytes: usize,
}

/// A text message sent every `every` while connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPing {
    pub every: Duration,
    pub text: String,
}

/// A REST snapshot to fetch (GET) once the first frame whose first 80 bytes contain
/// `after_frame_containing` has arrived (so the stream's buffered diffs can bridge it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestSnapshot {
    pub url: String,
    pub after_frame_containing: &'static str,
}

impl RestSnapshot {
    /// Whether `frame` is the one after which the snapshot is fetched.
    pub fn triggered_by(&self, frame: &str) -> bool {
        let head = frame.get(..frame.len().min(80)).unwrap_or(frame);
        head.contains(self.after_frame_containing)
    }
}

/// A link plan that cannot be made from the given settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_gets_the_venues_path_and_anything_else_is_kept() {
        let default = "wss://ws.okx.com:8443/ws/v5/public";
        let at = |url: Option<&str>| {
            Endpoints { url: url.map(str::to_owned), rest_url: None }.stream_url(default)
        };
        assert_eq!(at(None), default);
        assert_eq!(at(Some("ws://127.0.0.1:4000")), "ws://127.0.0.1:4000/ws/v5/public");
        assert_eq!(at(Some("ws://127.0.0.1:4000/")), "ws://127.0.0.1:4000/ws/v5/public");
        assert_eq!(at(Some("ws://127.0.0.1:4000/other")), "ws://127.0.0.1:4000/other");
        assert_eq!(
            at(Some("wss://ws.okx.com:8443/ws/v5/business")),
            "wss://ws.okx.com:8443/ws/v5/business"
        );
    }
}
