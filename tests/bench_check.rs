//! A bench that checks itself before a run, over real pseudo-terminals: the balance must be the
//! one the bench file names, stale bytes and a first `ES` on the balance line do not fail the
//! run, and the station, round trips and what the balance said are recorded and reported.

mod common;

use common::{finish, Emulator, BIN};
use pumphil::driver::balance::{BalanceDriver, BalanceError, BalanceIdentity};
use pumphil::link::pty::PtyPair;
use pumphil::link::serial::{open_serial, SerialSettings};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn emulator(extra: &[&str]) -> Emulator {
    common::realtime_test_pump(extra)
}

fn bench_file(dir: &Path, emu: &Emulator, balance_serial: &str) -> PathBuf {
    let path = dir.join("bench.toml");
    std::fs::write(
        &path,
        format!("station = \"bench 7, lab B\"\nallowed_serial_numbers = [\"TU-000123\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\nmodel = \"EMU-BAL\"\nserial_number = \"{balance_serial}\"\nreadability_mg = 0.1\ncalibration_due = \"2099-03-01\"\n", emu.pump, emu.balance),
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

/// The record's line of the given type, once the run has written it.
fn wait_for_line(dir: &Path, kind: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let needle = format!("\"type\":\"{kind}\"");
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(dir.join("reports")) {
            for e in entries.flatten() {
                let text =
                    std::fs::read_to_string(e.path().join("events.jsonl")).unwrap_or_default();
                if let Some(line) = text.lines().find(|l| l.contains(&needle)) {
                    return line.to_string();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the bench run recorded no {kind}");
}

#[test]
fn a_balance_that_is_not_the_one_in_the_bench_file_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "B123456789");
    let (code, text) = finish(run_on_bench(dir.path(), &bench));
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("the bench file says \"B123456789\"")
            && text.contains("the balance answers \"BAL-0001\" (I4)"),
        "{text}"
    );
}

#[test]
fn the_station_round_trips_and_the_balances_answer_are_recorded_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&[]);
    let bench = bench_file(dir.path(), &emu, "BAL-0001");
    let mut child = run_on_bench(dir.path(), &bench);
    let started = wait_for_line(dir.path(), "scenario_started");
    let _ = child.kill();
    let _ = child.wait();
    let event: serde_json::Value = serde_json::from_str(&started).unwrap();
    let system = &event["test_system"];
    assert_eq!(system["station"], "bench 7, lab B", "{started}");
    for device in ["pump_round_trip", "balance_round_trip"] {
        let rt = &system[device];
        let (p50, p99) = (
            rt["p50_ms"].as_f64().unwrap(),
            rt["p99_ms"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p99, "{device}: {rt}");
        assert!(rt["requests"].as_u64().unwrap() >= 10, "{device}: {rt}");
    }
    // ptys have no USB adapter, so no latency timer.
    assert!(system["pump_latency_timer_ms"].is_null());
    assert_eq!(
        event["balance"]["answered"],
        serde_json::json!({"model": "EMU-BAL", "capacity": "220.0000 g", "serial_number": "BAL-0001"})
    );
    let run = common::run_dir(&dir.path().join("reports"));
    let out = Command::new(BIN).arg("report").arg(&run).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(run.join("report.md"))
        .unwrap_or_else(|_| std::fs::read_to_string(run.join("report.html")).unwrap());
    for shown in [
        "bench 7, lab B",
        "Pump round trip",
        "Balance round trip",
        "I4 &quot;BAL-0001&quot;",
    ] {
        let shown_plain = shown.replace("&quot;", "\"");
        assert!(
            report.contains(shown) || report.contains(&shown_plain),
            "the report shows {shown_plain}"
        );
    }
}

/// A pty with the test playing the balance on its master side; the driver on its slave.
async fn scripted_balance() -> (
    pumphil::link::pty::PtyMaster,
    BalanceDriver,
    std::os::fd::OwnedFd,
) {
    let (master, slave, keepalive) = PtyPair::open().unwrap().into_parts();
    let link = open_serial(&SerialSettings::balance(&slave.display().to_string())).unwrap();
    (master, BalanceDriver::new(link), keepalive)
}

#[tokio::test]
async fn stale_bytes_are_flushed_and_a_first_es_is_retried_once() {
    let (master, mut balance, _keep) = scripted_balance().await;
    let (read, mut write) = tokio::io::split(master);
    // A reading the balance printed on its own and half a line: stale before the run asks.
    write
        .write_all(b"S S      1.0000 g\r\nS S     2.00")
        .await
        .unwrap();
    let (done, commands) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut done = Some(done);
        let mut lines = BufReader::new(read).lines();
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let command = line.trim().to_string();
            let reply = match (command.as_str(), seen.is_empty()) {
                // A balance that missed the first character of its first command.
                (_, true) => "ES",
                ("I2", _) => "I2 A \"XS204 220.0090 g\"",
                ("I4", _) => "I4 A \"B123456789\"",
                _ => "ES",
            };
            seen.push(command);
            write
                .write_all(format!("{reply}\r\n").as_bytes())
                .await
                .unwrap();
            // The master stays open (closing it would hang up the line under the driver).
            if seen.len() == 3 {
                if let Some(done) = done.take() {
                    let _ = done.send(seen.clone());
                }
            }
        }
    });
    let identity = balance.prepare().await.expect("the second try answers");
    assert_eq!(
        identity,
        BalanceIdentity {
            model: "XS204".into(),
            capacity: "220.0090 g".into(),
            serial_number: "B123456789".into()
        }
    );
    assert_eq!(commands.await.unwrap(), ["I2", "I2", "I4"]);
}

