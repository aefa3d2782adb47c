//! DataFusion over a tree the writer made, and the `mdkit` command line around it: one
//! query, scripts from a file or stdin, the interactive shell on a pseudo-terminal, and the
//! shell completion scripts.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use arrow::datatypes::{DataType, TimeUnit};
use mdkit::storage::Session;

use crate::common::{mdkit, stderr, stdout, trades, write_trades, DAY_20, SEC};

/// Runs `mdkit --data <data> <args>` with `input` on stdin.
fn mdkit_stdin(data: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mdkit");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The data tree a clone ships: a real Binance BTCUSDT sample.
fn shipped_data() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

const TABLES: &str = "book_top, calibration, depth, events, trades";

/// ETH-USD: 100 trades on 11-20 and 50 on 11-21; BTC-USD: 30 on 11-21.
fn two_markets(root: &std::path::Path) {
    write_trades(root, "ETH-USD", &trades(150, DAY_20 + 86_400 * SEC - 100 * SEC));
    write_trades(root, "BTC-USD", &trades(30, DAY_20 + 86_400 * SEC + 3_600 * SEC));
}

#[tokio::test]
async fn trades_group_by_market_and_date_with_exact_types() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    assert!(session.skipped.is_empty());
    let df = session
        .ctx
        .sql("SELECT market, date, count(*) FROM trades GROUP BY 1, 2 ORDER BY 1, 2")
        .await
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    let rows: Vec<&str> =
        text.lines().filter(|l| l.starts_with("| ") && !l.contains("market")).collect();
    assert_eq!(
        rows,
        vec![
            "| BTC-USD | 2026-11-21 | 30       |",
            "| ETH-USD | 2026-11-20 | 100      |",
            "| ETH-USD | 2026-11-21 | 50       |",
        ],
        "{text}"
    );

    let df = session.ctx.sql("SELECT price, qty, ts_event, ts_recv, trade_id FROM trades WHERE market = 'ETH-USD' ORDER BY ts_recv LIMIT 1").await.unwrap();
    let schema = df.schema().as_arrow().clone();
    let batches = df.collect().await.unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Decimal128(18, 8));
    assert_eq!(schema.field(1).data_type(), &DataType::Decimal128(18, 8));
    let utc_ns = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    assert_eq!(schema.field(2).data_type(), &utc_ns);
    assert_eq!(schema.field(3).data_type(), &utc_ns);
    let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert!(text.contains("84050.12345678"), "the price keeps all 8 decimals: {text}");
    assert!(text.contains("2103821900219158529"), "the trade id is exact: {text}");
}

#[tokio::test]
async fn a_query_on_a_directory_prunes_by_partition_and_empty_tables_exist() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let session = Session::open(dir.path()).await.unwrap();
    let df = session.ctx.sql("SELECT count(*) AS n FROM trades WHERE market = 'BTC-USD' AND date = DATE '2026-11-21'").await.unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(text.contains("| 30 |"), "{text}");
    for table in ["depth", "book_top", "events", "calibration"] {
        let df = session.ctx.sql(&format!("SELECT count(*) AS n FROM {table}")).await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        assert!(text.contains("| 0 |"), "{table}: {text}");
    }
}

