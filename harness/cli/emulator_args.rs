//! Emulator options on the command line (`pumphil emulate`, and the link faults of
//! `pumphil run`), turned into the emulator's own configuration types.
//!
//! The emulator sits below the command line and knows nothing of clap: its `EmulatorConfig`,
//! `Defects` and `LinkFaults` are plain data, and these argument structs build them.

use crate::emulator::config::{ConfigError, EmulatorConfig};
use crate::emulator::link_faults::LinkFaults;
use crate::protocol::AlarmKind;
use std::path::PathBuf;

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
    /// Refuse ReadPlant (NACK unknown_message), as a device without a bench plant does.
    #[arg(long)]
    pub no_plant: bool,
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
    #[arg(long)]
    pub defect_stop_ignored: bool,
    #[arg(long, allow_hyphen_values = true)]
    pub defect_bolus_volume_percent: Option<f64>,
    #[arg(long)]
    pub defect_stall_keeps_delivering: bool,
    /// With --realtime: the device clock stops at this device time (ms), to practise the
    /// bench's clock watchdog.
    #[arg(long, value_name = "MS")]
    pub clock_stops_at_ms: Option<u64>,
    /// The device clock reads this (ms) when serving starts, as for a pump switched on that
    /// long before the run (in virtual time too).
    #[arg(long, value_name = "MS")]
    pub clock_starts_at_ms: Option<u64>,
    #[arg(long)]
    pub defect_bolus_overlap_accepted: bool,
    /// In real time: the device clock runs this many percent fast (negative: slow).
    #[arg(long, allow_hyphen_values = true)]
    pub defect_clock_fast_percent: Option<f64>,
    /// Every alarm raise is stamped this many minutes before it happened.
    #[arg(long)]
    pub defect_alarm_stamped_early_min: Option<u64>,
    /// Link faults on the pump port (a file's [link] table applies when no flag is given).
    #[command(flatten)]
    pub link: LinkFaultArgs,
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
        if self.no_plant {
            c.identity.answers_read_plant = false;
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
        let link = self.link.faults();
        if !link.is_clean() {
            c.link = link;
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
        d.stop_ignored |= self.defect_stop_ignored;
        if let Some(v) = self.defect_bolus_volume_percent {
            d.bolus_volume_percent = v;
        }
        d.stall_keeps_delivering |= self.defect_stall_keeps_delivering;
        if let Some(v) = self.clock_stops_at_ms {
            c.clock.stops_at_ms = Some(v);
        }
        if let Some(v) = self.clock_starts_at_ms {
            c.clock.starts_at_ms = v;
        }
        d.bolus_overlap_accepted |= self.defect_bolus_overlap_accepted;
        if let Some(v) = self.defect_clock_fast_percent {
            d.clock_fast_percent = v;
        }
        if let Some(v) = self.defect_alarm_stamped_early_min {
            d.alarm_stamped_early_min = v;
        }
        c.validate()?;
        Ok(c)
    }
}

/// Link faults to inject on the emulated pump's port (docs/emulator.md, "Link faults"); every
/// flag's default is the clean link of `LinkFaults::default()`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct LinkFaultArgs {
    /// Probability that each byte, either way, is corrupted (one to eight bits flipped).
    #[arg(
        id = "link-corrupt-rate",
        long = "link-corrupt-rate",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = LinkFaults::parse_rate
    )]
    pub corrupt_rate: f64,
    /// Probability that each frame the device sends is dropped.
    #[arg(
        id = "link-drop-rate",
        long = "link-drop-rate",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = LinkFaults::parse_rate
    )]
    pub drop_rate: f64,
    /// Probability that each frame the device sends is sent twice.
    #[arg(
        id = "link-duplicate-rate",
        long = "link-duplicate-rate",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = LinkFaults::parse_rate
    )]
    pub duplicate_rate: f64,
    /// Probability that an answer is held back by `delay_ms`.
    #[arg(
        id = "link-delay-rate",
        long = "link-delay-rate",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_parser = LinkFaults::parse_rate
    )]
    pub delay_rate: f64,
    #[arg(id = "link-delay-ms", long = "link-delay-ms", default_value_t = 0)]
    pub delay_ms: u64,
    /// The device hangs up (closes its port) once its clock reaches this time.
    #[arg(id = "link-hangup-at-ms", long = "link-hangup-at-ms")]
    pub hangup_at_ms: Option<u64>,
    /// The port is unplugged once the device's clock reaches this time, and plugged back in
    /// (under the same path) `unplug_for_ms` of wall time later; the pump keeps its state.
    #[arg(id = "link-unplug-at-ms", long = "link-unplug-at-ms")]
    pub unplug_at_ms: Option<u64>,
    #[arg(
        id = "link-unplug-for-ms",
        long = "link-unplug-for-ms",
        default_value_t = 1000
    )]
    pub unplug_for_ms: u64,
    #[arg(id = "link-seed", long = "link-seed", default_value_t = 0)]
    pub seed: u64,
}

