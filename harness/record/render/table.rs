//! The closing table printed at the end of `pumphil run`.

use super::scenario_ids;
use crate::record::journal::Record;
use crate::record::{RunEvent, ScenarioVerdict};

struct Row {
    id: String,
    kind: &'static str,
    verdict: Option<ScenarioVerdict>,
    passed: usize,
    total: usize,
    failed: String,
}

fn row(records: &[Record], id: &str) -> Row {
    let mut row = Row {
        id: id.to_string(),
        kind: "scenario",
        verdict: None,
        passed: 0,
        total: 0,
        failed: String::new(),
    };
    for r in records.iter().filter(|r| r.event.scenario() == Some(id)) {
        match &r.event {
            RunEvent::ScenarioStarted {
                negative_control: Some(_),
                ..
            } => row.kind = "control",
            RunEvent::Check { result, .. } => {
                row.total += 1;
                row.passed += usize::from(result.passed());
            }
            RunEvent::ScenarioFinished {
                verdict,
                failed_checks,
                reason,
                ..
            } => {
                row.verdict = Some(*verdict);
                row.failed = failed_checks.join(", ");
                if let Some(reason) = reason {
                    row.failed = if row.failed.is_empty() {
                        reason.clone()
                    } else {
                        format!("{} ({reason})", row.failed)
                    };
                }
            }
            _ => {}
        }
    }
    row
}

/// One line per scenario (id, kind, verdict, checks passed/total, failed checks), then totals.
/// A scenario the record does not see finish shows as INCOMPLETE.
pub fn closing_table(records: &[Record]) -> String {
    let rows: Vec<Row> = scenario_ids(records)
        .iter()
        .map(|id| row(records, id))
        .collect();
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0).max(8);
    let mut out = format!(
        "{:width$}  {:8}  {:14}  {:>7}  FAILED CHECKS\n",
        "SCENARIO", "KIND", "VERDICT", "CHECKS"
    );
    let (mut ok, mut checks_passed, mut checks_total) = (0, 0, 0);
    for r in &rows {
        let verdict = r.verdict.unwrap_or(ScenarioVerdict::Incomplete);
        ok += usize::from(verdict.is_success());
        checks_passed += r.passed;
        checks_total += r.total;
        let line = format!(
            "{:width$}  {:8}  {:14}  {:>7}  {}",
            r.id,
            r.kind,
            verdict.label(),
            format!("{}/{}", r.passed, r.total),
            r.failed
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "{:width$}  {:8}  {:14}  {:>7}\n",
        "TOTAL",
        "",
        format!("{ok}/{} ok", rows.len()),
        format!("{checks_passed}/{checks_total}")
    ));
    out.push_str(&format!(
        "\n{} scenario(s): {ok} as required, {} not",
        rows.len(),
        rows.len() - ok
    ));
    if rows.iter().any(|r| r.kind == "control") {
        out.push_str(" (a control is as required when its defect made the named checks fail)");
    }
    out
}
