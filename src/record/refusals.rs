//! The log lines for refused frames: the first refusal of a market is named in full, later
//! ones at most once a minute (of receive time) as a count with the latest reason, and each
//! `refused_share` row is its own warning — a venue that sends one bad frame in ten must not
//! bury the log (docs/VENUES.md "Bad venue data"). The rows themselves are the record; these
//! lines only point at them.

use crate::model::{EventKind, NANOS_PER_SEC};
use crate::storage::EventRow;

/// At most one line per this much receive time after the first.
const EVERY_NS: i64 = 60 * NANOS_PER_SEC;

/// The warning state of one market.
#[derive(Debug, Default)]
pub struct Refusals {
    /// When the last line was written (receive clock, ns).
    last_line_ns: Option<i64>,
    /// Refusals since that line.
    quiet: u64,
}

impl Refusals {
    /// Logs what `events` (rows just written for `market`) call for.
    pub fn observe(&mut self, market: &str, events: &[EventRow]) {
        for event in events {
            let detail = event.detail.as_deref().unwrap_or("");
            match event.kind {
                EventKind::RefusedShare => {
                    tracing::warn!(market, conn = event.conn, "{detail}");
                }
                EventKind::Refused => {
                    let now = event.ts_recv.as_nanos();
                    match self.last_line_ns {
                        Some(last) if now - last < EVERY_NS => self.quiet += 1,
                        Some(_) => {
                            let more = std::mem::take(&mut self.quiet) + 1;
                            tracing::warn!(
                                market,
                                conn = event.conn,
                                "{more} frames refused since the last report (the latest: {detail}); each is an events row of kind refused"
                            );
                            self.last_line_ns = Some(now);
                        }
                        None => {
                            tracing::warn!(
                                market,
                                conn = event.conn,
                                "frame refused, nothing recorded from it: {detail} (later refusals are counted once a minute)"
                            );
                            self.last_line_ns = Some(now);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
