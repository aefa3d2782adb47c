//! Fault injection: what goes wrong on which connection, and the per-connection injector that
//! turns the clean frame sequence into the faulty one.
//!
//! Owns the `--fault` grammar, the scenario-file faults and [`Injector`]. It must not know
//! about sockets or JSON: it sees numbered frames as text and says what to send (the bad
//! frames of `bad=K` are spelled by [`super::bad`]).
//!
//! Grammar: `KIND[=ARGS][@[STREAM:]CONN]`. `CONN` is the 1-based number of the WebSocket
//! connection in the order the server accepted its upgrade (refused handshakes do not count;
//! default 1). With `STREAM` (`book`, `trades` or `rpc`) it counts only the connections of
//! that stream, so a test can aim at a recorder's book stream whatever order its sockets
//! open in. **Exception:** `bad=K` without `@…` applies to *every* connection of the run;
//! with `@[STREAM:]CONN` only to that one.
//! Frame numbers `N` count the data frames of that connection from 1 (v2 acks do not count).
//!
//! | spec | effect |
//! | --- | --- |
//! | `disconnect=N` | after frame N the TCP socket is dropped, without a close frame |
//! | `skip=N` | frame N carries the seq one past its due value, leaving a hole (every later frame follows on from it) |
//! | `duplicate=N` | frame N is sent twice |
//! | `swap=N` | frames N and N+1 are sent in the order N+1, N |
//! | `malformed=N` | frame N is replaced by its first half: invalid JSON |
//! | `stall=N` | after frame N no more data is sent; pings are still answered, the socket stays open |
//! | `burst=N:K` | frames N … N+K−1 are held and sent back to back when frame N+K−1 is due |
//! | `http429=N` | Binance venue only: REST request N of the run (from 1) gets HTTP 429 |
//! | `checksum=N` | Kraken and OKX venues only: book frame N carries a checksum one off the true one |
//! | `bad=K[:KIND+KIND…]` | before frames K, 2K, 3K, … one bad frame, the kinds taken in turn (default: all, in the order of [`BadKind::ALL`]); **without `@` on every connection** |
//!
//! A bad frame is built from the real frame it precedes: it carries the same seq, update ids
//! and trade ids, so the recorder must refuse it and then accept the real frame, which is
//! sent unchanged (a bad frame consumes no seq). Kinds: `negative-price`, `zero-price`,
//! `negative-size`, `early-time`, `future-time`, `bad-side`, `fine-decimal`, `huge-number`,
//! `id-range`, `other-market`, `wrong-type`, `missing-field`, `unknown-type`, `not-json`,
//! `binary`, `deep-nesting`, `oversized` (see [`BadKind`] for what each is on each protocol).
//! `oversized` (over the recorder's message limit, so the recorder reconnects) is sent at
//! most once per connection: later turns skip it.
//!
//! The refusal of an upgrade without `User-Agent` (HTTP 403) is always on (docs/VENUES.md §1.2).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::bad;
pub use super::bad::{BadKind, Payload};

/// One kind of fault and its frame numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Disconnect(u64),
    Skip(u64),
    Duplicate(u64),
    Swap(u64),
    Malformed(u64),
    Stall(u64),
    Burst {
        from: u64,
        count: u64,
    },
    /// REST request number N of the run (Binance venue) is answered HTTP 429; `@CONN` is
    /// not used.
    Http429(u64),
    /// Venues with a book checksum (Kraken, OKX): data frame N carries a wrong checksum.
    Checksum(u64),
    /// One bad frame before every `every`-th data frame.
    Bad(BadSpec),
}

/// `bad=K[:KIND+KIND…]`: one bad frame before frames K, 2K, 3K, …, of the kinds in `kinds`
/// taken in turn in the order of [`BadKind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSpec {
    pub every: u64,
    pub kinds: KindSet,
}

/// A set of [`BadKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSet(u32);

impl KindSet {
    pub const ALL: KindSet = KindSet((1 << BadKind::ALL.len()) - 1);

    pub fn of(kinds: &[BadKind]) -> KindSet {
        KindSet(kinds.iter().fold(0, |set, k| set | 1 << k.index()))
    }

    pub fn contains(self, kind: BadKind) -> bool {
        self.0 & 1 << kind.index() != 0
    }

