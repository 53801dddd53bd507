//! Benchmark: one simulated year of continuous delivery in-process (docs/emulator.md,
//! "Performance"). 500 ug/day at 500 ug/mL is 1 mL/day: 400 strokes of 2.5 uL a day,
//! 146,000 in a year, with a 40 mL refill every 30 days. Target: well under 50 ms.

use pumphil::emulator::config::EmulatorConfig;
use pumphil::emulator::Device;
use pumphil::protocol::{Request, ResponseBody};
use pumphil::units::MS_PER_DAY;
use std::time::{Duration, Instant};

const RUNS: usize = 20;
const DAYS: u64 = 365;
const REFILL_EVERY_DAYS: u64 = 30;

/// Runs the year and returns the strokes the pump counted.
fn simulate_year() -> Result<u64, String> {
    let mut config = EmulatorConfig::default();
    config.pump.initial_fill_nl = 40_000_000;
    let mut device = Device::new(config);
    let ask = |device: &mut Device, request: &Request| {
        device
            .handle(request)
            .map_err(|code| format!("{request:?} refused: {code}"))
    };
    ask(
        &mut device,
        &Request::ProgramContinuous {
            dose_ug_per_day: 500,
        },
    )?;
    let mut day = 0;
    while day < DAYS {
        day = (day + REFILL_EVERY_DAYS).min(DAYS);
        device.advance_to(day * MS_PER_DAY);
        ask(
            &mut device,
            &Request::Refill {
                volume_nl: 40_000_000,
                concentration_ug_per_ml: 500,
            },
        )?;
        // Events pile up only at notable moments; drain them as a server would.
        device.drain_events();
    }
    match ask(&mut device, &Request::Status)? {
        ResponseBody::Status(status) => Ok(status.delivered_nl / device.config().pump.stroke_nl),
        other => Err(format!("unexpected answer to Status: {other:?}")),
    }
}

fn main() {
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut strokes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        match simulate_year() {
            Ok(n) => strokes = n,
            Err(message) => {
                eprintln!("emulator_year: {message}");
                std::process::exit(1);
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    if strokes != 146_000 {
        eprintln!("emulator_year: expected 146000 strokes in a year, counted {strokes}");
        std::process::exit(1);
    }
    println!(
        "emulator_year: {strokes} strokes (1 mL/day for {DAYS} days), {RUNS} runs: min {:.2} ms, median {:.2} ms",
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3
    );
}
