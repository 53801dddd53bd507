//! Command-line interface: one file per subcommand.

use clap::{Parser, Subcommand};

pub mod balance;
pub mod emulate;
pub mod expect;
pub mod identify;
pub mod lint;
pub mod list;
pub mod ports;
pub mod report;
pub mod run;
pub mod scenario_args;
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
    /// Check a run directory against its manifest and hash chain (exit 1 if anything changed).
    Verify(verify::VerifyArgs),
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

/// Prints an error, with a help line when there is one, the way miette renders diagnostics.
/// Errors that carry their own `\n  = help: ...` line (link and config errors) keep it as the
/// help, unless the caller gives a more specific one.
pub fn print_error(message: impl std::fmt::Display, help: Option<&str>) {
    let text = message.to_string();
    let (message, own_help) = match text.split_once("\n  = help: ") {
        Some((message, help)) => (message.to_string(), Some(help.to_string())),
        None => (text, None),
    };
    let mut diagnostic = miette::MietteDiagnostic::new(message);
    if let Some(help) = help.map(str::to_string).or(own_help) {
        diagnostic = diagnostic.with_help(help);
    }
    eprintln!("{:?}", miette::Report::new(diagnostic));
}

/// A small runtime for the one-shot bench commands (identify, balance).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
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
        Command::Emulate(args) => emulate::run(args),
        Command::Ports(args) => ports::run(args),
        Command::Identify(args) => identify::run(args),
        Command::Balance(args) => balance::run(args),
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
