//! Reading hftbacktest raw captures: gzip text, one `<receive time ns> <raw frame>` per line
//! (`../realdata/hftbacktest-binance/README.md`), with every refusal naming `file:line`.
//!
//! Also infers what a file holds — Binance spot, USD-M or COIN-M, and the symbol — from its
//! first diff-depth or trade frame, falling back to the folder name (`spot/`, `usdm/`, `cm/`).
//! Must not apply frames: the recorder does.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::model::RecvTime;
use crate::venue::binance::{self, Kind, Message};

/// Lines read to find the market before giving up on the frames and using the path.
const SNIFF_LINES: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {reason}", path.display())]
    Line { path: PathBuf, line: u64, reason: String },
    #[error("{}: cannot tell which Binance market this is (no diff-depth or trade frame in the first {SNIFF_LINES} lines, and the folder is not spot/, usdm/ or cm/); pass --venue and --market", path.display())]
    Unknown { path: PathBuf },
}

/// One line of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: u64,
    pub ts_recv: RecvTime,
    pub text: String,
}

/// Counts bytes read from the compressed file, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// The lines of one capture file, in file order.
pub struct Lines {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    number: u64,
    buf: Vec<u8>,
    /// Compressed bytes read so far.
    pub bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Lines {
    pub fn open(path: &Path) -> Result<Self, RawError> {
        let file = File::open(path).map_err(|source| RawError::Io { path: path.into(), source })?;
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counting = Counting { inner: file, bytes: bytes.clone() };
        let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(counting)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, counting))
        };
        Ok(Self { path: path.to_path_buf(), reader, number: 0, buf: Vec::new(), bytes })
    }

    fn bad(&self, reason: impl Into<String>) -> RawError {
        RawError::Line { path: self.path.clone(), line: self.number, reason: reason.into() }
    }

    /// The next non-empty line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line>, RawError> {
        loop {
            self.buf.clear();
            let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|e| {
                let reason = format!("cannot read (is it a whole gzip file?): {e}");
                RawError::Line { path: self.path.clone(), line: self.number + 1, reason }
            })?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let text = std::str::from_utf8(line).map_err(|_| self.bad("not UTF-8 text"))?;
            let Some((ts, frame)) = text.split_once(' ') else {
                return Err(self.bad("expected `<receive time ns> <frame>`, found no space"));
            };
            let ts: i64 = ts.parse().map_err(|_| {
                self.bad(format!("receive time {:?} is not an integer of nanoseconds", cut(ts)))
            })?;
            return Ok(Some(Line {
                number: self.number,
                ts_recv: RecvTime::from_nanos(ts),
                text: frame.to_owned(),
            }));
        }
    }
}

fn cut(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// What a capture file holds, as far as its first lines tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: Kind,
    pub market: String,
    pub first_ts: RecvTime,
    /// How the venue was found, for the user.
    pub how: &'static str,
}

/// Reads the start of `path` to find its market (see the module header).
pub fn sniff(path: &Path) -> Result<Sniffed, RawError> {
    let mut lines = Lines::open(path)?;
    let mut first_ts = None;
    let mut symbol = None;
    let mut found = None;
    while lines.number < SNIFF_LINES as u64 {
        let Some(line) = lines.next_line()? else { break };
        first_ts.get_or_insert(line.ts_recv);
        match binance::parse(&line.text) {
            Ok(Message::Depth(d)) => {
                let kind = Kind::infer(d.prev_last_id.is_some(), line.text.contains("\"ps\":"));
                found = Some((kind, d.symbol));
                break;
            }
            Ok(Message::Trade(t)) if symbol.is_none() => symbol = Some(t.market),
            _ => {}
        }
    }
    let Some(first_ts) = first_ts else {
        return Err(RawError::Line {
            path: path.into(),
            line: 0,
            reason: "the file is empty".into(),
        });
    };
    if let Some((kind, market)) = found {
        return Ok(Sniffed { kind, market, first_ts, how: "from its diff-depth frames" });
    }
    let folder = path.parent().and_then(Path::file_name).and_then(|n| n.to_str());
    let kind = match folder {
        Some("spot") => Kind::Spot,
        Some("usdm" | "um") => Kind::UsdM,
        Some("cm" | "coinm") => Kind::CoinM,
        _ => return Err(RawError::Unknown { path: path.into() }),
    };
    let market = symbol.ok_or_else(|| RawError::Unknown { path: path.into() })?;
    Ok(Sniffed { kind, market, first_ts, how: "from its folder name" })
}

/// What kind of frame a line carries, for the import summary (cheap: no JSON parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FrameClass {
    Depth,
    Trade,
    BookTicker,
    Snapshot,
    Other,
}

impl FrameClass {
    pub fn of(text: &str) -> Self {
        let head = &text[..text.len().min(60)];
        if head.starts_with("{\"lastUpdateId\"") {
            FrameClass::Snapshot
        } else if head.contains("@depth") {
            FrameClass::Depth
        } else if head.contains("@trade\"") {
            FrameClass::Trade
        } else if head.contains("@bookTicker\"") {
            FrameClass::BookTicker
        } else {
            FrameClass::Other
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FrameClass::Depth => "depth",
            FrameClass::Trade => "trade",
            FrameClass::BookTicker => "bookTicker",
            FrameClass::Snapshot => "REST snapshot",
            FrameClass::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(dir: &Path, folder: &str, text: &str) -> PathBuf {
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("x.gz");
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        path
    }

    #[test]
    fn lines_carry_their_receive_time_and_bad_lines_name_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = gz(dir.path(), "a", "5 {\"a\":1}\n\n7 {\"b\":2}\nnospace\n");
        let mut lines = Lines::open(&path).unwrap();
        let first = lines.next_line().unwrap().unwrap();
        assert_eq!(
            (first.number, first.ts_recv.as_nanos(), first.text.as_str()),
            (1, 5, "{\"a\":1}")
        );
        assert_eq!(lines.next_line().unwrap().unwrap().number, 3);
        let err = lines.next_line().unwrap_err().to_string();
        assert!(
            err.ends_with("x.gz:4: expected `<receive time ns> <frame>`, found no space"),
            "{err}"
        );
        let path = gz(dir.path(), "b", "12x {}\n");
        let err = Lines::open(&path).unwrap().next_line().unwrap_err().to_string();
        assert!(err.contains("x.gz:1: receive time \"12x\" is not an integer"), "{err}");
    }

    #[test]
    fn the_market_comes_from_the_frames_or_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let depth = r#"{"stream":"btcusd_perp@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1,"u":2,"pu":0,"b":[],"a":[]}}"#;
        let path = gz(dir.path(), "x", &format!("10 {depth}\n"));
        let s = sniff(&path).unwrap();
        assert_eq!(
            (s.kind, s.market.as_str(), s.first_ts.as_nanos()),
            (Kind::CoinM, "BTCUSD_PERP", 10)
        );
        let trade = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"M":true}}"#;
        let path = gz(dir.path(), "spot", &format!("10 {trade}\n"));
        assert_eq!(sniff(&path).unwrap().how, "from its folder name");
        let path = gz(dir.path(), "elsewhere", &format!("10 {trade}\n"));
        assert!(matches!(sniff(&path), Err(RawError::Unknown { .. })));
    }
}
