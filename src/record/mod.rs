//! Recording one venue market: journal first, then the recorder's rules, then Parquet parts
//! published at checkpoints. Shared by `collect` (live frames) and `import` (old journals),
//! so both write the same rows by the same code path.
//!
//! A checkpoint (docs/ARCHITECTURE.md "Durability"): fsync the journal; close every table's open
//! part (fsynced, still under its temporary name); write the state file — the commit point:
//! journal position, the parts to publish, the recorder's state; rename the parts into place;
//! archive (or, with `keep_journal` off, delete) the journal segments the state no longer
//! needs. Opening a market after a crash
//! finishes publishing the parts the state names, deletes any other temporary part of the
//! market, replays the journal from the state's position, and appends a `Restart` record so
//! connections the journal left open are closed in `events` — the journal stays the whole
//! truth, and replaying it again gives the same rows.
//!
//! Must not open sockets or read the wall clock except for the state file's `saved_at` and the
//! archive's retention by age: receive times come from the callers.

mod compact;
mod recorder;
mod refusals;
mod state;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use crate::venue::{Counters, Output, Saved, SavedConn, Verdict};
pub use compact::{compact_day, DayOutcome, StateAccess, TableOutcome};
pub use recorder::Recorder;
pub use state::{State, StateError, STATE_VERSION};

use crate::model::RecvTime;
use crate::storage::{
    prune, publish, sweep_temp_files, temp_name, Cause, Entry, Journal, JournalError, Record,
    Retention, Staged, StorageError, StoredContract, Table, Writer, WriterConfig, CONTRACT_VERSION,
};
use crate::venue::Venue;

/// Stores the contract of `venue`/`market` with the recording
/// (`<root>/_contract/<venue>/<market>.json`) by the venue's rule ([`Venue::contract`]) when
/// none is stored yet; one stored before (an import's `--contract`) is kept. Nothing is
/// stored where the venue's rule cannot tell ([`Venue::contract`] is `None`).
pub fn store_contract(root: &Path, venue: Venue, market: &str) -> Result<(), RecordError> {
    let Some(contract) = venue.contract(market) else {
        // No rule tells (an OKX linear derivative): a backtest asks for --contract.
        return Ok(());
    };
    if StoredContract::load(root, venue.name(), market)?.is_none() {
        StoredContract {
            version: CONTRACT_VERSION,
            venue: venue.name().to_owned(),
            market: market.to_owned(),
            contract,
            source: format!("the {venue} rule of docs/VENUES.md"),
        }
        .save(root)?;
    }
    Ok(())
}

/// Settings of one recorded market.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// Levels per side in `book_top` (at most `storage::BOOK_TOP_LEVELS`).
    pub levels: usize,
    pub writer: WriterConfig,
    /// Rows gathered before they are handed to the Parquet writers.
    pub batch_rows: usize,
    /// Keep committed journal segments (compressed, in `_journal/<venue>/<MARKET>/archive/`)
    /// so `import --from-format journal` can rebuild the tables from them; off: delete them.
    pub keep_journal: bool,
    /// How much of the archive to keep (oldest archived segments go first).
    pub retention: Retention,
    /// Where committed parts are published besides the local tree (`--data s3://…`):
    /// uploaded at each checkpoint, upload then commit (`storage::Uploader`).
    pub upload: Option<crate::storage::Uploader>,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            levels: crate::storage::BOOK_TOP_LEVELS,
            writer: WriterConfig::default(),
            batch_rows: 4096,
            keep_journal: true,
            retention: Retention::All,
            upload: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Contract(#[from] crate::storage::ContractFileError),
    #[error(transparent)]
    Lock(#[from] crate::storage::LockError),
    #[error("{venue}/{market}: {reason}")]
    Config { venue: String, market: String, reason: String },
}

/// What opening a market found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opened {
    /// Journal records replayed (they were not in committed parts yet).
    pub replayed: usize,
    /// Parts the last checkpoint named that a crash had left unpublished.
    pub finished: usize,
    /// Temporary parts of unfinished work deleted (their rows come back from the journal).
    pub swept: usize,
    pub checkpoint: u64,
}

/// What a checkpoint published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub parts: usize,
    pub rows: u64,
}

