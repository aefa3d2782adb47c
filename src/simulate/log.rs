//! `--log DIR`: the simulator's ground truth, so a recording can be compared with it.
//!
//! Owns `DIR/<market>/trades.jsonl` (one line per trade: `id`, `ts` ms, `side`, `price`,
//! `qty`) and `DIR/<market>/book.jsonl` (one line per step: `ts` ms of the frame, `kind`
//! `delta`, or `snapshot` on a minutely step whose DELTA a SNAPSHOT of the same book follows
//! at the same ts, `checksum` = [`Book::checksum`] after the step as a decimal string (it
//! exceeds 2⁵³), `best_bid`, `best_ask`). Prices and sizes are exact decimal strings. Lines
//! are buffered and flushed by the caller every simulated minute and at shutdown. It must not
//! decide what is logged when: the hub calls it once per step.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

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
        Ok(Self { markets: logs })
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
        Ok(())
    }
}
