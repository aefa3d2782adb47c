//! The write-ahead journal: every frame a recorder reads, with its receive time, in the order
//! the recorder handled it, so a crash loses nothing that reached it and a parser fix can be
//! re-applied to old captures (docs/ARCHITECTURE.md "Durability").
//!
//! One journal per venue and market, a directory of segments
//! `<root>/_journal/<venue>/<market>/<first jseq, 20 digits>.journal`. A segment is a magic
//! line, then records `[u32 body length][u32 CRC-32 of body][body]` (little endian); a body is
//! `[u64 jseq][i64 ts_recv ns][u32 conn][u8 entry kind][u8 stream or cause][payload UTF-8]`.
//! `jseq` numbers records from 0 and never repeats. A record cut short by a crash can only be
//! at the end of the last segment: opening the journal drops it (it never reached the journal
//! whole). A bad record anywhere else is corruption and is refused with its place.
//!
//! Committed segments are either compressed into `archive/` in the journal directory (the
//! default: they are the raw capture, and `mdkit import --from-format journal` re-applies the
//! recorder to them; see [`archive`] for the format and the retention limits) or deleted.
//!
//! This module owns the bytes and the segment files. It must not interpret frames or decide
//! when to trim: the recorder does, after its state file says what is committed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::model::RecvTime;

pub use self::archive::{prune, Pruned, Retention, RetentionError};

mod archive;

const MAGIC: &[u8; 8] = b"MDKJRNL1";
const SUFFIX: &str = ".journal";
/// Where committed segments are kept (see [`Journal::archive`]).
const ARCHIVE: &str = "archive";
const HEADER: usize = 8;
const BODY_FIXED: usize = 8 + 8 + 4 + 1 + 1;
/// A segment is closed and a new one started past this size.
const SEGMENT_BYTES: u64 = 64 << 20;
/// No record is larger (frames are capped at 2 MiB by the venue rules; this leaves room).
const MAX_BODY: usize = 16 << 20;

/// Which stream of a venue a connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Book,
    Trades,
    /// Several streams multiplexed on one connection (Binance combined streams: depth,
    /// trades and bookTicker of one market, and the REST snapshot bodies journaled with them).
    Combined,
}

/// Why a connection ended, as the connection task saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The venue closed the socket, or it failed.
    Closed,
    /// The watchdog found the stream silent too long.
    Stale,
    /// The recorder is stopping (Ctrl+C, SIGTERM, end of an import).
    Shutdown,
}

/// What a journal record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Connection `conn` opened `url`, carrying `stream`.
    Connect { conn: u32, stream: Stream, url: String },
    /// A text frame read from connection `conn`.
    Frame { conn: u32, text: String },
    /// Connection `conn` ended.
    Disconnect { conn: u32, cause: Cause, detail: String },
    /// The recorder started again; connections the journal left open are gone.
    Restart,
}

/// One record: its number in the journal, the local time it happened, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub jseq: u64,
    pub ts_recv: RecvTime,
    pub entry: Entry,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("journal {} is corrupt at byte {offset}: {reason}; move the file aside to continue (it is not the last segment, so this is not a torn write)", path.display())]
    Corrupt { path: PathBuf, offset: u64, reason: String },
    #[error("journal {}: a record of {bytes} bytes is over the {max}-byte limit a reader accepts; it was not written", path.display())]
    TooLarge { path: PathBuf, bytes: usize, max: usize },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

/// An open journal, positioned to append after its last whole record.
pub struct Journal {
    dir: PathBuf,
    out: BufWriter<File>,
    path: PathBuf,
    bytes: u64,
    next_jseq: u64,
    unsynced: bool,
}

impl Journal {
    /// The journal directory of `venue`/`market` under the data root.
    pub fn dir(root: &Path, venue: &str, market: &str) -> PathBuf {
        root.join("_journal").join(venue).join(market)
    }

