//! The documents in `schemas/` and the code must agree: the tables' and the backtest's Arrow
//! schemas column for column, and `summary.json` field for field.

use std::path::{Path, PathBuf};

use mdkit::backtest::output::{equity_schema, fills_schema, recalibrations_schema};
use mdkit::backtest::report::{self, GroupMarkout, Markout, Summary};
use mdkit::storage::{type_label, Table, BOOK_TOP_LEVELS};

struct DocColumn {
    name: String,
    type_label: String,
    nullable: bool,
}

struct Doc {
    columns: Vec<DocColumn>,
    sort_order: Vec<String>,
}

fn doc_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(format!("{name}.md"))
}

/// The `Sort order:` line and the `(name, type, nullable)` rows of a document's table (its
/// first column headed `column` or `field`). `\|` in a cell is a literal `|`.
fn doc_rows(name: &str) -> (Vec<String>, Vec<(String, String, bool)>) {
    let path = doc_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sort_order = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(order) = line.strip_prefix("Sort order:") {
            sort_order = order.split(',').map(|c| c.trim().to_string()).collect();
        }
        let line = line.replace("\\|", "¦");
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if line.starts_with('|')
            && cells.len() == 5
            && !matches!(cells[0], "column" | "field")
            && !cells[0].starts_with("---")
        {
            assert!(
                matches!(cells[3], "yes" | "no"),
                "{}: nullable must be yes/no in {line}",
                path.display()
            );
            rows.push((cells[0].to_string(), cells[1].to_string(), cells[3] == "yes"));
        }
    }
    (sort_order, rows)
}

/// Reads a table's schema document. Rows whose name holds `{i}` form a group repeated for
/// every book level.
fn read_doc(table: Table) -> Doc {
    let (sort_order, rows) = doc_rows(table.name());
    let mut columns = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        if rows[i].0.contains("{i}") {
            let group: Vec<_> =
                rows[i..].iter().take_while(|r| r.0.contains("{i}")).cloned().collect();
            for level in 0..BOOK_TOP_LEVELS {
                for (name, ty, nullable) in &group {
                    columns.push(DocColumn {
                        name: name.replace("{i}", &level.to_string()),
                        type_label: ty.clone(),
                        nullable: *nullable,
                    });
                }
            }
            i += group.len();
        } else {
            let (name, ty, nullable) = rows[i].clone();
            columns.push(DocColumn { name, type_label: ty, nullable });
            i += 1;
        }
    }
    Doc { columns, sort_order }
}

#[test]
fn every_schema_document_matches_the_code() {
    for table in Table::ALL {
        let doc = read_doc(table);
        let schema = table.schema();
        let code: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), type_label(f.data_type()), f.is_nullable()))
            .collect();
        let docs: Vec<_> = doc
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.type_label.clone(), c.nullable))
            .collect();
        assert_eq!(docs, code, "schemas/{}.md disagrees with the code", table.name());
        let order: Vec<String> = std::iter::once(table.time_column())
            .chain(table.seq_column())
            .map(String::from)
            .collect();
        assert_eq!(doc.sort_order, order, "sort order of {}", table.name());
    }
}

/// `fills.parquet`, `equity.parquet` and `recalibrations.parquet` as their documents in
/// schemas/ say, rows in the order of their first column.
#[test]
fn the_backtest_files_match_their_documents() {
    for (name, schema) in [
        ("fills", fills_schema()),
        ("equity", equity_schema()),
        ("recalibrations", recalibrations_schema()),
    ] {
        let (sort_order, docs) = doc_rows(name);
        let code: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), type_label(f.data_type()), f.is_nullable()))
            .collect();
        assert_eq!(docs, code, "schemas/{name}.md disagrees with the code");
        assert_eq!(sort_order, [code[0].0.clone()], "sort order of {name}");
    }
}

/// One documented field of `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryField {
    /// `pnl_net`, `diagnostics.quotes`, `markouts[].mean`.
    pub path: String,
    /// `integer`, `number`, `string`, `decimal string`, `timestamp string`, `object`,
    /// `array` or `boolean`.
    pub json_type: String,
    pub nullable: bool,
}

