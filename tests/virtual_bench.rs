//! A bench file's `time = "virtual"`: an external device (`pumphil emulate --tcp`, a separate
//! process) driven through whole scenarios with AdvanceTime over a tcp:// endpoint, and a
//! device that NACKs ReadPlant, whose plant checks are "not evaluated".

mod common;

use common::{Emulator, BIN};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `pumphil emulate --tcp` in virtual time (no `--realtime`) as the scenario's pump would be
/// built: the bench's setup sets the rest over the protocol.
fn external_device(reservoir_ml: u32, extra: &[&str]) -> Emulator {
    let reservoir = reservoir_ml.to_string();
    let mut args = vec!["--serial", "TU-000777", "--reservoir-ml", &reservoir];
    args.extend_from_slice(extra);
    common::emulate_serving(
        &["--tcp", "127.0.0.1:0", "--balance-tcp", "127.0.0.1:0"],
        &args,
    )
}

fn virtual_bench(dir: &Path, emu: &Emulator) -> PathBuf {
    let path = dir.join("bench.toml");
    std::fs::write(
        &path,
        format!(
            "station = \"simulator\"\ntime = \"virtual\"\nallowed_serial_numbers = [\"TU-000777\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\n",
            emu.pump, emu.balance
        ),
    )
    .unwrap();
    path
}

/// Runs `pumphil run` (on `bench` when given) and returns the exit code, the output and the
/// run's summary.json.
fn run(dir: &Path, bench: Option<&Path>, scenario: &Path) -> (i32, String, serde_json::Value) {
    let reports = dir.join("reports");
    let mut command = Command::new(BIN);
    command
        .args(["run", "--plain", "--seed", "1", "--reports"])
        .arg(&reports);
    if let Some(bench) = bench {
        command.arg("--bench").arg(bench);
    }
    let out = command.arg(scenario).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = std::fs::read_to_string(common::run_dir(&reports).join("summary.json"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    (
        out.status.code().unwrap_or(-1),
        text,
        serde_json::from_str(&summary).unwrap(),
    )
}

fn scenario_of(summary: &serde_json::Value) -> &serde_json::Value {
    &summary["scenarios"][0]
}

#[test]
fn an_external_device_in_virtual_time_runs_a_whole_scenario_as_the_built_in_emulator_does() {
    let scenario = Path::new("scenarios/refill.toml");
    let in_process = tempfile::tempdir().unwrap();
    let (code, text, reference) = run(in_process.path(), None, scenario);
    assert_eq!(code, 0, "{text}");

    let dir = tempfile::tempdir().unwrap();
    let emu = external_device(40, &[]);
    assert!(emu.pump.starts_with("tcp://127.0.0.1:"), "{}", emu.pump);
    let bench = virtual_bench(dir.path(), &emu);
    let (code, text, summary) = run(dir.path(), Some(&bench), scenario);
    assert_eq!(code, 0, "{text}");
    let (external, reference) = (scenario_of(&summary), scenario_of(&reference));
    for key in ["verdict", "checks", "checks_failed", "failed_checks"] {
        assert_eq!(external[key], reference[key], "{key}: {text}");
    }
    // Four and a half days of device time went by in the seconds this test takes, and the
    // record says whose clock it was.
    assert_eq!(summary["mode"], "bench");
    assert_eq!(external["time_base"], "virtual");
    assert_eq!(reference["time_base"], "virtual");
    let report =
        std::fs::read_to_string(common::run_dir(&dir.path().join("reports")).join("report.md"))
            .unwrap();
    assert!(
        report.contains("virtual (the harness advances the device clock with AdvanceTime)"),
        "the report shows the time base"
    );
}

/// One day at 400 µg/day with the bench plant's actual reservoir judged.
const PLANT_SCENARIO: &str = r#"id = "plant-judged"
title = "The bench plant's reservoir follows the delivery"
requirements = ["PH-REQ-020"]
hazard = "over- or under-infusion"

[device]
reservoir_ml = 20
initial_fill_ml = 10.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 2.0

[timing]
end = "1d"
sample_every = "2h"

[[step]]
at = "0s"
program = { continuous_ug_per_day = 400 }

[expect.volume]
actual = true
"#;

#[test]
fn a_device_that_nacks_read_plant_leaves_the_plant_checks_not_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    // Its expected traces, as a user makes them (fixtures/ beside scenarios/).
    let scenario =
        common::scenario_with_fixtures(&dir.path().join("scenarios/plant.toml"), PLANT_SCENARIO);

    // A device with a plant: the check is judged (and passes).
    let with_plant = tempfile::tempdir().unwrap();
    let emu = external_device(20, &[]);
    let bench = virtual_bench(with_plant.path(), &emu);
    let (code, text, summary) = run(with_plant.path(), Some(&bench), &scenario);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        scenario_of(&summary)["checks_not_evaluated"],
        serde_json::json!([])
    );

    // Without one: not evaluated, listed as such, never counted as passed.
    let without = tempfile::tempdir().unwrap();
    let emu = external_device(20, &["--no-plant"]);
    let bench = virtual_bench(without.path(), &emu);
    let (code, text, summary) = run(without.path(), Some(&bench), &scenario);
    let s = scenario_of(&summary);
    assert_eq!(
        s["checks_not_evaluated"],
        serde_json::json!(["actual-reservoir"]),
        "{text}"
    );
    assert_eq!(s["checks_failed"], 0, "{text}");
    // Not evaluated is never a pass: the scenario does not pass (record::verdict), though no
    // check failed.
    assert_eq!(s["verdict"], "failed", "{text}");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("not evaluated: actual-reservoir"),
        "closing table: {text}"
    );
    let run_dir = common::run_dir(&without.path().join("reports"));
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("not evaluated"), "report lists it");
    let junit = std::fs::read_to_string(run_dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<skipped message=\"not evaluated\">"),
        "{junit}"
    );
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert!(events.contains("\"verdict\":\"not_evaluated\""));
    assert_eq!(
        events.matches("plant-not-available").count(),
        1,
        "asked once, recorded once"
    );
}

/// Two days of a flexible schedule that halves the dose for half the day.
const FLEXIBLE_SCENARIO: &str = r#"id = "device-day-virtual"
title = "A flexible schedule on a simulated pump that has been running for six hours"
requirements = ["PH-REQ-020"]
hazard = "over- or under-infusion: a schedule run on the wrong day"

[device]
reservoir_ml = 20
initial_fill_ml = 10.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 2.0

[timing]
end = "2d"
sample_every = "30m"

[[step]]
at = "0s"
program = { flexible = [{ start = "00:00", ug_per_day = 600 }, { start = "12:00", ug_per_day = 300 }] }
"#;

/// A simulated pump whose clock stands at 6 h 0 min 30 s when the bench connects: the run
/// advances it to its next minute and turns the schedule by 361 minutes, so the pump's day
/// follows the scenario's and every check passes. Sent as written, the low half of the day
/// would start six hours early.
#[test]
fn a_device_switched_on_hours_before_the_run_follows_the_scenarios_day_in_virtual_time() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::scenario_with_fixtures(
        &dir.path().join("scenarios/device-day.toml"),
        FLEXIBLE_SCENARIO,
    );
    let emu = external_device(20, &["--clock-starts-at-ms", "21630000"]);
    let bench = virtual_bench(dir.path(), &emu);
    let (code, text, summary) = run(dir.path(), Some(&bench), &scenario);
    assert_eq!(code, 0, "{text}");
    let result = scenario_of(&summary);
    assert_eq!(result["verdict"], "passed", "{text}");
    assert_eq!(result["checks_failed"], 0, "{text}");
}
