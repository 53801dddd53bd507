//! Re-deriving the record's verdicts from its own numbers, so that an edited verdict is caught
//! even where the hash chain was recomputed: each check's verdict from its margin, each
//! scenario's verdict from its checks, and the run's counts and exit code from its scenarios.

use super::event::ScenarioVerdict;
use super::verdict;
use super::view::RunView;

/// Statements of where a recorded verdict disagrees with the numbers it was judged from;
/// empty when every verdict follows from them.
pub fn disagreements(view: &RunView) -> Vec<String> {
    let mut out = Vec::new();
    for s in &view.scenarios {
        for check in &s.checks {
            // "Distance to the nearest limit, negative when failed" (docs/record.md).
            if let Some(margin) = check.margin {
                let follows = if margin < 0.0 { "FAIL" } else { "PASS" };
                let recorded = if check.passed() { "PASS" } else { "FAIL" };
                if follows != recorded || !margin.is_finite() {
                    out.push(format!(
                        "scenario {} check {}: recorded {recorded}, but its margin {margin} {} (expected {}, measured {}, tolerance {}) means {follows}",
                        s.id, check.name, check.unit, check.expected, check.measured, check.tolerance
                    ));
                }
            }
        }
        let Some(finished) = &s.finished else {
            continue;
        };
        let judged = matches!(
            finished.verdict,
            ScenarioVerdict::Passed
                | ScenarioVerdict::Failed
                | ScenarioVerdict::ControlCaught
                | ScenarioVerdict::ControlMissed
        );
        if !judged {
            continue;
        }
        let failed: Vec<String> = s
            .checks
            .iter()
            .filter(|c| !c.passed() && !c.inconclusive())
            .chain(
                s.checks
                    .iter()
                    .filter(|c| c.inconclusive() && finished.failed_checks.contains(&c.name)),
            )
            .map(|c| c.name.clone())
            .collect();
        let names = |keep: fn(&&crate::record::schema::CheckResult) -> bool| -> Vec<String> {
            s.checks
                .iter()
                .filter(keep)
                .map(|c| c.name.clone())
                .collect()
        };
        // Inconclusive checks count against the scenario only when the run required conclusive
        // evidence; the runner then listed them among its failed checks.
        let inconclusive = names(|c| c.inconclusive());
        let require_conclusive = inconclusive
            .iter()
            .any(|name| finished.failed_checks.contains(name));
        let follows = verdict::judge_scenario(
            s.negative_control.as_ref(),
            &names(|c| c.failed()),
            &names(|c| c.not_evaluated()),
            &inconclusive,
            require_conclusive,
        );
        if follows != finished.verdict {
            out.push(format!(
                "scenario {}: recorded {}, but its checks ({} failed: {}) make it {}",
                s.id,
                finished.verdict.label(),
                failed.len(),
                if failed.is_empty() {
                    "none".to_string()
                } else {
                    failed.join(", ")
                },
                follows.label()
            ));
        }
        let mut recorded_failed = finished.failed_checks.clone();
        let mut found_failed = failed;
        recorded_failed.sort();
        found_failed.sort();
        if recorded_failed != found_failed {
            out.push(format!(
                "scenario {}: its end lists failed checks [{}], but its check records failed [{}]",
                s.id,
                recorded_failed.join(", "),
                found_failed.join(", ")
            ));
        }
    }
    if let Some(end) = &view.end {
        let verdicts: Vec<ScenarioVerdict> = view.scenarios.iter().map(|s| s.verdict()).collect();
        let follows = verdict::run_verdict(&verdicts, false).exit_code();
        // A record that could not be written whole ends with exit 3 whatever the scenarios say.
        if end.exit_code < follows {
            out.push(format!(
                "run_finished: recorded exit code {}, but the scenarios' verdicts make it {follows}",
                end.exit_code
            ));
        }
        let count = |f: fn(&ScenarioVerdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
        let counted = (
            count(|v| v.is_success()),
            count(|v| matches!(v, ScenarioVerdict::Failed | ScenarioVerdict::ControlMissed)),
            count(|v| *v == ScenarioVerdict::Incomplete),
            count(|v| *v == ScenarioVerdict::Error),
        );
        let recorded = (end.passed, end.failed, end.incomplete, end.errors);
        if counted != recorded {
            out.push(format!(
                "run_finished: recorded passed/failed/incomplete/errors {recorded:?}, but the scenarios count {counted:?}"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::schema::{CheckResult, Verdict};
    use crate::record::view::{Finished, ScenarioView};

    fn check(name: &str, verdict: Verdict, margin: Option<f64>) -> CheckResult {
        CheckResult {
            name: name.into(),
            verdict,
            expected: "19h 55m .. 20h 5m".into(),
            measured: "22h".into(),
            tolerance: "window".into(),
            margin,
            unit: "s".into(),
            at_ms: None,
            detail: String::new(),
            margin_percent: None,
            end_value: None,
            uncertainty: None,
        }
    }

    fn view(checks: Vec<CheckResult>, verdict: ScenarioVerdict, failed: &[&str]) -> RunView {
        RunView {
            scenarios: vec![ScenarioView {
                id: "s".into(),
                started: true,
                checks,
                finished: Some(Finished {
                    verdict,
                    failed_checks: failed.iter().map(|f| f.to_string()).collect(),
                    reason: None,
                    wall_ms: 0,
                }),
                ..ScenarioView::default()
            }],
            ..RunView::default()
        }
    }

    #[test]
    fn a_record_whose_verdicts_follow_from_its_numbers_has_no_disagreement() {
        let v = view(
            vec![
                check("alarm-onset:low_reservoir", Verdict::Fail, Some(-6900.0)),
                check("alarm-cleared:low_reservoir", Verdict::Pass, Some(0.0)),
            ],
            ScenarioVerdict::Failed,
            &["alarm-onset:low_reservoir"],
        );
        assert_eq!(disagreements(&v), Vec::<String>::new());
    }

    #[test]
    fn a_check_edited_to_pass_is_named_by_its_margin_and_its_scenario() {
        let v = view(
            vec![check(
                "alarm-onset:low_reservoir",
                Verdict::Pass,
                Some(-6900.0),
            )],
            ScenarioVerdict::Failed,
            &["alarm-onset:low_reservoir"],
        );
        let found = disagreements(&v);
        assert!(
            found[0]
                .contains("check alarm-onset:low_reservoir: recorded PASS, but its margin -6900 s"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|d| d.contains("recorded FAIL, but its checks (0 failed: none) make it PASS")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|d| d.contains("its end lists failed checks")),
            "{found:?}"
        );
    }
}
