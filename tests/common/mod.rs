//! Fixtures shared by the integration tests: the binary, `pumphil emulate` as a child process,
//! run options for in-process runs, the run directory a run leaves, a closed pipe, and (in
//! `records`) the events of synthetic run records.
// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod records;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_pumphil");

/// `pumphil emulate --pty --json ...` running, with the ports it printed; killed when dropped.
pub struct Emulator {
    pub child: Child,
    pub pump: String,
    pub balance: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pumphil emulate --pty --json` with `args` and reads the ports from its first line.
pub fn emulate(args: &[&str]) -> Emulator {
    emulate_serving(&["--pty"], args)
}

/// `pumphil emulate` serving its devices as `serve` says (`--pty`, or `--tcp ADDR
/// --balance-tcp ADDR`), with `args`; the ports are read from its `--json` line.
pub fn emulate_serving(serve: &[&str], args: &[&str]) -> Emulator {
    let mut child = Command::new(BIN)
        .arg("emulate")
        .args(serve)
        .arg("--json")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Emulator {
        child,
        pump: ports["pump"].as_str().unwrap_or_default().into(),
        balance: ports["balance"].as_str().unwrap_or_default().into(),
    }
}

/// A bench's test pump (serial TU-000123, 3 mL in a 40 mL reservoir) played in real time by
/// `pumphil emulate --pty`, with `extra` arguments.
pub fn realtime_test_pump(extra: &[&str]) -> Emulator {
    realtime_test_pump_serving(&["--pty"], 40, extra)
}

/// As `realtime_test_pump`, served as `serve` says and with a reservoir of `reservoir_ml`.
pub fn realtime_test_pump_serving(serve: &[&str], reservoir_ml: u32, extra: &[&str]) -> Emulator {
    let reservoir_ml = reservoir_ml.to_string();
    let mut args = vec![
        "--realtime",
        "--serial",
        "TU-000123",
        "--initial-fill-ml",
        "3",
        "--reservoir-ml",
        &reservoir_ml,
    ];
    args.extend_from_slice(extra);
    emulate_serving(serve, &args)
}

/// Waits for a `pumphil` child and returns its exit code (-1 when killed by a signal) and its
/// stdout and stderr together.
pub fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Options for an in-process run of `paths` (all of scenarios/ when empty) on the emulator:
/// quiet, seeded, two at a time; tests change what they need.
pub fn run_options(reports: &Path, paths: Vec<PathBuf>) -> pumphil::runner::RunOptions {
    pumphil::runner::RunOptions {
        paths,
        jobs: 2,
        seed: 1,
        noise_mg: 0.1,
        benches: Vec::new(),
        operator: Some("integration test".into()),
        reports_dir: reports.to_path_buf(),
        fixtures: None,
        plain: true,
        quiet: true,
        command_line: vec!["integration-test".into()],
        link_faults: Default::default(),
        retries: pumphil::driver::pump::MAX_RETRIES,
        csf: Default::default(),
        allow_expired_calibration: false,
        requirements: None,
        require_conclusive: false,
        link: Default::default(),
    }
}

/// The one run directory under `reports` (a test makes one run per reports directory).
pub fn run_dir(reports: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .unwrap_or_else(|e| panic!("{}: {e}", reports.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory in {}", reports.display());
    dirs.remove(0)
}

/// `pumphil run --plain --quiet --requirements requirements.toml` of `scenarios`, with `options`
/// before them, asserted to exit 0 (all PASS); the run directory it left under `reports`.
pub fn passing_run_with_requirements(
    reports: &Path,
    options: &[&str],
    scenarios: &[&str],
) -> PathBuf {
    let out = Command::new(BIN)
        .args(["run", "--plain", "--quiet"])
        .args(options)
        .args(["--requirements", "requirements.toml", "--reports"])
        .arg(reports)
        .args(scenarios)
        .output()
        .expect("pumphil run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    run_dir(reports)
}

/// `pumphil ARGS` run to its end, with no signing key taken from the environment.
pub fn pumphil_unsigned(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PUMPHIL_SIGN_KEY")
        .output()
        .expect("pumphil runs")
}

/// What a finished command printed: its stdout, then its stderr.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scenario of seconds on a real-time bench for PH-REQ-020: a 40 mL pump holding 3 mL of
/// 500 ug/mL on continuous 1000 ug/day from 0 s (no stroke falls due in seconds), sampled every
/// second until `end`; `tail` is TOML that follows (more steps, expectations, a [bench] table).
pub fn seconds_scenario(id: &str, title: &str, hazard: &str, end: &str, tail: &str) -> String {
    format!(
        r#"id = "{id}"
title = "{title}"
requirements = ["PH-REQ-020"]
hazard = "{hazard}"

[device]
reservoir_ml = 40
initial_fill_ml = 3.0
concentration_ug_per_ml = 500
low_reservoir_threshold_ml = 1.0

[timing]
end = "{end}"
sample_every = "1s"

[[step]]
at = "0s"
program = {{ continuous_ug_per_day = 1000 }}
{tail}"#
    )
}

/// Writes `text` as the scenario file `path` (making its folder) and its expected traces, as
/// `pumphil expect PATH --write` makes them (in `fixtures/` beside the scenario's folder).
pub fn scenario_with_fixtures(path: &Path, text: &str) -> PathBuf {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::fs::write(path, text).unwrap();
    write_fixtures(path);
    path.to_path_buf()
}

/// Waits until the run writing into `reports` has recorded `at_least` blocks of samples.
pub fn wait_for_sample_blocks(reports: &Path, at_least: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        for run in std::fs::read_dir(reports).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(run.path().join("events.jsonl")).unwrap_or_default();
            // Samples are recorded in blocks of at least one.
            if text.matches("\"type\":\"sample_block\"").count() >= at_least {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the run recorded no samples");
}

/// Whether a run record (`events.jsonl`) shows the injected flow bias cleared.
pub fn flow_bias_restored(events: &str) -> bool {
    events.lines().any(|l| {
        l.contains("\"action\":{\"restore\":\"flow_bias\"}")
            && l.contains("\"outcome\":{\"status\":\"restored\"}")
    })
}

/// `pumphil expect SCENARIO --write`, asserted to succeed.
pub fn write_fixtures(scenario: &Path) {
    let out = Command::new(BIN)
        .arg("expect")
        .arg(scenario)
        .arg("--write")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Writes the bench file `path` of station `station` for `emu`'s test pump (TU-000123, the only
/// one allowed) and its balance EMU-BAL BAL-0001 (0.1 mg), calibrated until `calibration_due`.
pub fn test_bench_file(
    path: &Path,
    station: &str,
    emu: &Emulator,
    calibration_due: &str,
) -> PathBuf {
    std::fs::write(
        path,
        format!("station = \"{station}\"\nallowed_serial_numbers = [\"TU-000123\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\nmodel = \"EMU-BAL\"\nserial_number = \"BAL-0001\"\nreadability_mg = 0.1\ncalibration_due = \"{calibration_due}\"\n", emu.pump, emu.balance),
    )
    .unwrap();
    path.to_path_buf()
}

/// `pumphil keygen DIR/NAME`, asserted to succeed; the private key's path.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let out = pumphil_unsigned(&["keygen", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", output_text(&out));
    key
}

/// The public key keygen writes beside the private `key`.
pub fn public_key(key: &Path) -> String {
    format!("{}.pub", key.display())
}

/// Rewrites every line's `prev` so the hash chain links again, as a forger would.
pub fn recompute_chain(events: &str) -> String {
    let mut prev = "0".repeat(64);
    let mut out = String::new();
    for line in events.lines() {
        let at = line.find("\"prev\":\"").expect("prev field") + 8;
        let line = format!("{}{}{}", &line[..at], prev, &line[at + 64..]);
        prev = pumphil::scenario::sha256_hex(line.as_bytes());
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A link to the pump pty of an in-process emulator.
pub fn pump_link(emulator: &pumphil::emulator::EmulatorHandle) -> pumphil::link::BoxLink {
    pumphil::link::serial::open_serial(&pumphil::link::serial::SerialSettings::pump(
        &emulator.pump_port.display().to_string(),
    ))
    .expect("open the emulator's pty")
}

/// The default emulator spawned in process on ptys (virtual time), and a driver of its pump.
pub async fn emulated_pump() -> (
    pumphil::emulator::EmulatorHandle,
    pumphil::driver::pump::PumpDriver,
) {
    let emulator = pumphil::emulator::spawn_on_ptys(Default::default(), false)
        .await
        .unwrap();
    let pump = pumphil::driver::pump::PumpDriver::new(pump_link(&emulator));
    (emulator, pump)
}

/// The write end of a pipe whose read end is already closed: every write to it fails with
/// EPIPE, as when `| head -1` has read its line and gone.
pub fn closed_pipe() -> Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe() fills both descriptors on success; each is owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe()");
    let (read, write) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    Stdio::from(write)
}

/// Headless chromium for printing reports to PDF (`PUMPHIL_CHROMIUM`, else /usr/bin/chromium),
/// when installed (`.ci/run` installs it).
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PUMPHIL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

/// Prints `html` to `pdf` as a reader's print dialog would, without chromium's own header and
/// footer (the report's page-margin boxes are what is checked).
pub fn print_pdf(chromium: &Path, html: &Path, pdf: &Path, profile: &Path) {
    let status = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        status.status.success() && pdf.exists(),
        "chromium failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The text of each page of `pdf` (pdftotext, pages split at form feeds); None when pdftotext
/// is not installed.
pub fn pdf_page_texts(pdf: &Path) -> Option<Vec<String>> {
    let out = Command::new("pdftotext").arg(pdf).arg("-").output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .map(str::to_string)
            .collect(),
    )
}
