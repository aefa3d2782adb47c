//! The `mdkit` binary: parse flags, set up tracing, dispatch, map the outcome to an exit code
//! (0 ok, 1 problems found, 2 error). A closed pipe (`mdkit sql … | head`) is not an error.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mdkit::cli::Cli::parse();
    mdkit::cli::init_tracing(cli.verbose, cli.quiet);
    match mdkit::cli::run(cli) {
        Ok(code) => code,
        Err(err) if mdkit::cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mdkit: {}", mdkit::cli::one_line(&err));
            ExitCode::from(2)
        }
    }
}