#[test]
fn sql_prints_a_table_csv_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let query = "SELECT market, trade_id, price, side FROM trades WHERE market = 'BTC-USD' ORDER BY ts_recv LIMIT 2";

    let out = mdkit(dir.path(), &["sql", query]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("+---------+"), "{table}");
    assert!(table.contains("| BTC-USD | 2103821900219158529 | 84050.12345678 | sell |"), "{table}");

    let out = mdkit(dir.path(), &["sql", "--format", "csv", query]);
    assert_eq!(stdout(&out), "market,trade_id,price,side\nBTC-USD,2103821900219158529,84050.12345678,sell\nBTC-USD,2103821900219158530,84050.13345678,buy\n");

    let out = mdkit(dir.path(), &["sql", "--format", "json", query]);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["market"], "BTC-USD");
    assert_eq!(lines[1]["side"], "buy");

    let out = mdkit(dir.path(), &["sql", "--format", "csv", "SELECT * FROM trades WHERE 1 = 0"]);
    assert!(
        stdout(&out).starts_with(
            "ts_event,ts_recv,conn,seq,trade_id,side,price,qty,kind,venue,market,date\n"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_query_is_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["sql", "SELECT nope FROM trades"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("mdkit: query failed: "), "{err}");
    assert!(err.contains("nope"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // No Rust Debug forms or DataFusion variant prefixes, whatever the failure.
    for query in ["SELEC 1", "SELECT nope FROM trades", "SELECT 1/0", "SELECT CAST('x' AS INT)"] {
        let out = mdkit(dir.path(), &["sql", query]);
        assert_eq!(out.status.code(), Some(2), "{query}");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{query}: {err}");
        for debug in [
            "Error(",
            "Error during planning",
            "SQL error",
            "Arrow error",
            "Schema error",
            "caused by",
            "backtrace",
        ] {
            assert!(!err.contains(debug), "{query}: {debug} in {err}");
        }
    }
    assert_eq!(
        stderr(&mdkit(dir.path(), &["sql", "SELEC 1"])),
        "mdkit: query failed: syntax error: Expected: an SQL statement, found: SELEC at Line: 1, Column: 1\n"
    );
}

#[test]
fn an_unknown_table_lists_the_tables_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["sql", "SELECT * FROM trade"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("mdkit: query failed: table 'trade' not found; tables: {TABLES}\n")
    );
    let out = mdkit(dir.path(), &["sql", ".schema trade"]);
    assert_eq!(
        stderr(&out),
        format!("mdkit: query failed: table 'trade' not found; tables: {TABLES}\n")
    );
}

#[test]
fn a_script_on_stdin_runs_dot_commands_and_several_statements_in_order() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let script = ".tables\nSELECT count(*) AS n\n  FROM trades; SELECT 'a;b' AS s;\n-- done\n";
    let want = "book_top\ncalibration\ndepth\nevents\ntrades\nn\n180\ns\na;b\n";
    let out = mdkit_stdin(dir.path(), &["sql", "--format", "csv"], script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), want);
    // `-` and `-f -` name stdin; a file holds the same script.
    for args in [&["sql", "--format", "csv", "-"][..], &["sql", "--format", "csv", "-f", "-"]] {
        let out = mdkit_stdin(dir.path(), args, script);
        assert_eq!(stdout(&out), want, "{args:?}");
    }
    let file = dir.path().join("script.sql");
    std::fs::write(&file, script).unwrap();
    let out = mdkit(dir.path(), &["sql", "--format", "csv", "-f", file.to_str().unwrap()]);
    assert_eq!(stdout(&out), want);
    // So does the command line.
    let out = mdkit(dir.path(), &["sql", "--format", "csv", "SELECT 1 AS a; SELECT 2 AS b"]);
    assert_eq!(stdout(&out), "a\n1\nb\n2\n");
    let out = mdkit(dir.path(), &["sql", ".tables"]);
    assert_eq!(stdout(&out), "book_top\ncalibration\ndepth\nevents\ntrades\n");
}

#[test]
fn a_script_stops_at_its_first_error_naming_the_statement_and_line() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let script = "SELECT 1 AS a;\n\nSELECT *\n  FROM trade;\nSELECT 3 AS c;\n";
    let out = mdkit_stdin(dir.path(), &["sql", "--format", "csv"], script);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "a\n1\n", "the first statement ran, the third did not");
    assert_eq!(
        stderr(&out),
        format!("mdkit: query failed: statement 2 (line 3): table 'trade' not found; tables: {TABLES}\n")
    );
    let out = mdkit_stdin(dir.path(), &["sql"], "SELECT 1;\n.nope\n");
    assert_eq!(
        stderr(&out),
        "mdkit: query failed: line 2: unknown command .nope: .help lists the commands\n"
    );
    // `.quit` ends a script early.
    let out = mdkit_stdin(dir.path(), &["sql", "--format", "csv"], "SELECT 1 AS a;\n.quit\nSELEC");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a\n1\n");
}

