//! The connection bookkeeping of venues that subscribe one channel per connection and prove
//! each connection's book on its own (Kraken, OKX, Hyperliquid): which connections are open, which were
//! ended by a break (their later frames and their disconnect are ignored, docs/VENUES.md §4),
//! and the `connect` / `disconnect` rows every such venue writes the same way. A venue keeps
//! its own per-connection state `T` and handles only the frames [`Conns::route`] hands back.
//!
//! Pure bookkeeping: no I/O, no clocks.

use std::collections::BTreeMap;

use crate::storage::{Entry, Record, Stream};

use super::rules::{Sink, Verdict};
use crate::model::{EventKind, RecvTime};

/// One connection's state.
#[derive(Debug, Clone)]
pub enum Conn<T> {
    Open(Box<T>),
    /// Ended by a break: its later frames and its disconnect are ignored.
    Ended,
}

/// A market's connections by number.
#[derive(Debug, Clone)]
pub struct Conns<T> {
    map: BTreeMap<u32, Conn<T>>,
    max_conn: u32,
}

impl<T> Default for Conns<T> {
    fn default() -> Self {
        Self { map: BTreeMap::new(), max_conn: 0 }
    }
}

impl<T> Conns<T> {
    /// No connection yet, numbering on after `max_conn` (from the state file).
    pub fn after(max_conn: u32) -> Self {
        Self { map: BTreeMap::new(), max_conn }
    }

    /// Puts back a connection the state file held (`None`: ended).
    pub fn restore(&mut self, conn: u32, state: Option<T>) {
        let state = state.map_or(Conn::Ended, |t| Conn::Open(Box::new(t)));
        self.map.insert(conn, state);
    }

    /// Books `record` for its connection: a `Connect` opens it with `open(stream)` and writes
    /// its `connect` row (detail: the URL and `channel(stream)`, since every channel connects
    /// to one URL); a `Disconnect` of an open connection writes its row; a `Restart` ends
    /// every open one. A `Frame` is counted, and handed back when its connection is open.
    pub fn route<'r>(
        &mut self,
        record: &'r Record,
        sink: &mut Sink,
        open: impl FnOnce(Stream) -> T,
        channel: impl FnOnce(Stream) -> &'static str,
    ) -> Option<(u32, &'r str)> {
        let ts = record.ts_recv;
        match &record.entry {
            Entry::Connect { conn, stream, url } => {
                self.max_conn = self.max_conn.max(*conn);
                self.map.insert(*conn, Conn::Open(Box::new(open(*stream))));
                sink.connected(ts, *conn, &format!("{url} ({})", channel(*stream)));
                None
            }
            Entry::Frame { conn, text } => {
                sink.frame(ts, *conn);
                matches!(self.map.get(conn), Some(Conn::Open(_))).then_some((*conn, text.as_str()))
            }
            Entry::Disconnect { conn, cause, detail } => {
                if let Some(Conn::Open(_)) = self.map.get(conn) {
                    sink.disconnected(ts, *conn, *cause, detail);
                }
                self.map.remove(conn);
                None
            }
            Entry::Restart => {
                for conn in self.open_conns() {
                    sink.restarted(ts, conn);
                }
                self.map.clear();
                None
            }
        }
    }

    /// The state of `conn` if it is open.
    pub fn open_mut(&mut self, conn: u32) -> Option<&mut T> {
        match self.map.get_mut(&conn) {
            Some(Conn::Open(state)) => Some(state),
            _ => None,
        }
    }

    /// Marks `conn` ended by a break.
    pub fn end(&mut self, conn: u32) {
        self.map.insert(conn, Conn::Ended);
    }

    /// Ends `conn` by a break: its one terminal row (counted as a gap), and the verdict that
    /// closes its socket.
    #[allow(clippy::too_many_arguments)]
    pub fn break_off(
        &mut self,
        sink: &mut Sink,
        ts: RecvTime,
        conn: u32,
        kind: EventKind,
        seq: Option<i64>,
        expected_seq: Option<i64>,
        detail: String,
    ) -> Verdict {
        self.end(conn);
        sink.broken(ts, conn, kind, seq, expected_seq, detail)
    }

    pub fn open_conns(&self) -> Vec<u32> {
        self.map.iter().filter(|(_, c)| matches!(c, Conn::Open(_))).map(|(n, _)| *n).collect()
    }

    pub fn max_conn(&self) -> u32 {
        self.max_conn
    }

    /// Every connection with its state, `None` for an ended one (for the state file).
    pub fn iter(&self) -> impl Iterator<Item = (u32, Option<&T>)> {
        self.map.iter().map(|(conn, state)| match state {
            Conn::Open(t) => (*conn, Some(t.as_ref())),
            Conn::Ended => (*conn, None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventKind, RecvTime};
    use crate::storage::Cause;

    fn rec(entry: Entry) -> Record {
        Record { jseq: 1, ts_recv: RecvTime::from_nanos(1), entry }
    }

    #[test]
    fn ended_connections_hand_back_no_frames_and_write_no_disconnect() {
        let mut conns = Conns::<u8>::default();
        let mut sink = Sink::new(5);
        let connect = rec(Entry::Connect { conn: 1, stream: Stream::Book, url: "ws://x".into() });
        assert_eq!(conns.route(&connect, &mut sink, |_| 7, |_| "book"), None);
        let frame = rec(Entry::Frame { conn: 1, text: "{}".into() });
        assert_eq!(conns.route(&frame, &mut sink, |_| 0, |_| "book"), Some((1, "{}")));
        assert_eq!(conns.open_mut(1), Some(&mut 7));
        conns.end(1);
        assert_eq!(conns.route(&frame, &mut sink, |_| 0, |_| "book"), None);
        let gone =
            rec(Entry::Disconnect { conn: 1, cause: Cause::Closed, detail: "closed".into() });
        conns.route(&gone, &mut sink, |_| 0, |_| "book");
        let kinds: Vec<_> = sink.out.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Connect]);
        assert_eq!(sink.out.events[0].detail.as_deref(), Some("ws://x (book)"));
        assert_eq!((sink.counters.frames, conns.max_conn()), (2, 1));
        conns.route(&connect, &mut sink, |_| 1, |_| "book");
        conns.route(&rec(Entry::Restart), &mut sink, |_| 0, |_| "book");
        assert!(conns.open_conns().is_empty());
        assert_eq!(sink.out.events.last().unwrap().detail.as_deref(), Some("recorder restarted"));
    }
}
