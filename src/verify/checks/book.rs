//! The book stream checks, frame by frame and per connection: sequence order (with a small
//! reorder window, so a frame whose ts_recv stepped back is judged in seq order rather than
//! as a gap), duplicate frames, time going back, and the replay of `depth` — sizes, crossed
//! books, mid-stream snapshot drift and `book_top` equal to the replayed top.
//!
//! Frames in order are replayed straight from the cursor's scratch rows; only frames that
//! arrive early are copied. Gaps are collected here and judged against `events` afterwards
//! (`sequence.rs`); this module must not read events.

use std::collections::{BTreeMap, HashSet};

use super::cursor::{fmt_ts, DepthLevel, FrameHead, Top};
use super::latency::Histogram;
use super::repeats::repeated_levels;
use crate::book::Ladder;
use crate::model::{BookSide, Price, Qty};
use crate::storage::{Table, BOOK_TOP_LEVELS};
use crate::verify::findings::{Findings, Key, Kind};

/// Frames held while waiting for a missing seq before it is declared a gap.
const REORDER_FRAMES: usize = 4096;

/// The seq, clocks and kind of a frame, kept to describe a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMark {
    pub seq: i64,
    pub ts_recv: i64,
    pub ts_event: i64,
    pub snapshot: bool,
}

impl FrameMark {
    fn of(head: &FrameHead) -> Self {
        Self {
            seq: head.seq,
            ts_recv: head.ts_recv,
            ts_event: head.ts_event,
            snapshot: head.snapshot,
        }
    }
}

/// Frames missing inside a connection: after `after` (none at the start) the next frame
/// seen was `resumed`; `missing_from` is the first seq that never came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub conn: u32,
    pub after: Option<FrameMark>,
    pub missing_from: i64,
    pub resumed: FrameMark,
}

/// What one book connection looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSummary {
    pub conn: u32,
    pub first: FrameMark,
    pub last: FrameMark,
    pub frames: u64,
    pub gaps: Vec<Gap>,
}

/// The market's best prices after the latest frame, for the trades check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTop {
    pub bid: Option<i64>,
    pub ask: Option<i64>,
    pub ts_recv: i64,
    pub conn: u32,
    pub seq: i64,
}

struct Pending {
    head: FrameHead,
    rows: Vec<DepthLevel>,
}

struct ConnBook {
    conn: u32,
    next: Option<i64>,
    ladder: Ladder,
    /// The replayed book is exact: a snapshot was applied and no frame went missing since.
    known: bool,
    frames: u64,
    first: Option<FrameMark>,
    last: Option<FrameMark>,
    pending: BTreeMap<i64, Pending>,
    gaps: Vec<Gap>,
    /// The venue said this connection's book may be crossed (a `crossed` events row): a
    /// crossed frame is counted apart, as a note.
    may_cross: bool,
}

/// Buffers shared by every connection.
#[derive(Default)]
struct Work {
    spare: Ladder,
    levels: Vec<(bool, i64)>,
    latency: Histogram,
    top: Option<MarketTop>,
}

/// Checks book frames; see the module header.
pub struct BookCheck {
    conns: Vec<ConnBook>,
    current: usize,
    /// A `--from` bound may cut a connection: accept its first frame whatever its seq…
    mid_stream_start: bool,
    /// …except on connections whose connect event lies inside the range.
    fresh: Vec<u32>,
    /// Connections with a `crossed` events row.
    may_cross: HashSet<u32>,
    work: Work,
    pub frames: u64,
    pub depth_rows: u64,
}

/// The result of the book pass.
pub struct BookSummary {
    pub conns: Vec<ConnSummary>,
    pub latency: Histogram,
    pub frames: u64,
    pub depth_rows: u64,
}

fn top_key(conn: u32, seq: i64, ts_recv: i64) -> Key {
    Key::Frame { table: Table::BookTop, conn, seq, ts_recv }
}

fn depth_key(conn: u32, seq: i64, ts_recv: i64) -> Key {
    Key::Frame { table: Table::Depth, conn, seq, ts_recv }
}

fn frame_keys(head: &FrameHead) -> Vec<Key> {
    vec![top_key(head.conn, head.seq, head.ts_recv), depth_key(head.conn, head.seq, head.ts_recv)]
}