#[tokio::test]
async fn a_balance_that_answers_es_twice_is_not_in_mt_sics_mode() {
    let (master, mut balance, _keep) = scripted_balance().await;
    let (read, mut write) = tokio::io::split(master);
    tokio::spawn(async move {
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(_)) = lines.next_line().await {
            let _ = write.write_all(b"ES\r\n").await;
        }
    });
    let err = balance.prepare().await.unwrap_err();
    assert_eq!(err, BalanceError::CommandError("ES".into()));
    assert!(err.to_string().contains("MT-SICS mode"), "{err}");
}

/// The watchdog's grace alone is 10 s of wall time, so this runs in release on CI
/// (`cargo test --release --test bench_check -- --ignored`); its logic is unit-tested on a
/// simulated clock in `runner::watchdog`.
#[test]
#[ignore = "waits out the watchdog's 10 s grace: run in release (CI)"]
fn a_pump_clock_that_stops_ends_the_scenario_incomplete_naming_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator(&["--clock-stops-at-ms", "2000"]);
    let bench = bench_file(dir.path(), &emu, "BAL-0001");
    let mut child = run_on_bench(dir.path(), &bench);
    // A watchdog that never fires would hang the run: stop waiting long after its 10 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run hung on a pump whose clock stopped");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, text) = finish(child);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("the pump's clock stopped"), "{text}");
    let run = common::run_dir(&dir.path().join("reports"));
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(
        events.contains("\"verdict\":\"incomplete\"") && events.contains("pump's clock"),
        "{events}"
    );
}

/// The emulated balance's replies as protocol.md ("The balance") gives them, byte for byte
/// over its pty: `TI` answers `TI S`, the value right-aligned in 10 characters, replies end
/// CR LF, commands are upper case and may end CR LF or LF alone.
#[tokio::test]
async fn the_emulated_balance_answers_in_the_documented_forms() {
    use tokio::io::AsyncReadExt;
    let emulator = pumphil::emulator::spawn_on_ptys(Default::default(), false)
        .await
        .unwrap();
    let mut link = open_serial(&SerialSettings::balance(
        &emulator.balance_port.display().to_string(),
    ))
    .unwrap();
    let mut ask = async |command: &[u8]| {
        link.write_all(command).await.unwrap();
        let mut reply = Vec::new();
        while !reply.ends_with(b"\r\n") {
            let mut byte = [0u8; 1];
            link.read_exact(&mut byte).await.unwrap();
            reply.push(byte[0]);
        }
        String::from_utf8(reply).unwrap()
    };
    assert_eq!(ask(b"TI\r\n").await, "TI S     0.0000 g\r\n");
    assert_eq!(ask(b"T\n").await, "T S     0.0000 g\r\n");
    assert_eq!(ask(b"SI\n").await, "S S     0.0000 g\r\n");
    assert_eq!(ask(b"si\r\n").await, "ES\r\n");
    assert_eq!(ask(b"I4\r\n").await, "I4 A \"BAL-0001\"\r\n");
    assert_eq!(ask(b"I2\r\n").await, "I2 A \"EMU-BAL 220.0000 g\"\r\n");
}
