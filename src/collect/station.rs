//! The writer thread: owns every market being recorded (journal, recorder, open parts), takes
//! records from the bounded channel in arrival order, journals and applies them, fsyncs the
//! journals every `sync_every`, takes a checkpoint every `commit_every`, and closes a
//! connection whose stream broke. When the channel closes (every connection ended), it
//! drains what is left and takes a last checkpoint of every market.
//!
//! An error here (disk full, permission denied) stops the recorder: the journal is flushed
//! as far as the OS lets it, the last state file stays as it was (it is replaced atomically),
//! and the error is returned for one clear line on stderr. Must not touch sockets.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::daily::Daily;
use super::metrics::{Board, Silence};
use super::status::Status;
use crate::model::RecvTime;
use crate::record::{Market, Verdict};
use crate::storage::Entry;

/// How often the `--metrics` figures are copied.
const BOARD_EVERY: Duration = Duration::from_secs(1);

/// What connection tasks (and the ticker) send to the writer thread.
pub enum Inbound {
    /// Connection `conn` of market number `market` is open; `kill` closes it.
    Opened {
        market: usize,
        conn: u32,
        kill: oneshot::Sender<String>,
    },
    Record {
        market: usize,
        ts_recv: RecvTime,
        entry: Entry,
    },
    /// Time passes (every 100 ms): fsync, checkpoint and status timers.
    Tick,
}

pub struct Station {
    markets: Vec<Market>,
    kills: HashMap<(usize, u32), oneshot::Sender<String>>,
    commit_every: Duration,
    sync_every: Duration,
    last_commit: Instant,
    last_sync: Instant,
    status: Status,
    /// Tells the connections to stop when this thread fails.
    stop: Arc<watch::Sender<bool>>,
    /// What `--metrics` serves, copied once a second.
    board: Option<(Arc<Board>, Silence, Instant)>,
    /// `--compact-daily`.
    daily: Option<Daily>,
}

impl Station {
    pub fn new(
        markets: Vec<Market>,
        commit_every: Duration,
        sync_every: Duration,
        stop: Arc<watch::Sender<bool>>,
    ) -> Self {
        let names: Vec<String> = markets.iter().map(|m| m.market().to_owned()).collect();
        Self {
            markets,
            kills: HashMap::new(),
            commit_every,
            sync_every,
            last_commit: Instant::now(),
            last_sync: Instant::now(),
            status: Status::new(&names),
            stop,
            board: None,
            daily: None,
        }
    }

    /// Copies the figures `--metrics` serves into `board` about once a second.
    pub fn with_board(mut self, board: Arc<Board>) -> Self {
        let silence = Silence::new(self.markets.len());
        self.board = Some((board, silence, Instant::now()));
        self.publish_board();
        self
    }

    /// Compacts each market's previous day after UTC midnight.
    pub fn with_daily(mut self, daily: Daily) -> Self {
        self.daily = Some(daily);
        self
    }

    fn publish_board(&mut self) {
        if let Some((board, silence, last)) = &mut self.board {
            let compactions = self.daily.as_ref().map(|d| d.counts).unwrap_or_default();
            board.update(&self.markets, silence, self.last_commit.elapsed(), compactions);
            *last = Instant::now();
        }
    }

    /// Runs until every sender is gone; then publishes everything.
    pub fn run(mut self, mut rx: mpsc::Receiver<Inbound>) -> anyhow::Result<()> {
        let result = self.serve(&mut rx);
        // A compaction under way finishes first (stopping it midway would be safe, but
        // wasted work).
        if let Some(daily) = &mut self.daily {
            daily.poll(true);
        }
        if result.is_err() {
            // Stop the connections: the senders fail from here on.
            let _ = self.stop.send(true);
            rx.close();
            for market in &mut self.markets {
                let _ = market.flush_journal();
            }
            return result;
        }
        let mut published = 0;
        let mut summary = Vec::new();
        for market in self.markets.drain(..) {
            let name = format!("{}/{}", market.venue(), market.market());
            let counters = market.counters();
            let reconnects = counters.connects.saturating_sub(market.open_conns().len() as u64);
            let (rows_before, parts_before) = market.committed();
            let done = market.close().with_context(|| format!("last checkpoint of {name}"))?;
            published += done.parts as u64;
            summary.push(format!(
                "  {name}: {} rows in {} parts committed, {} gaps, {reconnects} reconnects, {} frames",
                rows_before + done.rows,
                parts_before + done.parts as u64,
                counters.gaps,
                counters.frames
            ));
        }
        self.status.finish(published);
        // The run's result, as cargo prints its own: always, on stderr (a closed stderr must
        // not turn a clean stop into a panic).
        let _ = writeln!(
            std::io::stderr(),
            "collect: stopped; this run recorded\n{}",
            summary.join("\n")
        );
        Ok(())
    }

    fn serve(&mut self, rx: &mut mpsc::Receiver<Inbound>) -> anyhow::Result<()> {
        while let Some(first) = rx.blocking_recv() {
            self.take(first)?;
            // Drain what is queued before flushing: one write(2) per burst, not per frame.
            for _ in 0..4096 {
                match rx.try_recv() {
                    Ok(next) => self.take(next)?,
                    Err(_) => break,
                }
            }
            for market in &mut self.markets {
                market.flush_journal()?;
            }
        }
        Ok(())
    }

    fn take(&mut self, inbound: Inbound) -> anyhow::Result<()> {
        match inbound {
            Inbound::Opened { market, conn, kill } => {
                self.kills.insert((market, conn), kill);
            }
            Inbound::Record { market: index, ts_recv, entry } => {
                let ended = match &entry {
                    Entry::Disconnect { conn, .. } => Some(*conn),
                    _ => None,
                };
                let market = &mut self.markets[index];
                let verdict = market.handle(ts_recv, entry).with_context(|| {
                    format!("recording {}/{} stopped", market.venue(), market.market())
                })?;
                if let Some(conn) = ended {
                    self.kills.remove(&(index, conn));
                }
                if let Verdict::Close { conn, reason } = verdict {
                    tracing::warn!(market = %market.market(), conn, "{reason}; reconnecting");
                    if let Some(kill) = self.kills.remove(&(index, conn)) {
                        let _ = kill.send(reason);
                    }
                }
            }
            Inbound::Tick => self.tick()?,
        }
        Ok(())
    }

    fn tick(&mut self) -> anyhow::Result<()> {
        if self.last_sync.elapsed() >= self.sync_every {
            for market in &mut self.markets {
                market.sync_journal()?;
            }
            self.last_sync = Instant::now();
        }
        if self.last_commit.elapsed() >= self.commit_every {
            for market in &mut self.markets {
                let name = format!("{}/{}", market.venue(), market.market());
                market.checkpoint().with_context(|| format!("checkpoint of {name}"))?;
            }
            self.last_commit = Instant::now();
            if let Some(daily) = &mut self.daily {
                daily.after_checkpoint(&self.markets, chrono::Utc::now().date_naive());
            }
        }
        self.status.update(&self.markets);
        if self.board.as_ref().is_some_and(|(_, _, last)| last.elapsed() >= BOARD_EVERY) {
            self.publish_board();
        }
        Ok(())
    }
}
