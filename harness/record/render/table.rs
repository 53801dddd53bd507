//! The closing table printed at the end of `pumphil run`: one line per scenario in the order
//! given, totals, and the overall verdict as its last line.

use crate::record::view::{RunView, ScenarioView};

fn failed_column(s: &ScenarioView) -> String {
    let Some(finished) = &s.finished else {
        return if s.started {
            String::new()
        } else {
            "never started".into()
        };
    };
    let mut failed = finished.failed_checks.join(", ");
    let not_evaluated = s.checks_not_evaluated();
    if !not_evaluated.is_empty() {
        let sep = if failed.is_empty() { "" } else { "; " };
        failed = format!("{failed}{sep}not evaluated: {}", not_evaluated.join(", "));
    }
    match &finished.reason {
        Some(reason) if failed.is_empty() => reason.clone(),
        Some(reason) => format!("{failed} ({reason})"),
        None => failed,
    }
}

/// One line per scenario (id, kind, verdict, checks passed/total, failed checks), then totals,
/// the counts and `Overall verdict: <WORD>`. A scenario the record does not see finish shows as
/// INCOMPLETE.
pub fn closing_table(view: &RunView) -> String {
    let width = view
        .scenarios
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:width$}  {:16}  {:14}  {:>7}  FAILED CHECKS\n",
        "SCENARIO", "KIND", "VERDICT", "CHECKS"
    );
    let (mut ok, mut checks_passed, mut checks_total) = (0, 0, 0);
    for s in &view.scenarios {
        let verdict = s.verdict();
        ok += usize::from(verdict.is_success());
        checks_passed += s.checks_passed();
        checks_total += s.checks.len();
        let line = format!(
            "{:width$}  {:16}  {:14}  {:>7}  {}",
            s.id,
            s.kind().name(),
            verdict.label(),
            format!("{}/{}", s.checks_passed(), s.checks.len()),
            failed_column(s)
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = view.scenarios.len();
    out.push_str(&format!(
        "{:width$}  {:16}  {:14}  {:>7}\n",
        "TOTAL",
        "",
        format!("{ok}/{count} ok"),
        format!("{checks_passed}/{checks_total}")
    ));
    let tally = view.tally();
    out.push_str(&format!(
        "\n{} scenario(s) planned: {} finished, {} incomplete, {} never started; {ok} as required, {} not",
        tally.planned,
        tally.finished,
        tally.incomplete,
        tally.never_started,
        count - ok
    ));
    if view.scenarios.iter().any(|s| s.is_negative_control()) {
        out.push_str(
            " (a negative control is as required when its defect made the named checks fail)",
        );
    }
    if let Some(memory) = crate::record::link_mark::in_memory(view) {
        out.push_str(&format!(
            "\nLink: {}: {}",
            memory.mark(),
            crate::record::link_mark::NOT_A_SERIAL_PATH
        ));
    }
    out.push('\n');
    out.push_str(&view.verdict().line());
    out
}
