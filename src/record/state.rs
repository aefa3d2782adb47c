//! The resume state file `<root>/_state/<venue>/<market>.json`, written atomically (temp
//! file, fsync, rename, fsync of the directory) at every checkpoint.
//!
//! It says what is committed: the journal position up to which every record is in published
//! parts, the parts the last checkpoint published (a restart finishes publishing any that a
//! crash left under their temporary names), cumulative row counts per table, the next
//! connection number, and the recorder's own state at that position. Must not decide when a
//! checkpoint happens.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::venue::Saved;

/// The state file's layout version.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub version: u32,
    pub venue: String,
    pub market: String,
    /// Checkpoints taken so far; 0 before the first.
    pub checkpoint: u64,
    /// Every connection number used is below this one.
    pub next_conn: u32,
    /// Every journal record with a lower jseq is in published parts.
    pub journal_pos: u64,
    /// Parts published by the last checkpoint, relative to the data root.
    pub parts: Vec<PathBuf>,
    /// Rows committed per table, over every checkpoint.
    pub rows: BTreeMap<String, u64>,
    /// When the checkpoint was taken (RFC 3339, local clock).
    pub saved_at: String,
    pub recorder: Saved,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("state file {} cannot be read ({reason}); move it aside only if you also move its journal, or rows will be written twice", path.display())]
    Bad { path: PathBuf, reason: String },
}

impl State {
    pub fn path(root: &Path, venue: &str, market: &str) -> PathBuf {
        root.join("_state").join(venue).join(format!("{market}.json"))
    }

    /// The saved state, or `None` when the market was never recorded here.
    pub fn load(path: &Path) -> Result<Option<Self>, StateError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Io { path: path.to_path_buf(), source }),
        };
        let state: State = serde_json::from_str(&text)
            .map_err(|e| StateError::Bad { path: path.to_path_buf(), reason: e.to_string() })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Bad {
                path: path.to_path_buf(),
                reason: format!("version {} (this mdkit writes {STATE_VERSION})", state.version),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state so that a reader sees either the old file or the new one, whole.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io_err = |source| StateError::Io { path: path.to_path_buf(), source };
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err)?;
        let temp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| StateError::Bad { path: path.to_path_buf(), reason: e.to_string() })?;
        let mut file = File::create(&temp).map_err(io_err)?;
        file.write_all(&text).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        fs::rename(&temp, path).map_err(io_err)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = State::path(dir.path(), "extended", "ETH-USD");
        assert_eq!(State::load(&path).unwrap(), None);
        let state = State {
            version: STATE_VERSION,
            venue: "extended".into(),
            market: "ETH-USD".into(),
            checkpoint: 3,
            next_conn: 9,
            journal_pos: 1234,
            parts: vec!["depth/venue=extended/market=ETH-USD/date=2026-11-20/part-1.parquet".into()],
            rows: [("depth".to_owned(), 10)].into(),
            ..State::default()
        };
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), Some(state));
        fs::write(&path, "{ not json").unwrap();
        let err = State::load(&path).unwrap_err().to_string();
        assert!(err.contains("ETH-USD.json") && err.contains("cannot be read"), "{err}");
    }
}
