//! Binance's gap rules as a small pure state machine (docs/VENUES.md §3.3, §8): splicing diff
//! depth onto a REST snapshot, then checking each diff against the chain.
//!
//! A connection starts with no book. Diffs are *buffered* (the bridging diff usually arrives
//! before the snapshot: `../realdata/hftbacktest-binance/README.md`), and when a snapshot
//! arrives it is spliced with the buffer: diffs already in the snapshot are dropped, the
//! first kept diff must bridge `lastUpdateId`, the rest must chain. If the snapshot is newer
//! than everything buffered, the next diff must bridge it ([`Sync::Waiting`]); if it is older
//! than the buffer, the buffer stays and another snapshot is needed.
//!
//! * spot: drop `u <= lastUpdateId`; bridge `U <= lastUpdateId + 1 <= u`; chain `U == last
//!   u + 1` (a later `U` means updates were missed);
//! * USD-M, COIN-M: drop `u < lastUpdateId`; bridge `U <= lastUpdateId <= u`; chain `pu ==
//!   last u` (`U` jumps on futures).
//!
//! A [`ChainBreak`] means the book can no longer be trusted; the caller ends the connection
//! and starts again from a fresh snapshot. Must not do I/O or apply frames to a book.

use std::collections::VecDeque;

use super::frames::{DepthUpdate, Snapshot};

/// Diffs kept while no book exists; older ones are dropped (a snapshot bridges recent ids).
pub const BUFFER_DIFFS: usize = 20_000;

/// Which chain rule a market follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// `U == previous u + 1`.
    Spot,
    /// `pu == previous u`.
    Futures,
}

/// Where the splice stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// No book: diffs wait here for a snapshot that bridges them.
    Unsynced { buffer: VecDeque<DepthUpdate>, dropped: u64 },
    /// A snapshot newer than every buffered diff: the next diff must bridge it.
    Waiting { snapshot: Snapshot },
    /// The book is exact up to update id `last_id`.
    Synced { last_id: u64 },
}

/// A snapshot and the diffs to apply on top of it, in order: the book is then exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub snapshot: Snapshot,
    pub diffs: Vec<DepthUpdate>,
}

/// What to do with a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffStep {
    /// No book yet: kept for the splice.
    Buffered,
    /// Already in the book (an id at or below the book's): ignored.
    Stale,
    /// Next in the chain: apply it.
    Apply(DepthUpdate),
    /// It bridged the waiting snapshot: build the book from the splice.
    Spliced(Splice),
    /// The waiting snapshot is older than this diff (updates between them were never seen):
    /// the snapshot is discarded, the diff buffered, another snapshot is needed.
    SnapshotTooOld { last_update_id: u64, first_id: u64 },
}

/// What to do with a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStep {
    Spliced(Splice),
    /// Newer than every buffered diff: waiting for the diff that bridges it.
    Waiting,
    /// Older than the oldest buffered diff: useless; the buffer is kept.
    TooOld {
        last_update_id: u64,
        first_id: u64,
    },
    /// The book is already exact; a snapshot adds nothing (its id is behind the book's).
    Ignored,
}

/// The chain broke: updates were missed (or a futures diff had no `pu`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", match rule {
    Chain::Spot => format!("update id chain broke: U {received} where {expected} was due (book at {})", expected - 1),
    Chain::Futures => format!("update id chain broke: pu {received} where the previous u was {expected}"),
})]
pub struct ChainBreak {
    pub rule: Chain,
    pub expected: u64,
    pub received: u64,
}

/// The splice and chain of one book connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSync {
    chain: Chain,
    state: Sync,
}

impl DepthSync {
    pub fn new(chain: Chain) -> Self {
        Self { chain, state: Sync::Unsynced { buffer: VecDeque::new(), dropped: 0 } }
    }

    /// A sequencer in a state saved earlier (a recorder resuming).
    pub fn resume(chain: Chain, state: Sync) -> Self {
        Self { chain, state }
    }

    pub fn state(&self) -> &Sync {
        &self.state
    }

    pub fn is_synced(&self) -> bool {
        matches!(self.state, Sync::Synced { .. })
    }

