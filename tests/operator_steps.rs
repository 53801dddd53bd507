//! Operator steps: on the emulator they map to their test-mode action or are confirmed
//! automatically; on a real-time bench the operator types their initials on the harness's
//! standard input, and a step nobody confirms ends the scenario INCOMPLETE.

mod common;

use common::BIN;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Writes `text` as `dir/scenarios/<name>.toml` and its expected traces beside it.
fn scenario_with_fixtures(dir: &Path, name: &str, text: &str) -> PathBuf {
    common::scenario_with_fixtures(&dir.join("scenarios").join(format!("{name}.toml")), text)
}

fn events(reports: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(common::run_dir(reports).join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .collect()
}

fn of_type<'a>(events: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn on_the_emulator_an_operator_step_sends_its_test_mode_action_or_is_confirmed_automatically() {
    let dir = tempfile::tempdir().unwrap();
    // The catheter-disconnect scenario with its disconnect done by an operator, and a check
    // the emulator cannot do by hand.
    let text = std::fs::read_to_string("scenarios/catheter-disconnect.toml")
        .unwrap()
        .replace(
            "inject = { fault = \"catheter_disconnect\" }",
            "operator = { text = \"Disconnect the catheter at the pump connector\", emulate = { inject = \"catheter_disconnect\" } }\ntimeout = \"10m\"",
        )
        .replace(
            "[[expect.finding]]",
            "[[step]]\nat = \"1d 13h\"\noperator = \"Check the catheter connector for leaks\"\n\n[[expect.finding]]",
        );
    assert!(text.contains("emulate = { inject"));
    let scenario = scenario_with_fixtures(dir.path(), "catheter-disconnect", &text);
    let reports = dir.path().join("reports");
    let out = Command::new(BIN)
        .args(["run", "--plain", "--reports"])
        .arg(&reports)
        .arg(&scenario)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The emulated disconnect is what the harness's under-infusion finding must catch.
    assert_eq!(out.status.code(), Some(0), "{output}");
    let events = events(&reports);
    let confirmed = of_type(&events, "operator_confirmed");
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    assert_eq!(
        confirmed[0]["instruction"],
        "Disconnect the catheter at the pump connector"
    );
    assert_eq!(confirmed[0]["confirmation"]["by"], "emulated");
    assert_eq!(confirmed[0]["confirmation"]["outcome"]["status"], "ok");
    assert_eq!(confirmed[0]["t_ms"], 86_400_000);
    assert_eq!(confirmed[1]["confirmation"]["by"], "automatic");
    // Nobody is asked on the emulator.
    assert!(of_type(&events, "operator_waiting").is_empty());
    // The emulated fault was injected, so the harness clears it at the end as any other.
    let findings = of_type(&events, "finding");
    assert!(
        findings.iter().any(|f| f["kind"] == "under_infusion"),
        "{findings:?}"
    );
    assert!(
        output.contains("confirmed automatically (virtual time)"),
        "{output}"
    );
}

/// A 3-second real-time scenario with an operator step at 1 s: the step, a sample after it
/// and the scenario's end are all there is to see. Not shorter: `clock-drift` needs 2 s of
/// host time between its first and last reading (or it is not evaluated, and the scenario
/// fails), and over 2 s its 0.1 % is the 2 ms that whole-millisecond readings can be off by.
fn bench_scenario(timeout: &str) -> String {
    format!(
        r#"id = "operator-on-bench"
title = "An operator step on a real-time bench"
requirements = ["PH-REQ-020"]
hazard = "catheter disconnection"

[device]
reservoir_ml = 20
initial_fill_ml = 3.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 2.0

[bench]
balance = false

[timing]
end = "3s"
sample_every = "2s"

[[step]]
at = "0s"
program = {{ continuous_ug_per_day = 400 }}

[[step]]
at = "1s"
operator = "Check the catheter is connected at the pump connector"
timeout = "{timeout}"
"#
    )
}

/// A real-time bench on `pumphil emulate --realtime --tcp`, running `scenario` with its
/// standard input and standard error piped.
fn bench_run(dir: &Path, scenario: &Path) -> (common::Emulator, std::process::Child) {
    let emu = common::emulate_serving(
        &["--tcp", "127.0.0.1:0"],
        &[
            "--realtime",
            "--serial",
            "TU-000123",
            "--initial-fill-ml",
            "3",
            "--reservoir-ml",
            "20",
        ],
    );
    let bench = dir.join("bench.toml");
    std::fs::write(
        &bench,
        format!(
            "allowed_serial_numbers = [\"TU-000123\"]\n[pump]\nport = \"{}\"\n",
            emu.pump
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["run", "--plain", "--reports"])
        .arg(dir.join("reports"))
        .arg("--bench")
        .arg(&bench)
        .arg(scenario)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (emu, child)
}

#[test]
fn on_a_real_time_bench_the_operator_confirms_with_their_initials() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_with_fixtures(dir.path(), "operator-on-bench", &bench_scenario("1m"));
    let (_emu, mut child) = bench_run(dir.path(), &scenario);
    let mut stdin = child.stdin.take().unwrap();
    // Wait for the prompt, as an operator would, then answer it: first with something that is
    // not initials (asked again), then with initials.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut lines = stderr.lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("waiting for the operator") {
            assert!(
                line.contains("Check the catheter is connected at the pump connector"),
                "{line}"
            );
            stdin.write_all(b"\nJD\n").unwrap();
            stdin.flush().unwrap();
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}");
    assert!(seen.contains("confirmed by JD"), "{seen}");
    let events = events(&dir.path().join("reports"));
    let waiting = of_type(&events, "operator_waiting");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["timeout_ms"], 60_000);
    let confirmed = of_type(&events, "operator_confirmed");
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0]["confirmation"]["by"], "operator");
    assert_eq!(confirmed[0]["confirmation"]["initials"], "JD");
    assert!(confirmed[0]["host_utc"].as_str().unwrap().ends_with('Z'));
    assert!(confirmed[0]["device_time_ms"].as_u64().unwrap() > 0);
    let report =
        std::fs::read_to_string(common::run_dir(&dir.path().join("reports")).join("report.md"))
            .unwrap();
    assert!(
        report.contains("confirmed by JD"),
        "the report says who confirmed"
    );
}

#[test]
fn an_operator_step_nobody_confirms_ends_the_scenario_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_with_fixtures(dir.path(), "operator-on-bench", &bench_scenario("2s"));
    let (_emu, mut child) = bench_run(dir.path(), &scenario);
    // Standard input stays open and silent: nobody at the bench.
    let _silent = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("INCOMPLETE"), "{text}");
    assert!(text.contains("not confirmed within 2s"), "{text}");
    let events = events(&dir.path().join("reports"));
    assert!(of_type(&events, "operator_confirmed").is_empty());
}

#[test]
fn an_operator_step_without_a_terminal_ends_the_scenario_incomplete_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_with_fixtures(dir.path(), "operator-on-bench", &bench_scenario("1h"));
    let (_emu, mut child) = bench_run(dir.path(), &scenario);
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("standard input is closed"), "{text}");
}
