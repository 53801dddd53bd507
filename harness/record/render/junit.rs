//! `junit.xml`: one testsuite per scenario, one testcase per check.

use super::{scenario_ids, scenario_records};
use crate::record::journal::Record;
use crate::record::{RunEvent, ScenarioVerdict};
use std::fmt::Write;

pub const FILE: &str = "junit.xml";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(records: &[Record]) -> String {
    let mut suites = String::new();
    let (mut total_tests, mut total_failures, mut total_errors) = (0, 0, 0);
    for id in scenario_ids(records) {
        let own = scenario_records(records, &id);
        let must_fail: Vec<String> = own
            .iter()
            .find_map(|r| match &r.event {
                RunEvent::ScenarioStarted {
                    negative_control: Some(nc),
                    ..
                } => Some(nc.must_fail.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let is_control = own.iter().any(|r| {
            matches!(
                &r.event,
                RunEvent::ScenarioStarted {
                    negative_control: Some(_),
                    ..
                }
            )
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
        let (mut tests, mut failures, mut errors) = (0, 0, 0);
        for r in &own {
            let RunEvent::Check { result, .. } = &r.event else {
                continue;
            };
            tests += 1;
            let text = format!(
                "expected: {}\nmeasured: {}\ntolerance: {}\nmargin: {}\n{}",
                result.expected,
                result.measured,
                result.tolerance,
                result
                    .margin
                    .map(|m| format!("{m:.3} {}", result.unit))
                    .unwrap_or_else(|| "-".into()),
                result.detail
            );
            let required = must_fail
                .iter()
                .any(|m| *m == result.name || result.name.split(':').next() == Some(m.as_str()));
            let _ = write!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\">",
                escape(&result.name),
                escape(&id)
            );
            match (result.passed(), is_control, required) {
                (true, true, true) => {
                    failures += 1;
                    let _ = write!(cases, "\n      <failure message=\"negative control not caught: {} passed against a defective device\">{}</failure>\n    ", escape(&result.name), escape(&text));
                }
                (true, _, _) => {}
                (false, true, true) => {
                    let _ = write!(cases, "\n      <system-out>failed as required by negative control\n{}</system-out>\n    ", escape(&text));
                }
                (false, true, false) => {
                    let _ = write!(cases, "\n      <system-out>also failed against the defective device (not required)\n{}</system-out>\n    ", escape(&text));
                }
                (false, false, _) => {
                    failures += 1;
                    let _ = write!(
                        cases,
                        "\n      <failure message=\"{}\">{}</failure>\n    ",
                        escape(&format!(
                            "{}: measured {}, expected {}",
                            result.name, result.measured, result.expected
                        )),
                        escape(&text)
                    );
                }
            }
            cases.push_str("</testcase>\n");
        }
        if is_control {
            for name in must_fail.iter().filter(|m| !own.iter().any(|r| matches!(&r.event, RunEvent::Check { result, .. } if result.name == **m || result.name.split(':').next() == Some(m.as_str())))) {
                tests += 1;
                failures += 1;
                let _ = writeln!(cases, "    <testcase name=\"{}\" classname=\"{}\">\n      <failure message=\"required check was never judged\"/>\n    </testcase>", escape(name), escape(&id));
            }
        }
        match &finished {
            Some((ScenarioVerdict::Incomplete | ScenarioVerdict::Error, reason, _))
            | Some((ScenarioVerdict::ControlMissed, reason, _))
                if tests == 0
                    || matches!(
                        finished,
                        Some((ScenarioVerdict::Incomplete | ScenarioVerdict::Error, ..))
                    ) =>
            {
                tests += 1;
                errors += 1;
                let _ = writeln!(cases, "    <testcase name=\"scenario-completed\" classname=\"{}\">\n      <error message=\"{}\"/>\n    </testcase>", escape(&id), escape(reason.as_deref().unwrap_or("scenario did not complete")));
            }
            None => {
                tests += 1;
                errors += 1;
                let _ = writeln!(cases, "    <testcase name=\"scenario-completed\" classname=\"{}\">\n      <error message=\"the record ends before this scenario finished\"/>\n    </testcase>", escape(&id));
            }
            _ => {}
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
        let seconds = finished
            .as_ref()
            .map(|f| f.2 as f64 / 1000.0)
            .unwrap_or(0.0);
        let _ = writeln!(suites, "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">", escape(&id));
        suites.push_str(&cases);
        if !deviations.is_empty() {
            let _ = writeln!(
                suites,
                "    <system-err>{}</system-err>",
                escape(&deviations.join("\n"))
            );
        }
        suites.push_str("  </testsuite>\n");
        total_tests += tests;
        total_failures += failures;
        total_errors += errors;
    }
    let run_id = records
        .iter()
        .find_map(|r| match &r.event {
            RunEvent::RunStarted { run_id, .. } => Some(run_id.clone()),
            _ => None,
        })
        .unwrap_or_default();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pumphil {}\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{total_errors}\">\n{suites}</testsuites>\n", escape(&run_id))
}
