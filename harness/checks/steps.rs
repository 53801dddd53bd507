//! `steps-accepted`: every step was taken by the device as the scenario says it should be:
//! accepted, or refused with the code the step states (`refused = "..."`). A refusal nobody
//! expected is a failed step, and so is an expected refusal that did not come.

use super::{names, time, CheckResult, Verdict};
use crate::protocol::NackCode;
use crate::record::schema::StepOutcome;
use crate::scenario::Scenario;

/// The device's answer to one scenario step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepAnswer {
    pub index: usize,
    pub t_ms: u64,
    /// None: accepted; Some: refused with this code.
    pub refused: Option<NackCode>,
}

impl StepAnswer {
    /// What the runner recorded of a scenario step; restore outcomes are not steps of the
    /// scenario and give None.
    pub fn from_outcome(index: usize, t_ms: u64, outcome: &StepOutcome) -> Option<StepAnswer> {
        let refused = match outcome {
            StepOutcome::Ok => None,
            StepOutcome::Refused { code } => Some(*code),
            StepOutcome::Restored | StepOutcome::NotRestored { .. } => return None,
        };
        Some(StepAnswer {
            index,
            t_ms,
            refused,
        })
    }
}

fn describe(refused: Option<NackCode>) -> String {
    match refused {
        None => "accepted".to_string(),
        Some(code) => format!("refused ({code})"),
    }
}

/// The check, when the scenario has steps. A step the run never reached (an interrupted run
/// is INCOMPLETE before it is judged) counts as not evaluated.
pub fn check_steps(scenario: &Scenario, answers: &[StepAnswer]) -> Option<CheckResult> {
    if scenario.steps.is_empty() {
        return None;
    }
    let stated = scenario
        .steps
        .iter()
        .filter(|s| s.refused.is_some())
        .count();
    let expected = match stated {
        0 => format!("all {} step(s) accepted", scenario.steps.len()),
        n => format!(
            "{} step(s) accepted, {n} refused as stated",
            scenario.steps.len() - n
        ),
    };
    let mut wrong = Vec::new();
    let mut first_wrong = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        let Some(answer) = answers.iter().find(|a| a.index == index) else {
            continue;
        };
        if answer.refused != step.refused {
            first_wrong.get_or_insert(answer.t_ms);
            wrong.push(format!(
                "step {} at {} (line {}): expected {}, the device {}",
                index + 1,
                time(answer.t_ms),
                step.line,
                describe(step.refused),
                describe(answer.refused)
            ));
        }
    }
    let answered = (0..scenario.steps.len())
        .filter(|i| answers.iter().any(|a| a.index == *i))
        .count();
    let verdict = if !wrong.is_empty() {
        Verdict::Fail
    } else if answered < scenario.steps.len() {
        Verdict::NotEvaluated
    } else {
        Verdict::Pass
    };
    let refused = answers.iter().filter(|a| a.refused.is_some()).count();
    Some(CheckResult {
        name: names::STEPS_ACCEPTED.to_string(),
        verdict,
        expected,
        measured: format!(
            "{} accepted, {refused} refused, {} as expected",
            answered - refused,
            answered - wrong.len()
        ),
        tolerance: "each step as stated".to_string(),
        margin: Some(-(wrong.len() as f64)),
        unit: "steps".to_string(),
        at_ms: first_wrong,
        detail: match verdict {
            Verdict::NotEvaluated => format!(
                "not evaluated: {} of {} step(s) were not sent",
                scenario.steps.len() - answered,
                scenario.steps.len()
            ),
            _ if wrong.is_empty() => "every step answered as stated".to_string(),
            _ => wrong.join("; "),
        },
        margin_percent: None,
        end_value: None,
        uncertainty: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, Action};
    use std::path::Path;

    fn scenario(steps: &str) -> Scenario {
        let text = format!(
            "id = \"t\"\ntitle = \"t\"\nrequirements = [\"R\"]\nhazard = \"h\"\n[device]\nreservoir_ml = 40\ninitial_fill_ml = 20.0\nconcentration_ug_per_ml = 500\n[timing]\nend = \"5h\"\nsample_every = \"1h\"\n[[step]]\nat = \"0s\"\nprogram = {{ continuous_ug_per_day = 500 }}\n{steps}"
        );
        parse(Path::new("t.toml"), &text, String::new()).unwrap()
    }

    const TWO_BOLUSES: &str = "[[step]]\nat = \"1h\"\nbolus = { dose_ug = 50, duration = \"1h\" }\n[[step]]\nat = \"1h 30m\"\nbolus = { dose_ug = 50, duration = \"1h\" }\nrefused = \"not_allowed_in_state\"\n";

    fn answer(index: usize, refused: Option<NackCode>) -> StepAnswer {
        StepAnswer {
            index,
            t_ms: index as u64 * 1000,
            refused,
        }
    }

    #[test]
    fn an_unexpected_refusal_fails() {
        let s = scenario("[[step]]\nat = \"1h\"\nstop = true\n");
        let ok = check_steps(&s, &[answer(0, None), answer(1, None)]).unwrap();
        assert_eq!(ok.verdict, Verdict::Pass);
        let refused = [
            answer(0, None),
            answer(1, Some(NackCode::NotAllowedInState)),
        ];
        let result = check_steps(&s, &refused).unwrap();
        assert_eq!(result.verdict, Verdict::Fail);
        assert!(result.detail.contains("step 2"), "{}", result.detail);
        assert_eq!(result.at_ms, Some(1000));
    }

    #[test]
    fn an_expected_refusal_passes_only_when_it_comes_with_its_code() {
        let s = scenario(TWO_BOLUSES);
        assert!(matches!(s.steps[2].action, Action::Bolus { .. }));
        let nack = Some(NackCode::NotAllowedInState);
        let as_stated = [answer(0, None), answer(1, None), answer(2, nack)];
        assert_eq!(check_steps(&s, &as_stated).unwrap().verdict, Verdict::Pass);
        let accepted = [answer(0, None), answer(1, None), answer(2, None)];
        assert_eq!(check_steps(&s, &accepted).unwrap().verdict, Verdict::Fail);
        let other = [
            answer(0, None),
            answer(1, None),
            answer(2, Some(NackCode::OutOfRange)),
        ];
        assert_eq!(check_steps(&s, &other).unwrap().verdict, Verdict::Fail);
    }

    #[test]
    fn a_step_never_sent_is_not_evaluated_never_a_pass() {
        let s = scenario(TWO_BOLUSES);
        let result = check_steps(&s, &[answer(0, None)]).unwrap();
        assert_eq!(result.verdict, Verdict::NotEvaluated);
    }
}