#[test]
fn durations_and_intervals_print_humanly_in_a_table() {
    let out = mdkit(
        &shipped_data(),
        &[
            "sql",
            "SELECT max(ts_recv) - min(ts_recv) AS span, INTERVAL '1.27 seconds' AS i, \
             INTERVAL '1 month 2 days' AS c FROM trades WHERE date = DATE '2024-08-09'",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let row = table.lines().nth(3).unwrap_or_default();
    let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells.len(), 3, "{table}");
    assert!(cells[0].ends_with('s') && !cells[0].starts_with("PT"), "{table}");
    assert_eq!(&cells[1..], ["1.27s", "1mo 2d"], "{table}");
    // CSV keeps arrow's exact ISO 8601 durations for programs.
    let out = mdkit(
        &shipped_data(),
        &["sql", "--format", "csv", "SELECT arrow_cast(182000, 'Duration(Millisecond)') AS d"],
    );
    assert_eq!(stdout(&out), "d\nPT182S\n");
    let out =
        mdkit(&shipped_data(), &["sql", "SELECT arrow_cast(182000, 'Duration(Millisecond)') AS d"]);
    assert!(stdout(&out).contains("| 3m 2s |"), "{}", stdout(&out));
}

#[test]
fn a_missing_data_directory_is_an_error_not_an_empty_answer() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    let out = mdkit(&missing, &["sql", "SELECT count(*) FROM trades"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("does not exist") && err.contains("typo"), "{err}");
}

#[test]
fn the_query_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    two_markets(dir.path());
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SELECT count(*) AS n FROM trades\n").unwrap();
    let out = mdkit(dir.path(), &["sql", "--format", "csv", "-f", file.to_str().unwrap()]);
    assert_eq!(stdout(&out), "n\n180\n");
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = mdkit(dir.path(), &["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for command in
        ["collect", "calibrate", "backtest", "verify", "simulate", "import", "spread", "sql"]
    {
        assert!(help.contains(&format!("  {command} ")), "{command} missing from:\n{help}");
    }
    assert!(help.contains("--data <DIR>"));
}

/// `mdkit sql` on a pseudo-terminal: the real shell with rustyline in raw mode. Each line is
/// typed only once the shell's prompt for it is on the screen, so no keystroke can race the
/// editor; the waits are for output, never for time.
#[cfg(unix)]
mod shell {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc::{channel, Receiver};
    use std::time::Duration;

    /// How long one answer may take on a loaded machine before the test fails.
    const PATIENCE: Duration = Duration::from_secs(120);

    struct Shell {
        child: Child,
        keys: File,
        screen: Receiver<Vec<u8>>,
        seen: String,
        prompts: usize,
    }

    impl Shell {
        fn start(data: &Path, home: &Path) -> Shell {
            let pty = nix::pty::openpty(None, None).expect("openpty");
            let terminal = File::from(pty.slave);
            let child = Command::new(env!("CARGO_BIN_EXE_mdkit"))
                .arg("--data")
                .arg(data)
                .arg("sql")
                .stdin(terminal.try_clone().unwrap())
                .stdout(terminal)
                .stderr(Stdio::piped())
                .env("TERM", "xterm")
                .env("HOME", home)
                .env_remove("XDG_DATA_HOME")
                .env_remove("RUST_LOG")
                .spawn()
                .expect("run mdkit");
            let keys = File::from(pty.master);
            let mut reader = keys.try_clone().unwrap();
            let (tx, screen) = channel();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                // Ends with EIO once the shell has exited and closed the terminal.
                while let Ok(n @ 1..) = reader.read(&mut buf) {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
            Shell { child, keys, screen, seen: String::new(), prompts: 0 }
        }

        fn prompt_count(&self) -> usize {
            self.seen.matches("mdkit> ").count() + self.seen.matches("...> ").count()
        }

        /// Waits for the next prompt and returns what the terminal showed since the last one.
        fn next_prompt(&mut self, want: &str) -> String {
            let from = self.seen.len();
            while self.prompt_count() <= self.prompts {
                match self.screen.recv_timeout(PATIENCE) {
                    Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                    Err(err) => panic!("no prompt ({err}); the terminal showed:\n{}", self.seen),
                }
            }
            self.prompts += 1;
            let shown = self.seen[from..].to_owned();
            let last = ["mdkit> ", "   ...> "].into_iter().max_by_key(|p| shown.rfind(p));
            assert_eq!(last, Some(want), "the last prompt; the terminal showed:\n{shown}");
            shown
        }

        fn type_line(&mut self, line: &str) {
            self.keys.write_all(line.as_bytes()).unwrap();
            self.keys.write_all(b"\r").unwrap();
        }
    }

    #[test]
    fn the_shell_runs_dot_commands_and_multi_line_statements_and_goes_on_after_an_error() {
        let dir = tempfile::tempdir().unwrap();
        super::two_markets(dir.path());
        let home = tempfile::tempdir().unwrap();
        let mut shell = Shell::start(dir.path(), home.path());
        shell.next_prompt("mdkit> ");

        shell.type_line(".tables");
        let shown = shell.next_prompt("mdkit> ");
        assert!(
            shown.contains("book_top\r\ncalibration\r\ndepth\r\nevents\r\ntrades\r\n"),
            "{shown}"
        );

        shell.type_line("SELECT count(*) AS n,");
        shell.next_prompt("   ...> ");
        shell.type_line("  'x;y' AS s FROM trades;");
        let shown = shell.next_prompt("mdkit> ");
        assert!(shown.contains("| 180 | x;y |"), "{shown}");

        shell.type_line("SELECT * FROM trade;");
        shell.next_prompt("mdkit> ");

        // Ctrl+C drops a statement half typed: the next one runs on its own.
        shell.type_line("SELECT");
        shell.next_prompt("   ...> ");
        shell.keys.write_all(&[0x03]).unwrap();
        shell.next_prompt("mdkit> ");
        shell.type_line("SELECT 4 AS d;");
        let shown = shell.next_prompt("mdkit> ");
        assert!(shown.contains("| 4 |"), "{shown}");

        shell.type_line(".quit");
        let out = shell.child.wait_with_output().unwrap();
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("mdkit sql over "), "the banner: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error: ")).collect();
        assert_eq!(
            errors,
            [format!("Error: table 'trade' not found; tables: {}", super::TABLES)],
            "{err}"
        );

        let history = std::fs::read_to_string(home.path().join(".local/share/mdkit/sql_history"))
            .expect("the shell keeps a history file");
        for entry in
            [".tables", "SELECT * FROM trade;", "SELECT 4 AS d;", "  'x;y' AS s FROM trades;"]
        {
            assert!(history.contains(entry), "{entry} missing from the history:\n{history}");
        }
    }
}

#[test]
fn completion_scripts_are_printed_and_the_bash_one_sources() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = mdkit(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("mdkit"), "{shell}");
    }
    if Command::new("bash").arg("--version").output().is_err() {
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: bash is not installed; the bash completion script was not sourced"
        );
        return;
    }
    let exe = env!("CARGO_BIN_EXE_mdkit");
    // Source it, then ask the completion function what `mdkit sq<TAB>` offers.
    let script = format!(
        "set -e; source <('{exe}' completions bash); complete -p mdkit; \
         COMP_WORDS=(mdkit sq); COMP_CWORD=1; COMP_LINE='mdkit sq'; COMP_POINT=8; \
         _mdkit mdkit sq mdkit; echo \"offered: ${{COMPREPLY[*]}}\""
    );
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("-F _mdkit") && text.ends_with("offered: sql\n"), "{text}");
}
