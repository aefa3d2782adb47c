//! `collect --compact-daily`: after UTC midnight, each market's previous day is compacted
//! ([`crate::record::compact_day`]) on a thread of its own, one market at a time, while the
//! writer thread goes on recording today's partitions (docs/ARCHITECTURE.md "Compaction").
//!
//! The writer thread holds every market's lock, so the compaction runs under it; the day is
//! closed once a checkpoint after midnight no longer names parts of it (the last rows of the
//! day are published by the first checkpoint after midnight). A failed compaction leaves the
//! day as it was, is logged once and counted; the next run of `mdkit compact` retries it.

use std::path::PathBuf;
use std::thread::JoinHandle;

use chrono::NaiveDate;

use crate::record::{compact_day, DayOutcome, Market, RecordError, StateAccess};
use crate::storage::CompactConfig;

/// Days compacted and compactions that failed, for `--metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionCounts {
    pub days: u64,
    pub failures: u64,
}

type Running = (usize, NaiveDate, JoinHandle<Result<DayOutcome, RecordError>>);

/// Compacts each market's previous day once it is closed.
pub struct Daily {
    root: PathBuf,
    config: CompactConfig,
    /// Per market: the day handled last (compacted, found compact, or failed).
    handled: Vec<Option<NaiveDate>>,
    running: Option<Running>,
    pub counts: CompactionCounts,
}

impl Daily {
    pub fn new(root: PathBuf, markets: usize) -> Self {
        Self {
            root,
            config: CompactConfig::default(),
            handled: vec![None; markets],
            running: None,
            counts: CompactionCounts::default(),
        }
    }

    /// Called after every checkpoint: collects a finished compaction, and starts the next
    /// one due — the previous UTC day of the first market not handled yet for it.
    pub fn after_checkpoint(&mut self, markets: &[Market], today: NaiveDate) {
        self.poll(false);
        if self.running.is_some() {
            return;
        }
        let Some(day) = today.pred_opt() else { return };
        let Some(index) = self.handled.iter().position(|h| *h != Some(day)) else { return };
        let Some(market) = markets.get(index) else { return };
        let (root, config) = (self.root.clone(), self.config.clone());
        let (venue, name) = (market.venue().name().to_owned(), market.market().to_owned());
        let spawned = std::thread::Builder::new()
            .name(format!("compact {name}"))
            .spawn(move || compact_day(&root, &venue, &name, day, &config, StateAccess::Recorder));
        match spawned {
            Ok(handle) => self.running = Some((index, day, handle)),
            Err(e) => tracing::warn!("cannot start the daily compaction: {e}"),
        }
    }

    /// Collects the running compaction if it finished (or, with `wait`, once it finishes).
    pub fn poll(&mut self, wait: bool) {
        if !wait && self.running.as_ref().is_none_or(|(_, _, h)| !h.is_finished()) {
            return;
        }
        let Some((index, day, handle)) = self.running.take() else { return };
        let result = handle.join().unwrap_or_else(|_| {
            Err(RecordError::Config {
                venue: String::new(),
                market: String::new(),
                reason: "the compaction thread panicked".into(),
            })
        });
        match result {
            Ok(DayOutcome::NotClosed) => {} // tried again after the next checkpoint
            Ok(DayOutcome::Done(tables)) => {
                self.handled[index] = Some(day);
                let mut done = Vec::new();
                for (table, outcome) in tables {
                    match outcome {
                        Ok(Ok(compacted)) => done.push(compacted),
                        Ok(Err(_already_compact)) => {}
                        Err(e) => {
                            self.counts.failures += 1;
                            tracing::warn!("daily compaction of {table} for {day} failed, that partition is left as it was (`mdkit compact` retries it): {e}");
                        }
                    }
                }
                if !done.is_empty() {
                    self.counts.days += 1;
                    let (before, after): (usize, usize) = done
                        .iter()
                        .fold((0, 0), |(b, a), d| (b + d.parts_before, a + d.parts_after));
                    tracing::info!(
                        "compacted {day} of {}/{}: {before} parts -> {after}",
                        done[0].partition.venue,
                        done[0].partition.market
                    );
                }
            }
            Err(e) => {
                self.handled[index] = Some(day);
                self.counts.failures += 1;
                tracing::warn!("daily compaction of {day} failed, the day is left as it was (`mdkit compact` retries it): {e}");
            }
        }
    }
}