    /// The kinds in rotation order.
    pub fn kinds(self) -> Vec<BadKind> {
        BadKind::ALL.into_iter().filter(|k| self.contains(*k)).collect()
    }
}

/// A fault aimed at one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// 1-based connection number in accept order (among `stream`'s connections, if set);
    /// `None`: every connection (only `bad=K` without `@`).
    pub conn: Option<u64>,
    pub stream: Option<FaultStream>,
}

/// The kind of connection a fault may be aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStream {
    Book,
    Trades,
    Rpc,
}

impl FaultStream {
    pub fn name(self) -> &'static str {
        match self {
            FaultStream::Book => "book",
            FaultStream::Trades => "trades",
            FaultStream::Rpc => "rpc",
        }
    }
}

/// A `--fault` spec that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault {spec:?}: {reason} (use KIND[=ARGS][@[STREAM:]CONN], KIND one of disconnect=N, skip=N, duplicate=N, swap=N, malformed=N, stall=N, burst=N:K, http429=N, checksum=N, bad=K[:KIND+KIND...]; N, K and CONN count from 1)")]
pub struct FaultError {
    pub spec: String,
    pub reason: &'static str,
}

impl FromStr for Fault {
    type Err = FaultError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason| FaultError { spec: spec.to_owned(), reason };
        let (body, target) = match spec.rsplit_once('@') {
            Some((body, target)) => (body, Some(target)),
            None => (spec, None),
        };
        let every_conn = target.is_none() && body.trim_start().starts_with("bad=");
        let target = target.unwrap_or("1");
        let (stream, conn) = match target.split_once(':') {
            Some(("book", n)) => (Some(FaultStream::Book), n),
            Some(("trades", n)) => (Some(FaultStream::Trades), n),
            Some(("rpc", n)) => (Some(FaultStream::Rpc), n),
            Some(_) => return Err(err("STREAM is book, trades or rpc")),
            None => (None, target),
        };
        let conn = conn.parse::<u64>().map_err(|_| err("CONN is not a number"))?;
        if conn == 0 {
            return Err(err("CONN counts from 1"));
        }
        let (name, args) = body.split_once('=').ok_or_else(|| err("missing =N"))?;
        let number = |text: &str| match text.trim().parse::<u64>() {
            Ok(0) => Err(err("frame numbers count from 1")),
            Ok(n) => Ok(n),
            Err(_) => Err(err("N is not a number")),
        };
        let kind = match name.trim() {
            "disconnect" => FaultKind::Disconnect(number(args)?),
            "skip" => FaultKind::Skip(number(args)?),
            "duplicate" => FaultKind::Duplicate(number(args)?),
            "swap" => FaultKind::Swap(number(args)?),
            "malformed" => FaultKind::Malformed(number(args)?),
            "stall" => FaultKind::Stall(number(args)?),
            "http429" => FaultKind::Http429(number(args)?),
            "checksum" => FaultKind::Checksum(number(args)?),
            "burst" => {
                let (from, count) = args.split_once(':').ok_or_else(|| err("burst needs N:K"))?;
                FaultKind::Burst { from: number(from)?, count: number(count)? }
            }
            "bad" => {
                let (every, names) = match args.split_once(':') {
                    Some((every, names)) => (every, Some(names)),
                    None => (args, None),
                };
                let every =
                    number(every).map_err(|_| err("bad=K needs K, a frame count from 1"))?;
                let kinds = match names {
                    None => KindSet::ALL,
                    Some(names) => KindSet::of(
                        &names
                            .split('+')
                            .map(|n| BadKind::from_name(n.trim()))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| err("unknown bad-frame kind (see simulate --help)"))?,
                    ),
                };
                FaultKind::Bad(BadSpec { every, kinds })
            }
            _ => return Err(err("unknown kind")),
        };
        let conn = if every_conn { None } else { Some(conn) };
        Ok(Fault { kind, conn, stream })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::Disconnect(n) => write!(f, "disconnect={n}"),
            FaultKind::Skip(n) => write!(f, "skip={n}"),
            FaultKind::Duplicate(n) => write!(f, "duplicate={n}"),
            FaultKind::Swap(n) => write!(f, "swap={n}"),
            FaultKind::Malformed(n) => write!(f, "malformed={n}"),
            FaultKind::Stall(n) => write!(f, "stall={n}"),
            FaultKind::Burst { from, count } => write!(f, "burst={from}:{count}"),
            FaultKind::Http429(n) => write!(f, "http429={n}"),
            FaultKind::Checksum(n) => write!(f, "checksum={n}"),
            FaultKind::Bad(BadSpec { every, kinds }) if kinds == KindSet::ALL => {
                write!(f, "bad={every}")
            }
            FaultKind::Bad(BadSpec { every, kinds }) => {
                let names: Vec<&str> = kinds.kinds().into_iter().map(BadKind::name).collect();
                write!(f, "bad={every}:{}", names.join("+"))
            }
        }?;
        match (self.stream, self.conn) {
            (_, None) => Ok(()),
            (Some(stream), Some(conn)) => write!(f, "@{}:{conn}", stream.name()),
            (None, Some(conn)) => write!(f, "@{conn}"),
        }
    }
}

