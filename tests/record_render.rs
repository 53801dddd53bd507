//! Outputs rendered from a synthetic run record (JUnit, summary, traces, manifest, closing table),
//! their reproducibility, and `verify` naming exactly what was changed, added or removed.

mod common;

use common::records::{check, finished, planned, run_started, started};
use common::BIN;
use pumphil::protocol::{AlarmKind, Priority, TherapyState};
use pumphil::record::journal::Journal;
use pumphil::record::render::{self, closing_table, render_all, verify};
use pumphil::record::{AlarmTransition, RunEvent, Sample, ScenarioVerdict};
use pumphil::scenario::NegativeControl;
use serde_json::json;
use std::path::Path;
use std::process::Command;

const RUN_ID: &str = "20260301T080000Z-abc123";
/// Where the synthetic scenarios end: two samples, 10 min apart, then the end.
const END_MS: u64 = 1_200_000;

fn sample(id: &str, t_ms: u64, delivered_nl: u64, balance_g: Option<f64>) -> RunEvent {
    RunEvent::Sample {
        scenario: id.into(),
        sample: Sample {
            t_ms,
            device_time_ms: 5_000 + t_ms,
            delivered_nl,
            calculated_nl: 40_000_000 - delivered_nl,
            dose_rate_ug_per_day: 1000,
            concentration_ug_per_ml: 500,
            therapy_state: TherapyState::Running,
            battery_permille: 998,
            elective_replacement: false,
            end_of_service: false,
            active_alarms: if t_ms > 0 {
                vec![AlarmKind::LowReservoir, AlarmKind::MotorStall]
            } else {
                vec![]
            },
            balance_g,
            balance_stable: balance_g.map(|_| true),
            tip_nl: balance_g.map(|_| 25_000),
            actual_reservoir_nl: None,
            pocket_nl: None,
        },
    }
}

/// The record: line numbers in events.jsonl are the index here + 1.
fn events() -> Vec<RunEvent> {
    vec![
        run_started(
            RUN_ID,
            7,
            1,
            planned(
                ["basic", "neg-stall", "refused", "cut"].map(|id| (id, id.starts_with("neg-"))),
            ),
        ),
        // line 2
        started("basic", None, END_MS, true),
        sample("basic", 0, 0, Some(0.0)),
        sample("basic", 600_000, 25_000, Some(0.025116)),
        RunEvent::Alarm {
            scenario: "basic".into(),
            t_ms: 600_000,
            device_time_ms: 605_000,
            alarm: AlarmKind::LowReservoir,
            priority: Priority::Medium,
            transition: AlarmTransition::Raised,
            event_seq: 3,
        },
        RunEvent::Deviation {
            scenario: Some("basic".into()),
            t_ms: Some(600_000),
            kind: "retry".into(),
            detail: "request re-sent after a timeout".into(),
        },
        check("basic", "delivered-volume", true, "2 samples compared"),
        check(
            "basic",
            "alarm-onset:low_reservoir",
            false,
            "raised at 10m, window <5m & 7m>",
        ),
        finished(
            "basic",
            ScenarioVerdict::Failed,
            &["alarm-onset:low_reservoir"],
            None,
            1_234,
        ),
        // line 10: a control whose defect should fail the stall onset and the delivered volume.
        started(
            "neg-stall",
            Some(NegativeControl {
                must_fail: vec!["alarm-onset".into(), "delivered-volume".into()],
                reason: "a pump that never reports a stall".into(),
            }),
            END_MS,
            true,
        ),
        sample("neg-stall", 0, 0, None),
        check(
            "neg-stall",
            "alarm-onset:motor_stall",
            false,
            "never raised",
        ),
        check("neg-stall", "delivered-volume", true, "within tolerance"),
        check("neg-stall", "under-infusion", false, "tip flow 0 %"),
        finished(
            "neg-stall",
            ScenarioVerdict::ControlMissed,
            &["alarm-onset:motor_stall", "under-infusion"],
            None,
            500,
        ),
        // line 16: a scenario refused before it ran, and one the record never saw finish.
        finished(
            "refused",
            ScenarioVerdict::Error,
            &[],
            Some("fixture \"x.csv\" missing"),
            0,
        ),
        started("cut", None, END_MS, true),
        RunEvent::RunFinished {
            finished_utc: "2026-03-01T08:05:00Z".into(),
            exit_code: 3,
            passed: 0,
            failed: 2,
            incomplete: 1,
            errors: 1,
        },
    ]
}

