//! What verify found: each kind of finding belongs to one report section and is either a
//! violation (exit 1) or a note (reported, exit 0); per kind, a count and the first examples.
//!
//! Examples carry [`Key`]s naming the rows at fault; [`super::locate`] turns them into part
//! files and row numbers once the pass is over, so the hot path never formats a path. This
//! module holds results only: it must not read files or decide what is wrong.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::storage::Table;

/// The report's sections, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Files,
    Sequence,
    Duplicates,
    Replay,
    Time,
    Trades,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Files,
        Section::Sequence,
        Section::Duplicates,
        Section::Replay,
        Section::Time,
        Section::Trades,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Files => "files",
            Section::Sequence => "sequence",
            Section::Duplicates => "duplicates",
            Section::Replay => "replay",
            Section::Time => "time",
            Section::Trades => "trades",
        }
    }
}

/// Whether a finding fails the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Violation,
    Note,
}

macro_rules! kinds {
    ($($variant:ident => $slug:literal, $section:ident, $severity:ident, $title:literal;)+) => {
        /// One kind of finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($variant),+
        }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            /// Stable machine name (the `--json` `kind`).
            pub fn slug(self) -> &'static str {
                match self { $(Kind::$variant => $slug),+ }
            }

            pub fn section(self) -> Section {
                match self { $(Kind::$variant => Section::$section),+ }
            }

            pub fn severity(self) -> Severity {
                match self { $(Kind::$variant => Severity::$severity),+ }
            }

            /// What the finding means, for people.
            pub fn title(self) -> &'static str {
                match self { $(Kind::$variant => $title),+ }
            }
        }
    };
}

kinds! {
    StrayFile => "stray_file", Files, Violation, "file in a table folder that is not an mdkit part (not read)";
    UnreadablePart => "unreadable_part", Files, Violation, "unreadable part";
    TruncatedPart => "truncated_part", Files, Violation, "truncated part";
    SchemaMismatch => "schema_mismatch", Files, Violation, "part with another schema";
    UnsortedPart => "unsorted_part", Files, Violation, "rows out of (ts_recv, seq) order in a part";
    PartOutsideDate => "part_outside_date", Files, Violation, "rows outside their date= partition";
    LeftoverTempFile => "leftover_temp_file", Files, Violation, "temporary file left by a writer that never closed it";
    OpenTempFile => "open_temp_file", Files, Note, "temporary file written in the last minutes (a running writer?)";
    StateMismatch => "state_mismatch", Files, Violation, "state file disagrees with the committed parts";
    UnexplainedGap => "unexplained_gap", Sequence, Violation, "unexplained gap (no events row explains it)";
    RecordedGap => "recorded_gap", Sequence, Note, "recorded gap (explained by an events row)";
    BadConnStart => "bad_conn_start", Sequence, Violation, "book connection that does not start with a snapshot";
    MissingConnect => "missing_connect", Sequence, Violation, "connection without a connect event";
    ExtraTerminal => "extra_terminal", Sequence, Violation, "connection with more than one terminal event";
    RowsAfterTerminal => "rows_after_terminal", Sequence, Violation, "rows received after the connection's terminal event";
    RecordedTradeGap => "recorded_trade_gap", Sequence, Note, "trade_gap event (trades may have been missed)";
    // Binance: diffs with no snapshot to splice onto (e.g. a capture file that continues an
    // earlier one) are not in depth; the recorder says so in an `unsynced` row.
    RecordedUnsynced => "recorded_unsynced", Sequence, Note, "book diffs not recorded: no snapshot to splice onto (unsynced event)";
    // Trades out of seq order are the venue's to send (docs/VENUES.md §1.4: out-of-sequence trades
    // may be skipped); collect records each jump as a trade_gap row.
    TradeSeqWentBack => "trade_seq_went_back", Sequence, Note, "trades frame received after one with a higher seq";
    DuplicateFrame => "duplicate_frame", Duplicates, Violation, "book frame recorded twice (same conn, seq)";
    DuplicateLevel => "duplicate_level", Duplicates, Violation, "depth level named twice in one frame";
    DuplicateTrade => "duplicate_trade", Duplicates, Violation, "trade recorded twice (same trade_id)";
    BadSize => "bad_size", Replay, Violation, "negative or zero resting size, or a bad price or side";
    CrossedBook => "crossed_book", Replay, Violation, "crossed or locked book after a frame";
    // dYdX's indexer may send a briefly crossed book (docs/VENUES.md §15): the recorder keeps it
    // as sent with a `crossed` events row, and these moments are counted apart.
    VenueCrossed => "venue_crossed", Replay, Note, "crossed book as the venue sent it (a crossed events row says so)";
    // A note, not a violation: a minutely SNAPSHOT carries the book as of its own seq, so the
    // changes of that 100 ms step show up as drift (the simulator does this, and docs/VENUES.md
    // does not say the venue does otherwise). A lost DELTA is caught as a seq gap.
    SnapshotDrift => "snapshot_drift", Replay, Note, "mid-stream snapshot differs from the book it replaces";
    TopMismatch => "top_mismatch", Replay, Violation, "book_top differs from the book replayed from depth";
    OrphanDepth => "orphan_depth", Replay, Violation, "depth rows without a book_top frame";
    RecvWentBack => "recv_went_back", Time, Violation, "ts_recv went back within a stream";
    EventWentBack => "event_went_back", Time, Violation, "ts_event went back within a book stream";
    TradeEventWentBack => "trade_event_went_back", Time, Note, "trade ts_event earlier than the trade before it";
    TradeOutsideBook => "trade_outside_book", Trades, Violation, "trade priced outside the book by more than the tolerance";
    TradeWithoutBook => "trade_without_book", Trades, Note, "trade with no fresh book to compare with";
    // The book a trade met was the last frame of a connection that then ended in a seq_gap:
    // updates were already being lost, so the comparison proves nothing either way.
    TradeBesideLostBook => "trade_beside_lost_book", Trades, Note, "trade outside a book that was losing updates (its connection ended in seq_gap next)";
    BadTrade => "bad_trade", Trades, Violation, "trade with a non-positive price or size";
}

