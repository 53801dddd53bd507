//! On a real-time bench the harness is the time authority (issue 11 §7), shown over ptys with
//! `pumphil emulate --realtime`: the device clock is measured against the host's and judged by
//! `clock-drift`; samples are taken on the host's clock. Runs last seconds.

mod common;

use common::{Emulator, BIN};
use pumphil::record::{journal, RunEvent, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Six seconds, sampled every second: continuous 1000 ug/day (no stroke falls due in that time).
const SCENARIO: &str = r#"id = "clock"
title = "A few seconds on a real-time bench"
requirements = ["PH-REQ-020"]
hazard = "over-infusion: a device clock that runs fast"

[device]
reservoir_ml = 40
initial_fill_ml = 3.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 1.0

[timing]
end = "6s"
sample_every = "1s"

[[step]]
at = "0s"
program = { continuous_ug_per_day = 1000 }
"#;

/// A motor stall injected at 2 s: its alarm is raised at once.
const STALL_SCENARIO: &str = r#"id = "stall"
title = "A motor stall on a real-time bench"
requirements = ["PH-REQ-020"]
hazard = "underdose: a stalled motor"

[device]
reservoir_ml = 40
initial_fill_ml = 3.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 1.0

[timing]
end = "4s"
sample_every = "1s"

[[step]]
at = "0s"
program = { continuous_ug_per_day = 1000 }

[[step]]
at = "2s"
inject = { fault = "motor_stall" }

[[expect.alarm]]
alarm = "motor_stall"
priority = "high"
raised = { at = "2s" }
"#;

fn emulator(extra: &[&str]) -> Emulator {
    common::realtime_test_pump(extra)
}

/// The scenario and its fixtures in `dir`, and a bench file for `emu`.
fn prepare(dir: &Path, emu: &Emulator, text: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    let scenario = dir.join("scenarios/scenario.toml");
    std::fs::write(&scenario, text).unwrap();
    let status = Command::new(BIN)
        .arg("expect")
        .arg(&scenario)
        .arg("--write")
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let bench = dir.join("bench.toml");
    std::fs::write(
        &bench,
        format!("station = \"test bench\"\nallowed_serial_numbers = [\"TU-000123\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\nmodel = \"EMU-BAL\"\nserial_number = \"BAL-0001\"\nreadability_mg = 0.1\ncalibration_due = \"2099-03-01\"\n", emu.pump, emu.balance),
    )
    .unwrap();
    (scenario, bench)
}

/// Runs `text` on a bench of an emulator with `extra`; the verdict and detail of check `name`.
fn check_of(text: &str, extra: &[&str], name: &str) -> (Verdict, String) {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(extra);
    let (scenario, bench) = prepare(dir.path(), &emu, text);
    let out = Command::new(BIN)
        .args(["run", "--plain", "--reports"])
        .arg(dir.path().join("reports"))
        .arg("--bench")
        .arg(&bench)
        .arg(&scenario)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = common::run_dir(&dir.path().join("reports"));
    let records = journal::read(&run).unwrap().records;
    records
        .iter()
        .find_map(|r| match &r.event {
            RunEvent::Check { result, .. } if result.name == name => Some((
                result.verdict,
                format!("{} / {}", result.measured, result.detail),
            )),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} check in the record:\n{text}"))
}

fn clock_drift_of(extra: &[&str]) -> (Verdict, String) {
    check_of(SCENARIO, extra, "clock-drift")
}

#[test]
fn a_device_clock_running_10_percent_fast_fails_clock_drift() {
    let (verdict, measured) = clock_drift_of(&["--defect-clock-fast-percent", "10"]);
    assert_eq!(verdict, Verdict::Fail, "{measured}");
    assert!(
        measured.starts_with("+9.") || measured.starts_with("+10."),
        "{measured}"
    );
}

#[test]
fn a_correct_device_clock_passes_clock_drift() {
    let (verdict, measured) = clock_drift_of(&[]);
    assert_eq!(verdict, Verdict::Pass, "{measured}");
}

#[test]
fn an_alarm_stamped_25_minutes_early_fails_its_onset_on_the_harness_clock() {
    let (verdict, detail) = check_of(
        STALL_SCENARIO,
        &["--defect-alarm-stamped-early-min", "25"],
        "alarm-onset:motor_stall",
    );
    assert_eq!(verdict, Verdict::Fail, "{detail}");
    assert!(detail.contains("still showed no motor_stall"), "{detail}");
}

#[test]
fn an_alarm_stamped_when_it_happened_passes_its_onset() {
    let (verdict, detail) = check_of(STALL_SCENARIO, &[], "alarm-onset:motor_stall");
    assert_eq!(verdict, Verdict::Pass, "{detail}");
}
