//! Shared argument handling for commands that take scenario paths (run, lint, list, expect).

use crate::scenario::{self, InputErrors, Scenario};
use std::path::{Path, PathBuf};

/// The scenario files named on the command line; directories expand to their `*.toml` files;
/// nothing named means `scenarios/`.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let roots = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            let found = scenario::files_in(&root)
                .map_err(|e| format!("{}: cannot list: {e}", root.display()))?;
            if found.is_empty() {
                return Err(format!("{}: no *.toml scenario files here", root.display()));
            }
            files.extend(found);
        } else if root.exists() {
            files.push(root);
        } else {
            return Err(format!(
                "{}: no such file or directory (run from the project root, or name scenario files)",
                root.display()
            ));
        }
    }
    Ok(files)
}

/// Loads every scenario, collecting all errors across files.
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, InputErrors> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.extend(e.0),
        }
    }
    let mut seen: Vec<(&str, &Path)> = Vec::new();
    for s in &scenarios {
        if let Some((_, other)) = seen.iter().find(|(id, _)| *id == s.id) {
            errors.push(
                scenario::InputError::new(
                    &s.path,
                    "",
                    "scenario::duplicate-id",
                    format!("id {:?} is also used by {}", s.id, other.display()),
                )
                .help("every scenario needs its own id"),
            );
        }
        seen.push((&s.id, &s.path));
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(InputErrors(errors))
    }
}

/// Expands and loads scenarios for a command, printing any problem; Err is the exit code.
pub fn load_for_command(paths: &[PathBuf]) -> Result<Vec<Scenario>, u8> {
    let files = expand_paths(paths).map_err(|e| {
        eprintln!("error: {e}");
        super::exit::USAGE
    })?;
    load_all(&files).map_err(|errors| {
        eprintln!("{errors}");
        super::exit::USAGE
    })
}
