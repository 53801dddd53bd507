//! `junit.xml`: one testsuite per scenario, one testcase per check, built as a typed
//! `quick_junit::Report` (the model nextest writes with) rather than by hand.
//!
//! A negative control inverts its required checks: they pass in JUnit when they failed against
//! the defective device, and fail when the defect slipped through. A scenario never started is
//! `<skipped>`, and the run's own suite then carries an error, so no consumer reads a run that
//! left scenarios out as green.

use crate::record::schema::CheckResult;
use crate::record::verdict::is_required;
use crate::record::view::{Progress, RunView, ScenarioView};
use crate::record::ScenarioVerdict;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub const FILE: &str = "junit.xml";

/// The suite that stands for the run when its record is not whole.
pub const RUN_SUITE: &str = "pumphil-run";

fn details(result: &CheckResult) -> String {
    let margin = result
        .margin
        .map(|m| format!("{m:.3} {}", result.unit))
        .unwrap_or_else(|| "-".into());
    format!(
        "expected: {}\nmeasured: {}\ntolerance: {}\nmargin: {margin}\n{}",
        result.expected, result.measured, result.tolerance, result.detail
    )
}

fn failure(message: String, description: Option<String>) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(message);
    if let Some(text) = description {
        status.set_description(text);
    }
    status
}

fn error(kind: &str, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_type(kind).set_message(message);
    status
}

fn check_case(id: &str, result: &CheckResult, control: Option<&[String]>) -> TestCase {
    let text = details(result);
    let required = control.is_some_and(|m| is_required(m, &result.name));
    if result.not_evaluated() {
        // Neither passed nor failed: a consumer must not count it green.
        let mut skipped = TestCaseStatus::skipped();
        skipped.set_message("not evaluated").set_description(text);
        let mut case = TestCase::new(result.name.as_str(), skipped);
        case.set_classname(id).set_time(Duration::ZERO);
        return case;
    }
    if result.inconclusive() {
        // Shown, not failed: without --require-conclusive it does not fail its scenario.
        let mut case = TestCase::new(result.name.as_str(), TestCaseStatus::success());
        case.set_classname(id).set_time(Duration::ZERO);
        case.set_system_out(format!(
            "INCONCLUSIVE under guarded acceptance: the result's interval straddles a limit\n{text}"
        ));
        return case;
    }
    let (status, out) = match (result.passed(), control.is_some(), required) {
        (true, true, true) => (
            failure(
                format!(
                    "negative control not caught: {} passed against a defective device",
                    result.name
                ),
                Some(text),
            ),
            None,
        ),
        (true, _, _) => (TestCaseStatus::success(), None),
        (false, true, true) => (
            TestCaseStatus::success(),
            Some(format!("failed as required by negative control\n{text}")),
        ),
        (false, true, false) => (
            TestCaseStatus::success(),
            Some(format!(
                "also failed against the defective device (not required by the negative control)\n{text}"
            )),
        ),
        (false, false, _) => (
            failure(
                format!(
                    "{}: measured {}, expected {}",
                    result.name, result.measured, result.expected
                ),
                Some(text),
            ),
            None,
        ),
    };
    let mut case = TestCase::new(result.name.as_str(), status);
    case.set_classname(id).set_time(Duration::ZERO);
    if let Some(out) = out {
        case.set_system_out(out);
    }
    case
}

fn completion_case(id: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new("scenario-completed", status);
    case.set_classname(id).set_time(Duration::ZERO);
    case
}

fn timestamp(utc: Option<&str>) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(utc?).ok()
}

