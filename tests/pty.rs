//! The host side against the emulator over real pseudo-terminals (and a memory link where a
//! test must misbehave on purpose): pump driver, retries, event gaps, hang-ups, balance.

use pumphil::driver::balance::BalanceDriver;
use pumphil::driver::pump::{DeviationKind, DriverError, DriverEvent, PumpDriver};
use pumphil::emulator::config::EmulatorConfig;
use pumphil::emulator::server::{Session, TimeMode};
use pumphil::emulator::{spawn_on_ptys, Device};
use pumphil::link::memory::memory_pair;
use pumphil::link::serial::{open_serial, SerialSettings};
use pumphil::protocol::*;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOUR: u64 = 3_600_000;

fn label_example() -> EmulatorConfig {
    let mut c = EmulatorConfig::default();
    c.pump.initial_fill_nl = 3_000_000;
    c
}

async fn pump_on(port: &std::path::Path) -> PumpDriver {
    PumpDriver::new(open_serial(&SerialSettings::pump(&port.display().to_string())).unwrap())
}

#[tokio::test]
async fn the_pump_driver_programs_and_reads_the_emulator_over_a_pty() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let pump = pump_on(&emulator.pump_port).await;
    let id = pump.identify().await.unwrap();
    assert!(id.test_unit);
    assert_eq!(id.reservoir_capacity_nl, 40_000_000);
    pump.request(&Request::ProgramContinuous {
        dose_ug_per_day: 600,
    })
    .await
    .unwrap();
    assert_eq!(pump.advance_to(20 * HOUR).await.unwrap(), 20 * HOUR);
    let s = pump.status().await.unwrap();
    // 3.0 mL - 1.2 mL/day x 20 h = 2.0 mL: the low-reservoir alarm is due exactly now.
    assert_eq!(s.calculated_reservoir_nl, 2_000_000);
    assert_eq!(
        s.alarms.iter().map(|a| a.alarm).collect::<Vec<_>>(),
        vec![AlarmKind::LowReservoir]
    );
    let events = pump.drain_events();
    assert!(events.iter().any(|e| matches!(e, DriverEvent::Event { event: Event::AlarmRaised { device_time_ms, alarm: AlarmKind::LowReservoir, .. }, .. } if *device_time_ms == 20 * HOUR)), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, DriverEvent::Lost { .. })));
    assert!(pump.take_deviations().is_empty());
}

