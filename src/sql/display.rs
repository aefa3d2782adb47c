//! Results on stdout: a boxed table for people, CSV, or JSON lines.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use std::io::Write;

use super::{Format, SqlError};

/// Writes batches in the chosen format; an empty result still prints its header.
pub fn write_batches(
    out: &mut dyn Write,
    format: Format,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), SqlError> {
    let empty;
    let batches = if batches.is_empty() {
        empty = [RecordBatch::new_empty(schema)];
        &empty[..]
    } else {
        batches
    };
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches)
                .map_err(|e| SqlError::query_text(&e.to_string()))?;
            writeln!(out, "{table}").map_err(SqlError::Write)?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut *out);
            for batch in batches {
                writer.write(batch).map_err(SqlError::Output)?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut *out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>()).map_err(SqlError::Output)?;
            writer.finish().map_err(SqlError::Output)?;
        }
    }
    out.flush().map_err(SqlError::Write)
}
