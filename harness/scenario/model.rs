//! The checked scenario: what the runner, the reference calculator and the checks consume.

use crate::emulator::config::Defects;
use crate::protocol::{AlarmKind, FaultKind, FlexStep, NackCode, Priority};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A scenario that has passed every check in `check/`.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub path: PathBuf,
    /// SHA-256 of the file as read, for the run record.
    pub sha256: String,
    pub id: String,
    pub title: String,
    pub description: String,
    pub requirements: Vec<String>,
    /// Where each of `requirements` is written in the file (for errors about unknown ids).
    #[serde(skip)]
    pub requirement_spans: Vec<std::ops::Range<usize>>,
    pub hazard: String,
    pub negative_control: Option<NegativeControl>,
    pub device: DeviceSetup,
    /// Emulator defect knobs (a negative control sets them). The type is the emulator's: the
    /// emulator is below the scenario layer, so the scenario parses into it and the emulator
    /// consumes it without knowing scenario files exist.
    pub defects: Option<Defects>,
    pub bench: BenchNeeds,
    pub end_ms: u64,
    pub sample_ms: u64,
    pub tolerance: Tolerances,
    pub steps: Vec<Step>,
    pub expect: Expectations,
    pub analysis: Analysis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NegativeControl {
    pub must_fail: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSetup {
    pub reservoir_ml: u32,
    pub initial_fill_nl: u64,
    pub concentration_ug_per_ml: u32,
    pub low_reservoir_threshold_nl: u64,
    pub battery_permille: Option<u16>,
    pub stroke_nl: u64,
    /// Battery model (docs/emulator.md): linear drain over `battery_life_days` from full,
    /// ERI at `eri_threshold_permille`, EOS `eos_after_eri_days` after ERI.
    pub battery_life_days: u32,
    pub eri_threshold_permille: u16,
    pub eos_after_eri_days: u32,
    /// Whose label titration limits the scenario's programs respect.
    pub patient_group: PatientGroup,
}

/// The label's titration limits differ by patient group (domain.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientGroup {
    /// Spasticity of spinal origin: +10-30 % per 24 h, +10-40 % at a refill.
    #[default]
    Spinal,
    /// Spasticity of cerebral origin: +5-15 % per 24 h, +5-20 % at a refill.
    Cerebral,
    /// Children: as cerebral origin.
    Child,
}

impl PatientGroup {
    pub const ALL: [PatientGroup; 3] = [
        PatientGroup::Spinal,
        PatientGroup::Cerebral,
        PatientGroup::Child,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PatientGroup::Spinal => "spinal",
            PatientGroup::Cerebral => "cerebral",
            PatientGroup::Child => "child",
        }
    }

    pub fn from_name(text: &str) -> Option<PatientGroup> {
        Self::ALL.into_iter().find(|g| g.name() == text)
    }

    /// The largest rise of the daily total the label allows in 24 h, as a fraction.
    pub fn max_rise(self, at_refill: bool) -> f64 {
        match (self, at_refill) {
            (PatientGroup::Spinal, false) => 0.30,
            (PatientGroup::Spinal, true) => 0.40,
            (_, false) => 0.15,
            (_, true) => 0.20,
        }
    }
}

/// The deepest cut of the daily total the label describes (10-20 % for side effects); deeper
/// cuts risk withdrawal and need `out_of_range_test`.
pub const MAX_CUT: f64 = 0.20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchNeeds {
    pub balance: bool,
    pub density_g_per_ml: f64,
    /// The fluid's temperature for the uncertainty budget, °C (`[bench] temperature_c`); a
    /// bench file's own wins, 22 °C when neither declares one (docs/metrology.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    pub volume_relative: f64,
    pub volume_absolute_nl: u64,
    pub alarm_ms: u64,
    /// How the gravimetric checks decide from a value and its uncertainty (`[tolerance]`
    /// `decision_rule`, docs/metrology.md).
    #[serde(default)]
    pub decision_rule: AcceptanceRule,
    /// How far the device clock may run from the host clock on a real-time bench, percent
    /// (`clock-drift`); 0.1 by default.
    #[serde(default = "default_clock_drift_percent")]
    pub clock_drift_percent: f64,
}

pub const DEFAULT_CLOCK_DRIFT_PERCENT: f64 = 0.1;

fn default_clock_drift_percent() -> f64 {
    DEFAULT_CLOCK_DRIFT_PERCENT
}

