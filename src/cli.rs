//! Command-line flags for every subcommand, and dispatch. Thin: each subcommand's work lives
//! in its own module behind `run(args)`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Mutex;

use clap::{Parser, Subcommand};
use tracing::Level;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

const ABOUT: &str = "Record, verify, calibrate and backtest market making on crypto L2 order books";

const LONG_ABOUT: &str = "\
mdkit records a venue's public L2 order book and trades into Parquet tables, proves that the
recording is a consistent book, estimates Avellaneda-Stoikov parameters (sigma, A, kappa per
side) with SQL, and replays the recording through a market-making backtest. Every command reads
and writes the same hive-partitioned tables under --data:

  <data>/<table>/venue=<venue>/market=<MARKET>/date=<YYYY-MM-DD>/part-*.parquet

Tables: depth, book_top, trades, events, calibration (see schemas/ for every column).
-v/-vv/-vvv or RUST_LOG (e.g. RUST_LOG=debug) for more detail on stderr; -q for errors only.
Exit codes: 0 ok, 1 problems found (verify), 2 error.";

#[derive(Debug, Parser)]
#[command(name = "mdkit", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Root of the data tree: tables, journal and resume state live below it
    /// [default: ./data; `collect` also reads data_directory from config.json]
    /// An S3 URL (s3://bucket/prefix) reads the tree from object storage; `collect` and
    /// `import` then record into --spool and publish each committed part there.
    #[arg(long, global = true, value_name = "DIR", env = "MDKIT_DATA")]
    pub data: Option<PathBuf>,

    /// With --data s3://…: the local folder `collect` and `import` keep the journal, state
    /// and committed parts in, each part uploaded to the bucket once committed
    #[arg(long, global = true, value_name = "DIR", env = "MDKIT_SPOOL")]
    pub spool: Option<PathBuf>,

    /// With --data s3://…: an S3-compatible server's URL (default: AWS, or $AWS_ENDPOINT_URL);
    /// credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    #[arg(long, global = true, value_name = "URL", env = "MDKIT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// More detail on stderr: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr: no warnings, no progress
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Collect(crate::collect::Args),
    /// Estimate sigma, A and kappa per side from the tables, by SQL
    #[command(long_about = "Estimate the Avellaneda-Stoikov parameters sigma (price/sqrt(s)), \
kappa_bid and kappa_ask (1/price), A_bid and A_ask (1/s) per window by running the SQL in sql/ \
over book_top and trades, on a depth grid chosen from the data; print them with R², fit points, \
order counts and a quality verdict per side (a warning names the setting to change when a fit \
is poor), and write one row per window, with its settings, to the calibration table.")]
    Calibrate(crate::calibrate::Args),
    /// Replay a recording through an Avellaneda-Stoikov market maker: PnL, fills, risk
    Backtest(Box<crate::backtest::Args>),
    /// Prove book integrity: sequence, duplicates, crossed books, snapshot/delta, clocks, files
    Verify(crate::verify::Args),
    /// Run a local venue that speaks the Extended protocol, with a known market and faults
    Simulate(crate::simulate::Args),
    /// Turn raw captures (mdkit journals, hftbacktest Binance files) into the same tables
    Import(crate::import::Args),
    /// Rewrite each closed day's parts into a few large ones, atomically
    #[command(long_about = crate::compact::LONG_ABOUT)]
    Compact(crate::compact::Args),
    /// Today's optimal bid and ask from the latest calibration and book
    Spread(crate::spread::Args),
    /// Run SQL over the tables (DataFusion), or an interactive SQL shell
    #[command(long_about = crate::sql::LONG_ABOUT)]
    Sql(crate::sql::Args),
    /// Run an Apache Ballista scheduler with executors for `sql --engine`
    #[cfg(feature = "ballista")]
    Ballista(crate::cluster::Args),
    /// Settings files: `mdkit config show` prints the effective settings and their sources
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script: `source <(mdkit completions bash)`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting a command would use, its value and where it came from
    #[command(after_help = "\
