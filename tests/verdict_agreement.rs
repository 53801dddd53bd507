//! One verdict everywhere: runs (records) built with each mix of scenario outcomes are rendered,
//! and the exit code, summary.json, junit.xml, the closing table, report.md and report.html must
//! all say the same overall verdict, and name a negative control's outcome the same way. Also: a
//! record of another schema version is refused by name, and a killed run counts what was planned.

mod common;

use common::records::{check, finished, planned, run_started, started};
use pumphil::record::journal::{Journal, EVENTS_FILE};
use pumphil::record::render::{render_all, RenderError};
use pumphil::record::{RunEvent, RunVerdict, ScenarioVerdict, SCHEMA_VERSION};
use pumphil::scenario::NegativeControl;
use std::path::Path;

/// What a scenario in a synthetic run does.
#[derive(Clone, Copy, Debug)]
enum Mix {
    Pass,
    Fail,
    DefectCaught,
    DefectMissed,
    /// A negative control whose pump was lost before its checks were judged.
    ControlLost,
    /// Refused before it started (a bad fixture).
    InputError,
    /// Planned, never reached (the run was killed).
    NeverStarted,
}

impl Mix {
    fn id(self, index: usize) -> String {
        format!("{self:?}-{index}").to_lowercase()
    }

    fn is_control(self) -> bool {
        matches!(
            self,
            Mix::DefectCaught | Mix::DefectMissed | Mix::ControlLost
        )
    }
}

/// Scenarios of a synthetic run end at the first sample and have no balance.
const END_MS: u64 = 600_000;
const WALL_MS: u64 = 10;

/// A negative control's declaration when `control`: the delivered volume must fail.
fn control_of(control: bool) -> Option<NegativeControl> {
    control.then(|| NegativeControl {
        must_fail: vec!["delivered-volume".into()],
        reason: "a pump that over-reports".into(),
    })
}

/// The events of one scenario and the verdict the runner would return for it (None: not run).
fn scenario_events(mix: Mix, id: &str) -> (Vec<RunEvent>, Option<ScenarioVerdict>) {
    let checks_of = |delivered_passes: bool| {
        let failed: Vec<&str> = if delivered_passes {
            vec![]
        } else {
            vec!["delivered-volume"]
        };
        let verdict = pumphil::record::verdict::judge_scenario(
            mix.is_control()
                .then(|| NegativeControl {
                    must_fail: vec!["delivered-volume".into()],
                    reason: String::new(),
                })
                .as_ref(),
            &failed.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            &[],
            &[],
            false,
        );
        (
            vec![
                started(id, control_of(mix.is_control()), END_MS, false),
                check(id, "delivered-volume", delivered_passes, ""),
                check(id, "calculated-volume", true, ""),
                finished(id, verdict, &failed, None, WALL_MS),
            ],
            Some(verdict),
        )
    };
    match mix {
        Mix::Pass | Mix::DefectMissed => checks_of(true),
        Mix::Fail | Mix::DefectCaught => checks_of(false),
        Mix::ControlLost => (
            vec![
                started(id, control_of(true), END_MS, false),
                finished(
                    id,
                    ScenarioVerdict::Incomplete,
                    &[],
                    Some("pump: device lost"),
                    WALL_MS,
                ),
            ],
            Some(ScenarioVerdict::Incomplete),
        ),
        Mix::InputError => (
            vec![finished(
                id,
                ScenarioVerdict::Error,
                &[],
                Some("fixture missing"),
                WALL_MS,
            )],
            Some(ScenarioVerdict::Error),
        ),
        Mix::NeverStarted => (vec![], None),
    }
}

/// Writes a run of `mixes` (in that order in run_started, finishing in reverse order) and
/// returns the exit code `pumphil run` would return, as the runner computes it.
fn write_run(dir: &Path, mixes: &[Mix], killed: bool, record_failed: bool) -> u8 {
    let mut journal = Journal::create(dir).expect("journal").without_wall_clock();
    let ids: Vec<String> = mixes.iter().enumerate().map(|(i, m)| m.id(i)).collect();
    journal
        .append(run_started(
            "20260301T080000Z-abc123",
            1,
            2,
            planned(
                mixes
                    .iter()
                    .zip(&ids)
                    .map(|(mix, id)| (id.as_str(), mix.is_control())),
            ),
        ))
        .expect("append");
    let mut verdicts = Vec::new();
    for (mix, id) in mixes.iter().zip(&ids).rev() {
        let (events, verdict) = scenario_events(*mix, id);
        for event in events {
            journal.append(event).expect("append");
        }
        verdicts.extend(verdict);
    }
    let never_started = mixes.iter().any(|m| matches!(m, Mix::NeverStarted));
    let code = if killed || never_started {
        RunVerdict::Incomplete.exit_code()
    } else {
        pumphil::runner::exit_code(&verdicts, record_failed)
    };
    if !killed {
        journal
            .append(RunEvent::RunFinished {
                finished_utc: "2026-03-01T08:05:00Z".into(),
                exit_code: code,
                passed: 0,
                failed: 0,
                incomplete: 0,
                errors: 0,
            })
            .expect("append");
    }
    code
}

