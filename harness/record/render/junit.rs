//! `junit.xml`: one testsuite per scenario, one testcase per check.
//!
//! A negative control inverts its required checks: they pass in JUnit when they failed against
//! the defective device, and fail when the defect slipped through.

use crate::record::schema::CheckResult;
use crate::record::verdict::is_required;
use crate::record::view::{RunView, ScenarioView};
use crate::record::ScenarioVerdict;
use std::fmt::Write;

pub const FILE: &str = "junit.xml";

/// Escapes text for XML attributes and content; drops control characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

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

fn testcase(
    out: &mut String,
    id: &str,
    result: &CheckResult,
    control: Option<&[String]>,
    counts: &mut Counts,
) {
    counts.tests += 1;
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\">",
        escape(&result.name),
        escape(id)
    );
    let text = escape(&details(result));
    let required = control.is_some_and(|m| is_required(m, &result.name));
    if result.inconclusive() {
        // Shown, not failed: the scenario's verdict (and --require-conclusive) says whether it
        // fails the run.
        let _ = write!(
            out,
            "\n      <system-out>INCONCLUSIVE under guarded acceptance: the result's interval straddles a limit\n{text}</system-out>\n    "
        );
        out.push_str("</testcase>\n");
        return;
    }
    match (result.passed(), control.is_some(), required) {
        (true, true, true) => {
            counts.failures += 1;
            let message = format!(
                "negative control not caught: {} passed against a defective device",
                result.name
            );
            let _ = write!(
                out,
                "\n      <failure message=\"{}\">{text}</failure>\n    ",
                escape(&message)
            );
        }
        (true, _, _) => {}
        (false, true, true) => {
            let _ = write!(
                out,
                "\n      <system-out>failed as required by negative control\n{text}</system-out>\n    "
            );
        }
        (false, true, false) => {
            let _ = write!(
                out,
                "\n      <system-out>also failed against the defective device (not required by the negative control)\n{text}</system-out>\n    "
            );
        }
        (false, false, _) => {
            counts.failures += 1;
            let message = format!(
                "{}: measured {}, expected {}",
                result.name, result.measured, result.expected
            );
            let _ = write!(
                out,
                "\n      <failure message=\"{}\">{text}</failure>\n    ",
                escape(&message)
            );
        }
    }
    out.push_str("</testcase>\n");
}

fn error_case(
    out: &mut String,
    id: &str,
    verdict: ScenarioVerdict,
    message: &str,
    counts: &mut Counts,
) {
    counts.tests += 1;
    counts.errors += 1;
    let _ = writeln!(
        out,
        "    <testcase name=\"scenario-completed\" classname=\"{}\">\n      <error type=\"{}\" message=\"{}\"/>\n    </testcase>",
        escape(id),
        verdict.label(),
        escape(message)
    );
}

fn suite(out: &mut String, view: &RunView, s: &ScenarioView) -> Counts {
    let mut counts = Counts::default();
    let control: Option<&[String]> = s.negative_control.as_ref().map(|nc| &nc.must_fail[..]);
    let verdict = s.verdict();
    let mut cases = String::new();
    for result in &s.checks {
        testcase(&mut cases, &s.id, result, control, &mut counts);
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
            counts.tests += 1;
            counts.failures += 1;
            let _ = writeln!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\">\n      <failure message=\"negative control not caught: required check was never judged\"/>\n    </testcase>",
                escape(name),
                escape(&s.id)
            );
        }
    }
    match &s.finished {
        Some(finished) if !judged => {
            let message = finished
                .reason
                .as_deref()
                .unwrap_or("scenario did not complete");
            error_case(&mut cases, &s.id, verdict, message, &mut counts);
        }
        None if s.started => error_case(
            &mut cases,
            &s.id,
            verdict,
            "the record ends before this scenario finished",
            &mut counts,
        ),
        None => error_case(
            &mut cases,
            &s.id,
            verdict,
            "planned but never started",
            &mut counts,
        ),
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
    let seconds = s
        .finished
        .as_ref()
        .map_or(0.0, |f| f.wall_ms as f64 / 1000.0);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{seconds:.3}\">",
        escape(&s.id),
        counts.tests,
        counts.failures,
        counts.errors
    );
    let _ = writeln!(
        out,
        "    <properties>\n      <property name=\"kind\" value=\"{}\"/>\n      <property name=\"verdict\" value=\"{}\"/>\n    </properties>",
        s.kind().name(),
        verdict.label()
    );
    out.push_str(&cases);
    if !deviations.is_empty() {
        let _ = writeln!(
            out,
            "    <system-err>{}</system-err>",
            escape(&deviations.join("\n"))
        );
    }
    out.push_str("  </testsuite>\n");
    counts
}

/// A suite for the run itself when the run's verdict is worse than its scenarios' (no run end,
/// a torn or broken line, a record that could not be written): the scenarios' suites alone would
/// not show it. Its error's `type` is the run's verdict.
fn run_suite(out: &mut String, view: &RunView) -> Counts {
    let mut counts = Counts::default();
    let verdicts: Vec<ScenarioVerdict> = view.scenarios.iter().map(|s| s.verdict()).collect();
    let overall = view.verdict();
    if overall <= crate::record::verdict::run_verdict(&verdicts, false) {
        return counts;
    }
    let mut why: Vec<String> = view
        .gaps()
        .into_iter()
        .filter(|g| !g.contains("; scenario "))
        .collect();
    if let Some(end) = &view.end {
        why.push(format!("the run recorded exit code {}", end.exit_code));
    }
    counts.tests += 1;
    counts.errors += 1;
    let _ = writeln!(
        out,
        "  <testsuite name=\"{RUN_SUITE}\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">\n    <testcase name=\"run-completed\" classname=\"{RUN_SUITE}\">\n      <error type=\"{}\" message=\"{}\"/>\n    </testcase>\n  </testsuite>",
        overall.word(),
        escape(&why.join("; "))
    );
    counts
}

/// The suite that stands for the run when its record is not whole.
pub const RUN_SUITE: &str = "pumphil-run";

/// JUnit for the run's view: one suite per scenario in the order given (its kind and verdict as
/// properties), and one for the run when the run's verdict is worse than its scenarios'.
pub fn render(view: &RunView) -> String {
    let mut suites = String::new();
    let mut total = Counts::default();
    for s in &view.scenarios {
        let counts = suite(&mut suites, view, s);
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.errors += counts.errors;
    }
    let counts = run_suite(&mut suites, view);
    total.tests += counts.tests;
    total.errors += counts.errors;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pumphil {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{suites}</testsuites>\n",
        escape(view.run_id()),
        total.tests,
        total.failures,
        total.errors
    )
}