/// `3000.5 × 1.2` or `none`.
fn level_text(level: Option<(i64, i64)>) -> String {
    match level {
        Some((p, q)) => format!("{} × {}", Price::from_raw(p), Qty::from_raw(q)),
        None => "none".into(),
    }
}

/// The book's side of a decoded row's `bid` flag.
fn side_of(bid: bool) -> BookSide {
    if bid {
        BookSide::Bid
    } else {
        BookSide::Ask
    }
}

fn side_name(bid: bool) -> &'static str {
    if bid {
        "bid"
    } else {
        "ask"
    }
}

/// Signed nanoseconds as a short human duration.
pub fn fmt_duration(nanos: i64) -> String {
    let abs = nanos.unsigned_abs() as f64;
    let sign = if nanos < 0 { "-" } else { "" };
    if abs >= 1e9 {
        format!("{sign}{:.3} s", abs / 1e9)
    } else if abs >= 1e6 {
        format!("{sign}{:.3} ms", abs / 1e6)
    } else if abs >= 1e3 {
        format!("{sign}{:.3} µs", abs / 1e3)
    } else {
        format!("{sign}{abs} ns")
    }
}

impl BookCheck {
    pub fn new(mid_stream_start: bool, fresh: Vec<u32>) -> Self {
        Self {
            conns: Vec::new(),
            current: 0,
            mid_stream_start,
            fresh,
            may_cross: HashSet::new(),
            work: Work::default(),
            frames: 0,
            depth_rows: 0,
        }
    }

    /// Connections whose book the venue said was crossed (`crossed` events rows, dYdX): their
    /// crossed frames are `venue_crossed` notes, not `crossed_book` violations.
    pub fn may_cross(mut self, conns: HashSet<u32>) -> Self {
        self.may_cross = conns;
        self
    }

    /// The best prices after the latest frame applied.
    pub fn market_top(&self) -> Option<&MarketTop> {
        self.work.top.as_ref()
    }

    fn conn_index(&mut self, conn: u32) -> usize {
        if self.conns.get(self.current).is_some_and(|c| c.conn == conn) {
            return self.current;
        }
        let index = match self.conns.iter().position(|c| c.conn == conn) {
            Some(i) => i,
            None => {
                self.conns.push(ConnBook {
                    conn,
                    next: (!self.mid_stream_start || self.fresh.contains(&conn)).then_some(1),
                    ladder: Ladder::default(),
                    known: false,
                    frames: 0,
                    first: None,
                    last: None,
                    pending: BTreeMap::new(),
                    gaps: Vec::new(),
                    may_cross: self.may_cross.contains(&conn),
                });
                self.conns.len() - 1
            }
        };
        self.current = index;
        index
    }

    /// One frame as read: its `book_top` row and its `depth` rows.
    pub fn frame(&mut self, head: &FrameHead, rows: &[DepthLevel], f: &mut Findings) {
        self.frames += 1;
        self.depth_rows += rows.len() as u64;
        let index = self.conn_index(head.conn);
        let c = &mut self.conns[index];
        let next = *c.next.get_or_insert(head.seq);
        if head.seq == next {
            apply(c, &mut self.work, head, rows, f);
            drain(c, &mut self.work, f);
        } else if head.seq < next || c.pending.contains_key(&head.seq) {
            f.add(
                Kind::DuplicateFrame,
                || {
                    format!(
                        "conn {} seq {} (ts_recv {}) was already recorded",
                        head.conn,
                        head.seq,
                        fmt_ts(head.ts_recv)
                    )
                },
                frame_keys(head),
            );
        } else {
            c.pending.insert(head.seq, Pending { head: *head, rows: rows.to_vec() });
            if c.pending.len() > REORDER_FRAMES {
                skip_to_pending(c, &mut self.work, f);
            }
        }
    }

