//! The scenario file exactly as written: serde structs with spans, checked later into `model`.

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub id: S<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub requirements: S<Vec<S<String>>>,
    pub hazard: String,
    pub negative_control: Option<S<RawNegativeControl>>,
    pub device: RawDevice,
    pub defects: Option<S<toml::Table>>,
    #[serde(default)]
    pub bench: RawBench,
    pub timing: RawTiming,
    #[serde(default)]
    pub tolerance: RawTolerance,
    #[serde(default, rename = "step")]
    pub steps: Vec<S<RawStep>>,
    #[serde(default)]
    pub expect: RawExpect,
    #[serde(default)]
    pub analysis: RawAnalysis,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNegativeControl {
    /// Checks that must fail for this control to have caught its defect.
    pub must_fail: S<Vec<S<String>>>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub reservoir_ml: S<i64>,
    pub initial_fill_ml: S<f64>,
    pub concentration_ug_per_ml: S<i64>,
    pub low_reservoir_threshold_ml: Option<S<f64>>,
    pub battery_permille: Option<S<i64>>,
    pub stroke_ul: Option<S<f64>>,
    pub battery_life_days: Option<S<i64>>,
    pub eri_threshold_permille: Option<S<i64>>,
    pub eos_after_eri_days: Option<S<i64>>,
    /// "spinal" (default), "cerebral" or "child": which label titration limits apply.
    pub patient_group: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBench {
    pub balance: Option<bool>,
    pub density_g_per_ml: Option<S<f64>>,
    pub temperature_c: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTiming {
    pub end: S<String>,
    pub sample_every: S<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTolerance {
    pub volume_relative: Option<S<f64>>,
    pub volume_absolute_ul: Option<S<f64>>,
    pub alarm: Option<S<String>>,
    /// `"simple"` (default) or `"guarded"` acceptance for the gravimetric checks.
    pub decision_rule: Option<S<String>>,
    /// Guarded acceptance's guard band, µL; default: the result's expanded uncertainty U.
    pub guard_band_ul: Option<S<f64>>,
    pub clock_drift_percent: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: S<String>,
    pub name: Option<S<String>>,
    pub program: Option<S<RawProgram>>,
    pub bolus: Option<S<RawBolus>>,
    pub refill: Option<S<RawRefill>>,
    pub inject: Option<S<RawFault>>,
    pub clear: Option<S<String>>,
    pub acknowledge: Option<S<String>>,
    pub silence: Option<S<String>>,
    pub stop: Option<S<bool>>,
    pub resume: Option<S<bool>>,
    pub set_threshold_ml: Option<S<f64>>,
    /// Something a person does at the bench: a text, or { text, emulate }.
    pub operator: Option<S<toml::Value>>,
    /// How long an operator step waits for confirmation.
    pub timeout: Option<S<String>>,
    /// Marks a deliberate out-of-label-range program (a test of the device's own limits).
    #[serde(default)]
    pub out_of_range_test: bool,
    /// The NACK code the device is expected to answer this step with (snake case).
    pub refused: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProgram {
    pub continuous_ug_per_day: Option<S<i64>>,
    pub flexible: Option<S<Vec<S<RawFlexStep>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlexStep {
    /// Time of day, "HH:MM".
    pub start: S<String>,
    pub ug_per_day: S<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBolus {
    pub dose_ug: S<i64>,
    pub duration: S<String>,
    #[serde(default)]
    pub bridge: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRefill {
    pub volume_ml: S<f64>,
    pub concentration_ug_per_ml: S<i64>,
    /// What physically enters the reservoir (pocket-fill tests); the rest goes to the pocket.
    pub actual_ml: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub fault: S<String>,
    pub permille: Option<S<i64>>,
    pub percent: Option<S<f64>>,
    pub volume_ml: Option<S<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    #[serde(default)]
    pub alarm: Vec<S<RawExpectedAlarm>>,
    #[serde(default)]
    pub forbid: Vec<S<RawForbid>>,
    #[serde(default)]
    pub finding: Vec<S<RawFinding>>,
    #[serde(default)]
    pub volume: RawVolumeExpect,
    #[serde(default)]
    pub discrepancy: RawDiscrepancy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpectedAlarm {
    pub alarm: S<String>,
    pub priority: S<String>,
    pub raised: S<RawWindow>,
    /// Absent: the alarm must stay active to the scenario's end.
    pub cleared: Option<S<RawWindow>>,
}

/// A window of device time: `at` ± the alarm tolerance, `earliest`..`latest`, or
/// `after_step` + `within` (a latency bound after a named step).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub at: Option<S<String>>,
    pub earliest: Option<S<String>>,
    pub latest: Option<S<String>>,
    pub after_step: Option<S<String>>,
    pub within: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForbid {
    /// Alarm names, or "any".
    pub alarms: Vec<S<String>>,
    pub from: S<String>,
    pub to: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFinding {
    pub kind: S<String>,
    pub earliest: S<String>,
    pub latest: S<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVolumeExpect {
    pub delivered: Option<bool>,
    pub calculated: Option<bool>,
    pub tip: Option<bool>,
    /// The bench plant's actual reservoir volume against the expected trace (needs ReadPlant).
    pub actual: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscrepancy {
    pub window: Option<S<String>>,
    pub under_ratio: Option<S<f64>>,
    pub over_ratio: Option<S<f64>>,
    pub min_strokes: Option<S<i64>>,
    pub stopped_ratio: Option<S<f64>>,
}

/// `[analysis]`: analyses of the balance trace beyond the per-sample checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub trumpet: Option<S<RawTrumpet>>,
}

/// `[analysis.trumpet]`: the trumpet-curve flow-accuracy analysis (docs/metrology.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrumpet {
    pub from: S<String>,
    pub to: S<String>,
    /// Observation windows, minutes.
    pub windows: Option<S<Vec<S<f64>>>>,
    pub min_strokes: Option<S<i64>>,
    /// Limit on Ep(max): no window may read more than this, percent.
    pub ep_max_percent: Option<S<f64>>,
    /// Limit on Ep(min): no window may read less than this, percent.
    pub ep_min_percent: Option<S<f64>>,
    /// Limit on |A|, percent.
    pub mean_error_percent: Option<S<f64>>,
}
