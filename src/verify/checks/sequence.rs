//! Judging breaks against `events`: a gap inside a connection is recorded when a `seq_gap`
//! row names its first missing seq; the end of a connection that a later one follows is
//! recorded when the ended connection has its terminal row. Anything else is unexplained.
//! Also holds collect's events contract: one `connect` per connection, at most one terminal
//! row, nothing received after it.
//!
//! Works on summaries of the pass and the events rows; it reads no file.

use std::collections::BTreeMap;

use super::book::{ConnSummary, Gap};
use super::cursor::fmt_ts;
use super::trades::TradeConn;
use crate::model::EventKind;
use crate::storage::{EventRow, Table};
use crate::verify::findings::{Findings, Key, Kind};

/// Event kinds that end a connection (exactly one per ended connection).
pub fn is_terminal(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::SeqGap
            | EventKind::Malformed
            | EventKind::Stale
            | EventKind::VenueError
            | EventKind::Disconnect
    )
}

/// The events of one connection.
#[derive(Debug, Default, Clone)]
pub struct ConnEvents {
    pub connects: Vec<i64>,
    pub terminals: Vec<EventRow>,
    pub trade_gaps: Vec<EventRow>,
    pub unsynced: Vec<EventRow>,
}

/// Events by connection.
pub fn by_conn(events: &[EventRow]) -> BTreeMap<u32, ConnEvents> {
    let mut map: BTreeMap<u32, ConnEvents> = BTreeMap::new();
    for e in events {
        let c = map.entry(e.conn).or_default();
        match e.kind {
            EventKind::Connect => c.connects.push(e.ts_recv.as_nanos()),
            EventKind::TradeGap => c.trade_gaps.push(e.clone()),
            EventKind::Unsynced => c.unsynced.push(e.clone()),
            kind if is_terminal(kind) => c.terminals.push(e.clone()),
            _ => {}
        }
    }
    map
}

fn terminal_text(e: &EventRow) -> String {
    let mut text = e.kind.to_string();
    if let (Some(seq), Some(expected)) = (e.seq, e.expected_seq) {
        text.push_str(&format!(" (received seq {seq}, expected {expected})"));
    }
    if let Some(detail) = &e.detail {
        text.push_str(&format!(": {detail}"));
    }
    text
}

/// One stream's connection as the checks saw it: which table, first and last frame.
struct Stream {
    table: Table,
    conn: u32,
    first: (i64, i64),
    last: (i64, i64),
}

/// Judges every break of the market's book and trades connections.
pub fn judge(
    books: &[ConnSummary],
    trades: &[TradeConn],
    events: &BTreeMap<u32, ConnEvents>,
    cut_at_start: bool,
    f: &mut Findings,
) {
    for c in books {
        for gap in &c.gaps {
            judge_gap(gap, events.get(&c.conn), f);
        }
    }
    let book_streams: Vec<Stream> = books
        .iter()
        .map(|c| Stream {
            table: Table::BookTop,
            conn: c.conn,
            first: (c.first.seq, c.first.ts_recv),
            last: (c.last.seq, c.last.ts_recv),
        })
        .collect();
    let trade_streams: Vec<Stream> = trades
        .iter()
        .map(|c| Stream {
            table: Table::Trades,
            conn: c.conn,
            first: (c.first.seq, c.first.ts_recv),
            last: (c.last.seq, c.last.ts_recv),
        })
        .collect();
    for streams in [&book_streams, &trade_streams] {
        for pair in streams.windows(2) {
            judge_end(&pair[0], &pair[1], events.get(&pair[0].conn), f);
        }
        for s in streams.iter() {
            contract(s, events.get(&s.conn), cut_at_start, f);
        }
    }
    for (conn, e) in events {
        for gap in &e.trade_gaps {
            f.add(
                Kind::RecordedTradeGap,
                || format!("trades conn {conn} at {}: {}", gap.ts_recv, terminal_text(gap)),
                vec![Key::Event { conn: *conn, ts_recv: gap.ts_recv.as_nanos() }],
            );
        }
        for note in &e.unsynced {
            f.add(
                Kind::RecordedUnsynced,
                || format!("conn {conn} at {}: {}", note.ts_recv, terminal_text(note)),
                vec![Key::Event { conn: *conn, ts_recv: note.ts_recv.as_nanos() }],
            );
        }
    }
}