/// The contents of a `--scenario FILE`: `{"faults": ["skip=5@1", …], "markets": ["ETH-USD", …]}`,
/// both optional, in the command-line grammar.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub faults: Vec<String>,
    #[serde(default)]
    pub markets: Vec<String>,
}

/// Every fault of a server run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub faults: Vec<Fault>,
}

impl FaultPlan {
    /// Whether any fault is a `bad=K`.
    pub fn sends_bad_frames(&self) -> bool {
        self.faults.iter().any(|f| matches!(f.kind, FaultKind::Bad(_)))
    }

    /// Whether REST request number `request` (1-based over the run) must get HTTP 429.
    pub fn http429(&self, request: u64) -> bool {
        self.faults.iter().any(|f| f.kind == FaultKind::Http429(request))
    }

    /// The injector for the connection that is number `conn` in accept order and number
    /// `of_stream` among the connections of `stream`.
    pub fn injector(
        &self,
        conn: u64,
        stream: FaultStream,
        of_stream: u64,
        first_seq: u64,
    ) -> Injector {
        let aimed = |f: &&Fault| match (f.stream, f.conn) {
            (_, None) => true,
            (None, Some(n)) => n == conn,
            (Some(s), Some(n)) => s == stream && n == of_stream,
        };
        let kinds = self.faults.iter().filter(aimed).map(|f| f.kind).collect();
        Injector::new(kinds, first_seq)
    }
}

/// What the connection must do with one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Text(String),
    /// A bad frame of the `bad=K` fault, to send and count.
    Bad(BadFrame),
    /// Drop the socket now, without a close frame.
    Disconnect,
}

/// One bad frame and what `bad.jsonl` says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame {
    pub kind: BadKind,
    pub payload: Payload,
    /// The data frame number (on this connection) of the real frame it precedes.
    pub frame: u64,
    /// Index of the market of the real frame (as in `Hub::markets`).
    pub market: usize,
    /// The sequence number the bad frame spells in the real frame's place (Extended `seq`,
    /// Binance diff `u`, Binance trade `t`): the real frame's, or `None` when it is not
    /// valid JSON or does not spell that number there as an unsigned integer.
    pub seq: Option<u64>,
    /// Venue time of the real frame, ms (Extended `ts`, Binance `E`).
    pub ts: Option<i64>,
}

/// The rotation state of one `bad=K` fault on one connection.
#[derive(Debug, Clone)]
struct BadTurns {
    every: u64,
    kinds: Vec<BadKind>,
    /// Bad frames taken so far (the next kind is `kinds[next % len]`).
    next: usize,
}

/// Numbers one connection's data frames, assigns their seq, and applies its faults.
#[derive(Debug, Clone)]
pub struct Injector {
    kinds: Vec<FaultKind>,
    frame: u64,
    next_seq: u64,
    swapped: Option<Vec<Out>>,
    held: Vec<Out>,
    stalled: bool,
    bad: Vec<BadTurns>,
    oversized_sent: bool,
}

impl Injector {
    /// `first_seq` is 1 for a v1 stream and 0 for a v2 connection (docs/VENUES.md §1.3, §2).
    pub fn new(kinds: Vec<FaultKind>, first_seq: u64) -> Self {
        let bad = kinds
            .iter()
            .filter_map(|k| match *k {
                FaultKind::Bad(spec) => {
                    Some(BadTurns { every: spec.every, kinds: spec.kinds.kinds(), next: 0 })
                }
                _ => None,
            })
            .collect();
        Self {
            bad,
            oversized_sent: false,
            kinds,
            frame: 0,
            next_seq: first_seq,
            swapped: None,
            held: Vec::new(),
            stalled: false,
        }
    }

