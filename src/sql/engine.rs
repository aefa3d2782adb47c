//! One statement or dot-command at a time over the open [`Session`]: runs it, prints what it
//! returns, and turns DataFusion's errors into one plain line (no `Error during planning:`,
//! no `ParserError("…")`, no backtrace). Knows nothing of where the input comes from.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;
use indicatif::ProgressBar;

use super::display::write_batches;
use super::{Format, SqlError};
use crate::storage::Session;

/// What the input loop does after a dot-command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub const HELP: &str = "\
.tables           the tables, one a line
.schema [TABLE]   the columns and types of TABLE, or of every table
.help             this text
.quit             leave (also .exit, or Ctrl+D in the shell)
SQL statements end with ';' and may span lines. In the shell, Ctrl+C drops the statement
being typed, or stops the one running.";

pub struct Engine {
    session: Session,
    format: Format,
}

impl Engine {
    pub fn new(session: Session, format: Format) -> Self {
        Self { session, format }
    }

    /// The tables and views a statement can name, sorted.
    pub fn tables(&self) -> Vec<String> {
        let state = self.session.ctx.state();
        let catalog = &state.config_options().catalog;
        let mut names = self
            .session
            .ctx
            .catalog(&catalog.default_catalog)
            .and_then(|c| c.schema(&catalog.default_schema))
            .map(|s| s.table_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs one SQL statement and prints its rows; a statement that returns no columns
    /// (`CREATE VIEW`, `SET`) prints nothing.
    pub async fn statement(&self, sql: &str, out: &mut dyn Write) -> Result<(), SqlError> {
        let spinner = ProgressBar::new_spinner().with_message("running query");
        if std::io::stderr().is_terminal() {
            spinner.enable_steady_tick(Duration::from_millis(120));
        }
        let result = self.collect(sql).await;
        spinner.finish_and_clear();
        let (schema, batches) = result.map_err(|e| self.explain(&e))?;
        if schema.fields().is_empty() {
            return Ok(());
        }
        write_batches(out, self.format, schema, &batches)
    }

    async fn collect(
        &self,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<arrow::array::RecordBatch>), DataFusionError> {
        let df = self.session.ctx.sql(sql).await?;
        self.session.vet(df.logical_plan()).map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }

    /// Runs a dot-command line such as `.schema trades`.
    pub async fn command(&self, line: &str, out: &mut dyn Write) -> Result<Flow, SqlError> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (name, args.as_slice()) {
            (".tables", []) => {
                for table in self.tables() {
                    writeln!(out, "{table}").map_err(SqlError::Write)?;
                }
                out.flush().map_err(SqlError::Write)?;
            }
            (".schema", []) => {
                let schema =
                    self.session.ctx.state().config_options().catalog.default_schema.clone();
                let query = format!(
                    "SELECT table_name, column_name, data_type, is_nullable \
                     FROM information_schema.columns WHERE table_schema = '{}' \
                     ORDER BY table_name, ordinal_position",
                    schema.replace('\'', "''")
                );
                self.statement(&query, out).await?;
            }
            (".schema", [table]) => {
                let tables = self.tables();
                if !tables.iter().any(|t| t == table) {
                    return Err(SqlError::UnknownTable { name: (*table).to_owned(), tables });
                }
                self.statement(&format!("DESCRIBE \"{}\"", table.replace('"', "\"\"")), out)
                    .await?;
            }
            (".help", []) => {
                writeln!(out, "{HELP}").map_err(SqlError::Write)?;
                out.flush().map_err(SqlError::Write)?;
            }
            (".quit" | ".exit", []) => return Ok(Flow::Quit),
            (".tables" | ".help" | ".quit" | ".exit", _) => {
                return Err(SqlError::Usage(format!("{name} takes no argument")));
            }
            (".schema", _) => return Err(SqlError::Usage(".schema takes one table".into())),
            _ => return Err(SqlError::UnknownCommand(name.to_owned())),
        }
        Ok(Flow::Continue)
    }

    /// An unknown table names the tables there are; anything else is [`plain`] text.
    fn explain(&self, err: &DataFusionError) -> SqlError {
        match missing_table(err) {
            Some(name) => SqlError::UnknownTable { name, tables: self.tables() },
            None => SqlError::query_text(&plain(err)),
        }
    }
}

/// The table a statement named that does not exist, as the user spelled it.
fn missing_table(err: &DataFusionError) -> Option<String> {
    let from_message =
        |text: &str| text.strip_prefix("table '")?.strip_suffix("' not found").map(str::to_owned);
    if let Some(name) = err.diagnostic().and_then(|d| from_message(&d.message)) {
        return Some(name);
    }
    match err.find_root() {
        DataFusionError::Plan(text) => from_message(text)
            .map(|name| name.strip_prefix("datafusion.public.").map(str::to_owned).unwrap_or(name)),
        _ => None,
    }
}

/// The message of a DataFusion error for a person: the innermost useful text, without the
/// variant's prefix (`Error during planning: `), the parser's Debug form
/// (`ParserError("…")`), optimizer-rule context, the bug-report footer or a backtrace.
pub fn plain(err: &DataFusionError) -> String {
    let text = match err {
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            return plain(inner);
        }
        DataFusionError::Shared(inner) => return plain(inner),
        DataFusionError::Collection(errs) if !errs.is_empty() => return plain(&errs[0]),
        DataFusionError::ArrowError(arrow_err, _) => match arrow_err.as_ref() {
            arrow::error::ArrowError::ExternalError(inner) => match inner.downcast_ref() {
                Some(df) => return plain(df),
                None => inner.to_string(),
            },
            other => other.to_string(),
        },
        DataFusionError::External(inner) => match inner.downcast_ref() {
            Some(df) => return plain(df),
            None => inner.to_string(),
        },
        DataFusionError::SQL(parser, _) => match parser.as_ref() {
            ParserError::TokenizerError(text) | ParserError::ParserError(text) => {
                format!("syntax error: {text}")
            }
            ParserError::RecursionLimitExceeded => "syntax error: nested too deeply".into(),
        },
        DataFusionError::Internal(text) => format!("internal error: {text}"),
        DataFusionError::NotImplemented(text) => format!("not supported: {text}"),
        other => other.message().into_owned(),
    };
    text.split(DataFusionError::BACK_TRACE_SEP).next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::Diagnostic;

    #[test]
    fn plain_text_drops_prefixes_debug_forms_and_context() {
        let parser = DataFusionError::SQL(
            Box::new(ParserError::ParserError("Expected: an SQL statement, found: selec".into())),
            None,
        );
        assert_eq!(plain(&parser), "syntax error: Expected: an SQL statement, found: selec");
        let wrapped = DataFusionError::Context(
            "Optimizer rule 'simplify_expressions' failed".into(),
            Box::new(DataFusionError::ArrowError(
                Box::new(arrow::error::ArrowError::DivideByZero),
                None,
            )),
        );
        assert_eq!(plain(&wrapped), "Divide by zero error");
        let plan = DataFusionError::Plan("bad plan".into());
        assert_eq!(plain(&plan), "bad plan");
    }

    #[test]
    fn a_missing_table_is_found_as_spelled() {
        let inner = DataFusionError::Plan("table 'datafusion.public.trade' not found".into());
        assert_eq!(missing_table(&inner).as_deref(), Some("trade"));
        let err = inner.with_diagnostic(Diagnostic::new_error("table 'Trade' not found", None));
        assert_eq!(missing_table(&err).as_deref(), Some("Trade"));
        assert_eq!(missing_table(&DataFusionError::Plan("other".into())), None);
    }
}
