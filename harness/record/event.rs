//! Run events: the single source of truth of a run. Every other output is rendered from them.

use super::schema::{
    AlarmTransition, CheckResult, Mode, PlannedScenario, Sample, ScenarioSetup, StepAction,
    StepOutcome, TrumpetResult,
};
use crate::expect::{ExpectedAlarmEvent, ExpectedSample};
use crate::protocol::{AlarmKind, Priority};
use crate::scenario::{Expectations, FindingKind, Step};
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
    pub kind: Mode,
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

/// A scenario's verdict, as `record::verdict` decides it and every output names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioVerdict {
    /// Every check passed.
    Passed,
    /// A check failed.
    Failed,
    /// A negative control whose required checks all failed: the defect was caught.
    #[serde(rename = "defect_caught")]
    ControlCaught,
    /// A negative control that its defect slipped through: the checks lack teeth.
    #[serde(rename = "defect_missed")]
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

    /// The word every output shows (closing table, JUnit, summary, reports).
    pub fn label(self) -> &'static str {
        match self {
            ScenarioVerdict::Passed => "PASS",
            ScenarioVerdict::Failed => "FAIL",
            ScenarioVerdict::ControlCaught => "DEFECT CAUGHT",
            ScenarioVerdict::ControlMissed => "DEFECT MISSED",
            ScenarioVerdict::Incomplete => "INCOMPLETE",
            ScenarioVerdict::Error => "ERROR",
        }
    }
}

// Events are written one at a time; boxing the large variants would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    RunStarted {
        /// `schema::SCHEMA_VERSION` of the writer; a reader refuses any other.
        schema_version: u32,
        run_id: String,
        started_utc: String,
        harness_version: String,
        git_commit: String,
        host: String,
        os: String,
        operator: Option<String>,
        command_line: Vec<String>,
        mode: Mode,
        bench_file: Option<FileRef>,
        seed: u64,
        jobs: usize,
        /// Every scenario the run was given, in the order given.
        scenarios: Vec<PlannedScenario>,
        /// Parameters of the report's CSF estimate.
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
        setup: ScenarioSetup,
        steps: Vec<Step>,
        expectations: Expectations,
        /// Expected trace rows (from the fixture, thinned to `thin::PLOT_POINTS`), so the
        /// record alone renders the report.
        expected_samples: Vec<ExpectedSample>,
        expected_alarms: Vec<ExpectedAlarmEvent>,
    },
    StepApplied {
        scenario: String,
        t_ms: u64,
        index: usize,
        action: StepAction,
        outcome: StepOutcome,
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
        alarm: AlarmKind,
        priority: Priority,
        transition: AlarmTransition,
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
        kind: FindingKind,
        t_ms: u64,
        detail: String,
    },
    Check {
        scenario: String,
        #[serde(flatten)]
        result: CheckResult,
    },
    /// The `[analysis.trumpet]` curve of a scenario that asked for one (before its checks).
    Trumpet {
        scenario: String,
        #[serde(flatten)]
        result: TrumpetResult,
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
            | RunEvent::Trumpet { scenario, .. }
            | RunEvent::ScenarioFinished { scenario, .. } => Some(scenario),
            RunEvent::Deviation { scenario, .. } => scenario.as_deref(),
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        }
    }
}
