//! junit.xml as a CI system reads it: parsed by Python's junitparser (a real consumer, not our
//! own string matching). Without junitparser this test fails and says how to install it.

mod common;

use pumphil::record::render::junit;
use pumphil::record::view::{RunView, ScenarioView};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const CONSUMER: &str = "tests/python/junit_consumer.py";

/// junitparser's reading of a junit.xml.
fn consume(xml: &Path) -> Value {
    let out = Command::new("python3")
        .arg(CONSUMER)
        .arg(xml)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to read junit.xml as CI does: {e}"));
    assert_ne!(
        out.status.code(),
        Some(3),
        "junitparser is not installed: run `python3 -m pip install junitparser` (.ci/run does)"
    );
    assert!(
        out.status.success(),
        "junitparser refused {}: {out:?}",
        xml.display()
    );
    serde_json::from_slice(&out.stdout).expect("consumer output")
}

#[test]
fn junitparser_reads_a_run_with_its_properties_times_and_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = common::passing_run_with_requirements(
        dir.path(),
        &["--seed", "11"],
        &[
            "scenarios/catheter-disconnect.toml",
            "scenarios/catheter-disconnect-neg-under-infusion.toml",
        ],
    );
    let parsed = consume(&run_dir.join(junit::FILE));

    assert_eq!(parsed["failures"], 0, "{parsed}");
    assert_eq!(parsed["errors"], 0, "{parsed}");
    assert_eq!(parsed["skipped"], 0, "{parsed}");
    let suites = parsed["suites"].as_array().expect("suites");
    assert_eq!(suites.len(), 2, "one suite per scenario: {parsed}");
    for suite in suites {
        let name = suite["name"].as_str().unwrap();
        assert!(
            suite["timestamp"]
                .as_str()
                .is_some_and(|t| t.starts_with("20")),
            "{suite}"
        );
        assert!(
            suite["hostname"].as_str().is_some_and(|h| !h.is_empty()),
            "{suite}"
        );
        assert!(suite["time"].as_f64().is_some_and(|t| t > 0.0), "{suite}");
        let p = &suite["properties"];
        assert_eq!(p["requirements"], "PH-REQ-020,PH-REQ-021", "{suite}");
        assert_eq!(p["hazard_ids"], "HAZ-01", "{suite}");
        assert_eq!(p["seed"], "11");
        assert!(p["commit"].as_str().is_some_and(|c| !c.is_empty()));
        assert!(
            p["pump_serial_number"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{suite}"
        );
        assert_eq!(p["scenario_path"], format!("scenarios/{name}.toml"));
        let sha = pumphil::scenario::sha256_hex(
            &std::fs::read(format!("scenarios/{name}.toml")).unwrap(),
        );
        assert_eq!(p["scenario_sha256"], sha.as_str());
        let cases = suite["cases"].as_array().unwrap();
        assert!(cases.len() >= 3, "{suite}");
        for case in cases {
            assert_eq!(case["classname"], name);
            assert!(case["time"].as_f64().is_some(), "{case}");
            assert_eq!(case["results"], serde_json::json!([]), "{case}");
        }
    }
    let control = suites
        .iter()
        .find(|s| s["name"] == "catheter-disconnect-neg-under-infusion")
        .expect("the negative control's suite");
    assert_eq!(control["properties"]["kind"], "negative control");
    assert_eq!(control["properties"]["verdict"], "DEFECT CAUGHT");
}

/// A scenario the run never started is `<skipped>` for the consumer, and the run's own suite
/// carries an error: a run that left scenarios out never reads as green.
#[test]
fn junitparser_sees_a_never_started_scenario_as_skipped_and_the_run_as_an_error() {
    let view = RunView {
        scenarios: vec![ScenarioView {
            id: "later".into(),
            planned: true,
            requirements: vec!["PH-REQ-010".into()],
            ..ScenarioView::default()
        }],
        ..RunView::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(junit::FILE);
    std::fs::write(&path, junit::render(&view)).expect("write");
    let parsed = consume(&path);
    assert_eq!(parsed["skipped"], 1, "{parsed}");
    assert_eq!(parsed["errors"], 1, "{parsed}");
    let suites = parsed["suites"].as_array().unwrap();
    let later = &suites[0];
    assert_eq!(later["name"], "later");
    assert_eq!(later["cases"][0]["results"], serde_json::json!(["skipped"]));
    assert!(later["cases"][0]["messages"][0]
        .as_str()
        .unwrap()
        .contains("never started"));
    let run = &suites[1];
    assert_eq!(run["name"], junit::RUN_SUITE);
    assert_eq!(run["cases"][0]["results"], serde_json::json!(["error"]));
    assert!(
        run["cases"][0]["messages"][0]
            .as_str()
            .unwrap()
            .contains("never started: later"),
        "{run}"
    );
}
