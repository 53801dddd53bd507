//! `junit.xml`: one testsuite per scenario, one testcase per check.
//!
//! A negative control inverts its required checks: they pass in JUnit when they failed against
//! the defective device, and fail when the defect slipped through.

use super::{scenario_ids, scenario_records};
use crate::checks::CheckResult;
use crate::record::journal::Record;
use crate::record::{RunEvent, ScenarioVerdict};
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

/// A required name matches a check by full name or by family (`alarm-onset` ⊇ `alarm-onset:x`).
fn is_required(must_fail: &[String], check: &str) -> bool {
    must_fail
        .iter()
        .any(|m| m == check || crate::checks::names::family(check) == m)
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

fn error_case(out: &mut String, id: &str, message: &str, counts: &mut Counts) {
    counts.tests += 1;
    counts.errors += 1;
    let _ = writeln!(
        out,
        "    <testcase name=\"scenario-completed\" classname=\"{}\">\n      <error message=\"{}\"/>\n    </testcase>",
        escape(id),
        escape(message)
    );
}

fn suite(out: &mut String, id: &str, own: &[&Record]) -> Counts {
    let mut counts = Counts::default();
    let control: Option<Vec<String>> = own.iter().find_map(|r| match &r.event {
        RunEvent::ScenarioStarted {
            negative_control, ..
        } => negative_control.as_ref().map(|nc| nc.must_fail.clone()),
        _ => None,
    });
    let finished = own.iter().find_map(|r| match &r.event {
        RunEvent::ScenarioFinished {
            verdict,
            reason,
            wall_ms,
            ..
        } => Some((*verdict, reason.clone(), *wall_ms)),
        _ => None,
    });
    let mut cases = String::new();
    let checks: Vec<&CheckResult> = own
        .iter()
        .filter_map(|r| match &r.event {
            RunEvent::Check { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    for result in &checks {
        testcase(&mut cases, id, result, control.as_deref(), &mut counts);
    }
    let judged = finished
        .as_ref()
        .is_some_and(|(v, ..)| !matches!(v, ScenarioVerdict::Incomplete | ScenarioVerdict::Error));
    if let (Some(must_fail), true) = (&control, judged) {
        for name in must_fail.iter().filter(|m| {
            !checks
                .iter()
                .any(|c| is_required(std::slice::from_ref(m), &c.name))
        }) {
            counts.tests += 1;
            counts.failures += 1;
            let _ = writeln!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\">\n      <failure message=\"negative control not caught: required check was never judged\"/>\n    </testcase>",
                escape(name),
                escape(id)
            );
        }
    }
    match &finished {
        Some((ScenarioVerdict::Incomplete | ScenarioVerdict::Error, reason, _)) => {
            let message = reason.as_deref().unwrap_or("scenario did not complete");
            error_case(&mut cases, id, message, &mut counts);
        }
        None => error_case(
            &mut cases,
            id,
            "the record ends before this scenario finished",
            &mut counts,
        ),
        Some(_) => {}
    }
    let deviations: Vec<String> = own
        .iter()
        .filter_map(|r| match &r.event {
            RunEvent::Deviation {
                kind, detail, t_ms, ..
            } => Some(format!(
                "[{}] {kind}: {detail}",
                t_ms.map(crate::scenario::duration::format_duration)
                    .unwrap_or_else(|| "-".into())
            )),
            _ => None,
        })
        .collect();
    let seconds = finished.as_ref().map_or(0.0, |f| f.2 as f64 / 1000.0);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{seconds:.3}\">",
        escape(id),
        counts.tests,
        counts.failures,
        counts.errors
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

pub fn render(records: &[Record]) -> String {
    let mut suites = String::new();
    let mut total = Counts::default();
    for id in scenario_ids(records) {
        let counts = suite(&mut suites, &id, &scenario_records(records, &id));
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.errors += counts.errors;
    }
    let run_id = records
        .iter()
        .find_map(|r| match &r.event {
            RunEvent::RunStarted { run_id, .. } => Some(run_id.as_str()),
            _ => None,
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pumphil {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{suites}</testsuites>\n",
        escape(run_id),
        total.tests,
        total.failures,
        total.errors
    )
}
