//! Benchmark: request/response round trip to the emulator over a real pty (docs/performance.md).
//!
//! Measures Status round trips (driver → tokio-serial → pty → emulator task and back) on the
//! two tokio runtime flavours: the multi-thread one the runner uses, and a current-thread one
//! (no cross-thread wake-ups). Target: median < 100 µs on a 2-core machine.

use pumphil::driver::pump::PumpDriver;
use pumphil::emulator::config::EmulatorConfig;
use pumphil::link::serial::{open_serial, SerialSettings};
use pumphil::protocol::Request;
use std::time::Instant;

const WARM_UP: usize = 500;
const REQUESTS: usize = 5000;

async fn measure() -> Vec<f64> {
    let emulator = pumphil::emulator::spawn_on_ptys(EmulatorConfig::default(), false)
        .await
        .expect("emulator");
    let port = emulator.pump_port.display().to_string();
    let pump = PumpDriver::new(open_serial(&SerialSettings::pump(&port)).expect("port"));
    for _ in 0..WARM_UP {
        pump.request(&Request::Status).await.expect("warm-up");
    }
    let mut micros = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        pump.request(&Request::Status).await.expect("status");
        micros.push(start.elapsed().as_secs_f64() * 1e6);
    }
    assert!(pump.take_deviations().is_empty(), "no retries on a pty");
    micros.sort_by(|a, b| a.total_cmp(b));
    micros
}

fn report(flavour: &str, micros: &[f64]) {
    let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q) as usize];
    println!(
        "Status round trip over a pty, {flavour}, {} requests: median {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us",
        micros.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    report(
        "multi-thread runtime (2 workers)",
        &multi.block_on(measure()),
    );
    drop(multi);
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    report("current-thread runtime", &single.block_on(measure()));
}