/// The tables a recorder writes (and compaction rewrites); not `calibration`.
pub const TABLES: [Table; 4] = [Table::Depth, Table::BookTop, Table::Trades, Table::Events];

/// One market being recorded: its journal, recorder, table writers and state.
pub struct Market {
    root: PathBuf,
    venue: Venue,
    market: String,
    config: MarketConfig,
    journal: Option<Journal>,
    /// Held while the market is open for recording (one recorder per market and tree).
    _lock: crate::storage::MarketLock,
    recorder: Recorder,
    /// One per table, in [`TABLES`] order.
    writers: [Writer; 4],
    state: State,
    parts_published: u64,
    /// Whether parts of the spool may not be uploaded yet (at the start, and after a failed
    /// upload): the next checkpoint then uploads every part the ledgers do not name.
    upload_behind: bool,
    /// Rows the state file counted when this run opened the market.
    rows_at_open: u64,
    /// The log lines for refused frames (rate-limited).
    refusals: refusals::Refusals,
    /// Rows handed to the table writers by this run (committed or not).
    rows_received: u64,
    /// Connections this run closed because their stream went silent.
    stale_timeouts: u64,
}

impl Market {
    /// Opens `venue`/`market` under `root` for recording, with its journal, resuming after
    /// whatever stopped the last run (see the module docs). `now` stamps the `Restart`.
    pub fn open(
        root: &Path,
        venue: Venue,
        market: &str,
        config: MarketConfig,
        now: RecvTime,
    ) -> Result<(Self, Opened), RecordError> {
        let mut this = Self::without_journal(root, venue, market, config)?;
        let mut opened = Opened { checkpoint: this.state.checkpoint, ..Opened::default() };
        let staged: Vec<Staged> = this.state.parts.iter().map(|rel| staged(root, rel)).collect();
        opened.finished = staged.iter().filter(|s| s.temp.exists()).count();
        for part in staged.iter().filter(|s| !s.temp.exists() && !s.path.exists()) {
            tracing::warn!(path = %part.path.display(), "a part the state file names is missing");
        }
        publish(&staged)?;
        for table in TABLES {
            let dir = root
                .join(table.name())
                .join(format!("venue={venue}"))
                .join(format!("market={market}"));
            let swept =
                sweep_temp_files(&dir).map_err(|e| StorageError::Io { path: dir, source: e })?;
            opened.swept += swept.len();
            // A compaction this crash interrupted left its staging behind: never the table.
            crate::storage::clear_market_staging(root, table, venue.name(), market)?;
        }
        let dir = Journal::dir(root, venue.name(), market);
        let (journal, tail) = Journal::open(&dir, this.state.journal_pos)?;
        this.journal = Some(journal);
        opened.replayed = tail.len();
        for record in &tail {
            this.recorder.apply(record);
            this.write_rows(false)?;
        }
        this.handle(now, Entry::Restart)?;
        Ok((this, opened))
    }

    /// A market recorder with no journal (an import re-applying an old journal), starting
    /// from the saved state if there is one. Holds the market's lock, as [`Market::open`]
    /// does: an import, a collect and a compaction of one market never run at once.
    pub fn without_journal(
        root: &Path,
        venue: Venue,
        market: &str,
        config: MarketConfig,
    ) -> Result<Self, RecordError> {
        let venue_name = venue.name();
        // Before anything of the market is read or published: a second writer stops here.
        let lock = crate::storage::MarketLock::acquire(root, venue_name, market)?;
        if config.levels == 0 || config.levels > crate::storage::BOOK_TOP_LEVELS {
            return Err(RecordError::Config {
                venue: venue_name.into(),
                market: market.into(),
                reason: format!(
                    "book_top levels must be 1 to {}, not {}",
                    crate::storage::BOOK_TOP_LEVELS,
                    config.levels
                ),
            });
        }
        store_contract(root, venue, market)?;
        let state_path = State::path(root, venue_name, market);
        let state = State::load(&state_path)?.unwrap_or_else(|| State {
            version: STATE_VERSION,
            venue: venue_name.to_owned(),
            market: market.to_owned(),
            next_conn: 1,
            ..State::default()
        });
        let writer_config = WriterConfig { defer_publish: true, ..config.writer.clone() };
        let [depth, book_top, trades, events] =
            TABLES.map(|t| Writer::new(root, t, venue_name, market, writer_config.clone()));
        let writers = [depth?, book_top?, trades?, events?];
        let recorder = Recorder::restore(venue, market, config.levels, &state.recorder);
        Ok(Self {
            root: root.to_path_buf(),
            venue,
            market: market.to_owned(),
            config,
            journal: None,
            _lock: lock,
            recorder,
            writers,
            rows_at_open: state.rows.values().sum(),
            state,
            parts_published: 0,
            upload_behind: true,
            refusals: refusals::Refusals::default(),
            rows_received: 0,
            stale_timeouts: 0,
        })
    }

