//! `summary.json`: the run's verdicts and counts, for machines.
//!
//! Every key is always present (null when the record does not say), so consumers need no
//! guessing; keys come out sorted because serde_json's map is ordered.

use super::{scenario_ids, scenario_records};
use crate::record::journal::Record;
use crate::record::{RunEvent, ScenarioVerdict};
use serde_json::{json, Value};

pub const FILE: &str = "summary.json";

/// The run verdict from its exit code; "incomplete" when the record has no RunFinished.
fn run_verdict(exit_code: Option<u8>) -> &'static str {
    match exit_code {
        None => "incomplete",
        Some(0) => "passed",
        Some(1) => "failed",
        Some(2) => "error",
        Some(_) => "infrastructure_error",
    }
}

fn scenario(records: &[Record], id: &str) -> (Value, Option<ScenarioVerdict>, usize, usize) {
    let mut s = json!({
        "id": id, "title": null, "kind": null, "requirements": [], "verdict": "incomplete",
        "failed_checks": [], "reason": null, "wall_ms": null,
    });
    let (mut checks, mut checks_failed, mut deviations, mut alarms) = (0, 0, 0, 0);
    let mut findings = Vec::new();
    let mut verdict = None;
    for r in scenario_records(records, id) {
        match &r.event {
            RunEvent::ScenarioStarted {
                title,
                negative_control,
                requirements,
                ..
            } => {
                s["title"] = json!(title);
                let kind = match negative_control {
                    Some(_) => "negative_control",
                    None => "scenario",
                };
                s["kind"] = json!(kind);
                s["requirements"] = json!(requirements);
            }
            RunEvent::Check { result, .. } => {
                checks += 1;
                checks_failed += usize::from(!result.passed());
            }
            RunEvent::Finding {
                kind, t_ms, detail, ..
            } => findings.push(json!({ "kind": kind, "t_ms": t_ms, "detail": detail })),
            RunEvent::Deviation { .. } => deviations += 1,
            RunEvent::Alarm { .. } => alarms += 1,
            RunEvent::ScenarioFinished {
                verdict: v,
                failed_checks,
                reason,
                wall_ms,
                ..
            } => {
                verdict = Some(*v);
                s["verdict"] = json!(v);
                s["failed_checks"] = json!(failed_checks);
                s["reason"] = json!(reason);
                s["wall_ms"] = json!(wall_ms);
            }
            _ => {}
        }
    }
    s["checks"] = json!(checks);
    s["checks_failed"] = json!(checks_failed);
    s["findings"] = json!(findings);
    s["deviations"] = json!(deviations);
    s["alarm_events"] = json!(alarms);
    (s, verdict, checks, checks_failed)
}

/// `record_count` is every record in the file; `records` may hold a long scenario's samples
/// thinned (see `render_all`).
pub fn render(records: &[Record], record_count: usize, truncated_at_line: Option<usize>) -> String {
    let mut run = json!({
        "run_id": null, "started_utc": null, "harness_version": null, "git_commit": null,
        "mode": null, "seed": null, "operator": null, "finished_utc": null, "exit_code": null,
    });
    let mut exit_code = None;
    let mut run_deviations = 0;
    for r in records {
        match &r.event {
            RunEvent::RunStarted {
                run_id,
                started_utc,
                harness_version,
                git_commit,
                mode,
                seed,
                operator,
                ..
            } => {
                run["run_id"] = json!(run_id);
                run["started_utc"] = json!(started_utc);
                run["harness_version"] = json!(harness_version);
                run["git_commit"] = json!(git_commit);
                run["mode"] = json!(mode);
                run["seed"] = json!(seed);
                run["operator"] = json!(operator);
            }
            RunEvent::RunFinished {
                finished_utc,
                exit_code: code,
                ..
            } => {
                run["finished_utc"] = json!(finished_utc);
                run["exit_code"] = json!(code);
                exit_code = Some(*code);
            }
            RunEvent::Deviation { scenario: None, .. } => run_deviations += 1,
            _ => {}
        }
    }
    run["verdict"] = json!(run_verdict(exit_code));
    run["record"] = json!({ "records": record_count, "truncated_at_line": truncated_at_line });
    run["run_deviations"] = json!(run_deviations);
    let mut totals = json!({
        "scenarios": 0, "passed": 0, "failed": 0, "control_caught": 0, "control_missed": 0,
        "incomplete": 0, "errors": 0, "checks": 0, "checks_failed": 0,
    });
    let mut scenarios = Vec::new();
    for id in scenario_ids(records) {
        let (s, verdict, checks, failed) = scenario(records, &id);
        let key = match verdict {
            Some(ScenarioVerdict::Passed) => "passed",
            Some(ScenarioVerdict::Failed) => "failed",
            Some(ScenarioVerdict::ControlCaught) => "control_caught",
            Some(ScenarioVerdict::ControlMissed) => "control_missed",
            Some(ScenarioVerdict::Incomplete) | None => "incomplete",
            Some(ScenarioVerdict::Error) => "errors",
        };
        for (name, add) in [
            ("scenarios", 1),
            (key, 1),
            ("checks", checks),
            ("checks_failed", failed),
        ] {
            totals[name] = json!(totals[name].as_u64().unwrap_or(0) + add as u64);
        }
        scenarios.push(s);
    }
    run["totals"] = totals;
    run["scenarios"] = json!(scenarios);
    let mut text = serde_json::to_string_pretty(&run).unwrap_or_default();
    text.push('\n');
    text
}
