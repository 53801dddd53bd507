//! Emulator configuration: device parameters, balance parameters and defect knobs, with defaults.

use crate::protocol::AlarmKind;
use crate::units::{nominal, NL_PER_ML};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Largest stroke the model accepts (100 uL); real accumulators are a few microlitres.
const MAX_STROKE_NL: u64 = 100_000;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("{}: cannot read the emulator config: {source}", path.display())]
    #[diagnostic(code(pumphil::config::read), help("check the path given to --config"))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    #[diagnostic(
        code(pumphil::config::syntax),
        help("see docs/emulator.md for every key, its type and default")
    )]
    Parse { path: PathBuf, message: String },
    #[error("{key} = {value}: {why}")]
    #[diagnostic(
        code(pumphil::config::invalid),
        help("see docs/emulator.md for every key, its range and default")
    )]
    Invalid {
        /// The TOML key (`pump.stroke_nl`) or command-line flag (`--initial-fill-ml`).
        key: &'static str,
        value: String,
        /// What is wrong and what to change.
        why: &'static str,
    },
    #[error("{}: {source}", path.display())]
    #[diagnostic(
        code(pumphil::config::invalid),
        help("see docs/emulator.md for every key, its range and default")
    )]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    pub model: String,
    pub serial_number: String,
    pub firmware_version: String,
    /// A test unit accepts the test-mode messages (advance time, faults, plant state).
    pub test_unit: bool,
    /// Whether ReadPlant is answered. A device without a bench plant (a vendor's firmware
    /// simulator) NACKs it `unknown_message`; the harness then marks the plant checks "not
    /// evaluated" (docs/protocol.md).
    pub answers_read_plant: bool,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            model: "PH-EMU-40".into(),
            serial_number: "EMU-0001".into(),
            firmware_version: format!("emu-{}", crate::VERSION),
            test_unit: true,
            answers_read_plant: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PumpParams {
    pub reservoir_capacity_ml: u32,
    pub initial_fill_nl: u64,
    pub concentration_ug_per_ml: u32,
    pub stroke_nl: u64,
    pub low_reservoir_threshold_nl: u64,
    pub battery_permille: u16,
    pub battery_life_days: u32,
    pub eri_threshold_permille: u16,
    pub eos_after_eri_days: u32,
    pub high_repeat_min: u64,
    pub medium_repeat_min: u64,
    /// 0: low-priority alarms are not repeated.
    pub low_repeat_min: u64,
    pub silence_min: u64,
}