/// A run directory with the record written and every output rendered.
fn rendered_run() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::create(dir.path())
        .expect("journal")
        .without_wall_clock();
    for event in events() {
        journal.append(event).expect("append");
    }
    render_all(dir.path()).expect("render");
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Checks that tags nest and close, and that no raw '<' or '&' escaped the escaping.
fn assert_well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("prolog");
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray '>' in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "raw '&' in {text:?}"
            );
        }
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "'<' inside tag {tag:?}");
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in {tag:?}"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "closing {name}");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().expect("tag name"));
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(rest, "\n");
}

/// The text of `<testsuite name="id" ...>` through its `</testsuite>`.
fn suite<'a>(xml: &'a str, id: &str) -> &'a str {
    let start = xml
        .find(&format!("<testsuite name=\"{id}\""))
        .unwrap_or_else(|| panic!("no suite {id}"));
    let end = xml[start..].find("</testsuite>").expect("suite end") + start;
    &xml[start..end]
}

/// The text of `<testcase name="name" ...>` through its `</testcase>` within a suite, or the
/// whole tag when it closes itself.
fn case<'a>(suite: &'a str, name: &str) -> &'a str {
    let start = suite
        .find(&format!("<testcase name=\"{name}\""))
        .unwrap_or_else(|| panic!("no case {name}"));
    let tag_end = suite[start..].find('>').expect("tag end") + start;
    if suite[..tag_end].ends_with('/') {
        return &suite[start..=tag_end];
    }
    let end = suite[start..].find("</testcase>").expect("case end") + start;
    &suite[start..end]
}

