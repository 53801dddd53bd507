//! The MT-SICS balance driver against the emulated balance over a real pseudo-terminal: the
//! reading is the catheter-tip volume times density, zero and tare shift it, errors map.

use pumphil::driver::balance::{BalanceDriver, BalanceError};
use pumphil::driver::pump::PumpDriver;
use pumphil::emulator::config::EmulatorConfig;
use pumphil::emulator::{spawn_on_ptys, EmulatorHandle};
use pumphil::link::serial::{open_serial, SerialSettings};

const HOUR: u64 = 3_600_000;
/// Readability 0.1 mg, plus a hair for binary floating point.
const READABILITY_G: f64 = 0.000_100_1;

fn config() -> EmulatorConfig {
    let mut c = EmulatorConfig::default();
    c.pump.initial_fill_nl = 3_000_000;
    c
}

fn drivers(emulator: &EmulatorHandle) -> (PumpDriver, BalanceDriver) {
    let open = |settings: SerialSettings| open_serial(&settings).expect("open the emulator's pty");
    (
        PumpDriver::new(open(SerialSettings::pump(
            &emulator.pump_port.display().to_string(),
        ))),
        BalanceDriver::new(open(SerialSettings::balance(
            &emulator.balance_port.display().to_string(),
        ))),
    )
}

#[tokio::test]
async fn the_balance_weighs_what_left_the_catheter_tip() {
    let emulator = spawn_on_ptys(config(), false).await.unwrap();
    let (pump, mut balance) = drivers(&emulator);
    let empty = balance.weigh_stable().await.unwrap();
    assert_eq!(empty.grams, 0.0);
    assert!(empty.stable);
    pump.program_continuous(600).await.unwrap();
    pump.advance_to(24 * HOUR).await.unwrap();
    let tip_nl = pump.plant().await.unwrap().tip_nl;
    assert_eq!(
        tip_nl, 1_200_000,
        "1.2 mL a day at 600 µg/day and 500 µg/mL"
    );
    // 1.2 mL x 1.0046 g/mL = 1.20552 g, read to 0.1 mg as 1.2055 g.
    let reading = balance.weigh_immediate().await.unwrap();
    assert!((reading.grams - 1.2055).abs() < 1e-9, "{reading:?}");
    assert!((reading.grams - tip_nl as f64 * 1e-6 * 1.0046).abs() < READABILITY_G);
    assert!(
        reading.stable,
        "virtual time: nothing moves between requests"
    );
    assert_eq!(reading.unit, "g");
}

#[tokio::test]
async fn zero_and_tare_shift_the_reading() {
    let emulator = spawn_on_ptys(config(), false).await.unwrap();
    let (pump, mut balance) = drivers(&emulator);
    pump.program_continuous(600).await.unwrap();
    pump.advance_to(12 * HOUR).await.unwrap();
    // 0.6 mL on the pan (0.60276 g); zero it.
    balance.zero().await.unwrap();
    assert_eq!(balance.weigh_immediate().await.unwrap().grams, 0.0);
    pump.advance_to(24 * HOUR).await.unwrap();
    // Another 0.6 mL since the zero.
    let since_zero = balance.weigh_stable().await.unwrap().grams;
    assert!((since_zero - 0.6028).abs() < READABILITY_G, "{since_zero}");
    let tare = balance.tare().await.unwrap();
    assert!((tare.grams - 0.6028).abs() < READABILITY_G, "{tare:?}");
    assert!(balance.weigh_stable().await.unwrap().grams.abs() < READABILITY_G);
    // Reset clears zero and tare: the whole 1.2 mL is back.
    assert_eq!(balance.reset().await.unwrap(), "BAL-0001");
    let all = balance.weigh_stable().await.unwrap().grams;
    assert!((all - 1.2055).abs() < READABILITY_G, "{all}");
}

#[tokio::test]
async fn identity_and_error_replies() {
    let emulator = spawn_on_ptys(config(), false).await.unwrap();
    let (_pump, mut balance) = drivers(&emulator);
    let identity = balance.identify().await.unwrap();
    assert_eq!(
        (identity.model, identity.capacity, identity.serial_number),
        ("EMU-BAL".into(), "220.0000 g".into(), "BAL-0001".into())
    );
    assert_eq!(balance.command("XYZ").await.unwrap(), "ES");
    assert_eq!(
        balance.command("I3").await.unwrap().get(..6),
        Some("I3 A \"")
    );
    // The link still works after a syntax error.
    assert_eq!(balance.weigh_immediate().await.unwrap().grams, 0.0);
}

#[tokio::test]
async fn seeded_noise_gives_the_same_readings_every_run() {
    let mut noisy = config();
    noisy.balance.noise_mg = 0.3;
    noisy.balance.noise_seed = Some(42);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let emulator = spawn_on_ptys(noisy.clone(), false).await.unwrap();
        let (_pump, mut balance) = drivers(&emulator);
        let mut readings = Vec::new();
        for _ in 0..5 {
            readings.push(balance.weigh_immediate().await.unwrap().grams);
        }
        runs.push(readings);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].iter().any(|g| *g != 0.0),
        "noise is on: {:?}",
        runs[0]
    );
    // Five draws of sd 0.3 mg stay well inside ±3 mg.
    assert!(runs[0].iter().all(|g| g.abs() < 0.003), "{:?}", runs[0]);
}

#[tokio::test]
async fn a_closed_emulator_is_a_lost_balance() {
    let emulator = spawn_on_ptys(config(), false).await.unwrap();
    let (_pump, mut balance) = drivers(&emulator);
    balance.weigh_immediate().await.unwrap();
    drop(emulator);
    let result = balance.weigh_immediate().await;
    assert!(matches!(result, Err(BalanceError::Lost(_))), "{result:?}");
}
