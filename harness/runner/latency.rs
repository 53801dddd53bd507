//! How quickly a bench answers: round trips to the pump and the balance, and the USB-serial
//! adapter's latency timer, measured before a scenario so the report shows what the bench was.

use crate::driver::balance::BalanceDriver;
use crate::driver::pump::PumpDriver;
use crate::link::endpoint::Address;
use crate::record::RoundTrip;
use std::path::Path;
use std::time::{Duration, Instant};

/// Requests timed per device: enough for a p99 that means something, few enough to cost well
/// under a second on a 115200-baud pump and a 9600-baud balance.
pub const PUMP_REQUESTS: u32 = 20;
pub const BALANCE_REQUESTS: u32 = 10;

/// An FTDI adapter's default latency timer: every short answer waits up to this long in the
/// adapter before the host sees it.
pub const SLOW_LATENCY_TIMER_MS: u32 = 16;

/// A bench's per-attempt timeout is this many times its measured p99 round trip, when that is
/// longer than the protocol's figure (docs/protocol.md 6.4). Four: a p99 over 20 requests is
/// about the slowest of them, and an answer twice as late as anything measured still leaves
/// room for as much again before a re-send, so a slow but sound link (a radio bridge, a network
/// serial server across a site) is never declared lost, while a dead device is still found
/// within `retries` x the timeout.
pub const TIMEOUT_FACTOR: u32 = 4;

/// While a bench is checked (identify, round trips), each attempt waits at least this long: its
/// round trip is not known yet, and the measurement must not time out on a slow link.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Re-sends allowed while a bench is checked: enough for a line glitch, few enough that a
/// dead device is reported in seconds at `SETUP_TIMEOUT` an attempt.
pub const SETUP_RETRIES: u32 = 3;

/// max(`default`, `TIMEOUT_FACTOR` x the measured p99): the wait for one answer on a bench.
pub fn scaled_timeout(default: Duration, measured: Option<&RoundTrip>) -> Duration {
    // Whole milliseconds, rounded up: the record states the figure that applied.
    let scaled_ms = measured
        .filter(|rt| rt.p99_ms.is_finite() && rt.p99_ms > 0.0)
        .map(|rt| (rt.p99_ms * f64::from(TIMEOUT_FACTOR)).ceil() as u64)
        .unwrap_or(0);
    let scaled = Duration::from_millis(scaled_ms);
    default.max(scaled)
}

/// p50 and p99 of a set of round trips (nearest rank).
pub fn round_trip(mut times: Vec<Duration>) -> Option<RoundTrip> {
    if times.is_empty() {
        return None;
    }
    times.sort();
    let rank = |p: f64| {
        let index = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
        times[index].as_secs_f64() * 1e3
    };
    Some(RoundTrip {
        requests: times.len() as u32,
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
    })
}

/// Times `PUMP_REQUESTS` status requests. A request that fails ends the measurement; what was
/// measured until then is kept.
pub async fn pump_round_trip(pump: &PumpDriver) -> Option<RoundTrip> {
    let mut times = Vec::new();
    for _ in 0..PUMP_REQUESTS {
        let start = Instant::now();
        if pump.status().await.is_err() {
            break;
        }
        times.push(start.elapsed());
    }
    round_trip(times)
}

/// Times `BALANCE_REQUESTS` immediate readings (`SI`).
pub async fn balance_round_trip(balance: &mut BalanceDriver) -> Option<RoundTrip> {
    let mut times = Vec::new();
    for _ in 0..BALANCE_REQUESTS {
        let start = Instant::now();
        if balance.weigh_immediate().await.is_err() {
            break;
        }
        times.push(start.elapsed());
    }
    round_trip(times)
}

/// The latency timer (ms) of the USB-serial adapter behind a device path, read from
/// `<sysfs>/bus/usb-serial/devices/<ttyUSBn>/latency_timer`; None for network endpoints,
/// ptys and adapters that do not show one.
pub fn latency_timer_ms(sysfs: &Path, port: &str) -> Option<u32> {
    let Ok(Address::Device(path)) = Address::parse(port) else {
        return None;
    };
    let device = std::fs::canonicalize(&path).unwrap_or_else(|_| std::path::PathBuf::from(&path));
    let name = device.file_name()?.to_str()?.to_string();
    let file = sysfs
        .join("bus/usb-serial/devices")
        .join(name)
        .join("latency_timer");
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// The warning for an adapter whose latency timer slows every answer, with the fix.
pub fn latency_timer_warning(role: &str, port: &str, timer_ms: u32) -> Option<String> {
    (timer_ms >= SLOW_LATENCY_TIMER_MS).then(|| {
        let name = Path::new(port)
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "ttyUSB0".into());
        format!(
            "the {role}'s USB-serial adapter on {port} has a {timer_ms} ms latency timer: every answer waits up to {timer_ms} ms in the adapter. Set it to 1 ms: `echo 1 | sudo tee /sys/bus/usb-serial/devices/{name}/latency_timer` (or a udev rule: ACTION==\"add\", SUBSYSTEM==\"usb-serial\", DRIVER==\"ftdi_sio\", ATTR{{latency_timer}}=\"1\")"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let times = (1..=100).map(Duration::from_millis).collect();
        let rt = round_trip(times).unwrap();
        assert_eq!((rt.requests, rt.p50_ms, rt.p99_ms), (100, 50.0, 99.0));
        let one = round_trip(vec![Duration::from_millis(7)]).unwrap();
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
        assert!(round_trip(vec![]).is_none());
    }

    #[test]
    fn a_timeout_is_the_default_or_four_times_the_p99_whichever_is_longer() {
        let rt = |p99_ms: f64| RoundTrip {
            requests: 20,
            p50_ms: p99_ms / 2.0,
            p99_ms,
        };
        let default = Duration::from_millis(250);
        assert_eq!(scaled_timeout(default, None), default);
        assert_eq!(scaled_timeout(default, Some(&rt(2.0))), default);
        assert_eq!(scaled_timeout(default, Some(&rt(62.5))), default);
        assert_eq!(
            scaled_timeout(default, Some(&rt(300.4))),
            Duration::from_millis(1202)
        );
        assert_eq!(scaled_timeout(default, Some(&rt(f64::NAN))), default);
    }

    #[test]
    fn the_latency_timer_is_read_from_sysfs_for_a_device_path_only() {
        let sysfs = tempfile::tempdir().unwrap();
        let dir = sysfs.path().join("bus/usb-serial/devices/ttyUSB7");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("latency_timer"), "16\n").unwrap();
        assert_eq!(latency_timer_ms(sysfs.path(), "/dev/ttyUSB7"), Some(16));
        assert_eq!(latency_timer_ms(sysfs.path(), "/dev/ttyUSB8"), None);
        assert_eq!(latency_timer_ms(sysfs.path(), "tcp://127.0.0.1:4000"), None);
        let warning = latency_timer_warning("pump", "/dev/ttyUSB7", 16).unwrap();
        assert!(
            warning.contains("16 ms") && warning.contains("latency_timer"),
            "{warning}"
        );
        assert!(latency_timer_warning("pump", "/dev/ttyUSB7", 1).is_none());
    }
}
