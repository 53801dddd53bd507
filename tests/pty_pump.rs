//! The pump driver against the in-process emulator over real pseudo-terminals: programming,
//! time, retries (a link that loses a reply), event gaps (a link that loses an event), test
//! mode refused, hang-up, an unplug and replug, and the `pumphil emulate` binary itself.

mod common;

use common::pump_link;
use pumphil::driver::pump::{
    DeviationKind, DriverError, DriverEvent, DriverOptions, PumpDriver, Reopen,
};
use pumphil::emulator::config::EmulatorConfig;
use pumphil::emulator::{spawn_on_ptys, EmulatorHandle};
use pumphil::link::serial::SerialSettings;
use pumphil::link::BoxLink;
use pumphil::protocol::*;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const HOUR: u64 = 3_600_000;

/// 3.0 mL at 500 µg/mL: at 600 µg/day (1.2 mL/day) the 2.0 mL low-reservoir threshold is
/// reached after exactly 20 h.
fn label_example() -> EmulatorConfig {
    let mut c = EmulatorConfig::default();
    c.pump.initial_fill_nl = 3_000_000;
    c
}

fn logged(emulator: &EmulatorHandle, kind: LogEntryKind) -> usize {
    let mut device = emulator.device.lock().unwrap();
    let Ok(ResponseBody::EventLogPage(page)) = device.handle(&Request::ReadEventLog { page: 0 })
    else {
        return 0;
    };
    page.entries.iter().filter(|e| e.kind == kind).count()
}

/// A client-side link that loses one frame from the device: the first one `lose` picks.
struct LosingLink {
    inner: BoxLink,
    lose: fn(&Frame) -> bool,
    lost_one: bool,
    block: Vec<u8>,
    ready: Vec<u8>,
}

impl LosingLink {
    fn wrap(inner: BoxLink, lose: fn(&Frame) -> bool) -> BoxLink {
        Box::new(LosingLink {
            inner,
            lose,
            lost_one: false,
            block: Vec::new(),
            ready: Vec::new(),
        })
    }

    fn take_in(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.block.push(byte);
            if byte != 0 {
                continue;
            }
            let block = std::mem::take(&mut self.block);
            let frame = decode_frame(&block[..block.len() - 1]);
            if !self.lost_one && frame.as_ref().is_ok_and(|f| (self.lose)(f)) {
                self.lost_one = true;
                continue;
            }
            self.ready.extend(block);
        }
    }
}

impl AsyncRead for LosingLink {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.ready.is_empty() {
                let n = self.ready.len().min(buf.remaining());
                buf.put_slice(&self.ready[..n]);
                self.ready.drain(..n);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 1024];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut self.inner).poll_read(cx, &mut chunk_buf) {
                Poll::Ready(Ok(())) if chunk_buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    let filled = chunk_buf.filled().to_vec();
                    self.take_in(&filled);
                }
                other => return other,
            }
        }
    }
}

impl AsyncWrite for LosingLink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn the_driver_programs_the_emulator_and_reads_the_figures_back() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let pump = PumpDriver::new(pump_link(&emulator));
    let id = pump.identify().await.unwrap();
    assert_eq!(id.model, "PH-EMU-40");
    assert!(id.test_unit);
    assert_eq!(id.reservoir_capacity_nl, 40_000_000);
    pump.program_continuous(600).await.unwrap();
    assert_eq!(pump.advance_to(20 * HOUR).await.unwrap(), 20 * HOUR);
    let s = pump.status().await.unwrap();
    assert_eq!(s.device_time_ms, 20 * HOUR);
    assert_eq!(s.dose_rate_ug_per_day, 600);
    assert_eq!(s.therapy_state, TherapyState::Running);
    // 1.2 mL/day for 20 h = 1.0 mL delivered; 3.0 - 1.0 = 2.0 mL left: the alarm is due now.
    assert_eq!(s.delivered_nl, 1_000_000);
    assert_eq!(s.calculated_reservoir_nl, 2_000_000);
    assert_eq!(
        s.alarms.iter().map(|a| a.alarm).collect::<Vec<_>>(),
        vec![AlarmKind::LowReservoir]
    );
    let plant = pump.plant().await.unwrap();
    assert_eq!(plant.tip_nl, 1_000_000);
    assert_eq!(plant.actual_reservoir_nl, 2_000_000);
    let events = pump.drain_events();
    assert!(
        events.iter().any(|e| matches!(e, DriverEvent::Event { event: Event::AlarmRaised { device_time_ms, alarm: AlarmKind::LowReservoir, .. }, .. } if *device_time_ms == 20 * HOUR)),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, DriverEvent::Lost { .. })));
    assert!(pump.take_deviations().is_empty());
    let log = pump.read_full_log().await.unwrap();
    assert!(log.iter().any(|e| e.kind == LogEntryKind::Programmed));
}

