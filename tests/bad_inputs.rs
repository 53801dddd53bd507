//! Malformed scenario, fixture and bench files: each gives a clear error that names the file,
//! the line and column where there is one, and what to change; none panics, none is accepted.

use pumphil::cli::diagnostic::render;
use pumphil::expect::fixture;
use pumphil::runner::bench;
use pumphil::scenario;
use pumphil::scenario::requirements;
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

fn has_place(text: &str, path: &Path) -> bool {
    let prefix = format!("{}:", path.display());
    text.lines().any(|line| {
        line.strip_prefix(&prefix)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(line_no, rest)| {
                line_no.parse::<usize>().is_ok()
                    && rest
                        .split(':')
                        .next()
                        .is_some_and(|c| c.parse::<usize>().is_ok())
            })
    })
}

/// Files whose problem has no place in the text (nothing there, or the whole file).
const PLACELESS: &[&str] = &["empty-file", "whitespace-only", "missing-file"];

#[test]
fn every_bad_scenario_is_refused_with_its_place_and_a_hint() {
    let files = files("tests/bad_inputs/scenarios");
    assert!(
        files.len() >= 40,
        "the corpus holds {} scenario files",
        files.len()
    );
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = match scenario::load(&path) {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(errors) => {
                // The snapshot is what the user sees: the one renderer prints this same text.
                assert_eq!(render(&errors), errors.to_string(), "{stem}");
                errors.to_string()
            }
        };
        assert!(text.contains("help:"), "{stem}: no help line in\n{text}");
        if !PLACELESS.contains(&stem.as_str()) {
            assert!(
                has_place(&text, &path),
                "{stem}: no file:line:col in\n{text}"
            );
            assert!(text.contains('^'), "{stem}: no caret in\n{text}");
        }
        insta::assert_snapshot!(format!("scenario-{stem}"), text);
    }
}

#[test]
fn a_very_large_scenario_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    std::fs::write(&path, "# x\n".repeat(400_000)).unwrap();
    let text = scenario::load(&path).unwrap_err().to_string();
    assert!(text.contains("scenario files are at most"), "{text}");
}

#[test]
fn every_bad_fixture_is_refused_with_its_place() {
    let refill = scenario::load(Path::new("scenarios/refill.toml")).unwrap();
    for dir in files("tests/bad_inputs/fixtures") {
        let stem = dir.file_name().unwrap().to_string_lossy().to_string();
        let err = fixture::read(&dir, &refill).expect_err(&stem);
        let text = err.to_string();
        assert_eq!(render(&err), text, "{stem}");
        assert!(text.contains("help:"), "{stem}: no help in\n{text}");
        if !PLACELESS.contains(&stem.as_str()) && stem != "stale-times" {
            assert!(
                err.line_col().is_some(),
                "{stem}: no line and column in\n{text}"
            );
        }
        insta::assert_snapshot!(
            format!("fixture-{stem}"),
            text.replace(&dir.display().to_string(), "<fixtures>")
        );
    }
}

#[test]
fn every_bad_bench_file_is_refused_with_its_place() {
    for path in files("tests/bad_inputs/bench") {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let err = bench::load(&path).expect_err(&stem);
        let text = err.to_string();
        assert_eq!(render(&err), text, "{stem}");
        assert!(text.contains("help:"), "{stem}: no help in\n{text}");
        assert!(
            has_place(&text, &path),
            "{stem}: no file:line:col in\n{text}"
        );
        // An expired date is refused against today's date, which the snapshot must not hold.
        insta::with_settings!({filters => vec![(r"today is \d{4}-\d{2}-\d{2}", "today is [today]")]}, {
            insta::assert_snapshot!(format!("bench-{stem}"), text);
        });
    }
}

