//! `pumphil lint PATH...`: checks scenario files (and their fixtures) without running them.

use super::{diagnostic, exit};
use crate::expect::{self, fixture};
use crate::scenario::paths;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Skip the fixture checks (only the scenario files themselves).
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
        if !args.no_fixtures {
            let root = fixture::default_root(&s.path);
            match fixture::read(&root, s) {
                Ok((samples, _)) => {
                    let fresh = expect::expected(s);
                    if fresh.samples != samples {
                        problems += 1;
                        super::print_error(
                            "fixture::stale",
                            format!(
                                "{}: fixtures in {} differ from the reference calculator",
                                s.path.display(),
                                fixture::fixture_dir(&root, s).display()
                            ),
                            Some(&format!(
                                "run `pumphil expect {} --write` and review the diff",
                                s.path.display()
                            )),
                        );
                    }
                }
                Err(e) => {
                    problems += 1;
                    diagnostic::show(&e);
                }
            }
            for problem in expect::consistency(s) {
                problems += 1;
                super::print_error(
                    "scenario::consistency",
                    format!("{}: {problem}", s.path.display()),
                    Some(CONSISTENCY_HELP),
                );
            }
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
