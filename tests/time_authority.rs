//! On a real-time bench the harness is the time authority (issue 11 §7), shown over ptys with
//! `pumphil emulate --realtime`: the device clock is measured against the host's and judged by
//! `clock-drift`; samples are taken on the host's clock. Runs last seconds.

mod common;

use common::{Emulator, BIN};
use pumphil::record::{journal, RunEvent, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Six seconds, sampled every second: continuous 1000 ug/day (no stroke falls due in that time).
fn clock_scenario() -> String {
    common::seconds_scenario(
        "clock",
        "A few seconds on a real-time bench",
        "over-infusion: a device clock that runs fast",
        "6s",
        "",
    )
}

/// A motor stall injected at 2 s: its alarm is raised at once.
fn stall_scenario() -> String {
    common::seconds_scenario(
        "stall",
        "A motor stall on a real-time bench",
        "underdose: a stalled motor",
        "4s",
        r#"
[[step]]
at = "2s"
inject = { fault = "motor_stall" }

[[expect.alarm]]
alarm = "motor_stall"
priority = "high"
raised = { at = "2s" }
"#,
    )
}

fn emulator(extra: &[&str]) -> Emulator {
    common::realtime_test_pump(extra)
}

/// The scenario and its fixtures in `dir`, and a bench file for `emu`.
fn prepare(dir: &Path, emu: &Emulator, text: &str) -> (PathBuf, PathBuf) {
    (
        common::scenario_with_fixtures(&dir.join("scenarios/scenario.toml"), text),
        common::test_bench_file(&dir.join("bench.toml"), "test bench", emu, "2099-03-01"),
    )
}

/// Runs `text` on a bench of an emulator with `extra`; the record's events.
fn run_on_bench(text: &str, extra: &[&str]) -> (Vec<RunEvent>, String) {
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
    let text = common::output_text(&out);
    let run = common::run_dir(&dir.path().join("reports"));
    let events = journal::read(&run)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.event)
        .collect();
    (events, text)
}

/// Runs `text` on a bench of an emulator with `extra`; the verdict and detail of check `name`.
fn check_of(text: &str, extra: &[&str], name: &str) -> (Verdict, String) {
    let (events, text) = run_on_bench(text, extra);
    events
        .iter()
        .find_map(|e| match e {
            RunEvent::Check { result, .. } if result.name == name => Some((
                result.verdict,
                format!("{} / {}", result.measured, result.detail),
            )),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} check in the record:\n{text}"))
}

fn clock_drift_of(extra: &[&str]) -> (Verdict, String) {
    check_of(&clock_scenario(), extra, "clock-drift")
}

/// Runs `a` and `b` at once and returns both results: each is a run of seconds on a real-time
/// bench of its own, spent waiting on the host's clock, so two side by side take the time of
/// one. A panic in either is raised here as it was.
fn side_by_side<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// A correct device clock and one running 10 % fast, each on its own bench at the same time.
#[test]
fn clock_drift_fails_a_device_clock_running_10_percent_fast_and_passes_a_correct_one() {
    let ((fast, fast_measured), (correct, correct_measured)) = side_by_side(
        || clock_drift_of(&["--defect-clock-fast-percent", "10"]),
        || clock_drift_of(&[]),
    );
    assert_eq!(fast, Verdict::Fail, "10 % fast: {fast_measured}");
    assert!(
        fast_measured.starts_with("+9.") || fast_measured.starts_with("+10."),
        "10 % fast: {fast_measured}"
    );
    assert_eq!(correct, Verdict::Pass, "correct: {correct_measured}");
}

/// A motor stall alarm stamped 25 minutes early and one stamped when it happened, each on its
/// own bench at the same time.
#[test]
fn alarm_onset_fails_an_alarm_stamped_25_minutes_early_and_passes_one_stamped_when_it_happened() {
    let onset = |extra: &'static [&'static str]| {
        move || check_of(&stall_scenario(), extra, "alarm-onset:motor_stall")
    };
    let ((early, early_detail), (on_time, on_time_detail)) = side_by_side(
        onset(&["--defect-alarm-stamped-early-min", "25"]),
        onset(&[]),
    );
    assert_eq!(early, Verdict::Fail, "stamped early: {early_detail}");
    assert!(
        early_detail.contains("still showed no motor_stall"),
        "stamped early: {early_detail}"
    );
    assert_eq!(on_time, Verdict::Pass, "stamped on time: {on_time_detail}");
}

