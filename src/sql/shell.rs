//! The interactive shell: `mdkit sql` with no query on a terminal. Line editing and history
//! by rustyline; statements end with `;` and may span lines (a `...>` prompt continues one);
//! an error prints one line and the shell goes on; Ctrl+C drops the statement being typed or
//! stops the one running; Ctrl+D or `.quit` leaves. History is kept in a file under the
//! user's data directory when it can be, and never stops the shell when it cannot.

use std::path::{Path, PathBuf};

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use super::engine::{Engine, Flow};
use super::input::Feed;
use super::{run_item, SqlError};

const PROMPT: &str = "mdkit> ";
const CONTINUE: &str = "   ...> ";

pub fn run(
    engine: &Engine,
    runtime: &tokio::runtime::Runtime,
    data: &Path,
) -> Result<(), SqlError> {
    let config = rustyline::Config::builder().auto_add_history(false).build();
    let mut editor = DefaultEditor::with_config(config).map_err(terminal)?;
    let history = history_path();
    if let Some(path) = &history {
        // A first run has no file yet; an unreadable one only costs the old entries.
        if let Err(err) = editor.load_history(path) {
            tracing::debug!("no shell history from {}: {err}", path.display());
        }
    }
    eprintln!(
        "mdkit sql over {}: {}\nStatements end with ';'. .help for help, .quit or Ctrl+D to leave.",
        data.display(),
        engine.tables().join(", ")
    );
    let mut feed = Feed::new();
    let mut entry = String::new();
    loop {
        let prompt = if feed.pending() { CONTINUE } else { PROMPT };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                feed.clear();
                entry.clear();
                continue;
            }
            Err(ReadlineError::Eof) => return Ok(()),
            Err(err) => return Err(terminal(err)),
        };
        let items = feed.push_line(&line);
        if !entry.is_empty() {
            entry.push('\n');
        }
        entry.push_str(&line);
        if !feed.pending() {
            remember(&mut editor, history.as_deref(), entry.trim());
            entry.clear();
        }
        for item in items {
            let outcome = runtime.block_on(async {
                tokio::select! {
                    outcome = run_item(engine, &item) => outcome,
                    _ = tokio::signal::ctrl_c() => Err(SqlError::Interrupted),
                }
            });
            match outcome {
                Ok(Flow::Continue) => {}
                Ok(Flow::Quit) => return Ok(()),
                Err(err) if err.is_output() => return Err(err),
                Err(err) => eprintln!("Error: {err}"),
            }
        }
    }
}

/// Adds a finished entry (a statement over several lines is one entry) to the history and
/// appends it to the file; failing to write the file is not worth stopping for.
fn remember(editor: &mut DefaultEditor, file: Option<&Path>, entry: &str) {
    if entry.is_empty() {
        return;
    }
    if let Err(err) = editor.add_history_entry(entry) {
        tracing::debug!("shell history: {err}");
        return;
    }
    let Some(file) = file else { return };
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(err) = editor.append_history(file) {
        tracing::debug!("cannot write shell history to {}: {err}", file.display());
    }
}

/// `$XDG_DATA_HOME/mdkit/sql_history`, else `~/.local/share/mdkit/sql_history`.
fn history_path() -> Option<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })?;
    Some(data_home.join("mdkit").join("sql_history"))
}

fn terminal(err: ReadlineError) -> SqlError {
    SqlError::Terminal(err.to_string())
}
