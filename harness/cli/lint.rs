//! `pumphil lint PATH...`: checks scenario files (and their fixtures) without running them.

use super::{diagnostic, exit};
use crate::expect::{self, fixture};
use crate::scenario::{paths, requirements};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Skip the fixture files (alarm windows are still checked against the arithmetic).
    #[arg(long)]
    pub no_fixtures: bool,
    /// Hazards, risk controls and requirements the scenarios' ids must be defined in (default:
    /// requirements.toml beside scenarios/, when it exists).
    #[arg(long, value_name = "PATH")]
    pub requirements: Option<PathBuf>,
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
    match requirements::locate(args.requirements.as_deref()).map(|p| requirements::load(&p)) {
        Some(Ok(loaded)) => {
            for problem in requirements::unknown_in(&loaded, &scenarios) {
                diagnostic::show(&problem);
                problems += 1;
            }
        }
        Some(Err(errors)) => {
            problems += errors.0.len();
            diagnostic::show(&errors);
        }
        None => eprintln!(
            "note: no {} here and no --requirements: the scenarios' requirement ids are not checked against a list",
            requirements::DEFAULT_PATH
        ),
    }
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
