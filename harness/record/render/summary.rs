//! `summary.json`: the run's verdicts and counts, for machines.

use super::{scenario_ids, scenario_records};
use crate::record::journal::Record;
use crate::record::RunEvent;
use serde_json::json;

pub const FILE: &str = "summary.json";

pub fn render(records: &[Record], truncated_at_line: Option<usize>) -> String {
    let mut run = json!({});
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
                run = json!({ "run_id": run_id, "started_utc": started_utc, "harness_version": harness_version, "git_commit": git_commit, "mode": mode, "seed": seed, "operator": operator });
            }
            RunEvent::RunFinished {
                finished_utc,
                exit_code,
                passed,
                failed,
                incomplete,
                errors,
            } => {
                run["finished_utc"] = json!(finished_utc);
                run["exit_code"] = json!(exit_code);
                run["totals"] = json!({ "passed": passed, "failed": failed, "incomplete": incomplete, "errors": errors });
            }
            _ => {}
        }
    }
    let finished = records
        .iter()
        .any(|r| matches!(r.event, RunEvent::RunFinished { .. }));
    run["verdict"] = json!(match run.get("exit_code").and_then(|c| c.as_u64()) {
        _ if !finished => "incomplete",
        Some(0) => "passed",
        Some(1) => "failed",
        Some(2) => "error",
        _ => "infrastructure_error",
    });
    run["record"] = json!({ "records": records.len(), "truncated_at_line": truncated_at_line });
    let scenarios: Vec<serde_json::Value> = scenario_ids(records)
        .iter()
        .map(|id| {
            let own = scenario_records(records, id);
            let mut s = json!({ "id": id });
            let (mut checks, mut findings, mut deviations, mut alarms) = (0, Vec::new(), 0, 0);
            for r in &own {
                match &r.event {
                    RunEvent::ScenarioStarted {
                        title,
                        negative_control,
                        requirements,
                        ..
                    } => {
                        s["title"] = json!(title);
                        s["kind"] = json!(if negative_control.is_some() {
                            "negative_control"
                        } else {
                            "scenario"
                        });
                        s["requirements"] = json!(requirements);
                    }
                    RunEvent::Check { .. } => checks += 1,
                    RunEvent::Finding { kind, t_ms, .. } => {
                        findings.push(json!({ "kind": kind, "t_ms": t_ms }))
                    }
                    RunEvent::Deviation { .. } => deviations += 1,
                    RunEvent::Alarm { .. } => alarms += 1,
                    RunEvent::ScenarioFinished {
                        verdict,
                        failed_checks,
                        reason,
                        ..
                    } => {
                        s["verdict"] = json!(verdict);
                        s["failed_checks"] = json!(failed_checks);
                        s["reason"] = json!(reason);
                    }
                    _ => {}
                }
            }
            if s.get("verdict").is_none() {
                s["verdict"] = json!("incomplete");
            }
            s["checks"] = json!(checks);
            s["findings"] = json!(findings);
            s["deviations"] = json!(deviations);
            s["alarm_events"] = json!(alarms);
            s
        })
        .collect();
    run["scenarios"] = json!(scenarios);
    let mut text = serde_json::to_string_pretty(&run).unwrap_or_default();
    text.push('\n');
    text
}
