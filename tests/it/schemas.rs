//! The documents in `schemas/` and the code's Arrow schemas must agree column for column.

use std::path::Path;

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

/// Reads a schema document: the `Sort order:` line and the rows of the column table.
/// Rows whose name holds `{i}` form a group repeated for every book level.
fn read_doc(table: Table) -> Doc {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(format!("{}.md", table.name()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sort_order = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(order) = line.strip_prefix("Sort order:") {
            sort_order = order.split(',').map(|c| c.trim().to_string()).collect();
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if line.starts_with('|')
            && cells.len() == 5
            && cells[0] != "column"
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

#[test]
fn a_changed_document_would_be_caught() {
    // The parser must see every column, or the test above could pass on an empty document.
    let doc = read_doc(Table::BookTop);
    assert_eq!(doc.columns.len(), 7 + 4 * BOOK_TOP_LEVELS);
    assert_eq!(doc.columns[7].name, "bid_price_0");
    assert_eq!(doc.columns.last().map(|c| c.name.as_str()), Some("ask_qty_19"));
}
