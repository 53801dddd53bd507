//! Scenario files (`scenarios/*.toml`): loading, checking and linting.

pub mod check;
pub mod check_names;
pub mod duration;
pub mod error;
pub mod model;
pub mod raw;

pub use error::{InputError, InputErrors};
pub use model::*;
pub use raw::S;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Largest scenario file accepted; anything bigger is a mistake (a log pasted in, a binary).
pub const MAX_SCENARIO_BYTES: u64 = 1024 * 1024;

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads and checks one scenario file; every problem found is returned, not just the first.
pub fn load(path: &Path) -> Result<Scenario, InputErrors> {
    let one = |msg: String, help: &str| {
        InputErrors(vec![
            InputError::new(path, "", "scenario::read", msg).help(help)
        ])
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        one(
            format!("cannot read: {e}"),
            "check the path; `pumphil list` shows the scenarios in scenarios/",
        )
    })?;
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(one(
            format!(
                "file is {} bytes; scenario files are at most {MAX_SCENARIO_BYTES}",
                meta.len()
            ),
            "is this really a scenario file?",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        one(
            format!("cannot read: {e}"),
            "check the path and permissions",
        )
    })?;
    let sha = sha256_hex(&bytes);
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let err = InputError::new(
                path,
                &lossy,
                "scenario::utf8",
                format!("invalid UTF-8 at byte {offset}"),
            )
            .at(offset..offset + 1)
            .help("save the file as UTF-8");
            return Err(InputErrors(vec![err]));
        }
    };
    parse(path, &source, sha)
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
