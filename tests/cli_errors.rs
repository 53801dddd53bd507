//! What a user sees when something is wrong, through the binary: command-line values refused
//! where they are read, naming the option; a closed stdout ending a command quietly; an input
//! that cannot be hashed stopping the run (exit 2); a record that stops taking writes stopping
//! the run at once (exit 3).

mod common;

use common::BIN;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn pumphil(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_run_options_are_refused_naming_the_option() {
    let reports = tempfile::tempdir().unwrap();
    let reports = reports.path().to_str().unwrap();
    for (args, option) in [
        (&["--jobs", "0"][..], "--jobs"),
        (&["--jobs", "18446744073709551615"], "--jobs"),
        (&["--seed", "-1"], "--seed"),
        (&["--seed", "twelve"], "--seed"),
        (&["--noise-mg", "NaN"], "--noise-mg"),
        (&["--noise-mg", "-0.5"], "--noise-mg"),
        (&["--link-corrupt-rate", "1.5"], "--link-corrupt-rate"),
        (&["--link-drop-rate", "-0.01"], "--link-drop-rate"),
        (&["--link-duplicate-rate", "2"], "--link-duplicate-rate"),
        (&["--link-delay-rate", "NaN"], "--link-delay-rate"),
        (&["--operator", ""], "--operator"),
        (&["--operator", "   "], "--operator"),
    ] {
        let mut all = vec!["run", "--plain", "--reports", reports];
        all.extend_from_slice(args);
        all.push("scenarios/refill.toml");
        let out = pumphil(&all);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(
            text.contains(option),
            "{args:?} does not name {option}: {text}"
        );
        // The value is refused before any scenario is read, so no file takes the blame.
        assert!(!text.contains("refill.toml"), "{args:?}: {text}");
    }
    assert!(
        std::fs::read_dir(reports).unwrap().next().is_none(),
        "a refused command line made a run directory"
    );
}

#[test]
fn an_empty_operator_from_the_environment_is_refused_too() {
    let out = Command::new(BIN)
        .args(["run", "scenarios/refill.toml"])
        .env("PUMPHIL_OPERATOR", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--operator"), "{}", stderr(&out));
}

/// Runs a command with stdout a pipe nobody reads any more (`pumphil lint | head -1` after
/// head has gone) and returns its exit code and stderr.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdout(common::closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (out.status.code(), stderr(&out))
}

#[test]
fn a_closed_stdout_ends_each_command_quietly() {
    let reports = tempfile::tempdir().unwrap();
    let made = pumphil(&[
        "run",
        "--quiet",
        "--reports",
        reports.path().to_str().unwrap(),
        "scenarios/refill.toml",
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let run_dir = common::run_dir(reports.path());
    let run_dir = run_dir.to_str().unwrap();
    for (args, code) in [
        (&["lint"][..], 0),
        (&["list"], 0),
        (&["expect"], 0),
        (&["expect", "scenarios/refill.toml"], 0),
        (&["verify", run_dir], 0),
        (&["report", run_dir], 0),
        (&["ports"], 0),
        (&["--help"], 0),
    ] {
        let (exit, text) = with_closed_stdout(args);
        assert_eq!(exit, Some(code), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?}: {text}");
        assert!(!text.contains("failed printing"), "{args:?}: {text}");
    }
    let other = tempfile::tempdir().unwrap();
    let (exit, text) = with_closed_stdout(&[
        "run",
        "--plain",
        "--reports",
        other.path().to_str().unwrap(),
        "scenarios/refill.toml",
    ]);
    assert_eq!(exit, Some(0), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn output_lost_to_a_full_disk_is_said_and_exits_3() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(BIN)
        .arg("list")
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("error[stdout]"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// A copy of one scenario and its fixtures, to damage.
fn copy_of_refill(dir: &Path) {
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::copy("scenarios/refill.toml", dir.join("scenarios/refill.toml")).unwrap();
    let fixtures = dir.join("fixtures/refill");
    std::fs::create_dir_all(&fixtures).unwrap();
    for entry in std::fs::read_dir("fixtures/refill").unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), fixtures.join(entry.file_name())).unwrap();
    }
}

#[test]
fn an_input_that_cannot_be_hashed_stops_the_run_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    copy_of_refill(dir.path());
    let scenario = dir.path().join("scenarios/refill.toml");
    let reports = dir.path().join("reports");
    let run = || {
        Command::new(BIN)
            .args(["run", "--quiet", "--reports"])
            .arg(&reports)
            .arg(&scenario)
            .output()
            .unwrap()
    };
    // The copy runs: what follows is the missing file's doing, nothing else.
    let intact = run();
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    std::fs::remove_dir_all(&reports).unwrap();

    // The README is not needed to judge, but it is evidence the record names by its hash.
    let readme = dir.path().join("fixtures/refill/README.md");
    std::fs::remove_file(&readme).unwrap();
    let out = run();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("error[run::hash]"), "{text}");
    assert!(text.contains(&readme.display().to_string()), "{text}");
    assert!(text.contains("help:"), "{text}");
    assert!(
        !reports.exists(),
        "no run is recorded with an input unaccounted for"
    );
}

#[test]
fn a_record_that_stops_taking_writes_stops_the_run_at_once() {
    use std::os::unix::process::CommandExt;
    let reports = tempfile::tempdir().unwrap();
    let scenarios = std::fs::read_dir("scenarios").unwrap().count();
    let mut command = Command::new(BIN);
    command
        .args(["run", "--plain", "--jobs", "1", "--reports"])
        .arg(reports.path());
    // The disk is "full" after 32 KiB of any file the run writes: write() then fails with
    // EFBIG (SIGXFSZ, which would kill the process instead, is ignored, as it is on a
    // full disk, where write() fails with ENOSPC).
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 32 * 1024,
                rlim_max: 32 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("error[run::record]"), "{text}");
    assert!(text.contains("events.jsonl"), "{text}");
    // One scenario at a time: the one running when the record filled up is the last started.
    let started = text.lines().filter(|l| l.starts_with("start ")).count();
    assert!(scenarios > 2, "the suite holds {scenarios} scenarios");
    assert_eq!(
        started, 1,
        "{started} of {scenarios} scenarios started:\n{text}"
    );
}