fn properties(view: &RunView, s: &ScenarioView) -> Vec<Property> {
    let mut out = vec![
        Property::new("kind", s.kind().name()),
        Property::new("verdict", s.verdict().label()),
        Property::new("requirements", s.requirements.join(",")),
        Property::new("hazard", s.hazard.as_str()),
    ];
    let hazards = crate::record::report::traceability::hazards_of(view, s);
    if !hazards.is_empty() {
        out.push(Property::new("hazard_ids", hazards.join(",")));
    }
    // In a merged run the scenario ran in one of its parts, with that part's seed and commit.
    if let Some(part) = view.part_of(&s.id) {
        out.push(Property::new("seed", part.seed.to_string()));
        out.push(Property::new("commit", part.git_commit.as_str()));
        out.push(Property::new("mode", part.mode.name()));
        out.push(Property::new(
            "part",
            format!(
                "{}/{} {}",
                part.partition.index, part.partition.count, part.run_id
            ),
        ));
    } else if let Some(run) = &view.run {
        out.push(Property::new("seed", run.seed.to_string()));
        out.push(Property::new("commit", run.git_commit.as_str()));
        out.push(Property::new("mode", run.mode.name()));
    }
    if let Some(system) = &s.test_system {
        // Which bench ran the scenario (a run may spread its scenarios over several).
        out.push(Property::new("bench_station", system.station.as_str()));
        if let Some(file) = &system.bench_file {
            out.push(Property::new("bench_file", file.path.as_str()));
            out.push(Property::new("bench_file_sha256", file.sha256.as_str()));
        }
        if let Some(ms) = system.pump_timeout_ms {
            out.push(Property::new("pump_timeout_ms", ms.to_string()));
        }
    }
    if let Some(device) = &s.device {
        // An in-memory scenario is not evidence over a serial line: its properties say so.
        out.push(Property::new("link", device.link.name()));
        if device.link == crate::record::DeviceLink::InMemory {
            out.push(Property::new(
                "link_note",
                crate::record::link_mark::NOT_A_SERIAL_PATH,
            ));
        }
        out.push(Property::new(
            "pump_serial_number",
            device.serial_number.as_str(),
        ));
    }
    let planned = view
        .run
        .as_ref()
        .and_then(|r| r.planned.iter().find(|p| p.id == s.id));
    let (path, sha256) = match (&s.file, planned) {
        (Some(f), _) => (Some(f.path.as_str()), Some(f.sha256.as_str())),
        (None, Some(p)) => (Some(p.path.as_str()), Some(p.sha256.as_str())),
        (None, None) => (None, None),
    };
    if let (Some(path), Some(sha256)) = (path, sha256) {
        out.push(Property::new("scenario_path", path));
        out.push(Property::new("scenario_sha256", sha256));
    }
    out
}

fn suite(view: &RunView, s: &ScenarioView) -> TestSuite {
    let mut suite = TestSuite::new(s.id.as_str());
    let control: Option<&[String]> = s.negative_control.as_ref().map(|nc| &nc.must_fail[..]);
    let verdict = s.verdict();
    suite.add_properties(properties(view, s));
    for result in &s.checks {
        suite.add_test_case(check_case(&s.id, result, control));
    }
    let judged = !matches!(
        verdict,
        ScenarioVerdict::Incomplete | ScenarioVerdict::Error
    );
    if let (Some(must_fail), true) = (control, judged) {
        for name in must_fail.iter().filter(|m| {
            !s.checks
                .iter()
                .any(|c| is_required(std::slice::from_ref(m), &c.name))
        }) {
            let mut case = TestCase::new(
                name.as_str(),
                failure(
                    "negative control not caught: required check was never judged".into(),
                    None,
                ),
            );
            case.set_classname(s.id.as_str()).set_time(Duration::ZERO);
            suite.add_test_case(case);
        }
    }
    match &s.finished {
        Some(finished) if !judged => {
            let message = finished
                .reason
                .as_deref()
                .unwrap_or("scenario did not complete");
            suite.add_test_case(completion_case(&s.id, error(verdict.label(), message)));
        }
        None if s.progress() == Progress::NeverStarted => {
            let mut skipped = TestCaseStatus::skipped();
            skipped.set_message("planned but never started: the run stopped before it");
            suite.add_test_case(completion_case(&s.id, skipped));
        }
        None => {
            suite.add_test_case(completion_case(
                &s.id,
                error(
                    verdict.label(),
                    "the record ends before this scenario finished",
                ),
            ));
        }
        Some(_) => {}
    }
    let deviations: Vec<String> = view
        .deviations_of(&s.id)
        .map(|d| {
            format!(
                "[{}] {}: {}",
                d.t_ms
                    .map(crate::scenario::duration::format_duration)
                    .unwrap_or_else(|| "-".into()),
                d.kind,
                d.detail
            )
        })
        .collect();
    if !deviations.is_empty() {
        suite.set_system_err(deviations.join("\n"));
    }
    let seconds = s.finished.as_ref().map_or(0, |f| f.wall_ms);
    suite.set_time(Duration::from_millis(seconds));
    if let Some(at) = timestamp(s.started_utc.as_deref()) {
        suite.set_timestamp(at);
    }
    let host = view
        .part_of(&s.id)
        .map(|p| p.host.as_str())
        .or(view.run.as_ref().map(|r| r.host.as_str()));
    if let Some(host) = host {
        suite.extra.insert("hostname".into(), host.into());
    }
    suite
}

