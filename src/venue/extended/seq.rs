//! Extended's gap rules as small pure state machines: is this frame the one that must come
//! next on this connection? (docs/VENUES.md §1.3 rule 3–6, §1.4, §2, §8.)
//!
//! A [`Break`] means the book can no longer be trusted. The caller must then discard the
//! book (every book of the connection on v2), record a `seq_gap` event with the expected and
//! received `seq`, close the socket, reconnect with backoff, resubscribe (v2) and rebuild
//! from the next SNAPSHOT (docs/VENUES.md §1.3 rule 6, §2). There is nothing to stitch with: the
//! REST book has no sequence id. After a break every `check` refuses until [`reset`] is
//! called for the fresh connection.
//!
//! Trades are different (§1.4): a trades `seq` gap is logged, not fatal, and a replay that
//! shares no id with what was recorded signals a possible trade gap.
//!
//! Must not do I/O, keep clocks or apply frames; `collect` acts on the verdicts.
//!
//! [`reset`]: BookSequencer::reset

use std::collections::{HashMap, HashSet};

use super::v2::{DataFrame, RpcMessage};
use super::ParseError;
use crate::model::{BookFrame, FrameKind};

/// The connection's sequence broke: what was expected, what arrived, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sequence break: expected seq {expected}, received {}: {reason}",
    received.map_or_else(|| "no seq".to_owned(), |s| s.to_string()))]
pub struct Break {
    pub expected: u64,
    /// `None` when the frame that broke the sequence could not be read far enough.
    pub received: Option<u64>,
    pub reason: BreakReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakReason {
    /// `seq` jumped ahead: frames were lost.
    #[error("gap (frames lost)")]
    Gap,
    /// `seq` repeated or went back.
    #[error("duplicate or backwards seq")]
    DuplicateOrBackwards,
    /// The first book frame of a connection (v1) or after a (re)subscribe (v2, with its
    /// topic) was a DELTA.
    #[error("first book frame{} is not a SNAPSHOT", topic.as_ref().map(|t| format!(" of {t}")).unwrap_or_default())]
    FirstNotSnapshot { topic: Option<String> },
    /// v2 data for a topic no subscribe ack announced ([CATCAP-WS] ordering check, §2).
    #[error("data for topic {topic} before its subscribe ack")]
    DataBeforeAck { topic: String },
    /// The frame could not be parsed or applied (e.g. a DELTA level without `c`).
    #[error("protocol error: {0}")]
    Protocol(ParseError),
    /// The sequencer already broke; reconnect and call `reset` first.
    #[error("already broken; reconnect and reset first")]
    AlreadyBroken,
}

/// The +1 counter both protocol versions share.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Counter {
    Fresh,
    Live { last: u64 },
    Broken { expected: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Sequence {
    first: u64,
    state: Counter,
}

impl Sequence {
    fn new(first: u64) -> Self {
        Self { first, state: Counter::Fresh }
    }

    fn expected(&self) -> Option<u64> {
        match self.state {
            Counter::Fresh => Some(self.first),
            Counter::Live { last } => Some(last.wrapping_add(1)),
            Counter::Broken { .. } => None,
        }
    }

    fn break_with(&mut self, received: Option<u64>, reason: BreakReason) -> Break {
        let expected = match self.state {
            Counter::Broken { expected } => expected,
            _ => self.expected().unwrap_or(self.first),
        };
        self.state = Counter::Broken { expected };
        Break { expected, received, reason }
    }

    fn advance(&mut self, received: u64) -> Result<(), Break> {
        let Some(expected) = self.expected() else {
            return Err(self.break_with(Some(received), BreakReason::AlreadyBroken));
        };
        if received == expected {
            self.state = Counter::Live { last: received };
            return Ok(());
        }
        let reason =
            if received > expected { BreakReason::Gap } else { BreakReason::DuplicateOrBackwards };
        Err(self.break_with(Some(received), reason))
    }

    /// Marks the frame just accepted as the break (its `seq` was right, its content not).
    fn reject_current(&mut self, received: u64, reason: BreakReason) -> Break {
        self.state = Counter::Broken { expected: received };
        Break { expected: received, received: Some(received), reason }
    }
}

/// The v1 order-book rule (docs/VENUES.md §1.3 rule 3–5): `seq` is 1 on a connection's first
/// frame, which must be a SNAPSHOT; every later frame — DELTA, empty DELTA or mid-stream
/// SNAPSHOT — carries the previous `seq` + 1. Error envelopes carry no `seq` and do not pass
/// through here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSequencer {
    seq: Sequence,
}

impl Default for BookSequencer {
    fn default() -> Self {
        Self::new()
    }
}

impl BookSequencer {
    pub fn new() -> Self {
        Self { seq: Sequence::new(1) }
    }

