//! Scenario paths for the commands that take them (run, lint, list, expect): expansion and
//! loading live in the scenario layer (`scenario::paths`); this prints what goes wrong.

use crate::scenario::{paths, Scenario};
use std::path::PathBuf;

/// Expands and loads scenarios for a command, printing any problem; Err is the exit code.
pub fn load_for_command(paths: &[PathBuf]) -> Result<Vec<Scenario>, u8> {
    paths::expand_and_load(paths).map_err(|e| {
        super::diagnostic::show(&e);
        super::exit::USAGE
    })
}
