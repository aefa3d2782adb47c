//! Writes calibration rows so that the table stays one row per (window, settings): a row
//! computed again over the same window with the same settings replaces the old one, a row
//! with other settings is added beside it, and every row says when it was written, so that
//! readers take the latest-written row of a window (schemas/calibration.md).
//!
//! Parts are immutable, so a part holding a replaced row is rewritten: its other rows and the
//! new rows go into new parts, which are renamed into place first; the old parts are deleted
//! after. A crash between the two leaves both copies, and the newer `written_at` wins for
//! every reader; the next run over that window removes the old copy.

use std::path::Path;

use anyhow::Context;

use crate::estimate::MarketKey;
use crate::storage::remote::{self, is_remote};
use crate::storage::{
    list, CalibrationRow, Listing, Rows, Selection, Table, TimeRange, Uploader, Writer,
    WriterConfig,
};

/// What a write did: rows written (new and carried over) and rows replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub rows: usize,
    pub replaced: usize,
}

/// Writes `rows` of one market (stamped with `written_at` by the caller), replacing rows of
/// the same fit.
pub fn write(data: &Path, key: &MarketKey, rows: &[CalibrationRow]) -> anyhow::Result<Written> {
    let fail = || format!("cannot write the calibration table for {key}");
    let selection = Selection {
        venue: Some(key.venue.clone()),
        market: Some(key.market.clone()),
        range: TimeRange::default(),
    };
    let listing = list(data, Table::Calibration, &selection).with_context(fail)?;
    let mut carried = Vec::new();
    let mut old_parts = Vec::new();
    let mut replaced = 0;
    for part in &listing.parts {
        let one = Listing {
            table: Table::Calibration,
            range: TimeRange::default(),
            parts: vec![part.clone()],
            bad: Vec::new(),
        };
        let mut kept = Vec::new();
        let mut hit = 0;
        for batch in one.scan() {
            for row in CalibrationRow::from_batch(&batch.with_context(fail)?).with_context(fail)? {
                if rows.iter().any(|new| new.same_fit(&row)) {
                    hit += 1;
                } else {
                    kept.push(row);
                }
            }
        }
        if hit > 0 {
            replaced += hit;
            carried.extend(kept);
            old_parts.push(part.path.clone());
        }
    }
    let mut all: Vec<CalibrationRow> = carried.into_iter().chain(rows.iter().cloned()).collect();
    all.sort_by_key(|r| r.window_end);
    // A remote tree gets its part written in a local folder first, then uploaded.
    let spool = if is_remote(data) {
        Some(tempfile::tempdir().context("cannot make a temporary folder for the upload")?)
    } else {
        None
    };
    let local = spool.as_ref().map_or(data, |dir| dir.path());
    let mut writer =
        Writer::new(local, Table::Calibration, &key.venue, &key.market, WriterConfig::default())
            .with_context(fail)?;
    writer.write(&CalibrationRow::to_batch(&key.venue, &key.market, &all)).with_context(fail)?;
    let written = writer.close().with_context(fail)?;
    // The new parts' paths in the tree: an upload under an old part's name replaced it.
    let mut new_parts = written.clone();
    if spool.is_some() {
        Uploader::new(local, data).upload(&written).with_context(fail)?;
        new_parts = written
            .iter()
            .filter_map(|p| p.strip_prefix(local).ok().map(|rel| data.join(rel)))
            .collect();
    }
    for path in old_parts.into_iter().filter(|p| !new_parts.contains(p)) {
        remote::delete(&path)
            .with_context(|| format!("cannot remove the replaced part {}", path.display()))?;
    }
    Ok(Written { rows: all.len(), replaced })
}
