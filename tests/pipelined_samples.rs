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
