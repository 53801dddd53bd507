//! What `pumphil lint` finds beyond the scenario file itself, before anything runs: alarm
//! windows the arithmetic cannot meet, and fixtures that differ from the reference calculator
//! (the first differing row, with the scenario step that comes before it).

use super::calculator::{expected, ExpectedAlarmEvent, ExpectedSample};
use super::fixture;
use super::lint_steps::line_span;
use crate::scenario::duration::format_duration;
use crate::scenario::{InputError, Scenario};
use std::path::Path;

/// Every problem with `scenario` that only the arithmetic shows (warnings among them, marked as
/// such); the fixtures under `fixtures_root` are compared too when it is given (`pumphil lint`
/// without `--no-fixtures`).
pub fn lint(scenario: &Scenario, fixtures_root: Option<&Path>) -> Vec<InputError> {
    let source = std::fs::read_to_string(&scenario.path).unwrap_or_default();
    let mut problems: Vec<InputError> = super::inconsistencies(scenario)
        .into_iter()
        .map(|(line, message)| {
            let err = InputError::new(&scenario.path, &source, "lint::alarm-window", message)
                .help("move the window to the time the arithmetic gives (`pumphil expect` shows the derivation), or fix the steps that lead to it");
            match line.and_then(|l| line_span(&source, l)) {
                Some(span) => err.at(span),
                None => err,
            }
        })
        .collect();
    let fresh = expected(scenario);
    problems.extend(super::lint_steps::refusals(scenario, &source, &fresh));
    problems.extend(super::lint_steps::finding_windows(
        scenario, &source, &fresh,
    ));
    if let Some(root) = fixtures_root {
        match fixture::read(root, scenario) {
            Ok((samples, alarms)) => {
                let dir = fixture::fixture_dir(root, scenario);
                problems.extend(first_sample_difference(
                    scenario,
                    &dir.join(fixture::VOLUME_FILE),
                    &samples,
                    &fresh.samples,
                ));
                problems.extend(first_alarm_difference(
                    scenario,
                    &dir.join(fixture::ALARMS_FILE),
                    &alarms,
                    &fresh.alarms,
                ));
            }
            Err(e) => problems.push(e),
        }
    }
    problems
}

/// The step in force at `t_ms` (the last one at or before it), which a changed row follows from.
fn cause(scenario: &Scenario, t_ms: u64) -> String {
    match scenario.steps.iter().rev().find(|s| s.at_ms <= t_ms) {
        Some(step) => format!(
            "the step in force then is on line {} of {} (at {})",
            step.line,
            scenario.path.display(),
            format_duration(step.at_ms)
        ),
        None => format!(
            "no step comes before it: look at [device] in {}",
            scenario.path.display()
        ),
    }
}

fn regenerate(scenario: &Scenario) -> String {
    format!(
        "if the scenario changed on purpose, run `pumphil expect {} --write` and review the diff",
        scenario.path.display()
    )
}

/// The first row where the committed fixture and the fresh arithmetic differ, or where the
/// shorter of them ends; None when they are the same.
fn first_differing_row<T: PartialEq>(committed: &[T], fresh: &[T]) -> Option<usize> {
    committed
        .iter()
        .zip(fresh)
        .position(|(a, b)| a != b)
        .or_else(|| (committed.len() != fresh.len()).then(|| committed.len().min(fresh.len())))
}

fn first_sample_difference(
    scenario: &Scenario,
    path: &Path,
    committed: &[ExpectedSample],
    fresh: &[ExpectedSample],
) -> Option<InputError> {
    let index = first_differing_row(committed, fresh)?;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (old, new) = (committed.get(index), fresh.get(index));
    let t_ms = old.or(new).map(|r| r.t_ms).unwrap_or(0);
    let fields = match (old, new) {
        (Some(a), Some(b)) => [
            ("delivered_nl", a.delivered_nl, b.delivered_nl),
            ("calculated_nl", a.calculated_nl, b.calculated_nl),
            ("tip_nl", a.tip_nl, b.tip_nl),
            ("actual_nl", a.actual_nl, b.actual_nl),
            (
                "programmed_nl_per_day",
                a.programmed_nl_per_day,
                b.programmed_nl_per_day,
            ),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("{name} {a} in the fixture, {b} by arithmetic"))
        .collect::<Vec<_>>()
        .join("; "),
        _ => "the number of rows differs".to_string(),
    };
    // Row i of the data is line i + 2 of the file (after the header).
    let err = InputError::new(
        path,
        &text,
        "lint::fixture-differs",
        format!(
            "the first row that differs from the reference calculator is at {}: {fields}",
            format_duration(t_ms)
        ),
    )
    .help(format!(
        "{}; {}",
        cause(scenario, t_ms),
        regenerate(scenario)
    ));
    Some(match line_span(&text, index + 2) {
        Some(span) => err.at(span),
        None => err,
    })
}

fn first_alarm_difference(
    scenario: &Scenario,
    path: &Path,
    committed: &[ExpectedAlarmEvent],
    fresh: &[ExpectedAlarmEvent],
) -> Option<InputError> {
    let index = first_differing_row(committed, fresh)?;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let describe = |a: Option<&ExpectedAlarmEvent>| match a {
        Some(a) => format!(
            "{} {:?} at {}",
            a.alarm,
            a.transition,
            format_duration(a.t_ms)
        )
        .to_lowercase(),
        None => "nothing".to_string(),
    };
    let (old, new) = (committed.get(index), fresh.get(index));
    let t_ms = [old, new]
        .into_iter()
        .flatten()
        .map(|a| a.t_ms)
        .min()
        .unwrap_or(0);
    let err = InputError::new(
        path,
        &text,
        "lint::fixture-differs",
        format!(
            "alarm row {} differs from the reference calculator: {} in the fixture, {} by arithmetic",
            index + 1,
            describe(old),
            describe(new)
        ),
    )
    .help(format!("{}; {}", cause(scenario, t_ms), regenerate(scenario)));
    Some(match line_span(&text, index + 2) {
        Some(span) => err.at(span),
        None => err,
    })
}
