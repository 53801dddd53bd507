//! Expected traces: the independent reference calculator, the fixture files it writes, the
//! CSF pharmacokinetic estimate, and the bounded thinning of long traces kept for the record.

pub mod calculator;
pub mod csf;
pub mod decision;
pub mod fixture;
pub mod lint;
pub mod lint_steps;
// Thinning sits here, not in the record, because the expected trace is thinned as it is read
// (`fixture::check`); the record and the renderers use it from here.
pub mod thin;
pub mod uncertainty;

pub use calculator::{
    expected, Expected, ExpectedAlarmEvent, ExpectedBolus, ExpectedSample, Transition,
};

use crate::scenario::duration::format_duration;
use crate::scenario::Scenario;

/// Disagreements between a scenario's hand-written alarm windows and the arithmetic: every
/// expected raise must fall inside (or within its tolerance of) the matching window, and every
/// arithmetic raise must be expected.
pub fn consistency(scenario: &Scenario) -> Vec<String> {
    inconsistencies(scenario)
        .into_iter()
        .map(|(_, problem)| problem)
        .collect()
}

/// As `consistency`, each problem with the scenario line of the expectation it concerns.
pub fn inconsistencies(scenario: &Scenario) -> Vec<(Option<usize>, String)> {
    let computed = expected(scenario);
    let raises: Vec<&ExpectedAlarmEvent> = computed
        .alarms
        .iter()
        .filter(|a| a.transition == Transition::Raised)
        .collect();
    let mut problems = Vec::new();
    let mut used = vec![false; raises.len()];
    for exp in &scenario.expect.alarms {
        match raises
            .iter()
            .enumerate()
            .find(|(i, r)| !used[*i] && r.alarm == exp.alarm)
        {
            Some((i, r)) => {
                used[i] = true;
                let w = exp.raised;
                if r.t_ms + r.tolerance_ms < w.earliest_ms || r.t_ms > w.latest_ms {
                    problems.push((Some(exp.line), format!(
                        "{} is expected between {} and {}, but arithmetic puts it at {} (+{} for the stroke interval); see the fixture README",
                        exp.alarm,
                        format_duration(w.earliest_ms),
                        format_duration(w.latest_ms),
                        format_duration(r.t_ms),
                        format_duration(r.tolerance_ms)
                    )));
                } else if r.priority != exp.priority {
                    problems.push((
                        Some(exp.line),
                        format!(
                            "{} is expected with priority {}, but the documented priority is {}",
                            exp.alarm, exp.priority, r.priority
                        ),
                    ));
                }
            }
            None => problems.push((
                Some(exp.line),
                format!(
                    "{} is expected, but arithmetic does not raise it",
                    exp.alarm
                ),
            )),
        }
    }
    if !scenario.is_negative_control() {
        for (i, r) in raises.iter().enumerate() {
            if !used[i] {
                problems.push((
                    None,
                    format!(
                        "arithmetic raises {} at {}, but the scenario does not expect it",
                        r.alarm,
                        format_duration(r.t_ms)
                    ),
                ));
            }
        }
    }
    problems
}