/// The verdict JUnit conveys: an error typed INCOMPLETE or ERROR, else failures, else none.
fn junit_verdict(xml: &str) -> &'static str {
    if xml.contains(" type=\"INCOMPLETE\"/>") {
        "INCOMPLETE"
    } else if xml.contains(" type=\"ERROR\"/>") {
        "ERROR"
    } else if xml.contains("<testsuites") && !xml.contains(" failures=\"0\" errors=\"0\" ") {
        "FAIL"
    } else {
        "PASS"
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Renders the run and asserts every output says `expected`; returns the rendered directory.
fn assert_agree(mixes: &[Mix], killed: bool, record_failed: bool, expected: RunVerdict) {
    let dir = tempfile::tempdir().expect("tempdir");
    let code = write_run(dir.path(), mixes, killed, record_failed);
    let case = format!("{mixes:?} killed={killed} record_failed={record_failed}");
    assert_eq!(code, expected.exit_code(), "exit code of {case}");
    let outcome = render_all(dir.path()).expect("render");
    assert_eq!(outcome.verdict, expected, "view of {case}");
    let word = expected.word();

    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "summary.json")).expect("summary");
    assert_eq!(summary["verdict"], expected.key(), "summary of {case}");
    assert_eq!(summary["exit_code"], code, "summary exit code of {case}");

    let xml = read(dir.path(), "junit.xml");
    assert_eq!(junit_verdict(&xml), word, "junit of {case}:\n{xml}");

    let table = &outcome.closing_table;
    assert_eq!(
        table.lines().last(),
        Some(format!("Overall verdict: {word}").as_str()),
        "closing table of {case}:\n{table}"
    );
    let md = read(dir.path(), "report.md");
    assert!(
        md.lines()
            .any(|l| l == format!("## Overall verdict: {word}")),
        "report.md of {case}"
    );
    let html = read(dir.path(), "report.html");
    assert!(
        html.contains(&format!(">Overall verdict: {word}<")),
        "report.html of {case}"
    );
    for other in ["PASS", "FAIL", "ERROR", "INCOMPLETE"]
        .iter()
        .filter(|w| **w != word)
    {
        assert!(
            !md.contains(&format!("Overall verdict: {other}")),
            "report.md of {case} also says {other}"
        );
        assert!(
            !table.contains(&format!("Overall verdict: {other}")),
            "table of {case} also says {other}"
        );
    }

    // Scenarios in the order given, not the order they finished (reversed here).
    let ids: Vec<String> = mixes.iter().enumerate().map(|(i, m)| m.id(i)).collect();
    let listed: Vec<&str> = summary["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, ids, "summary order of {case}");
    let positions = |text: &str, pattern: &dyn Fn(&str) -> String| -> Vec<usize> {
        ids.iter()
            .map(|id| text.find(&pattern(id)).expect("listed"))
            .collect()
    };
    assert!(
        positions(&xml, &|id| format!("<testsuite name=\"{id}\""))
            .windows(2)
            .all(|w| w[0] < w[1]),
        "junit order of {case}"
    );
    assert!(
        positions(table, &|id| format!("\n{id} "))
            .windows(2)
            .all(|w| w[0] < w[1]),
        "table order of {case}"
    );
}

