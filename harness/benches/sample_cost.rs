//! Benchmark: what a sample costs, as a multiple of a raw pty round trip (docs/performance.md).
//!
//! A long scenario (10 days sampled every 30 s: 28 801 samples, balance on) runs end to end on
//! the built-in emulator over ptys, and the same number of round trips of a raw two-thread pty
//! echo of a 32-byte frame is timed right after it, alternately several times in one run. The
//! raw echo swings with the machine's state (an idle core costs about 100 us a wake-up on the
//! build VM), so only the ratio of a pair means anything; the median ratio is the figure.
//!
//! Three ways of sampling are timed in each pair: pipelined (the default on the in-process
//! emulator: 32 samples' requests written at once, the balance streaming a weight a sample), one
//! sample at a time (`PUMPHIL_SAMPLE_BATCH=1`: Advance and sample, then the balance), and the
//! separate requests of a pump without Advance and sample.

use pumphil::emulator::link_faults::LinkFaults;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_pumphil");
const SAMPLES: usize = 10 * 24 * 120 + 1;
const FRAME: usize = 32;

/// Ten days of continuous therapy sampled every 30 s, balance on (shared with `link_soak`).
const SCENARIO: &str = include_str!("ten_days.toml");

/// How the runner samples the pump.
#[derive(Clone, Copy, PartialEq)]
enum Sampling {
    /// The default: many samples' requests at once.
    Pipelined,
    /// Advance and sample, then the balance, one sample after the other.
    OneAtATime,
    /// Advance time, Status and Read bench plant (and the balance read beside them), as for a
    /// pump without Advance and sample: a link fault that never happens (a hang-up at the end
    /// of time) makes the runner use them.
    Separate,
}

/// Seconds for one run of the scenario, everything the runner does included.
fn run_scenario(
    runtime: &tokio::runtime::Runtime,
    scenario: &Path,
    fixtures: &Path,
    sampling: Sampling,
) -> f64 {
    // Read by the runner when it opens the emulator; nothing else runs while it is set.
    std::env::set_var(
        "PUMPHIL_SAMPLE_BATCH",
        if sampling == Sampling::OneAtATime {
            "1"
        } else {
            "32"
        },
    );
    let separate = sampling == Sampling::Separate;
    let reports = tempfile::tempdir().expect("temporary directory");
    let options = pumphil::runner::RunOptions {
        paths: vec![scenario.to_path_buf()],
        jobs: 1,
        seed: 1,
        noise_mg: 0.1,
        benches: Vec::new(),
        operator: None,
        reports_dir: reports.path().to_path_buf(),
        fixtures: Some(fixtures.to_path_buf()),
        plain: true,
        quiet: true,
        command_line: vec!["bench".into()],
        link_faults: LinkFaults {
            hangup_at_ms: separate.then_some(u64::MAX),
            ..LinkFaults::default()
        },
        retries: pumphil::runner::devices::DEFAULT_RETRIES,
        csf: Default::default(),
        allow_expired_calibration: false,
        requirements: None,
        require_conclusive: false,
        link: Default::default(),
    };
    let start = Instant::now();
    let outcome = runtime
        .block_on(pumphil::runner::run(options))
        .expect("the benchmark scenario ran");
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(outcome.exit_code, 0, "the benchmark scenario did not pass");
    seconds
}

/// A raw pty pair, the slave in raw mode, both ends blocking.
fn raw_pty() -> (std::fs::File, std::fs::File) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors; a null name, termios and winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: termios is plain data, filled by tcgetattr from an open terminal.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
    (master.into(), slave.into())
}

/// Seconds for `count` round trips of a 32-byte frame: one thread writes it to the master and
/// reads the answer, another reads it from the slave and writes it back.
fn raw_echo(count: usize) -> f64 {
    let (mut master, mut slave) = raw_pty();
    let echo = std::thread::spawn(move || {
        let mut frame = [0u8; FRAME];
        for _ in 0..count {
            slave.read_exact(&mut frame).expect("echo read");
            slave.write_all(&frame).expect("echo write");
        }
    });
    let out = [0x55u8; FRAME];
    let mut back = [0u8; FRAME];
    let start = Instant::now();
    for _ in 0..count {
        master.write_all(&out).expect("write");
        master.read_exact(&mut back).expect("read");
    }
    let seconds = start.elapsed().as_secs_f64();
    echo.join().expect("echo thread");
    seconds
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let pairs: usize = std::env::var("SAMPLE_COST_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = dir.path().join("sample-cost.toml");
    std::fs::write(&scenario, SCENARIO).expect("scenario file");
    let fixtures = dir.path().join("fixtures");
    let expect = Command::new(BIN)
        .args(["expect", "--write", "--fixtures"])
        .arg(&fixtures)
        .arg(&scenario)
        .stdout(Stdio::null())
        .status()
        .expect("pumphil expect");
    assert!(expect.success(), "pumphil expect failed");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let ways = [
        ("pipelined", Sampling::Pipelined),
        ("one at a time", Sampling::OneAtATime),
        ("separate requests", Sampling::Separate),
    ];
    let mut echo_us = Vec::new();
    let mut us = vec![Vec::new(); ways.len()];
    let mut ratios = vec![Vec::new(); ways.len()];
    for pair in 1..=pairs {
        let per_echo = raw_echo(SAMPLES) / SAMPLES as f64 * 1e6;
        echo_us.push(per_echo);
        let mut line = format!("pair {pair}: raw pty round trip {per_echo:.1} us");
        for (i, (name, sampling)) in ways.iter().enumerate() {
            let per_sample =
                run_scenario(&runtime, &scenario, &fixtures, *sampling) / SAMPLES as f64 * 1e6;
            line += &format!(
                "; {name} {per_sample:.1} us a sample, ratio {:.2}",
                per_sample / per_echo
            );
            us[i].push(per_sample);
            ratios[i].push(per_sample / per_echo);
        }
        println!("{line}");
    }
    println!(
        "{SAMPLES} samples (balance on) against as many raw 32-byte pty round trips, {pairs} pairs (median raw round trip {:.1} us):",
        median(&mut echo_us)
    );
    for (i, (name, _)) in ways.iter().enumerate() {
        println!(
            "  {name}: median ratio {:.2}, median {:.1} us a sample",
            median(&mut ratios[i]),
            median(&mut us[i])
        );
    }
}
