//! The recalibration schedule: every calibration the strategy may use during a replay,
//! computed up front, each from past data only: on the receive clock in one pass over the
//! tables by [`one_pass`] ([`crate::estimate::rows`], held equal to the SQL), on the event
//! clock with calibrate's own code ([`Calibrator`]: [`crate::estimate::window`] and the SQL in
//! `sql/`), one DataFusion plan per fit.
//!
//! A fit is made at each strategy time `t = from + k·interval` (k ≥ 0, t < to) over the
//! venue-clock window `[t − W, t)`. No look-ahead, by construction rather than by measuring
//! feed latency: the fit runs over views of `book_top` and `trades` that hold only the rows
//! **received** before `t` (`ts_recv < t`), and it is handed to the strategy with `at = t`.
//! So every row it read had been received by the time the strategy may use it, rows received
//! at or after `t` cannot change it, and the schedule itself (the `at` values) does not depend
//! on the data. A row that happened before `t` but arrived after it (feed latency) is left out
//! of that fit — a strategy running live at `t` could not have seen it either.
//!
//! With [`Clock::Event`] (feed latency L) the strategy clock is `ts_event + L`, so the same
//! rule reads: the views hold the rows with `ts_event + L < t` (`ts_event < t − L`) and the
//! window is `[t − L − W, t − L)`, the trailing W of venue time the strategy has seen. A row
//! whose `ts_event` went backwards is delivered by the replay at the previous row's time
//! (see [`super::replay`]); the cut reads it at its own `ts_event`, which is earlier — only
//! such rows (none on a simulator recording) could reach a fit before the replay shows them.
//!
//! The first fit, at `from`, sees only data recorded before the range (none, usually): its
//! sides come back null with the reason, and a side without κ and A does not quote; the
//! strategy's warm-up covers the same stretch. This module runs queries; it never prints.

use std::sync::Arc;

use arrow::array::{
    Array, Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt32Array,
};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{col, lit};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::estimate::rows::{Frame, Print, Rolling};
use crate::estimate::{self as calibrate, CalibrateError, MarketKey, Window};
use crate::model::{EventTime, RecvTime};
use crate::storage::{Listing, Scan, Selection, StorageError, Table, TimeRange};

use super::event::{Clock, Recalibration};
use super::replay::Recording;

/// When and over how much data fits are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Replay range on the receive clock, `[from, to)`.
    pub from: RecvTime,
    pub to: RecvTime,
    /// `calibration_window_seconds`, in ns.
    pub window_ns: i64,
    /// `recalibration_interval_seconds`, in ns.
    pub interval_ns: i64,
}

impl Plan {
    /// The strategy times of the fits: `from`, `from + interval`, … (< `to`).
    pub fn times(&self) -> Vec<RecvTime> {
        let mut out = Vec::new();
        if self.interval_ns <= 0 {
            return out;
        }
        let mut t = self.from.as_nanos();
        while t < self.to.as_nanos() {
            out.push(RecvTime::from_nanos(t));
            t = t.saturating_add(self.interval_ns);
        }
        out
    }
}

