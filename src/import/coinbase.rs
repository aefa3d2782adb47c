//! `import --from-format coinbase-legacy`: cryptofeed's raw recordings of the legacy Coinbase
//! Exchange feed (docs/VENUES.md §16.6), written under venue `coinbase-exchange`, one market
//! per product.
//!
//! The file (plain text, or gzip when its name ends in `.gz`): line 1
//! `<url> <-> <connect time, epoch s>`; request lines `<url> <- <time>: <frame>` (skipped);
//! then one line per received frame, `<receive time, epoch s with a fraction>: <frame>`;
//! empty lines are skipped. Receive times are read exactly from their digits (never `f64`)
//! into `ts_recv`. The capture is one connection carrying every product: each product's
//! rules ([`legacy_rules::Rules`]) get a connection opened at the capture's connect time and
//! that product's frames, in file order; a break (a crossed book) continues on a new
//! connection, as `collect` would reconnect.
//!
//! There is no `Venue` for the legacy feed (it is never recorded live), so rows go through the
//! storage writers here rather than `record::Market`, with the same lock, contract and state
//! file a `Market` keeps. Must not parse frames beyond asking the venue folder which product a
//! frame names.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{prepare, Config, Imported};
use crate::model::contract::Contract;
use crate::model::RecvTime;
use crate::record::{State, STATE_VERSION, TABLES};
use crate::storage::{
    check_name, Cause, Entry, MarketLock, Record, StoredContract, Stream, Writer, WriterConfig,
    CONTRACT_VERSION,
};
use crate::venue::coinbase::{legacy, legacy_rules, LEGACY_VENUE};
use crate::venue::{Rules as _, Sink, Verdict};

/// Rows gathered before they are handed to the writers.
const BATCH_ROWS: usize = 4096;

/// One product being imported.
struct Product {
    rules: legacy_rules::Rules,
    sink: Sink,
    writers: Vec<Writer>,
    state: State,
    _lock: MarketLock,
    conn: Option<u32>,
    imported: Imported,
}

impl Product {
    fn open(root: &Path, market: &str, first: RecvTime, config: &Config) -> anyhow::Result<Self> {
        prepare(root, LEGACY_VENUE, market, first, config)?;
        let lock = MarketLock::acquire(root, LEGACY_VENUE, market)?;
        if StoredContract::load(root, LEGACY_VENUE, market)?.is_none() {
            StoredContract {
                version: CONTRACT_VERSION,
                venue: LEGACY_VENUE.to_owned(),
                market: market.to_owned(),
                contract: Contract::LINEAR_1,
                source: "the coinbase-exchange rule of docs/VENUES.md (spot)".to_owned(),
            }
            .save(root)?;
        }
        let state =
            State::load(&State::path(root, LEGACY_VENUE, market))?.unwrap_or_else(|| State {
                version: STATE_VERSION,
                venue: LEGACY_VENUE.to_owned(),
                market: market.to_owned(),
                next_conn: 1,
                ..State::default()
            });
        let writer = WriterConfig::default();
        let writers = TABLES
            .iter()
            .map(|t| Writer::new(root, *t, LEGACY_VENUE, market, writer.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rules: legacy_rules::Rules::restore(market, &state.recorder),
            sink: Sink::new(config.market_config.levels),
            writers,
            state,
            _lock: lock,
            conn: None,
            imported: Imported {
                venue: LEGACY_VENUE.to_owned(),
                market: market.to_owned(),
                ..Imported::default()
            },
        })
    }

    fn apply(&mut self, ts_recv: RecvTime, entry: Entry) -> anyhow::Result<Verdict> {
        let verdict = self.rules.apply(&Record { jseq: 0, ts_recv, entry }, &mut self.sink);
        if self.sink.out.rows() >= BATCH_ROWS {
            self.write()?;
        }
        Ok(verdict)
    }

    /// A frame of this product, on the open connection (opened at `connected` if none is).
    fn frame(
        &mut self,
        connected: RecvTime,
        url: &str,
        ts: RecvTime,
        text: String,
    ) -> anyhow::Result<()> {
        let conn = match self.conn {
            Some(conn) => conn,
            None => {
                let conn = self.state.next_conn.max(self.rules.max_conn() + 1);
                let at = if self.imported.conns == 0 { connected } else { ts };
                let url = url.to_owned();
                self.apply(at, Entry::Connect { conn, stream: Stream::Combined, url })?;
                self.imported.conns += 1;
                self.conn = Some(conn);
                conn
            }
        };
        if let Verdict::Close { reason, .. } = self.apply(ts, Entry::Frame { conn, text })? {
            self.imported.breaks.push(format!("{ts}: {reason}"));
            self.conn = None;
        }
        Ok(())
    }

    fn write(&mut self) -> anyhow::Result<()> {
        let out = &self.sink.out;
        self.writers[0].write_rows(&out.depth)?;
        self.writers[1].write_rows(&out.book_top)?;
        self.writers[2].write_rows(&out.trades)?;
        self.writers[3].write_rows(&out.events)?;
        let counts = [out.depth.len(), out.book_top.len(), out.trades.len(), out.events.len()];
        for (table, n) in TABLES.iter().zip(counts) {
            *self.imported.rows.entry(table.name().to_owned()).or_default() += n as u64;
        }
        self.sink.out.clear();
        Ok(())
    }

