//! Emulator configuration: device parameters, balance parameters and defect knobs, with defaults.

use crate::protocol::AlarmKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the emulator config: {source}")]
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
        key: &'static str,
        value: String,
        why: &'static str,
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
    /// Standard deviation of reading noise; 0 for none.
    pub noise_mg: f64,
    pub noise_seed: Option<u64>,
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
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.pump;
        let invalid = |key, value: String, why| Err(ConfigError::Invalid { key, value, why });
        if p.reservoir_capacity_ml != 20 && p.reservoir_capacity_ml != 40 {
            return invalid(
                "pump.reservoir_capacity_ml",
                p.reservoir_capacity_ml.to_string(),
                "pumps hold 20 or 40 mL",
            );
        }
        if p.initial_fill_nl > p.reservoir_capacity_ml as u64 * crate::units::NL_PER_ML {
            return invalid(
                "pump.initial_fill_nl",
                p.initial_fill_nl.to_string(),
                "more than the reservoir holds",
            );
        }
        if p.stroke_nl == 0 || p.stroke_nl > 100_000 {
            return invalid(
                "pump.stroke_nl",
                p.stroke_nl.to_string(),
                "a stroke is 1 nL to 100 uL",
            );
        }
        if p.concentration_ug_per_ml == 0 || p.concentration_ug_per_ml > 3000 {
            return invalid(
                "pump.concentration_ug_per_ml",
                p.concentration_ug_per_ml.to_string(),
                "1 to 3000 ug/mL",
            );
        }
        if p.battery_permille > 1000 || p.eri_threshold_permille > 1000 {
            return invalid(
                "pump.battery_permille",
                p.battery_permille.to_string(),
                "per mille of a new cell, 0 to 1000",
            );
        }
        if p.battery_life_days == 0 {
            return invalid(
                "pump.battery_life_days",
                "0".into(),
                "a battery lasts at least a day",
            );
        }
        let b = &self.balance;
        if !(b.density_g_per_ml > 0.5 && b.density_g_per_ml < 2.0) {
            return invalid(
                "balance.density_g_per_ml",
                b.density_g_per_ml.to_string(),
                "about 1.0 for aqueous solutions",
            );
        }
        if !(b.readability_mg > 0.0) || !(b.noise_mg >= 0.0) {
            return invalid(
                "balance.readability_mg",
                b.readability_mg.to_string(),
                "readability must be positive, noise non-negative",
            );
        }
        if !(self.defects.flow_bias_percent > -100.0 && self.defects.flow_bias_percent < 1000.0) {
            return invalid(
                "defects.flow_bias_percent",
                self.defects.flow_bias_percent.to_string(),
                "between -100 and +1000",
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
                    why: "a volume in mL, not negative",
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
