//! `pumphil report DIR`: renders a run directory's outputs again from its `events.jsonl`.

use super::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
}

pub fn run(args: &ReportArgs) -> u8 {
    match crate::record::render::render_all(&args.dir) {
        Ok(outcome) => {
            if let Some(line) = outcome.truncated_at_line {
                eprintln!("note: the record's line {line} was cut short (the run was killed); rendered the {} records before it", outcome.records);
            }
            for (line, problem) in &outcome.problems {
                eprintln!("warning: events.jsonl line {line}: {problem}");
            }
            println!(
                "rendered {} from {} records",
                args.dir.display(),
                outcome.records
            );
            exit::PASSED
        }
        Err(e) => {
            eprintln!("error: {e}\n  = help: pass a run directory made by `pumphil run`, e.g. reports/<timestamp>-<id>/");
            exit::USAGE
        }
    }
}
