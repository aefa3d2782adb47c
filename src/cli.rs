//! Command-line flags for every subcommand, and dispatch. Thin: each subcommand's work lives
//! in its own module behind `run(args)`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

const ABOUT: &str = "Record, verify, calibrate and backtest market making on crypto L2 order books";

const LONG_ABOUT: &str = "\
mdkit records a venue's public L2 order book and trades into Parquet tables, proves that the
recording is a consistent book, estimates Avellaneda-Stoikov parameters (sigma, A, kappa per
side) with SQL, and replays the recording through a market-making backtest. Every command reads
and writes the same hive-partitioned tables under --data:

  <data>/<table>/venue=<venue>/market=<MARKET>/date=<YYYY-MM-DD>/part-*.parquet

Tables: depth, book_top, trades, events, calibration (see schemas/ for every column).
Set RUST_LOG (e.g. RUST_LOG=mdkit=debug) for more detail on stderr.
Exit codes: 0 ok, 1 problems found (verify), 2 error.";

#[derive(Debug, Parser)]
#[command(name = "mdkit", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// Root of the data tree: tables, journal and resume state live below it
    /// [default: ./data; `collect` also reads data_directory from config.json]
    #[arg(long, global = true, value_name = "DIR", env = "MDKIT_DATA")]
    pub data: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Collect(crate::collect::Args),
    /// Estimate sigma, A and kappa per side from the tables, by SQL
    #[command(long_about = "Estimate the Avellaneda-Stoikov parameters sigma, kappa_bid, A_bid, \
kappa_ask and A_ask per window by running the SQL in sql/ over book_top and trades, print them \
with R², fit points and order counts, and write one row per window to the calibration table.")]
    Calibrate(crate::calibrate::Args),
    /// Replay a recording through an Avellaneda-Stoikov market maker: PnL, fills, risk
    Backtest(crate::backtest::Args),
    /// Prove book integrity: sequence, duplicates, crossed books, snapshot/delta, clocks, files
    Verify(crate::verify::Args),
    /// Run a local venue that speaks the Extended protocol, with a known market and faults
    Simulate(crate::simulate::Args),
    /// Turn raw captures (mdkit journals, hftbacktest Binance files) into the same tables
    Import(crate::import::Args),
    /// Today's optimal bid and ask from the latest calibration and book
    Spread(crate::spread::Args),
    /// Run SQL over the tables (DataFusion), or an interactive SQL shell
    #[command(long_about = crate::sql::LONG_ABOUT)]
    Sql(crate::sql::Args),
    /// Print a shell completion script: `source <(mdkit completions bash)`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Cli {
    /// `--data`, or `./data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| PathBuf::from("./data"))
    }
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = cli.data_dir();
    match cli.command {
        Command::Sql(args) => crate::sql::run(&data_dir, args).map(|()| ExitCode::SUCCESS),
        Command::Collect(args) => {
            crate::collect::run(cli.data.as_deref(), args).map(|()| ExitCode::SUCCESS)
        }
        Command::Calibrate(args) => {
            crate::calibrate::run(&data_dir, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Backtest(args) => {
            crate::backtest::run(&data_dir, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Verify(args) => crate::verify::run(&data_dir, args),
        Command::Simulate(args) => crate::simulate::run(args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => crate::import::run(&data_dir, args).map(|()| ExitCode::SUCCESS),
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

/// Logs to stderr; `RUST_LOG` sets the filter (default: warnings).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // A closed stderr must not panic the recorder (the default reports it with eprintln!).
        .log_internal_errors(false)
        .try_init();
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
