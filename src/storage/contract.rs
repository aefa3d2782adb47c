//! The contract stored with a recording: `<root>/_contract/<venue>/<market>.json`, what one
//! unit of the market's quantity is ([`Contract`]) and where that came from. Written once
//! when a market is first recorded or imported (atomically: temp file, rename), read by the
//! backtest to value fills. A tree recorded before this file existed has none; the reader
//! decides what that means.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::model::contract::Contract;

/// The file's layout version.
pub const CONTRACT_VERSION: u32 = 1;

/// One market's contract, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredContract {
    pub version: u32,
    pub venue: String,
    pub market: String,
    /// `linear:SIZE` or `inverse:SIZE`.
    pub contract: Contract,
    /// Where it came from (a venue's rule, a flag), for people.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractFileError {
    #[error("contract file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("contract file {} cannot be read ({reason}); delete it and import again, or pass --contract", path.display())]
    Bad { path: PathBuf, reason: String },
}

impl StoredContract {
    pub fn path(root: &Path, venue: &str, market: &str) -> PathBuf {
        root.join("_contract").join(venue).join(format!("{market}.json"))
    }

    /// The stored contract of `venue`/`market`, or `None` when there is none.
    pub fn load(root: &Path, venue: &str, market: &str) -> Result<Option<Self>, ContractFileError> {
        let path = Self::path(root, venue, market);
        let text = match super::remote::read(&path)
            .and_then(|b| String::from_utf8(b.to_vec()).map_err(io::Error::other))
        {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ContractFileError::Io { path, source }),
        };
        let bad = |reason: String| ContractFileError::Bad { path: path.clone(), reason };
        let stored: StoredContract = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if stored.version != CONTRACT_VERSION {
            return Err(bad(format!(
                "version {} (this mdkit writes {CONTRACT_VERSION})",
                stored.version
            )));
        }
        Ok(Some(stored))
    }

    /// Writes the file so that a reader sees the old one or the new one, whole.
    pub fn save(&self, root: &Path) -> Result<(), ContractFileError> {
        let path = Self::path(root, &self.venue, &self.market);
        let io_err = |source| ContractFileError::Io { path: path.clone(), source };
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err)?;
        let temp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| ContractFileError::Bad { path: path.clone(), reason: e.to_string() })?;
        let mut file = File::create(&temp).map_err(io_err)?;
        file.write_all(&text).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        fs::rename(&temp, &path).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StoredContract::load(dir.path(), "binance-coinm", "BTCUSD_PERP").unwrap(), None);
        let stored = StoredContract {
            version: CONTRACT_VERSION,
            venue: "binance-coinm".into(),
            market: "BTCUSD_PERP".into(),
            contract: "inverse:100".parse().unwrap(),
            source: "test".into(),
        };
        stored.save(dir.path()).unwrap();
        let path = StoredContract::path(dir.path(), "binance-coinm", "BTCUSD_PERP");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"contract\": \"inverse:100\""), "{text}");
        let loaded = StoredContract::load(dir.path(), "binance-coinm", "BTCUSD_PERP").unwrap();
        assert_eq!(loaded, Some(stored));
        fs::write(&path, "{ not json").unwrap();
        let err = StoredContract::load(dir.path(), "binance-coinm", "BTCUSD_PERP").unwrap_err();
        assert!(err.to_string().contains("BTCUSD_PERP.json"), "{err}");
    }
}