    /// Ends the pass: frames still waiting mark gaps and are replayed.
    pub fn finish(mut self, f: &mut Findings) -> BookSummary {
        for c in &mut self.conns {
            while !c.pending.is_empty() {
                skip_to_pending(c, &mut self.work, f);
            }
        }
        let mut conns: Vec<ConnSummary> = self
            .conns
            .into_iter()
            .filter_map(|c| {
                Some(ConnSummary {
                    conn: c.conn,
                    first: c.first?,
                    last: c.last?,
                    frames: c.frames,
                    gaps: c.gaps,
                })
            })
            .collect();
        conns.sort_by_key(|c| c.conn);
        BookSummary {
            conns,
            latency: self.work.latency,
            frames: self.frames,
            depth_rows: self.depth_rows,
        }
    }
}

/// Replays the waiting frames that now follow in seq order.
fn drain(c: &mut ConnBook, work: &mut Work, f: &mut Findings) {
    while let Some(entry) = c.pending.first_entry() {
        if Some(*entry.key()) != c.next {
            break;
        }
        let p = entry.remove();
        apply(c, work, &p.head, &p.rows, f);
    }
}

/// Gives up waiting for the missing seq: records the gap and goes on from the first frame
/// waiting.
fn skip_to_pending(c: &mut ConnBook, work: &mut Work, f: &mut Findings) {
    let Some((&seq, p)) = c.pending.first_key_value() else { return };
    c.gaps.push(Gap {
        conn: c.conn,
        after: c.last,
        missing_from: c.next.unwrap_or(seq),
        resumed: FrameMark::of(&p.head),
    });
    c.next = Some(seq);
    // Frames went missing: the replayed book is unknown until the next snapshot.
    c.known = false;
    drain(c, work, f);
}

/// Replays one frame that is next in its connection.
fn apply(
    c: &mut ConnBook,
    work: &mut Work,
    head: &FrameHead,
    rows: &[DepthLevel],
    f: &mut Findings,
) {
    let (conn, seq) = (head.conn, head.seq);
    if let Some(last) = c.last {
        if head.ts_recv < last.ts_recv {
            f.add(
                Kind::RecvWentBack,
                || {
                    format!(
                        "book conn {conn} seq {seq}: ts_recv {} is {} before seq {}'s ({})",
                        fmt_ts(head.ts_recv),
                        fmt_duration(last.ts_recv - head.ts_recv),
                        last.seq,
                        fmt_ts(last.ts_recv)
                    )
                },
                vec![top_key(conn, seq, head.ts_recv), depth_key(conn, seq, head.ts_recv)],
            );
        }
        if head.ts_event < last.ts_event {
            f.add(
                Kind::EventWentBack,
                || {
                    format!(
                        "book conn {conn} seq {seq}: ts_event {} is {} before seq {}'s",
                        fmt_ts(head.ts_event),
                        fmt_duration(last.ts_event - head.ts_event),
                        last.seq
                    )
                },
                vec![top_key(conn, seq, head.ts_recv)],
            );
        }
    } else if !head.snapshot && c.next == Some(1) && seq == 1 {
        f.add(
            Kind::BadConnStart,
            || format!("book conn {conn} starts with a delta at seq 1, not a snapshot"),
            frame_keys(head),
        );
    }
    work.latency.record(head.ts_recv.saturating_sub(head.ts_event));
    check_sizes(head, rows, f);
    if head.snapshot {
        work.spare.clear();
        for r in rows.iter().filter(|r| r.side_ok) {
            work.spare.push_unsorted(side_of(r.bid), r.price, r.qty);
        }
        let repeated = work.spare.finish_unsorted();
        if repeated > 0 {
            duplicate_levels(head, repeated, f);
        }
        if c.known {
            drift(&c.ladder, &work.spare, head, f);
        }
        std::mem::swap(&mut c.ladder, &mut work.spare);
        c.known = true;
    } else {
        if c.known {
            for r in rows.iter().filter(|r| r.side_ok && r.qty >= 0) {
                c.ladder.set(side_of(r.bid), r.price, r.qty);
            }
        }
        let repeated = repeated_levels(rows, &mut work.levels);
        if repeated > 0 {
            duplicate_levels(head, repeated, f);
        }
    }
    if c.known {
        if c.ladder.is_crossed() {
            crossed(
                head,
                c.ladder.best(BookSide::Bid),
                c.ladder.best(BookSide::Ask),
                "replayed book",
                c.may_cross,
                f,
            );
        }
        compare_top(&c.ladder, &head.top, head, f);
        work.top = Some(MarketTop {
            bid: c.ladder.best(BookSide::Bid).map(|l| l.0),
            ask: c.ladder.best(BookSide::Ask).map(|l| l.0),
            ts_recv: head.ts_recv,
            conn,
            seq,
        });
    } else {
        let (bid, ask) = (head.top.level(true, 0), head.top.level(false, 0));
        if matches!((bid, ask), (Some(b), Some(a)) if b.0 >= a.0) {
            crossed(head, bid, ask, "book_top row", c.may_cross, f);
        }
        work.top = Some(MarketTop {
            bid: bid.map(|l| l.0),
            ask: ask.map(|l| l.0),
            ts_recv: head.ts_recv,
            conn,
            seq,
        });
    }
    c.frames += 1;
    c.first.get_or_insert(FrameMark::of(head));
    c.last = Some(FrameMark::of(head));
    c.next = Some(seq + 1);
}