impl Default for PumpParams {
    fn default() -> Self {
        PumpParams {
            reservoir_capacity_ml: 40,
            initial_fill_nl: 0,
            concentration_ug_per_ml: 500,
            stroke_nl: nominal::STROKE_NL,
            low_reservoir_threshold_nl: 2_000_000,
            battery_permille: 1000,
            battery_life_days: 2555,
            eri_threshold_permille: 100,
            eos_after_eri_days: 90,
            high_repeat_min: nominal::HIGH_ALARM_REPEAT_MIN,
            medium_repeat_min: nominal::MEDIUM_ALARM_REPEAT_MIN,
            low_repeat_min: nominal::LOW_ALARM_REPEAT_MIN,
            silence_min: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BalanceParams {
    pub density_g_per_ml: f64,
    pub readability_mg: f64,
    /// Repeatability: standard deviation of the reading noise, mg; 0 for none.
    pub noise_mg: f64,
    pub noise_seed: Option<u64>,
    /// Slow zero drift of the reading, mg per hour of device time (either sign).
    pub drift_mg_per_h: f64,
    /// Mass the vessel loses to evaporation, mg per hour of device time.
    pub evaporation_mg_per_h: f64,
    /// After the mass changes, readings are dynamic (`S D`) for this long.
    pub settle_ms: u64,
    pub capacity_g: f64,
    pub model: String,
    pub serial_number: String,
}

impl Default for BalanceParams {
    fn default() -> Self {
        BalanceParams {
            density_g_per_ml: nominal::SALINE_DENSITY_G_PER_ML,
            readability_mg: nominal::BALANCE_READABILITY_MG,
            noise_mg: 0.0,
            noise_seed: None,
            drift_mg_per_h: 0.0,
            evaporation_mg_per_h: 0.0,
            settle_ms: 0,
            capacity_g: 220.0,
            model: "EMU-BAL".into(),
            serial_number: "BAL-0001".into(),
        }
    }
}

/// Deliberate device defects, for negative controls: each must turn a harness check red.
///
/// A scenario's `[defects]` table parses straight into this type: the knobs are the emulator's,
/// and the emulator sits below the scenario files in the layers, so the scenario model uses the
/// emulator's type and the emulator never reads a scenario. Serialised, only the knobs that are
/// set appear, so a run record shows the defects a scenario injects the way its file wrote them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defects {
    /// Every stroke moves this much more (or less) than the pump counts.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub flow_bias_percent: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub low_reservoir_late_min: u64,
    #[serde(skip_serializing_if = "is_false")]
    pub low_reservoir_suppressed: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub eri_late_hours: u64,
    #[serde(skip_serializing_if = "is_false")]
    pub eos_keeps_delivering: bool,
    /// This alarm is raised one priority too low.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong_priority: Option<AlarmKind>,
    /// A refill leaves the calculated reservoir volume unchanged.
    #[serde(skip_serializing_if = "is_false")]
    pub refill_ignores_calculated: bool,
    /// A stop is acknowledged but delivery goes on (the pump reports it is running).
    #[serde(skip_serializing_if = "is_false")]
    pub stop_ignored: bool,
    /// Every bolus, bridge boluses included, gives this much more (or less) than requested;
    /// the pump counts what it gives.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub bolus_volume_percent: f64,
    /// A motor stall raises its alarm but delivery goes on (the stall is not a halt).
    #[serde(skip_serializing_if = "is_false")]
    pub stall_keeps_delivering: bool,
    /// A bolus requested while another runs is accepted (docs/protocol.md says refused): it
    /// starts at once and gives its own dose on top of what the running one still owed.
    #[serde(skip_serializing_if = "is_false")]
    pub bolus_overlap_accepted: bool,
    /// In real time (`emulate --realtime`), the device clock runs this much fast (negative:
    /// slow) against the wall clock, and the pump delivers on its own clock.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub clock_fast_percent: f64,
    /// Every alarm raise is stamped (event and log entry) this many minutes before it happened.
    #[serde(skip_serializing_if = "is_zero")]
    pub alarm_stamped_early_min: u64,
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    pub identity: IdentityConfig,
    pub pump: PumpParams,
    pub balance: BalanceParams,
    pub defects: Defects,
    /// Faults on the pump port's link (docs/emulator.md, "Link faults").
    pub link: super::link_faults::LinkFaults,
    /// The device clock when serving in real time (docs/emulator.md, "Clock faults").
    pub clock: ClockParams,
}

/// A device clock that misbehaves in real-time serving, for practising the bench's clock
/// watchdog. Virtual time (`AdvanceTime`) is not affected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockParams {
    /// The clock stops at this device time (ms) and never advances again.
    pub stops_at_ms: Option<u64>,
    /// The device time (ms) when serving starts, as for a pump switched on that long before
    /// the host connects; its device day then does not start with the run.
    pub starts_at_ms: u64,
}

impl ClockParams {
    /// The device time a real-time device shows after `elapsed_ms` of wall-clock time.
    pub fn device_time_ms(&self, elapsed_ms: u64) -> u64 {
        let running = self.starts_at_ms.saturating_add(elapsed_ms);
        match self.stops_at_ms {
            Some(stop) => running.min(stop),
            None => running,
        }
    }
}

impl EmulatorConfig {
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config: EmulatorConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|e| ConfigError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(config)
    }

