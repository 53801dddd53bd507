//! Command-line interface: one file per subcommand, exit codes in one place.

use clap::{Parser, Subcommand};

pub mod expect;
pub mod lint;
pub mod list;
pub mod run;
pub mod scenario_args;
use std::process::ExitCode;

/// Exit codes, documented in README.md.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const CHECK_FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INFRASTRUCTURE: u8 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "pumphil",
    version = crate::long_version(),
    about = "Hardware-in-the-loop test harness for implantable intrathecal drug pumps",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (default: everything in scenarios/) on the built-in emulator or a bench.
    Run(run::RunArgs),
    /// Check scenario files and their fixtures without running them.
    Lint(lint::LintArgs),
    /// List the scenarios with ids, titles and requirements.
    List(list::ListArgs),
    /// Compute expected traces from scenarios by reference arithmetic (--write updates fixtures/).
    Expect(expect::ExpectArgs),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::PASSED
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let code = match &cli.command {
        Command::Run(args) => run::run(args),
        Command::Lint(args) => lint::run(args),
        Command::List(args) => list::run(args),
        Command::Expect(args) => expect::run(args),
    };
    ExitCode::from(code)
}
