//! Archived journal segments: compressed as they are archived, read back as they were
//! written, and pruned to a retention limit (docs/ARCHITECTURE.md "Durability").
//!
//! A committed segment is compressed into `archive/<first jseq>.journal.zst` (a ZSTD stream
//! of the segment's exact bytes: written under a temporary name, fsynced, renamed, and the
//! directory fsynced) before the live segment is removed. A crash in between leaves the
//! segment in both places; readers take one copy per first jseq. Archives from before
//! compression (`archive/*.journal`) still read.
//!
//! Retention ([`Retention`]) only ever deletes archived segments, oldest first, and the
//! archive holds only segments whose records are all committed to the tables.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use super::{io_err, JournalError, SUFFIX};
use crate::model::parse_duration;

/// Suffix of a compressed archived segment.
pub(super) const ZST: &str = ".zst";
/// ZSTD level of archived segments: journal text compresses about 10× at level 3, at a
/// speed that keeps a checkpoint short.
const LEVEL: i32 = 3;

/// Compresses the segment at `path` into `archive`, then removes `path`.
pub(super) fn compress(path: &Path, archive: &Path) -> Result<(), JournalError> {
    fs::create_dir_all(archive).map_err(io_err(archive))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target = archive.join(format!("{name}{ZST}"));
    let temp = archive.join(format!(".{name}{ZST}.tmp"));
    {
        let mut input = File::open(path).map_err(io_err(path))?;
        let mut output = File::create(&temp).map_err(io_err(&temp))?;
        zstd::stream::copy_encode(&mut input, &mut output, LEVEL).map_err(io_err(&temp))?;
        output.flush().map_err(io_err(&temp))?;
        output.sync_all().map_err(io_err(&temp))?;
    }
    fs::rename(&temp, &target).map_err(io_err(&target))?;
    File::open(archive).and_then(|d| d.sync_all()).map_err(io_err(archive))?;
    fs::remove_file(path).map_err(io_err(path))?;
    Ok(())
}

/// The bytes of a segment file as written, decompressing an archived one.
pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>, JournalError> {
    let mut bytes = Vec::new();
    let file = File::open(path).map_err(io_err(path))?;
    if path.to_string_lossy().ends_with(ZST) {
        zstd::stream::Decoder::new(file)
            .and_then(|mut d| d.read_to_end(&mut bytes))
            .map_err(io_err(path))?;
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes).map_err(io_err(path))?;
    }
    Ok(bytes)
}

/// The first jseq a segment file name stands for (`…journal` or `…journal.zst`).
pub(super) fn first_jseq(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(ZST).unwrap_or(name);
    stem.strip_suffix(SUFFIX).and_then(|n| n.parse::<u64>().ok())
}

/// How much of the archive `collect` keeps (`--keep-journal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Every archived segment (the default).
    #[default]
    All,
    /// Segments archived within this long (by the file's modification time).
    Age(Duration),
    /// The newest segments whose sizes add up to at most this many bytes.
    Bytes(u64),
}

/// A `--keep-journal` text that is neither an age nor a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a retention: use an age (7d, 12h) or a size (50GB, 500MB, 2GiB)")]
pub struct RetentionError(pub String);