    pub fn on_diff(&mut self, diff: DepthUpdate) -> Result<DiffStep, ChainBreak> {
        let state = std::mem::replace(&mut self.state, Sync::Synced { last_id: 0 });
        let (state, step) = match state {
            Sync::Unsynced { mut buffer, mut dropped } => {
                buffer.push_back(diff);
                if buffer.len() > BUFFER_DIFFS {
                    buffer.pop_front();
                    dropped += 1;
                }
                (Sync::Unsynced { buffer, dropped }, Ok(DiffStep::Buffered))
            }
            Sync::Waiting { snapshot } => {
                let id = snapshot.last_update_id;
                if self.is_stale(id, &diff) {
                    (Sync::Waiting { snapshot }, Ok(DiffStep::Stale))
                } else if !self.bridges(id, &diff) {
                    let first_id = diff.first_id;
                    let state = Sync::Unsynced { buffer: VecDeque::from([diff]), dropped: 0 };
                    (state, Ok(DiffStep::SnapshotTooOld { last_update_id: id, first_id }))
                } else {
                    let state = Sync::Synced { last_id: diff.last_id };
                    (state, Ok(DiffStep::Spliced(Splice { snapshot, diffs: vec![diff] })))
                }
            }
            Sync::Synced { last_id } if diff.last_id <= last_id => {
                (Sync::Synced { last_id }, Ok(DiffStep::Stale))
            }
            Sync::Synced { last_id } => match self.check_chain(last_id, &diff) {
                Ok(()) => (Sync::Synced { last_id: diff.last_id }, Ok(DiffStep::Apply(diff))),
                Err(brk) => (Sync::Synced { last_id }, Err(brk)),
            },
        };
        self.state = state;
        step
    }

    pub fn on_snapshot(&mut self, snapshot: Snapshot) -> Result<SnapshotStep, ChainBreak> {
        let buffer = match &mut self.state {
            Sync::Synced { .. } => return Ok(SnapshotStep::Ignored),
            Sync::Waiting { .. } => {
                self.state = Sync::Waiting { snapshot };
                return Ok(SnapshotStep::Waiting);
            }
            Sync::Unsynced { buffer, .. } => buffer,
        };
        let id = snapshot.last_update_id;
        let chain = self.chain;
        let probe = Self::new(chain);
        let kept: Vec<usize> =
            (0..buffer.len()).filter(|&i| !probe.is_stale(id, &buffer[i])).collect();
        let Some(&first) = kept.first() else {
            self.state = Sync::Waiting { snapshot };
            return Ok(SnapshotStep::Waiting);
        };
        if !probe.bridges(id, &buffer[first]) {
            let first_id = buffer[first].first_id;
            return Ok(SnapshotStep::TooOld { last_update_id: id, first_id });
        }
        let diffs: Vec<DepthUpdate> = buffer.drain(first..).collect();
        let mut last = diffs[0].last_id;
        let mut applied = vec![diffs[0].clone()];
        for diff in diffs.into_iter().skip(1) {
            if diff.last_id <= last {
                continue;
            }
            if let Err(brk) = probe.check_chain(last, &diff) {
                self.state = Sync::Unsynced { buffer: VecDeque::new(), dropped: 0 };
                return Err(brk);
            }
            last = diff.last_id;
            applied.push(diff);
        }
        self.state = Sync::Synced { last_id: last };
        Ok(SnapshotStep::Spliced(Splice { snapshot, diffs: applied }))
    }

    /// Already contained in a snapshot with `lastUpdateId` = `id`.
    fn is_stale(&self, id: u64, diff: &DepthUpdate) -> bool {
        match self.chain {
            Chain::Spot => diff.last_id <= id,
            Chain::Futures => diff.last_id < id,
        }
    }

    /// The first diff to apply on a snapshot with `lastUpdateId` = `id`.
    fn bridges(&self, id: u64, diff: &DepthUpdate) -> bool {
        match self.chain {
            Chain::Spot => diff.first_id <= id + 1 && id < diff.last_id,
            Chain::Futures => diff.first_id <= id && id <= diff.last_id,
        }
    }

