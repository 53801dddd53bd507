//! Expected traces: the independent reference calculator, the fixture files it writes, the
//! CSF pharmacokinetic estimate, and the bounded thinning of long traces kept for the record.

pub mod calculator;
pub mod csf;
pub mod fixture;
// Thinning sits here, not in the record, because the expected trace is thinned as it is read
// (`fixture::check`); the record and the renderers use it from here.
pub mod thin;

pub use calculator::{expected, Expected, ExpectedAlarmEvent, ExpectedSample, Transition};

use crate::scenario::Scenario;

/// Disagreements between a scenario's hand-written alarm windows and the arithmetic: every
/// expected raise must fall inside (or within its tolerance of) the matching window, and every
/// arithmetic raise must be expected.
pub fn consistency(scenario: &Scenario) -> Vec<String> {
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
                    problems.push(format!(
                        "{} is expected between {} and {} ms, but arithmetic puts it at {} ms (+{} ms for the stroke interval); see the fixture README",
                        exp.alarm, w.earliest_ms, w.latest_ms, r.t_ms, r.tolerance_ms
                    ));
                } else if r.priority != exp.priority {
                    problems.push(format!(
                        "{} is expected with priority {}, but the documented priority is {}",
                        exp.alarm, exp.priority, r.priority
                    ));
                }
            }
            None => problems.push(format!(
                "{} is expected, but arithmetic does not raise it",
                exp.alarm
            )),
        }
    }
    if !scenario.is_negative_control() {
        for (i, r) in raises.iter().enumerate() {
            if !used[i] {
                problems.push(format!(
                    "arithmetic raises {} at {} ms, but the scenario does not expect it",
                    r.alarm, r.t_ms
                ));
            }
        }
    }
    problems
}
