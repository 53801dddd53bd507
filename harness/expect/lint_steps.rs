//! What `pumphil lint` finds in a scenario's steps and flow findings by the arithmetic: a stated
//! refusal (`refused = "..."`) the device would never give, a refusal the scenario does not
//! state, and an expected flow finding no window can hold enough strokes to find.

use super::calculator::Expected;
use crate::protocol::NackCode;
use crate::scenario::duration::format_duration;
use crate::scenario::{InputError, Scenario};
use std::ops::Range;

/// Each stated refusal against the arithmetic's: an error when the arithmetic and the label
/// accept the step, or when the device refuses it with another code; a warning when the
/// device refuses a step that does not say so (it would fail `steps-accepted`).
pub fn refusals(scenario: &Scenario, source: &str, computed: &Expected) -> Vec<InputError> {
    let mut problems = Vec::new();
    for (step, predicted) in scenario.steps.iter().zip(&computed.refusals) {
        let at = format_duration(step.at_ms);
        let problem = match (step.refused, *predicted) {
            (Some(stated), Some(code)) if stated == code => None,
            (Some(stated), Some(code)) => Some(
                InputError::new(
                    &scenario.path,
                    source,
                    "lint::refused",
                    format!("the device refuses the step at {at} with {code}, not {stated}"),
                )
                .help(format!("write refused = \"{code}\"")),
            ),
            // Beyond the label the device's own limits are under test: out_of_range is its answer.
            (Some(NackCode::OutOfRange), None) if step.out_of_range_test => None,
            (Some(stated), None) => Some(
                InputError::new(
                    &scenario.path,
                    source,
                    "lint::refused",
                    format!("the step at {at} says refused = \"{stated}\", but the arithmetic and the label accept it"),
                )
                .help("a device following docs/protocol.md takes this step: remove refused, or change the step so that the device must refuse it (a bolus while another runs, a stop while stopped, a resume while running, an acknowledge of an alarm that is not active)"),
            ),
            (None, Some(code)) => Some(
                InputError::new(
                    &scenario.path,
                    source,
                    "lint::refusal-unstated",
                    format!("by the arithmetic the device refuses the step at {at} ({code}); steps-accepted will fail"),
                )
                .help(format!("if the refusal is what the scenario tests, write refused = \"{code}\"; otherwise move the step"))
                .as_warning(),
            ),
            (None, None) => None,
        };
        if let Some(problem) = problem {
            problems.push(match line_span(source, step.line) {
                Some(span) => problem.at(span),
                None => problem,
            });
        }
    }
    problems
}

/// A warning for each expected flow finding that no flow window can find by its latest time:
/// a window holds at least `min_strokes` strokes of expected delivery and lasts at least the
/// discrepancy window, and ends on a sample (checks/flow.rs). The balance noise a bench
/// declares only widens windows, so a finding warned of here is out of reach on every bench.
pub fn finding_windows(scenario: &Scenario, source: &str, computed: &Expected) -> Vec<InputError> {
    let p = &scenario.expect.discrepancy;
    let stroke = scenario.device.stroke_nl as f64;
    let delivered_by = |t_ms: u64| {
        computed
            .samples
            .iter()
            .take_while(|s| s.t_ms <= t_ms)
            .last()
            .map_or(0, |s| s.delivered_nl)
    };
    let mut warnings = Vec::new();
    for finding in &scenario.expect.findings {
        let w = finding.window;
        let strokes = delivered_by(w.latest_ms) as f64 / stroke;
        let sampled = scenario.sample_times().any(|t| w.contains(t));
        let why = if strokes + 1e-9 < p.min_strokes as f64 {
            format!(
                "by {} the pump is expected to have delivered {strokes:.1} strokes, and a flow window needs {}",
                format_duration(w.latest_ms),
                p.min_strokes
            )
        } else if w.latest_ms < p.window_ms {
            format!(
                "it ends at {}, before one discrepancy window ({}) has passed",
                format_duration(w.latest_ms),
                format_duration(p.window_ms)
            )
        } else if !sampled {
            "no sample falls inside it, and a window is judged at a sample".to_string()
        } else {
            continue;
        };
        let warning = InputError::new(
            &scenario.path,
            source,
            "lint::finding-window",
            format!(
                "the {} finding expected between {} and {} cannot be found: {why}",
                finding.kind,
                format_duration(w.earliest_ms),
                format_duration(w.latest_ms)
            ),
        )
        .help("widen the finding's window (a later `latest`), sample more often, or lower [expect.discrepancy] min_strokes")
        .as_warning();
        let quoted = format!("\"{}\"", finding.kind);
        warnings.push(match source.find(&quoted) {
            Some(at) => warning.at(at..at + quoted.len()),
            None => warning,
        });
    }
    warnings
}

/// The byte range of a 1-based line's text, without its indentation.
pub(super) fn line_span(source: &str, line: usize) -> Option<Range<usize>> {
    let start: usize = source
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let text = source.get(start..)?.lines().next()?;
    let indent = text.len() - text.trim_start().len();
    Some(start + indent..start + text.trim_end().len().max(indent + 1))
}
