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
#[error("bad fault {spec:?}: {reason} (use KIND[=ARGS][@[STREAM:]CONN], KIND one of disconnect=N, skip=N, duplicate=N, swap=N, malformed=N, stall=N, burst=N:K, http429=N, bad=K[:KIND+KIND...]; N, K and CONN count from 1)")]
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
mod tests {
    use super::*;

    /// Runs `n` frames whose text is their seq through an injector.
    fn run(spec: &str, n: u64) -> Vec<String> {
        let fault: Fault = spec.parse().unwrap();
        let mut inj = Injector::new(vec![fault.kind], 1);
        let mut sent = Vec::new();
        for _ in 0..n {
            let (frame, seq) = inj.next_frame();
            for out in inj.emit(frame, format!("{{\"seq\":{seq}}}"), 0, "ETH-USD") {
                match out {
                    Out::Text(t) => sent.push(t),
                    Out::Bad(_) => sent.push("B".into()),
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
                inj.emit(frame, seq.to_string(), 0, "ETH-USD").len()
            })
            .collect();
        assert_eq!(sizes, [1, 0, 0, 3, 1]);
    }

    #[test]
    fn grammar_round_trips_and_refuses_bad_specs() {
        for spec in ["skip=5@2", "burst=3:10@1", "stall=1@7", "skip=4@book:2", "stall=9@trades:1"] {
            assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
        }
        assert_eq!("skip=5".parse::<Fault>().unwrap().conn, Some(1));
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

    // ---- bad=K ----

    use crate::model::{EventTime, FrameKind, Level, Price, Qty, TakerSide, Trade, TradeKind};
    use crate::simulate::market::Change;
    use crate::simulate::wire::{self, Format};
    use crate::simulate::{bad, binance_wire};
    use crate::venue::binance::Kind;

    fn level(p: &str, q: &str) -> Level {
        Level::new(Price::parse(p).unwrap(), Qty::parse(q).unwrap())
    }

    fn change(p: &str, q: &str) -> Change {
        let size = Qty::parse(q).unwrap();
        Change { price: Price::parse(p).unwrap(), change: size, size }
    }

    fn trade(id: i64) -> Trade {
        Trade {
            market: "ETH-USD".into(),
            id,
            side: TakerSide::Sell,
            kind: TradeKind::Trade,
            ts_event: EventTime::from_millis(1_767_225_600_050).unwrap(),
            price: Price::parse("3000.5").unwrap(),
            qty: Qty::parse("0.25").unwrap(),
        }
    }

    const TS: i64 = 1_767_225_600_100;

    /// One real frame of every shape each protocol sends, with its sequence number 12.
    fn real_frames() -> Vec<(&'static str, String)> {
        let f = Format::new(Price::parse("0.01").unwrap(), Qty::parse("0.001").unwrap());
        let snap = wire::snapshot_data(
            "ETH-USD",
            f,
            [level("3000.5", "1.5")].into_iter(),
            [level("3000.6", "2")].into_iter(),
            "f",
        );
        let delta = wire::delta_data(
            "ETH-USD",
            f,
            &[Change { size: Qty::ZERO, ..change("3000.4", "-0.5") }],
            &[change("3000.7", "1")],
        );
        let empty_delta = wire::delta_data("ETH-USD", f, &[], &[]);
        let trades = wire::trades_data(f, [trade(5), trade(6)].iter());
        let no_trades = wire::trades_data(f, std::iter::empty());
        let mut frames = vec![
            ("v1 snapshot", wire::v1_book(FrameKind::Snapshot, &snap, TS, 12)),
            ("v1 delta", wire::v1_book(FrameKind::Delta, &delta, TS, 12)),
            ("v1 empty delta", wire::v1_book(FrameKind::Delta, &empty_delta, TS, 12)),
            ("v1 trades", wire::v1_trades(&trades, TS, 12)),
            ("v1 empty trades", wire::v1_trades(&no_trades, TS, 12)),
            ("v2 delta", wire::v2_data("ORDERBOOKS.DELTA", &delta, TS, 12, "orderbooks.ETH-USD")),
            ("v2 trades", wire::v2_data("TRADES", &trades, TS, 12, "trades.ETH-USD")),
        ];
        // Binance: step 12 ends at update id BASE + 36; the trade id is 12.
        for (kind, name) in [(Kind::Spot, "spot"), (Kind::UsdM, "usdm"), (Kind::CoinM, "coinm")] {
            let (bids, asks) = ([change("3000.5", "1")], [change("3000.6", "0")]);
            let d =
                binance_wire::diff(kind, "ethusdt@depth@100ms", "ETHUSDT", 12, TS, &bids, &asks);
            frames.push((name, d));
            let e = binance_wire::diff(kind, "ethusdt@depth@100ms", "ETHUSDT", 12, TS, &[], &[]);
            frames.push((name, e));
            let t = binance_wire::trade(kind, "ethusdt@trade", "ETHUSDT", TS, &trade(12));
            frames.push((name, t));
        }
        frames
    }

    fn market_of(text: &str) -> &'static str {
        if text.starts_with("{\"stream\"") {
            "ETHUSDT"
        } else {
            "ETH-USD"
        }
    }

    fn is_json(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text).is_ok()
    }

