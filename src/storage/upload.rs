//! Publishing a local tree's committed parts to a remote tree: `collect` and `import` with
//! `--data s3://…` record into a local spool (journal, state and parts, as always) and
//! upload each part once it is committed there (docs/ARCHITECTURE.md "Object storage").
//!
//! Upload, then commit: a part is PUT under the same relative key it has in the spool, and
//! only then is its name appended to its partition's ledger (`.uploaded`, fsynced). A crash
//! between the two leaves the part out of the ledger, so the next run uploads it again —
//! the same bytes under the same key, which replaces the object: the bucket never holds a
//! part twice and never misses one the ledger names. A run starts by uploading every part
//! of its market the ledgers do not name (a crash before an upload), then uploads the parts
//! of each checkpoint as it commits them. After a partition's parts, its manifest follows,
//! so remote readers prune by the catalog as local ones do.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::manifest::MANIFEST;
use super::path::{find_parts, PartFilter};
use super::remote;
use super::schema::Table;
use super::StorageError;

/// A partition's ledger of uploaded parts: one file name per line.
pub const LEDGER: &str = ".uploaded";

/// Environment variable that makes the process abort right after its first upload and
/// before that part's ledger line: the crash tests use it to stop exactly between upload
/// and commit, as `kill -9` would.
pub const CRASH_AFTER_UPLOAD: &str = "MDKIT_CRASH_AFTER_UPLOAD";

/// Uploads from a local spool to a remote tree.
#[derive(Debug, Clone)]
pub struct Uploader {
    local: PathBuf,
    remote: PathBuf,
}

impl Uploader {
    /// `local` is the spool's root, `remote` the remote tree's root (`s3://bucket/prefix`).
    pub fn new(local: &Path, remote: &Path) -> Self {
        Self { local: local.to_path_buf(), remote: remote.to_path_buf() }
    }

    /// The remote tree's root.
    pub fn remote(&self) -> &Path {
        &self.remote
    }

    /// Uploads every committed part of `venue`/`market` in `tables` that no ledger names.
    pub fn catch_up(
        &self,
        tables: &[Table],
        venue: &str,
        market: &str,
    ) -> Result<usize, StorageError> {
        let filter = PartFilter { venue: Some(venue), market: Some(market), dates: None };
        let mut paths = Vec::new();
        for &table in tables {
            let found = find_parts(&self.local, table, &filter)
                .map_err(|e| StorageError::io(&self.local.join(table.name()), e))?;
            paths.extend(found.parts.into_iter().map(|p| p.path));
        }
        let uploaded = self.upload(&paths)?;
        // The market's stored contract (a backtest values fills by it) goes with its parts.
        let contract = super::StoredContract::path(&self.local, venue, market);
        if contract.exists() {
            self.put(&contract)?;
        }
        Ok(uploaded)
    }

    /// Uploads the parts at `paths` (committed, under the spool) that their partition's
    /// ledger does not name yet, then each touched partition's manifest; returns how many
    /// parts were uploaded.
    pub fn upload(&self, paths: &[PathBuf]) -> Result<usize, StorageError> {
        let mut dirs: Vec<&Path> = Vec::new();
        for path in paths {
            if let Some(dir) = path.parent().filter(|d| !dirs.contains(d)) {
                dirs.push(dir);
            }
        }
        let mut uploaded = 0;
        for dir in dirs {
            let done = ledger(dir);
            let mut sent = 0;
            for path in paths.iter().filter(|p| p.parent() == Some(dir)) {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
                if done.contains(name) {
                    continue;
                }
                self.put(path)?;
                if std::env::var_os(CRASH_AFTER_UPLOAD).is_some() {
                    std::process::abort();
                }
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(LEDGER))
                    .map_err(|e| StorageError::io(&dir.join(LEDGER), e))?;
                file.write_all(format!("{name}\n").as_bytes())
                    .and_then(|()| file.sync_data())
                    .map_err(|e| StorageError::io(&dir.join(LEDGER), e))?;
                sent += 1;
            }
            if sent > 0 && dir.join(MANIFEST).exists() {
                self.put(&dir.join(MANIFEST))?;
            }
            uploaded += sent;
        }
        if uploaded > 0 {
            tracing::debug!("uploaded {uploaded} part(s) to {}", self.remote.display());
        }
        Ok(uploaded)
    }

    /// PUTs one spool file under the same relative key.
    fn put(&self, path: &Path) -> Result<(), StorageError> {
        let relative = path.strip_prefix(&self.local).map_err(|_| {
            StorageError::Config(format!(
                "{} is not under the spool {}",
                path.display(),
                self.local.display()
            ))
        })?;
        let bytes = std::fs::read(path).map_err(|e| StorageError::io(path, e))?;
        let target = self.remote.join(relative);
        remote::write(&target, bytes.into()).map_err(|e| StorageError::io(&target, e))
    }
}

/// The names a partition's ledger holds (a torn last line names no part).
fn ledger(dir: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(dir.join(LEDGER)).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().map(str::to_owned).collect()
}
