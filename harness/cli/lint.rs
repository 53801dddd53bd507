//! `pumphil lint PATH...`: checks scenario files (and their fixtures) without running them.

use super::{exit, scenario_args};
use crate::expect::{self, fixture};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Skip the fixture checks (only the scenario files themselves).
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
        if !args.no_fixtures {
            let root = fixture::default_root(&s.path);
            match fixture::read(&root, s) {
                Ok((samples, _)) => {
                    let fresh = expect::expected(s);
                    if fresh.samples != samples {
                        problems += 1;
                        eprintln!("{}: fixtures in {} differ from the reference calculator; run `pumphil expect {} --write` and review the diff", s.path.display(), fixture::fixture_dir(&root, s).display(), s.path.display());
                    }
                }
                Err(e) => {
                    problems += 1;
                    eprintln!("{e}");
                }
            }
            for problem in expect::consistency(s) {
                problems += 1;
                eprintln!("{}: {problem}", s.path.display());
            }
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
