//! Emulator configuration: device parameters, balance parameters and defect knobs, with defaults.

use crate::protocol::AlarmKind;
use crate::units::NL_PER_ML;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Largest stroke the model accepts (100 uL); real accumulators are a few microlitres.
const MAX_STROKE_NL: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the emulator config: {source}\n  = help: check the path given to --config")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: {message}\n  = help: see docs/emulator.md for every key, its type and default"
    )]
    Parse { path: PathBuf, message: String },
    #[error("{key} = {value}: {why}")]
    Invalid {
        /// The TOML key (`pump.stroke_nl`) or command-line flag (`--initial-fill-ml`).
        key: &'static str,
        value: String,
        /// What is wrong and what to change.
        why: &'static str,
    },
    #[error("{path}: {source}")]
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
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            model: "PH-EMU-40".into(),
            serial_number: "EMU-0001".into(),
            firmware_version: format!("emu-{}", crate::VERSION),
            test_unit: true,
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
            stroke_nl: 2_500,
            low_reservoir_threshold_nl: 2_000_000,
            battery_permille: 1000,
            battery_life_days: 2555,
            eri_threshold_permille: 100,
            eos_after_eri_days: 90,
            high_repeat_min: 10,
            medium_repeat_min: 60,
            low_repeat_min: 0,
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
            density_g_per_ml: 1.0046,
            readability_mg: 0.1,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defects {
    /// Every stroke moves this much more (or less) than the pump counts.
    pub flow_bias_percent: f64,
    pub low_reservoir_late_min: u64,
    pub low_reservoir_suppressed: bool,
    pub eri_late_hours: u64,
    pub eos_keeps_delivering: bool,
    /// This alarm is raised one priority too low.
    pub wrong_priority: Option<AlarmKind>,
    /// A refill leaves the calculated reservoir volume unchanged.
    pub refill_ignores_calculated: bool,
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
        Ok(())
    }
}

/// Emulator options on the command line; a config file first, then flags override it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EmulatorArgs {
    /// TOML file with [identity], [pump], [balance] and [defects] tables (docs/emulator.md).
    #[arg(long, value_name = "TOML")]
    pub config: Option<PathBuf>,
    /// Serial number the emulated pump reports.
    #[arg(long)]
    pub serial: Option<String>,
    /// Identify as a clinical unit: test-mode messages are refused.
    #[arg(long)]
    pub not_test_unit: bool,
    #[arg(long)]
    pub stroke_nl: Option<u64>,
    /// 20 or 40.
    #[arg(long)]
    pub reservoir_ml: Option<u32>,
    #[arg(long)]
    pub initial_fill_ml: Option<f64>,
    /// Drug concentration, ug/mL.
    #[arg(long)]
    pub concentration: Option<u32>,
    #[arg(long)]
    pub battery_permille: Option<u16>,
    /// Fluid density for the balance, g/mL.
    #[arg(long)]
    pub density: Option<f64>,
    #[arg(long)]
    pub noise_mg: Option<f64>,
    #[arg(long)]
    pub noise_seed: Option<u64>,
    #[arg(long, allow_hyphen_values = true)]
    pub defect_flow_bias_percent: Option<f64>,
    #[arg(long)]
    pub defect_low_reservoir_late_min: Option<u64>,
    #[arg(long)]
    pub defect_low_reservoir_suppressed: bool,
    #[arg(long)]
    pub defect_eri_late_hours: Option<u64>,
    #[arg(long)]
    pub defect_eos_keeps_delivering: bool,
    /// Alarm raised one priority too low (e.g. low_reservoir).
    #[arg(long, value_name = "ALARM")]
    pub defect_wrong_priority: Option<String>,
    #[arg(long)]
    pub defect_refill_ignores_calculated: bool,
    /// Link faults on the pump port (a file's [link] table applies when no flag is given).
    #[command(flatten)]
    pub link: super::link_faults::LinkFaults,
}

