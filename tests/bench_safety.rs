//! A real bench, played by `pumphil emulate` in real time on ptys: the interlocks that guard a
//! real pump, and runs that end early (signal, lost pump or balance, kill -9) without losing
//! evidence or leaving an injected fault in the pump.

mod common;

use common::{finish, Emulator, BIN};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn emulator(extra: &[&str]) -> Emulator {
    emulator_of(40, extra)
}

fn emulator_of(reservoir_ml: u32, extra: &[&str]) -> Emulator {
    emulator_serving(&["--pty"], reservoir_ml, extra)
}

/// The emulator on loopback TCP ports instead of ptys (`tcp://127.0.0.1:P` endpoints).
fn emulator_on_tcp() -> Emulator {
    emulator_serving(
        &["--tcp", "127.0.0.1:0", "--balance-tcp", "127.0.0.1:0"],
        40,
        &[],
    )
}

fn emulator_serving(serve: &[&str], reservoir_ml: u32, extra: &[&str]) -> Emulator {
    common::realtime_test_pump_serving(serve, reservoir_ml, extra)
}

fn bench_file(dir: &Path, emu: &Emulator, allowed: &str) -> PathBuf {
    bench_file_with_balance(dir, emu, &emu.balance, allowed)
}

fn bench_file_with_balance(dir: &Path, emu: &Emulator, balance: &str, allowed: &str) -> PathBuf {
    let path = dir.join("bench.toml");
    std::fs::write(
        &path,
        format!("station = \"test bench\"\nallowed_serial_numbers = [\"{allowed}\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{balance}\"\nmodel = \"EMU-BAL\"\nserial_number = \"BAL-0001\"\nreadability_mg = 0.1\ncalibration_due = \"2099-03-01\"\n", emu.pump),
    )
    .unwrap();
    path
}

/// Injects a +20 % flow bias at its start: a fault the harness must clear on any exit. It
/// needs a 20 mL pump.
const FAULT_SCENARIO: &str = "scenarios/reservoir-empty-flow-bias.toml";
const FAULT_SCENARIO_RESERVOIR_ML: u32 = 20;

fn run_on_bench(dir: &Path, bench: &Path) -> Child {
    run_scenario_on_bench(dir, bench, "scenarios/refill.toml")
}

fn run_scenario_on_bench(dir: &Path, bench: &Path, scenario: &str) -> Child {
    Command::new(BIN)
        .args(["run", "--plain", "--reports"])
        .arg(dir.join("reports"))
        .arg("--bench")
        .arg(bench)
        .arg(scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run_dir(dir: &Path) -> PathBuf {
    common::run_dir(&dir.join("reports"))
}

fn wait_for_samples(dir: &Path, at_least: usize) {
    common::wait_for_sample_blocks(&dir.join("reports"), at_least);
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
fn a_bench_on_tcp_endpoints_reaches_its_pump_and_keeps_the_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator_on_tcp();
    assert!(emu.pump.starts_with("tcp://127.0.0.1:"), "{}", emu.pump);
    let bench = bench_file(dir.path(), &emu, "TU-999999");
    let (code, text) = finish(run_on_bench(dir.path(), &bench));
    assert_eq!(code, 2, "{text}");
    // The pump answered over TCP with its serial number, which the allow-list refused.
    assert!(
        text.contains("pump TU-000123 on tcp://127.0.0.1:")
            && text.contains("not on this bench's allow-list"),
        "{text}"
    );
}

#[test]
fn an_expired_balance_calibration_is_refused_unless_the_run_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "TU-999999");
    let text = std::fs::read_to_string(&bench).unwrap();
    std::fs::write(&bench, text.replace("2099-03-01", "2020-03-01")).unwrap();
    let (code, text) = finish(run_on_bench(dir.path(), &bench));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("bench.toml:12:19") && text.contains("was due on 2020-03-01"),
        "{text}"
    );
    // Allowed, the run goes on to the pump (refused here by the allow-list, as it should be).
    let allowed = Command::new(BIN)
        .args(["run", "--plain", "--allow-expired-calibration", "--reports"])
        .arg(dir.path().join("reports"))
        .arg("--bench")
        .arg(&bench)
        .arg("scenarios/refill.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, text) = finish(allowed);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("not on this bench's allow-list") && !text.contains("was due on"),
        "{text}"
    );
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