#[test]
fn junit_has_a_suite_per_scenario_and_inverts_negative_controls() {
    let dir = rendered_run();
    let xml = read(dir.path(), "junit.xml");
    assert_well_formed(&xml);
    // 2 + 3 + 1 + 1 cases; failures: 1 (basic) + 1 (control not caught); errors: refused, cut.
    assert!(
        xml.contains(&format!(
            "<testsuites name=\"pumphil {RUN_ID}\" tests=\"7\" skipped=\"0\" failures=\"2\" errors=\"2\" timestamp=\"2026-03-01T08:00:00.000+00:00\""
        )),
        "{xml}"
    );
    let order: Vec<usize> = ["basic", "neg-stall", "refused", "cut"]
        .iter()
        .map(|id| {
            xml.find(&format!("<testsuite name=\"{id}\""))
                .expect("suite")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "record order");

    let basic = suite(&xml, "basic");
    assert!(basic.starts_with(
        "<testsuite name=\"basic\" tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"1\" timestamp=\""
    ));
    assert!(basic.contains(" time=\"1.234\" hostname=\""), "{basic}");
    // Properties a CI system shows beside the suite: traceability and reproduction.
    for property in [
        "<property name=\"requirements\" value=\"REQ-1\"/>",
        "<property name=\"hazard\" value=\"over-infusion\"/>",
        "<property name=\"seed\" value=\"7\"/>",
        "<property name=\"pump_serial_number\" value=\"EMU-0001\"/>",
        "<property name=\"scenario_path\" value=\"scenarios/basic.toml\"/>",
        "<property name=\"scenario_sha256\" value=\"abab",
    ] {
        assert!(basic.contains(property), "{property} in {basic}");
    }
    let passing = case(basic, "delivered-volume");
    assert_eq!(
        passing,
        "<testcase name=\"delivered-volume\" classname=\"basic\" time=\"0.000\"/>"
    );
    let failing = case(basic, "alarm-onset:low_reservoir");
    assert!(failing.contains(
        "<failure message=\"alarm-onset:low_reservoir: measured 0.0300 mL, expected 0.0250 mL\">"
    ));
    assert!(failing.contains(
        "expected: 0.0250 mL\nmeasured: 0.0300 mL\ntolerance: ±0.0051 mL\nmargin: -4.900 uL\nraised at 10m, window &lt;5m &amp; 7m&gt;</failure>"
    ));
    assert!(basic.contains("<system-err>[10m] retry: request re-sent after a timeout</system-err>"));

    let control = suite(&xml, "neg-stall");
    assert!(control.starts_with(
        "<testsuite name=\"neg-stall\" tests=\"3\" skipped=\"0\" errors=\"0\" failures=\"1\" timestamp=\""
    ));
    assert!(control.contains(" time=\"0.500\" hostname=\""));
    let caught = case(control, "alarm-onset:motor_stall");
    assert!(caught.contains("<system-out>failed as required by negative control\n"));
    assert!(!caught.contains("<failure"));
    let missed = case(control, "delivered-volume");
    assert!(missed.contains("<failure message=\"negative control not caught: delivered-volume passed against a defective device\">"));
    let collateral = case(control, "under-infusion");
    assert!(collateral.contains("<system-out>also failed against the defective device"));
    assert!(!collateral.contains("<failure"));

    let refused = suite(&xml, "refused");
    assert!(
        refused.contains("tests=\"1\" skipped=\"0\" errors=\"1\" failures=\"0\" time=\"0.000\"")
    );
    assert!(refused.contains(
        "<property name=\"kind\" value=\"scenario\"/>\n            <property name=\"verdict\" value=\"ERROR\"/>"
    ));
    assert!(
        refused.contains("<error message=\"fixture &quot;x.csv&quot; missing\" type=\"ERROR\"/>")
    );
    let cut = suite(&xml, "cut");
    assert!(cut.contains(
        "<testcase name=\"scenario-completed\" classname=\"cut\" time=\"0.000\">\n            <error message=\"the record ends before this scenario finished\" type=\"INCOMPLETE\"/>"
    ));
}

#[test]
fn summary_gives_run_and_scenario_verdicts_and_totals() {
    let dir = rendered_run();
    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "summary.json")).expect("summary parses");
    assert_eq!(summary["run_id"], RUN_ID);
    assert_eq!(summary["started_utc"], "2026-03-01T08:00:00Z");
    assert_eq!(summary["finished_utc"], "2026-03-01T08:05:00Z");
    assert_eq!(summary["harness_version"], "0.1.0");
    assert_eq!(summary["git_commit"], "e6b8f8517b88");
    assert_eq!(summary["mode"], "emulator");
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["recorded_exit_code"], 3);
    assert_eq!(summary["verdict"], "incomplete");
    assert_eq!(
        summary["record"],
        json!({"records": 18, "truncated_at_line": null})
    );
    let ids: Vec<&str> = summary["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["basic", "neg-stall", "refused", "cut"]);
    let basic = &summary["scenarios"][0];
    assert_eq!(basic["title"], "Title of basic");
    assert_eq!(basic["kind"], "scenario");
    assert_eq!(basic["verdict"], "failed");
    assert_eq!(basic["failed_checks"], json!(["alarm-onset:low_reservoir"]));
    assert_eq!(basic["checks"], 2);
    assert_eq!(basic["deviations"], 1);
    assert_eq!(basic["alarm_events"], 1);
    let control = &summary["scenarios"][1];
    assert_eq!(control["kind"], "negative control");
    assert_eq!(control["verdict"], "defect_missed");
    assert_eq!(control["verdict_label"], "DEFECT MISSED");
    assert_eq!(control["checks"], 3);
    assert_eq!(control["checks_failed"], 2);
    assert_eq!(
        summary["scenarios"][2]["reason"],
        "fixture \"x.csv\" missing"
    );
    assert_eq!(summary["scenarios"][3]["verdict"], "incomplete");
    assert_eq!(summary["scenarios"][3]["progress"], "incomplete");
    assert_eq!(
        summary["totals"],
        json!({"planned": 4, "finished": 3, "incomplete": 1, "never_started": 0,
               "passed": 0, "failed": 1, "defect_caught": 0, "defect_missed": 1,
               "errors": 1, "checks": 5, "checks_failed": 3, "checks_not_evaluated": 0, "checks_inconclusive": 0})
    );
}