    /// Ends the open connection, writes every row, and saves the state file.
    fn finish(mut self, root: &Path) -> anyhow::Result<Imported> {
        if let (Some(conn), Some(last)) = (self.conn, self.imported.last) {
            let detail = "end of the capture".to_owned();
            self.apply(last, Entry::Disconnect { conn, cause: Cause::Shutdown, detail })?;
        }
        self.write()?;
        let mut parts = Vec::new();
        for writer in std::mem::take(&mut self.writers) {
            let table = writer.table().name().to_owned();
            let written = self.imported.rows.get(&table).copied().unwrap_or(0);
            *self.state.rows.entry(table).or_default() += written;
            let closed = writer.close()?;
            parts.extend(closed.iter().map(|p| p.strip_prefix(root).unwrap_or(p).to_path_buf()));
        }
        self.state.checkpoint += 1;
        self.state.next_conn = self.state.next_conn.max(self.rules.max_conn() + 1);
        self.state.parts = parts;
        self.state.saved_at = chrono::Utc::now().to_rfc3339();
        self.state.recorder = self.rules.save();
        self.state.save(&State::path(root, LEGACY_VENUE, &self.imported.market))?;
        Ok(self.imported)
    }
}

/// Imports cryptofeed captures of the legacy Coinbase Exchange feed (see the module header);
/// `--market` keeps one product.
pub fn import(root: &Path, files: &[PathBuf], config: &Config) -> anyhow::Result<Vec<Imported>> {
    if let Some(venue) = config.venue {
        anyhow::bail!(
            "--venue {venue} does not apply to coinbase-legacy: legacy Coinbase Exchange captures are imported under venue {LEGACY_VENUE}"
        );
    }
    let only = config.market.as_deref().map(crate::venue::coinbase::market_name);
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    for path in files {
        read(root, path, only.as_deref(), config, &mut products)
            .with_context(|| format!("cannot import {}", path.display()))?;
    }
    if let Some(market) = &only {
        anyhow::ensure!(
            products.contains_key(market),
            "no frame of product {market} in the capture"
        );
    }
    products.into_values().map(|p| p.finish(root)).collect()
}

fn read(
    root: &Path,
    path: &Path,
    only: Option<&str>,
    config: &Config,
    products: &mut BTreeMap<String, Product>,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut lines = reader.lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    let Some((url, connected)) = header.split_once(" <-> ") else {
        anyhow::bail!(
            "line 1 is not `<url> <-> <connect time>` (a cryptofeed raw recording): {header:.80}"
        );
    };
    let connected = epoch(connected.trim()).context("line 1: the connect time")?;
    let (url, name) = (url.trim(), path.file_name().map(|n| n.to_string_lossy().into_owned()));
    let url = format!("{url} (capture {})", name.unwrap_or_default());
    let request = format!("{} <- ", header.split_once(" <-> ").map_or("", |(u, _)| u));
    for (index, line) in lines.enumerate() {
        let number = index as u64 + 2;
        let line = line?;
        if line.trim().is_empty() || line.starts_with(&request) {
            continue;
        }
        let Some((time, text)) = line.split_once(": ") else {
            anyhow::bail!("line {number} is not `<receive time>: <frame>`: {line:.80}");
        };
        let ts = epoch(time).with_context(|| format!("line {number}: the receive time"))?;
        // Frames naming no product (subscriptions, heartbeats without one) concern none.
        let Some(product) = legacy::product_of(text) else { continue };
        if only.is_some_and(|m| m != product) {
            continue;
        }
        check_name("market", &product).with_context(|| format!("line {number}"))?;
        let entry = match products.entry(product.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(Product::open(root, &product, connected, config)?)
            }
        };
        let imported = &mut entry.imported;
        if !imported.files.iter().any(|f| f == path) {
            imported.files.push(path.to_path_buf());
        }
        imported.lines += 1;
        imported.first.get_or_insert(ts);
        imported.last = Some(ts);
        let kind = text.split_once("\"type\":\"").and_then(|(_, rest)| rest.split('"').next());
        let kind = match kind {
            Some("snapshot") => "snapshot",
            Some("l2update") => "l2update",
            Some("match") => "match",
            Some("last_match") => "last_match",
            Some("ticker") => "ticker",
            _ => "other",
        };
        *imported.frames.entry(kind).or_default() += 1;
        entry.frame(connected, &url, ts, text.to_owned())?;
    }
    Ok(())
}

/// Epoch seconds with an optional fraction (`1618677817.0622091`), exactly, as a receive
/// time in ns (digits past the ninth are dropped).
fn epoch(text: &str) -> anyhow::Result<RecvTime> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    anyhow::ensure!(
        digits(secs) && (frac.is_empty() || digits(frac)),
        "{text:?} is not epoch seconds"
    );
    let secs: i64 = secs.parse()?;
    let mut nanos: i64 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    }
    let total = secs.checked_mul(1_000_000_000).and_then(|s| s.checked_add(nanos));
    total.map(RecvTime::from_nanos).context("epoch seconds out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_times_are_read_exactly() {
        assert_eq!(epoch("1618677817.0622091").unwrap().as_nanos(), 1_618_677_817_062_209_100);
        assert_eq!(epoch("1618677817.061845").unwrap().as_nanos(), 1_618_677_817_061_845_000);
        assert_eq!(epoch("1618677817").unwrap().as_nanos(), 1_618_677_817_000_000_000);
        assert_eq!(epoch("1.1234567899").unwrap().as_nanos(), 1_123_456_789);
        assert!(epoch("1e9").is_err() && epoch("").is_err() && epoch("-1.5").is_err());
    }
}
