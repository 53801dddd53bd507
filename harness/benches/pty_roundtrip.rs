//! Benchmark: request/response round trip to the emulator over a real pty (docs/performance.md).

use pumphil::driver::pump::PumpDriver;
use pumphil::emulator::config::EmulatorConfig;
use pumphil::link::serial::{open_serial, SerialSettings};
use pumphil::protocol::Request;
use std::time::Instant;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let emulator = pumphil::emulator::spawn_on_ptys(EmulatorConfig::default(), false).await.expect("emulator");
        let pump = PumpDriver::new(open_serial(&SerialSettings::pump(&emulator.pump_port.display().to_string())).expect("port"));
        for _ in 0..500 {
            pump.request(&Request::Status).await.expect("warm-up");
        }
        let mut micros = Vec::with_capacity(5000);
        for _ in 0..5000 {
            let start = Instant::now();
            pump.request(&Request::Status).await.expect("status");
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
        micros.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q) as usize];
        println!("Status round trip over a pty, {} requests: median {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us", micros.len(), at(0.5), at(0.9), at(0.99), at(1.0));
    });
}
