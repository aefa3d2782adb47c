//! `mdkit sql`: DataFusion over the registered tables, printed as a table, CSV or JSON lines.
//! A query on the command line, a script from a file or stdin, or an interactive shell.
//!
//! [`input`] cuts text into statements and dot-commands, [`engine`] runs one of them over the
//! session, [`display`] prints results, [`shell`] is the interactive loop; this file picks
//! the input and runs scripts. Files in the tree that are not readable parts are named on
//! stderr, one line each, and the statements run over the rest.

use std::fmt;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;

mod display;
mod engine;
mod input;
mod shell;

pub use display::write_batches;

use engine::{Engine, Flow};
use input::{Feed, Item};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A boxed table for people (durations and intervals as 1.27s, 3m 2s)
    Table,
    /// CSV with a header line
    Csv,
    /// One JSON object per row (JSON lines)
    Json,
}

/// `mdkit sql --help`.
pub const LONG_ABOUT: &str = "\
Run SQL over the tables: depth, book_top, trades, events, calibration.

Each table has its file columns plus `venue`, `market` and `date` from the partition
directories; prices are DECIMAL(18, 8), times TIMESTAMP(ns, UTC).

With no QUERY and no --file, on a terminal: an interactive shell with history (kept in
$XDG_DATA_HOME/mdkit/sql_history, else ~/.local/share/mdkit/sql_history). Statements end
with ';' and may span lines; dot-commands: .tables, .schema [TABLE], .help, .quit. An error
prints one line and the shell goes on; Ctrl+C drops the statement being typed or stops the
one running; Ctrl+D leaves.

With no QUERY and stdin not a terminal, or with QUERY or FILE `-`: a script from stdin. A
script (and QUERY) may hold several statements and dot-commands; each result is printed in
turn. A script stops at its first error (like `sqlite3 -bail`): one line on stderr naming the
statement and its line, exit code 2.

In the table format durations and intervals read like 1.27s, 3m 2s or 1mo 2d (rounded to the
millisecond from a second up); CSV and JSON keep arrow's exact ISO 8601 text.";

const EXAMPLES: &str = "\
Examples:
  mdkit sql
  mdkit sql \"SELECT market, date, count(*) FROM trades GROUP BY 1, 2 ORDER BY 1, 2\"
  mdkit sql --format csv \"SELECT * FROM book_top WHERE market = 'BTCUSDT' LIMIT 10\"
  mdkit sql \"SELECT max(ts_recv) - min(ts_recv) AS span FROM trades\"
  mdkit sql .tables
  mdkit sql -f sql/my_query.sql
  echo 'SELECT count(*) FROM depth; SELECT count(*) FROM trades;' | mdkit sql";

#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The statements to run (separated by ';'), or a dot-command; `-` reads stdin
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,
    /// Run the script in FILE (`-` for stdin)
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Where the statements run: `local` (DataFusion in this process) or a Ballista
    /// scheduler, ballista://HOST:PORT, whose executors read the same --data
    #[arg(long, value_name = "ENGINE", default_value = "local", env = "MDKIT_ENGINE")]
    pub engine: crate::storage::Engine,
}

