//! `pumphil list`: the scenarios with their ids, titles and requirements.

use super::{exit, scenario_args};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &ListArgs) -> u8 {
    let scenarios = match scenario_args::load_for_command(&args.paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let width = scenarios
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(
        super::out::stdout(),
        "{:width$}  {:8}  {:28}  TITLE",
        "ID",
        "KIND",
        "REQUIREMENTS"
    );
    for s in &scenarios {
        let kind = if s.is_negative_control() {
            "control"
        } else {
            "scenario"
        };
        writeln!(
            super::out::stdout(),
            "{:width$}  {:8}  {:28}  {}",
            s.id,
            kind,
            s.requirements.join(","),
            s.title
        );
    }
    exit::PASSED
}
