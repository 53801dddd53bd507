//! Opening the devices a scenario runs against: a fresh emulator on its own pseudo-terminals (or,
//! for long soaks, over in-memory links), or the bench's real ports behind the safety interlocks.

use super::bench::{Bench, PortConfig};
use super::latency;
use super::sample::PumpSampling;
use crate::driver::balance::BalanceDriver;
use crate::driver::pump::{DriverOptions, PumpDriver, Reopen};
use crate::emulator::config::EmulatorConfig;
use crate::emulator::link_faults::LinkFaults;
use crate::link::endpoint;
use crate::link::serial::SerialSettings;
use crate::record::{BalanceAnswer, BalanceInfo, DeviceLink, ScenarioVerdict, TestSystem};
use crate::scenario::Scenario;

/// What the scenario runs against, once its links are open.
pub struct Devices {
    pub pump: PumpDriver,
    pub balance: Option<BalanceDriver>,
    pub device_kind: crate::record::Mode,
    /// Through its ports, or over an in-memory link to the in-process emulator.
    pub link: DeviceLink,
    pub pump_port: String,
    pub balance_info: Option<BalanceInfo>,
    pub density_g_per_ml: f64,
    /// Virtual device time (the emulator, or a bench file's `time = "virtual"`) or real time.
    pub virtual_time: bool,
    /// How a sample reads the pump at first (protocol 12.16).
    pub sampling: PumpSampling,
    /// Consecutive samples sent at once once the pump answers Advance and sample: more than
    /// one only for the in-process emulator on a clean link (`runner::batch`).
    pub sample_batch: usize,
    /// The balance's reading noise, one standard deviation in mg, as declared (the emulator's
    /// `--noise-mg`, a bench balance's `repeatability_mg`); the checks widen for it.
    pub balance_noise_mg: f64,
    /// The balance's figures for the uncertainty budgets (the emulated balance's, or the
    /// bench file's readability, certificate, evaporation and temperature).
    pub balance_figures: crate::expect::uncertainty::BalanceFigures,
    /// A bench's station and measured links (None on the built-in emulator).
    pub test_system: Option<TestSystem>,
    /// What the bench check found worth a deviation (a slow USB latency timer).
    pub warnings: Vec<String>,
    /// How far a real-time pump's clock may run from the host's (the clock watchdog).
    pub clock_tolerance: std::time::Duration,
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

/// Re-sends of one request before `pumphil run` counts the device as lost (`--retries`).
///
/// Chosen for the link the emulator advertises for resilience runs, 1 % of bytes corrupted and
/// 1 % of frames dropped (docs/performance.md): there each further re-send fails about half the
/// time (measured 0.46-0.51 between successive depths, deepest 18), so 40 re-sends give up on a
/// request about once in 10^12, about once in a million year-long runs. The protocol's 3
/// (`MAX_RETRIES`) ended suite runs INCOMPLETE there. A dead device costs 41 attempts before it
/// is declared lost: about 10 s on a bench (250 ms each), 2 s on a lossy emulator (50 ms each).
pub const DEFAULT_RETRIES: u32 = 40;

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

/// With link faults configured, the longest any request waits for the built-in emulator's
/// answer before a re-send. It answers in well under a millisecond and advances a year of device
/// time in about 5 ms (docs/performance.md), so a lossy run costs little time; a later answer
/// costs a re-send, which the device answers from its cache.
pub const EMULATOR_TIMEOUT_CAP: std::time::Duration = std::time::Duration::from_millis(50);

/// On a clean link, the least any request waits for the built-in emulator's answer. It never
/// loses a frame unless link faults are configured, so an answer that takes long only means a
/// loaded machine (a busy CI host, other jobs): waiting it out records nothing, where a re-send
/// would put a retry and a stale answer in the evidence.
pub const EMULATOR_CLEAN_TIMEOUT_FLOOR: std::time::Duration = std::time::Duration::from_secs(5);

/// The driver's timeouts for the built-in emulator (docs/protocol.md 6.4): generous on a clean
/// link, short under configured link faults.
pub fn emulator_driver_options(link_faults: &LinkFaults, retries: u32) -> DriverOptions {
    if link_faults.is_clean() {
        DriverOptions {
            max_retries: retries,
            timeout_floor: Some(EMULATOR_CLEAN_TIMEOUT_FLOOR),
            ..DriverOptions::default()
        }
    } else {
        DriverOptions {
            max_retries: retries,
            timeout_cap: Some(EMULATOR_TIMEOUT_CAP),
            ..DriverOptions::default()
        }
    }
}

/// The client's ends of a freshly started emulator, how its pump is reopened after an
/// unplug, and the handle that keeps it running.
struct EmulatorLinks {
    pump: crate::link::BoxLink,
    balance: Option<crate::link::BoxLink>,
    reopen: Reopen,
    pump_port: String,
    balance_port: String,
    handle: crate::emulator::EmulatorHandle,
}

/// The emulator on two new pseudo-terminals, opened as a bench's ports are.
async fn emulator_on_ptys(
    config: EmulatorConfig,
    balance: bool,
) -> Result<EmulatorLinks, OpenFailure> {
    let handle = crate::emulator::spawn_on_ptys(config, false)
        .await
        .map_err(|e| infrastructure(format!("cannot start the emulator: {}", e.explained())))?;
    let pump_port = handle.pump_port.display().to_string();
    let balance_port = handle.balance_port.display().to_string();
    let open = |settings: SerialSettings| async move {
        endpoint::open(&settings)
            .await
            .map_err(|e| infrastructure(e.explained()))
    };
    let pump_settings = SerialSettings::pump(&pump_port);
    let pump = open(pump_settings.clone()).await?;
    let balance = if balance {
        Some(open(SerialSettings::balance(&balance_port)).await?)
    } else {
        None
    };
    Ok(EmulatorLinks {
        pump,
        balance,
        reopen: reopen(pump_settings, EMULATOR_REPLUG_WAIT),
        pump_port,
        balance_port,
        handle,
    })
}

/// The emulator over in-memory links (`run --link memory`): after an injected unplug, the pump
/// comes back in the slot the emulator fills.
fn emulator_in_memory(config: EmulatorConfig, balance: bool) -> EmulatorLinks {
    let (handle, ports) = crate::emulator::spawn_in_memory(config, false);
    let slot = ports.pump_replugged;
    let reopen = Reopen {
        open: Box::new(move || {
            let slot = slot.clone();
            Box::pin(async move {
                slot.lock()
                    .ok()
                    .and_then(|mut plugged| plugged.take())
                    .ok_or_else(|| "the in-memory pump is not plugged in again".to_string())
            })
        }),
        within: EMULATOR_REPLUG_WAIT,
    };
    EmulatorLinks {
        pump: ports.pump,
        balance: balance.then_some(ports.balance),
        reopen,
        pump_port: crate::emulator::IN_MEMORY_PORT.to_string(),
        balance_port: crate::emulator::IN_MEMORY_PORT.to_string(),
        handle,
    }
}

/// A fresh emulator for `scenario`, reached through pseudo-terminals or, with
/// `DeviceLink::InMemory`, over in-memory links; everything past the link is the same.
pub async fn open_emulator(
    scenario: &Scenario,
    seed: u64,
    noise_mg: f64,
    link_faults: &LinkFaults,
    retries: u32,
    link: DeviceLink,
) -> Result<(Devices, Guard), OpenFailure> {
    let config =
        emulator_config(scenario, seed, noise_mg, link_faults).map_err(|message| OpenFailure {
            verdict: ScenarioVerdict::Error,
            message,
        })?;
    let readability_mg = config.balance.readability_mg;
    let balance_figures = crate::expect::uncertainty::BalanceFigures::emulated(&config.balance);
    let balance_identity = format!("{} {}", config.balance.model, config.balance.serial_number);
    let links = match link {
        DeviceLink::Port => emulator_on_ptys(config, scenario.bench.balance).await?,
        DeviceLink::InMemory => emulator_in_memory(config, scenario.bench.balance),
    };
    let devices = Devices {
        pump: PumpDriver::with_reopen(
            links.pump,
            emulator_driver_options(link_faults, retries),
            links.reopen,
        ),
        balance: links.balance.map(BalanceDriver::new),
        device_kind: crate::record::Mode::Emulator,
        link,
        pump_port: links.pump_port,
        balance_info: scenario.bench.balance.then_some(BalanceInfo {
            identity: balance_identity,
            port: links.balance_port,
            density_g_per_ml: scenario.bench.density_g_per_ml,
            readability_mg,
            calibration_due: None,
            answered: None,
        }),
        density_g_per_ml: scenario.bench.density_g_per_ml,
        virtual_time: true,
        // Under link faults, short frames: each of the three answers survives 1 % corrupted
        // bytes about half the time, the 90-byte combined one about a third of the time, and
        // the re-sends a request needs then outgrow the default retries (docs/performance.md).
        sampling: if link_faults.is_clean() {
            PumpSampling::Untried
        } else {
            PumpSampling::Separate
        },
        sample_batch: super::batch::sample_batch_for(link_faults),
        balance_noise_mg: noise_mg,
        balance_figures,
        test_system: None,
        warnings: Vec::new(),
        clock_tolerance: super::watchdog::DEFAULT_TOLERANCE,
    };
    Ok((devices, Guard::Emulator(links.handle)))
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

/// What a bench's check before the run found, and the timeouts its scenarios then use.
#[derive(Debug, Clone)]
pub struct BenchCheck {
    /// Station, bench file, round trips, latency timers and the scaled timeouts.
    pub test_system: TestSystem,
    /// What the check found worth a deviation (a slow USB latency timer).
    pub warnings: Vec<String>,
    /// The pump driver's policy for the bench's scenarios: `--retries`, and each attempt's
    /// timeout at least `TIMEOUT_FACTOR` x the measured p99 round trip.
    pub pump_options: DriverOptions,
    pub balance_timeout: std::time::Duration,
}

fn refusal(message: String) -> OpenFailure {
    OpenFailure {
        verdict: ScenarioVerdict::Error,
        message,
    }
}

/// Opens the bench's pump port with `options` and admits the pump only if it is a test unit
/// on the allow-list: this tool can program an implantable pump, and a scenario changes its
/// therapy.
async fn admit_pump(bench: &Bench, options: DriverOptions) -> Result<PumpDriver, OpenFailure> {
    let pump_settings =
        settings(&bench.pump, SerialSettings::pump(&bench.pump.port)).map_err(refusal)?;
    let link = endpoint::open(&pump_settings)
        .await
        .map_err(|e| infrastructure(e.explained()))?;
    let pump = PumpDriver::with_reopen(
        link,
        options,
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
        return Err(refusal(format!(
            "pump {} on {} is not on this bench's allow-list ({}); nothing was sent that changes therapy. Add its serial number to allowed_serial_numbers in {} if it is a test pump",
            identity.serial_number, bench.pump.port, bench.allowed_serial_numbers.join(", "), bench.path.display()
        )));
    }
    if !identity.test_unit {
        return Err(refusal(format!(
            "pump {} does not identify as a test unit; the harness only programs test units",
            identity.serial_number
        )));
    }
    Ok(pump)
}

/// Opens the bench's balance, flushes its line and checks it is the instrument the bench file
/// names (I2, I4).
async fn admit_balance(
    bench: &Bench,
    b: &super::bench::BalanceConfig,
    reply_timeout: std::time::Duration,
) -> Result<(BalanceDriver, crate::driver::balance::BalanceIdentity), OpenFailure> {
    let s = settings(&b.link, SerialSettings::balance(&b.link.port)).map_err(refusal)?;
    let link = endpoint::open(&s)
        .await
        .map_err(|e| infrastructure(e.explained()))?;
    let mut driver = BalanceDriver::new(link).with_reply_timeout(reply_timeout);
    let answer = driver.prepare().await.map_err(|e| {
        infrastructure(format!(
            "the balance on {} did not identify (I2, I4): {e}. Is it set to MT-SICS at {} baud?",
            b.link.port, s.baud
        ))
    })?;
    check_balance_identity(bench, b, &answer).map_err(refusal)?;
    Ok((driver, answer))
}

/// Checks a bench once, before any scenario runs on it: the pump is an allowed test unit, the
/// balance (when a scenario of the run needs one) is the one the bench file names, and the
/// round trips to both are measured, which sets the timeouts its scenarios use.
pub async fn check_bench(
    bench: &Bench,
    needs_balance: bool,
    retries: u32,
) -> Result<BenchCheck, OpenFailure> {
    let setup = DriverOptions {
        max_retries: retries.min(latency::SETUP_RETRIES),
        timeout_floor: Some(latency::SETUP_TIMEOUT),
        ..DriverOptions::default()
    };
    let pump = admit_pump(bench, setup).await?;
    let mut balance = match (&bench.balance, needs_balance) {
        (Some(b), true) => Some(admit_balance(bench, b, latency::SETUP_TIMEOUT).await?.0),
        _ => None,
    };
    let pump_round_trip = latency::pump_round_trip(&pump).await;
    let balance_round_trip = match balance.as_mut() {
        Some(b) => latency::balance_round_trip(b).await,
        None => None,
    };
    let pump_timeout = latency::scaled_timeout(
        crate::driver::pump::timeout_for(crate::protocol::RequestKind::Status),
        pump_round_trip.as_ref(),
    );
    let balance_timeout = latency::scaled_timeout(
        crate::driver::balance::REPLY_TIMEOUT,
        balance_round_trip.as_ref(),
    );
    let sysfs = std::path::Path::new("/sys");
    let balance_port = balance
        .as_ref()
        .and(bench.balance.as_ref())
        .map(|b| b.link.port.clone());
    let test_system = TestSystem {
        station: bench.station.clone(),
        pump_round_trip,
        balance_round_trip,
        pump_latency_timer_ms: latency::latency_timer_ms(sysfs, &bench.pump.port),
        balance_latency_timer_ms: balance_port
            .as_deref()
            .and_then(|port| latency::latency_timer_ms(sysfs, port)),
        bench_file: Some(crate::record::FileRef {
            path: bench.path.display().to_string(),
            sha256: bench.sha256.clone(),
        }),
        pump_timeout_ms: Some(pump_timeout.as_millis() as u64),
        balance_timeout_ms: balance
            .is_some()
            .then_some(balance_timeout.as_millis() as u64),
    };
    let warnings = [
        (
            "pump",
            Some(bench.pump.port.as_str()),
            test_system.pump_latency_timer_ms,
        ),
        (
            "balance",
            balance_port.as_deref(),
            test_system.balance_latency_timer_ms,
        ),
    ]
    .into_iter()
    .filter_map(|(role, port, timer)| latency::latency_timer_warning(role, port?, timer?))
    .collect();
    Ok(BenchCheck {
        test_system,
        warnings,
        pump_options: DriverOptions {
            max_retries: retries,
            // Applies to every request kind: one that already waits longer (AdvanceTime,
            // the event log) keeps its own figure.
            timeout_floor: Some(pump_timeout),
            ..DriverOptions::default()
        },
        balance_timeout,
    })
}

/// Opens a checked bench for one scenario. The pump is admitted again (it may have been
/// swapped since the check): anything not a test unit on the allow-list is refused (exit 2).
pub async fn open_bench(
    bench: &Bench,
    checked: &BenchCheck,
    scenario: &Scenario,
) -> Result<(Devices, Guard), OpenFailure> {
    let pump = admit_pump(bench, checked.pump_options).await?;
    let density = bench
        .density_g_per_ml
        .unwrap_or(scenario.bench.density_g_per_ml);
    let (balance, balance_info) = match (&bench.balance, scenario.bench.balance) {
        (Some(b), true) => {
            let (driver, answer) = admit_balance(bench, b, checked.balance_timeout).await?;
            let info = BalanceInfo {
                identity: format!("{} {}", answer.model, answer.serial_number),
                port: b.link.port.clone(),
                density_g_per_ml: density,
                readability_mg: b
                    .readability_mg
                    .unwrap_or(crate::units::nominal::BALANCE_READABILITY_MG),
                calibration_due: b.calibration_due.clone(),
                answered: Some(BalanceAnswer {
                    model: answer.model,
                    capacity: answer.capacity,
                    serial_number: answer.serial_number,
                }),
            };
            (Some(driver), Some(info))
        }
        (None, true) => {
            return Err(refusal(format!(
                "scenario {} needs a balance; the bench file {} has no [balance]",
                scenario.id,
                bench.path.display()
            )))
        }
        _ => (None, None),
    };
    Ok((
        Devices {
            pump,
            balance,
            device_kind: crate::record::Mode::Bench,
            link: DeviceLink::Port,
            pump_port: bench.pump.port.clone(),
            balance_info,
            density_g_per_ml: density,
            virtual_time: bench.time == crate::record::TimeBase::Virtual,
            // Real time: nothing to advance, the status alone is read; a virtual-time device is
            // asked once whether it answers Advance and sample (protocol 12.16).
            sampling: if bench.time == crate::record::TimeBase::Virtual {
                PumpSampling::Untried
            } else {
                PumpSampling::Separate
            },
            // A device on a port may lose a frame, and a pipeline cannot re-send one.
            sample_batch: 1,
            balance_noise_mg: bench
                .balance
                .as_ref()
                .and_then(|b| b.repeatability_mg)
                .unwrap_or(0.0),
            balance_figures: bench
                .balance
                .as_ref()
                .map(|b| b.figures(bench))
                .unwrap_or_default(),
            test_system: Some(checked.test_system.clone()),
            warnings: checked.warnings.clone(),
            clock_tolerance: bench.clock_tolerance,
        },
        Guard::None,
    ))
}

/// The balance must be the one the bench file names: its calibration and readability are that
/// instrument's. A value the bench file leaves out is not checked (the report shows what the
/// balance said).
fn check_balance_identity(
    bench: &Bench,
    declared: &super::bench::BalanceConfig,
    answer: &crate::driver::balance::BalanceIdentity,
) -> Result<(), String> {
    let mut mismatches = Vec::new();
    if let Some(model) = &declared.model {
        if model.trim() != answer.model {
            mismatches.push(format!(
                "model: the bench file says {model:?}, the balance answers {:?} (I2)",
                answer.model
            ));
        }
    }
    if let Some(serial) = &declared.serial_number {
        if serial.trim() != answer.serial_number {
            mismatches.push(format!(
                "serial number: the bench file says {serial:?}, the balance answers {:?} (I4)",
                answer.serial_number
            ));
        }
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the balance on {} is not the one in {}: {}. Its calibration and readability would be another instrument's; connect the balance the bench file names, or correct [balance] model and serial_number",
        declared.link.port,
        bench.path.display(),
        mismatches.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestKind;

    #[test]
    fn a_clean_emulator_link_is_waited_out_and_a_lossy_one_is_not() {
        let clean = emulator_driver_options(&LinkFaults::default(), 7);
        assert_eq!(clean.max_retries, 7);
        assert_eq!(
            clean.timeout(RequestKind::Status),
            EMULATOR_CLEAN_TIMEOUT_FLOOR
        );
        assert_eq!(
            clean.timeout(RequestKind::AdvanceTime),
            std::time::Duration::from_secs(10)
        );
        let lossy = LinkFaults {
            drop_rate: 0.01,
            ..LinkFaults::default()
        };
        let lossy = emulator_driver_options(&lossy, 7);
        for kind in [RequestKind::Status, RequestKind::AdvanceTime] {
            assert_eq!(lossy.timeout(kind), EMULATOR_TIMEOUT_CAP);
        }
    }
}
