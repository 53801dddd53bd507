//! Traceability both ways: hazard → risk control → requirement → scenario → checks → verdict,
//! and every hazard, risk control and requirement that lacks passing evidence.
//!
//! Only a positive scenario that PASSED is evidence for a requirement: a negative control shows
//! that the checks have teeth, not that the product meets the requirement. Evidence says where
//! it came from (the emulator or a bench). The hazards, controls and requirements come from the
//! requirements file the run recorded; without one, only the ids the scenarios name are known.

use super::view::{RunView, ScenarioView};
use crate::record::{Mode, ScenarioVerdict};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub requirement: String,
    pub scenario: String,
    pub negative_control: bool,
    /// Where the scenario ran (from its device, else the run's mode).
    pub mode: Option<Mode>,
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
    /// The hazard, risk control or requirement id.
    pub requirement: String,
    /// Why: what the scenarios tracing to it did instead.
    pub why: String,
}

/// One link of the chain from a hazard down to a requirement, with the evidence for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainRow {
    pub hazard: String,
    pub control: String,
    pub requirement: String,
    /// Passing positive scenarios, with where they ran.
    pub evidence: Vec<(String, Option<Mode>)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Traceability {
    /// Requirement → positive scenario rows, by requirement.
    pub rows: Vec<TraceRow>,
    /// Requirement → negative control rows, by requirement (shown in their own section).
    pub control_rows: Vec<TraceRow>,
    /// Requirements without passing evidence (every one the requirements file defines, and any
    /// other a scenario names).
    pub unevidenced: Vec<Unevidenced>,
    /// Hazard → risk control → requirement links of the requirements file, in its order.
    pub chain: Vec<ChainRow>,
    pub unevidenced_hazards: Vec<Unevidenced>,
    pub unevidenced_controls: Vec<Unevidenced>,
    /// Requirements whose only passing evidence came from the emulator.
    pub emulator_only: Vec<String>,
    /// Whether the run recorded a requirements file.
    pub from_file: bool,
}

