//! Pipelined samples (issue 15, `runner::batch`): the suite run as users run it, where the runner
//! writes many samples' requests to the emulator at once and the balance streams a weight per
//! sample, records exactly what the same run records one sample at a time: every sample, alarm,
//! step, deviation, check and verdict of every scenario, the balance's noise included.

mod common;

use pumphil::record::{journal, RunEvent};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Each scenario's recorded events as JSON, in the order recorded, without what differs between
/// two runs of the same thing: the ports and the wall time.
fn recorded(
    reports: &Path,
    sample_batch: Option<&str>,
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut run = Command::new(common::BIN);
    run.args(["run", "--plain", "--quiet", "--reports"])
        .arg(reports)
        .env_remove("PUMPHIL_SIGN_KEY")
        .env_remove("PUMPHIL_SAMPLE_BATCH");
    if let Some(batch) = sample_batch {
        run.env("PUMPHIL_SAMPLE_BATCH", batch);
    }
    let out = run.output().expect("pumphil run");
    assert_eq!(out.status.code(), Some(0), "{}", common::output_text(&out));
    let mut by_scenario: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for r in journal::read(&common::run_dir(reports)).unwrap().records {
        if matches!(r.event, RunEvent::ScenarioStarted { .. }) {
            continue;
        }
        let Some(scenario) = r.event.scenario().map(str::to_string) else {
            continue;
        };
        let mut event = serde_json::to_value(&r.event).unwrap();
        if let Some(fields) = event.as_object_mut() {
            fields.remove("wall_ms");
        }
        by_scenario.entry(scenario).or_default().push(event);
    }
    by_scenario
}

#[test]
fn the_suite_pipelined_records_what_it_records_one_sample_at_a_time() {
    let reports = tempfile::tempdir().unwrap();
    let one_at_a_time = recorded(&reports.path().join("one"), Some("1"));
    let pipelined = recorded(&reports.path().join("pipelined"), None);
    assert!(one_at_a_time.len() >= 20, "{:?}", one_at_a_time.keys());
    assert_eq!(
        pipelined.keys().collect::<Vec<_>>(),
        one_at_a_time.keys().collect::<Vec<_>>()
    );
    let mut samples = 0;
    for (id, events) in &one_at_a_time {
        samples += events.iter().filter(|e| e["type"] == "sample").count();
        let other = &pipelined[id];
        assert_eq!(other.len(), events.len(), "{id}: as many events");
        for (a, b) in events.iter().zip(other) {
            assert_eq!(b, a, "{id}");
        }
    }
    assert!(samples > 1000, "the suite took {samples} samples");
}

/// The suite's flow-bias scenario (a fault injected at 0 s), sampled every second: 259 201
/// samples, long enough to be interrupted while its samples are pipelined; its expected traces
/// beside it.
fn long_fault_scenario(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("scenarios/reservoir-empty-flow-bias.toml")
        .unwrap()
        .replace("sample_every = \"30m\"", "sample_every = \"1s\"")
        .replace(
            "id = \"reservoir-empty-flow-bias\"",
            "id = \"pipelined-interrupted\"",
        );
    assert!(text.contains("\"1s\"") && text.contains("pipelined-interrupted"));
    common::scenario_with_fixtures(&dir.join("scenarios/interrupted.toml"), &text)
}

/// Ctrl-C while samples are pipelined ends the scenario INCOMPLETE with its fault cleared, and
/// the requests already written are answered and recorded first: the restore's request finds no
/// answer left over, so the record shows nothing stale. (Before, a signal mid-pipeline left up
/// to 32 answers that the record then showed as stale answers, as if the link had failed.)
#[test]
fn ctrl_c_while_samples_are_pipelined_leaves_no_answer_over() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_fault_scenario(dir.path());
    // The signal lands mid-pipeline most of the time, not always: three tries.
    for attempt in 0..3 {
        let reports = dir.path().join(format!("reports-{attempt}"));
        let child = Command::new(common::BIN)
            .args(["run", "--plain", "--quiet", "--reports"])
            .arg(&reports)
            .arg(&scenario)
            .env_remove("PUMPHIL_SIGN_KEY")
            .env_remove("PUMPHIL_SAMPLE_BATCH")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        common::wait_for_sample_blocks(&reports, 2);
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let (code, text) = common::finish(child);
        assert_eq!(code, 3, "{text}");
        let events =
            std::fs::read_to_string(common::run_dir(&reports).join("events.jsonl")).unwrap();
        assert!(events.contains("interrupted by signal"), "{text}");
        assert!(
            common::flow_bias_restored(&events),
            "the injected flow bias was not cleared"
        );
        let deviations: Vec<_> = events
            .lines()
            .filter(|l| l.contains("\"type\":\"deviation\""))
            .collect();
        assert!(deviations.is_empty(), "{deviations:#?}");
    }
}