    /// Accepts the frame that must come next, or reports the break.
    pub fn check(&mut self, seq: u64, kind: FrameKind) -> Result<(), Break> {
        let first = self.seq.state == Counter::Fresh;
        self.seq.advance(seq)?;
        if first && kind != FrameKind::Snapshot {
            return Err(self
                .seq
                .reject_current(seq, BreakReason::FirstNotSnapshot { topic: None }));
        }
        Ok(())
    }

    pub fn check_frame(&mut self, frame: &BookFrame) -> Result<(), Break> {
        self.check(frame.seq, frame.kind)
    }

    /// A frame of this connection could not be parsed (§1.3 rule 6: handled like a gap).
    /// `received` is its `seq` if it could be read.
    pub fn protocol_error(&mut self, received: Option<u64>, error: ParseError) -> Break {
        self.seq.break_with(received, BreakReason::Protocol(error))
    }

    /// A fresh connection: expect `seq` 1 and a SNAPSHOT again.
    pub fn reset(&mut self) {
        self.seq = Sequence::new(1);
    }

    /// A connection whose frames up to `last` were accepted (a recorder resuming from its
    /// saved state): expects `last + 1`.
    pub fn resume(last: u64) -> Self {
        Self { seq: Sequence { first: 1, state: Counter::Live { last } } }
    }

    /// The last `seq` accepted, while the sequence holds.
    pub fn last(&self) -> Option<u64> {
        match self.seq.state {
            Counter::Live { last } => Some(last),
            _ => None,
        }
    }

    /// The `seq` the next frame must carry; `None` after a break.
    pub fn expected(&self) -> Option<u64> {
        self.seq.expected()
    }

    pub fn is_broken(&self) -> bool {
        self.seq.expected().is_none()
    }
}

/// Per-topic state on a v2 connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    /// Acked; a book topic's first frame must be a SNAPSHOT.
    AwaitingFirst,
    Live,
    /// Unsubscribed: frames already in flight are still counted, not refused.
    Unsubscribed,
}

/// The v2 rule (docs/VENUES.md §2): one `seq` for all topics of a connection, 0 on the first data
/// frame and +1 per data frame; acks carry no `seq`. A topic's data may only follow its
/// subscribe ack, and the first book frame after each (re)subscribe must be a SNAPSHOT. A
/// break invalidates every book of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcSequencer {
    seq: Sequence,
    topics: HashMap<String, Topic>,
}

impl Default for RpcSequencer {
    fn default() -> Self {
        Self::new()
    }
}

impl RpcSequencer {
    pub fn new() -> Self {
        Self { seq: Sequence::new(0), topics: HashMap::new() }
    }

    /// A subscribe ack for `topic`: its data may now arrive; a book must start afresh.
    pub fn subscribed(&mut self, topic: &str) {
        self.topics.insert(topic.to_owned(), Topic::AwaitingFirst);
    }

    pub fn unsubscribed(&mut self, topic: &str) {
        self.topics.insert(topic.to_owned(), Topic::Unsubscribed);
    }

    /// Checks a data frame: its `seq`, then its topic. `book` is SNAPSHOT/DELTA for book
    /// frames and `None` for any other payload.
    pub fn check(&mut self, seq: u64, topic: &str, book: Option<FrameKind>) -> Result<(), Break> {
        self.seq.advance(seq)?;
        let reason = match (self.topics.get(topic).copied(), book) {
            (None, _) => BreakReason::DataBeforeAck { topic: topic.to_owned() },
            (Some(Topic::AwaitingFirst), Some(FrameKind::Delta)) => {
                BreakReason::FirstNotSnapshot { topic: Some(topic.to_owned()) }
            }
            (Some(Topic::AwaitingFirst), _) => {
                self.topics.insert(topic.to_owned(), Topic::Live);
                return Ok(());
            }
            (Some(Topic::Live | Topic::Unsubscribed), _) => return Ok(()),
        };
        Err(self.seq.reject_current(seq, reason))
    }

    pub fn check_data(&mut self, frame: &DataFrame) -> Result<(), Break> {
        self.check(frame.seq, &frame.topic, frame.book_kind())
    }