fn check_sizes(head: &FrameHead, rows: &[DepthLevel], f: &mut Findings) {
    for r in rows {
        let bad = !r.side_ok || r.price <= 0 || r.qty < 0 || (head.snapshot && r.qty == 0);
        if bad {
            f.add(
                Kind::BadSize,
                || {
                    let what = if !r.side_ok {
                        "a side that is neither bid nor ask".to_string()
                    } else if r.price <= 0 {
                        format!("price {}", Price::from_raw(r.price))
                    } else if r.qty < 0 {
                        format!("negative size {}", Qty::from_raw(r.qty))
                    } else {
                        "size 0 in a snapshot".to_string()
                    };
                    format!(
                        "conn {} seq {}: {} level {} has {what}",
                        head.conn,
                        head.seq,
                        side_name(r.bid),
                        Price::from_raw(r.price)
                    )
                },
                vec![depth_key(head.conn, head.seq, head.ts_recv)],
            );
        }
    }
}

fn duplicate_levels(head: &FrameHead, repeated: usize, f: &mut Findings) {
    f.add(
        Kind::DuplicateLevel,
        || {
            format!(
                "conn {} seq {}: {repeated} depth row(s) repeat a level of the same frame (frame recorded twice?)",
                head.conn, head.seq
            )
        },
        vec![depth_key(head.conn, head.seq, head.ts_recv)],
    );
}

fn crossed(
    head: &FrameHead,
    bid: Option<(i64, i64)>,
    ask: Option<(i64, i64)>,
    whose: &str,
    venue_said: bool,
    f: &mut Findings,
) {
    f.add(
        if venue_said { Kind::VenueCrossed } else { Kind::CrossedBook },
        || {
            let how = match (bid, ask) {
                (Some(b), Some(a)) if b.0 == a.0 => "locked",
                _ => "crossed",
            };
            format!(
                "{how} after conn {} seq {} ({whose}): best bid {}, best ask {}",
                head.conn,
                head.seq,
                level_text(bid),
                level_text(ask)
            )
        },
        frame_keys(head),
    );
}

/// A mid-stream snapshot must equal the book built from the deltas before it.
fn drift(book: &Ladder, snapshot: &Ladder, head: &FrameHead, f: &mut Findings) {
    if !f.wants_example(Kind::SnapshotDrift) {
        if book.differences(snapshot, |_, _, _, _| {}) > 0 {
            f.add(Kind::SnapshotDrift, String::new, vec![]);
        }
        return;
    }
    let mut listed = Vec::new();
    let n = book.differences(snapshot, |side, price, was, now| {
        if listed.len() < 4 {
            listed.push(format!(
                "{} {}: book {} → snapshot {} ({}{})",
                side.as_str(),
                Price::from_raw(price),
                Qty::from_raw(was),
                Qty::from_raw(now),
                if now > was { "+" } else { "" },
                Qty::from_raw(now - was)
            ));
        }
    });
    if n > 0 {
        let more = if n > listed.len() {
            format!("; and {} more", n - listed.len())
        } else {
            String::new()
        };
        let text = format!(
            "snapshot at conn {} seq {} differs from the replayed book at {n} level(s): {}{more}",
            head.conn,
            head.seq,
            listed.join("; ")
        );
        f.add(Kind::SnapshotDrift, || text, frame_keys(head));
    }
}