    fn check_chain(&self, last: u64, diff: &DepthUpdate) -> Result<(), ChainBreak> {
        let (ok, expected, received) = match self.chain {
            Chain::Spot => (diff.first_id <= last + 1, last + 1, diff.first_id),
            // A futures diff without `pu` cannot be chained: reported as `pu` 0.
            Chain::Futures => {
                let pu = diff.prev_last_id.unwrap_or(0);
                (pu == last, last, pu)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ChainBreak { rule: self.chain, expected, received })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventTime;

    fn diff(first: u64, last: u64, pu: Option<u64>) -> DepthUpdate {
        DepthUpdate {
            symbol: "BTCUSDT".into(),
            ts_event: EventTime::from_millis(1).unwrap(),
            first_id: first,
            last_id: last,
            prev_last_id: pu,
            bids: vec![],
            asks: vec![],
        }
    }

    fn snap(id: u64) -> Snapshot {
        Snapshot { last_update_id: id, ts_event: None, symbol: None, bids: vec![], asks: vec![] }
    }

    fn ids(splice: &Splice) -> Vec<u64> {
        splice.diffs.iter().map(|d| d.last_id).collect()
    }

    #[test]
    fn spot_snapshot_after_its_bridging_diff_is_spliced_from_the_buffer() {
        // The real spot 0808 order: diffs 189–202, 203–207, 208–224 (bridge), then the
        // snapshot 218, then 225–237.
        let mut s = DepthSync::new(Chain::Spot);
        for (u0, u1) in [(189, 202), (203, 207), (208, 224)] {
            assert_eq!(s.on_diff(diff(u0, u1, None)).unwrap(), DiffStep::Buffered);
        }
        let SnapshotStep::Spliced(splice) = s.on_snapshot(snap(218)).unwrap() else {
            panic!("spliced")
        };
        assert_eq!(ids(&splice), [224]);
        assert_eq!(s.on_diff(diff(225, 237, None)).unwrap(), DiffStep::Apply(diff(225, 237, None)));
        assert_eq!(s.on_diff(diff(230, 237, None)).unwrap(), DiffStep::Stale);
        let brk = s.on_diff(diff(240, 250, None)).unwrap_err();
        assert_eq!((brk.expected, brk.received), (238, 240));
        assert_eq!(brk.to_string(), "update id chain broke: U 240 where 238 was due (book at 237)");
    }

    #[test]
    fn futures_rules_bridge_on_the_snapshot_id_and_chain_on_pu() {
        let mut s = DepthSync::new(Chain::Futures);
        s.on_diff(diff(10, 20, Some(9))).unwrap();
        s.on_diff(diff(25, 40, Some(20))).unwrap();
        s.on_diff(diff(44, 50, Some(40))).unwrap();
        // 40 is the snapshot id: u = 40 is not dropped on futures (u < id is), and bridges.
        let SnapshotStep::Spliced(splice) = s.on_snapshot(snap(40)).unwrap() else {
            panic!("spliced")
        };
        assert_eq!(ids(&splice), [40, 50]);
        let brk = s.on_diff(diff(60, 70, Some(55))).unwrap_err();
        assert_eq!(brk.to_string(), "update id chain broke: pu 55 where the previous u was 50");
        let brk = DepthSync::resume(Chain::Futures, Sync::Synced { last_id: 5 })
            .on_diff(diff(6, 7, None))
            .unwrap_err();
        assert_eq!(brk.received, 0);
    }

    #[test]
    fn a_snapshot_newer_than_the_buffer_waits_for_its_bridge() {
        let mut s = DepthSync::new(Chain::Spot);
        s.on_diff(diff(1, 5, None)).unwrap();
        assert_eq!(s.on_snapshot(snap(8)).unwrap(), SnapshotStep::Waiting);
        assert_eq!(s.on_diff(diff(6, 8, None)).unwrap(), DiffStep::Stale);
        let DiffStep::Spliced(splice) = s.on_diff(diff(9, 12, None)).unwrap() else {
            panic!("spliced")
        };
        assert_eq!((splice.snapshot.last_update_id, ids(&splice)), (8, vec![12]));
        assert!(s.is_synced());

        let mut s = DepthSync::new(Chain::Spot);
        s.on_snapshot(snap(8)).unwrap();
        assert_eq!(
            s.on_diff(diff(11, 12, None)).unwrap(),
            DiffStep::SnapshotTooOld { last_update_id: 8, first_id: 11 }
        );
        assert!(matches!(s.state(), Sync::Unsynced { buffer, .. } if buffer.len() == 1));
    }

    #[test]
    fn a_snapshot_older_than_the_buffer_is_refused_and_the_buffer_kept() {
        let mut s = DepthSync::new(Chain::Spot);
        s.on_diff(diff(20, 30, None)).unwrap();
        assert_eq!(
            s.on_snapshot(snap(10)).unwrap(),
            SnapshotStep::TooOld { last_update_id: 10, first_id: 20 }
        );
        let SnapshotStep::Spliced(splice) = s.on_snapshot(snap(25)).unwrap() else {
            panic!("a later snapshot splices")
        };
        assert_eq!(ids(&splice), [30]);
        assert_eq!(s.on_snapshot(snap(99)).unwrap(), SnapshotStep::Ignored);
    }

    #[test]
    fn a_break_inside_the_buffer_is_reported_at_the_splice() {
        let mut s = DepthSync::new(Chain::Spot);
        s.on_diff(diff(1, 10, None)).unwrap();
        s.on_diff(diff(15, 20, None)).unwrap();
        let brk = s.on_snapshot(snap(5)).unwrap_err();
        assert_eq!((brk.expected, brk.received), (11, 15));
        assert!(!s.is_synced());
    }
}
