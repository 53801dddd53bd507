//! Which scenario files a command means: the paths named (directories expand to their `*.toml`
//! files, nothing named means `scenarios/`), loaded together so every problem is reported at once.

use super::{files_in, load, InputError, InputErrors, Scenario};
use std::path::{Path, PathBuf};

/// A path on the command line that names no scenario file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PathError {
    #[error("{}: cannot list: {source}", path.display())]
    #[diagnostic(
        code(pumphil::paths::list),
        help("check the directory's permissions, or name the scenario files one by one")
    )]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no *.toml scenario files here", path.display())]
    #[diagnostic(
        code(pumphil::paths::empty),
        help("name a directory that holds scenario files, such as scenarios/")
    )]
    Empty { path: PathBuf },
    #[error("{}: no such file or directory", path.display())]
    #[diagnostic(
        code(pumphil::paths::missing),
        help("run from the project root, or name scenario files")
    )]
    Missing { path: PathBuf },
}

/// The scenario files named; directories expand to their `*.toml` files, sorted; nothing named
/// means `scenarios/`.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PathError> {
    let roots = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            let found = files_in(&root).map_err(|source| PathError::List {
                path: root.clone(),
                source,
            })?;
            if found.is_empty() {
                return Err(PathError::Empty { path: root });
            }
            files.extend(found);
        } else if root.exists() {
            files.push(root);
        } else {
            return Err(PathError::Missing { path: root });
        }
    }
    Ok(files)
}

/// Loads every scenario, collecting all errors across files (a duplicate id included).
pub fn load_all(files: &[PathBuf]) -> Result<Vec<Scenario>, InputErrors> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.extend(e.0),
        }
    }
    let mut seen: Vec<(&str, &Path)> = Vec::new();
    for s in &scenarios {
        if let Some((_, other)) = seen.iter().find(|(id, _)| *id == s.id) {
            errors.push(
                InputError::new(
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

/// Either problem with the scenarios a command names.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ScenariosError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputErrors),
}

/// Expands the paths and loads every scenario they name.
pub fn expand_and_load(paths: &[PathBuf]) -> Result<Vec<Scenario>, ScenariosError> {
    let files = expand(paths)?;
    Ok(load_all(&files)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_their_scenario_files_and_bad_paths_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(matches!(
            expand(&[root.join("nowhere")]),
            Err(PathError::Missing { .. })
        ));
        assert!(matches!(
            expand(&[root.to_path_buf()]),
            Err(PathError::Empty { .. })
        ));
        std::fs::write(root.join("b.toml"), "").unwrap();
        std::fs::write(root.join("a.toml"), "").unwrap();
        std::fs::write(root.join("notes.txt"), "").unwrap();
        assert_eq!(
            expand(&[root.to_path_buf()]).unwrap(),
            vec![root.join("a.toml"), root.join("b.toml")]
        );
        let named = root.join("notes.txt");
        assert_eq!(expand(std::slice::from_ref(&named)).unwrap(), vec![named]);
    }

    #[test]
    fn the_same_id_in_two_files_is_an_error_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.toml");
        std::fs::copy("scenarios/refill.toml", &copy).unwrap();
        let files = vec![PathBuf::from("scenarios/refill.toml"), copy.clone()];
        let errors = load_all(&files).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].code, "scenario::duplicate-id");
        assert!(
            errors.to_string().contains("scenarios/refill.toml"),
            "{errors}"
        );
    }
}
