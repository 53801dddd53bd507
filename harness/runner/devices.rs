//! Opening the devices a scenario runs against: a fresh emulator on its own pseudo-terminals, or
//! the bench's real ports behind the safety interlocks.

use super::bench::{Bench, PortConfig};
use crate::driver::balance::BalanceDriver;
use crate::driver::pump::{DriverOptions, PumpDriver, Reopen};
use crate::emulator::config::EmulatorConfig;
use crate::emulator::link_faults::LinkFaults;
use crate::link::endpoint;
use crate::link::serial::SerialSettings;
use crate::record::{BalanceInfo, ScenarioVerdict};
use crate::scenario::Scenario;

/// What the scenario runs against, once its links are open.
pub struct Devices {
    pub pump: PumpDriver,
    pub balance: Option<BalanceDriver>,
    pub device_kind: crate::record::Mode,
    pub pump_port: String,
    pub balance_info: Option<BalanceInfo>,
    pub density_g_per_ml: f64,
    /// Virtual device time (the emulator, or a bench file's `time = "virtual"`) or real time.
    pub virtual_time: bool,
}

impl Devices {
    pub fn time_base(&self) -> crate::record::TimeBase {
        if self.virtual_time {
            crate::record::TimeBase::Virtual
        } else {
            crate::record::TimeBase::Real
        }
    }
}

/// Why devices could not be opened, and what that makes of the scenario.
pub struct OpenFailure {
    pub verdict: ScenarioVerdict,
    pub message: String,
}

fn infrastructure(message: String) -> OpenFailure {
    OpenFailure {
        verdict: ScenarioVerdict::Incomplete,
        message,
    }
}

/// Keeps an in-process emulator alive for as long as the scenario runs.
pub enum Guard {
    Emulator(crate::emulator::EmulatorHandle),
    None,
}

/// The emulator configuration for a scenario: device parameters, bench fluid, defect knobs.
pub fn emulator_config(
    scenario: &Scenario,
    seed: u64,
    noise_mg: f64,
    link_faults: &LinkFaults,
) -> Result<EmulatorConfig, String> {
    let mut config = EmulatorConfig::default();
    let d = &scenario.device;
    config.pump.reservoir_capacity_ml = d.reservoir_ml;
    config.pump.stroke_nl = d.stroke_nl;
    // The emulator starts in the scenario's initial state, so the protocol setup (the same as on
    // a bench) finds nothing to change and raises no transient alarms.
    config.pump.initial_fill_nl = d.initial_fill_nl;
    config.pump.concentration_ug_per_ml = d.concentration_ug_per_ml;
    config.pump.low_reservoir_threshold_nl = d.low_reservoir_threshold_nl;
    if let Some(permille) = d.battery_permille {
        config.pump.battery_permille = permille;
    }
    config.pump.battery_life_days = d.battery_life_days;
    config.pump.eri_threshold_permille = d.eri_threshold_permille;
    config.pump.eos_after_eri_days = d.eos_after_eri_days;
    config.balance.density_g_per_ml = scenario.bench.density_g_per_ml;
    config.balance.noise_mg = noise_mg;
    // Each scenario gets its own noise stream, reproducible from the run seed.
    let mixed = u64::from_str_radix(
        &crate::scenario::sha256_hex(format!("{seed}:{}", scenario.id).as_bytes())[..16],
        16,
    )
    .unwrap_or(seed);
    config.balance.noise_seed = Some(mixed);
    config.link = LinkFaults {
        seed: mixed ^ link_faults.seed,
        ..link_faults.clone()
    };
    if let Some(defects) = &scenario.defects {
        config.defects = defects.clone();
    }
    config
        .validate()
        .map_err(|e| format!("{}: {e}", scenario.path.display()))?;
    Ok(config)
}

/// How long a port that went away may take to come back before the device counts as lost.
/// A USB serial adapter re-enumerates in about a second; a lost device must still end its
/// scenario promptly.
pub const BENCH_REPLUG_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
pub const EMULATOR_REPLUG_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Opens the pump's port again under the same name (a stable name such as
/// /dev/serial/by-id/... on a bench, the emulator's symlink when it injects an unplug).
fn reopen(settings: SerialSettings, within: std::time::Duration) -> Reopen {
    Reopen::endpoint(settings, within)
}

/// The longest any request waits for the built-in emulator's answer before a re-send.
pub const EMULATOR_TIMEOUT_CAP: std::time::Duration = std::time::Duration::from_millis(50);

