//! One recorder per market and data directory: an OS file lock (`flock` on Unix, through
//! [`std::fs::File::try_lock`]) on `_journal/<venue>/<market>/LOCK`, held for as long as the
//! recorder has the market open. Two collectors of one market into one tree would race over
//! its journal, state file and parts; the second is refused at once instead, with the
//! process id of the first. The OS drops the lock when its holder exits in any way, `kill -9`
//! included, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::Journal;

/// Held while a market is open for recording; dropping it releases the lock.
#[derive(Debug)]
pub struct MarketLock {
    _file: File,
}

/// Why a market could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{venue}/{market} is already being recorded into {root} by another mdkit (pid {holder}); \
         stop that one first, or record into another --data"
    )]
    Busy { venue: String, market: String, root: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl MarketLock {
    /// The lock file of a market.
    pub fn path(root: &Path, venue: &str, market: &str) -> PathBuf {
        Journal::dir(root, venue, market).join("LOCK")
    }

    /// Takes the market's lock without waiting, and writes this process's id into it.
    pub fn acquire(root: &Path, venue: &str, market: &str) -> Result<Self, LockError> {
        let path = Self::path(root, venue, market);
        let io = |source| LockError::Io { path: path.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder wrote its pid when it took the lock; a read that fails says so.
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Busy {
                    venue: venue.to_owned(),
                    market: market.to_owned(),
                    root: root.to_path_buf(),
                    holder: if holder.is_empty() { "unknown".into() } else { holder.into() },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_a_market_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = MarketLock::acquire(dir.path(), "extended", "ETH-USD").unwrap();
        let err = MarketLock::acquire(dir.path(), "extended", "ETH-USD").unwrap_err().to_string();
        let pid = std::process::id().to_string();
        assert!(err.contains("extended/ETH-USD is already being recorded"), "{err}");
        assert!(err.contains(&format!("pid {pid}")), "{err}");
        // Another market of the same tree is free.
        let other = MarketLock::acquire(dir.path(), "extended", "BTC-USD").unwrap();
        drop(first);
        let again = MarketLock::acquire(dir.path(), "extended", "ETH-USD");
        assert!(again.is_ok(), "released on drop");
        drop(other);
    }
}
