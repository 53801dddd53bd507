//! Checks: named judgements of a measured run against expectations, each with margin and verdict.
//!
//! Every check takes the scenario, its expected traces (fixtures) and what was measured, and
//! returns `CheckResult`s; none of them looks at the emulator. `docs/checks.md` describes each.

pub mod alarms;
pub mod flow;
pub mod names;
pub mod volume;

use crate::expect::{ExpectedAlarmEvent, ExpectedSample};
use crate::record::Sample;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
}

/// One judged check, as recorded in the run record and shown in every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub verdict: Verdict,
    pub expected: String,
    pub measured: String,
    pub tolerance: String,
    /// Distance to the nearest limit in `unit`; negative when the check failed.
    pub margin: Option<f64>,
    pub unit: String,
    /// Scenario time the verdict refers to (the worst sample, the alarm onset...).
    pub at_ms: Option<u64>,
    pub detail: String,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

/// An alarm transition the harness observed, on scenario time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAlarm {
    pub t_ms: u64,
    pub alarm: crate::protocol::AlarmKind,
    pub priority: crate::protocol::Priority,
    pub raised: bool,
}

/// A discrepancy the harness found from the independent measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: crate::scenario::FindingKind,
    pub t_ms: u64,
    pub detail: String,
}

/// Everything a scenario run produced that checks judge.
pub struct Measured<'a> {
    pub samples: &'a [Sample],
    pub alarms: &'a [ObservedAlarm],
}

/// Runs every check that applies to the scenario. Findings are returned too, for the record.
pub fn judge(
    scenario: &Scenario,
    expected_samples: &[ExpectedSample],
    expected_alarms: &[ExpectedAlarmEvent],
    measured: &Measured,
) -> (Vec<CheckResult>, Vec<Finding>) {
    let _ = expected_alarms;
    let mut results = volume::check_volumes(scenario, expected_samples, measured.samples);
    results.extend(alarms::check_alarms(scenario, measured.alarms));
    let mut findings = Vec::new();
    if scenario.bench.balance {
        findings = flow::find_discrepancies(scenario, expected_samples, measured.samples);
        results.extend(flow::check_findings(scenario, &findings));
    }
    (results, findings)
}

pub(crate) fn ml(nl: f64) -> String {
    format!("{:.4} mL", nl / 1e6)
}

pub(crate) fn time(ms: u64) -> String {
    crate::scenario::duration::format_duration(ms)
}
