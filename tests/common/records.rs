//! Pieces of synthetic run records (events as the runner would append them), shared by the tests
//! that render, report on or judge a record without running a pump.

use pumphil::checks::{CheckResult, Verdict};
use pumphil::expect::ExpectedSample;
use pumphil::protocol::TherapyState;
use pumphil::record::{
    DeviceInfo, FileRef, Mode, PlannedScenario, RunEvent, Sample, ScenarioKind, ScenarioVerdict,
    SCHEMA_VERSION,
};
use pumphil::scenario::NegativeControl;
use serde_json::json;

/// A record type written as the JSON it is recorded as.
pub fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("the JSON has the record's shape")
}

pub fn file(path: &str) -> FileRef {
    FileRef {
        path: path.into(),
        sha256: "ab".repeat(32),
    }
}

/// The emulated pump `PH-EMU-40 S/N EMU-0001` on `port`, with a virtual clock.
pub fn emulator_device(port: &str, reservoir_capacity_nl: u64) -> DeviceInfo {
    DeviceInfo {
        model: "PH-EMU-40".into(),
        serial_number: "EMU-0001".into(),
        firmware_version: "emu-0.1.0".into(),
        protocol_version: 1,
        reservoir_capacity_nl,
        test_unit: true,
        kind: Mode::Emulator,
        port: port.into(),
        time_base: pumphil::record::TimeBase::Virtual,
        link: Default::default(),
    }
}

/// A scenario's setup: the pump filled with 20 mL of 500 µg/mL, no defects, the usual tolerance.
pub fn setup<T: serde::de::DeserializeOwned>(reservoir_ml: u32, balance: bool) -> T {
    typed(json!({
        "device": {"reservoir_ml": reservoir_ml, "initial_fill_nl": 20_000_000u64, "concentration_ug_per_ml": 500,
                   "low_reservoir_threshold_nl": 2_000_000u64, "battery_permille": null, "stroke_nl": 2500,
                   "battery_life_days": 2555, "eri_threshold_permille": 100, "eos_after_eri_days": 90, "patient_group": "spinal"},
        "bench": {"balance": balance, "density_g_per_ml": 1.0046},
        "tolerance": {"volume_relative": 0.15, "volume_absolute_nl": 5100, "alarm_ms": 300_000},
        "defects": null
    }))
}

/// The discrepancy watch every synthetic scenario expects (10 min window, ±10 %).
pub fn discrepancy() -> serde_json::Value {
    json!({"window_ms": 600_000, "under_ratio": 0.9, "over_ratio": 1.1, "min_strokes": 20, "stopped_ratio": 0.1})
}

/// A scenario of a 40 mL pump with no steps, no alarms expected and the volumes checked (the tip
/// volume only with a balance), sampled every 10 min until `end_ms`.
pub fn started(
    id: &str,
    negative_control: Option<NegativeControl>,
    end_ms: u64,
    balance: bool,
) -> RunEvent {
    RunEvent::ScenarioStarted {
        scenario: id.into(),
        title: format!("Title of {id}"),
        description: String::new(),
        requirements: vec!["REQ-1".into()],
        hazard: "over-infusion".into(),
        negative_control,
        file: file(&format!("scenarios/{id}.toml")),
        fixtures: vec![],
        device: emulator_device("/dev/pts/3", 40_000_000),
        balance: None,
        test_system: None,
        end_ms,
        sample_ms: 600_000,
        setup: setup(40, balance),
        steps: vec![],
        expectations: typed(json!({
            "alarms": [], "forbidden": [], "findings": [],
            "check_delivered": true, "check_calculated": true, "check_tip": balance,
            "discrepancy": discrepancy()
        })),
        expected_samples: vec![],
        expected_alarms: vec![],
    }
}