/// `book_top` must hold exactly the replayed top levels.
fn compare_top(book: &Ladder, top: &Top, head: &FrameHead, f: &mut Findings) {
    let same = book.top_equals(BookSide::Bid, &top.bids[..top.n_bids], BOOK_TOP_LEVELS)
        && book.top_equals(BookSide::Ask, &top.asks[..top.n_asks], BOOK_TOP_LEVELS);
    if same && !top.holes {
        return;
    }
    let mut first: Option<(bool, usize)> = None;
    'sides: for bid in [true, false] {
        for i in 0..BOOK_TOP_LEVELS {
            if book.level(side_of(bid), i) != top.level(bid, i) {
                first = Some((bid, i));
                break 'sides;
            }
        }
    }
    if first.is_none() && !top.holes {
        return;
    }
    f.add(
        Kind::TopMismatch,
        || match first {
            Some((bid, i)) => format!(
                "conn {} seq {}: {} level {i} is {} in the replay of depth but {} in book_top (a depth row missing or altered?)",
                head.conn,
                head.seq,
                side_name(bid),
                level_text(book.level(side_of(bid), i)),
                level_text(top.level(bid, i))
            ),
            None => format!("conn {} seq {}: book_top has a null level above a non-null one", head.conn, head.seq),
        },
        frame_keys(head),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::findings::Findings;

    const EMPTY_TOP: Top = Top {
        bids: [(0, 0); BOOK_TOP_LEVELS],
        asks: [(0, 0); BOOK_TOP_LEVELS],
        n_bids: 0,
        n_asks: 0,
        holes: false,
    };

    /// A frame whose book_top agrees with `levels` applied to `book` (tests keep their own
    /// book to build the expected top).
    fn frame(
        seq: i64,
        ts: i64,
        snapshot: bool,
        levels: &[(bool, i64, i64)],
        book: &mut Ladder,
    ) -> (FrameHead, Vec<DepthLevel>) {
        if snapshot {
            book.clear();
        }
        for &(bid, p, q) in levels {
            book.set(side_of(bid), p, q);
        }
        let mut top = EMPTY_TOP;
        for bid in [true, false] {
            for i in 0..BOOK_TOP_LEVELS {
                if let Some(l) = book.level(side_of(bid), i) {
                    if bid {
                        top.bids[i] = l;
                        top.n_bids += 1;
                    } else {
                        top.asks[i] = l;
                        top.n_asks += 1;
                    }
                }
            }
        }
        let head = FrameHead { ts_event: ts - 5, ts_recv: ts, conn: 1, seq, snapshot, top };
        let rows = levels
            .iter()
            .map(|&(bid, price, qty)| DepthLevel { bid, side_ok: true, price, qty })
            .collect();
        (head, rows)
    }

    fn run(frames: &[(FrameHead, Vec<DepthLevel>)]) -> (Findings, BookSummary) {
        let mut f = Findings::new(5);
        let mut check = BookCheck::new(false, vec![]);
        for (head, rows) in frames {
            check.frame(head, rows, &mut f);
        }
        let summary = check.finish(&mut f);
        (f, summary)
    }

    fn clean() -> Vec<(FrameHead, Vec<DepthLevel>)> {
        let mut b = Ladder::default();
        vec![
            frame(1, 100, true, &[(true, 99, 5), (true, 98, 1), (false, 101, 2)], &mut b),
            frame(2, 200, false, &[(true, 99, 4)], &mut b),
            frame(3, 300, false, &[], &mut b),
            frame(4, 400, true, &[(true, 99, 4), (true, 98, 1), (false, 101, 2)], &mut b),
            frame(5, 500, false, &[(false, 100, 1), (true, 98, 0)], &mut b),
        ]
    }

    #[test]
    fn faults_are_found_by_kind() {
        type Corrupt = fn(&mut Vec<(FrameHead, Vec<DepthLevel>)>);
        let cases: &[(&str, Corrupt, Kind)] = &[
            ("clean", |_| {}, Kind::CrossedBook),
            ("row deleted", |v| v[1].1.clear(), Kind::TopMismatch),
            (
                "frame twice",
                |v| {
                    let d = v[2].clone();
                    v.insert(3, d)
                },
                Kind::DuplicateFrame,
            ),
            (
                "level twice",
                |v| {
                    let r = v[4].1[0];
                    v[4].1.push(r)
                },
                Kind::DuplicateLevel,
            ),
            ("snapshot drift", |v| v[3].1[0].qty = 7, Kind::SnapshotDrift),
            ("negative", |v| v[1].1[0].qty = -1, Kind::BadSize),
            ("recv back", |v| v[2].0.ts_recv = 50, Kind::RecvWentBack),
            ("event back", |v| v[2].0.ts_event = 10, Kind::EventWentBack),
            (
                "starts with delta",
                |v| {
                    v.remove(0);
                    for (h, _) in v.iter_mut() {
                        h.seq -= 1;
                    }
                },
                Kind::BadConnStart,
            ),
        ];
        for (name, corrupt, kind) in cases {
            let mut frames = clean();
            corrupt(&mut frames);
            let (f, _) = run(&frames);
            if *name == "clean" {
                assert_eq!(f.violations(), 0, "{name}: {:?}", f.iter().collect::<Vec<_>>());
            } else {
                assert!(
                    f.count(*kind) > 0,
                    "{name}: {:?}",
                    f.iter().map(|x| x.kind).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn a_crossed_frame_is_named() {
        let mut b = Ladder::default();
        let frames = vec![
            frame(1, 100, true, &[(true, 99, 5), (false, 101, 2)], &mut b),
            frame(2, 200, false, &[(true, 102, 1)], &mut b),
        ];
        let (f, _) = run(&frames);
        assert_eq!(f.count(Kind::CrossedBook), 1);
        let text = &f.iter().next().unwrap().examples[0].message;
        assert!(text.contains("crossed after conn 1 seq 2"), "{text}");

        // The same frames on a connection whose venue said its book may cross: a note.
        let mut f = Findings::new(5);
        let mut check = BookCheck::new(false, vec![]).may_cross(HashSet::from([1]));
        for (head, rows) in &frames {
            check.frame(head, rows, &mut f);
        }
        check.finish(&mut f);
        assert_eq!((f.count(Kind::CrossedBook), f.count(Kind::VenueCrossed)), (0, 1));
        assert_eq!(f.violations(), 0);
    }

    #[test]
    fn a_frame_received_early_is_judged_in_seq_order() {
        let mut frames = clean();
        // Frame 3's ts_recv stepped back before frame 2: it is read first.
        frames[2].0.ts_recv = 150;
        frames.swap(1, 2);
        let (f, summary) = run(&frames);
        assert_eq!(f.count(Kind::RecvWentBack), 1);
        assert!(summary.conns[0].gaps.is_empty());
        assert_eq!(f.count(Kind::DuplicateFrame), 0);
        assert_eq!(f.count(Kind::TopMismatch), 0);
    }

    #[test]
    fn missing_frames_become_a_gap_and_the_book_waits_for_a_snapshot() {
        let mut frames = clean();
        frames.remove(1);
        let (f, summary) = run(&frames);
        let gaps = &summary.conns[0].gaps;
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].missing_from, gaps[0].resumed.seq), (2, 3));
        assert_eq!(f.count(Kind::TopMismatch), 0, "no replay while the book is unknown");
    }

    #[test]
    fn a_range_cut_accepts_a_mid_stream_start_except_on_fresh_connections() {
        for (fresh, gaps) in [(vec![], 0), (vec![1], 1)] {
            let mut f = Findings::new(5);
            let mut check = BookCheck::new(true, fresh.clone());
            for (head, rows) in &clean()[1..] {
                check.frame(head, rows, &mut f);
            }
            let summary = check.finish(&mut f);
            assert_eq!(summary.conns[0].gaps.len(), gaps, "fresh {fresh:?}");
            assert_eq!(f.count(Kind::TopMismatch), 0, "fresh {fresh:?}");
        }
    }

    #[test]
    fn durations_read_well() {
        for (nanos, text) in
            [(1_300_000_000, "1.300 s"), (-2_500_000, "-2.500 ms"), (999, "999 ns")]
        {
            assert_eq!(fmt_duration(nanos), text);
        }
    }
}
