//! Benchmark: one simulated year of continuous delivery in-process (docs/performance.md).
//!
//! 1 mL/day (500 ug/day at 500 ug/mL) in 2.5 uL strokes is 400 strokes a day, 146 000 a year.

use pumphil::emulator::config::EmulatorConfig;
use pumphil::emulator::Device;
use pumphil::protocol::{Request, ResponseBody};
use std::time::Instant;

fn main() {
    let mut times = Vec::new();
    for _ in 0..21 {
        let mut config = EmulatorConfig::default();
        config.pump.initial_fill_nl = 40_000_000;
        config.pump.concentration_ug_per_ml = 500;
        let start = Instant::now();
        let mut device = Device::new(config);
        device.handle(&Request::ProgramContinuous { dose_ug_per_day: 500 }).expect("program");
        // Refill every 30 days, as a clinic would, so the year is delivered, not halted.
        for month in 1..=12u64 {
            device.advance_to(month * 30 * pumphil::units::MS_PER_DAY);
            device.handle(&Request::Refill { volume_nl: 40_000_000, concentration_ug_per_ml: 500 }).expect("refill");
        }
        device.advance_to(365 * pumphil::units::MS_PER_DAY);
        let elapsed = start.elapsed();
        let ResponseBody::Status(status) = device.handle(&Request::Status).expect("status") else { unreachable!() };
        assert_eq!(status.delivered_nl, 365_000_000, "a year at 1 mL/day");
        times.push(elapsed.as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!("one simulated year at 1 mL/day (146 000 strokes), {} runs: min {:.2} ms, median {:.2} ms, max {:.2} ms", times.len(), times[0], times[times.len() / 2], times[times.len() - 1]);
}