    #[test]
    fn bad_grammar_parses_round_trips_and_refuses_bad_specs() {
        let every: Fault = "bad=10".parse().unwrap();
        assert_eq!(every.kind, FaultKind::Bad(BadSpec { every: 10, kinds: KindSet::ALL }));
        assert_eq!((every.conn, every.stream), (None, None), "no @: every connection");
        let two: Fault = "bad=5:negative-price+not-json".parse().unwrap();
        let FaultKind::Bad(spec) = two.kind else { panic!("{two:?}") };
        assert_eq!(spec.kinds.kinds(), [BadKind::NegativePrice, BadKind::NotJson]);
        assert_eq!(spec.every, 5);
        for spec in ["bad=10", "bad=5:negative-price+not-json", "bad=3@2", "bad=7:binary@book:1"] {
            assert_eq!(spec.parse::<Fault>().unwrap().to_string(), spec);
        }
        // The rotation order is fixed, whatever order the kinds are given in.
        let swapped: Fault = "bad=5:not-json+negative-price".parse().unwrap();
        assert_eq!(swapped.to_string(), "bad=5:negative-price+not-json");
        assert_eq!("bad=3@2".parse::<Fault>().unwrap().conn, Some(2));
        for bad in [
            "bad",
            "bad=",
            "bad=0",
            "bad=x",
            "bad=5:",
            "bad=5:purple",
            "bad=5:negative-price+",
            "bad=5:negative-price,not-json",
            "bad=5@0",
            "bad=5@candles:1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
        // Every name parses back to its kind.
        for kind in BadKind::ALL {
            let spec = format!("bad=1:{kind}");
            let FaultKind::Bad(parsed) = spec.parse::<Fault>().unwrap().kind else { panic!() };
            assert_eq!(parsed.kinds.kinds(), [kind], "{spec}");
        }
    }

    #[test]
    fn bad_without_at_reaches_every_connection_and_with_at_only_one() {
        let plan = FaultPlan { faults: vec!["bad=2".parse().unwrap()] };
        assert!(plan.sends_bad_frames());
        let aimed = FaultPlan { faults: vec!["bad=2@trades:2".parse().unwrap()] };
        let sends = |plan: &FaultPlan, conn, stream, of_stream| {
            let mut inj = plan.injector(conn, stream, of_stream, 1);
            let (f1, _) = inj.next_frame();
            let _ = inj.emit(f1, "{\"seq\":1}".into(), 0, "ETH-USD");
            let (f2, _) = inj.next_frame();
            inj.emit(f2, "{\"seq\":2}".into(), 0, "ETH-USD").len() == 2
        };
        for (conn, stream, of) in
            [(1, FaultStream::Book, 1), (2, FaultStream::Trades, 1), (7, FaultStream::Rpc, 3)]
        {
            assert!(sends(&plan, conn, stream, of));
            assert!(!sends(&aimed, conn, stream, of));
        }
        assert!(sends(&aimed, 4, FaultStream::Trades, 2));
    }

    /// Runs `n` Extended v1 book frames through an injector with `spec`; returns what was
    /// sent as (bad kind or None for a real frame, the frame's seq as it spells it).
    fn run_bad(spec: &str, n: u64) -> Vec<(Option<BadKind>, Option<u64>, u64)> {
        let fault: Fault = spec.parse().unwrap();
        let mut inj = Injector::new(vec![fault.kind], 1);
        let f = Format::new(Price::parse("0.01").unwrap(), Qty::parse("0.001").unwrap());
        let delta = wire::delta_data("ETH-USD", f, &[change("3000.5", "1")], &[]);
        let mut sent = Vec::new();
        for _ in 0..n {
            let (frame, seq) = inj.next_frame();
            let text = wire::v1_book(FrameKind::Delta, &delta, TS + seq as i64, seq);
            for out in inj.emit(frame, text, 0, "ETH-USD") {
                match out {
                    Out::Text(t) => sent.push((None, bad::seq_of(&t), frame)),
                    Out::Bad(b) => {
                        assert_eq!(b.frame, frame);
                        assert_eq!(b.ts, Some(TS + seq as i64), "ts of the real frame");
                        sent.push((Some(b.kind), b.seq, frame))
                    }
                    Out::Disconnect => panic!("no disconnect"),
                }
            }
        }
        sent
    }

    #[test]
    fn bad_frames_come_before_every_kth_frame_with_its_seq_in_fixed_rotation() {
        let k = 3;
        let n = 3 * 40;
        let sent = run_bad("bad=3", n);
        // The real frames are untouched and contiguous: no seq is consumed by a bad frame.
        let real: Vec<u64> = sent.iter().filter(|s| s.0.is_none()).map(|s| s.1.unwrap()).collect();
        assert_eq!(real, (1..=n).collect::<Vec<_>>());
        let mut kinds = Vec::new();
        for (i, (kind, seq, frame)) in sent.iter().enumerate() {
            let Some(kind) = kind else { continue };
            assert_eq!(frame % k, 0, "bad frame before frame {frame}");
            // The frame right after it is the real one, and any seq it spells is that one's.
            let next = &sent[i + 1];
            assert_eq!((next.0, next.2), (None, *frame));
            if let Some(seq) = seq {
                assert_eq!(Some(*seq), next.1, "{kind}");
            }
            kinds.push(*kind);
        }
        assert_eq!(kinds.len() as u64, n / k, "one bad frame per K real frames");
        // The first turn is every kind in order; later turns pass over `oversized`.
        assert_eq!(kinds[..17], BadKind::ALL);
        let again: Vec<BadKind> =
            BadKind::ALL.into_iter().filter(|k| *k != BadKind::Oversized).collect();
        assert_eq!(kinds[17..33], again[..]);
        assert_eq!(kinds.iter().filter(|k| **k == BadKind::Oversized).count(), 1);
        // Kinds that leave the seq field alone carry it; the others do not.
        let carried = |kind: BadKind| sent.iter().find(|s| s.0 == Some(kind)).unwrap().1;
        for kind in BadKind::ALL {
            let lost = matches!(
                kind,
                BadKind::IdRange
                    | BadKind::WrongType
                    | BadKind::MissingField
                    | BadKind::NotJson
                    | BadKind::Binary
                    | BadKind::DeepNesting
            );
            assert_eq!(carried(kind).is_none(), lost, "{kind}");
        }
    }

    #[test]
    fn a_chosen_list_rotates_in_fixed_order_and_oversized_alone_goes_once() {
        let kinds: Vec<_> =
            run_bad("bad=2:not-json+negative-price", 12).into_iter().filter_map(|s| s.0).collect();
        assert_eq!(
            kinds,
            [BadKind::NegativePrice, BadKind::NotJson].repeat(3),
            "six bad frames in 12 real ones, in the fixed order"
        );
        let once: Vec<_> = run_bad("bad=1:oversized", 5).into_iter().filter_map(|s| s.0).collect();
        assert_eq!(once, [BadKind::Oversized]);
    }

    #[test]
    fn bad_frames_travel_with_their_real_frame_through_swaps() {
        let plan = FaultPlan { faults: vec!["bad=2".parse().unwrap(), "swap=2".parse().unwrap()] };
        let mut inj = plan.injector(1, FaultStream::Book, 1, 1);
        let mut order = Vec::new();
        for _ in 0..3 {
            let (frame, seq) = inj.next_frame();
            for out in inj.emit(frame, format!("{{\"seq\":{seq}}}"), 0, "ETH-USD") {
                order.push(match out {
                    Out::Text(t) => t,
                    Out::Bad(_) => "bad".into(),
                    Out::Disconnect => "X".into(),
                });
            }
        }
        assert_eq!(order, ["{\"seq\":1}", "{\"seq\":3}", "bad", "{\"seq\":2}"]);
    }

    #[test]
    fn every_kind_differs_from_the_real_frame_on_every_protocol_as_it_says() {
        for (shape, real) in real_frames() {
            assert!(is_json(&real), "{shape}: {real}");
            let real_seq = bad::seq_of(&real);
            assert!(real_seq.is_some(), "{shape}");
            for kind in BadKind::ALL {
                let payload = bad::build(kind, &real, market_of(&real));
                let why = format!("{kind} on {shape}: {real}");
                let Payload::Text(text) = payload else {
                    assert_eq!(kind, BadKind::Binary, "{why}");
                    let Payload::Binary(bytes) = payload else { unreachable!() };
                    assert!(std::str::from_utf8(&bytes).is_err(), "{why}");
                    continue;
                };
                assert_ne!(text, real, "{why}");
                assert!(!text.contains("502 Bad Gateway"), "{why}: a real frame's shape is known");
                match kind {
                    BadKind::Binary => panic!("{why}: binary frames are not text"),
                    BadKind::NotJson => assert!(!is_json(&text), "{why}: {text}"),
                    BadKind::DeepNesting => {
                        // Valid JSON, too deep for serde_json's default recursion limit.
                        let depth = bad::DEEP_NESTING;
                        assert_eq!(text.len(), 2 * depth);
                        assert!(text[..depth].bytes().all(|b| b == b'['));
                        assert!(text[depth..].bytes().all(|b| b == b']'));
                    }
                    BadKind::Oversized => {
                        assert_eq!(text.len(), bad::oversized_len(), "{why}");
                        assert!(text.len() > crate::venue::MAX_MESSAGE_BYTES);
                        assert!(is_json(&text), "{why}");
                        assert_eq!(bad::seq_of(&text), real_seq, "{why}");
                    }
                    _ => {
                        assert!(is_json(&text), "{why}: {text}");
                        check_kind(kind, &real, &text, &why);
                    }
                }
            }
        }
    }

    /// The JSON-level difference each text kind promises.
    fn check_kind(kind: BadKind, real: &str, text: &str, why: &str) {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let binance = real.starts_with("{\"stream\"");
        let strings = |v: &serde_json::Value| {
            let mut out = Vec::new();
            collect_strings(v, &mut out);
            out
        };
        let all = strings(&v);
        match kind {
            BadKind::NegativePrice => {
                assert!(
                    all.iter().any(|s| s.parse::<f64>().is_ok_and(|x| x < 0.0)),
                    "{why}: {text}"
                )
            }
            BadKind::ZeroPrice => assert!(all.iter().any(|s| s == "0"), "{why}: {text}"),
            BadKind::NegativeSize => assert!(
                all.iter().any(|s| s.starts_with('-') && s.trim_start_matches('-') != "0")
                    || text.contains(r#""q":"0""#),
                "{why}: {text}"
            ),
            BadKind::FineDecimal => assert!(
                all.iter().any(|s| s.split_once('.').is_some_and(|(_, f)| f.len() == 12)),
                "{why}: {text}"
            ),
            BadKind::HugeNumber => {
                assert!(all.iter().any(|s| s == "1e400" || (s.len() == 400)), "{why}: {text}")
            }
            BadKind::EarlyTime | BadKind::FutureTime => {
                let time = if binance { &v["data"]["E"] } else { &v["ts"] };
                let want = if kind == BadKind::EarlyTime { -1 } else { TS + 2 * 86_400_000 };
                assert_eq!(time.as_i64(), Some(want), "{why}: {text}");
                if binance && v["data"].get("T").is_some() {
                    assert_ne!(
                        v["data"]["T"],
                        serde_json::from_str::<serde_json::Value>(real).unwrap()["data"]["T"]
                    );
                }
            }
            BadKind::BadSide => {
                assert!(text.contains("SIDEWAYS") || v["data"]["m"] == "maybe", "{why}: {text}")
            }
            BadKind::IdRange => assert!(
                text.contains("99999999999999999999") || text.contains("18446744073709551616"),
                "{why}: {text}"
            ),
            BadKind::OtherMarket => {
                assert!(!text.contains("ETH-USD\"") || text.contains("\"subscription\""));
                if binance {
                    assert_eq!(v["data"]["s"], "DOGEUSDT", "{why}");
                    assert!(v["stream"].as_str().unwrap().starts_with("dogeusdt@"), "{why}");
                } else {
                    assert!(text.contains("\"m\":\"DOGE-USD\""), "{why}: {text}");
                    assert!(!text.contains("\"m\":\"ETH-USD\""), "{why}: {text}");
                }
                assert_eq!(bad::seq_of(text), bad::seq_of(real), "otherwise valid: {why}");
            }
            BadKind::WrongType => assert!(
                [&v["seq"], &v["data"]["u"], &v["data"]["t"]].iter().any(|s| s.is_string()),
                "{why}: {text}"
            ),
            BadKind::MissingField => {
                let key = if !binance {
                    "seq"
                } else if real.contains("depthUpdate") {
                    "u"
                } else {
                    "t"
                };
                let scope = if binance { &v["data"] } else { &v };
                assert!(scope.get(key).is_none(), "{why}: {text}");
                assert_eq!(text.len() + key.len() + 4 + bad_seq_len(real), real.len(), "{why}");
            }
            BadKind::UnknownType => assert!(
                v["type"].as_str().is_some_and(|t| t.ends_with('2'))
                    || v["data"]["e"].as_str().is_some_and(|t| t.ends_with('2')),
                "{why}: {text}"
            ),
            BadKind::NotJson | BadKind::Binary | BadKind::DeepNesting | BadKind::Oversized => {}
        }
    }

    fn bad_seq_len(real: &str) -> usize {
        bad::seq_of(real).map_or(0, |s| s.to_string().len())
    }

    fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
            _ => {}
        }
    }
}
