//! `pumphil lint PATH...`: checks scenario files (and their fixtures) without running them.

use super::{exit, scenario_args};
use crate::expect::{self, fixture};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Skip the fixture files (alarm windows are still checked against the arithmetic).
    #[arg(long)]
    pub no_fixtures: bool,
}

pub fn run(args: &LintArgs) -> u8 {
    let files = match scenario_args::expand_paths(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let scenarios = match scenario_args::load_all(&files) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("\n{} problem(s) in {} file(s)", errors.0.len(), files.len());
            return exit::USAGE;
        }
    };
    let mut problems = 0;
    for s in &scenarios {
        let root = fixture::default_root(&s.path);
        let found = expect::lint::lint(s, (!args.no_fixtures).then_some(root.as_path()));
        for problem in &found {
            eprintln!("{problem}");
        }
        if !found.is_empty() {
            problems += found.len();
            continue;
        }
        println!("ok  {}  {}", s.id, s.path.display());
    }
    if problems > 0 {
        eprintln!("\n{problems} problem(s)");
        exit::USAGE
    } else {
        println!("{} scenario(s) checked", scenarios.len());
        exit::PASSED
    }
}