/// The fields schemas/summary.md documents, in order.
pub fn summary_fields() -> Vec<SummaryField> {
    doc_rows("summary")
        .1
        .into_iter()
        .map(|(path, json_type, nullable)| SummaryField { path, json_type, nullable })
        .collect()
}

/// The field paths of a pretty-printed summary in the order they are written: nested
/// objects as `diagnostics.quotes`, the objects of an array as `markouts[].mean` (the first
/// one only); the children of `settings` and `units`, whose keys are data, are left out.
fn json_paths(pretty: &str) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    let mut parent = String::new();
    for line in pretty.lines() {
        let depth = (line.len() - line.trim_start().len()) / 2;
        let Some((key, _)) = line.trim_start().strip_prefix('"').and_then(|l| l.split_once("\": "))
        else {
            continue;
        };
        let path = match depth {
            1 => {
                parent = key.to_owned();
                key.to_owned()
            }
            2 => format!("{parent}.{key}"),
            _ => format!("{parent}[].{key}"),
        };
        let data_keys = depth > 1 && (parent == "settings" || parent == "units");
        if !data_keys && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// The value at a documented path.
fn at<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    match path.split_once("[].") {
        Some((array, key)) => &v[array][0][key],
        None => path.split('.').fold(v, |v, key| &v[key]),
    }
}

/// schemas/summary.md lists every field of summary.json in order, with its JSON type and
/// whether it may be null; every `units` key is a documented field.
#[test]
fn the_summary_document_matches_summary_json() {
    // Every Option is None here, every other field holds its type's zero.
    let sample = Summary {
        markouts: vec![Markout { horizon_seconds: 1, fills: 0, mean: None, mean_bps: None }],
        markouts_by: vec![GroupMarkout {
            by: "side",
            group: "bid",
            horizon_seconds: 1,
            fills: 0,
            mean: None,
            mean_bps: None,
        }],
        ..Summary::default()
    };
    let pretty = serde_json::to_string_pretty(&sample).unwrap();
    let value: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    let fields = summary_fields();
    let documented: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(documented, json_paths(&pretty), "schemas/summary.md disagrees with the code");
    for field in &fields {
        let v = at(&value, &field.path);
        assert_eq!(field.nullable, v.is_null(), "nullable of {}", field.path);
        if v.is_null() {
            continue;
        }
        let fits = match field.json_type.as_str() {
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_f64(),
            "string" => v.is_string(),
            "decimal string" => v.as_str().is_some_and(|t| t.parse::<f64>().is_ok()),
            "timestamp string" => v.is_string(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "boolean" => v.is_boolean(),
            other => panic!("{}: unknown JSON type {other}", field.path),
        };
        assert!(fits, "{} is documented as {} but is {v}", field.path, field.json_type);
    }
    for (key, _) in report::units(None) {
        let documented = match key.strip_prefix("settings.") {
            Some(setting) => report::DECIMAL_SETTINGS.contains(&setting),
            None => documented.iter().any(|d| d.replace("[]", "") == key),
        };
        assert!(documented, "units names {key}, which schemas/summary.md does not document");
    }
}

#[test]
fn a_changed_document_would_be_caught() {
    // The parser must see every column, or the test above could pass on an empty document.
    let doc = read_doc(Table::BookTop);
    assert_eq!(doc.columns.len(), 7 + 4 * BOOK_TOP_LEVELS);
    assert_eq!(doc.columns[7].name, "bid_price_0");
    assert_eq!(doc.columns.last().map(|c| c.name.as_str()), Some("ask_qty_19"));
    let fields = summary_fields();
    assert!(fields.len() > 40, "{fields:?}");
    assert_eq!(fields[0].path, "venue");
    assert!(fields.iter().any(|f| f.path == "markouts[].mean_bps" && f.nullable));
    let max_abs = fields.iter().find(|f| f.path == "max_abs_inventory").unwrap();
    assert_eq!(max_abs.json_type, "decimal string", "an escaped | does not split a cell");
}
