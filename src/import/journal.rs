//! `--from-format journal`: replays mdkit journals (`<data>/_journal/<venue>/<MARKET>`, archived
//! segments first) through the recorder, record by record, so the tables come out as the
//! recording run wrote them — or as today's rules write them, after a parser fix.
//!
//! The target may be the journal's own data root (`--replace` then rebuilds the market in
//! place, and the state file's journal position is set past the last record so a later
//! `collect` does not replay it again). Must not write to the journal.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{added, prepare, rows_of, Config, Imported};
use crate::record::Market;
use crate::storage::{check_name, Entry, Journal};
use crate::venue::Venue;

/// The journal directories `path` names: itself if it holds segments, or every
/// `_journal/<venue>/<MARKET>` below a data root.
fn journal_dirs(path: &Path) -> anyhow::Result<Vec<(String, String, PathBuf)>> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    if Journal::has_segments(path) {
        let market = name(path);
        let venue = path.parent().and_then(name);
        let (Some(venue), Some(market)) = (venue, market) else {
            anyhow::bail!("{}: cannot tell venue and market from the path (expected …/_journal/<venue>/<MARKET>); pass --venue and --market", path.display());
        };
        return Ok(vec![(venue, market, path.to_path_buf())]);
    }
    let root = path.join("_journal");
    let mut found = Vec::new();
    let read = |dir: &Path| {
        std::fs::read_dir(dir).with_context(|| {
            format!("{}: not a journal directory (no *.journal segments) nor a data root with _journal/", path.display())
        })
    };
    for venue in read(&root)? {
        let venue = venue?.path();
        if !venue.is_dir() {
            continue;
        }
        for market in read(&venue)? {
            let market = market?.path();
            if Journal::has_segments(&market) {
                if let (Some(v), Some(m)) = (name(&venue), name(&market)) {
                    found.push((v, m, market));
                }
            }
        }
    }
    found.sort();
    anyhow::ensure!(!found.is_empty(), "{}: no journal found below _journal/", path.display());
    Ok(found)
}

pub fn import(root: &Path, paths: &[PathBuf], config: &Config) -> anyhow::Result<Vec<Imported>> {
    let mut out = Vec::new();
    for path in paths {
        for (venue, market, dir) in journal_dirs(path)? {
            let venue = match config.venue {
                Some(venue) => venue,
                None => venue.parse::<Venue>().map_err(|e| {
                    anyhow::anyhow!("{}: {e}; pass --venue to name it", dir.display())
                })?,
            };
            let market = config.market.clone().unwrap_or(market);
            check_name("market", &market)?;
            let one = replay(root, venue, &market, &dir, config)
                .with_context(|| format!("cannot import the journal {}", dir.display()))?;
            out.extend(one);
        }
    }
    Ok(out)
}

fn replay(
    root: &Path,
    venue: Venue,
    market_name: &str,
    dir: &Path,
    config: &Config,
) -> anyhow::Result<Option<Imported>> {
    let records = Journal::read_all(dir)?;
    let Some(first) = records.first() else {
        eprintln!("{}: the journal holds no record; nothing to import", dir.display());
        return Ok(None);
    };
    prepare(root, venue.name(), market_name, first.ts_recv, config)?;
    let mut market =
        Market::without_journal(root, venue, market_name, config.market_config.clone())?;
    let before = rows_of(&market);
    let mut imported = Imported {
        venue: venue.name().to_owned(),
        market: market_name.to_owned(),
        files: vec![dir.to_path_buf()],
        first: Some(first.ts_recv),
        ..Imported::default()
    };
    let bar = super::progress(config, records.len() as u64);
    for (i, record) in records.iter().enumerate() {
        imported.lines += 1;
        let kind = match &record.entry {
            Entry::Connect { .. } => {
                imported.conns += 1;
                "connect"
            }
            Entry::Frame { .. } => "frame",
            Entry::Disconnect { .. } => "disconnect",
            Entry::Restart => "restart",
        };
        *imported.frames.entry(kind).or_default() += 1;
        imported.last = Some(record.ts_recv);
        market.apply(record)?;
        if let Some(bar) = &bar {
            if i % 4096 == 0 {
                bar.set_position(i as u64);
            }
        }
    }
    if let Some(last) = records.last() {
        market.set_journal_pos(last.jseq + 1);
    }
    market.checkpoint()?;
    imported.rows = added(&before, &rows_of(&market));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Some(imported))
}