fn row(requirement: &str, s: &ScenarioView, run_mode: Option<Mode>) -> TraceRow {
    TraceRow {
        requirement: requirement.to_string(),
        scenario: s.id.clone(),
        negative_control: s.is_negative_control(),
        mode: s.device.as_ref().map(|d| d.kind).or(run_mode),
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

/// Why an item (a risk control, a hazard) lacks passing evidence, if it does: nothing below it
/// (`none`), or some of what is below it (`members`) without evidence (`lacking`, after
/// `some`).
fn why_unevidenced(members: &[&str], lacking: &[String], none: &str, some: &str) -> Option<String> {
    if members.is_empty() {
        Some(none.to_string())
    } else if lacking.is_empty() {
        None
    } else {
        Some(format!("{some} {}", lacking.join(", ")))
    }
}

pub fn build(view: &RunView) -> Traceability {
    let file = view.run.as_ref().and_then(|r| r.requirements.as_ref());
    let run_mode = view.run.as_ref().map(|r| r.mode);
    let mut by_requirement: BTreeMap<&str, Vec<TraceRow>> = BTreeMap::new();
    for r in file.iter().flat_map(|f| &f.requirements) {
        by_requirement.entry(&r.id).or_default();
    }
    for s in &view.scenarios {
        for r in &s.requirements {
            by_requirement
                .entry(r)
                .or_default()
                .push(row(r, s, run_mode));
        }
    }
    let mut out = Traceability {
        from_file: file.is_some(),
        ..Traceability::default()
    };
    let mut evidence: BTreeMap<String, Vec<(String, Option<Mode>)>> = BTreeMap::new();
    for (requirement, rows) in by_requirement {
        let passing: Vec<(String, Option<Mode>)> = rows
            .iter()
            .filter(|r| r.is_evidence())
            .map(|r| (r.scenario.clone(), r.mode))
            .collect();
        if passing.is_empty() {
            let why = if rows.is_empty() {
                "no scenario names it".to_string()
            } else {
                rows.iter().map(describe).collect::<Vec<_>>().join("; ")
            };
            out.unevidenced.push(Unevidenced {
                requirement: requirement.to_string(),
                why,
            });
        } else if passing.iter().all(|(_, m)| *m == Some(Mode::Emulator)) {
            out.emulator_only.push(requirement.to_string());
        }
        evidence.insert(requirement.to_string(), passing);
        let (controls, positives): (Vec<TraceRow>, Vec<TraceRow>) =
            rows.into_iter().partition(|r| r.negative_control);
        out.rows.extend(positives);
        out.control_rows.extend(controls);
    }
    let Some(file) = file else {
        return out;
    };
    let missing = |ids: &[&str]| -> Vec<String> {
        ids.iter()
            .filter(|id| evidence.get(**id).is_none_or(|e| e.is_empty()))
            .map(|id| id.to_string())
            .collect()
    };
    for control in &file.risk_controls {
        let requirements: Vec<&str> = file
            .requirements
            .iter()
            .filter(|r| r.risk_controls.contains(&control.id))
            .map(|r| r.id.as_str())
            .collect();
        let lacking = missing(&requirements);
        if let Some(why) = why_unevidenced(
            &requirements,
            &lacking,
            "no requirement implements it",
            "no passing evidence for",
        ) {
            out.unevidenced_controls.push(Unevidenced {
                requirement: control.id.clone(),
                why,
            });
        }
    }
    for hazard in &file.hazards {
        let controls: Vec<&str> = file
            .risk_controls
            .iter()
            .filter(|c| c.hazards.contains(&hazard.id))
            .map(|c| c.id.as_str())
            .collect();
        let lacking: Vec<String> = controls
            .iter()
            .filter(|c| {
                out.unevidenced_controls
                    .iter()
                    .any(|u| u.requirement == **c)
            })
            .map(|c| c.to_string())
            .collect();
        if let Some(why) = why_unevidenced(
            &controls,
            &lacking,
            "no risk control answers it",
            "risk control(s) without passing evidence:",
        ) {
            out.unevidenced_hazards.push(Unevidenced {
                requirement: hazard.id.clone(),
                why,
            });
        }
        for control in &file.risk_controls {
            if !control.hazards.contains(&hazard.id) {
                continue;
            }
            let requirements: Vec<&str> = file
                .requirements
                .iter()
                .filter(|r| r.risk_controls.contains(&control.id))
                .map(|r| r.id.as_str())
                .collect();
            if requirements.is_empty() {
                out.chain.push(ChainRow {
                    hazard: hazard.id.clone(),
                    control: control.id.clone(),
                    requirement: String::new(),
                    evidence: Vec::new(),
                });
            }
            for requirement in requirements {
                out.chain.push(ChainRow {
                    hazard: hazard.id.clone(),
                    control: control.id.clone(),
                    requirement: requirement.to_string(),
                    evidence: evidence.get(requirement).cloned().unwrap_or_default(),
                });
            }
        }
    }
    out
}

/// The hazards a scenario's requirements trace back to, through their risk controls.
pub fn hazards_of(view: &RunView, scenario: &ScenarioView) -> Vec<String> {
    let Some(file) = view.run.as_ref().and_then(|r| r.requirements.as_ref()) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for r in scenario
        .requirements
        .iter()
        .filter_map(|id| file.requirement(id))
    {
        for c in r.risk_controls.iter().filter_map(|id| file.control(id)) {
            for h in &c.hazards {
                if !out.contains(h) {
                    out.push(h.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::report::view::{Finished, RunHeader};
    use crate::scenario::requirements::Requirements;
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
        assert_eq!(t.control_rows.len(), 1);
        assert_eq!(t.control_rows[0].scenario, "b");
    }

    fn file() -> Requirements {
        let text = r#"
[[hazard]]
id = "H1"
description = "d"
harm = "h"
[[hazard]]
id = "H2"
description = "d"
harm = "h"
[[risk_control]]
id = "C1"
hazards = ["H1"]
[[risk_control]]
id = "C2"
hazards = ["H1", "H2"]
[[requirement]]
id = "REQ-1"
text = "t"
risk_controls = ["C1"]
[[requirement]]
id = "REQ-2"
text = "t"
risk_controls = ["C2"]
[[requirement]]
id = "REQ-9"
text = "named by no scenario"
risk_controls = ["C2"]
"#;
        crate::scenario::requirements::parse(std::path::Path::new("r.toml"), text, "x".into())
            .unwrap()
    }

    #[test]
    fn hazards_and_controls_without_passing_evidence_are_listed() {
        let mut a = scenario("a", &["REQ-1", "REQ-2"], ScenarioVerdict::Passed, false);
        a.device = None;
        let view = RunView {
            run: Some(header(file())),
            scenarios: vec![a],
            ..RunView::default()
        };
        let t = build(&view);
        assert!(t.from_file);
        let ids = |u: &[Unevidenced]| u.iter().map(|u| u.requirement.clone()).collect::<Vec<_>>();
        // REQ-9 is named by no scenario: C2 lacks evidence, and so do both hazards it answers.
        assert_eq!(ids(&t.unevidenced), ["REQ-9"]);
        assert_eq!(t.unevidenced[0].why, "no scenario names it");
        assert_eq!(ids(&t.unevidenced_controls), ["C2"]);
        assert_eq!(ids(&t.unevidenced_hazards), ["H1", "H2"]);
        assert_eq!(t.emulator_only, ["REQ-1", "REQ-2"]);
        let chain: Vec<(&str, &str, &str, usize)> = t
            .chain
            .iter()
            .map(|c| {
                (
                    c.hazard.as_str(),
                    c.control.as_str(),
                    c.requirement.as_str(),
                    c.evidence.len(),
                )
            })
            .collect();
        assert_eq!(
            chain,
            [
                ("H1", "C1", "REQ-1", 1),
                ("H1", "C2", "REQ-2", 1),
                ("H1", "C2", "REQ-9", 0),
                ("H2", "C2", "REQ-2", 1),
                ("H2", "C2", "REQ-9", 0)
            ]
        );
        assert_eq!(hazards_of(&view, &view.scenarios[0]), ["H1", "H2"]);
    }

    fn header(requirements: Requirements) -> RunHeader {
        RunHeader {
            schema_version: crate::record::SCHEMA_VERSION,
            run_id: "r".into(),
            started_utc: String::new(),
            harness_version: String::new(),
            git_commit: String::new(),
            host: String::new(),
            os: String::new(),
            operator: None,
            command_line: vec![],
            mode: Mode::Emulator,
            bench_file: None,
            seed: 1,
            jobs: 1,
            planned: vec![],
            csf: Default::default(),
            requirements: Some(requirements),
        }
    }
}
