//! `pumphil expect SCENARIO...`: prints or writes the expected traces from the reference calculator.

use super::{exit, scenario_args};
use crate::expect::{self, fixture};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ExpectArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Write fixtures/<id>/ (expected_volume.csv, expected_alarms.csv, README.md).
    #[arg(long)]
    pub write: bool,
    /// Fixture root (default: fixtures/ beside the scenarios/ folder).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
}

pub fn run(args: &ExpectArgs) -> u8 {
    let scenarios = match scenario_args::load_for_command(&args.paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut code = exit::PASSED;
    for s in &scenarios {
        let expected = expect::expected(s);
        for problem in expect::consistency(s) {
            super::print_error(
                "scenario::consistency",
                format!("{}: {problem}", s.path.display()),
                Some(super::lint::CONSISTENCY_HELP),
            );
            code = exit::USAGE;
        }
        if args.write {
            let root = args
                .fixtures
                .clone()
                .unwrap_or_else(|| fixture::default_root(&s.path));
            match fixture::write(&root, s, &expected) {
                Ok(dir) => writeln!(super::out::stdout(), "wrote {}", dir.display()),
                Err(e) => {
                    super::print_error(
                        "fixture::write",
                        format!("{}: cannot write fixtures: {e}", root.display()),
                        Some("check that the fixture folder is writable and the disk has room"),
                    );
                    return exit::INFRASTRUCTURE;
                }
            }
        } else {
            writeln!(
                super::out::stdout(),
                "# {}\n{}",
                s.id,
                fixture::readme(s, &expected)
            );
            write!(super::out::stdout(), "{}", fixture::alarms_csv(&expected));
        }
    }
    code
}
