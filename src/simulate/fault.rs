//! Fault injection: what goes wrong on which connection, and the per-connection injector that
//! turns the clean frame sequence into the faulty one.
//!
//! Owns the `--fault` grammar, the scenario-file faults and [`Injector`]. It must not know
//! about sockets or JSON: it sees numbered frames as text and says what to send.
//!
//! Grammar: `KIND[=ARGS][@[STREAM:]CONN]`. `CONN` is the 1-based number of the WebSocket
//! connection in the order the server accepted its upgrade (refused handshakes do not count;
//! default 1). With `STREAM` (`book`, `trades` or `rpc`) it counts only the connections of
//! that stream, so a test can aim at a recorder's book stream whatever order its sockets
//! open in.
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
//!
//! The refusal of an upgrade without `User-Agent` (HTTP 403) is always on (docs/VENUES.md §1.2).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

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
}

/// A fault aimed at one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// 1-based connection number in accept order (among `stream`'s connections, if set).
    pub conn: u64,
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
    fn name(self) -> &'static str {
        match self {
            FaultStream::Book => "book",
            FaultStream::Trades => "trades",
            FaultStream::Rpc => "rpc",
        }
    }
}

/// A `--fault` spec that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault {spec:?}: {reason} (use KIND[=ARGS][@[STREAM:]CONN], KIND one of disconnect=N, skip=N, duplicate=N, swap=N, malformed=N, stall=N, burst=N:K; N and CONN count from 1)")]
pub struct FaultError {
    pub spec: String,
    pub reason: &'static str,
}

impl FromStr for Fault {
    type Err = FaultError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason| FaultError { spec: spec.to_owned(), reason };
        let (body, target) = spec.rsplit_once('@').unwrap_or((spec, "1"));
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
            "burst" => {
                let (from, count) = args.split_once(':').ok_or_else(|| err("burst needs N:K"))?;
                FaultKind::Burst { from: number(from)?, count: number(count)? }
            }
            _ => return Err(err("unknown kind")),
        };
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
        }?;
        match self.stream {
            Some(stream) => write!(f, "@{}:{}", stream.name(), self.conn),
            None => write!(f, "@{}", self.conn),
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
        let aimed = |f: &&Fault| match f.stream {
            None => f.conn == conn,
            Some(s) => s == stream && f.conn == of_stream,
        };
        let kinds = self.faults.iter().filter(aimed).map(|f| f.kind).collect();
        Injector::new(kinds, first_seq)
    }
}

/// What the connection must do with one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Text(String),
    /// Drop the socket now, without a close frame.
    Disconnect,
}

/// Numbers one connection's data frames, assigns their seq, and applies its faults.
#[derive(Debug, Clone)]
pub struct Injector {
    kinds: Vec<FaultKind>,
    frame: u64,
    next_seq: u64,
    swapped: Option<String>,
    held: Vec<String>,
    stalled: bool,
}

impl Injector {
    /// `first_seq` is 1 for a v1 stream and 0 for a v2 connection (docs/VENUES.md §1.3, §2).
    pub fn new(kinds: Vec<FaultKind>, first_seq: u64) -> Self {
        Self {
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

    /// What to send for frame `frame` whose clean text is `text`.
    pub fn emit(&mut self, frame: u64, text: String) -> Vec<Out> {
        if self.stalled {
            return Vec::new();
        }
        let text = if self.kinds.contains(&FaultKind::Malformed(frame)) {
            // Cut inside the JSON: valid UTF-8 (frames are ASCII), never valid JSON.
            let cut = (text.len() / 2).max(1);
            text.get(..cut).unwrap_or("{").to_owned()
        } else {
            text
        };
        if self.kinds.contains(&FaultKind::Swap(frame)) {
            self.swapped = Some(text);
            return Vec::new();
        }
        let mut batch = vec![text.clone()];
        if self.kinds.contains(&FaultKind::Duplicate(frame)) {
            batch.push(text);
        }
        if frame > 1 && self.kinds.contains(&FaultKind::Swap(frame - 1)) {
            batch.extend(self.swapped.take());
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
        let mut outs: Vec<Out> = batch.into_iter().map(Out::Text).collect();
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
mod tests {
    use super::*;

    /// Runs `n` frames whose text is their seq through an injector.
    fn run(spec: &str, n: u64) -> Vec<String> {
        let fault: Fault = spec.parse().unwrap();
        let mut inj = Injector::new(vec![fault.kind], 1);
        let mut sent = Vec::new();
        for _ in 0..n {
            let (frame, seq) = inj.next_frame();
            for out in inj.emit(frame, format!("{{\"seq\":{seq}}}")) {
                match out {
                    Out::Text(t) => sent.push(t),
                    Out::Disconnect => sent.push("X".into()),
                }
            }
        }
        sent
    }

    fn seqs(sent: &[String]) -> String {
        sent.iter()
            .map(|t| t.trim_start_matches("{\"seq\":").trim_end_matches('}').to_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn each_kind_changes_the_sequence_as_documented() {
        let cases = [
            ("skip=3", "1,2,4,5,6"),
            ("duplicate=2", "1,2,2,3,4,5"),
            ("swap=2", "1,3,2,4,5"),
            ("disconnect=3", "1,2,3,X,4,5"),
            ("stall=2", "1,2"),
            ("burst=2:3", "1,2,3,4,5"),
        ];
        for (spec, want) in cases {
            assert_eq!(seqs(&run(spec, 5)), want, "{spec}");
        }
        let malformed = run("malformed=2", 3);
        assert!(serde_json::from_str::<serde_json::Value>(&malformed[1]).is_err());
        assert_eq!(malformed[2], "{\"seq\":3}");
    }

    #[test]
    fn burst_holds_until_the_last_frame() {
        let mut inj = Injector::new(vec![FaultKind::Burst { from: 2, count: 3 }], 1);
        let sizes: Vec<usize> = (0..5)
            .map(|_| {
                let (frame, seq) = inj.next_frame();
                inj.emit(frame, seq.to_string()).len()
            })
            .collect();
        assert_eq!(sizes, [1, 0, 0, 3, 1]);
    }

    #[test]
    fn grammar_round_trips_and_refuses_bad_specs() {
        for spec in ["skip=5@2", "burst=3:10@1", "stall=1@7", "skip=4@book:2", "stall=9@trades:1"] {
            assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
        }
        assert_eq!("skip=5".parse::<Fault>().unwrap().conn, 1);
        for bad in [
            "skip",
            "skip=0",
            "skip=x",
            "explode=3",
            "burst=3",
            "skip=2@0",
            "skip=2@x",
            "skip=2@candles:1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stream_qualified_fault_counts_only_that_streams_connections() {
        let plan = FaultPlan { faults: vec!["skip=1@book:2".parse().unwrap()] };
        let skips = |conn, stream, of_stream| {
            let mut inj = plan.injector(conn, stream, of_stream, 1);
            inj.next_frame().1
        };
        // The second book connection, which is the third socket overall.
        assert_eq!(skips(3, FaultStream::Book, 2), 2);
        assert_eq!(skips(2, FaultStream::Trades, 2), 1);
        assert_eq!(skips(2, FaultStream::Book, 1), 1);
    }
}