    /// Opens (creating if needed) the journal in `dir`, drops a torn record at its end, and
    /// returns it with the records whose jseq is at least `from`, in order.
    pub fn open(dir: &Path, from: u64) -> Result<(Self, Vec<Record>), JournalError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let segments = segments(dir)?;
        let mut records = Vec::new();
        let mut next_jseq = from;
        let mut last = None;
        for (i, (first, path)) in segments.iter().enumerate() {
            let is_last = i + 1 == segments.len();
            let (read, valid_len) = read_segment(path, is_last)?;
            if valid_len == Some(0) {
                // Killed before the magic was written: the segment never held anything.
                fs::remove_file(path).map_err(io_err(path))?;
                next_jseq = next_jseq.max(*first);
                continue;
            }
            if let Some(end) = valid_len {
                tracing::warn!(path = %path.display(), at = end, "journal: dropping a record cut short by a crash");
                let file = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
                file.set_len(end).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
            }
            let mut expect = *first;
            for record in read {
                if record.jseq != expect {
                    return Err(JournalError::Corrupt {
                        path: path.clone(),
                        offset: 0,
                        reason: format!("record {} where {expect} was due", record.jseq),
                    });
                }
                expect += 1;
                if record.jseq >= from {
                    records.push(record);
                }
            }
            next_jseq = next_jseq.max(expect);
            last = Some((path.clone(), *first));
        }
        let journal = match last {
            Some((path, _)) => Self::append_to(dir, path, next_jseq)?,
            None => Self::create_segment(dir, next_jseq)?,
        };
        Ok((journal, records))
    }

    /// Every record of the journal in `dir`, archived segments first, read-only (for
    /// `import`).
    pub fn read_all(dir: &Path) -> Result<Vec<Record>, JournalError> {
        let mut all = segments(&dir.join(ARCHIVE))?;
        all.extend(segments(dir)?);
        all.sort();
        // A crash while archiving can leave a segment both archived and live: one copy.
        all.dedup_by_key(|(first, _)| *first);
        let mut records = Vec::new();
        for (i, (_, path)) in all.iter().enumerate() {
            let (read, _) = read_segment(path, i + 1 == all.len())?;
            records.extend(read);
        }
        Ok(records)
    }

    /// Whether `dir` holds journal segments (live or archived).
    pub fn has_segments(dir: &Path) -> bool {
        [dir.to_path_buf(), dir.join(ARCHIVE)]
            .iter()
            .any(|d| segments(d).is_ok_and(|s| !s.is_empty()))
    }

    /// Every record in `dir` from `from` on, read-only (for import and tests).
    pub fn read(dir: &Path, from: u64) -> Result<Vec<Record>, JournalError> {
        let mut records = Vec::new();
        let segments = segments(dir)?;
        for (i, (_, path)) in segments.iter().enumerate() {
            let (read, _) = read_segment(path, i + 1 == segments.len())?;
            records.extend(read.into_iter().filter(|r| r.jseq >= from));
        }
        Ok(records)
    }

    fn append_to(dir: &Path, path: PathBuf, next_jseq: u64) -> Result<Self, JournalError> {
        let mut file = OpenOptions::new().append(true).open(&path).map_err(io_err(&path))?;
        let bytes = file.seek(SeekFrom::End(0)).map_err(io_err(&path))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            path,
            bytes,
            next_jseq,
            unsynced: false,
        })
    }

    fn create_segment(dir: &Path, first: u64) -> Result<Self, JournalError> {
        let path = dir.join(format!("{first:020}{SUFFIX}"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.write_all(MAGIC).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            path,
            bytes: MAGIC.len() as u64,
            next_jseq: first,
            unsynced: false,
        })
    }

    /// The jseq the next appended record gets.
    pub fn next_jseq(&self) -> u64 {
        self.next_jseq
    }

    /// Appends a record (buffered; [`Journal::flush`] hands it to the OS) and returns it.
    pub fn append(&mut self, ts_recv: RecvTime, entry: Entry) -> Result<Record, JournalError> {
        let record = Record { jseq: self.next_jseq, ts_recv, entry };
        // Header, fixed fields and payload go to the buffer as they are: the payload (a whole
        // frame) is copied once, not first into a record of its own.
        let (fixed, payload) = body_parts(&record);
        let body_len = BODY_FIXED + payload.len();
        if body_len > MAX_BODY {
            // Written, it would read back as a torn tail and hide every record after it.
            let path = self.path.clone();
            return Err(JournalError::TooLarge { path, bytes: body_len, max: MAX_BODY });
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&fixed);
        crc.update(payload);
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&(body_len as u32).to_le_bytes());
        header[4..].copy_from_slice(&crc.finalize().to_le_bytes());
        for part in [&header[..], &fixed[..], payload] {
            self.out.write_all(part).map_err(io_err(&self.path))?;
        }
        self.bytes += (HEADER + body_len) as u64;
        self.next_jseq += 1;
        self.unsynced = true;
        if self.bytes >= SEGMENT_BYTES {
            self.rotate()?;
        }
        Ok(record)
    }

    /// Hands buffered records to the OS: they survive the process being killed.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.out.flush().map_err(io_err(&self.path))
    }

    /// Flushes and fsyncs if anything was appended since the last sync: they survive a power
    /// loss too.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.flush()?;
        if self.unsynced {
            self.out.get_ref().sync_data().map_err(io_err(&self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Syncs, closes this segment and starts the next one at the next jseq.
    pub fn rotate(&mut self) -> Result<(), JournalError> {
        self.sync()?;
        if self.bytes == MAGIC.len() as u64 {
            return Ok(());
        }
        *self = Self::create_segment(&self.dir, self.next_jseq)?;
        Ok(())
    }

    /// Compresses every segment whose records all come before `before` (they are committed)
    /// into `archive/` beside the live ones, where `import --from-format journal` still reads
    /// them and opening the journal does not. Returns how many segments were archived.
    pub fn archive(&mut self, before: u64) -> Result<usize, JournalError> {
        let segments = segments(&self.dir)?;
        let archive = self.archive_dir();
        let mut moved = 0;
        for pair in segments.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first <= before && *path != self.path {
                archive::compress(path, &archive)?;
                moved += 1;
            }
        }
        if moved > 0 {
            File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_err(&self.dir))?;
        }
        Ok(moved)
    }

    /// Where this journal's committed segments are archived.
    pub fn archive_dir(&self) -> PathBuf {
        self.dir.join(ARCHIVE)
    }

    /// Deletes every segment whose records all come before `before` (they are committed).
    /// Returns how many segments were removed.
    pub fn trim(&mut self, before: u64) -> Result<usize, JournalError> {
        let segments = segments(&self.dir)?;
        let mut removed = 0;
        for pair in segments.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first <= before && *path != self.path {
                fs::remove_file(path).map_err(io_err(path))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Segment files in `dir`, by first jseq.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(first) = archive::first_jseq(&name) {
            found.push((first, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The whole records of a segment, and the length to cut it to when its last record is torn
/// (`allow_torn`: only the last segment may end that way).
fn read_segment(path: &Path, allow_torn: bool) -> Result<(Vec<Record>, Option<u64>), JournalError> {
    let bytes = archive::read_bytes(path)?;
    let corrupt = |offset: usize, reason: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < MAGIC.len() {
        // A segment created but killed before its magic was written holds nothing.
        return if allow_torn {
            Ok((Vec::new(), Some(0)))
        } else {
            Err(corrupt(0, "shorter than its header".into()))
        };
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt(0, "not an mdkit journal segment".into()));
    }
    let mut records = Vec::new();
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let problem = match bytes.get(at..at + HEADER) {
            None => Some("record header cut short".to_owned()),
            Some(head) => {
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                match bytes.get(at + HEADER..at + HEADER + len) {
                    _ if !(BODY_FIXED..=MAX_BODY).contains(&len) => {
                        Some(format!("record length {len} out of range"))
                    }
                    None => Some("record cut short".to_owned()),
                    Some(body) if crc32(body) != crc => Some("checksum mismatch".to_owned()),
                    Some(body) => match decode(body) {
                        Ok(record) => {
                            records.push(record);
                            at += HEADER + len;
                            None
                        }
                        Err(reason) => Some(reason),
                    },
                }
            }
        };
        if let Some(reason) = problem {
            if allow_torn {
                return Ok((records, Some(at as u64)));
            }
            return Err(corrupt(at, reason));
        }
    }
    Ok((records, None))
}

const KIND_CONNECT: u8 = 1;
const KIND_FRAME: u8 = 2;
const KIND_DISCONNECT: u8 = 3;
const KIND_RESTART: u8 = 4;

/// Appends the body of `record` to `body`.
/// A record's body: its fixed fields, and its payload (frame text, URL or detail).
fn body_parts(record: &Record) -> ([u8; BODY_FIXED], &[u8]) {
    let (conn, kind, extra, text): (u32, u8, u8, &str) = match &record.entry {
        Entry::Connect { conn, stream, url } => (*conn, KIND_CONNECT, stream_code(*stream), url),
        Entry::Frame { conn, text } => (*conn, KIND_FRAME, 0, text),
        Entry::Disconnect { conn, cause, detail } => {
            (*conn, KIND_DISCONNECT, cause_code(*cause), detail)
        }
        Entry::Restart => (0, KIND_RESTART, 0, ""),
    };
    let mut fixed = [0u8; BODY_FIXED];
    fixed[..8].copy_from_slice(&record.jseq.to_le_bytes());
    fixed[8..16].copy_from_slice(&record.ts_recv.as_nanos().to_le_bytes());
    fixed[16..20].copy_from_slice(&conn.to_le_bytes());
    fixed[20] = kind;
    fixed[21] = extra;
    (fixed, text.as_bytes())
}

fn decode(body: &[u8]) -> Result<Record, String> {
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
    let jseq = u64_at(0);
    let ts_recv = RecvTime::from_nanos(u64_at(8) as i64);
    let conn = u32::from_le_bytes(body[16..20].try_into().expect("4 bytes"));
    let (kind, extra) = (body[20], body[21]);
    let text = std::str::from_utf8(&body[BODY_FIXED..])
        .map_err(|_| "payload is not UTF-8".to_owned())?
        .to_owned();
    let entry = match kind {
        KIND_CONNECT => Entry::Connect { conn, stream: stream_of(extra)?, url: text },
        KIND_FRAME => Entry::Frame { conn, text },
        KIND_DISCONNECT => Entry::Disconnect { conn, cause: cause_of(extra)?, detail: text },
        KIND_RESTART => Entry::Restart,
        other => return Err(format!("unknown record kind {other}")),
    };
    Ok(Record { jseq, ts_recv, entry })
}

fn stream_code(stream: Stream) -> u8 {
    match stream {
        Stream::Book => 1,
        Stream::Trades => 2,
        Stream::Combined => 3,
    }
}

fn stream_of(code: u8) -> Result<Stream, String> {
    match code {
        1 => Ok(Stream::Book),
        2 => Ok(Stream::Trades),
        3 => Ok(Stream::Combined),
        other => Err(format!("unknown stream {other}")),
    }
}

fn cause_code(cause: Cause) -> u8 {
    match cause {
        Cause::Closed => 1,
        Cause::Stale => 2,
        Cause::Shutdown => 3,
    }
}

fn cause_of(code: u8) -> Result<Cause, String> {
    match code {
        1 => Ok(Cause::Closed),
        2 => Ok(Cause::Stale),
        3 => Ok(Cause::Shutdown),
        other => Err(format!("unknown disconnect cause {other}")),
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it). The recorder checksums every
/// frame, so this is on its hot path: crc32fast uses the CPU's carry-less multiply.
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(conn: u32, text: &str) -> Entry {
        Entry::Frame { conn, text: text.to_owned() }
    }

    fn t(n: i64) -> RecvTime {
        RecvTime::from_nanos(n)
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // Lengths around the 8-byte step, against the bytewise definition.
        let text: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..text.len() {
            let bytewise = !text[..len].iter().fold(!0u32, |mut c, &b| {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                }
                c
            });
            assert_eq!(crc32(&text[..len]), bytewise, "{len} bytes");
        }
    }

    #[test]
    fn a_record_over_the_read_limit_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, _) = Journal::open(dir.path(), 0).unwrap();
            j.append(t(0), frame(1, "before")).unwrap();
            let huge = "x".repeat(MAX_BODY);
            let err = j.append(t(1), frame(1, &huge)).unwrap_err();
            assert!(matches!(err, JournalError::TooLarge { max: MAX_BODY, .. }), "{err}");
            j.append(t(2), frame(1, "after")).unwrap();
            j.sync().unwrap();
        }
        let (j, back) = Journal::open(dir.path(), 0).unwrap();
        assert_eq!(j.next_jseq(), 2);
        let texts: Vec<_> = back.iter().map(|r| (r.jseq, r.entry.clone())).collect();
        assert_eq!(texts, vec![(0, frame(1, "before")), (1, frame(1, "after"))]);
    }

    #[test]
    fn records_come_back_in_order_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let entries = [
            Entry::Connect {
                conn: 7,
                stream: Stream::Book,
                url: "ws://x/orderbooks/ETH-USD".into(),
            },
            frame(7, r#"{"type":"SNAPSHOT"}"#),
            Entry::Disconnect { conn: 7, cause: Cause::Stale, detail: "silent 90 s".into() },
            Entry::Restart,
        ];
        {
            let (mut j, old) = Journal::open(dir.path(), 0).unwrap();
            assert!(old.is_empty());
            for (i, e) in entries.iter().enumerate() {
                j.append(t(i as i64 * 10), e.clone()).unwrap();
            }
            j.sync().unwrap();
        }
        let (j, back) = Journal::open(dir.path(), 1).unwrap();
        assert_eq!(j.next_jseq(), 4);
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].entry, entries[1]);
        assert_eq!(back[2], Record { jseq: 3, ts_recv: t(30), entry: Entry::Restart });
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, _) = Journal::open(dir.path(), 0).unwrap();
            j.append(t(1), frame(1, "a")).unwrap();
            j.append(t(2), frame(1, "bb")).unwrap();
            j.flush().unwrap();
        }
        let (_, path) = segments(dir.path()).unwrap().pop().unwrap();
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 3).unwrap();
        let (mut j, back) = Journal::open(dir.path(), 0).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(j.next_jseq(), 1);
        j.append(t(3), frame(1, "c")).unwrap();
        j.flush().unwrap();
        let again = Journal::read(dir.path(), 0).unwrap();
        assert_eq!(again.iter().map(|r| r.jseq).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(again[1].entry, frame(1, "c"));
    }

    #[test]
    fn a_bad_record_in_an_earlier_segment_is_refused_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, _) = Journal::open(dir.path(), 0).unwrap();
            j.append(t(1), frame(1, "first")).unwrap();
            j.rotate().unwrap();
            j.append(t(2), frame(1, "second")).unwrap();
            j.sync().unwrap();
        }
        let (_, first) = segments(dir.path()).unwrap().remove(0);
        let mut bytes = fs::read(&first).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        fs::write(&first, bytes).unwrap();
        let err = Journal::open(dir.path(), 0).err().unwrap().to_string();
        assert!(err.contains("corrupt at byte 8") && err.contains("checksum"), "{err}");
    }

    #[test]
    fn archive_keeps_committed_segments_readable_but_out_of_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), 0).unwrap();
        for i in 0..3 {
            j.append(t(i), frame(1, "x")).unwrap();
            j.rotate().unwrap();
        }
        assert_eq!(j.archive(2).unwrap(), 2);
        drop(j);
        let (_, tail) = Journal::open(dir.path(), 2).unwrap();
        assert_eq!(tail.iter().map(|r| r.jseq).collect::<Vec<_>>(), [2]);
        let all = Journal::read_all(dir.path()).unwrap();
        assert_eq!(all.iter().map(|r| r.jseq).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(Journal::has_segments(dir.path()));
        assert!(!Journal::has_segments(&dir.path().join("nothing")));
    }

    #[test]
    fn trim_removes_only_segments_wholly_before_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), 0).unwrap();
        for i in 0..3 {
            j.append(t(i), frame(1, "x")).unwrap();
            j.rotate().unwrap();
        }
        // Segments start at 0, 1, 2, 3 (the open one).
        assert_eq!(j.trim(2).unwrap(), 2);
        let left: Vec<u64> = segments(dir.path()).unwrap().into_iter().map(|s| s.0).collect();
        assert_eq!(left, [2, 3]);
        assert_eq!(Journal::read(dir.path(), 0).unwrap().len(), 1);
    }
}