#[tokio::test]
async fn a_unit_that_is_not_a_test_unit_refuses_test_mode() {
    let mut config = label_example();
    config.identity.test_unit = false;
    let emulator = spawn_on_ptys(config, false).await.unwrap();
    let pump = pump_on(&emulator.pump_port).await;
    let refused = pump.request(&Request::AdvanceTime { to_ms: HOUR }).await;
    assert!(
        matches!(
            refused,
            Err(DriverError::Nack {
                code: NackCode::NotInTestMode,
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(pump.status().await.is_ok(), "ordinary requests still work");
}

#[tokio::test]
async fn losing_the_emulator_is_a_lost_device_not_a_hang() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let pump = pump_on(&emulator.pump_port).await;
    pump.status().await.unwrap();
    drop(emulator);
    let started = std::time::Instant::now();
    let result = pump.status().await;
    assert!(
        matches!(
            result,
            Err(DriverError::DeviceLost(_)) | Err(DriverError::Timeout { .. })
        ),
        "{result:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

/// A device on a memory link that drops chosen replies, to exercise the retry rules.
async fn flaky_device(drop_replies: Vec<usize>) -> (PumpDriver, Arc<Mutex<Device>>) {
    let (host, mut dev) = memory_pair();
    let device = Arc::new(Mutex::new(Device::new(label_example())));
    let mut session = Session::new(device.clone(), TimeMode::Virtual);
    tokio::spawn(async move {
        let mut assembler = FrameAssembler::new();
        let mut buf = [0u8; 1024];
        let mut count = 0;
        while let Ok(n) = dev.read(&mut buf).await {
            if n == 0 {
                break;
            }
            for frame in assembler.push(&buf[..n]) {
                count += 1;
                let reply = session.answer(frame);
                if !drop_replies.contains(&count) {
                    let _ = dev.write_all(&reply).await;
                }
            }
        }
    });
    (PumpDriver::new(host), device)
}

fn programmed_count(device: &Arc<Mutex<Device>>) -> usize {
    let mut d = device.lock().unwrap();
    match d.handle(&Request::ReadEventLog { page: 0 }).unwrap() {
        ResponseBody::EventLogPage(p) => p
            .entries
            .iter()
            .filter(|e| e.kind == LogEntryKind::Programmed)
            .count(),
        _ => 0,
    }
}

#[tokio::test]
async fn a_lost_reply_is_retried_with_the_same_frame_and_applied_once() {
    // The device applies the first ProgramContinuous but its reply is lost on the way back.
    let (pump, device) = flaky_device(vec![1]).await;
    pump.request(&Request::ProgramContinuous {
        dose_ug_per_day: 600,
    })
    .await
    .unwrap();
    assert_eq!(
        programmed_count(&device),
        1,
        "the retry was answered from the cache, not applied again"
    );
    let deviations = pump.take_deviations();
    assert_eq!(
        deviations
            .iter()
            .filter(|d| d.kind == DeviationKind::Retry)
            .count(),
        1,
        "{deviations:?}"
    );
}

#[tokio::test]
async fn a_device_that_never_answers_times_out_after_bounded_retries() {
    let (pump, _device) = flaky_device((1..100).collect()).await;
    let result = pump.request(&Request::Status).await;
    assert!(
        matches!(result, Err(DriverError::Timeout { attempts: 4, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_gap_in_event_numbers_is_reported_as_lost_events() {
    let (host, mut dev) = memory_pair();
    let pump = PumpDriver::new(host);
    for seq in [1u16, 2, 5] {
        let event = Event::AlarmCleared {
            device_time_ms: seq as u64,
            alarm: AlarmKind::LowReservoir,
        };
        dev.write_all(&encode_frame(seq, &Message::Event(event)).unwrap())
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let events = pump.drain_events();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events[2],
        DriverEvent::Lost {
            expected_seq: 3,
            got_seq: 5
        }
    );
}

#[tokio::test]
async fn the_balance_weighs_what_left_the_catheter_tip() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let pump = pump_on(&emulator.pump_port).await;
    let mut balance = BalanceDriver::new(
        open_serial(&SerialSettings::balance(
            &emulator.balance_port.display().to_string(),
        ))
        .unwrap(),
    );
    assert!(balance.identify().await.unwrap().contains("BAL-0001"));
    balance.zero().await.unwrap();
    pump.request(&Request::ProgramContinuous {
        dose_ug_per_day: 600,
    })
    .await
    .unwrap();
    pump.advance_to(24 * HOUR).await.unwrap();
    // 1.2 mL of 0.9 % saline at 1.0046 g/mL = 1.20552 g, read to 0.1 mg.
    let reading = balance.weigh_immediate().await.unwrap();
    assert!((reading.grams - 1.2055).abs() < 0.00011, "{reading:?}");
    assert!(reading.stable);
    let tare = balance.tare().await.unwrap();
    assert!((tare.grams - 1.2055).abs() < 0.00011);
    assert!(balance.weigh_stable().await.unwrap().grams.abs() < 0.00011);
    assert_eq!(balance.command("XYZ").await.unwrap(), "ES");
}

#[test]
fn the_emulate_command_prints_ports_a_client_can_use() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args(["emulate", "--pty", "--json", "--initial-fill-ml", "3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: serde_json::Value = serde_json::from_str(&line).unwrap();
    let pump_port = ports["pump"].as_str().unwrap().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args(["identify", "--port", &pump_port])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("PH-EMU-40") && text.contains("3.000 mL"),
        "{text}"
    );
}