/// What can stop the schedule.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("reading the recorded tables for recalibration: {0}")]
    Tables(Box<datafusion::error::DataFusionError>),
    #[error("recalibrating at {at}: {source}")]
    Fit { at: RecvTime, source: CalibrateError },
    #[error("invalid recalibration setting: {0}")]
    Setting(String),
    #[error("reading the recorded tables for recalibration: {0}")]
    Storage(#[from] StorageError),
    #[error("reading {table} for recalibration: {detail}")]
    Column { table: &'static str, detail: String },
}

fn tables(e: datafusion::error::DataFusionError) -> ScheduleError {
    ScheduleError::Tables(Box::new(e))
}

/// The recorded tables, and the same tables cut at a receive time, under the names the
/// calibration SQL reads.
pub struct Calibrator {
    ctx: SessionContext,
    key: MarketKey,
    settings: calibrate::Settings,
    clock: Clock,
}

const RECORDED_TOP: &str = "recorded_book_top";
const RECORDED_TRADES: &str = "recorded_trades";

impl Calibrator {
    /// Takes `book_top` and `trades` from a session over the data tree (such as
    /// [`crate::storage::Session`]'s) and keeps them under other names.
    pub async fn new(
        source: &SessionContext,
        key: MarketKey,
        settings: calibrate::Settings,
    ) -> Result<Self, ScheduleError> {
        settings.validate().map_err(|e| ScheduleError::Setting(e.to_string()))?;
        // The source's runtime carries its object store, which shows only the parts the
        // storage listing accepted (stray and broken files stay hidden here too).
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), source.runtime_env());
        for (from, to) in [("book_top", RECORDED_TOP), ("trades", RECORDED_TRADES)] {
            let provider = source.table_provider(from).await.map_err(tables)?;
            ctx.register_table(to, provider).map_err(tables)?;
        }
        Ok(Self { ctx, key, settings, clock: Clock::Recv })
    }

    /// The same calibrator on another strategy clock ([`Clock::Recv`] unless set).
    pub fn on_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The strategy time `at` on the venue clock: itself, or `at − L` for the event clock.
    fn venue_time(&self, at: RecvTime) -> i64 {
        match self.clock {
            Clock::Recv => at.as_nanos(),
            Clock::Event { feed_latency_ns } => at.as_nanos().saturating_sub(feed_latency_ns),
        }
    }

    /// Registers `book_top` and `trades` as the rows the strategy has seen before `at`:
    /// received before it, or for the event clock stamped before `at − L`.
    async fn cut(&self, at: RecvTime) -> Result<(), ScheduleError> {
        let (column, t) = match self.clock {
            Clock::Recv => ("ts_recv", at.as_nanos()),
            Clock::Event { .. } => ("ts_event", self.venue_time(at)),
        };
        let before = lit(ScalarValue::TimestampNanosecond(Some(t), Some(Arc::from("UTC"))));
        for (name, recorded) in [("book_top", RECORDED_TOP), ("trades", RECORDED_TRADES)] {
            let view = self
                .ctx
                .table(recorded)
                .await
                .map_err(tables)?
                .filter(col(column).lt(before.clone()))
                .map_err(tables)?
                .into_view();
            self.ctx.deregister_table(name).map_err(tables)?;
            self.ctx.register_table(name, view).map_err(tables)?;
        }
        Ok(())
    }

    /// The fit the strategy may use from `t` on: window `[t − W, t)` of the venue clock, over
    /// the rows received before `t` (event clock: `[t − L − W, t − L)`, see the module).
    pub async fn at(&self, t: RecvTime, window_ns: i64) -> Result<Recalibration, ScheduleError> {
        self.cut(t).await?;
        let end = EventTime::from_nanos(self.venue_time(t));
        let window = Window { start: end.saturating_add_nanos(-window_ns), end };
        let fit = calibrate::window(&self.ctx, &self.key, window, &self.settings)
            .await
            .map_err(|source| ScheduleError::Fit { at: t, source })?;
        Ok(Recalibration { at: t, fit })
    }

    /// Every fit of a plan, in time order; `progress` is called after each.
    pub async fn schedule(
        &self,
        plan: &Plan,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<Recalibration>, ScheduleError> {
        if plan.window_ns <= 0 || plan.interval_ns <= 0 {
            return Err(ScheduleError::Setting(
                "calibration_window_seconds and recalibration_interval_seconds must be above zero"
                    .into(),
            ));
        }
        let times = plan.times();
        let mut out = Vec::with_capacity(times.len());
        for (i, t) in times.iter().enumerate() {
            out.push(self.at(*t, plan.window_ns).await?);
            progress(i + 1, times.len());
        }
        Ok(out)
    }
}

/// Every fit of a plan on the receive clock, computed in one pass over `book_top` and
/// `trades` by [`crate::estimate::rows`] — the same numbers as [`Calibrator::schedule`] (to
/// 1e-12, tests/it/one_pass.rs) at a fraction of its cost: each table is read once, in
/// receive order, and each fit at `t` is made when the rows received before `t` have been
/// pushed, which is the same cut. `recording` is the market's whole listing, narrowed here
/// to the rows the plan reads. `progress` is called after each fit.
pub fn one_pass(
    recording: &Recording,
    key: &MarketKey,
    settings: &calibrate::Settings,
    plan: &Plan,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Recalibration>, ScheduleError> {
    settings.validate().map_err(|e| ScheduleError::Setting(e.to_string()))?;
    if plan.window_ns <= 0 || plan.interval_ns <= 0 {
        return Err(ScheduleError::Setting(
            "calibration_window_seconds and recalibration_interval_seconds must be above zero"
                .into(),
        ));
    }
    let times = plan.times();
    let Some(first) = times.first() else { return Ok(Vec::new()) };
    // No fit reads a row stamped before this (venue clock); every fit reads only rows
    // received before `to`.
    let oldest =
        first.as_nanos().saturating_sub(plan.window_ns).saturating_sub(settings.lookback_ns);
    let selection = Selection {
        venue: Some(key.venue.clone()),
        market: Some(key.market.clone()),
        range: TimeRange::new(None, Some(plan.to.as_nanos())),
    };
    // Only the columns the SQL reads are decoded (book_top has 80 price and size columns).
    let open = |whole: &Listing, columns: &'static [&'static str]| -> Scan {
        let mut listing = whole.narrow(&selection);
        listing.parts.retain(|p| p.column_span("ts_event").is_none_or(|(_, hi)| hi >= oldest));
        listing.scan_columns(|c| columns.contains(&c))
    };
    let top = open(&recording.book_top, &["ts_event", "conn", "bid_price_0", "ask_price_0"]);
    let trades = open(&recording.trades, &["ts_event", "side", "price"]);
    let mut frames = Cursor::new(Table::BookTop, top, frame_rows);
    let mut prints = Cursor::new(Table::Trades, trades, print_rows);
    let mut rolling = Rolling::new();
    let mut out = Vec::with_capacity(times.len());
    for (i, t) in times.iter().enumerate() {
        while let Some(f) = frames.next_before(t.as_nanos())? {
            rolling.push_frame(f);
        }
        while let Some(p) = prints.next_before(t.as_nanos())? {
            rolling.push_print(p);
        }
        let end = EventTime::from_nanos(t.as_nanos());
        let window = Window { start: end.saturating_add_nanos(-plan.window_ns), end };
        let fit = rolling
            .window(window, settings)
            .map_err(|source| ScheduleError::Fit { at: *t, source })?;
        out.push(Recalibration { at: *t, fit });
        progress(i + 1, times.len());
    }
    Ok(out)
}