/// Scenarios that parse but that the arithmetic refutes: `pumphil lint` finds them before any
/// run. Files named `no-fixtures-*` are linted as with `--no-fixtures`.
#[test]
fn every_scenario_the_arithmetic_refutes_is_refused_by_lint() {
    let root = Path::new("tests/bad_inputs/lint/fixtures");
    for path in files("tests/bad_inputs/lint/scenarios") {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let s = scenario::load(&path).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let fixtures = (!stem.starts_with("no-fixtures-")).then_some(root);
        let problems = pumphil::expect::lint::lint(&s, fixtures);
        assert!(!problems.is_empty(), "{stem} passed lint");
        let text = problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("help:"), "{stem}: no help in\n{text}");
        assert!(text.contains('^'), "{stem}: no caret in\n{text}");
        insta::assert_snapshot!(format!("lint-{stem}"), text);
    }
}

#[test]
fn every_bad_requirements_file_is_refused_with_its_place() {
    let files: Vec<PathBuf> = files("tests/bad_inputs/requirements")
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    assert!(files.len() >= 4, "the corpus holds {} files", files.len());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let errors = requirements::load(&path).expect_err(&stem);
        let text = errors.to_string();
        assert_eq!(render(&errors), text, "{stem}");
        assert!(text.contains("help:"), "{stem}: no help in\n{text}");
        assert!(
            has_place(&text, &path),
            "{stem}: no file:line:col in\n{text}"
        );
        insta::assert_snapshot!(format!("requirements-{stem}"), text);
    }
}

/// A scenario that names a requirement the shipped requirements.toml does not define is refused
/// by lint and by run, placed at the id in the scenario file.
#[test]
fn a_scenario_naming_an_undefined_requirement_is_refused() {
    let shipped = requirements::load(Path::new("requirements.toml")).unwrap();
    let path = Path::new("tests/bad_inputs/requirements/scenarios/unknown-requirement.toml");
    let s = scenario::load(path).unwrap();
    let errors = requirements::unknown_in(&shipped, std::slice::from_ref(&s));
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(has_place(&text, path), "{text}");
    insta::assert_snapshot!("requirements-unknown-in-scenario", text);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args([
            "lint",
            "--no-fixtures",
            "--requirements",
            "requirements.toml",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PH-REQ-11"), "{stderr}");
}

/// The shipped requirements file parses, every scenario's ids are defined in it, and every
/// requirement traces to a risk control and every control to a hazard.
#[test]
fn shipped_requirements_cover_the_shipped_scenarios() {
    let shipped = requirements::load(Path::new("requirements.toml")).unwrap();
    let scenarios =
        scenario::paths::load_all(&scenario::files_in(Path::new("scenarios")).unwrap()).unwrap();
    let unknown = requirements::unknown_in(&shipped, &scenarios);
    assert!(unknown.is_empty(), "{}", unknown[0]);
    assert_eq!(shipped.hazards.len(), 6);
    for h in &shipped.hazards {
        assert!(
            shipped
                .risk_controls
                .iter()
                .any(|c| c.hazards.contains(&h.id)),
            "hazard {} has no risk control",
            h.id
        );
    }
}

#[test]
fn every_shipped_scenario_lints_clean() {
    for path in scenario::files_in(Path::new("scenarios")).unwrap() {
        let s = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let root = fixture::default_root(&path);
        let problems = pumphil::expect::lint::lint(&s, Some(&root));
        assert!(problems.is_empty(), "{}: {}", path.display(), problems[0]);
    }
}

#[test]
fn committed_fixtures_match_the_reference_calculator() {
    for path in scenario::files_in(Path::new("scenarios")).unwrap() {
        let s = scenario::load(&path).unwrap();
        let expected = pumphil::expect::expected(&s);
        let dir = fixture::fixture_dir(Path::new("fixtures"), &s);
        for (name, text) in [
            (fixture::VOLUME_FILE, fixture::volume_csv(&expected)),
            (fixture::ALARMS_FILE, fixture::alarms_csv(&expected)),
            (fixture::README_FILE, fixture::readme(&s, &expected)),
        ] {
            let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            assert!(
                committed == text,
                "{}/{name} differs from `pumphil expect {}`; regenerate with --write and review",
                dir.display(),
                path.display()
            );
        }
    }
}