#[test]
fn every_output_says_the_same_verdict_for_every_mix() {
    use Mix::*;
    let cases: &[(&[Mix], bool, bool, RunVerdict)] = &[
        (&[Pass, DefectCaught], false, false, RunVerdict::Pass),
        (&[Pass, Fail], false, false, RunVerdict::Fail),
        (&[Pass, DefectMissed], false, false, RunVerdict::Fail),
        (&[Fail, InputError, Pass], false, false, RunVerdict::Error),
        // The example: a missed negative control and a pump lost mid-scenario.
        (
            &[DefectMissed, ControlLost],
            false,
            false,
            RunVerdict::Incomplete,
        ),
        (
            &[Fail, InputError, ControlLost],
            false,
            false,
            RunVerdict::Incomplete,
        ),
        // kill -9: no run end, scenarios planned but never started.
        (
            &[Pass, Fail, NeverStarted, NeverStarted],
            true,
            false,
            RunVerdict::Incomplete,
        ),
        // Everything passed but the record could not be written whole.
        (&[Pass, DefectCaught], false, true, RunVerdict::Incomplete),
    ];
    for (mixes, killed, record_failed, expected) in cases {
        assert_agree(mixes, *killed, *record_failed, *expected);
    }
}

#[test]
fn a_negative_control_is_named_the_same_everywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(
        dir.path(),
        &[Mix::DefectMissed, Mix::DefectCaught],
        false,
        false,
    );
    let outcome = render_all(dir.path()).expect("render");
    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "summary.json")).expect("summary");
    let xml = read(dir.path(), "junit.xml");
    let md = read(dir.path(), "report.md");
    for (index, label) in [(0, "DEFECT MISSED"), (1, "DEFECT CAUGHT")] {
        let s = &summary["scenarios"][index];
        assert_eq!(s["kind"], "negative control");
        assert_eq!(s["verdict_label"], label);
        let id = s["id"].as_str().expect("id");
        let row = outcome
            .closing_table
            .lines()
            .find(|l| l.starts_with(id))
            .expect("row");
        assert!(
            row.contains("negative control") && row.contains(label),
            "{row}"
        );
        assert!(xml.contains(&format!(
            "<property name=\"kind\" value=\"negative control\"/>\n            <property name=\"verdict\" value=\"{label}\"/>"
        )));
        assert!(
            md.contains(&format!("| `{id}` | negative control | REQ-1 |")),
            "{md}"
        );
        assert!(md.contains(&format!("**{label}**")), "{md}");
    }
}

#[test]
fn a_killed_run_counts_what_was_planned() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(
        dir.path(),
        &[
            Mix::Pass,
            Mix::ControlLost,
            Mix::NeverStarted,
            Mix::NeverStarted,
        ],
        true,
        false,
    );
    let outcome = render_all(dir.path()).expect("render");
    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "summary.json")).expect("summary");
    let totals = &summary["totals"];
    assert_eq!(
        (
            &totals["planned"],
            &totals["finished"],
            &totals["incomplete"],
            &totals["never_started"]
        ),
        (&4.into(), &1.into(), &1.into(), &2.into()),
        "{totals}"
    );
    assert!(outcome
        .closing_table
        .contains("4 scenario(s) planned: 1 finished, 1 incomplete, 2 never started"));
    let md = read(dir.path(), "report.md");
    assert!(
        md.contains("4 planned: 1 finished, 1 incomplete, 2 never started"),
        "{md}"
    );
    assert!(md.contains("scenario neverstarted-2 INCOMPLETE: planned but never started"));
}

#[test]
fn a_record_of_another_schema_version_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_run(dir.path(), &[Mix::Pass], false, false);
    let events = read(dir.path(), EVENTS_FILE).replacen(
        &format!("\"schema_version\":{SCHEMA_VERSION},"),
        "\"schema_version\":7,",
        1,
    );
    std::fs::write(dir.path().join(EVENTS_FILE), events).expect("write");
    let err = render_all(dir.path()).err().expect("refused");
    assert!(matches!(err, RenderError::Read { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "record schema version 7; this pumphil reads version {SCHEMA_VERSION} only"
        )),
        "{message}"
    );

    // A record from before the version was recorded reads as version 1.
    let events = read(dir.path(), EVENTS_FILE).replacen("\"schema_version\":7,", "", 1);
    std::fs::write(dir.path().join(EVENTS_FILE), events).expect("write");
    let message = render_all(dir.path()).err().expect("refused").to_string();
    assert!(message.contains("record schema version 1;"), "{message}");

    let verified = pumphil::record::render::verify(dir.path());
    assert!(
        verified.problems.iter().any(|p| p.contains(&format!(
            "events.jsonl: record schema version 1; this pumphil reads version {SCHEMA_VERSION} only"
        ))),
        "{:?}",
        verified.problems
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("pumphil report");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "record schema version 1; this pumphil reads version {SCHEMA_VERSION} only"
        )),
        "{stderr}"
    );
}