/// What went wrong with a statement, a dot-command or the input; every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// DataFusion refused or failed the statement, in its own words without Rust's.
    #[error("{0}")]
    Query(String),
    #[error("table '{name}' not found; tables: {}", .tables.join(", "))]
    UnknownTable { name: String, tables: Vec<String> },
    #[error("unknown command {0}: .help lists the commands")]
    UnknownCommand(String),
    #[error("{0}")]
    Usage(String),
    #[error("interrupted")]
    Interrupted,
    #[error("cannot write the result")]
    Write(#[source] std::io::Error),
    #[error("cannot write the result")]
    Output(#[source] arrow::error::ArrowError),
    #[error("cannot read {what}")]
    Read {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("terminal: {0}")]
    Terminal(String),
    /// A statement or dot-command of a script failed; `at` is left out when the input was
    /// one statement on the command line.
    #[error("query failed: {}{source}", .at.map(|at| format!("{at}: ")).unwrap_or_default())]
    Failed {
        at: Option<Place>,
        #[source]
        source: Box<SqlError>,
    },
}

impl SqlError {
    /// A [`SqlError::Query`] with the text on one line.
    pub(crate) fn query_text(text: &str) -> Self {
        Self::Query(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Whether this is the output failing rather than the statement.
    fn is_output(&self) -> bool {
        matches!(self, SqlError::Write(_) | SqlError::Output(_))
    }
}

/// Where in a script an item starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Statement { ordinal: usize, line: usize },
    Command { line: usize },
}

impl Place {
    fn of(item: &Item) -> Self {
        match item {
            Item::Statement { ordinal, line, .. } => {
                Place::Statement { ordinal: *ordinal, line: *line }
            }
            Item::Command { line, .. } => Place::Command { line: *line },
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Statement { ordinal, line } => write!(f, "statement {ordinal} (line {line})"),
            Place::Command { line } => write!(f, "line {line}"),
        }
    }
}

/// Where the statements come from.
enum Source {
    Shell,
    Text(String),
    File { path: PathBuf, file: std::fs::File },
    Stdin,
}

impl Source {
    /// The source the flags name; a file is opened here, before the tree is.
    fn of(args: &Args) -> anyhow::Result<Source> {
        Ok(match (&args.query, &args.file) {
            (Some(query), _) if query == "-" => Source::Stdin,
            (Some(query), _) => Source::Text(query.clone()),
            (None, Some(path)) if path.as_os_str() == "-" => Source::Stdin,
            (None, Some(path)) => Source::File {
                file: std::fs::File::open(path)
                    .with_context(|| format!("cannot read query file {}", path.display()))?,
                path: path.clone(),
            },
            (None, None) if std::io::stdin().is_terminal() => Source::Shell,
            (None, None) => Source::Stdin,
        })
    }
}

pub fn run(data: &Path, args: Args) -> anyhow::Result<()> {
    crate::process::require_data_dir(data)?;
    let source = Source::of(&args)?;
    let runtime = crate::process::query_runtime()?;
    let session = runtime
        .block_on(crate::storage::Session::open_on(data, &args.engine, None))
        .with_context(|| format!("cannot open the data tree at {}", data.display()))?;
    let engine = Engine::new(session, args.format);
    let script = Script { engine: &engine, runtime: &runtime };
    match source {
        Source::Shell => shell::run(&engine, &runtime, data)?,
        Source::Text(text) => {
            let several = items(&text) > 1;
            script.run(text.as_bytes(), "the query", several)?;
        }
        Source::File { path, file } => {
            script.run(std::io::BufReader::new(file), &path.display().to_string(), true)?;
        }
        Source::Stdin => script.run(std::io::stdin().lock(), "stdin", true)?,
    }
    Ok(())
}

/// How many statements and dot-commands a text holds.
fn items(text: &str) -> usize {
    let mut feed = Feed::new();
    let complete: usize = text.lines().map(|line| feed.push_line(line).len()).sum();
    complete + usize::from(feed.finish().is_some())
}

/// Statements and dot-commands read line by line and run in order, up to the first error.
struct Script<'a> {
    engine: &'a Engine,
    runtime: &'a tokio::runtime::Runtime,
}

impl Script<'_> {
    /// `what` names the input in a read error; `name_places` puts the statement number and
    /// line in a statement's error.
    fn run(&self, input: impl BufRead, what: &str, name_places: bool) -> Result<(), SqlError> {
        let mut feed = Feed::new();
        let mut lines = input.lines();
        loop {
            let (items, end) = match lines.next() {
                Some(line) => {
                    let line =
                        line.map_err(|source| SqlError::Read { what: what.to_owned(), source })?;
                    (feed.push_line(&line), false)
                }
                None => (feed.finish().into_iter().collect(), true),
            };
            for item in items {
                let flow = self.runtime.block_on(run_item(self.engine, &item)).map_err(|e| {
                    if e.is_output() {
                        e
                    } else {
                        SqlError::Failed {
                            at: name_places.then(|| Place::of(&item)),
                            source: Box::new(e),
                        }
                    }
                })?;
                if flow == Flow::Quit {
                    return Ok(());
                }
            }
            if end {
                return Ok(());
            }
        }
    }
}

/// Runs one item, printing to stdout.
async fn run_item(engine: &Engine, item: &Item) -> Result<Flow, SqlError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match item {
        Item::Statement { text, .. } => {
            engine.statement(text, &mut out).await.map(|()| Flow::Continue)
        }
        Item::Command { text, .. } => engine.command(text, &mut out).await,
    }
}