/// A suite for the run itself when the run's verdict is worse than its scenarios' (no run end,
/// a torn or broken line, a record that could not be written) or scenarios were never started:
/// the scenarios' suites alone would not show it. Its error's `type` is the run's verdict.
fn run_suite(view: &RunView) -> Option<TestSuite> {
    let verdicts: Vec<ScenarioVerdict> = view.scenarios.iter().map(|s| s.verdict()).collect();
    let overall = view.verdict();
    let never_started: Vec<&str> = view
        .scenarios
        .iter()
        .filter(|s| s.progress() == Progress::NeverStarted)
        .map(|s| s.id.as_str())
        .collect();
    if overall <= crate::record::verdict::run_verdict(&verdicts, false) && never_started.is_empty()
    {
        return None;
    }
    let mut why: Vec<String> = view
        .gaps()
        .into_iter()
        .filter(|g| !g.contains("; scenario "))
        .collect();
    if !never_started.is_empty() {
        why.push(format!("never started: {}", never_started.join(", ")));
    }
    if let Some(end) = &view.end {
        why.push(format!("the run recorded exit code {}", end.exit_code));
    }
    let mut suite = TestSuite::new(RUN_SUITE);
    let mut case = TestCase::new("run-completed", error(overall.word(), &why.join("; ")));
    case.set_classname(RUN_SUITE).set_time(Duration::ZERO);
    suite.add_test_case(case).set_time(Duration::ZERO);
    if let Some(run) = &view.run {
        suite
            .extra
            .insert("hostname".into(), run.host.as_str().into());
        if let Some(at) = timestamp(Some(&run.started_utc)) {
            suite.set_timestamp(at);
        }
    }
    Some(suite)
}

/// JUnit for the run's view: one suite per scenario in the order given, and one for the run
/// when the run's verdict is worse than its scenarios'.
pub fn render(view: &RunView) -> String {
    // Serializing an in-memory model into a String cannot fail short of running out of memory;
    // should it, the text says so instead of being empty.
    report(view)
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit.xml could not be written: {e} -->\n"))
}

/// Writes `render`'s text to `path` as it is serialized, without holding it whole (its model
/// alone is a few kB a scenario).
pub fn write(view: &RunView, path: &std::path::Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    report(view)
        .serialize(&mut out)
        .map_err(std::io::Error::other)?;
    std::io::Write::flush(&mut out)
}

fn report(view: &RunView) -> Report {
    let mut report = Report::new(format!("pumphil {}", view.run_id()));
    for s in &view.scenarios {
        report.add_test_suite(suite(view, s));
    }
    if let Some(run) = run_suite(view) {
        report.add_test_suite(run);
    }
    if let Some(at) = timestamp(view.run.as_ref().map(|r| r.started_utc.as_str())) {
        report.set_timestamp(at);
    }
    let total: u64 = view
        .scenarios
        .iter()
        .filter_map(|s| s.finished.as_ref().map(|f| f.wall_ms))
        .sum();
    report.set_time(Duration::from_millis(total));
    report
}
