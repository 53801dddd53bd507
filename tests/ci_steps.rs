//! Nothing a debug `cargo test` skips is dropped: every test file with an `#[ignore]`d test
//! (a heavy figure or a long real-time case) has a release step in `.ci/run` that runs its
//! ignored tests (`cargo test --release --test NAME -- --ignored`).

use std::path::Path;

/// The test files (by name, without `.rs`) among `files` that ignore a test and have no
/// release step running their ignored tests in `ci`.
fn without_a_release_step(files: &[(String, String)], ci: &str) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| text.lines().any(|l| l.trim_start().starts_with("#[ignore")))
        .map(|(name, _)| name.clone())
        .filter(|name| {
            let step = format!("cargo test --release --test {name} -- --ignored");
            // Arguments after `--ignored` (such as `--nocapture`) are the step's own.
            !ci.lines()
                .map(str::trim)
                .any(|l| l == step || l.starts_with(&format!("{step} ")))
        })
        .collect()
}

fn test_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_ignored_test_runs_in_a_release_step_of_ci() {
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .expect(".ci/run");
    let files = test_files();
    assert!(
        files.iter().any(|(name, _)| name == "soak"),
        "the test files were not found"
    );
    let missing = without_a_release_step(&files, &ci);
    assert!(
        missing.is_empty(),
        "ignored tests that no step of .ci/run runs: add `cargo test --release --test NAME -- --ignored` for {missing:?}"
    );
}

#[test]
fn a_file_with_an_ignored_test_and_no_step_is_named() {
    let files = [
        ("fast".to_string(), "#[test]\nfn a() {}\n".to_string()),
        (
            "slow".to_string(),
            "#[test]\n#[ignore = \"long\"]\nfn b() {}\n".to_string(),
        ),
        (
            "stepped".to_string(),
            "#[test]\n    #[ignore]\nfn c() {}\n".to_string(),
        ),
    ];
    let ci = "cargo test\ncargo test --release --test stepped -- --ignored --nocapture\n# cargo test --release --test slow\n";
    assert_eq!(without_a_release_step(&files, ci), ["slow"]);
}