#[test]
fn traces_hold_every_sample_field_and_every_alarm() {
    let dir = rendered_run();
    assert_eq!(
        read(dir.path(), "traces/basic.csv"),
        "t_ms,device_time_ms,delivered_nl,calculated_nl,dose_rate_ug_per_day,concentration_ug_per_ml,therapy_state,battery_permille,elective_replacement,end_of_service,active_alarms,balance_g,balance_stable,tip_nl,actual_reservoir_nl,pocket_nl\n\
         0,5000,0,40000000,1000,500,running,998,false,false,,0.00000,true,25000,,\n\
         600000,605000,25000,39975000,1000,500,running,998,false,false,low_reservoir motor_stall,0.02512,true,25000,,\n"
    );
    assert_eq!(
        read(dir.path(), "traces/basic-alarms.csv"),
        "t_ms,device_time_ms,alarm,priority,transition,event_seq\n600000,605000,low_reservoir,medium,raised,3\n"
    );
    assert_eq!(
        read(dir.path(), "traces/neg-stall-alarms.csv"),
        "t_ms,device_time_ms,alarm,priority,transition,event_seq\n"
    );
    assert_eq!(read(dir.path(), "traces/neg-stall.csv").lines().count(), 2);
}

#[test]
fn rendering_twice_gives_identical_bytes_and_the_manifest_verifies() {
    let dir = rendered_run();
    let names = render::manifest::run_files(dir.path()).expect("files");
    let first: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(dir.path().join(n)).expect("read"))
        .collect();
    let manifest = read(dir.path(), "MANIFEST.sha256");
    render_all(dir.path()).expect("render again");
    for (name, bytes) in names.iter().zip(&first) {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).expect("read"),
            bytes,
            "{name}"
        );
    }
    assert_eq!(read(dir.path(), "MANIFEST.sha256"), manifest);

    // events, junit, summary, two reports, two traces for each of the four scenarios, and the
    // nine figures report.md links.
    assert_eq!(names.len(), 22, "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.starts_with("figures/")).count(),
        9
    );
    let md = read(dir.path(), "report.md");
    for figure in names.iter().filter(|n| n.starts_with("figures/")) {
        assert!(md.contains(&format!("]({figure})")), "{figure} not linked");
        let svg = read(dir.path(), figure);
        assert!(
            svg.starts_with("<svg xmlns=") && svg.contains("<style>"),
            "{figure}"
        );
    }
    assert!(!md.contains("Figure (in report.html)"));
    let listed: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
    assert_eq!(listed, names);
    let junit_hash =
        pumphil::scenario::sha256_hex(&std::fs::read(dir.path().join("junit.xml")).expect("junit"));
    assert!(manifest.contains(&format!("{junit_hash}  junit.xml\n")));

    let report = verify(dir.path());
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!((report.files, report.records), (22, 18));
}

fn problems_after(tamper: impl FnOnce(&Path)) -> Vec<String> {
    let dir = rendered_run();
    tamper(dir.path());
    verify(dir.path()).problems
}

#[test]
fn verify_names_the_record_changed_in_the_middle() {
    let problems = problems_after(|dir| {
        let events = read(dir, "events.jsonl");
        let mut lines: Vec<String> = events.lines().map(str::to_string).collect();
        // Line 5 is the alarm at 10 min (lines 3 and 4 are the blocks of its two samples).
        assert!(lines[4].contains("\"event_seq\":3"));
        lines[4] = lines[4].replace("\"event_seq\":3", "\"event_seq\":4");
        std::fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").expect("write");
    });
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("events.jsonl: changed (its SHA-256 differs"));
    assert_eq!(
        problems[1],
        "events.jsonl line 5: changed (hash chain broken: line 6 holds a different hash for it)"
    );
}

