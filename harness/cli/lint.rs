//! `pumphil lint PATH...`: checks scenario files (and their fixtures) without running them.

use super::{diagnostic, exit};
use crate::expect::{self, fixture};
use crate::scenario::paths;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Skip the fixture files (alarm windows are still checked against the arithmetic).
    #[arg(long)]
    pub no_fixtures: bool,
}

/// What to do when a scenario's alarm windows disagree with the reference arithmetic.
pub const CONSISTENCY_HELP: &str =
    "move the [[expect.alarms]] window to where `pumphil expect` puts the alarm, or fix the scenario's device values";

pub fn run(args: &LintArgs) -> u8 {
    let files = match paths::expand(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            diagnostic::show(&e);
            return exit::USAGE;
        }
    };
    let scenarios = match paths::load_all(&files) {
        Ok(s) => s,
        Err(errors) => {
            diagnostic::show(&errors);
            eprintln!("\n{} problem(s) in {} file(s)", errors.0.len(), files.len());
            return exit::USAGE;
        }
    };
    let mut problems = 0;
    for s in &scenarios {
        let root = fixture::default_root(&s.path);
        let found = expect::lint::lint(s, (!args.no_fixtures).then_some(root.as_path()));
        for problem in &found {
            diagnostic::show(problem);
        }
        // Warnings are shown; only errors make the scenario unfit to run.
        let errors = found.iter().filter(|p| !p.warning).count();
        if errors > 0 {
            problems += errors;
            continue;
        }
        writeln!(super::out::stdout(), "ok  {}  {}", s.id, s.path.display());
    }
    if problems > 0 {
        eprintln!("\n{problems} problem(s)");
        exit::USAGE
    } else {
        writeln!(
            super::out::stdout(),
            "{} scenario(s) checked",
            scenarios.len()
        );
        exit::PASSED
    }
}
