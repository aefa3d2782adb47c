//! The recorder: journal records in, table rows out, by the rules of the market's venue.
//!
//! Deterministic: the same records in the same order give the same rows, whether they come
//! live from a socket, from the journal after a crash, or from `import`. The venue picks the
//! rules ([`Venue::rules`], each in its venue's folder) and every venue writes through one
//! [`Sink`], so the tables and the events contract are the same for every venue. This module
//! names no venue.
//!
//! Must not do I/O or read clocks: times come from the records.

use crate::storage::Record;
use crate::venue::{Counters, Output, Rules, Saved, Sink, Venue, Verdict};

/// The recorder of one venue and market.
#[derive(Debug)]
pub struct Recorder {
    venue: Venue,
    rules: Box<dyn Rules>,
    sink: Sink,
}

impl Recorder {
    /// A fresh recorder for `venue`'s `market` (as the tables spell it) that writes `levels`
    /// levels per side to `book_top`.
    pub fn new(venue: Venue, market: &str, levels: usize) -> Self {
        Self::restore(venue, market, levels, &Saved::default())
    }

    /// A recorder for `venue`'s `market` in the state [`Recorder::save`] returned.
    pub fn restore(venue: Venue, market: &str, levels: usize, saved: &Saved) -> Self {
        Self { venue, rules: venue.rules(market, saved), sink: Sink::new(levels) }
    }

    pub fn venue(&self) -> Venue {
        self.venue
    }

    pub fn counters(&self) -> Counters {
        self.sink.counters
    }

    /// The highest connection number seen.
    pub fn max_conn(&self) -> u32 {
        self.rules.max_conn()
    }

    /// Connections open and not ended.
    pub fn open_conns(&self) -> Vec<u32> {
        self.rules.open_conns()
    }

    /// Applies one journal record.
    pub fn apply(&mut self, record: &Record) -> Verdict {
        self.rules.apply(record, &mut self.sink)
    }

    /// Rows produced and not yet taken.
    pub fn output(&self) -> &Output {
        &self.sink.out
    }

    /// Forgets the rows produced so far (after they were written), keeping the buffers.
    pub fn clear_output(&mut self) {
        self.sink.out.clear();
    }

    /// What must survive a restart, for the state file.
    pub fn save(&self) -> Saved {
        self.rules.save()
    }
}
