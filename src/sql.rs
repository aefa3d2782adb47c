//! `mdkit sql`: DataFusion over the registered tables, printed as a table, CSV or JSON lines.
//!
//! Files in the tree that are not readable parts are named on stderr, one line each, and the
//! query runs over the rest.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use arrow::array::RecordBatch;
use indicatif::ProgressBar;

use crate::storage::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A boxed table for people
    Table,
    /// CSV with a header line
    Csv,
    /// One JSON object per row (JSON lines)
    Json,
}

/// Run SQL over the tables: depth, book_top, trades, events, calibration.
///
/// Each table has its file columns plus `venue`, `market` and `date` from the partition
/// directories; prices are DECIMAL(18, 8), times TIMESTAMP(ns, UTC).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mdkit sql \"SELECT market, date, count(*) FROM trades GROUP BY 1, 2 ORDER BY 1, 2\"\n  mdkit sql --format csv \"SELECT * FROM book_top WHERE market = 'ETH-USD' LIMIT 10\"\n  mdkit sql -f sql/my_query.sql"
)]
pub struct Args {
    /// The query to run
    #[arg(value_name = "QUERY", required_unless_present = "file")]
    pub query: Option<String>,
    /// Read the query from a file instead
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<()> {
    crate::process::require_data_dir(data)?;
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read query file {}", file.display()))?,
        (None, None) => anyhow::bail!("give a query, or --file with one"),
    };
    let runtime = crate::process::query_runtime()?;
    let (schema, batches) = runtime.block_on(query_batches(data, &query))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write_batches(&mut out, args.format, schema, &batches)?;
    out.flush().context("cannot write the result")?;
    Ok(())
}

async fn query_batches(
    data: &Path,
    query: &str,
) -> anyhow::Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let session = Session::open(data)
        .await
        .with_context(|| format!("cannot open the data tree at {}", data.display()))?;
    let spinner = ProgressBar::new_spinner().with_message("running query");
    if std::io::stderr().is_terminal() {
        spinner.enable_steady_tick(Duration::from_millis(120));
    }
    let df = session.ctx.sql(query).await.context("query failed")?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.context("query failed")?;
    spinner.finish_and_clear();
    Ok((schema, batches))
}

/// Writes batches in the chosen format; an empty result still prints its header.
pub fn write_batches(
    out: &mut impl Write,
    format: Format,
    schema: arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    let empty;
    let batches = if batches.is_empty() {
        empty = [RecordBatch::new_empty(schema)];
        &empty[..]
    } else {
        batches
    };
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches)?;
            writeln!(out, "{table}")?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(out);
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
            writer.finish()?;
        }
    }
    Ok(())
}