    pub fn venue(&self) -> Venue {
        self.venue
    }

    pub fn market(&self) -> &str {
        &self.market
    }

    /// The data root the market is recorded under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Rows this run made from frames and handed to the table writers, committed or not.
    pub fn rows_received(&self) -> u64 {
        self.rows_received + self.recorder.output().rows() as u64
    }

    /// Connections this run closed because their stream went silent past its limit.
    pub fn stale_timeouts(&self) -> u64 {
        self.stale_timeouts
    }

    /// The connection number to give the next connection: above every one ever used.
    pub fn next_conn(&self) -> u32 {
        self.state.next_conn.max(self.recorder.max_conn() + 1)
    }

    pub fn counters(&self) -> Counters {
        self.recorder.counters()
    }

    /// Rows committed and parts published since this run opened the market (a resumed
    /// recording's earlier rows are not counted, so both numbers speak of the same run).
    pub fn committed(&self) -> (u64, u64) {
        let rows: u64 = self.state.rows.values().sum();
        (rows.saturating_sub(self.rows_at_open), self.parts_published)
    }

    /// Rows committed per table over every checkpoint (the state file's counts).
    pub fn committed_rows(&self) -> &std::collections::BTreeMap<String, u64> {
        &self.state.rows
    }

    /// Sets the journal position the state file records (an import that rebuilt the tables
    /// from this market's own journal: every record before `pos` is now in parts).
    pub fn set_journal_pos(&mut self, pos: u64) {
        self.state.journal_pos = pos;
    }

    /// Connections still open in the recorder's view.
    pub fn open_conns(&self) -> Vec<u32> {
        self.recorder.open_conns()
    }

    /// Journals `entry` (when this market has a journal), then applies it.
    pub fn handle(&mut self, ts_recv: RecvTime, entry: Entry) -> Result<Verdict, RecordError> {
        if matches!(entry, Entry::Disconnect { cause: Cause::Stale, .. }) {
            self.stale_timeouts += 1;
        }
        let record = match &mut self.journal {
            Some(journal) => {
                let record = journal.append(ts_recv, entry)?;
                // Tests use this line to stop a recorder at a chosen point without sleeping.
                tracing::trace!(market = %self.market, jseq = record.jseq, "journaled");
                record
            }
            None => Record { jseq: 0, ts_recv, entry },
        };
        self.apply(&record)
    }

    /// Applies a record read from elsewhere (an import), without journaling it.
    pub fn apply(&mut self, record: &Record) -> Result<Verdict, RecordError> {
        let events_before = self.recorder.output().events.len();
        let verdict = self.recorder.apply(record);
        let events = &self.recorder.output().events;
        if events.len() > events_before {
            self.refusals.observe(&self.market, &events[events_before..]);
        }
        self.write_rows(false)?;
        if self.writers.iter().any(Writer::has_staged) {
            // A part filled up or crossed midnight: publish now, so the journal stays short.
            self.checkpoint()?;
        }
        Ok(verdict)
    }

    /// Hands the journal's buffered records to the OS (call after each burst of records).
    pub fn flush_journal(&mut self) -> Result<(), RecordError> {
        if let Some(journal) = &mut self.journal {
            journal.flush()?;
        }
        Ok(())
    }

    /// Fsyncs the journal (call on a short timer, e.g. every 200 ms).
    pub fn sync_journal(&mut self) -> Result<(), RecordError> {
        if let Some(journal) = &mut self.journal {
            journal.sync()?;
        }
        Ok(())
    }

