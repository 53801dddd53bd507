//! The closing table printed at the end of `pumphil run`.

use super::scenario_ids;
use crate::record::journal::Record;
use crate::record::RunEvent;

pub fn closing_table(records: &[Record]) -> String {
    let ids = scenario_ids(records);
    let width = ids.iter().map(|i| i.len()).max().unwrap_or(8).max(8);
    let mut out = format!(
        "{:width$}  {:8}  {:14}  {:>7}  FAILED CHECKS\n",
        "SCENARIO", "KIND", "VERDICT", "CHECKS"
    );
    let (mut ok, mut bad) = (0, 0);
    for id in &ids {
        let (mut kind, mut verdict, mut failed, mut passed, mut total) =
            ("scenario", "INCOMPLETE".to_string(), String::new(), 0, 0);
        let mut success = false;
        for r in records.iter().filter(|r| r.event.scenario() == Some(id)) {
            match &r.event {
                RunEvent::ScenarioStarted {
                    negative_control: Some(_),
                    ..
                } => kind = "control",
                RunEvent::Check { result, .. } => {
                    total += 1;
                    passed += usize::from(result.passed());
                }
                RunEvent::ScenarioFinished {
                    verdict: v,
                    failed_checks,
                    reason,
                    ..
                } => {
                    verdict = v.label().to_string();
                    success = v.is_success();
                    failed = failed_checks.join(", ");
                    if let Some(reason) = reason {
                        failed = if failed.is_empty() {
                            reason.clone()
                        } else {
                            format!("{failed} ({reason})")
                        };
                    }
                }
                _ => {}
            }
        }
        if success {
            ok += 1;
        } else {
            bad += 1;
        }
        out.push_str(&format!(
            "{id:width$}  {kind:8}  {verdict:14}  {:>7}  {failed}\n",
            format!("{passed}/{total}")
        ));
    }
    out.push_str(&format!(
        "\n{} scenario(s): {ok} as required, {bad} not",
        ids.len()
    ));
    if records.iter().any(|r| {
        matches!(
            r.event,
            RunEvent::ScenarioStarted {
                negative_control: Some(_),
                ..
            }
        )
    }) {
        out.push_str(" (a control is as required when its defect made the named checks fail)");
    }
    out
}