#[test]
fn verify_names_the_sample_changed_in_its_trace_file_and_line() {
    let problems = problems_after(|dir| {
        let trace = read(dir, "traces/basic.csv");
        // Line 3 is the sample at 10 min: one digit of its delivered volume.
        assert_eq!(
            trace.lines().nth(2).map(|l| &l[..19]),
            Some("600000,605000,25000")
        );
        let edited = trace.replacen("600000,605000,25000", "600000,605000,26000", 1);
        std::fs::write(dir.join("traces/basic.csv"), edited).expect("write");
    });
    assert_eq!(
        problems,
        [
            "traces/basic.csv: changed (its SHA-256 differs from the manifest)",
            "traces/basic.csv line 3: changed (the sample block's bytes do not hash to its record's SHA-256) (sample block at events.jsonl line 4)",
        ]
    );
}

#[test]
fn verify_names_a_trace_file_cut_short() {
    let problems = problems_after(|dir| {
        let trace = read(dir, "traces/basic.csv");
        std::fs::write(dir.join("traces/basic.csv"), &trace[..trace.len() - 20]).expect("write");
    });
    assert_eq!(
        problems,
        [
            "traces/basic.csv: changed (its SHA-256 differs from the manifest)",
            "traces/basic.csv line 3: the file ends 20 bytes short of the sample block that starts here (cut short or truncated) (sample block at events.jsonl line 4)",
        ]
    );
}

#[test]
fn samples_added_to_a_finished_run_trace_are_named() {
    let dir = rendered_run();
    let path = dir.path().join("traces/neg-stall.csv");
    let mut trace = read(dir.path(), "traces/neg-stall.csv");
    trace.push_str("600000,605000,0,40000000,1000,500,running,998,false,false,,,,,,\n");
    std::fs::write(&path, trace).expect("write");
    let report = verify(dir.path());
    assert_eq!(
        report.problems[1..],
        ["traces/neg-stall.csv line 3: 1 sample(s) (64 bytes) from here on are not covered by the record's hash chain: added after the run had finished"]
    );
}

#[test]
fn verify_names_a_removed_record() {
    let problems = problems_after(|dir| {
        let events = read(dir, "events.jsonl");
        let mut lines: Vec<&str> = events.lines().collect();
        lines.remove(5);
        std::fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").expect("write");
    });
    assert_eq!(
        problems[1..],
        ["events.jsonl line 6: 1 record(s) removed before this line (hash chain broken; sequence jumps to 6 where 5 was expected)"]
    );
}

#[test]
fn verify_names_a_changed_output() {
    let problems = problems_after(|dir| {
        let xml = read(dir, "junit.xml").replacen("failures=\"1\"", "failures=\"0\"", 1);
        std::fs::write(dir.join("junit.xml"), xml).expect("write");
    });
    assert_eq!(
        problems,
        ["junit.xml: changed (its SHA-256 differs from the manifest)"]
    );
}

#[test]
fn verify_names_a_missing_and_an_added_file() {
    let problems = problems_after(|dir| {
        std::fs::remove_file(dir.join("traces/basic.csv")).expect("remove");
        std::fs::write(dir.join("traces/extra.csv"), "t_ms\n").expect("add");
    });
    assert_eq!(
        problems,
        [
            "traces/basic.csv: removed (listed in the manifest, missing from the directory)",
            "traces/extra.csv: added (in the directory, not in the manifest)",
            "traces/basic.csv: cannot be read (No such file or directory (os error 2)); the record's sample blocks name it (sample block at events.jsonl line 3)",
        ]
    );
}

