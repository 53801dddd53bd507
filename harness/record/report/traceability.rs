//! Requirement → scenario → checks → verdict, and the requirements that lack passing evidence.
//!
//! Only a positive scenario that PASSED is evidence for a requirement: a negative control shows
//! that the checks have teeth, not that the product meets the requirement.

use super::view::{RunView, ScenarioView};
use crate::record::ScenarioVerdict;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub requirement: String,
    pub scenario: String,
    pub negative_control: bool,
    pub checks_passed: usize,
    pub checks_total: usize,
    /// Names of the checks that failed.
    pub failed_checks: Vec<String>,
    pub verdict: Option<ScenarioVerdict>,
}

impl TraceRow {
    pub fn is_evidence(&self) -> bool {
        !self.negative_control && self.verdict == Some(ScenarioVerdict::Passed)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unevidenced {
    pub requirement: String,
    /// Why: what the scenarios tracing to it did instead.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Traceability {
    pub rows: Vec<TraceRow>,
    pub unevidenced: Vec<Unevidenced>,
}

fn row(requirement: &str, s: &ScenarioView) -> TraceRow {
    TraceRow {
        requirement: requirement.to_string(),
        scenario: s.id.clone(),
        negative_control: s.is_negative_control(),
        checks_passed: s.checks.iter().filter(|c| c.passed()).count(),
        checks_total: s.checks.len(),
        failed_checks: s
            .checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| c.name.clone())
            .collect(),
        verdict: s.recorded_verdict(),
    }
}

fn describe(row: &TraceRow) -> String {
    if row.negative_control {
        return format!(
            "negative control {} (negative controls are not evidence)",
            row.scenario
        );
    }
    let what = match row.verdict {
        Some(v) => v.label().to_string(),
        None => "no verdict (record incomplete)".to_string(),
    };
    format!("scenario {}: {what}", row.scenario)
}

pub fn build(view: &RunView) -> Traceability {
    let mut by_requirement: BTreeMap<&str, Vec<TraceRow>> = BTreeMap::new();
    for s in &view.scenarios {
        for r in &s.requirements {
            by_requirement.entry(r).or_default().push(row(r, s));
        }
    }
    let mut out = Traceability::default();
    for (requirement, rows) in by_requirement {
        if !rows.iter().any(TraceRow::is_evidence) {
            out.unevidenced.push(Unevidenced {
                requirement: requirement.to_string(),
                why: rows.iter().map(describe).collect::<Vec<_>>().join("; "),
            });
        }
        out.rows.extend(rows);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::report::view::Finished;
    use crate::scenario::NegativeControl;

    fn scenario(id: &str, reqs: &[&str], verdict: ScenarioVerdict, negative: bool) -> ScenarioView {
        ScenarioView {
            id: id.into(),
            requirements: reqs.iter().map(|r| r.to_string()).collect(),
            negative_control: negative.then(|| NegativeControl {
                must_fail: vec!["delivered-volume".into()],
                reason: "test".into(),
            }),
            finished: Some(Finished {
                verdict,
                failed_checks: vec![],
                reason: None,
                wall_ms: 0,
            }),
            ..ScenarioView::default()
        }
    }

    #[test]
    fn only_passing_positive_scenarios_are_evidence() {
        let view = RunView {
            scenarios: vec![
                scenario("a", &["REQ-2", "REQ-1"], ScenarioVerdict::Passed, false),
                scenario("b", &["REQ-3"], ScenarioVerdict::ControlCaught, true),
                scenario("c", &["REQ-4"], ScenarioVerdict::Failed, false),
                scenario("d", &["REQ-4", "REQ-1"], ScenarioVerdict::Incomplete, false),
            ],
            ..RunView::default()
        };
        let t = build(&view);
        let order: Vec<(&str, &str)> = t
            .rows
            .iter()
            .map(|r| (r.requirement.as_str(), r.scenario.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("REQ-1", "a"),
                ("REQ-1", "d"),
                ("REQ-2", "a"),
                ("REQ-3", "b"),
                ("REQ-4", "c"),
                ("REQ-4", "d")
            ]
        );
        let missing: Vec<&str> = t
            .unevidenced
            .iter()
            .map(|u| u.requirement.as_str())
            .collect();
        assert_eq!(missing, ["REQ-3", "REQ-4"]);
        assert!(t.unevidenced[0].why.contains("negative control b"));
        assert!(t.unevidenced[1].why.contains("scenario c: FAIL"));
        assert!(t.unevidenced[1].why.contains("scenario d: INCOMPLETE"));
    }
}