    /// Checks every value the model relies on; the error names the key and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.pump;
        let invalid = |key, value: &dyn ToString, why| {
            Err(ConfigError::Invalid {
                key,
                value: value.to_string(),
                why,
            })
        };
        if p.reservoir_capacity_ml != 20 && p.reservoir_capacity_ml != 40 {
            return invalid(
                "pump.reservoir_capacity_ml",
                &p.reservoir_capacity_ml,
                "pumps hold 20 or 40 mL: set 20 or 40",
            );
        }
        let capacity_nl = u64::from(p.reservoir_capacity_ml) * NL_PER_ML;
        if p.initial_fill_nl > capacity_nl {
            return invalid(
                "pump.initial_fill_nl",
                &p.initial_fill_nl,
                "more than the reservoir holds: at most reservoir_capacity_ml x 1_000_000 nL",
            );
        }
        if p.low_reservoir_threshold_nl > capacity_nl {
            return invalid(
                "pump.low_reservoir_threshold_nl",
                &p.low_reservoir_threshold_nl,
                "above the reservoir capacity: at most reservoir_capacity_ml x 1_000_000 nL",
            );
        }
        if p.stroke_nl == 0 || p.stroke_nl > MAX_STROKE_NL {
            return invalid(
                "pump.stroke_nl",
                &p.stroke_nl,
                "a stroke is 1 nL to 100 uL (100000 nL); 2500 is the nominal default",
            );
        }
        if !(1..=3000).contains(&p.concentration_ug_per_ml) {
            return invalid(
                "pump.concentration_ug_per_ml",
                &p.concentration_ug_per_ml,
                "use 1 to 3000 ug/mL (labelled strengths: 50, 500, 1000, 2000, 3000)",
            );
        }
        if p.battery_permille > 1000 {
            return invalid(
                "pump.battery_permille",
                &p.battery_permille,
                "per mille of a new cell: use 0 to 1000",
            );
        }
        if p.eri_threshold_permille > 1000 {
            return invalid(
                "pump.eri_threshold_permille",
                &p.eri_threshold_permille,
                "per mille of a new cell: use 0 to 1000 (nominal 100)",
            );
        }
        if p.battery_life_days == 0 {
            return invalid(
                "pump.battery_life_days",
                &0,
                "a battery lasts at least a day (nominal 2555)",
            );
        }
        let b = &self.balance;
        if !(b.density_g_per_ml > 0.5 && b.density_g_per_ml < 2.0) {
            return invalid(
                "balance.density_g_per_ml",
                &b.density_g_per_ml,
                "use a density between 0.5 and 2.0 g/mL (0.9 % saline at 22 C: 1.0046)",
            );
        }
        if !(b.readability_mg > 0.0 && b.readability_mg.is_finite()) {
            return invalid(
                "balance.readability_mg",
                &b.readability_mg,
                "use a positive readability in mg (0.1 for an analytical balance)",
            );
        }
        if !(b.noise_mg >= 0.0 && b.noise_mg.is_finite()) {
            return invalid(
                "balance.noise_mg",
                &b.noise_mg,
                "use a standard deviation of 0 (no noise) or more, in mg",
            );
        }
        if !(b.drift_mg_per_h.is_finite() && b.drift_mg_per_h.abs() <= 1000.0) {
            return invalid(
                "balance.drift_mg_per_h",
                &b.drift_mg_per_h,
                "use a drift between -1000 and 1000 mg/h (0 for none; a warmed-up balance drifts well under 1 mg/h)",
            );
        }
        if !(b.evaporation_mg_per_h >= 0.0 && b.evaporation_mg_per_h <= 1000.0) {
            return invalid(
                "balance.evaporation_mg_per_h",
                &b.evaporation_mg_per_h,
                "use a loss rate of 0 to 1000 mg/h (0 for none; an open vessel loses a few mg/h)",
            );
        }
        if b.settle_ms > 60_000 {
            return invalid(
                "balance.settle_ms",
                &b.settle_ms,
                "use a settling time of 0 to 60000 ms (analytical balances settle in about 2000 ms)",
            );
        }
        if !(b.capacity_g > 0.0 && b.capacity_g.is_finite()) {
            return invalid(
                "balance.capacity_g",
                &b.capacity_g,
                "use a positive capacity in g (220 for a typical analytical balance)",
            );
        }
        let bias = self.defects.flow_bias_percent;
        if !(bias > -100.0 && bias < 1000.0) {
            return invalid(
                "defects.flow_bias_percent",
                &bias,
                "use a percentage above -100 and below +1000 (0 for no defect)",
            );
        }
        let bolus = self.defects.bolus_volume_percent;
        if !(bolus > -100.0 && bolus < 1000.0) {
            return invalid(
                "defects.bolus_volume_percent",
                &bolus,
                "use a percentage above -100 and below +1000 (0 for no defect)",
            );
        }
        let clock = self.defects.clock_fast_percent;
        if !(clock > -100.0 && clock < 1000.0) {
            return invalid(
                "defects.clock_fast_percent",
                &clock,
                "use a percentage above -100 and below +1000 (0 for no defect)",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn defaults_are_the_documented_figures_and_valid() {
        let c = EmulatorConfig::default();
        c.validate().expect("defaults are valid");
        assert_eq!(
            (
                c.pump.reservoir_capacity_ml,
                c.pump.stroke_nl,
                c.pump.battery_life_days
            ),
            (40, 2_500, 2555)
        );
        assert_eq!(
            c.identity.firmware_version,
            format!("emu-{}", crate::VERSION)
        );
        assert_eq!(c.balance.density_g_per_ml, 1.0046);
        assert_eq!(c.defects, Defects::default());
    }

    /// A run record shows the knobs a scenario sets and nothing else, and reads back the same.
    #[test]
    fn defects_serialise_only_the_knobs_that_are_set() {
        assert_eq!(
            serde_json::to_value(Defects::default()).expect("serialises"),
            serde_json::json!({})
        );
        let d = Defects {
            flow_bias_percent: -20.0,
            wrong_priority: Some(AlarmKind::LowReservoir),
            eri_late_hours: 48,
            ..Defects::default()
        };
        let json = serde_json::to_value(&d).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"flow_bias_percent": -20.0, "wrong_priority": "low_reservoir", "eri_late_hours": 48})
        );
        assert_eq!(
            serde_json::from_value::<Defects>(json).expect("reads back"),
            d
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_fix() {
        let file = write("[pump]\nreservoir_capacity_ml = 30\n");
        let text = EmulatorConfig::from_toml_file(file.path())
            .expect_err("30 mL refused")
            .to_string();
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(text.contains("pump.reservoir_capacity_ml = 30"), "{text}");
        assert!(text.contains("set 20 or 40"), "{text}");

        let unknown = write("[pump]\nstroke_ul = 2.5\n");
        let text = EmulatorConfig::from_toml_file(unknown.path())
            .expect_err("unknown key refused")
            .to_string();
        assert!(text.contains("stroke_ul"), "{text}");

        let mut c = EmulatorConfig::default();
        c.pump.eri_threshold_permille = 1001;
        let text = c.validate().expect_err("above 1000").to_string();
        assert!(
            text.starts_with("pump.eri_threshold_permille = 1001"),
            "{text}"
        );
    }

    #[test]
    fn balance_realism_keys_are_read_and_checked() {
        let file = write(
            "[balance]\ndrift_mg_per_h = -0.3\nevaporation_mg_per_h = 0.5\nsettle_ms = 2000\n",
        );
        let c = EmulatorConfig::from_toml_file(file.path()).expect("valid");
        assert_eq!(
            (
                c.balance.drift_mg_per_h,
                c.balance.evaporation_mg_per_h,
                c.balance.settle_ms
            ),
            (-0.3, 0.5, 2000)
        );
        let mut c = EmulatorConfig::default();
        c.balance.evaporation_mg_per_h = -1.0;
        let text = c.validate().expect_err("negative loss").to_string();
        assert!(
            text.starts_with("balance.evaporation_mg_per_h = -1"),
            "{text}"
        );
        let mut c = EmulatorConfig::default();
        c.balance.settle_ms = 120_000;
        let text = c.validate().expect_err("two minutes").to_string();
        assert!(text.starts_with("balance.settle_ms = 120000"), "{text}");
        let mut c = EmulatorConfig::default();
        c.balance.drift_mg_per_h = f64::NAN;
        assert!(c.validate().is_err());
    }
}
