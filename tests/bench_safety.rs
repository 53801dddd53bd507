//! A real bench, played by `pumphil emulate` in real time on ptys: the interlocks that guard a
//! real pump, and runs that end early (signal, lost device, kill -9) without losing evidence.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pumphil");

struct Emulator {
    child: Child,
    pump: String,
    balance: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator(extra: &[&str]) -> Emulator {
    let mut child = Command::new(BIN)
        .args([
            "emulate",
            "--pty",
            "--json",
            "--realtime",
            "--serial",
            "TU-000123",
            "--initial-fill-ml",
            "3",
            "--reservoir-ml",
            "40",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: serde_json::Value = serde_json::from_str(&line).unwrap();
    Emulator {
        child,
        pump: ports["pump"].as_str().unwrap().into(),
        balance: ports["balance"].as_str().unwrap().into(),
    }
}

fn bench_file(dir: &Path, emu: &Emulator, allowed: &str) -> PathBuf {
    let path = dir.join("bench.toml");
    std::fs::write(
        &path,
        format!("station = \"test bench\"\nallowed_serial_numbers = [\"{allowed}\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\nmodel = \"EMU-BAL\"\nserial_number = \"BAL-0001\"\nreadability_mg = 0.1\ncalibration_due = \"2027-03-01\"\n", emu.pump, emu.balance),
    )
    .unwrap();
    path
}

fn run_on_bench(dir: &Path, bench: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--plain", "--reports"])
        .arg(dir.join("reports"))
        .arg("--bench")
        .arg(bench)
        .arg("scenarios/refill.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run_dir(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

fn wait_for_samples(dir: &Path, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(dir.join("reports")) {
            for e in entries.flatten() {
                let text =
                    std::fs::read_to_string(e.path().join("events.jsonl")).unwrap_or_default();
                if text.matches("\"type\":\"sample\"").count() >= at_least {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the bench run recorded no samples");
}

fn finish(child: Child) -> (i32, String) {
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

#[test]
fn a_pump_not_on_the_allow_list_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "TU-999999");
    let (code, text) = finish(run_on_bench(dir.path(), &bench));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not on this bench's allow-list"), "{text}");
}

#[test]
fn a_pump_that_is_not_a_test_unit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&["--not-test-unit"]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let (code, text) = finish(run_on_bench(dir.path(), &bench));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("does not identify as a test unit"), "{text}");
}

#[test]
fn sigterm_ends_a_bench_run_as_incomplete_with_its_evidence_kept() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let child = run_on_bench(dir.path(), &bench);
    wait_for_samples(dir.path(), 1);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (code, text) = finish(child);
    assert_eq!(code, 3, "{text}");
    let run = run_dir(dir.path());
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(events.contains("\"verdict\":\"incomplete\""), "{events}");
    assert!(events.contains("interrupted by signal"));
    assert!(events.contains("\"type\":\"run_finished\""));
    assert!(run.join("junit.xml").exists() && run.join("MANIFEST.sha256").exists());
}

#[test]
fn losing_the_pump_mid_scenario_ends_it_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let child = run_on_bench(dir.path(), &bench);
    wait_for_samples(dir.path(), 1);
    drop(emu);
    let started = Instant::now();
    let (code, text) = finish(child);
    assert_eq!(code, 3, "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let events = std::fs::read_to_string(run_dir(dir.path()).join("events.jsonl")).unwrap();
    assert!(
        events.contains("\"verdict\":\"incomplete\"") && events.contains("pump:"),
        "{events}"
    );
}

#[test]
fn after_kill_9_the_record_is_readable_and_the_report_renders_with_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let mut child = run_on_bench(dir.path(), &bench);
    wait_for_samples(dir.path(), 1);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let _ = child.wait();
    let run = run_dir(dir.path());
    let read = pumphil::record::journal::read(&run).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert!(read.records.len() >= 3);
    let out = Command::new(BIN).arg("report").arg(&run).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(summary.contains("\"verdict\": \"incomplete\""), "{summary}");
}