impl EmulatorArgs {
    pub fn resolve(&self) -> Result<EmulatorConfig, ConfigError> {
        let mut c = match &self.config {
            Some(path) => EmulatorConfig::from_toml_file(path)?,
            None => EmulatorConfig::default(),
        };
        if let Some(v) = &self.serial {
            c.identity.serial_number = v.clone();
        }
        if self.not_test_unit {
            c.identity.test_unit = false;
        }
        if let Some(v) = self.stroke_nl {
            c.pump.stroke_nl = v;
        }
        if let Some(v) = self.reservoir_ml {
            c.pump.reservoir_capacity_ml = v;
        }
        if let Some(v) = self.initial_fill_ml {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ConfigError::Invalid {
                    key: "--initial-fill-ml",
                    value: v.to_string(),
                    why: "give a volume in mL, 0 or more (e.g. 3.0)",
                });
            }
            c.pump.initial_fill_nl = (v * 1e6).round() as u64;
        }
        if let Some(v) = self.concentration {
            c.pump.concentration_ug_per_ml = v;
        }
        if let Some(v) = self.battery_permille {
            c.pump.battery_permille = v;
        }
        if let Some(v) = self.density {
            c.balance.density_g_per_ml = v;
        }
        if let Some(v) = self.noise_mg {
            c.balance.noise_mg = v;
        }
        if let Some(v) = self.noise_seed {
            c.balance.noise_seed = Some(v);
        }
        if !self.link.is_clean() {
            c.link = self.link.clone();
        }
        let d = &mut c.defects;
        if let Some(v) = self.defect_flow_bias_percent {
            d.flow_bias_percent = v;
        }
        if let Some(v) = self.defect_low_reservoir_late_min {
            d.low_reservoir_late_min = v;
        }
        d.low_reservoir_suppressed |= self.defect_low_reservoir_suppressed;
        if let Some(v) = self.defect_eri_late_hours {
            d.eri_late_hours = v;
        }
        d.eos_keeps_delivering |= self.defect_eos_keeps_delivering;
        if let Some(name) = &self.defect_wrong_priority {
            d.wrong_priority = Some(AlarmKind::from_name(name).ok_or(ConfigError::Invalid {
                key: "--defect-wrong-priority",
                value: name.clone(),
                why: "not an alarm name (low_reservoir, empty_reservoir, elective_replacement, end_of_service, motor_stall)",
            })?);
        }
        d.refill_ignores_calculated |= self.defect_refill_ignores_calculated;
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        emulator: EmulatorArgs,
    }

    fn args(flags: &[&str]) -> EmulatorArgs {
        let argv = std::iter::once("pumphil").chain(flags.iter().copied());
        Cli::try_parse_from(argv).expect("flags parse").emulator
    }

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

    #[test]
    fn a_file_sets_what_it_names_and_flags_override_it() {
        let file = write(
            "[pump]\nreservoir_capacity_ml = 20\nstroke_nl = 1000\n[defects]\neri_late_hours = 48\n",
        );
        let path = file.path().to_str().expect("utf-8 temp path");
        let c = args(&[
            "--config",
            path,
            "--stroke-nl",
            "2000",
            "--initial-fill-ml",
            "3.25",
        ])
        .resolve()
        .expect("valid");
        assert_eq!(c.pump.reservoir_capacity_ml, 20);
        assert_eq!(c.pump.stroke_nl, 2000, "flag overrides the file");
        assert_eq!(c.pump.initial_fill_nl, 3_250_000);
        assert_eq!(c.defects.eri_late_hours, 48);
    }

    #[test]
    fn defect_flags_set_every_knob() {
        let c = args(&[
            "--defect-flow-bias-percent",
            "-12.5",
            "--defect-low-reservoir-late-min",
            "30",
            "--defect-low-reservoir-suppressed",
            "--defect-eri-late-hours",
            "5",
            "--defect-eos-keeps-delivering",
            "--defect-wrong-priority",
            "empty_reservoir",
            "--defect-refill-ignores-calculated",
            "--not-test-unit",
        ])
        .resolve()
        .expect("valid");
        let d = c.defects;
        assert_eq!(d.flow_bias_percent, -12.5);
        assert_eq!(d.low_reservoir_late_min, 30);
        assert!(
            d.low_reservoir_suppressed && d.eos_keeps_delivering && d.refill_ignores_calculated
        );
        assert_eq!(d.eri_late_hours, 5);
        assert_eq!(d.wrong_priority, Some(AlarmKind::EmptyReservoir));
        assert!(!c.identity.test_unit);
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

        let text = args(&["--defect-wrong-priority", "loud"])
            .resolve()
            .expect_err("not an alarm")
            .to_string();
        assert!(text.contains("--defect-wrong-priority = loud"), "{text}");
        let text = args(&["--initial-fill-ml", "50"])
            .resolve()
            .expect_err("overfill")
            .to_string();
        assert!(text.contains("pump.initial_fill_nl = 50000000"), "{text}");
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
