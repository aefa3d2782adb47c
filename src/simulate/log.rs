//! `--log DIR`: the simulator's ground truth, so a recording can be compared with it.
//!
//! Owns `DIR/<market>/trades.jsonl` (one line per trade: `id`, `ts` ms, `side`, `price`,
//! `qty`) and `DIR/<market>/book.jsonl` (one line per step: `ts` ms of the frame, `kind`
//! `delta`, or `snapshot` on a minutely step whose DELTA a SNAPSHOT of the same book follows
//! at the same ts, `checksum` = [`Book::checksum`] after the step as a decimal string (it
//! exceeds 2⁵³), `best_bid`, `best_ask`). Prices and sizes are exact decimal strings. Lines
//! are buffered and flushed by the caller every simulated minute and at shutdown. It must not
//! decide what is logged when: the hub calls it once per step.
//!
//! [`BadLog`] counts the bad frames of the `bad=K` fault per kind (the line `bad frames sent:
//! …` printed at shutdown) and, with `--log DIR`, writes `DIR/<market>/bad.jsonl`, one line
//! per bad frame sent, in the order sent: `kind` (its name), `conn` (the connection's number
//! in accept order, from 1), `stream` (`book`, `trades`, `rpc` or `combined`), `frame` (the
//! data frame number on that connection of the real frame it preceded), `seq` (the sequence
//! number it spells in the real frame's place — Extended `seq`, Binance diff `u`, Binance
//! trade `t` — equal to the real frame's, or null when it is not JSON or does not spell it
//! there as an unsigned integer), `ts` (venue time of the real frame, ms: Extended `ts`,
//! Binance `E`). Connections write it; it is flushed with the other files and at shutdown.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::json;

use super::bad::BadKind;
use crate::book::Book;
use crate::model::{FrameKind, Trade};

/// A log file could not be created or written.
#[derive(Debug, thiserror::Error)]
#[error("simulator log {path}: {source}")]
pub struct LogError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// One JSON-lines file.
#[derive(Debug)]
struct Lines {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Lines {
    fn create(path: PathBuf) -> Result<Self, LogError> {
        match File::create(&path) {
            Ok(file) => Ok(Self { path, out: BufWriter::new(file) }),
            Err(source) => Err(LogError { path, source }),
        }
    }

    fn line(&mut self, value: &serde_json::Value) -> Result<(), LogError> {
        writeln!(self.out, "{value}").map_err(|source| LogError { path: self.path.clone(), source })
    }

    fn flush(&mut self) -> Result<(), LogError> {
        self.out.flush().map_err(|source| LogError { path: self.path.clone(), source })
    }
}

struct MarketLog {
    trades: Lines,
    book: Lines,
}

/// The open log files of every market, indexed like the hub's markets.
pub struct Log {
    markets: Vec<MarketLog>,
    bad: Option<Arc<BadLog>>,
}

impl Log {
    /// Creates `dir/<market>/` and both files for each market, truncating old ones.
    pub fn create(dir: &Path, markets: &[String]) -> Result<Self, LogError> {
        let mut logs = Vec::new();
        for market in markets {
            let market_dir = dir.join(market);
            fs::create_dir_all(&market_dir)
                .map_err(|source| LogError { path: market_dir.clone(), source })?;
            logs.push(MarketLog {
                trades: Lines::create(market_dir.join("trades.jsonl"))?,
                book: Lines::create(market_dir.join("book.jsonl"))?,
            });
        }
        Ok(Self { markets: logs, bad: None })
    }

    /// Flushes `bad` with the other files from now on.
    pub fn flush_with(&mut self, bad: Arc<BadLog>) {
        self.bad = Some(bad);
    }

    /// Records one step of market number `market`.
    pub fn step(
        &mut self,
        market: usize,
        ts_ms: i64,
        kind: FrameKind,
        book: &Book,
        trades: &[Trade],
    ) -> Result<(), LogError> {
        let Some(log) = self.markets.get_mut(market) else {
            return Ok(());
        };
        for trade in trades {
            log.trades.line(&json!({
                "id": trade.id,
                "ts": trade.ts_event.as_nanos() / 1_000_000,
                "side": trade.side.as_str(),
                "price": trade.price.to_string(),
                "qty": trade.qty.to_string(),
            }))?;
        }
        log.book.line(&json!({
            "ts": ts_ms,
            "kind": kind.as_str(),
            "checksum": book.checksum().to_string(),
            "best_bid": book.best_bid().map(|l| l.price.to_string()),
            "best_ask": book.best_ask().map(|l| l.price.to_string()),
        }))
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        for log in &mut self.markets {
            log.trades.flush()?;
            log.book.flush()?;
        }
        match &self.bad {
            Some(bad) => bad.flush(),
            None => Ok(()),
        }
    }
}

/// One bad frame sent, as `bad.jsonl` has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSent<'a> {
    pub kind: BadKind,
    pub market: usize,
    pub conn: u64,
    pub stream: &'a str,
    pub frame: u64,
    pub seq: Option<u64>,
    pub ts: Option<i64>,
}

#[derive(Debug, Default)]
struct BadState {
    counts: [u64; BadKind::ALL.len()],
    /// `DIR/<market>/bad.jsonl` per market, with `--log DIR`.
    files: Vec<Lines>,
    /// The first write error, reported by the next flush.
    failed: Option<LogError>,
}

/// The count and log of bad frames sent, shared by every connection.
#[derive(Debug, Default)]
pub struct BadLog {
    state: Mutex<BadState>,
}

impl BadLog {
    /// Counts only; no files.
    pub fn counting() -> Self {
        Self::default()
    }

    /// Counts and writes `dir/<market>/bad.jsonl` (truncating old ones).
    pub fn create(dir: &Path, markets: &[String]) -> Result<Self, LogError> {
        let mut files = Vec::new();
        for market in markets {
            let market_dir = dir.join(market);
            fs::create_dir_all(&market_dir)
                .map_err(|source| LogError { path: market_dir.clone(), source })?;
            files.push(Lines::create(market_dir.join("bad.jsonl"))?);
        }
        Ok(Self { state: Mutex::new(BadState { files, ..BadState::default() }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BadState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one bad frame sent and logs it. A write error is kept for the next flush: the
    /// connection that sent the frame goes on.
    pub fn record(&self, sent: &BadSent<'_>) {
        let mut state = self.lock();
        state.counts[sent.kind.index()] += 1;
        let line = json!({
            "kind": sent.kind.name(),
            "conn": sent.conn,
            "stream": sent.stream,
            "frame": sent.frame,
            "seq": sent.seq,
            "ts": sent.ts,
        });
        let state = &mut *state;
        if let Some(file) = state.files.get_mut(sent.market) {
            if let Err(err) = file.line(&line) {
                state.failed.get_or_insert(err);
            }
        }
    }

    /// Bad frames sent so far, per kind, in rotation order, kinds never sent left out.
    pub fn counts(&self) -> Vec<(BadKind, u64)> {
        let state = self.lock();
        BadKind::ALL.into_iter().zip(state.counts).filter(|(_, n)| *n > 0).collect()
    }

    /// `bad frames sent: negative-price 12, zero-price 12, …` (`none` if none was).
    pub fn summary(&self) -> String {
        let counts = self.counts();
        if counts.is_empty() {
            return "bad frames sent: none".to_owned();
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!("bad frames sent: {}", parts.join(", "))
    }

    pub fn flush(&self) -> Result<(), LogError> {
        let mut state = self.lock();
        if let Some(err) = state.failed.take() {
            return Err(err);
        }
        for file in &mut state.files {
            file.flush()?;
        }
        Ok(())
    }
}