    /// True once a stall fault has fired: the connection sends no more data.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// Whether a `skip` fault names frame `frame` (venues without a seq field drop the frame).
    pub fn skips(&self, frame: u64) -> bool {
        self.kinds.contains(&FaultKind::Skip(frame))
    }

    /// Whether data frame `frame` must carry a wrong book checksum (`checksum=N`).
    pub fn corrupts_checksum(&self, frame: u64) -> bool {
        self.kinds.contains(&FaultKind::Checksum(frame))
    }

    /// Numbers the next data frame and returns `(frame number, seq to put in it)`.
    pub fn next_frame(&mut self) -> (u64, u64) {
        self.frame += 1;
        if self.kinds.contains(&FaultKind::Skip(self.frame)) {
            self.next_seq += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        (self.frame, seq)
    }

    /// The bad frames due before frame `frame` (clean text `text`, market `market` named
    /// `name`), one per `bad=K` fault whose K divides `frame`.
    fn bad_frames(&mut self, frame: u64, text: &str, market: usize, name: &str) -> Vec<Out> {
        let mut outs = Vec::new();
        for turns in &mut self.bad {
            if turns.every == 0 || !frame.is_multiple_of(turns.every) {
                continue;
            }
            // The next kind in turn, passing over `oversized` once it has been sent.
            let mut kind = None;
            for _ in 0..turns.kinds.len() {
                let candidate = turns.kinds[turns.next % turns.kinds.len()];
                turns.next += 1;
                if candidate != BadKind::Oversized || !self.oversized_sent {
                    kind = Some(candidate);
                    break;
                }
            }
            let Some(kind) = kind else { continue };
            self.oversized_sent |= kind == BadKind::Oversized;
            let payload = bad::build(kind, text, name);
            let seq = payload.as_text().and_then(bad::seq_of).filter(|s| {
                // Only the real frame's own number counts as carried.
                Some(*s) == bad::seq_of(text)
            });
            outs.push(Out::Bad(BadFrame {
                kind,
                payload,
                frame,
                market,
                seq,
                ts: bad::ts_of(text),
            }));
        }
        outs
    }

    /// What to send for frame `frame` whose clean text is `text`, of market number `market`
    /// named `name` (bad frames are logged per market and may need its name).
    pub fn emit(&mut self, frame: u64, text: String, market: usize, name: &str) -> Vec<Out> {
        if self.stalled {
            return Vec::new();
        }
        // A bad frame travels with the real frame it precedes (through swaps and bursts).
        let mut unit = self.bad_frames(frame, &text, market, name);
        let text = if self.kinds.contains(&FaultKind::Malformed(frame)) {
            // Cut inside the JSON: valid UTF-8 (frames are ASCII), never valid JSON.
            let cut = (text.len() / 2).max(1);
            text.get(..cut).unwrap_or("{").to_owned()
        } else {
            text
        };
        unit.push(Out::Text(text.clone()));
        if self.kinds.contains(&FaultKind::Swap(frame)) {
            self.swapped = Some(unit);
            return Vec::new();
        }
        let mut batch = unit;
        if self.kinds.contains(&FaultKind::Duplicate(frame)) {
            batch.push(Out::Text(text));
        }
        if frame > 1 && self.kinds.contains(&FaultKind::Swap(frame - 1)) {
            batch.extend(self.swapped.take().into_iter().flatten());
        }
        for kind in &self.kinds {
            if let FaultKind::Burst { from, count } = *kind {
                if frame >= from && frame < from + count {
                    self.held.append(&mut batch);
                    if frame + 1 == from + count {
                        batch = std::mem::take(&mut self.held);
                    }
                }
            }
        }
        let mut outs = batch;
        if self.kinds.contains(&FaultKind::Disconnect(frame)) {
            outs.push(Out::Disconnect);
        }
        if self.kinds.contains(&FaultKind::Stall(frame)) {
            self.stalled = true;
        }
        outs
    }
}

#[cfg(test)]
mod tests;
