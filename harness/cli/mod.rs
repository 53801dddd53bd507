//! Command-line interface: one file per subcommand.

use clap::{Parser, Subcommand};

pub mod balance;
pub mod diagnostic;
pub mod emulate;
pub mod emulator_args;
pub mod expect;
pub mod identify;
pub mod keygen;
pub mod lint;
pub mod list;
pub mod merge;
pub mod out;
pub mod ports;
pub mod report;
pub mod run;
pub mod scenario_args;
pub mod sign;
pub mod values;
pub mod verify;
use std::process::ExitCode;

/// Exit codes (README.md); decided in `record::verdict`.
pub use crate::record::verdict::exit;

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

// Parsed once per process: the size of the largest variant (the run and emulator options)
// costs nothing, and boxing it would only obscure clap's derive.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (default: everything in scenarios/) on the built-in emulator or a bench.
    Run(run::RunArgs),
    /// Check scenario files and their fixtures without running them.
    Lint(lint::LintArgs),
    /// List the scenarios with ids, titles and requirements.
    List(list::ListArgs),
    /// Render a run directory's reports again from its events.jsonl.
    Report(report::ReportArgs),
    /// Check a run directory's manifest, hash chain, signatures and verdicts (exit 1 if not).
    Verify(verify::VerifyArgs),
    /// Merge the verified partitions of a run (run --partition K/N) into one run directory.
    Merge(merge::MergeArgs),
    /// Make an Ed25519 signing key (KEY, mode 0600) and its public half (KEY.pub).
    Keygen(keygen::KeygenArgs),
    /// Sign a verified run electronically (name, role, meaning) and render its report again.
    Sign(sign::SignArgs),
    /// Start the emulated pump and balance on pseudo-terminals (--pty) or ttys (--port).
    Emulate(emulate::EmulateArgs),
    /// List serial ports.
    Ports(ports::PortsArgs),
    /// Print a pump's identity and status.
    Identify(identify::IdentifyArgs),
    /// Print balance readings (MT-SICS).
    Balance(balance::BalanceArgs),
    /// Compute expected traces from scenarios by reference arithmetic (--write updates fixtures/).
    Expect(expect::ExpectArgs),
}

/// Prints an error met in a command itself, with its code and help, through the one renderer.
pub fn print_error(code: &'static str, message: impl std::fmt::Display, help: Option<&str>) {
    let mut error = diagnostic::CommandError::new(code, message);
    if let Some(help) = help {
        error = error.help(help);
    }
    diagnostic::show(&error);
}

/// A small runtime for the one-shot bench commands (identify, balance).
/// Err is the exit code, the error already printed.
fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            let error = crate::runner::RunError::Runtime(e);
            diagnostic::show(&error);
            error.exit_code()
        })
}

/// The public keys given with `--trusted-key` (verify, merge); Err is the exit code, the key
/// that did not load shown.
fn trusted_keys(
    paths: &[std::path::PathBuf],
) -> Result<Vec<crate::record::signing::PublicKey>, u8> {
    paths
        .iter()
        .map(|path| {
            crate::record::signing::PublicKey::load(path).map_err(|e| {
                diagnostic::show(&e);
                exit::USAGE
            })
        })
        .collect()
}

/// Opens the serial port of a one-shot bench command; Err is the exit code, the error printed.
/// Opens a port or network endpoint (`/dev/…`, `tcp://…`, `rfc2217://…`), showing why not.
async fn open_port(
    settings: &crate::link::serial::SerialSettings,
) -> Result<crate::link::BoxLink, u8> {
    crate::link::endpoint::open(settings).await.map_err(|e| {
        diagnostic::show(&e);
        exit::INFRASTRUCTURE
    })
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
        Command::Report(args) => report::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Emulate(args) => emulate::run(args),
        Command::Ports(args) => ports::run(args),
        Command::Identify(args) => identify::run(args),
        Command::Balance(args) => balance::run(args),
    };
    let code = if out::failed() {
        code.max(exit::INFRASTRUCTURE)
    } else {
        code
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
