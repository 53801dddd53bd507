//! `pumphil report DIR`: renders a run directory's outputs again from its `events.jsonl`.

use super::exit;
use crate::record::journal::EVENTS_FILE;
use crate::record::render::{self, manifest};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
}

/// What to pass to `report` and `verify`.
pub const RUN_DIRECTORY_HELP: &str =
    "pass a run directory made by `pumphil run`, e.g. reports/<timestamp>-<id>/";

pub fn run(args: &ReportArgs) -> u8 {
    if !args.dir.join(EVENTS_FILE).is_file() {
        super::print_error(
            "report::no-record",
            format!(
                "{}: no {EVENTS_FILE} here, so nothing to render",
                args.dir.display()
            ),
            Some(RUN_DIRECTORY_HELP),
        );
        return exit::USAGE;
    }
    // The new manifest will bless whatever is in the directory, so say first what the old one
    // did not cover: re-rendering must not silently launder a tampered directory.
    let problems = if args.dir.join(manifest::FILE).is_file() {
        render::verify(&args.dir).problems
    } else {
        render::chain::check_file(&args.dir.join(EVENTS_FILE))
            .map(|found| found.problems)
            .unwrap_or_default()
            .into_iter()
            .map(|(line, what)| format!("{EVENTS_FILE} line {line}: {what}"))
            .collect()
    };
    for problem in problems {
        eprintln!("warning: before re-rendering: {problem}");
    }
    match render::render_all(&args.dir) {
        Ok(outcome) => {
            if let Some(line) = outcome.truncated_at_line {
                eprintln!("note: {EVENTS_FILE} line {line} was cut short (the run was killed); rendered the {} records before it", outcome.records);
            }
            writeln!(
                super::out::stdout(),
                "rendered {} from {} records",
                args.dir.display(),
                outcome.records
            );
            exit::PASSED
        }
        Err(e @ render::RenderError::Read { .. }) => {
            eprintln!("error: {e}\n  = help: render it with the pumphil that wrote it (its harness_version and git_commit are in the first line of {EVENTS_FILE}); docs/record.md lists the schema versions");
            exit::USAGE
        }
        Err(e @ render::RenderError::NoRecord { .. }) => {
            super::print_error("report::record", e, Some(RUN_DIRECTORY_HELP));
            exit::USAGE
        }
        Err(e) => {
            super::print_error(
                "report::write",
                format!("cannot write the outputs: {e}"),
                Some("check the run directory is writable and the disk has room, then run `pumphil report` again"),
            );
            exit::INFRASTRUCTURE
        }
    }
}