/// Ctrl-C (SIGINT) and SIGTERM end a run the same way: the scenario is INCOMPLETE, the
/// pump's injected fault is cleared, and every output is written.
fn a_signal_ends_a_bench_run_as_incomplete_with_its_evidence_kept(signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator_of(FAULT_SCENARIO_RESERVOIR_ML, &[]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let child = run_scenario_on_bench(dir.path(), &bench, FAULT_SCENARIO);
    wait_for_samples(dir.path(), 1);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, signal) };
    let (code, text) = finish(child);
    assert_eq!(code, 3, "{text}");
    let run = run_dir(dir.path());
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(events.contains("\"verdict\":\"incomplete\""), "{events}");
    assert!(events.contains("interrupted by signal"));
    assert!(common::flow_bias_restored(&events), "{events}");
    assert_eq!(
        flow_bias_left_in(&emu),
        0,
        "the pump was left with a flow bias"
    );
    assert!(events.contains("\"type\":\"run_finished\""));
    assert!(run.join("junit.xml").exists() && run.join("MANIFEST.sha256").exists());
}

#[test]
fn sigterm_ends_a_bench_run_as_incomplete_with_its_evidence_kept() {
    a_signal_ends_a_bench_run_as_incomplete_with_its_evidence_kept(libc::SIGTERM);
}

#[test]
fn ctrl_c_ends_a_bench_run_as_incomplete_with_its_evidence_kept() {
    a_signal_ends_a_bench_run_as_incomplete_with_its_evidence_kept(libc::SIGINT);
}

#[test]
fn losing_the_pump_mid_scenario_ends_it_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator_of(FAULT_SCENARIO_RESERVOIR_ML, &[]);
    let bench = bench_file(dir.path(), &emu, "TU-000123");
    let child = run_scenario_on_bench(dir.path(), &bench, FAULT_SCENARIO);
    wait_for_samples(dir.path(), 1);
    drop(emu);
    let (run, events) = ended_by_a_lost_device(dir.path(), child);
    assert!(
        events.contains("\"verdict\":\"incomplete\"") && events.contains("pump:"),
        "{events}"
    );
    assert!(
        events.contains("\"status\":\"not_restored\",\"reason\":\"the pump was lost")
            && events.contains("clear the flow_bias fault on the pump"),
        "a fault left in a lost pump must be in the record: {events}"
    );
    assert!(run.join("report.html").exists(), "the report renders");
}

#[test]
fn losing_the_balance_mid_scenario_ends_it_and_clears_the_pumps_fault() {
    let dir = tempfile::tempdir().unwrap();
    let pump = emulator_of(FAULT_SCENARIO_RESERVOIR_ML, &[]);
    let balance = emulator(&[]);
    let bench = bench_file_with_balance(dir.path(), &pump, &balance.balance, "TU-000123");
    let child = run_scenario_on_bench(dir.path(), &bench, FAULT_SCENARIO);
    wait_for_samples(dir.path(), 1);
    drop(balance);
    let (run, events) = ended_by_a_lost_device(dir.path(), child);
    assert!(
        events.contains("\"verdict\":\"incomplete\"") && events.contains("balance"),
        "{events}"
    );
    assert!(common::flow_bias_restored(&events), "{events}");
    assert_eq!(
        flow_bias_left_in(&pump),
        0,
        "the pump was left with a flow bias"
    );
    assert!(run.join("report.html").exists(), "the report renders");
}

/// Waits for a run whose device was just lost: it must end within its timeout with exit 3.
/// Returns its run directory and record.
fn ended_by_a_lost_device(dir: &Path, child: Child) -> (PathBuf, String) {
    let started = Instant::now();
    let (code, text) = finish(child);
    assert_eq!(code, 3, "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = run_dir(dir);
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    (run, events)
}

/// Asks the pump itself, after the run, what flow bias it still has.
fn flow_bias_left_in(emu: &Emulator) -> i32 {
    use pumphil::driver::pump::PumpDriver;
    use pumphil::link::serial::{open_serial, SerialSettings};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pump = PumpDriver::new(open_serial(&SerialSettings::pump(&emu.pump)).unwrap());
        pump.plant().await.unwrap().flow_bias_centi_percent
    })
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
    // The samples recorded before the kill are read back from their trace's blocks.
    assert!(read
        .records
        .iter()
        .any(|r| matches!(r.event, pumphil::record::RunEvent::Sample { .. })));
    let out = Command::new(BIN).arg("report").arg(&run).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(summary.contains("\"verdict\": \"incomplete\""), "{summary}");
}