impl Default for LinkFaultArgs {
    fn default() -> Self {
        LinkFaultArgs::from(&LinkFaults::default())
    }
}

impl LinkFaultArgs {
    /// The emulator's fault settings these flags ask for.
    pub fn faults(&self) -> LinkFaults {
        LinkFaults {
            corrupt_rate: self.corrupt_rate,
            drop_rate: self.drop_rate,
            duplicate_rate: self.duplicate_rate,
            delay_rate: self.delay_rate,
            delay_ms: self.delay_ms,
            hangup_at_ms: self.hangup_at_ms,
            unplug_at_ms: self.unplug_at_ms,
            unplug_for_ms: self.unplug_for_ms,
            seed: self.seed,
        }
    }
}

impl From<&LinkFaults> for LinkFaultArgs {
    fn from(f: &LinkFaults) -> Self {
        LinkFaultArgs {
            corrupt_rate: f.corrupt_rate,
            drop_rate: f.drop_rate,
            duplicate_rate: f.duplicate_rate,
            delay_rate: f.delay_rate,
            delay_ms: f.delay_ms,
            hangup_at_ms: f.hangup_at_ms,
            unplug_at_ms: f.unplug_at_ms,
            unplug_for_ms: f.unplug_for_ms,
            seed: f.seed,
        }
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
    fn flag_errors_name_the_flag_and_the_fix() {
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

    /// No flag means the emulator's clean link; each flag lands in its own field; a file's
    /// [link] table applies when no link flag is given.
    #[test]
    fn link_fault_flags_build_the_emulator_settings() {
        assert_eq!(args(&[]).link.faults(), LinkFaults::default());
        let faults = args(&[
            "--link-corrupt-rate",
            "0.01",
            "--link-drop-rate",
            "0.02",
            "--link-duplicate-rate",
            "0.03",
            "--link-delay-rate",
            "0.04",
            "--link-delay-ms",
            "5",
            "--link-hangup-at-ms",
            "6",
            "--link-unplug-at-ms",
            "7",
            "--link-unplug-for-ms",
            "8",
            "--link-seed",
            "9",
        ])
        .link
        .faults();
        assert_eq!(
            faults,
            LinkFaults {
                corrupt_rate: 0.01,
                drop_rate: 0.02,
                duplicate_rate: 0.03,
                delay_rate: 0.04,
                delay_ms: 5,
                hangup_at_ms: Some(6),
                unplug_at_ms: Some(7),
                unplug_for_ms: 8,
                seed: 9,
            }
        );
        let file = write("[link]\ndrop_rate = 0.5\n");
        let path = file.path().to_str().expect("utf-8 temp path");
        let c = args(&["--config", path]).resolve().expect("valid");
        assert_eq!(c.link.drop_rate, 0.5);
        let c = args(&["--config", path, "--link-corrupt-rate", "0.1"])
            .resolve()
            .expect("valid");
        assert_eq!((c.link.drop_rate, c.link.corrupt_rate), (0.0, 0.1));
    }
}