fn judge_gap(gap: &Gap, events: Option<&ConnEvents>, f: &mut Findings) {
    let conn = gap.conn;
    let resumed = Key::Frame {
        table: Table::BookTop,
        conn,
        seq: gap.resumed.seq,
        ts_recv: gap.resumed.ts_recv,
    };
    let mut keys = Vec::new();
    if let Some(after) = gap.after {
        keys.push(Key::Frame {
            table: Table::BookTop,
            conn,
            seq: after.seq,
            ts_recv: after.ts_recv,
        });
    }
    keys.push(resumed);
    let missing = format!("seq {}–{}", gap.missing_from, gap.resumed.seq - 1);
    let explained = events.and_then(|e| {
        e.terminals
            .iter()
            .find(|t| t.kind == EventKind::SeqGap && t.expected_seq == Some(gap.missing_from))
    });
    match explained {
        Some(event) => {
            keys.push(Key::Event { conn, ts_recv: event.ts_recv.as_nanos() });
            f.add(
                Kind::RecordedGap,
                || format!("book conn {conn}: {missing} missing, recorded as {}", terminal_text(event)),
                keys,
            );
        }
        None => f.add(
            Kind::UnexplainedGap,
            || match gap.after {
                Some(after) => format!(
                    "book conn {conn}: {missing} missing between seq {} ({}) and seq {} ({}); no seq_gap event expects seq {}",
                    after.seq,
                    fmt_ts(after.ts_recv),
                    gap.resumed.seq,
                    fmt_ts(gap.resumed.ts_recv),
                    gap.missing_from
                ),
                None => format!("book conn {conn} begins at seq {}: {missing} missing", gap.resumed.seq),
            },
            keys,
        ),
    }
}

fn judge_end(ended: &Stream, next: &Stream, events: Option<&ConnEvents>, f: &mut Findings) {
    let stream = if ended.table == Table::Trades { "trades" } else { "book" };
    let keys = vec![
        Key::Frame {
            table: ended.table,
            conn: ended.conn,
            seq: ended.last.0,
            ts_recv: ended.last.1,
        },
        Key::Frame { table: next.table, conn: next.conn, seq: next.first.0, ts_recv: next.first.1 },
    ];
    match events.and_then(|e| e.terminals.first()) {
        Some(event) => {
            let mut keys = keys;
            keys.push(Key::Event { conn: ended.conn, ts_recv: event.ts_recv.as_nanos() });
            f.add(
                Kind::RecordedGap,
                || {
                    format!(
                        "{stream} conn {} ended after seq {} ({}), recorded as {}; conn {} follows at {}",
                        ended.conn,
                        ended.last.0,
                        fmt_ts(ended.last.1),
                        terminal_text(event),
                        next.conn,
                        fmt_ts(next.first.1)
                    )
                },
                keys,
            );
        }
        None => f.add(
            Kind::UnexplainedGap,
            || {
                format!(
                    "{stream} conn {} ends after seq {} ({}) with no terminal event; conn {} follows at {}",
                    ended.conn,
                    ended.last.0,
                    fmt_ts(ended.last.1),
                    next.conn,
                    fmt_ts(next.first.1)
                )
            },
            keys,
        ),
    }
}