/// The decision rule a scenario asks for (ILAC G8); `expect::decision` applies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AcceptanceRule {
    /// Simple acceptance: PASS inside the limits, whatever the uncertainty.
    #[default]
    Simple,
    /// Guarded acceptance: INCONCLUSIVE when the value ± the guard band straddles a limit.
    Guarded {
        /// A fixed guard band, µL; None takes the result's expanded uncertainty U.
        guard_band_ul: Option<f64>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at_ms: u64,
    pub name: Option<String>,
    pub action: Action,
    pub out_of_range_test: bool,
    /// The device is expected to refuse this step with this code (`refused = "..."`): the
    /// step then changes nothing, and `steps-accepted` fails if the device takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<NackCode>,
    /// 1-based line in the scenario file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    ProgramContinuous {
        dose_ug_per_day: u32,
    },
    ProgramFlexible {
        steps: Vec<FlexStepSpec>,
    },
    Bolus {
        dose_ug: u32,
        duration_ms: u64,
        bridge: bool,
    },
    Refill {
        volume_nl: u64,
        concentration_ug_per_ml: u32,
        actual_nl: Option<u64>,
    },
    Inject {
        fault: FaultSpec,
    },
    Clear {
        fault: FaultKind,
    },
    Acknowledge {
        alarm: AlarmKind,
    },
    Silence {
        alarm: AlarmKind,
    },
    Stop,
    Resume,
    SetThreshold {
        threshold_nl: u64,
    },
    /// Something only a person can do on a real bench (pull the catheter, refill by hand):
    /// shown to the operator, who confirms it with their initials within `timeout_ms`. In
    /// virtual time the `emulate` action is sent instead, or the step is confirmed
    /// automatically.
    Operator {
        text: String,
        timeout_ms: u64,
        emulate: Option<Box<Action>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlexStepSpec {
    pub start_minute: u16,
    pub dose_ug_per_day: u32,
}

impl Action {
    /// What the step does to the pump: an operator step's test-mode equivalent when it names
    /// one (a disconnect pulled by hand is still a disconnect), otherwise the action itself.
    pub fn effect(&self) -> &Action {
        match self {
            Action::Operator {
                emulate: Some(action),
                ..
            } => action,
            other => other,
        }
    }

    /// The daily total of a program in µg/day: a flexible schedule's steps each run from their
    /// start to the next step's start, the last one wrapping past midnight to the first.
    pub fn daily_total_ug(&self) -> Option<f64> {
        match self {
            Action::ProgramContinuous { dose_ug_per_day } => Some(f64::from(*dose_ug_per_day)),
            Action::ProgramFlexible { steps } => {
                let minutes_per_day = 1440.0;
                let total = steps
                    .iter()
                    .enumerate()
                    .map(|(i, step)| {
                        let next = steps
                            .get(i + 1)
                            .map(|n| f64::from(n.start_minute))
                            .unwrap_or(f64::from(steps[0].start_minute) + minutes_per_day);
                        f64::from(step.dose_ug_per_day) * (next - f64::from(step.start_minute))
                    })
                    .sum::<f64>();
                Some(total / minutes_per_day)
            }
            _ => None,
        }
    }
}

impl From<FlexStepSpec> for FlexStep {
    fn from(step: FlexStepSpec) -> FlexStep {
        FlexStep {
            start_minute: step.start_minute,
            dose_ug_per_day: step.dose_ug_per_day,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultSpec {
    CatheterDisconnect,
    CatheterOcclusion,
    MotorStall,
    BatteryCharge { permille: u16 },
    FlowBias { centi_percent: i32 },
}

impl FaultSpec {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultSpec::CatheterDisconnect => FaultKind::CatheterDisconnect,
            FaultSpec::CatheterOcclusion => FaultKind::CatheterOcclusion,
            FaultSpec::MotorStall => FaultKind::MotorStall,
            FaultSpec::BatteryCharge { .. } => FaultKind::BatteryCharge,
            FaultSpec::FlowBias { .. } => FaultKind::FlowBias,
        }
    }
}

/// A span of device time since the scenario's start, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub earliest_ms: u64,
    pub latest_ms: u64,
}

impl Window {
    pub fn contains(&self, t_ms: u64) -> bool {
        (self.earliest_ms..=self.latest_ms).contains(&t_ms)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedAlarm {
    pub alarm: AlarmKind,
    /// 1-based line of the `[[expect.alarm]]` table, for messages.
    pub line: usize,
    pub priority: Priority,
    pub raised: Window,
    /// None: the alarm stays active to the end.
    pub cleared: Option<Window>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForbiddenSpan {
    /// Empty means every alarm.
    pub alarms: Vec<AlarmKind>,
    pub span: Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    UnderInfusion,
    OverInfusion,
    SilentDepletion,
}

impl FindingKind {
    pub const ALL: [FindingKind; 3] = [
        FindingKind::UnderInfusion,
        FindingKind::OverInfusion,
        FindingKind::SilentDepletion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FindingKind::UnderInfusion => "under_infusion",
            FindingKind::OverInfusion => "over_infusion",
            FindingKind::SilentDepletion => "silent_depletion",
        }
    }

    pub fn from_name(text: &str) -> Option<FindingKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == text)
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedFinding {
    pub kind: FindingKind,
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expectations {
    pub alarms: Vec<ExpectedAlarm>,
    pub forbidden: Vec<ForbiddenSpan>,
    pub findings: Vec<ExpectedFinding>,
    pub check_delivered: bool,
    pub check_calculated: bool,
    pub check_tip: bool,
    /// `[expect.volume] actual = true`: the bench plant's actual reservoir volume is judged;
    /// "not evaluated" on a device that does not answer ReadPlant.
    #[serde(default)]
    pub check_actual: bool,
    pub discrepancy: DiscrepancyParams,
}

/// How the harness judges flow from the balance (domain.md: FDA/UPenn GIP defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscrepancyParams {
    /// Shortest observation window; widened until it spans `min_strokes` expected strokes.
    pub window_ms: u64,
    pub under_ratio: f64,
    pub over_ratio: f64,
    /// Pulsatile delivery: a window must hold this many strokes so that one stroke of
    /// quantisation stays well inside the 10 % thresholds (1/20 = 5 %).
    pub min_strokes: u32,
    /// Below this fraction of the expected flow, outflow counts as stopped.
    pub stopped_ratio: f64,
}

/// `[analysis]`: analyses of the balance trace beyond the per-sample checks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analysis {
    pub trumpet: Option<TrumpetSpec>,
}

/// The standard's observation windows for the trumpet curve, minutes (IEC 60601-2-24 method).
pub const STANDARD_TRUMPET_WINDOWS_MIN: [f64; 5] = [2.0, 5.0, 11.0, 19.0, 31.0];
/// Default fewest strokes per trumpet window: one stroke of phase is then at most about 10 %.
pub const DEFAULT_TRUMPET_MIN_STROKES: u32 = 10;

/// `[analysis.trumpet]`, checked: a period of constant programmed rate and its windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrumpetSpec {
    pub from_ms: u64,
    pub to_ms: u64,
    pub windows_min: Vec<f64>,
    pub min_strokes: u32,
    pub limits: TrumpetLimits,
}

/// Acceptance limits of the `flow-accuracy` check; none given, no check (the curve is still
/// computed for the record).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrumpetLimits {
    /// Every window's Ep(max) at most this, percent.
    pub ep_max_percent: Option<f64>,
    /// Every window's Ep(min) at least this, percent.
    pub ep_min_percent: Option<f64>,
    /// |A| at most this, percent.
    pub mean_error_percent: Option<f64>,
}

impl TrumpetLimits {
    pub fn any(&self) -> bool {
        self.ep_max_percent.is_some()
            || self.ep_min_percent.is_some()
            || self.mean_error_percent.is_some()
    }
}

impl Scenario {
    pub fn is_negative_control(&self) -> bool {
        self.negative_control.is_some()
    }

    /// Sample times: every `sample_ms` from 0, and always the end.
    /// Every `sample_ms` from 0, and the end: a year at 30 s is a million of them, so they are
    /// generated, not stored.
    pub fn sample_times(&self) -> impl Iterator<Item = u64> + use<> {
        let (sample_ms, end_ms) = (self.sample_ms.max(1), self.end_ms);
        let regular = (0..=end_ms / sample_ms).map(move |i| i * sample_ms);
        let end = (end_ms % sample_ms != 0).then_some(end_ms);
        regular.chain(end)
    }

    pub fn step_named(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name.as_deref() == Some(name))
    }
}
