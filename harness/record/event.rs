//! Run events: the single source of truth of a run. Every other output is rendered from them.

use super::schema::{
    AlarmTransition, BolusRow, CheckResult, Confirmation, DeviceLink, Mode, Partition,
    PlannedScenario, Sample, SampleBlock, ScenarioSetup, StepAction, StepOutcome, TimeBase,
    TrumpetResult,
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
    /// Whose clock the scenario ran on.
    pub time_base: TimeBase,
    /// How the device was reached: through its port, or over an in-memory link.
    #[serde(default)]
    pub link: DeviceLink,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceInfo {
    pub identity: String,
    pub port: String,
    pub density_g_per_ml: f64,
    pub readability_mg: f64,
    pub calibration_due: Option<String>,
    /// What the balance answered to `I2` and `I4` (a bench balance; null for the emulator's).
    pub answered: Option<BalanceAnswer>,
}

/// The balance's own statement of its type, capacity and serial number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceAnswer {
    pub model: String,
    pub capacity: String,
    pub serial_number: String,
}

/// The bench as measured before the scenario: station, round trips, USB adapter latency timers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestSystem {
    /// The bench file's `station`.
    pub station: String,
    pub pump_round_trip: Option<RoundTrip>,
    pub balance_round_trip: Option<RoundTrip>,
    /// The USB-serial adapter's latency timer (ms), where sysfs shows it.
    pub pump_latency_timer_ms: Option<u32>,
    pub balance_latency_timer_ms: Option<u32>,
    /// The bench file that ran the scenario (a run with several `--bench` files spreads its
    /// scenarios over them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bench_file: Option<FileRef>,
    /// Each attempt's wait for the pump's answer: the protocol's 250 ms, or `TIMEOUT_FACTOR` x
    /// the measured p99 round trip when that is longer (docs/protocol.md 6.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pump_timeout_ms: Option<u64>,
    /// The wait for each balance reply: 1 s, or the same multiple of its p99 when longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_timeout_ms: Option<u64>,
}

/// Request-to-answer times measured over a number of requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundTrip {
    pub requests: u32,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A run a merged run was made of (`pumphil merge`): where its directory is kept verbatim
/// inside the merged one, and its provenance as its own record states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedPart {
    /// Its directory, relative to the merged run directory (`parts/<K>`).
    pub dir: String,
    pub run_id: String,
    pub partition: Partition,
    pub started_utc: String,
    /// Its `run_finished` time, or null when its record has none.
    pub finished_utc: Option<String>,
    pub host: String,
    pub os: String,
    pub operator: Option<String>,
    pub harness_version: String,
    pub git_commit: String,
    pub mode: Mode,
    pub bench_file: Option<FileRef>,
    pub seed: u64,
    /// Lines of its `events.jsonl`, the SHA-256 of its last line (its chain head) and of the
    /// whole file.
    pub records: u64,
    pub chain_head: String,
    pub events_sha256: String,
    /// SHA-256 of its `MANIFEST.sha256`.
    pub manifest_sha256: String,
    /// Fingerprints of the station keys that signed its record (empty: unsigned).
    pub station_keys: Vec<String>,
    /// Ids of the scenarios it ran, in its order.
    pub scenarios: Vec<String>,
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
        /// The requirements file the scenarios trace to (path, SHA-256 and its parsed hazards,
        /// risk controls and requirements), so the report traces from the record alone; None
        /// when the run had none.
        requirements: Option<crate::scenario::requirements::Requirements>,
        /// The share of a whole set of scenarios this run ran (`run --partition K/N`), or null.
        #[serde(default)]
        partition: Option<Partition>,
        /// The runs a merged run was made of (`pumphil merge`), in partition order; empty for a
        /// run that ran its scenarios itself.
        #[serde(default)]
        parts: Vec<MergedPart>,
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
        /// A bench's station and measured links; null on the built-in emulator.
        test_system: Option<TestSystem>,
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
    /// An operator step is waiting for the operator (real time) — what is being waited for.
    OperatorWaiting {
        scenario: String,
        t_ms: u64,
        index: usize,
        instruction: String,
        timeout_ms: u64,
    },
    /// An operator step done: who confirmed what, and when (host and device time).
    OperatorConfirmed {
        scenario: String,
        t_ms: u64,
        index: usize,
        instruction: String,
        confirmation: Confirmation,
        host_utc: String,
        device_time_ms: u64,
    },
    Sample {
        scenario: String,
        #[serde(flatten)]
        sample: Sample,
    },
    /// Samples as the record holds them: a block of the scenario's side file (`Journal` writes
    /// it in place of the `Sample`s appended; `journal::Reader` turns it back into them).
    SampleBlock {
        scenario: String,
        #[serde(flatten)]
        block: SampleBlock,
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
    /// Every bolus and programmed rate change judged by `bolus-volume` (before its checks).
    BolusVolumes {
        scenario: String,
        rows: Vec<BolusRow>,
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
    /// The station key's signature of the chain head (the hash of the line before this one),
    /// written after each scenario's end and after the run's end (`run --sign-key`).
    ChainSignature {
        /// The scenario whose end is signed, or null for the run's end.
        scenario: Option<String>,
        /// The chain head signed: equal to this line's `prev`.
        head: String,
        public_key: String,
        fingerprint: String,
        /// Ed25519 over `signing::chain_message` (hex).
        signature: String,
    },
    /// A person's electronic signature (21 CFR 11.50), linked to the chain head (11.70).
    ElectronicSignature {
        /// The signer's printed name.
        name: String,
        role: SignatureRole,
        /// What the signature means, in the signer's words.
        meaning: String,
        signed_utc: String,
        /// The chain head signed: equal to this line's `prev`.
        head: String,
        public_key: String,
        fingerprint: String,
        /// Ed25519 over `signing::electronic_message` (hex).
        signature: String,
    },
}

/// What an electronic signature attests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureRole {
    Prepared,
    Reviewed,
    Approved,
}

impl SignatureRole {
    pub const ALL: [SignatureRole; 3] = [
        SignatureRole::Prepared,
        SignatureRole::Reviewed,
        SignatureRole::Approved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SignatureRole::Prepared => "prepared",
            SignatureRole::Reviewed => "reviewed",
            SignatureRole::Approved => "approved",
        }
    }

    /// The signature block's heading.
    pub fn heading(self) -> &'static str {
        match self {
            SignatureRole::Prepared => "Prepared by",
            SignatureRole::Reviewed => "Reviewed by",
            SignatureRole::Approved => "Approved by",
        }
    }
}

impl RunEvent {
    pub fn scenario(&self) -> Option<&str> {
        match self {
            RunEvent::ScenarioStarted { scenario, .. }
            | RunEvent::StepApplied { scenario, .. }
            | RunEvent::OperatorWaiting { scenario, .. }
            | RunEvent::OperatorConfirmed { scenario, .. }
            | RunEvent::Sample { scenario, .. }
            | RunEvent::SampleBlock { scenario, .. }
            | RunEvent::Alarm { scenario, .. }
            | RunEvent::Finding { scenario, .. }
            | RunEvent::Check { scenario, .. }
            | RunEvent::Trumpet { scenario, .. }
            | RunEvent::BolusVolumes { scenario, .. }
            | RunEvent::ScenarioFinished { scenario, .. } => Some(scenario),
            RunEvent::Deviation { scenario, .. } => scenario.as_deref(),
            RunEvent::RunStarted { .. }
            | RunEvent::RunFinished { .. }
            | RunEvent::ChainSignature { .. }
            | RunEvent::ElectronicSignature { .. } => None,
        }
    }
}
