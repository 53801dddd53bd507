//! Benchmark: long scenarios over the in-memory link beside the same over ptys
//! (docs/performance.md, "The in-memory link").
//!
//! `pumphil run --link memory` reaches the in-process emulator without a pseudo-terminal; it is
//! for long soaks and never replaces the pty path, so it is only measured beside it: the 10-day
//! scenario (28 801 samples) and the one-year soak (`tests/soak/one-year.toml`, 1 051 201
//! samples), each run end to end by the release binary (record, checks and every output
//! rendered) over ptys and in memory in turn, alternately in one run, the pair's order swapped
//! each time so a drift in the machine's load falls on both. Wall time and us a sample are
//! printed for each run, and the medians and the pty/memory ratio at the end.
//!
//!   cargo bench --bench link_soak
//!   LINK_SOAK_PAIRS=5 LINK_SOAK_YEAR_PAIRS=2 cargo bench --bench link_soak

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_pumphil");
const TEN_DAYS: &str = include_str!("ten_days.toml");
const TEN_DAY_SAMPLES: usize = 10 * 24 * 120 + 1;
const ONE_YEAR: &str = "tests/soak/one-year.toml";
const ONE_YEAR_SAMPLES: usize = 365 * 24 * 120 + 1;
const LINKS: [&str; 2] = ["pty", "memory"];

/// One end-to-end run: its wall time, CPU time (user + system) and peak resident set.
struct Measured {
    wall_s: f64,
    cpu_s: f64,
    peak_rss_mib: f64,
}

/// Runs `pumphil run --link LINK` on `scenario` to its end and measures it; the run directory
/// is removed afterwards (a year's is hundreds of megabytes).
fn run(link: &str, scenario: &Path, fixtures: &Path, work: &Path) -> Measured {
    let reports = work.join(format!("reports-{link}"));
    let started = Instant::now();
    // wait4, not Child::wait, reaps the child: it also returns the child's rusage.
    let pid = Command::new(BIN)
        .args(["run", "--plain", "--quiet", "--link", link, "--reports"])
        .arg(&reports)
        .arg("--fixtures")
        .arg(fixtures)
        .arg(scenario)
        // Outside the project: its requirements.toml does not define the benchmark's PH-REQ-090.
        .current_dir(work)
        .stdout(Stdio::null())
        .spawn()
        .expect("pumphil run starts")
        .id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, and `pid` is our own child, waited for exactly once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "pumphil run --link {link} {} did not pass: status {status:#x}",
        scenario.display()
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let _ = std::fs::remove_dir_all(&reports);
    Measured {
        wall_s,
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// Writes the expected traces of `scenario` under `fixtures` (a year of rows is not committed).
fn expect(scenario: &Path, fixtures: &Path) {
    let status = Command::new(BIN)
        .args(["expect", "--write", "--fixtures"])
        .arg(fixtures)
        .arg(scenario)
        .current_dir(fixtures.parent().unwrap_or(fixtures))
        .stdout(Stdio::null())
        .status()
        .expect("pumphil expect");
    assert!(status.success(), "pumphil expect {}", scenario.display());
}

/// The middle value, or the mean of the two middle ones (two pairs give their mean).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let half = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[half - 1] + values[half]) / 2.0
    } else {
        values[half]
    }
}

/// Runs `pairs` pairs of `scenario` (pty and memory, the order swapped each pair) and prints
/// each run and the medians.
fn pairs_of(label: &str, scenario: &Path, samples: usize, pairs: usize, fixtures: &Path) {
    let work = tempfile::tempdir().expect("temporary directory");
    let mut walls: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for pair in 0..pairs {
        let mut order = [0, 1];
        if pair % 2 == 1 {
            order.reverse();
        }
        let mut this_pair = [0.0; 2];
        for which in order {
            let link = LINKS[which];
            let m = run(link, scenario, fixtures, work.path());
            println!(
                "{label} pair {}: --link {link:6} {:8.2} s wall, {:6.1} us a sample, {:8.2} s CPU, peak RSS {:5.1} MiB",
                pair + 1,
                m.wall_s,
                m.wall_s / samples as f64 * 1e6,
                m.cpu_s,
                m.peak_rss_mib
            );
            this_pair[which] = m.wall_s;
            walls[which].push(m.wall_s);
        }
        ratios.push(this_pair[0] / this_pair[1]);
    }
    let [pty, memory] = walls.map(median);
    println!(
        "{label}: {samples} samples, {pairs} pair(s), end to end with outputs: median {pty:.2} s over ptys ({:.1} us a sample), {memory:.2} s in memory ({:.1} us a sample); median pty/memory ratio {:.2}",
        pty / samples as f64 * 1e6,
        memory / samples as f64 * 1e6,
        median(ratios)
    );
}

fn pairs_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let ten_day_pairs = pairs_from_env("LINK_SOAK_PAIRS", 3);
    let year_pairs = pairs_from_env("LINK_SOAK_YEAR_PAIRS", 1);
    let dir = tempfile::tempdir().expect("temporary directory");
    let ten_days = dir.path().join("ten-days.toml");
    std::fs::write(&ten_days, TEN_DAYS).expect("scenario file");
    let fixtures = dir.path().join("fixtures");
    let year = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(ONE_YEAR);
    expect(&ten_days, &fixtures);
    if year_pairs > 0 {
        expect(&year, &fixtures);
    }
    pairs_of(
        "10 days",
        &ten_days,
        TEN_DAY_SAMPLES,
        ten_day_pairs,
        &fixtures,
    );
    if year_pairs > 0 {
        pairs_of("one year", &year, ONE_YEAR_SAMPLES, year_pairs, &fixtures);
    }
}