/// A row (or rows) a finding points at, found again in the parts after the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Every row of one frame: `book_top` (one row) or `depth` (its levels) or `trades`.
    Frame { table: Table, conn: u32, seq: i64, ts_recv: i64 },
    /// The trades rows with this id received at `ts_recv`.
    Trade { trade_id: i64, ts_recv: i64 },
    /// The events rows of a connection at `ts_recv`.
    Event { conn: u32, ts_recv: i64 },
    /// A whole file.
    File(PathBuf),
}

/// Where a finding is: a file and, when known, the first row (0-based) and how many rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// One instance of a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub message: String,
    pub places: Vec<Place>,
    #[serde(skip)]
    pub keys: Vec<Key>,
}

/// Count and first examples of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub section: Section,
    pub severity: Severity,
    pub title: &'static str,
    pub count: u64,
    pub examples: Vec<Example>,
}

/// Everything found in one market (or in the tree outside any market).
#[derive(Debug, Clone, Default)]
pub struct Findings {
    by_kind: BTreeMap<Kind, Finding>,
    max_examples: usize,
}

impl Findings {
    pub fn new(max_examples: usize) -> Self {
        Self { by_kind: BTreeMap::new(), max_examples }
    }

    /// Counts one instance; the message is built only while examples are still wanted.
    pub fn add(&mut self, kind: Kind, message: impl FnOnce() -> String, keys: Vec<Key>) {
        let max = self.max_examples;
        let finding = self.by_kind.entry(kind).or_insert_with(|| Finding {
            kind,
            section: kind.section(),
            severity: kind.severity(),
            title: kind.title(),
            count: 0,
            examples: Vec::new(),
        });
        finding.count += 1;
        if finding.examples.len() < max {
            finding.examples.push(Example { message: message(), places: Vec::new(), keys });
        }
    }

    /// Whether another example of `kind` would be kept (lets callers skip costly messages).
    pub fn wants_example(&self, kind: Kind) -> bool {
        self.by_kind.get(&kind).is_none_or(|f| f.examples.len() < self.max_examples)
    }

    pub fn count(&self, kind: Kind) -> u64 {
        self.by_kind.get(&kind).map_or(0, |f| f.count)
    }

    pub fn violations(&self) -> u64 {
        self.by_kind.values().filter(|f| f.severity == Severity::Violation).map(|f| f.count).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.by_kind.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Finding> {
        self.by_kind.values_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_instance_but_keeps_only_the_first_examples() {
        let mut findings = Findings::new(2);
        let mut built = 0;
        for _ in 0..5 {
            findings.add(
                Kind::CrossedBook,
                || {
                    built += 1;
                    "x".into()
                },
                vec![],
            );
        }
        findings.add(Kind::RecordedGap, || "gap".into(), vec![]);
        assert_eq!(findings.count(Kind::CrossedBook), 5);
        assert_eq!(built, 2, "messages past the example limit are never built");
        assert_eq!(findings.violations(), 5, "notes are not violations");
        assert!(!findings.wants_example(Kind::CrossedBook));
        assert!(findings.wants_example(Kind::DuplicateTrade));
    }

    #[test]
    fn every_kind_has_a_unique_slug_and_a_section() {
        let mut slugs: Vec<&str> = Kind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Kind::ALL.len());
        for section in Section::ALL {
            assert!(Kind::ALL.iter().any(|k| k.section() == section), "{section:?}");
        }
    }
}