fn contract(s: &Stream, events: Option<&ConnEvents>, cut_at_start: bool, f: &mut Findings) {
    let stream = if s.table == Table::Trades { "trades" } else { "book" };
    let conn = s.conn;
    let first = Key::Frame { table: s.table, conn, seq: s.first.0, ts_recv: s.first.1 };
    let connects = events.map_or(0, |e| e.connects.len());
    if connects == 0 && !cut_at_start {
        f.add(
            Kind::MissingConnect,
            || format!("{stream} conn {conn} has rows but no connect event"),
            vec![first],
        );
    }
    let Some(e) = events else { return };
    if e.terminals.len() > 1 {
        let kinds: Vec<String> = e.terminals.iter().map(terminal_text).collect();
        let keys = e
            .terminals
            .iter()
            .map(|t| Key::Event { conn, ts_recv: t.ts_recv.as_nanos() })
            .collect();
        f.add(
            Kind::ExtraTerminal,
            || {
                format!(
                    "{stream} conn {conn} has {} terminal events: {}",
                    kinds.len(),
                    kinds.join(", ")
                )
            },
            keys,
        );
    }
    if let Some(t) = e.terminals.first().filter(|t| t.ts_recv.as_nanos() < s.last.1) {
        f.add(
            Kind::RowsAfterTerminal,
            || {
                format!(
                    "{stream} conn {conn} ended ({}) at {}, but seq {} was received later, at {}",
                    t.kind,
                    t.ts_recv,
                    s.last.0,
                    fmt_ts(s.last.1)
                )
            },
            vec![
                Key::Event { conn, ts_recv: t.ts_recv.as_nanos() },
                Key::Frame { table: s.table, conn, seq: s.last.0, ts_recv: s.last.1 },
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecvTime;
    use crate::verify::checks::book::FrameMark;

    fn mark(seq: i64, ts: i64) -> FrameMark {
        FrameMark { seq, ts_recv: ts, ts_event: ts, snapshot: seq == 1 }
    }

    fn conn(conn: u32, first: i64, last: i64, gaps: Vec<Gap>) -> ConnSummary {
        ConnSummary {
            conn,
            first: mark(first, first * 10),
            last: mark(last, last * 10 + conn as i64),
            frames: 1,
            gaps,
        }
    }

    fn event(conn: u32, ts: i64, kind: EventKind, seq: Option<(i64, i64)>) -> EventRow {
        EventRow {
            ts_recv: RecvTime::from_nanos(ts),
            conn,
            kind,
            seq: seq.map(|s| s.0),
            expected_seq: seq.map(|s| s.1),
            detail: None,
        }
    }

    /// Book conns, events, recorded gaps, unexplained gaps, another kind expected once.
    type Case = (Vec<ConnSummary>, Vec<EventRow>, u64, u64, Option<Kind>);

    #[test]
    fn breaks_are_recorded_or_unexplained() {
        let gap = Gap { conn: 1, after: Some(mark(4, 40)), missing_from: 5, resumed: mark(8, 80) };
        let two_conns = vec![conn(1, 1, 9, vec![]), conn(3, 1, 5, vec![])];
        let cases: Vec<Case> = vec![
            (
                two_conns.clone(),
                vec![
                    event(1, 0, EventKind::Connect, None),
                    event(1, 100, EventKind::SeqGap, Some((11, 10))),
                    event(3, 100, EventKind::Connect, None),
                ],
                1,
                0,
                None,
            ),
            (
                two_conns.clone(),
                vec![
                    event(1, 0, EventKind::Connect, None),
                    event(3, 100, EventKind::Connect, None),
                ],
                0,
                1,
                None,
            ),
            (
                two_conns.clone(),
                vec![
                    event(3, 100, EventKind::Connect, None),
                    event(1, 100, EventKind::Disconnect, None),
                ],
                1,
                0,
                Some(Kind::MissingConnect),
            ),
            (
                vec![conn(1, 1, 9, vec![gap])],
                vec![
                    event(1, 0, EventKind::Connect, None),
                    event(1, 50, EventKind::SeqGap, Some((8, 5))),
                ],
                1,
                0,
                Some(Kind::RowsAfterTerminal),
            ),
            (
                vec![conn(1, 1, 9, vec![gap])],
                vec![event(1, 0, EventKind::Connect, None)],
                0,
                1,
                None,
            ),
            (
                vec![conn(1, 1, 9, vec![])],
                vec![
                    event(1, 0, EventKind::Connect, None),
                    event(1, 95, EventKind::Stale, None),
                    event(1, 96, EventKind::Disconnect, None),
                ],
                0,
                0,
                Some(Kind::ExtraTerminal),
            ),
        ];
        for (i, (books, events, recorded, unexplained, other)) in cases.into_iter().enumerate() {
            let mut f = Findings::new(5);
            judge(&books, &[], &by_conn(&events), false, &mut f);
            assert_eq!(f.count(Kind::RecordedGap), recorded, "case {i}");
            assert_eq!(f.count(Kind::UnexplainedGap), unexplained, "case {i}");
            if let Some(kind) = other {
                assert_eq!(f.count(kind), 1, "case {i}: {kind:?}");
            }
        }
    }
}
