//! Run events: the single source of truth of a run. Every other output is rendered from them.

use crate::checks::CheckResult;
use serde::{Deserialize, Serialize};

/// A file used by the run, with its hash (scenario, fixture, bench file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub model: String,
    pub serial_number: String,
    pub firmware_version: String,
    pub protocol_version: u8,
    pub reservoir_capacity_nl: u64,
    pub test_unit: bool,
    /// "emulator" or "bench".
    pub kind: String,
    pub port: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceInfo {
    pub identity: String,
    pub port: String,
    pub density_g_per_ml: f64,
    pub readability_mg: f64,
    pub calibration_due: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioVerdict {
    /// Every check passed.
    Passed,
    /// A check failed.
    Failed,
    /// A negative control whose required checks all failed: the defect was caught.
    ControlCaught,
    /// A negative control that its defect slipped through: the checks lack teeth.
    ControlMissed,
    /// The scenario did not run to its end (device lost, interrupted); its checks are not judged.
    Incomplete,
    /// The scenario could not start (bad file, missing fixture, refused by an interlock).
    Error,
}

impl ScenarioVerdict {
    pub fn is_success(self) -> bool {
        matches!(
            self,
            ScenarioVerdict::Passed | ScenarioVerdict::ControlCaught
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            ScenarioVerdict::Passed => "PASS",
            ScenarioVerdict::Failed => "FAIL",
            ScenarioVerdict::ControlCaught => "CONTROL OK",
            ScenarioVerdict::ControlMissed => "CONTROL MISSED",
            ScenarioVerdict::Incomplete => "INCOMPLETE",
            ScenarioVerdict::Error => "ERROR",
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
    pub therapy_state: String,
    pub battery_permille: u16,
    pub elective_replacement: bool,
    pub end_of_service: bool,
    pub active_alarms: Vec<String>,
    /// Net balance reading in grams, when a balance is present.
    pub balance_g: Option<f64>,
    pub balance_stable: Option<bool>,
    /// Balance reading converted to volume: grams / density.
    pub tip_nl: Option<u64>,
    /// Bench plant (test units only).
    pub actual_reservoir_nl: Option<u64>,
    pub pocket_nl: Option<u64>,
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
            therapy_state: "running".into(),
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

// Events are written one at a time; boxing the large variants would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    RunStarted {
        run_id: String,
        started_utc: String,
        harness_version: String,
        git_commit: String,
        host: String,
        os: String,
        operator: Option<String>,
        command_line: Vec<String>,
        /// "emulator" or "bench".
        mode: String,
        bench_file: Option<FileRef>,
        seed: u64,
        jobs: usize,
        scenarios: Vec<FileRef>,
        /// Parameters of the report's CSF estimate (records made before they were recorded
        /// read as the label's defaults).
        #[serde(default)]
        csf: crate::expect::csf::CsfParams,
    },
    ScenarioStarted {
        scenario: String,
        title: String,
        description: String,
        requirements: Vec<String>,
        hazard: String,
        negative_control: Option<crate::scenario::NegativeControl>,
        file: FileRef,
        fixtures: Vec<FileRef>,
        device: DeviceInfo,
        balance: Option<BalanceInfo>,
        end_ms: u64,
        sample_ms: u64,
        setup: serde_json::Value,
        steps: serde_json::Value,
        expectations: serde_json::Value,
        /// Expected trace rows (from the fixture), so the record alone renders the report.
        expected_samples: serde_json::Value,
        expected_alarms: serde_json::Value,
    },
    StepApplied {
        scenario: String,
        t_ms: u64,
        index: usize,
        action: serde_json::Value,
        outcome: String,
    },
    Sample {
        scenario: String,
        #[serde(flatten)]
        sample: Sample,
    },
    Alarm {
        scenario: String,
        t_ms: u64,
        device_time_ms: u64,
        alarm: String,
        priority: String,
        /// "raised" or "cleared".
        transition: String,
        event_seq: u16,
    },
    Deviation {
        scenario: Option<String>,
        t_ms: Option<u64>,
        kind: String,
        detail: String,
    },
    Finding {
        scenario: String,
        kind: String,
        t_ms: u64,
        detail: String,
    },
    Check {
        scenario: String,
        #[serde(flatten)]
        result: CheckResult,
    },
    ScenarioFinished {
        scenario: String,
        verdict: ScenarioVerdict,
        failed_checks: Vec<String>,
        reason: Option<String>,
        wall_ms: u64,
    },
    RunFinished {
        finished_utc: String,
        exit_code: u8,
        passed: usize,
        failed: usize,
        incomplete: usize,
        errors: usize,
    },
}

impl RunEvent {
    pub fn scenario(&self) -> Option<&str> {
        match self {
            RunEvent::ScenarioStarted { scenario, .. }
            | RunEvent::StepApplied { scenario, .. }
            | RunEvent::Sample { scenario, .. }
            | RunEvent::Alarm { scenario, .. }
            | RunEvent::Finding { scenario, .. }
            | RunEvent::Check { scenario, .. }
            | RunEvent::ScenarioFinished { scenario, .. } => Some(scenario),
            RunEvent::Deviation { scenario, .. } => scenario.as_deref(),
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        }
    }
}
