//! The catalog: one small manifest per partition directory, so opening a table for a time
//! range reads the footers of the parts in that range only (docs/ARCHITECTURE.md "Catalog").
//!
//! `<partition dir>/.parts.jsonl` holds one JSON line per committed part: its file name, its
//! size in bytes, its rows and the smallest and largest value of the table's time column. The
//! writer appends the lines of the parts it publishes, after their rename, and fsyncs the
//! file. A manifest is a cache, never the truth: the listing trusts a line only for a part
//! that is on disk with exactly that size, and reads the footer of every other part as it
//! always did. So a crash between a part's rename and its line (the part is listed by its
//! footer), a torn last line (ignored), a line for a part since deleted (never looked up), a
//! tree written before manifests existed or by another tool (no manifest: every footer), and
//! a concurrent writer losing a line all read correctly. The name starts with a dot, so
//! the listing's part search and other tools' `*.parquet` globs never take it for a part.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The manifest's file name inside a partition directory.
pub const MANIFEST: &str = ".parts.jsonl";

/// One committed part, as its manifest line says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The part's file name (no directory).
    pub name: String,
    /// Its size when it was committed; a part of another size is not described by this line.
    pub bytes: u64,
    pub rows: u64,
    /// Smallest and largest time of the table's time column (ns); `None` without rows.
    pub time: Option<(i64, i64)>,
}

/// Appends the lines of `entries` to `dir`'s manifest and fsyncs it.
pub fn append(dir: &Path, entries: &[Entry]) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for entry in entries {
        let line = serde_json::to_string(entry).map_err(io::Error::other)?;
        text.push_str(&line);
        text.push('\n');
    }
    let mut file = OpenOptions::new().create(true).append(true).open(dir.join(MANIFEST))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// The entries of `dir`'s manifest by part name (the last line of a name wins); empty when
/// there is none. Lines that do not parse — a torn last line — are skipped.
pub fn read(dir: &Path) -> HashMap<String, Entry> {
    let mut out = HashMap::new();
    let Ok(bytes) = super::remote::read(&dir.join(MANIFEST)) else {
        return out;
    };
    for line in BufReader::new(bytes.as_ref()).lines() {
        let Ok(line) = line else { break };
        if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
            out.insert(entry.name.clone(), entry);
        }
    }
    out
}

/// The entry of a part at `path` that was just committed with `rows` rows spanning `time`.
pub fn entry(path: &Path, rows: u64, time: Option<(i64, i64)>) -> io::Result<Entry> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other(format!("{}: no file name", path.display())))?;
    Ok(Entry { name: name.to_owned(), bytes: std::fs::metadata(path)?.len(), rows, time })
}

/// A part just published: its path, rows and time span.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    pub path: &'a Path,
    pub rows: u64,
    pub time: (i64, i64),
}

/// Adds the lines of parts just published to their directories' manifests. A manifest that
/// cannot be written costs only footer reads later, so it is logged, never an error.
pub fn record(parts: &[Published<'_>]) {
    let mut by_dir: Vec<(&Path, Vec<Entry>)> = Vec::new();
    for &Published { path, rows, time } in parts {
        let Some(dir) = path.parent() else { continue };
        let entry = match entry(path, rows, Some(time)) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("catalog: {}: {e} (the part is read by its footer)", path.display());
                continue;
            }
        };
        match by_dir.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, entries)) => entries.push(entry),
            None => by_dir.push((dir, vec![entry])),
        }
    }
    for (dir, entries) in by_dir {
        if let Err(e) = append(dir, &entries) {
            tracing::warn!(
                "catalog: cannot append to {}: {e} (its parts are read by their footers)",
                dir.join(MANIFEST).display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_append_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).is_empty(), "no manifest: nothing");
        let a = Entry { name: "part-a.parquet".into(), bytes: 10, rows: 2, time: Some((1, 5)) };
        let b = Entry { name: "part-b.parquet".into(), bytes: 20, rows: 0, time: None };
        append(dir.path(), std::slice::from_ref(&a)).unwrap();
        append(dir.path(), std::slice::from_ref(&b)).unwrap();
        let mut file = OpenOptions::new().append(true).open(dir.path().join(MANIFEST)).unwrap();
        file.write_all(b"{\"name\":\"part-c.parq").unwrap();
        let read = read(dir.path());
        assert_eq!(read.len(), 2);
        assert_eq!((read["part-a.parquet"].clone(), read["part-b.parquet"].clone()), (a, b));
    }
}