/// Turns a batch into its rows as (ts_recv, row), or says which column is wrong.
type Decode<T> = fn(&RecordBatch) -> Result<Vec<(i64, T)>, String>;

/// A table's rows in receive order, decoded one batch at a time.
struct Cursor<T> {
    scan: Scan,
    decode: Decode<T>,
    rows: std::vec::IntoIter<(i64, T)>,
    next: Option<(i64, T)>,
    table: &'static str,
}

impl<T: Copy> Cursor<T> {
    fn new(table: Table, scan: Scan, decode: Decode<T>) -> Self {
        let table = table.name();
        Self { scan, decode, rows: Vec::new().into_iter(), next: None, table }
    }

    /// The next row received before `t`, if any (a later row waits for a later `t`).
    fn next_before(&mut self, t: i64) -> Result<Option<T>, ScheduleError> {
        if self.next.is_none() {
            self.next = self.rows.next();
            while self.next.is_none() {
                let Some(batch) = self.scan.next().transpose()? else { return Ok(None) };
                let rows = (self.decode)(&batch)
                    .map_err(|detail| ScheduleError::Column { table: self.table, detail })?;
                self.rows = rows.into_iter();
                self.next = self.rows.next();
            }
        }
        match self.next {
            Some((recv, row)) if recv < t => {
                self.next = None;
                Ok(Some(row))
            }
            _ => Ok(None),
        }
    }
}

fn column<'a, A: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a A, String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<A>())
        .ok_or_else(|| format!("column {name} missing or of another type"))
}

/// `book_top` rows with both best prices, as (ts_recv, frame).
fn frame_rows(batch: &RecordBatch) -> Result<Vec<(i64, Frame)>, String> {
    let ts_event = column::<TimestampNanosecondArray>(batch, "ts_event")?;
    let ts_recv = column::<TimestampNanosecondArray>(batch, "ts_recv")?;
    let conn = column::<UInt32Array>(batch, "conn")?;
    let seq = column::<Int64Array>(batch, "seq")?;
    let bid = column::<Decimal128Array>(batch, "bid_price_0")?;
    let ask = column::<Decimal128Array>(batch, "ask_price_0")?;
    Ok((0..batch.num_rows())
        .filter(|&i| bid.is_valid(i) && ask.is_valid(i))
        .map(|i| {
            let frame = Frame {
                ts_event: ts_event.value(i),
                ts_recv: ts_recv.value(i),
                conn: i64::from(conn.value(i)),
                seq: seq.value(i),
                bid_ask: bid.value(i) + ask.value(i),
            };
            (frame.ts_recv, frame)
        })
        .collect())
}

/// `trades` rows as (ts_recv, print).
fn print_rows(batch: &RecordBatch) -> Result<Vec<(i64, Print)>, String> {
    let ts_event = column::<TimestampNanosecondArray>(batch, "ts_event")?;
    let ts_recv = column::<TimestampNanosecondArray>(batch, "ts_recv")?;
    let side = column::<StringArray>(batch, "side")?;
    let price = column::<Decimal128Array>(batch, "price")?;
    (0..batch.num_rows())
        .map(|i| {
            let raw = i64::try_from(price.value(i))
                .map_err(|_| format!("price {} out of range", price.value(i)))?;
            let print =
                Print { ts_event: ts_event.value(i), sell: side.value(i) == "sell", price: raw };
            Ok((ts_recv.value(i), print))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn fits_start_at_the_range_start_and_stop_before_its_end() {
        let plan = Plan {
            from: RecvTime::from_nanos(100 * S),
            to: RecvTime::from_nanos(130 * S),
            window_ns: 60 * S,
            interval_ns: 10 * S,
        };
        let got: Vec<i64> = plan.times().iter().map(|t| t.as_nanos() / S).collect();
        assert_eq!(got, vec![100, 110, 120]);
        assert!(Plan { interval_ns: 0, ..plan }.times().is_empty());
    }
}
