//! The one place that decides: whether a negative control is as required, each scenario's
//! verdict, the run's overall verdict and the process exit code. Every output (closing table,
//! JUnit, summary.json, report.md, report.html) and the runner ask here.

use super::event::ScenarioVerdict;
use super::view::{Progress, RunView, ScenarioView};
use crate::scenario::NegativeControl;
use serde::Serialize;

/// Exit codes, documented in README.md ("Exit codes").
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const CHECK_FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INFRASTRUCTURE: u8 = 3;
}

/// A run's overall verdict. When several apply the higher exit code wins: INCOMPLETE over ERROR
/// over FAIL over PASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunVerdict {
    /// Every scenario passed and every negative control caught its defect.
    Pass,
    /// A check failed, or a negative control's defect went unnoticed.
    Fail,
    /// An input or usage error: a bad scenario, fixture or bench file, a refused pump.
    Error,
    /// A device lost, the run interrupted, or the record not whole.
    Incomplete,
}

impl RunVerdict {
    pub fn exit_code(self) -> u8 {
        match self {
            RunVerdict::Pass => exit::PASSED,
            RunVerdict::Fail => exit::CHECK_FAILED,
            RunVerdict::Error => exit::USAGE,
            RunVerdict::Incomplete => exit::INFRASTRUCTURE,
        }
    }

    /// The verdict an exit code stands for (codes above 3 count as INCOMPLETE).
    pub fn from_exit_code(code: u8) -> RunVerdict {
        match code {
            exit::PASSED => RunVerdict::Pass,
            exit::CHECK_FAILED => RunVerdict::Fail,
            exit::USAGE => RunVerdict::Error,
            _ => RunVerdict::Incomplete,
        }
    }

    /// The word the closing table and the reports show.
    pub fn word(self) -> &'static str {
        match self {
            RunVerdict::Pass => "PASS",
            RunVerdict::Fail => "FAIL",
            RunVerdict::Error => "ERROR",
            RunVerdict::Incomplete => "INCOMPLETE",
        }
    }

    /// The value of `verdict` in summary.json.
    pub fn key(self) -> &'static str {
        match self {
            RunVerdict::Pass => "pass",
            RunVerdict::Fail => "fail",
            RunVerdict::Error => "error",
            RunVerdict::Incomplete => "incomplete",
        }
    }

    /// The line every human-readable output carries.
    pub fn line(self) -> String {
        format!("Overall verdict: {}", self.word())
    }
}

/// Whether a check is one a negative control names: by full name or by family
/// (`alarm-onset` names `alarm-onset:low_reservoir`).
pub fn is_required(must_fail: &[String], check: &str) -> bool {
    must_fail
        .iter()
        .any(|m| m == check || crate::checks::names::family(check) == m)
}

/// The verdict of a scenario that ran to its end, from its checks that were judged and failed
/// and those that could not be judged: a scenario passes only when neither list has anything,
/// and a negative control is as required when every check it names was judged and failed ("not
/// evaluated" proves nothing, so it never catches a defect). An inconclusive check (guarded
/// acceptance, the interval straddling a limit) fails a positive scenario only when the run
/// requires conclusive evidence (`--require-conclusive`); it never catches a defect either.
pub fn judge_scenario(
    negative_control: Option<&NegativeControl>,
    failed_checks: &[String],
    not_evaluated: &[String],
    inconclusive: &[String],
    require_conclusive: bool,
) -> ScenarioVerdict {
    let blocking_inconclusive = require_conclusive && !inconclusive.is_empty();
    match negative_control {
        None if failed_checks.is_empty() && not_evaluated.is_empty() && !blocking_inconclusive => {
            ScenarioVerdict::Passed
        }
        None => ScenarioVerdict::Failed,
        Some(nc) => {
            let caught = nc.must_fail.iter().all(|name| {
                failed_checks
                    .iter()
                    .any(|f| is_required(std::slice::from_ref(name), f))
            });
            if caught {
                ScenarioVerdict::ControlCaught
            } else {
                ScenarioVerdict::ControlMissed
            }
        }
    }
}

/// The overall verdict from scenario verdicts, and whether the record could not be written.
pub fn run_verdict(verdicts: &[ScenarioVerdict], record_failed: bool) -> RunVerdict {
    if record_failed || verdicts.contains(&ScenarioVerdict::Incomplete) {
        RunVerdict::Incomplete
    } else if verdicts.contains(&ScenarioVerdict::Error) {
        RunVerdict::Error
    } else if verdicts.iter().any(|v| !v.is_success()) {
        RunVerdict::Fail
    } else {
        RunVerdict::Pass
    }
}

/// A scenario's verdict as the outputs show it: the recorded one, or INCOMPLETE when the record
/// does not reach it.
pub fn scenario_outcome(scenario: &ScenarioView) -> ScenarioVerdict {
    scenario
        .recorded_verdict()
        .unwrap_or(ScenarioVerdict::Incomplete)
}

/// Where a scenario got to.
pub fn progress(scenario: &ScenarioView) -> Progress {
    match scenario.recorded_verdict() {
        Some(ScenarioVerdict::Incomplete) | None if scenario.started => Progress::Incomplete,
        Some(ScenarioVerdict::Incomplete) | None => Progress::NeverStarted,
        Some(_) => Progress::Finished,
    }
}

