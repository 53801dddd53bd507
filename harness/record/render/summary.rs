//! `summary.json`: the run's verdicts and counts, for machines.
//!
//! Every key is always present (null when the record does not say), so consumers need no
//! guessing; keys come out sorted because serde_json's map is ordered. Scenarios are listed in
//! the order the run was given them.

use crate::record::schema::{BolusRow, TrumpetResult, TrumpetWindow};
use crate::record::view::{Progress, RunView, ScenarioView};
use serde_json::{json, Value};
use std::io::Write;

pub const FILE: &str = "summary.json";

fn progress_key(progress: Progress) -> &'static str {
    match progress {
        Progress::NeverStarted => "never_started",
        Progress::Incomplete => "incomplete",
        Progress::Finished => "finished",
    }
}

fn scenario(view: &RunView, s: &ScenarioView) -> Value {
    let finished = s.finished.as_ref();
    let findings: Vec<Value> = s
        .findings
        .iter()
        .map(|f| json!({ "kind": f.kind, "t_ms": f.t_ms, "detail": f.detail }))
        .collect();
    json!({
        "id": s.id,
        "title": s.started.then_some(&s.title),
        // The same words as the closing table, JUnit and the reports.
        "kind": s.kind().name(),
        "requirements": s.requirements,
        "progress": progress_key(s.progress()),
        "verdict": s.verdict(),
        "verdict_label": s.verdict().label(),
        "failed_checks": finished.map(|f| f.failed_checks.clone()).unwrap_or_default(),
        "reason": finished.and_then(|f| f.reason.clone()),
        "wall_ms": finished.map(|f| f.wall_ms),
        "checks": s.checks.len(),
        "checks_failed": s.checks_failed(),
        "checks_not_evaluated": s.checks_not_evaluated(),
        "time_base": s.device.as_ref().map(|d| d.time_base),
        "link": s.device.as_ref().map(|d| d.link),
        "checks_inconclusive": s.checks.iter().filter(|c| c.inconclusive()).count(),
        "findings": findings,
        "deviations": view.deviations_of(&s.id).count(),
        "alarm_events": s.alarms.len(),
        "trumpet": s.trumpet.as_ref().map(trumpet),
        "bolus_volume": s.boluses.iter().map(bolus).collect::<Vec<_>>(),
    })
}

/// One bolus or rate change judged by `bolus-volume`: volumes in µL, U at k = 2.
fn bolus(r: &BolusRow) -> Value {
    json!({
        "kind": r.kind,
        "at_ms": r.at_ms,
        "programmed": r.programmed,
        "from_ms": r.from_ms,
        "to_ms": r.to_ms,
        "programmed_ul": r.programmed_ul,
        "background_ul": r.background_ul,
        "measured_ul": r.measured_ul,
        "error_percent": r.error_percent(),
        "tolerance_ul": r.tolerance_ul,
        "expanded_uncertainty_ul": r.expanded_ul,
        "verdict": r.verdict,
    })
}

/// The `[analysis.trumpet]` figures, one array entry per window (the windows used, scaled
/// where the asked ones held too few strokes or samples).
fn trumpet(t: &TrumpetResult) -> Value {
    let each = |f: &dyn Fn(&TrumpetWindow) -> Value| t.windows.iter().map(f).collect::<Vec<_>>();
    json!({
        "from_ms": t.from_ms,
        "to_ms": t.to_ms,
        "rate_ml_per_h": t.rate_ml_per_h,
        "samples": t.samples,
        "min_strokes": t.min_strokes,
        "windows_min": each(&|w| json!(w.window_min)),
        "windows_asked_min": each(&|w| json!(w.nominal_min)),
        "scaled": each(&|w| json!(w.scaling)),
        "strokes_per_window": each(&|w| json!(w.strokes)),
        "window_counts": each(&|w| json!(w.count)),
        "ep_max_percent": each(&|w| json!(w.ep_max_percent)),
        "ep_min_percent": each(&|w| json!(w.ep_min_percent)),
        "mean_error_percent": t.mean_error_percent,
    })
}

/// How the run's devices were reached, in the words of the report's test-system box.
fn link_description(view: &RunView) -> Option<String> {
    if let Some(memory) = crate::record::link_mark::in_memory(view) {
        return Some(format!(
            "{}: {}",
            memory.mark(),
            crate::record::link_mark::NOT_A_SERIAL_PATH
        ));
    }
    let device = view.scenarios.iter().find_map(|s| s.device.as_ref())?;
    Some(device.link.describe(device.kind).to_string())
}

pub fn render(view: &RunView) -> String {
    let mut text = serde_json::to_string_pretty(&summary(view)).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `render`'s text to `path` as it is serialized, without holding it whole.
pub fn write(view: &RunView, path: &std::path::Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut out, &summary(view))?;
    out.write_all(b"\n")?;
    out.flush()
}

fn summary(view: &RunView) -> Value {
    let run = view.run.as_ref();
    let end = view.end.as_ref();
    let verdict = view.verdict();
    let tally = view.tally();
    let scenarios: Vec<Value> = view.scenarios.iter().map(|s| scenario(view, s)).collect();
    json!({
        "schema_version": run.map(|r| r.schema_version),
        "run_id": run.map(|r| &r.run_id),
        "started_utc": run.map(|r| &r.started_utc),
        "harness_version": run.map(|r| &r.harness_version),
        "git_commit": run.map(|r| &r.git_commit),
        "mode": run.map(|r| r.mode),
        // `in-memory` (or `mixed`): not evidence over a serial line, and the description says so.
        "link": crate::record::link_mark::run_link_key(view),
        "link_description": link_description(view),
        "seed": run.map(|r| r.seed),
        "operator": run.and_then(|r| r.operator.as_ref()),
        "finished_utc": end.map(|e| &e.finished_utc),
        "exit_code": verdict.exit_code(),
        "recorded_exit_code": end.map(|e| e.exit_code),
        "verdict": verdict.key(),
        "record": {
            "records": view.records,
            "truncated_at_line": view.integrity.truncated_at_line,
        },
        "run_deviations": view.deviations.iter().filter(|d| d.scenario.is_none()).count(),
        "totals": tally,
        "scenarios": scenarios,
    })
}