#[tokio::test]
async fn a_lost_reply_is_retried_once_and_the_command_applied_once() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let lose_first_response = |f: &Frame| matches!(f.message, Message::Response { .. });
    let pump = PumpDriver::new(LosingLink::wrap(pump_link(&emulator), lose_first_response));
    pump.program_continuous(600).await.unwrap();
    let deviations = pump.take_deviations();
    assert_eq!(
        deviations.iter().map(|d| d.kind).collect::<Vec<_>>(),
        vec![DeviationKind::Retry],
        "{deviations:?}"
    );
    assert_eq!(
        logged(&emulator, LogEntryKind::Programmed),
        1,
        "the retry was answered from the device's cache, not applied again"
    );
    // And the pump delivers what one programming gives: 1.2 mL in 24 h.
    pump.advance_to(24 * HOUR).await.unwrap();
    assert_eq!(pump.status().await.unwrap().delivered_nl, 1_200_000);
}

#[tokio::test]
async fn a_lost_event_shows_as_a_gap_in_event_numbers() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let lose_event_2 = |f: &Frame| f.seq == 2 && matches!(f.message, Message::Event(_));
    let pump = PumpDriver::new(LosingLink::wrap(pump_link(&emulator), lose_event_2));
    pump.program_continuous(600).await.unwrap(); // event 1: therapy running
    pump.advance_to(20 * HOUR).await.unwrap(); // event 2: low reservoir raised (lost)
    pump.stop().await.unwrap(); // event 3: therapy stopped
    let events = pump.drain_events();
    let seqs: Vec<String> = events
        .iter()
        .map(|e| match e {
            DriverEvent::Event { seq, .. } => seq.to_string(),
            DriverEvent::Lost {
                expected_seq,
                got_seq,
            } => format!("lost {expected_seq}..{got_seq}"),
        })
        .collect();
    assert_eq!(seqs, vec!["1", "lost 2..3", "3"], "{events:?}");
}

#[tokio::test]
async fn a_unit_that_is_not_a_test_unit_refuses_test_mode() {
    let mut config = label_example();
    config.identity.test_unit = false;
    let emulator = spawn_on_ptys(config, false).await.unwrap();
    let pump = PumpDriver::new(pump_link(&emulator));
    assert!(!pump.identify().await.unwrap().test_unit);
    for refused in [
        pump.advance_to(HOUR).await.map(|_| ()),
        pump.plant().await.map(|_| ()),
        pump.inject_fault(Fault::MotorStall).await,
    ] {
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
    }
    assert_eq!(pump.status().await.unwrap().device_time_ms, 0);
    assert!(
        pump.take_deviations().is_empty(),
        "a refusal is not a retry"
    );
}