/// The run's overall verdict from its view: the scenarios' verdicts, INCOMPLETE when the record
/// is not whole (no run end, a scenario never started or cut short, a torn or broken line), and
/// never better than the exit code the run recorded.
pub fn run_outcome(view: &RunView) -> RunVerdict {
    let verdicts: Vec<ScenarioVerdict> = view.scenarios.iter().map(|s| s.verdict()).collect();
    let mut verdict = run_verdict(&verdicts, !view.is_complete());
    if let Some(end) = &view.end {
        verdict = verdict.max(RunVerdict::from_exit_code(end.exit_code));
    }
    verdict
}

/// What the summary and the reports count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Listed in run_started (or seen in the record, if it has no run_started).
    pub planned: usize,
    /// Ran to a verdict (an input error counts: it is judged ERROR).
    pub finished: usize,
    /// Started but cut short, or without a recorded verdict.
    pub incomplete: usize,
    pub never_started: usize,
    pub passed: usize,
    pub failed: usize,
    pub defect_caught: usize,
    pub defect_missed: usize,
    pub errors: usize,
    pub checks: usize,
    /// Checks that did not pass (failed, not evaluated or inconclusive).
    pub checks_failed: usize,
    /// Checks that could not be judged (never counted as passed).
    pub checks_not_evaluated: usize,
    /// Of those, inconclusive under guarded acceptance.
    pub checks_inconclusive: usize,
}

pub fn tally(view: &RunView) -> Tally {
    let mut t = Tally {
        planned: match &view.run {
            Some(run) => run.planned.len(),
            None => view.scenarios.len(),
        },
        ..Tally::default()
    };
    for s in &view.scenarios {
        match s.progress() {
            Progress::Finished => t.finished += 1,
            Progress::Incomplete => t.incomplete += 1,
            Progress::NeverStarted => t.never_started += 1,
        }
        match s.verdict() {
            ScenarioVerdict::Passed => t.passed += 1,
            ScenarioVerdict::Failed => t.failed += 1,
            ScenarioVerdict::ControlCaught => t.defect_caught += 1,
            ScenarioVerdict::ControlMissed => t.defect_missed += 1,
            ScenarioVerdict::Error => t.errors += 1,
            ScenarioVerdict::Incomplete => {}
        }
        t.checks += s.checks.len();
        t.checks_failed += s.checks_failed();
        t.checks_not_evaluated += s.checks_not_evaluated().len();
        t.checks_inconclusive += s.checks.iter().filter(|c| c.inconclusive()).count();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_incomplete_then_error_then_fail() {
        use ScenarioVerdict::*;
        assert_eq!(
            run_verdict(&[Passed, ControlCaught], false),
            RunVerdict::Pass
        );
        assert_eq!(
            run_verdict(&[Passed, ControlMissed], false),
            RunVerdict::Fail
        );
        assert_eq!(run_verdict(&[Failed, Error], false), RunVerdict::Error);
        assert_eq!(
            run_verdict(&[ControlMissed, Error, Incomplete], false),
            RunVerdict::Incomplete
        );
        assert_eq!(run_verdict(&[Passed], true), RunVerdict::Incomplete);
        for v in [
            RunVerdict::Pass,
            RunVerdict::Fail,
            RunVerdict::Error,
            RunVerdict::Incomplete,
        ] {
            assert_eq!(RunVerdict::from_exit_code(v.exit_code()), v);
        }
    }

    #[test]
    fn an_inconclusive_check_fails_a_scenario_only_when_conclusive_evidence_is_required() {
        let names = vec!["tip-volume".to_string()];
        assert_eq!(
            judge_scenario(None, &[], &[], &names, false),
            ScenarioVerdict::Passed
        );
        assert_eq!(
            judge_scenario(None, &[], &[], &names, true),
            ScenarioVerdict::Failed
        );
        // It never catches a control's defect.
        let nc = NegativeControl {
            must_fail: names.clone(),
            reason: String::new(),
        };
        assert_eq!(
            judge_scenario(Some(&nc), &[], &[], &names, true),
            ScenarioVerdict::ControlMissed
        );
    }

    #[test]
    fn a_control_is_as_required_only_when_every_named_check_failed() {
        let nc = NegativeControl {
            must_fail: vec!["delivered-volume".into(), "alarm-onset".into()],
            reason: String::new(),
        };
        let failed = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            judge_scenario(
                Some(&nc),
                &failed(&["delivered-volume", "alarm-onset:low_reservoir"]),
                &[],
                &[],
                false
            ),
            ScenarioVerdict::ControlCaught
        );
        // A named check that could not be judged has not caught the defect.
        assert_eq!(
            judge_scenario(
                Some(&nc),
                &failed(&["alarm-onset:low_reservoir"]),
                &failed(&["delivered-volume"]),
                &[],
                false
            ),
            ScenarioVerdict::ControlMissed
        );
        // ...and a positive scenario with a check not evaluated has not passed.
        assert_eq!(
            judge_scenario(None, &[], &failed(&["under-infusion"]), &[], false),
            ScenarioVerdict::Failed
        );
        assert_eq!(
            judge_scenario(Some(&nc), &failed(&["delivered-volume"]), &[], &[], false),
            ScenarioVerdict::ControlMissed
        );
        assert_eq!(
            judge_scenario(None, &[], &[], &[], false),
            ScenarioVerdict::Passed
        );
        assert_eq!(
            judge_scenario(None, &failed(&["tip-volume"]), &[], &[], false),
            ScenarioVerdict::Failed
        );
    }
}