    /// Feeds any parsed frame: acks update topic state (and consume no `seq`), data frames
    /// are checked, other responses pass.
    pub fn observe(&mut self, message: &RpcMessage) -> Result<(), Break> {
        match message {
            RpcMessage::Ack { method, topic, .. } if method == "unsubscribe" => {
                self.unsubscribed(topic);
                Ok(())
            }
            RpcMessage::Ack { topic, .. } => {
                self.subscribed(topic);
                Ok(())
            }
            RpcMessage::Data(frame) => self.check_data(frame),
            RpcMessage::Subscriptions { .. }
            | RpcMessage::Reply { .. }
            | RpcMessage::Failure { .. } => Ok(()),
        }
    }

    pub fn protocol_error(&mut self, received: Option<u64>, error: ParseError) -> Break {
        self.seq.break_with(received, BreakReason::Protocol(error))
    }

    /// A fresh connection: `seq` from 0, and no topic until it is resubscribed and acked.
    pub fn reset(&mut self) {
        self.seq = Sequence::new(0);
        self.topics.clear();
    }

    pub fn expected(&self) -> Option<u64> {
        self.seq.expected()
    }

    pub fn is_broken(&self) -> bool {
        self.seq.expected().is_none()
    }

    /// The last `seq` accepted, while the sequence holds.
    pub fn last(&self) -> Option<u64> {
        match self.seq.state {
            Counter::Live { last } => Some(last),
            Counter::Fresh | Counter::Broken { .. } => None,
        }
    }

    /// The topics acked so far, each with whether its first frame already arrived (`true`:
    /// live) or is awaited, sorted; unsubscribed topics are left out. For a saved state.
    pub fn topics(&self) -> Vec<(String, bool)> {
        let mut topics: Vec<(String, bool)> = self
            .topics
            .iter()
            .filter(|(_, t)| **t != Topic::Unsubscribed)
            .map(|(name, t)| (name.clone(), *t == Topic::Live))
            .collect();
        topics.sort();
        topics
    }

    /// A connection whose data frames up to `last` were accepted, with the topics
    /// [`RpcSequencer::topics`] returned (a recorder resuming from its saved state).
    pub fn resume(last: Option<u64>, topics: &[(String, bool)]) -> Self {
        let mut seq = Sequence::new(0);
        if let Some(last) = last {
            seq.state = Counter::Live { last };
        }
        let topics = topics
            .iter()
            .map(|(name, live)| {
                (name.clone(), if *live { Topic::Live } else { Topic::AwaitingFirst })
            })
            .collect();
        Self { seq, topics }
    }
}

/// A v1 trades `seq` that was not the previous + 1 (docs/VENUES.md §1.4): log it as an event,
/// keep the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradesGap {
    pub expected: u64,
    pub received: u64,
}

/// The v1 trades counter: starts at 1 (the replay frame), reports jumps, never breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradesSequencer {
    last: Option<u64>,
}

impl TradesSequencer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `seq` and reports a jump; the counter continues from `seq` either way.
    pub fn observe(&mut self, seq: u64) -> Option<TradesGap> {
        let expected = self.last.map_or(1, |last| last.wrapping_add(1));
        self.last = Some(seq);
        (seq != expected).then_some(TradesGap { expected, received: seq })
    }

    pub fn reset(&mut self) {
        self.last = None;
    }

    /// A counter that last saw `last` (a recorder resuming from its saved state).
    pub fn resume(last: Option<u64>) -> Self {
        Self { last }
    }

    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

/// How a connection's trades replay relates to the trades already recorded (docs/VENUES.md §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOverlap {
    /// Nothing recorded for the market yet: nothing to compare with.
    NothingRecorded,
    /// The replay holds no trade (a market without trades).
    EmptyReplay,
    /// Some replayed ids were already recorded: continuous; drop the `known` ones.
    Overlaps { known: usize, new: usize },
    /// No replayed id was recorded: more trades than the replay holds may have been missed.
    Disjoint { new: usize },
}

impl ReplayOverlap {
    /// True when a `trade_gap` event should be recorded.
    pub fn possible_gap(self) -> bool {
        matches!(self, ReplayOverlap::Disjoint { .. })
    }
}

