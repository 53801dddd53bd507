//! Scenario files (`scenarios/*.toml`): loading, checking and linting.

pub mod check;
pub mod check_names;
pub mod digest;
pub mod duration;
pub mod error;
pub mod input;
pub mod model;
pub mod partition;
pub mod paths;
pub mod raw;
pub mod requirements;

pub use error::{InputError, InputErrors};
pub use model::*;
pub use raw::S;

pub use digest::{digest_from_hex, sha256, sha256_hex};

use std::path::{Path, PathBuf};

/// Largest scenario file accepted; anything bigger is a mistake (a log pasted in, a binary).
pub const MAX_SCENARIO_BYTES: u64 = 1024 * 1024;

/// How scenario files are read.
pub const SCENARIO_FILE: input::InputKind = input::InputKind {
    read_code: "scenario::read",
    read_message: "cannot read",
    read_help: "check the path and permissions; `pumphil list` shows the scenarios in scenarios/",
    utf8_code: "scenario::utf8",
    utf8_help: "save the file as UTF-8",
    max_bytes: Some((MAX_SCENARIO_BYTES, "is this really a scenario file?")),
    plural: "scenario files",
};

/// Reads and checks one scenario file; every problem found is returned, not just the first.
pub fn load(path: &Path) -> Result<Scenario, InputErrors> {
    let file = input::read_text(path, &SCENARIO_FILE).map_err(|e| InputErrors(vec![e]))?;
    parse(path, &file.text, file.sha256)
}

/// Checks scenario text as if read from `path`.
pub fn parse(path: &Path, source: &str, sha256: String) -> Result<Scenario, InputErrors> {
    if source.trim().is_empty() {
        return Err(InputErrors(vec![InputError::new(
            path,
            source,
            "scenario::empty",
            "the file is empty",
        )
        .help("start from a scenario in scenarios/ and change it")]));
    }
    let raw: raw::RawScenario = toml::from_str(source).map_err(|e| {
        let mut err = InputError::new(path, source, "scenario::syntax", e.message().to_string())
            .help(
            "see the scenario format in README.md; unknown keys are errors, so check the spelling",
        );
        if let Some(span) = e.span() {
            err = err.at(span);
        }
        InputErrors(vec![err])
    })?;
    let mut checker = check::Checker::new(path, source);
    match checker.check(raw, sha256) {
        Some(s) if checker.errors.is_empty() => Ok(s),
        _ => Err(InputErrors(checker.errors)),
    }
}

/// The scenario files under a directory, sorted by path.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}
