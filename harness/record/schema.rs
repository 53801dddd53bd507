//! The run record's data types below the events: samples, check results and the typed values
//! events carry. The checks build `Sample`s and `CheckResult`s from these types, so this module
//! imports only the layers below the checks (protocol, scenario, expect); `docs/record.md`
//! describes every field.

use crate::protocol::{AlarmKind, FaultKind, NackCode, TherapyState};
use crate::scenario::{Action, BenchNeeds, DeviceSetup, Tolerances};
use serde::{Deserialize, Serialize};

/// The version of the record's schema, written in `run_started`. A record of another version is
/// refused when read: change it whenever a record type changes shape (docs/record.md).
pub const SCHEMA_VERSION: u32 = 5;

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

/// How the harness reached a scenario's devices: through their ports (a bench's serial device
/// or network serial server; the built-in emulator's pseudo-terminals), or over an in-memory
/// link to the in-process emulator (`run --link memory`, for long soaks), where no byte crosses
/// a serial path. Records written before it was recorded reached them through their ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceLink {
    #[default]
    Port,
    InMemory,
}

impl DeviceLink {
    pub fn name(self) -> &'static str {
        match self {
            DeviceLink::Port => "port",
            DeviceLink::InMemory => "in-memory",
        }
    }

    /// How every output describes it: an in-memory run says it is not evidence over a serial
    /// line, so nobody files it as such.
    pub fn describe(self, kind: Mode) -> &'static str {
        match (self, kind) {
            (DeviceLink::InMemory, _) => "in-memory link (not a serial path)",
            (DeviceLink::Port, Mode::Emulator) => "pseudo-terminals (a serial path)",
            (DeviceLink::Port, Mode::Bench) => "the bench's ports",
        }
    }
}

/// Whose clock a scenario ran on: the harness advancing the device's clock (AdvanceTime), or
/// the device's own clock in real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBase {
    Virtual,
    Real,
}

impl TimeBase {
    pub fn name(self) -> &'static str {
        match self {
            TimeBase::Virtual => "virtual",
            TimeBase::Real => "real",
        }
    }

    /// How the report describes it.
    pub fn describe(self) -> &'static str {
        match self {
            TimeBase::Virtual => "virtual (the harness advances the device clock with AdvanceTime)",
            TimeBase::Real => "real (the device's own clock, waited for)",
        }
    }
}

/// How an operator step was confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Confirmation {
    /// The operator typed their initials on the terminal.
    Operator { initials: String },
    /// No one was asked (virtual time, no test-mode equivalent named): confirmed by the harness.
    Automatic,
    /// The step's test-mode equivalent was sent instead (virtual time).
    Emulated { outcome: StepOutcome },
}

impl std::fmt::Display for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Confirmation::Operator { initials } => write!(f, "confirmed by {initials}"),
            Confirmation::Automatic => f.write_str("confirmed automatically (virtual time)"),
            Confirmation::Emulated { outcome } => {
                write!(f, "test-mode equivalent sent (virtual time): {outcome}")
            }
        }
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

/// Which share of which whole set of scenarios a `run --partition K/N` ran, so that
/// `pumphil merge` can check its parts are of one set and cover it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// K, from 1.
    pub index: usize,
    /// N.
    pub count: usize,
    /// Scenarios in the whole set.
    pub set_size: usize,
    /// SHA-256 of the whole set: `<id>  <file SHA-256>\n` per scenario, sorted by id.
    pub set_sha256: String,
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

/// Where a block of a scenario's samples is in its side file (`traces/<stem>.csv`), and what
/// its bytes hash to: the record's hash chain covers every sample byte through `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleBlock {
    /// The side file, relative to the run directory (`/`-separated).
    pub file: String,
    /// The block's first byte in the file, and its length in bytes (whole lines).
    pub offset: u64,
    pub length: u64,
    /// The file's line number of the block's first sample (1 is the header).
    pub first_line: u64,
    /// Samples (lines) in the block.
    pub count: u64,
    pub first_t_ms: u64,
    pub last_t_ms: u64,
    /// SHA-256 of exactly the block's bytes, hex.
    pub sha256: String,
    /// Four hex digits a line (its 16-bit tag, `record::sample_csv::line_tag`): they only
    /// locate an edited line; `sha256` is what proves the block intact.
    pub line_tags: String,
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
    /// Nothing could be judged: no flow window was long enough, or what the check needs was
    /// not available (a device that does not answer ReadPlant). Never a pass, never a failure.
    NotEvaluated,
    /// Guarded acceptance: the value's interval (± the guard band) straddles a limit, so the
    /// evidence neither accepts nor rejects. Never a pass, never a negative control's catch.
    Inconclusive,
}