/// Compares a replay frame's trade ids with the ids already recorded for the market (the
/// recorder needs to keep at least the last 50, the replay's size).
pub fn replay_overlap(recorded: &HashSet<i64>, replay_ids: &[i64]) -> ReplayOverlap {
    if recorded.is_empty() {
        return ReplayOverlap::NothingRecorded;
    }
    if replay_ids.is_empty() {
        return ReplayOverlap::EmptyReplay;
    }
    let known = replay_ids.iter().filter(|id| recorded.contains(id)).count();
    let new = replay_ids.len() - known;
    if known == 0 {
        ReplayOverlap::Disjoint { new }
    } else {
        ReplayOverlap::Overlaps { known, new }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FrameKind::{Delta as D, Snapshot as S};

    fn brk(expected: u64, received: u64, reason: BreakReason) -> Result<(), Break> {
        Err(Break { expected, received: Some(received), reason })
    }

    #[test]
    fn v1_book_sequence_cases() {
        type Case = (&'static str, Vec<(u64, FrameKind)>, Result<(), Break>);
        let cases: Vec<Case> = vec![
            ("snapshot then deltas", vec![(1, S), (2, D), (3, D)], Ok(())),
            ("mid-stream snapshot continues", vec![(1, S), (2, D), (3, S), (4, D)], Ok(())),
            ("gap", vec![(1, S), (2, D), (4, D)], brk(3, 4, BreakReason::Gap)),
            (
                "duplicate",
                vec![(1, S), (2, D), (2, D)],
                brk(3, 2, BreakReason::DuplicateOrBackwards),
            ),
            (
                "backwards",
                vec![(1, S), (2, D), (3, D), (1, D)],
                brk(4, 1, BreakReason::DuplicateOrBackwards),
            ),
            (
                "first frame a delta",
                vec![(1, D)],
                brk(1, 1, BreakReason::FirstNotSnapshot { topic: None }),
            ),
            ("first seq not 1", vec![(2, S)], brk(1, 2, BreakReason::Gap)),
            ("v2 numbering on v1", vec![(0, S)], brk(1, 0, BreakReason::DuplicateOrBackwards)),
        ];
        for (scenario, frames, want) in cases {
            let mut seq = BookSequencer::new();
            let got = frames.iter().try_for_each(|(n, kind)| seq.check(*n, *kind));
            assert_eq!(got, want, "{scenario}");
            assert_eq!(seq.is_broken(), want.is_err(), "{scenario}");
        }
    }

    #[test]
    fn v1_reset_expects_a_fresh_snapshot_at_1() {
        let mut seq = BookSequencer::new();
        seq.check(1, S).unwrap();
        let error = ParseError::MissingField { field: "seq".into() };
        let b = seq.protocol_error(None, error.clone());
        assert_eq!(b, Break { expected: 2, received: None, reason: BreakReason::Protocol(error) });
        assert_eq!(seq.expected(), None);
        assert_eq!(seq.check(2, D), brk(2, 2, BreakReason::AlreadyBroken));
        seq.reset();
        assert_eq!(seq.expected(), Some(1));
        assert!(seq.check(1, D).is_err());
        seq.reset();
        seq.check(1, S).unwrap();
        seq.check(2, D).unwrap();
    }

    #[test]
    fn break_message_names_both_seqs() {
        let b = Break { expected: 3, received: Some(5), reason: BreakReason::Gap };
        assert_eq!(b.to_string(), "sequence break: expected seq 3, received 5: gap (frames lost)");
    }

    enum Step {
        Ack(&'static str),
        Unack(&'static str),
        Data(u64, &'static str, Option<FrameKind>),
    }

    #[test]
    fn v2_connection_global_sequence_cases() {
        use Step::*;
        const BOOK: &str = "orderbooks.BTC-USD";
        const TRADES: &str = "trades.BTC-USD";
        let cases: Vec<(&str, Vec<Step>, Result<(), Break>)> = vec![
            (
                "starts at 0 and counts across topics; acks carry no seq",
                vec![
                    Ack(BOOK),
                    Data(0, BOOK, Some(S)),
                    Ack(TRADES),
                    Data(1, BOOK, Some(D)),
                    Data(2, TRADES, None),
                ],
                Ok(()),
            ),
            (
                "starts at 0, not 1",
                vec![Ack(BOOK), Data(1, BOOK, Some(S))],
                brk(0, 1, BreakReason::Gap),
            ),
            (
                "gap in another topic breaks the connection",
                vec![Ack(BOOK), Ack(TRADES), Data(0, BOOK, Some(S)), Data(2, TRADES, None)],
                brk(1, 2, BreakReason::Gap),
            ),
            (
                "duplicate",
                vec![Ack(BOOK), Data(0, BOOK, Some(S)), Data(0, BOOK, Some(S))],
                brk(1, 0, BreakReason::DuplicateOrBackwards),
            ),
            (
                "data before ack",
                vec![Data(0, TRADES, None)],
                brk(0, 0, BreakReason::DataBeforeAck { topic: TRADES.into() }),
            ),
            (
                "first book frame a delta",
                vec![Ack(BOOK), Data(0, BOOK, Some(D))],
                brk(0, 0, BreakReason::FirstNotSnapshot { topic: Some(BOOK.into()) }),
            ),
            (
                "resubscribe needs a fresh snapshot",
                vec![Ack(BOOK), Data(0, BOOK, Some(S)), Ack(BOOK), Data(1, BOOK, Some(D))],
                brk(1, 1, BreakReason::FirstNotSnapshot { topic: Some(BOOK.into()) }),
            ),
            (
                "in-flight frames after unsubscribe still count",
                vec![Ack(BOOK), Data(0, BOOK, Some(S)), Unack(BOOK), Data(1, BOOK, Some(D))],
                Ok(()),
            ),
        ];
        for (scenario, steps, want) in cases {
            let mut seq = RpcSequencer::new();
            let got = steps.iter().try_for_each(|step| match step {
                Ack(topic) => {
                    seq.subscribed(topic);
                    Ok(())
                }
                Unack(topic) => {
                    seq.unsubscribed(topic);
                    Ok(())
                }
                Data(n, topic, kind) => seq.check(*n, topic, *kind),
            });
            assert_eq!(got, want, "{scenario}");
        }
    }

    #[test]
    fn v2_reset_forgets_topics_and_restarts_at_0() {
        let mut seq = RpcSequencer::new();
        seq.subscribed("trades.BTC-USD");
        seq.check(0, "trades.BTC-USD", None).unwrap();
        assert!(seq.check(5, "trades.BTC-USD", None).is_err());
        assert!(seq.is_broken());
        seq.reset();
        assert_eq!(seq.expected(), Some(0));
        assert_eq!(
            seq.check(0, "trades.BTC-USD", None),
            brk(0, 0, BreakReason::DataBeforeAck { topic: "trades.BTC-USD".into() })
        );
    }

    #[test]
    fn v2_resumes_where_it_stood() {
        let mut seq = RpcSequencer::new();
        seq.subscribed("orderbooks.BTC-USD");
        seq.subscribed("trades.BTC-USD");
        seq.subscribed("prices.mark.BTC-USD");
        seq.unsubscribed("prices.mark.BTC-USD");
        seq.check(0, "orderbooks.BTC-USD", Some(FrameKind::Snapshot)).unwrap();
        seq.check(1, "orderbooks.BTC-USD", Some(FrameKind::Delta)).unwrap();
        let topics = seq.topics();
        assert_eq!(
            topics,
            [("orderbooks.BTC-USD".to_owned(), true), ("trades.BTC-USD".to_owned(), false)]
        );
        let mut resumed = RpcSequencer::resume(seq.last(), &topics);
        assert_eq!((resumed.last(), resumed.expected()), (Some(1), Some(2)));
        resumed.check(2, "orderbooks.BTC-USD", Some(FrameKind::Delta)).unwrap();
        // The trades topic still awaits its first frame; it is no book, so any frame opens it.
        resumed.check(3, "trades.BTC-USD", None).unwrap();
        let fresh = RpcSequencer::resume(None, &[]);
        assert_eq!(fresh.expected(), Some(0));
    }

    #[test]
    fn trades_gaps_are_reported_not_fatal() {
        let mut seq = TradesSequencer::new();
        let got: Vec<_> = [1, 2, 4, 5, 5, 6].into_iter().map(|n| seq.observe(n)).collect();
        assert_eq!(
            got,
            vec![
                None,
                None,
                Some(TradesGap { expected: 3, received: 4 }),
                None,
                Some(TradesGap { expected: 6, received: 5 }),
                None,
            ]
        );
        seq.reset();
        assert_eq!(seq.observe(2), Some(TradesGap { expected: 1, received: 2 }));
    }

    #[test]
    fn replay_overlap_cases() {
        let recorded: HashSet<i64> = [10, 11, 12].into_iter().collect();
        let cases = [
            ("nothing recorded", HashSet::new(), vec![1, 2], ReplayOverlap::NothingRecorded, false),
            ("empty replay", recorded.clone(), vec![], ReplayOverlap::EmptyReplay, false),
            (
                "overlap",
                recorded.clone(),
                vec![11, 12, 13],
                ReplayOverlap::Overlaps { known: 2, new: 1 },
                false,
            ),
            (
                "disjoint = possible gap",
                recorded.clone(),
                vec![20, 21],
                ReplayOverlap::Disjoint { new: 2 },
                true,
            ),
        ];
        for (scenario, recorded, replay, want, gap) in cases {
            let got = replay_overlap(&recorded, &replay);
            assert_eq!(got, want, "{scenario}");
            assert_eq!(got.possible_gap(), gap, "{scenario}");
        }
    }
}
