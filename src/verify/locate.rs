//! Finding the rows a finding names: after the pass, each example's [`Key`]s are looked up
//! again in the market's parts (only the parts whose footer statistics can hold the key, and
//! only the key columns), and become [`Place`]s: a part file, the first row (0-based) and how
//! many rows follow.
//!
//! Runs once per example, never per row; a part that cannot be read here names the file
//! without a row.

use std::collections::BTreeMap;

use arrow::array::{Array, Int64Array, RecordBatch, TimestampNanosecondArray, UInt32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::findings::{Findings, Key, Place};
use crate::storage::{PartInfo, Table};

/// Looks rows up in one market's parts.
pub struct Locator<'a> {
    pub parts: &'a BTreeMap<Table, Vec<PartInfo>>,
}

impl Locator<'_> {
    /// Fills the places of every example.
    pub fn resolve(&self, findings: &mut Findings) {
        for finding in findings.iter_mut() {
            for example in &mut finding.examples {
                let mut places: Vec<Place> = Vec::new();
                for key in &example.keys {
                    for place in self.find(key) {
                        if !places.contains(&place) {
                            places.push(place);
                        }
                    }
                }
                example.places = places;
            }
        }
    }

    fn find(&self, key: &Key) -> Vec<Place> {
        let (table, ts_recv) = match key {
            Key::File(path) => return vec![Place { file: path.clone(), row: None, rows: None }],
            Key::Frame { table, ts_recv, .. } => (*table, *ts_recv),
            Key::Trade { ts_recv, .. } => (Table::Trades, *ts_recv),
            Key::Event { ts_recv, .. } => (Table::Events, *ts_recv),
        };
        let Some(parts) = self.parts.get(&table) else { return Vec::new() };
        let mut places = Vec::new();
        for part in parts {
            let holds = part
                .row_groups
                .iter()
                .any(|g| g.time.is_none_or(|(lo, hi)| lo <= ts_recv && ts_recv <= hi));
            if !holds {
                continue;
            }
            match rows_in(part, table, key) {
                Ok(rows) => places.extend(runs(&rows).into_iter().map(|(row, n)| Place {
                    file: part.path.clone(),
                    row: Some(row),
                    rows: Some(n),
                })),
                Err(_) => places.push(Place { file: part.path.clone(), row: None, rows: None }),
            }
        }
        places
    }
}

/// Contiguous runs of sorted row numbers: (first, length).
fn runs(rows: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &r in rows {
        match out.last_mut() {
            Some((first, n)) if *first + *n == r => *n += 1,
            _ => out.push((r, 1)),
        }
    }
    out
}

/// The 0-based rows of a part that match a key.
fn rows_in(
    part: &PartInfo,
    table: Table,
    key: &Key,
) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let ts_recv = match key {
        Key::Frame { ts_recv, .. } | Key::Trade { ts_recv, .. } | Key::Event { ts_recv, .. } => {
            *ts_recv
        }
        Key::File(_) => return Ok(Vec::new()),
    };
    let columns: &[&str] = match key {
        Key::Frame { .. } => &["ts_recv", "conn", "seq"],
        Key::Trade { .. } => &["ts_recv", "trade_id"],
        _ => &["ts_recv", "conn"],
    };
    let schema = table.schema();
    let indices = columns.iter().map(|c| schema.index_of(c)).collect::<Result<Vec<_>, _>>()?;
    // Row groups that can hold the time, with the file row each starts at.
    let mut groups = Vec::new();
    let mut start = 0u64;
    for (i, g) in part.row_groups.iter().enumerate() {
        if g.time.is_none_or(|(lo, hi)| lo <= ts_recv && ts_recv <= hi) {
            groups.push((i, start, g.rows));
        }
        start += g.rows;
    }
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
        crate::storage::remote::PartFile::open(&part.path)?,
        part.metadata.clone(),
    );
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let reader = builder
        .with_projection(mask)
        .with_row_groups(groups.iter().map(|g| g.0).collect())
        .build()?;
    let mut matches = Vec::new();
    let mut group = 0;
    let mut in_group = 0u64;
    for batch in reader {
        let batch: RecordBatch = batch?;
        let get = |name: &str| batch.column_by_name(name).map(|c| c.as_any());
        let ts = get("ts_recv")
            .and_then(|c| c.downcast_ref::<TimestampNanosecondArray>())
            .ok_or("no ts_recv")?;
        for i in 0..batch.num_rows() {
            while group < groups.len() && in_group >= groups[group].2 {
                group += 1;
                in_group = 0;
            }
            let file_row = groups.get(group).map_or(0, |g| g.1) + in_group;
            in_group += 1;
            if ts.value(i) != ts_recv {
                continue;
            }
            let hit = match key {
                Key::Frame { conn, seq, .. } => {
                    let c = get("conn")
                        .and_then(|c| c.downcast_ref::<UInt32Array>())
                        .ok_or("no conn")?;
                    let s =
                        get("seq").and_then(|c| c.downcast_ref::<Int64Array>()).ok_or("no seq")?;
                    c.value(i) == *conn && s.value(i) == *seq
                }
                Key::Trade { trade_id, .. } => {
                    let t = get("trade_id")
                        .and_then(|c| c.downcast_ref::<Int64Array>())
                        .ok_or("no trade_id")?;
                    t.value(i) == *trade_id
                }
                Key::Event { conn, .. } => {
                    let c = get("conn")
                        .and_then(|c| c.downcast_ref::<UInt32Array>())
                        .ok_or("no conn")?;
                    c.value(i) == *conn
                }
                Key::File(_) => false,
            };
            if hit {
                matches.push(file_row);
            }
        }
    }
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_runs() {
        type Case = (&'static [u64], &'static [(u64, u64)]);
        let cases: &[Case] =
            &[(&[], &[]), (&[4], &[(4, 1)]), (&[1, 2, 3, 7, 8], &[(1, 3), (7, 2)])];
        for (rows, want) in cases {
            assert_eq!(runs(rows), *want, "{rows:?}");
        }
    }
}