#[tokio::test]
async fn real_time_serving_refuses_advance_time() {
    let emulator = spawn_on_ptys(label_example(), true).await.unwrap();
    let pump = PumpDriver::new(pump_link(&emulator));
    let refused = pump.advance_to(HOUR).await;
    assert!(
        matches!(
            refused,
            Err(DriverError::Nack {
                code: NackCode::NotAllowedInState,
                ..
            })
        ),
        "{refused:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let t = pump.status().await.unwrap().device_time_ms;
    assert!(t >= 150, "device time follows the wall clock: {t} ms");
}

#[tokio::test]
async fn losing_the_emulator_is_a_lost_device_at_once() {
    let emulator = spawn_on_ptys(label_example(), false).await.unwrap();
    let pump = PumpDriver::new(pump_link(&emulator));
    pump.status().await.unwrap();
    drop(emulator);
    let started = std::time::Instant::now();
    let result = pump.status().await;
    assert!(
        matches!(result, Err(DriverError::DeviceLost(_))),
        "{result:?}"
    );
    // Well inside one 250 ms timeout: a hang-up is not waited out.
    assert!(started.elapsed() < std::time::Duration::from_millis(250));
}

#[test]
fn the_emulate_command_prints_ports_a_client_can_use() {
    let emulator = common::emulate(&["--initial-fill-ml", "3"]);
    let pump_port = emulator.pump.clone();
    assert!(pump_port.starts_with("/dev/"), "{pump_port:?}");
    assert!(
        emulator.balance.starts_with("/dev/"),
        "{:?}",
        emulator.balance
    );
    let identify = |port: &str| {
        std::process::Command::new(common::BIN)
            .args(["identify", "--port", port])
            .output()
            .unwrap()
    };
    // Twice: a client that has come and gone leaves the port usable for the next.
    let first = identify(&pump_port);
    let second = identify(&pump_port);
    drop(emulator);
    for output in [first, second] {
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains("model             PH-EMU-40\n"), "{text}");
        assert!(text.contains("calculated volume 3.000 mL\n"), "{text}");
        assert!(
            text.contains("device time       0d 00:00:00.000\n"),
            "{text}"
        );
    }
}

#[test]
fn identify_on_a_missing_port_says_what_to_do() {
    let output = std::process::Command::new(common::BIN)
        .args(["identify", "--port", "/dev/no-such-port"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "infrastructure exit code");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("/dev/no-such-port") && text.contains("pumphil ports"),
        "{text}"
    );
}

fn reopen_of(emulator: &EmulatorHandle) -> Reopen {
    let settings = SerialSettings::pump(&emulator.pump_port.display().to_string());
    Reopen::endpoint(settings, Duration::from_secs(3))
}

#[tokio::test]
async fn an_unplugged_port_is_reopened_and_the_lost_answer_re_sent_without_applying_twice() {
    let mut config = label_example();
    // At 1 h the cable comes out as the pump answers the bolus, for 300 ms.
    config.link.unplug_at_ms = Some(HOUR);
    config.link.unplug_for_ms = 300;
    let emulator = spawn_on_ptys(config, false).await.unwrap();
    let pump = PumpDriver::with_reopen(
        pump_link(&emulator),
        DriverOptions::default(),
        reopen_of(&emulator),
    );
    pump.identify().await.unwrap();
    pump.program_continuous(600).await.unwrap();
    pump.advance_to(HOUR).await.unwrap();
    pump.bolus(100, 600, false).await.unwrap();
    let deviations = pump.take_deviations();
    assert_eq!(
        deviations
            .iter()
            .filter(|d| d.kind == DeviationKind::Reconnected)
            .count(),
        1,
        "{deviations:?}"
    );
    assert_eq!(
        logged(&emulator, LogEntryKind::BolusStarted),
        1,
        "the re-sent bolus was answered from the device's cache, not given twice"
    );
    assert!(
        !pump.is_lost(),
        "the same device came back and the session goes on"
    );
    pump.status().await.unwrap();
}

#[tokio::test]
async fn a_port_that_does_not_come_back_loses_the_device() {
    let mut config = label_example();
    config.link.unplug_at_ms = Some(0);
    // Longer than the driver waits.
    config.link.unplug_for_ms = 60_000;
    let emulator = spawn_on_ptys(config, false).await.unwrap();
    let mut reopen = reopen_of(&emulator);
    reopen.within = Duration::from_millis(300);
    let pump = PumpDriver::with_reopen(pump_link(&emulator), DriverOptions::default(), reopen);
    let err = pump.identify().await.unwrap_err();
    assert!(
        matches!(&err, DriverError::DeviceLost(why) if why.contains("did not come back within")),
        "{err}"
    );
}
