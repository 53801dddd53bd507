//! The run record's data types below the events: samples, check results and the typed values
//! events carry. The checks build `Sample`s and `CheckResult`s from these types, so this module
//! imports only the layers below the checks (protocol, scenario, expect); `docs/record.md`
//! describes every field.

use crate::protocol::{AlarmKind, FaultKind, NackCode, TherapyState};
use crate::scenario::{Action, BenchNeeds, DeviceSetup, Tolerances};
use serde::{Deserialize, Serialize};

/// The version of the record's schema, written in `run_started`. A record of another version is
/// refused when read: change it whenever a record type changes shape (docs/record.md).
pub const SCHEMA_VERSION: u32 = 3;

/// The version assumed for a record whose `run_started` has no `schema_version` (before it
/// was recorded).
pub const UNVERSIONED: u32 = 1;

/// Where the run's pumps were: the built-in emulator or a real bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Emulator,
    Bench,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Emulator => "emulator",
            Mode::Bench => "bench",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario sets out to show: that the pump behaves, or (a negative control) that the
/// checks catch a deliberately defective pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    Scenario,
    NegativeControl,
}

impl ScenarioKind {
    pub fn of(negative_control: Option<&crate::scenario::NegativeControl>) -> ScenarioKind {
        match negative_control {
            Some(_) => ScenarioKind::NegativeControl,
            None => ScenarioKind::Scenario,
        }
    }

    /// The one name every output uses.
    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Scenario => "scenario",
            ScenarioKind::NegativeControl => "negative control",
        }
    }
}

/// An alarm being raised or cleared (the transitions the expected traces use too).
pub use crate::expect::Transition as AlarmTransition;

/// A scenario the run was given, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedScenario {
    pub id: String,
    pub kind: ScenarioKind,
    pub path: String,
    pub sha256: String,
}

/// The scenario's device, bench needs, tolerances and emulator defects, as the run used them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSetup {
    pub device: DeviceSetup,
    pub bench: BenchNeeds,
    pub tolerance: Tolerances,
    /// Emulator defect knobs as written in the scenario (a negative control sets them).
    pub defects: Option<crate::emulator::config::Defects>,
}

/// What a step did: a scenario action, or the harness clearing a fault the scenario injected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepAction {
    Restore { restore: FaultKind },
    Scenario(Action),
}

/// How the device took a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepOutcome {
    Ok,
    Refused {
        code: NackCode,
    },
    Restored,
    /// A fault could not be cleared: why, and what the operator must do.
    NotRestored {
        reason: String,
    },
}

impl StepOutcome {
    /// Whether the step did what it was meant to.
    pub fn is_ok(&self) -> bool {
        matches!(self, StepOutcome::Ok | StepOutcome::Restored)
    }
}

impl std::fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepOutcome::Ok => f.write_str("ok"),
            StepOutcome::Refused { code } => write!(f, "refused: {code}"),
            StepOutcome::Restored => f.write_str("restored"),
            StepOutcome::NotRestored { reason } => write!(f, "not restored: {reason}"),
        }
    }
}

/// One measurement at a sample time: what the device reports, the balance, and the bench plant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Scenario time (device time since the scenario's start).
    pub t_ms: u64,
    pub device_time_ms: u64,
    pub delivered_nl: u64,
    pub calculated_nl: u64,
    pub dose_rate_ug_per_day: u32,
    pub concentration_ug_per_ml: u32,
    pub therapy_state: TherapyState,
    pub battery_permille: u16,
    pub elective_replacement: bool,
    pub end_of_service: bool,
    pub active_alarms: Vec<AlarmKind>,
    /// Net balance reading in grams, when a balance is present.
    pub balance_g: Option<f64>,
    pub balance_stable: Option<bool>,
    /// Balance reading converted to volume: grams / density.
    pub tip_nl: Option<u64>,
    /// Bench plant (test units only).
    pub actual_reservoir_nl: Option<u64>,
    pub pocket_nl: Option<u64>,
}

impl Sample {
    /// Whether the pump says it is delivering (a basal rate or a bolus).
    pub fn is_delivering(&self) -> bool {
        matches!(
            self.therapy_state,
            TherapyState::Running | TherapyState::Bolus
        )
    }
}

#[cfg(test)]
impl Sample {
    /// A running pump's sample at `t_ms` with nothing delivered or measured, for unit tests to
    /// fill in the fields they look at.
    pub(crate) fn running_at(t_ms: u64) -> Sample {
        Sample {
            t_ms,
            device_time_ms: t_ms,
            delivered_nl: 0,
            calculated_nl: 0,
            dose_rate_ug_per_day: 0,
            concentration_ug_per_ml: 0,
            therapy_state: TherapyState::Running,
            battery_permille: 1000,
            elective_replacement: false,
            end_of_service: false,
            active_alarms: vec![],
            balance_g: None,
            balance_stable: None,
            tip_nl: None,
            actual_reservoir_nl: None,
            pocket_nl: None,
        }
    }
}

/// A check's own verdict, before a negative control reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Nothing could be judged (no flow window was long enough): never a pass.
    NotEvaluated,
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
    /// `margin` as a percentage of the tolerance at the headline judgement (100 % unused,
    /// negative when failed); volume checks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_percent: Option<f64>,
    /// The expected and measured value at the last sample, when the headline is elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_value: Option<String>,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// Judged and found wrong; a check that was not evaluated has not failed (and has not
    /// passed either), so it cannot count as a negative control's catch.
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Fail
    }
}