impl Verdict {
    /// The word every output shows.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotEvaluated => "NOT EVALUATED",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// A gravimetric result's expanded uncertainty, its budget and the decision rule applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckUncertainty {
    /// The measured quantity the budget is for, in words (the headline judgement).
    pub quantity: String,
    /// Expanded uncertainty U, in the check's `unit`.
    pub expanded: f64,
    pub coverage_factor: f64,
    /// Combined standard uncertainty u_c, in the check's `unit`.
    pub combined: f64,
    pub terms: Vec<UncertaintyTerm>,
    /// The decision rule as the report states it.
    pub decision_rule: String,
    /// Guard band w on each limit, in the check's `unit` (0 for simple acceptance).
    pub guard_band: f64,
    /// Largest probability that a PASS is false, percent.
    pub false_accept_percent: f64,
    /// The unit of `expanded`, `combined`, the terms and the guard band when it is not the
    /// check's own (a flow check is timed in s, its budget is in µL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Further gravimetric results of the check with their own expanded uncertainty (the
    /// worst total, interval and segment of tip-volume; the flow windows nearest the limits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<UncertainResult>,
}

/// One gravimetric result with its expanded uncertainty (k = 2) and the rule's decision on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UncertainResult {
    /// What was measured, in words, with its span.
    pub quantity: String,
    pub expected: f64,
    pub measured: f64,
    /// Half-width of the tolerance, same unit.
    pub tolerance: f64,
    /// Expanded uncertainty U of `measured`, same unit.
    pub expanded: f64,
    pub unit: String,
    pub verdict: Verdict,
}

/// One term of an uncertainty budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UncertaintyTerm {
    pub name: String,
    pub basis: String,
    /// Standard uncertainty, in the check's `unit`.
    pub standard: f64,
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
    /// The expanded uncertainty and decision rule of a gravimetric check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<CheckUncertainty>,
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

    pub fn not_evaluated(&self) -> bool {
        self.verdict == Verdict::NotEvaluated
    }
    /// Judged under guarded acceptance with the value's interval straddling a limit.
    pub fn inconclusive(&self) -> bool {
        self.verdict == Verdict::Inconclusive
    }
}

/// What a `bolus-volume` row judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BolusKind {
    Bolus,
    BridgeBolus,
    RateChange,
}

impl BolusKind {
    pub fn label(self) -> &'static str {
        match self {
            BolusKind::Bolus => "bolus",
            BolusKind::BridgeBolus => "bridge bolus",
            BolusKind::RateChange => "rate change",
        }
    }
}

/// One bolus or programmed rate change: the volume the balance measured over its window
/// against the programmed one (checks/bolus.rs; the report's bolus table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BolusRow {
    pub kind: BolusKind,
    /// When the bolus or change was made, scenario time.
    pub at_ms: u64,
    /// What was programmed, in words ("50 ug at 500 ug/mL over 30m", "to 300 ug/day").
    pub programmed: String,
    /// The balance samples the window runs between (None: no such sample).
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    /// The programmed volume: the bolus's, or the expected increment after a rate change, µL.
    pub programmed_ul: f64,
    /// Expected basal delivery over the window, subtracted from the measurement, µL.
    pub background_ul: f64,
    /// Measured at the tip over the window minus the background, µL.
    pub measured_ul: Option<f64>,
    /// Half-width of the tolerance, µL.
    pub tolerance_ul: f64,
    /// Expanded uncertainty (k = 2) of the measured volume, µL.
    pub expanded_ul: Option<f64>,
    pub verdict: Verdict,
}

impl BolusRow {
    /// The error in per cent of the programmed volume.
    pub fn error_percent(&self) -> Option<f64> {
        let m = self.measured_ul?;
        (self.programmed_ul.abs() > 0.0)
            .then(|| 100.0 * (m - self.programmed_ul) / self.programmed_ul)
    }
}

/// Why a trumpet window differs from the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrumpetScaling {
    /// As asked (already a whole number of samples, enough strokes).
    None,
    /// Rounded up to a whole number of sample intervals.
    Sampling,
    /// Lengthened to hold `min_strokes` strokes at the programmed rate.
    Strokes,
}

/// One point of the trumpet curve (checks/trumpet.rs computes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrumpetWindow {
    /// The window asked for, minutes.
    pub nominal_min: f64,
    /// The window used, minutes.
    pub window_min: f64,
    pub scaling: TrumpetScaling,
    /// Strokes the used window holds at the programmed rate.
    pub strokes: f64,
    /// How many windows fitted and had both end samples; 0 leaves Ep undefined.
    pub count: usize,
    pub ep_max_percent: Option<f64>,
    pub ep_min_percent: Option<f64>,
}

/// A scenario's `[analysis.trumpet]` result, recorded whether or not limits make it a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrumpetResult {
    /// Analysis period, scenario time.
    pub from_ms: u64,
    pub to_ms: u64,
    /// Programmed rate r the errors are relative to, mL/h.
    pub rate_ml_per_h: f64,
    pub sample_ms: u64,
    /// Fewest strokes a window was allowed to hold before it was lengthened.
    pub min_strokes: u32,
    /// Balance readings found in the period.
    pub samples: usize,
    /// A: the error of the mean flow over the whole period, percent (null without both ends).
    pub mean_error_percent: Option<f64>,
    pub windows: Vec<TrumpetWindow>,
    /// The `flow-accuracy` limits, percent, when the scenario gives them.
    pub limit_ep_max_percent: Option<f64>,
    pub limit_ep_min_percent: Option<f64>,
    pub limit_mean_error_percent: Option<f64>,
}