impl FromStr for Retention {
    type Err = RetentionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        let bad = || RetentionError(text.to_owned());
        let units: [(&str, u64); 8] = [
            ("KiB", 1 << 10),
            ("MiB", 1 << 20),
            ("GiB", 1 << 30),
            ("TiB", 1 << 40),
            ("KB", 1_000),
            ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("TB", 1_000_000_000_000),
        ];
        for (unit, scale) in units {
            if let Some(number) = t.strip_suffix(unit) {
                let n: f64 = number.trim().parse().map_err(|_| bad())?;
                if !(n.is_finite() && n > 0.0) {
                    return Err(bad());
                }
                return Ok(Retention::Bytes((n * scale as f64) as u64));
            }
        }
        match parse_duration(t) {
            Ok(age) if !age.is_zero() => Ok(Retention::Age(age)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retention::All => f.write_str("all"),
            Retention::Age(age) => write!(f, "{} s", age.as_secs()),
            Retention::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub segments: usize,
    pub bytes: u64,
}

/// Deletes archived segments in `archive`, oldest first, until `retention` holds. `now` is
/// the wall clock the ages are measured against.
pub fn prune(
    archive: &Path,
    retention: Retention,
    now: SystemTime,
) -> Result<Pruned, JournalError> {
    let mut pruned = Pruned::default();
    if retention == Retention::All {
        return Ok(pruned);
    }
    let mut files: Vec<(u64, PathBuf, u64, SystemTime)> = Vec::new();
    let entries = match fs::read_dir(archive) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(pruned),
        Err(e) => return Err(io_err(archive)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(archive))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(first) = first_jseq(&name) else { continue };
        let meta = entry.metadata().map_err(io_err(&entry.path()))?;
        let modified = meta.modified().map_err(io_err(&entry.path()))?;
        files.push((first, entry.path(), meta.len(), modified));
    }
    files.sort();
    let mut total: u64 = files.iter().map(|f| f.2).sum();
    for (_, path, len, modified) in files {
        let expired = match retention {
            Retention::All => false,
            Retention::Age(age) => now.duration_since(modified).is_ok_and(|d| d > age),
            Retention::Bytes(limit) => total > limit,
        };
        if !expired {
            // Oldest first: by size, once under the limit the rest fits; by age, segments are
            // archived in order, so the rest is younger.
            break;
        }
        fs::remove_file(&path).map_err(io_err(&path))?;
        total -= len;
        pruned.segments += 1;
        pruned.bytes += len;
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_ages_and_sizes() {
        assert_eq!("7d".parse(), Ok(Retention::Age(Duration::from_secs(7 * 86_400))));
        assert_eq!("50GB".parse(), Ok(Retention::Bytes(50_000_000_000)));
        assert_eq!("2GiB".parse(), Ok(Retention::Bytes(2 << 30)));
        assert_eq!("1.5 MB".parse(), Ok(Retention::Bytes(1_500_000)));
        for bad in ["", "0", "0GB", "-1GB", "lots", "7 parsecs"] {
            assert!(bad.parse::<Retention>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_compressed_segment_reads_back_byte_for_byte_and_prunes_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let mut sizes = Vec::new();
        for first in [0u64, 10, 20] {
            let path = dir.path().join(format!("{first:020}{SUFFIX}"));
            let body: Vec<u8> = (0..50_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
            fs::write(&path, &body).unwrap();
            compress(&path, &archive).unwrap();
            assert!(!path.exists(), "the live segment is gone");
            let packed = archive.join(format!("{first:020}{SUFFIX}{ZST}"));
            assert_eq!(read_bytes(&packed).unwrap(), body);
            assert_eq!(first_jseq(&packed.file_name().unwrap().to_string_lossy()), Some(first));
            sizes.push(fs::metadata(&packed).unwrap().len());
        }
        assert!(sizes[0] < 200_000 / 4, "compressed: {sizes:?}");
        // Keep at most two segments' bytes: the oldest goes.
        let limit = sizes[1] + sizes[2];
        let pruned = prune(&archive, Retention::Bytes(limit), SystemTime::now()).unwrap();
        assert_eq!(pruned, Pruned { segments: 1, bytes: sizes[0] });
        assert!(!archive.join(format!("{:020}{SUFFIX}{ZST}", 0)).exists());
        // Nothing is older than a day.
        let kept = prune(&archive, "1d".parse().unwrap(), SystemTime::now()).unwrap();
        assert_eq!(kept, Pruned::default());
        // Everything is older than a second, a day from now.
        let later = SystemTime::now() + Duration::from_secs(86_400);
        let all = prune(&archive, "1s".parse().unwrap(), later).unwrap();
        assert_eq!(all.segments, 2);
    }
}