pub async fn open_emulator(
    scenario: &Scenario,
    seed: u64,
    noise_mg: f64,
    link_faults: &LinkFaults,
    retries: u32,
) -> Result<(Devices, Guard), OpenFailure> {
    let config =
        emulator_config(scenario, seed, noise_mg, link_faults).map_err(|message| OpenFailure {
            verdict: ScenarioVerdict::Error,
            message,
        })?;
    let readability_mg = config.balance.readability_mg;
    let balance_identity = format!("{} {}", config.balance.model, config.balance.serial_number);
    let handle = crate::emulator::spawn_on_ptys(config, false)
        .await
        .map_err(|e| infrastructure(format!("cannot start the emulator: {}", e.explained())))?;
    let pump_port = handle.pump_port.display().to_string();
    let balance_port = handle.balance_port.display().to_string();
    let pump_link = endpoint::open(&SerialSettings::pump(&pump_port))
        .await
        .map_err(|e| infrastructure(e.explained()))?;
    let balance = if scenario.bench.balance {
        let link = endpoint::open(&SerialSettings::balance(&balance_port))
            .await
            .map_err(|e| infrastructure(e.explained()))?;
        Some(BalanceDriver::new(link))
    } else {
        None
    };
    let devices = Devices {
        // The in-process emulator answers in well under a millisecond and advances a year of
        // device time in about 5 ms (docs/performance.md), so no attempt waits more than 50 ms:
        // a lossy link then costs little time. A later answer costs a re-send, which the
        // device answers from its cache.
        pump: PumpDriver::with_reopen(
            pump_link,
            DriverOptions {
                max_retries: retries,
                timeout_scale: 1.0,
                timeout_cap: Some(EMULATOR_TIMEOUT_CAP),
            },
            reopen(SerialSettings::pump(&pump_port), EMULATOR_REPLUG_WAIT),
        ),
        balance,
        device_kind: crate::record::Mode::Emulator,
        pump_port,
        balance_info: scenario.bench.balance.then_some(BalanceInfo {
            identity: balance_identity,
            port: balance_port,
            density_g_per_ml: scenario.bench.density_g_per_ml,
            readability_mg,
            calibration_due: None,
        }),
        density_g_per_ml: scenario.bench.density_g_per_ml,
        virtual_time: true,
    };
    Ok((devices, Guard::Emulator(handle)))
}

fn settings(port: &PortConfig, default: SerialSettings) -> Result<SerialSettings, String> {
    let mut s = default;
    s.path = port.port.clone();
    if let Some(b) = port.baud {
        s.baud = b;
    }
    s.apply_text_options(
        port.data_bits,
        port.parity.as_deref(),
        port.stop_bits,
        port.flow_control.as_deref(),
    )
    .map_err(|e| e.explained())?;
    Ok(s)
}

/// Opens a real bench. Refuses (exit 2) any pump that is not a test unit on the allow-list:
/// this tool can program an implantable pump, and a scenario changes its therapy.
pub async fn open_bench(
    bench: &Bench,
    scenario: &Scenario,
    retries: u32,
) -> Result<(Devices, Guard), OpenFailure> {
    let refuse = |message: String| OpenFailure {
        verdict: ScenarioVerdict::Error,
        message,
    };
    let pump_settings =
        settings(&bench.pump, SerialSettings::pump(&bench.pump.port)).map_err(refuse)?;
    let link = endpoint::open(&pump_settings)
        .await
        .map_err(|e| infrastructure(e.explained()))?;
    let pump = PumpDriver::with_reopen(
        link,
        DriverOptions {
            max_retries: retries,
            ..DriverOptions::default()
        },
        reopen(pump_settings.clone(), BENCH_REPLUG_WAIT),
    );
    let identity = match pump.identify().await {
        Ok(i) => i,
        Err(e) => {
            return Err(infrastructure(format!(
                "pump on {} did not identify: {e}",
                bench.pump.port
            )))
        }
    };
    if !bench
        .allowed_serial_numbers
        .contains(&identity.serial_number)
    {
        return Err(refuse(format!(
            "pump {} on {} is not on this bench's allow-list ({}); nothing was sent that changes therapy. Add its serial number to allowed_serial_numbers in {} if it is a test pump",
            identity.serial_number, bench.pump.port, bench.allowed_serial_numbers.join(", "), bench.path.display()
        )));
    }
    if !identity.test_unit {
        return Err(refuse(format!(
            "pump {} does not identify as a test unit; the harness only programs test units",
            identity.serial_number
        )));
    }
    let density = bench
        .density_g_per_ml
        .unwrap_or(scenario.bench.density_g_per_ml);
    let (balance, balance_info) = match (&bench.balance, scenario.bench.balance) {
        (Some(b), true) => {
            let s = settings(&b.link, SerialSettings::balance(&b.link.port)).map_err(refuse)?;
            let link = endpoint::open(&s)
                .await
                .map_err(|e| infrastructure(e.explained()))?;
            let info = BalanceInfo {
                identity: format!(
                    "{} {}",
                    b.model.clone().unwrap_or_default(),
                    b.serial_number.clone().unwrap_or_default()
                )
                .trim()
                .to_string(),
                port: b.link.port.clone(),
                density_g_per_ml: density,
                readability_mg: b
                    .readability_mg
                    .unwrap_or(crate::units::nominal::BALANCE_READABILITY_MG),
                calibration_due: b.calibration_due.clone(),
            };
            (Some(BalanceDriver::new(link)), Some(info))
        }
        (None, true) => {
            return Err(refuse(format!(
                "scenario {} needs a balance; the bench file has no [balance]",
                scenario.id
            )))
        }
        _ => (None, None),
    };
    Ok((
        Devices {
            pump,
            balance,
            device_kind: crate::record::Mode::Bench,
            pump_port: bench.pump.port.clone(),
            balance_info,
            density_g_per_ml: density,
            virtual_time: bench.time == crate::record::TimeBase::Virtual,
        },
        Guard::None,
    ))
}