The settings file is --config FILE, else $MDKIT_CONFIG, else ./config.json when it exists.
One file serves every command: unknown keys are refused by all of them.

Examples:
  mdkit config show
  mdkit config show spread --config my.json")]
    Show {
        /// The command whose settings to show
        #[arg(value_enum, default_value_t = SettingsOf::Backtest)]
        command: SettingsOf,
        /// Settings file (default: $MDKIT_CONFIG, else ./config.json if it exists)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// The commands that read a settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SettingsOf {
    Backtest,
    Spread,
    Collect,
}

impl Cli {
    /// `--data`, or `./data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| PathBuf::from("./data"))
    }
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut data_dir = cli.data_dir();
    crate::storage::remote::set_default_endpoint(cli.s3_endpoint.as_deref());
    let remote = crate::storage::remote::is_remote(&data_dir);
    if remote {
        let url = data_dir.to_string_lossy().into_owned();
        data_dir = crate::storage::remote::open(&url, cli.s3_endpoint.as_deref())?;
    }
    // With a remote tree, the recording commands write a local spool and upload from it.
    let spool = || -> anyhow::Result<(PathBuf, Option<crate::storage::Uploader>)> {
        if !remote {
            return Ok((data_dir.clone(), None));
        }
        let spool = cli.spool.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "--data {} needs --spool DIR: the local folder the journal, state and parts are kept in before they are uploaded",
                data_dir.display()
            )
        })?;
        let uploader = crate::storage::Uploader::new(&spool, &data_dir);
        Ok((spool, Some(uploader)))
    };
    let config_flag = match &cli.command {
        Command::Collect(a) => Some(a.config.as_deref()),
        Command::Backtest(a) => Some(a.config.as_deref()),
        Command::Spread(a) => Some(a.config.as_deref()),
        Command::Config(ConfigCommand::Show { config, .. }) => Some(config.as_deref()),
        _ => None,
    };
    if let Some(flag) = config_flag {
        check_config(flag)?;
    }
    match cli.command {
        Command::Config(ConfigCommand::Show { command, config }) => {
            show_config(command, config.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::Sql(args) => crate::sql::run(&data_dir, args).map(|()| ExitCode::SUCCESS),
        Command::Collect(args) => {
            let (data, upload) = spool()?;
            let data = if remote { Some(data.as_path()) } else { cli.data.as_deref() };
            crate::collect::run(data, upload, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Calibrate(args) => {
            crate::calibrate::run(&data_dir, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Backtest(args) => {
            crate::backtest::run(&data_dir, *args).map(|()| ExitCode::SUCCESS)
        }
        Command::Verify(args) => crate::verify::run(&data_dir, args),
        Command::Compact(_) if remote => anyhow::bail!(
            "compact --data {}: compacting a tree on object storage is not supported yet",
            data_dir.display()
        ),
        Command::Compact(args) => crate::compact::run(&data_dir, args),
        Command::Simulate(args) => crate::simulate::run(args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "ballista")]
        Command::Ballista(args) => crate::cluster::run(args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => {
            let (data, upload) = spool()?;
            crate::import::run(&data, upload, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Spread(args) => crate::spread::run(&data_dir, args).map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics on a failed write (`… | head`).
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "mdkit",
                &mut script,
            );
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every key some command reads from a settings file.
fn known_config_keys() -> Vec<String> {
    let mut keys: Vec<String> =
        crate::backtest::config_keys().into_iter().map(String::from).collect();
    keys.extend(crate::spread::config_keys());
    keys.extend(crate::collect::CONFIG_KEYS.iter().map(|k| (*k).to_owned()));
    keys.sort();
    keys.dedup();
    keys
}

/// One rule for every command that reads settings: the file `--config`, `MDKIT_CONFIG` or
/// `./config.json` names must hold only keys some command knows, each of the type every
/// command that reads it expects.
fn check_config(flag: Option<&std::path::Path>) -> anyhow::Result<()> {
    let Some(source) = crate::process::config_source(flag) else { return Ok(()) };
    let map = crate::process::read_config(&source)?;
    let known = known_config_keys();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            anyhow::bail!(
                "{}: {}",
                source.path.display(),
                crate::process::unknown_setting(key, &known)
            );
        }
    }
    crate::backtest::check_config(&source.path)?;
    crate::spread::file_settings(&source.path)?;
    crate::collect::check_config(&source.path)?;
    Ok(())
}

fn show_config(of: SettingsOf, flag: Option<&std::path::Path>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let source = crate::process::config_source(flag);
    let path = source.as_ref().map(|s| s.path.as_path());
    let rows: Vec<(String, String, bool)> = match of {
        SettingsOf::Backtest => crate::backtest::effective_config(path)?,
        SettingsOf::Spread => crate::spread::effective_config(path)?,
        SettingsOf::Collect => {
            let map = match &source {
                Some(s) => crate::process::read_config(s)?,
                None => serde_json::Map::new(),
            };
            crate::collect::CONFIG_KEYS
                .iter()
                .map(|k| match map.get(*k) {
                    Some(v) => ((*k).to_owned(), v.to_string(), true),
                    None => ((*k).to_owned(), "(flag or venue default)".to_owned(), false),
                })
                .collect()
        }
    };
    let from = match &source {
        Some(s) => s.to_string(),
        None => "no settings file (--config, MDKIT_CONFIG and ./config.json are all absent)".into(),
    };
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let vwidth = rows.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "settings file: {from}")?;
    for (key, value, set) in rows {
        let origin = if set { "file" } else { "default" };
        writeln!(out, "{key:<width$}  {value:<vwidth$}  {origin}")?;
    }
    writeln!(out, "(flags and --set override these for one run)")?;
    Ok(())
}

/// Logs to stderr like cargo does: `warning: …`, each distinct warning once. `RUST_LOG`
/// sets the filter when present (`RUST_LOG=debug`, `RUST_LOG=mdkit=trace`); otherwise `-q`
/// shows errors only, the default warnings, `-v` info, `-vv` debug and `-vvv` trace of
/// mdkit's own modules. Colour only when stderr is a terminal.
pub fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,mdkit=info",
        (false, 2) => "warn,mdkit=debug",
        (false, _) => "info,mdkit=trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("warning: RUST_LOG={spec:?} is not a filter ({e}); using {level:?}");
            EnvFilter::new(level)
        }),
        _ => EnvFilter::new(level),
    };
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        // A closed stderr must not panic the recorder (the default reports it with eprintln!).
        .log_internal_errors(false)
        .event_format(Plain { ansi, seen: Mutex::new(HashSet::new()) })
        .try_init();
}

/// `warning: message`, `debug mdkit::storage: message`: one line an event, no timestamps
/// (the recorder's own status lines carry the time), a repeated warning left out.
struct Plain {
    ansi: bool,
    seen: Mutex<HashSet<String>>,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = String::new();
        ctx.format_fields(format::Writer::new(&mut line), event)?;
        if *meta.level() == Level::WARN {
            let first = self.seen.lock().map(|mut seen| seen.insert(line.clone())).unwrap_or(true);
            if !first {
                return Ok(());
            }
        }
        let (label, colour) = match *meta.level() {
            Level::ERROR => ("error", "31"),
            Level::WARN => ("warning", "33"),
            Level::INFO => ("info", "32"),
            Level::DEBUG => ("debug", "34"),
            Level::TRACE => ("trace", "35"),
        };
        if self.ansi {
            write!(writer, "\x1b[1;{colour}m{label}\x1b[0m")?;
        } else {
            write!(writer, "{label}")?;
        }
        if *meta.level() >= Level::DEBUG {
            write!(writer, " {}", meta.target())?;
        }
        writeln!(writer, ": {line}")
    }
}

/// An error and its causes on one line: `context: cause: root cause`. Causes whose text an
/// earlier one already shows (DataFusion repeats its sources in its own message) are left
/// out, and line breaks inside messages become spaces.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Whether an error is a closed stdout pipe, which ends output quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<arrow::error::ArrowError>()
                .is_some_and(|e| matches!(e, arrow::error::ArrowError::IoError(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}