/// Ten seconds of a flexible schedule whose first minute runs ten times the rest of the day:
/// 0.1 uL strokes at 50 ug/mL, so the first minute's rate (600 ug/day, 1.4 strokes a second)
/// shows on the pump's count and the balance within seconds. Sent without turning to a pump
/// that is past the first minute of its day, it delivers a tenth of what is expected.
const DEVICE_DAY_SCENARIO: &str = r#"id = "device-day"
title = "A flexible schedule on a pump switched on before the run"
requirements = ["PH-REQ-020"]
hazard = "over- or under-infusion: a schedule run on the wrong day"

[device]
reservoir_ml = 40
initial_fill_ml = 3.0
concentration_ug_per_ml = 50
low_reservoir_threshold_ml = 1.0
stroke_ul = 0.1

[timing]
end = "10s"
sample_every = "1s"

[[step]]
at = "0s"
program = { flexible = [{ start = "00:00", ug_per_day = 600 }, { start = "00:01", ug_per_day = 60 }] }

[expect.discrepancy]
window = "4s"
min_strokes = 4
"#;

/// A correct pump whose clock reads `switched_on_ms` when the emulator starts runs the
/// scenario; every check must pass, and scenario time 0 is the start of a device minute.
fn a_correct_pump_switched_on_before_the_run_passes(switched_on_ms: u64) {
    let on = switched_on_ms.to_string();
    let (events, text) = run_on_bench(
        DEVICE_DAY_SCENARIO,
        &["--stroke-nl", "100", "--clock-starts-at-ms", &on],
    );
    let checks: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Check { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    for name in ["delivered-volume", "tip-volume", "under-infusion"] {
        assert!(
            checks.iter().any(|c| c.name == name),
            "no {name} check:\n{text}"
        );
    }
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| format!("{} {:?}: {} / {}", c.name, c.verdict, c.measured, c.detail))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}\n{text}");
    let first_sample_ms = events
        .iter()
        .find_map(|e| match e {
            RunEvent::Sample { sample, .. } => Some(sample.device_time_ms),
            _ => None,
        })
        .expect("a sample");
    assert!(
        first_sample_ms >= switched_on_ms && first_sample_ms % 60_000 < 5_000,
        "scenario time 0 at device time {first_sample_ms} ms is not the start of a minute"
    );
}

/// Switched on an hour and 55 s before the emulator serves: 61 minutes into its day when the
/// run starts, after a wait of a few seconds for the pump's next minute. Sent unturned, the
/// schedule's first minute would be over and the pump would deliver a tenth of the expected.
/// About 15 s of real time, so it runs in CI's release steps (`--ignored`); a debug `cargo test`
/// keeps the same turn of the schedule in virtual time (`tests/virtual_bench.rs`, a device
/// switched on hours before the run).
#[test]
#[ignore = "15 s of real time on a pump switched on before the run; CI runs it"]
fn a_correct_pump_switched_on_an_hour_before_the_run_passes_a_flexible_schedule() {
    a_correct_pump_switched_on_before_the_run_passes(3_655_000);
}

/// The case reported in issue 11: switched on 72 s before the run. The run waits about 45 s for
/// the pump's next minute, so this runs in CI's release steps (`--ignored`).
#[test]
#[ignore = "waits about 45 s for the pump's next minute; CI runs it"]
fn a_correct_pump_switched_on_72_s_before_the_run_passes_a_flexible_schedule() {
    a_correct_pump_switched_on_before_the_run_passes(72_000);
}