/// A check judged at 10 min: 0.0300 mL measured against 0.0250 ± 0.0051 mL.
pub fn check(id: &str, name: &str, pass: bool, detail: &str) -> RunEvent {
    RunEvent::Check {
        scenario: id.into(),
        result: CheckResult {
            name: name.into(),
            verdict: if pass { Verdict::Pass } else { Verdict::Fail },
            expected: "0.0250 mL".into(),
            measured: "0.0300 mL".into(),
            tolerance: "±0.0051 mL".into(),
            margin: Some(if pass { 0.1 } else { -4.9 }),
            unit: "uL".into(),
            at_ms: Some(600_000),
            detail: detail.into(),
            margin_percent: None,
            end_value: None,
            uncertainty: None,
        },
    }
}

pub fn finished(
    id: &str,
    verdict: ScenarioVerdict,
    failed: &[&str],
    reason: Option<&str>,
    wall_ms: u64,
) -> RunEvent {
    RunEvent::ScenarioFinished {
        scenario: id.into(),
        verdict,
        failed_checks: failed.iter().map(|f| f.to_string()).collect(),
        reason: reason.map(str::to_string),
        wall_ms,
    }
}

/// The planned scenarios of a run: each id with whether it is a negative control.
pub fn planned<'a>(scenarios: impl IntoIterator<Item = (&'a str, bool)>) -> Vec<PlannedScenario> {
    scenarios
        .into_iter()
        .map(|(id, control)| PlannedScenario {
            id: id.to_string(),
            kind: if control {
                ScenarioKind::NegativeControl
            } else {
                ScenarioKind::Scenario
            },
            path: format!("scenarios/{id}.toml"),
            sha256: "ab".repeat(32),
        })
        .collect()
}

/// The first event of a synthetic emulator run on host "bench-01" (linux, no operator named).
pub fn run_started(
    run_id: &str,
    seed: u64,
    jobs: usize,
    scenarios: Vec<PlannedScenario>,
) -> RunEvent {
    RunEvent::RunStarted {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.into(),
        started_utc: "2026-03-01T08:00:00Z".into(),
        harness_version: "0.1.0".into(),
        git_commit: "e6b8f8517b88".into(),
        host: "bench-01".into(),
        os: "linux".into(),
        operator: None,
        command_line: vec!["pumphil".into(), "run".into()],
        mode: Mode::Emulator,
        bench_file: None,
        seed,
        jobs,
        scenarios,
        csf: Default::default(),
        requirements: None,
        partition: None,
        parts: vec![],
    }
}

/// A running pump's sample of a 20 mL reservoir at 1000 ug/day: `delivered_nl` pumped so far,
/// `tip_nl` of it at the catheter tip and weighed (at 1.0046 g/mL).
pub fn running_sample(id: &str, t_ms: u64, delivered_nl: u64, tip_nl: u64) -> RunEvent {
    RunEvent::Sample {
        scenario: id.into(),
        sample: Sample {
            t_ms,
            device_time_ms: t_ms,
            delivered_nl,
            calculated_nl: 20_000_000 - delivered_nl,
            dose_rate_ug_per_day: 1000,
            concentration_ug_per_ml: 500,
            therapy_state: TherapyState::Running,
            battery_permille: 1000,
            elective_replacement: false,
            end_of_service: false,
            active_alarms: vec![],
            balance_g: Some(tip_nl as f64 * 1.0046 / 1e6),
            balance_stable: Some(true),
            tip_nl: Some(tip_nl),
            actual_reservoir_nl: Some(20_000_000 - delivered_nl),
            pocket_nl: Some(0),
        },
    }
}

/// The expected rows of 2 mL/day from a 20 mL reservoir, every 10 minutes for 6 hours.
pub fn expected_two_ml_a_day() -> Vec<ExpectedSample> {
    const MIN: u64 = 60_000;
    (0..=36u64)
        .map(|i| {
            let t_ms = i * 10 * MIN;
            let delivered = t_ms * 2_000_000 / (24 * 60 * MIN);
            ExpectedSample {
                t_ms,
                delivered_nl: delivered,
                calculated_nl: 20_000_000 - delivered,
                tip_nl: delivered,
                actual_nl: 20_000_000 - delivered,
                programmed_nl_per_day: 2_000_000,
            }
        })
        .collect()
}