    fn write_rows(&mut self, force: bool) -> Result<(), RecordError> {
        if !force && self.recorder.output().rows() < self.config.batch_rows {
            return Ok(());
        }
        let out = self.recorder.output();
        self.rows_received += out.rows() as u64;
        let [depth, book_top, trades, events] = &mut self.writers;
        let written = depth
            .write_rows(&out.depth)
            .and_then(|()| book_top.write_rows(&out.book_top))
            .and_then(|()| trades.write_rows(&out.trades))
            .and_then(|()| events.write_rows(&out.events));
        self.recorder.clear_output();
        Ok(written?)
    }

    /// Publishes every row handled so far (see the module docs for the order of steps).
    pub fn checkpoint(&mut self) -> Result<Published, RecordError> {
        if let Some(journal) = &mut self.journal {
            journal.sync()?;
        }
        self.write_rows(true)?;
        let mut staged = Vec::new();
        for writer in &mut self.writers {
            let table = writer.table().name().to_owned();
            let parts = writer.seal()?;
            *self.state.rows.entry(table).or_default() += parts.iter().map(|p| p.rows).sum::<u64>();
            staged.extend(parts);
        }
        let position = self.journal.as_ref().map_or(0, Journal::next_jseq);
        self.state.checkpoint += 1;
        if self.journal.is_some() {
            self.state.journal_pos = position;
        }
        self.state.next_conn = self.next_conn();
        self.state.parts = staged
            .iter()
            .map(|s| s.path.strip_prefix(&self.root).unwrap_or(&s.path).to_path_buf())
            .collect();
        self.state.saved_at = chrono::Utc::now().to_rfc3339();
        self.state.recorder = self.recorder.save();
        // An import saves its state too: the row counts `verify` checks, the trade ids a
        // later import of the next file continues from, and the connection numbers used.
        self.state.save(&State::path(&self.root, self.venue.name(), &self.market))?;
        publish(&staged)?;
        if let Some(journal) = &mut self.journal {
            journal.rotate()?;
            if self.config.keep_journal {
                journal.archive(position)?;
                let pruned =
                    prune(&journal.archive_dir(), self.config.retention, SystemTime::now())?;
                if pruned.segments > 0 {
                    tracing::info!(
                        market = %self.market,
                        "journal retention ({}): deleted {} archived segment(s), {} bytes",
                        self.config.retention,
                        pruned.segments,
                        pruned.bytes
                    );
                }
            } else {
                journal.trim(position)?;
            }
        }
        self.parts_published += staged.len() as u64;
        self.upload(&staged);
        Ok(Published { parts: staged.len(), rows: staged.iter().map(|s| s.rows).sum() })
    }

    /// Final checkpoint: everything handled is published and the state saved.
    pub fn close(mut self) -> Result<Published, RecordError> {
        // The last upload looks at the whole market (its stored contract included).
        self.upload_behind = true;
        self.checkpoint()
    }
}

impl Market {
    /// Publishes the parts just committed to the remote tree, if there is one. A failed
    /// upload stops nothing: the parts stay in the spool and the next checkpoint (or the
    /// next run) uploads every part not yet uploaded.
    fn upload(&mut self, staged: &[Staged]) {
        let Some(uploader) = &self.config.upload else { return };
        let result = if self.upload_behind {
            uploader.catch_up(&TABLES, self.venue.name(), &self.market)
        } else {
            uploader.upload(&staged.iter().map(|s| s.path.clone()).collect::<Vec<_>>())
        };
        match result {
            Ok(_) => self.upload_behind = false,
            Err(e) => {
                tracing::warn!(
                    market = %self.market,
                    "cannot upload to {}: {e}; the parts stay in the spool and are uploaded at the next checkpoint",
                    uploader.remote().display()
                );
                self.upload_behind = true;
            }
        }
    }
}

/// A part the state file names (relative to the data root), as a [`Staged`] part: published
/// already if its temporary file is gone.
fn staged(root: &Path, rel: &Path) -> Staged {
    let path = root.join(rel);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(temp_name(&name.unwrap_or_default()));
    Staged { temp, path, rows: 0, time: None }
}