#[test]
fn a_line_removed_from_the_manifest_shows_its_file_as_added() {
    let problems = problems_after(|dir| {
        let manifest: String = read(dir, "MANIFEST.sha256")
            .lines()
            .filter(|l| !l.ends_with("  summary.json"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join("MANIFEST.sha256"), manifest).expect("write");
    });
    assert_eq!(
        problems,
        ["summary.json: added (in the directory, not in the manifest)"]
    );
}

#[test]
fn a_record_cut_short_renders_what_precedes_it_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::create(dir.path())
        .expect("journal")
        .without_wall_clock();
    for event in events().into_iter().take(8) {
        journal.append(event).expect("append");
    }
    drop(journal);
    let mut events = std::fs::read(dir.path().join("events.jsonl")).expect("read");
    events.extend_from_slice(b"{\"seq\":8,\"prev\":\"ab");
    std::fs::write(dir.path().join("events.jsonl"), events).expect("write");

    let outcome = render_all(dir.path()).expect("render");
    assert_eq!((outcome.records, outcome.truncated_at_line), (8, Some(9)));
    let summary: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "summary.json")).expect("summary");
    assert_eq!(summary["verdict"], "incomplete");
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["recorded_exit_code"], serde_json::Value::Null);
    // Planned in run_started, never reached before the kill.
    assert_eq!(summary["totals"]["planned"], 4);
    assert_eq!(summary["totals"]["never_started"], 3);
    assert_eq!(summary["scenarios"][2]["progress"], "never_started");
    assert_eq!(
        summary["record"],
        json!({"records": 8, "truncated_at_line": 9})
    );
    assert!(read(dir.path(), "junit.xml").contains("the record ends before this scenario finished"));

    let report = verify(dir.path());
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.notes.len(), 1);
    assert!(report.notes[0].starts_with("events.jsonl line 9: cut short"));
}

#[test]
fn closing_table_lists_every_scenario_with_totals() {
    let dir = rendered_run();
    let records = pumphil::record::journal::read(dir.path())
        .expect("read")
        .records;
    assert_eq!(
        closing_table(&pumphil::record::view::RunView::from_records(&records)),
        "\
SCENARIO   KIND              VERDICT          CHECKS  FAILED CHECKS
basic      scenario          FAIL                1/2  alarm-onset:low_reservoir
neg-stall  negative control  DEFECT MISSED       1/3  alarm-onset:motor_stall, under-infusion
refused    scenario          ERROR               0/0  fixture \"x.csv\" missing
cut        scenario          INCOMPLETE          0/0
TOTAL                        0/4 ok              2/5

4 scenario(s) planned: 3 finished, 1 incomplete, 0 never started; 0 as required, 4 not (a negative control is as required when its defect made the named checks fail)
Overall verdict: INCOMPLETE"
    );
}

#[test]
fn the_commands_verify_and_re_render_a_run_directory() {
    let dir = rendered_run();
    let verify_cmd = |dir: &Path| {
        Command::new(BIN)
            .arg("verify")
            .arg(dir)
            .output()
            .expect("run")
    };
    let out = verify_cmd(dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "OK: 22 files, 18 records, hash chain intact, unsigned run, 0 electronic signature(s)\n"
    );

    // Outputs deleted and rendered again come back byte for byte, so the old manifest holds
    // (the sample traces are the record's own: rendering reads them, never writes them).
    let junit = read(dir.path(), "junit.xml");
    let samples = read(dir.path(), "traces/basic.csv");
    std::fs::remove_file(dir.path().join("junit.xml")).expect("remove");
    std::fs::remove_file(dir.path().join("traces/basic-alarms.csv")).expect("remove");
    let out = Command::new(BIN)
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(read(dir.path(), "junit.xml"), junit);
    assert_eq!(read(dir.path(), "traces/basic.csv"), samples);
    assert_eq!(verify_cmd(dir.path()).status.code(), Some(0));

    std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
    let out = verify_cmd(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("notes.txt: added (in the directory, not in the manifest)\n"),
        "{stdout}"
    );

    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .arg("report")
        .arg(empty.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no events.jsonl here"));
}
