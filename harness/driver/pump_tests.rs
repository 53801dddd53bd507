//! Unit tests of the pump driver against scripted fake devices on in-memory links.

use super::*;
use crate::link::memory::memory_pair;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Script = Box<dyn FnMut(usize, &Frame) -> Vec<u8> + Send>;

/// A fake device: answers each received frame with whatever the script returns (possibly
/// nothing), and keeps the raw bytes of every frame it received.
fn fake_device(script: Script) -> (PumpDriver, Arc<Mutex<Vec<Vec<u8>>>>) {
    fake_device_with(DriverOptions::default(), script)
}

fn fake_device_with(
    options: DriverOptions,
    mut script: Script,
) -> (PumpDriver, Arc<Mutex<Vec<Vec<u8>>>>) {
    let (host, mut dev) = memory_pair();
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    tokio::spawn(async move {
        let mut block = Vec::new();
        let mut buf = [0u8; 1024];
        let mut count = 0;
        while let Ok(n) = dev.read(&mut buf).await {
            if n == 0 {
                break;
            }
            for &byte in &buf[..n] {
                block.push(byte);
                if byte != 0 {
                    continue;
                }
                let wire = std::mem::take(&mut block);
                let Ok(frame) = decode_frame(&wire[..wire.len() - 1]) else {
                    continue;
                };
                count += 1;
                log.lock().unwrap().push(wire);
                let reply = script(count, &frame);
                if dev.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
    });
    (PumpDriver::with_options(host, options), received)
}

fn ack(frame: &Frame) -> Vec<u8> {
    let Message::Request(request) = &frame.message else {
        return Vec::new();
    };
    encode_frame(
        frame.seq,
        &Message::Response {
            request: request.kind(),
            body: ResponseBody::Ack,
        },
    )
    .unwrap()
}

fn nack(frame: &Frame, code: NackCode) -> Vec<u8> {
    encode_frame(
        frame.seq,
        &Message::Nack {
            request_type: frame.message.type_byte(),
            code,
        },
    )
    .unwrap()
}

fn fast() -> DriverOptions {
    DriverOptions {
        max_retries: 2,
        // 250 ms x 0.1 = 25 ms per attempt: keeps the timeout tests quick.
        timeout_scale: 0.1,
        timeout_cap: None,
        timeout_floor: None,
    }
}

#[test]
fn sequence_numbers_wrap_and_skip_zero() {
    assert_eq!(next_seq(0), 1);
    assert_eq!(next_seq(41), 42);
    assert_eq!(next_seq(u16::MAX), 1);
}

#[test]
fn each_request_kind_has_its_agreed_timeout() {
    assert_eq!(timeout_for(RequestKind::Status), Duration::from_millis(250));
    assert_eq!(
        timeout_for(RequestKind::AdvanceTime),
        Duration::from_secs(10)
    );
    assert_eq!(
        timeout_for(RequestKind::ReadEventLog),
        Duration::from_secs(1)
    );
    assert_eq!(
        fast().timeout(RequestKind::Status),
        Duration::from_millis(25)
    );
    let capped = DriverOptions {
        timeout_cap: Some(Duration::from_millis(200)),
        ..fast()
    };
    assert_eq!(
        capped.timeout(RequestKind::AdvanceTime),
        Duration::from_millis(200)
    );
    assert_eq!(
        capped.timeout(RequestKind::Status),
        Duration::from_millis(25)
    );
    let floored = DriverOptions {
        timeout_floor: Some(Duration::from_secs(5)),
        ..DriverOptions::default()
    };
    assert_eq!(floored.timeout(RequestKind::Status), Duration::from_secs(5));
    assert_eq!(
        floored.timeout(RequestKind::AdvanceTime),
        Duration::from_secs(10),
        "a floor never shortens a longer timeout"
    );
}

#[tokio::test]
async fn requests_are_numbered_from_one() {
    let (pump, received) = fake_device(Box::new(|_, f| ack(f)));
    pump.stop().await.unwrap();
    pump.resume().await.unwrap();
    let seqs: Vec<u16> = received
        .lock()
        .unwrap()
        .iter()
        .map(|w| decode_frame(&w[..w.len() - 1]).unwrap().seq)
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    assert!(pump.take_deviations().is_empty());
}

#[tokio::test]
async fn a_bad_crc_nack_is_retried_with_identical_bytes() {
    let (pump, received) = fake_device(Box::new(|n, f| {
        if n == 1 {
            nack(f, NackCode::BadCrc)
        } else {
            ack(f)
        }
    }));
    pump.program_continuous(600).await.unwrap();
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0], received[1], "a retry re-sends the same bytes");
    let deviations = pump.take_deviations();
    assert_eq!(deviations.len(), 1, "{deviations:?}");
    assert_eq!(deviations[0].kind, DeviationKind::Retry);
}

#[tokio::test]
async fn other_nacks_are_errors_with_the_request_and_code() {
    let (pump, received) = fake_device(Box::new(|_, f| nack(f, NackCode::OutOfRange)));
    let result = pump.program_continuous(9_999_999).await;
    assert!(
        matches!(
            result,
            Err(DriverError::Nack {
                request: RequestKind::ProgramContinuous,
                code: NackCode::OutOfRange
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "a refusal is not retried"
    );
}

#[tokio::test]
async fn silence_times_out_after_the_configured_retries() {
    let (pump, received) = fake_device_with(fast(), Box::new(|_, _| Vec::new()));
    let started = std::time::Instant::now();
    let result = pump.stop().await;
    assert!(
        matches!(
            result,
            Err(DriverError::Timeout {
                request: RequestKind::StopTherapy,
                attempts: 3
            })
        ),
        "{result:?}"
    );
    // Three attempts of 25 ms each.
    assert!(started.elapsed() >= Duration::from_millis(75));
    assert_eq!(received.lock().unwrap().len(), 3);
    assert_eq!(pump.take_deviations().len(), 2, "two retries recorded");
}

#[tokio::test]
async fn a_late_answer_to_a_retried_frame_is_recorded_as_stale() {
    // The device answers the first request twice (original + cached retry answer arrive late).
    let (pump, _) = fake_device_with(
        fast(),
        Box::new(|n, f| match n {
            1 => Vec::new(),
            2 => [ack(f), ack(f)].concat(),
            _ => ack(f),
        }),
    );
    pump.stop().await.unwrap();
    pump.resume().await.unwrap();
    let kinds: Vec<_> = pump.take_deviations().into_iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        vec![DeviationKind::Retry, DeviationKind::StaleResponse]
    );
}

#[tokio::test]
async fn a_garbled_frame_is_counted_and_the_request_re_sent_at_once() {
    let (pump, received) = fake_device(Box::new(|n, f| {
        // The first answer arrives garbled (a COBS block that runs past its end).
        if n == 1 {
            vec![0x05, 0x11, 0x22, 0x00]
        } else {
            ack(f)
        }
    }));
    let started = std::time::Instant::now();
    pump.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "re-sent without waiting out the 250 ms timeout"
    );
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0], received[1],
        "the same bytes under the same seq"
    );
    let kinds: Vec<_> = pump.take_deviations().into_iter().map(|d| d.kind).collect();
    assert_eq!(kinds, vec![DeviationKind::BadFrame, DeviationKind::Retry]);
}

/// A fake device that sends `event(seq)` under each of `seqs` before its answer to a request;
/// the pump is stopped (its one request, so every event has been read) when it is returned.
async fn stopped_after_events(seqs: &'static [u16], event: fn(u64) -> Event) -> PumpDriver {
    let (pump, _) = fake_device(Box::new(move |_, f| {
        let mut out = Vec::new();
        for &seq in seqs {
            out.extend(encode_frame(seq, &Message::Event(event(seq as u64))).unwrap());
        }
        out.extend(ack(f));
        out
    }));
    pump.stop().await.unwrap();
    pump
}

#[tokio::test]
async fn events_arrive_in_order_with_gaps_marked() {
    let event = |t| Event::AlarmCleared {
        device_time_ms: t,
        alarm: AlarmKind::LowReservoir,
    };
    let pump = stopped_after_events(&[7, 8, 10], event).await;
    assert_eq!(
        pump.drain_events(),
        vec![
            DriverEvent::Event {
                seq: 7,
                event: event(7)
            },
            DriverEvent::Event {
                seq: 8,
                event: event(8)
            },
            DriverEvent::Lost {
                expected_seq: 9,
                got_seq: 10
            },
            DriverEvent::Event {
                seq: 10,
                event: event(10)
            },
        ]
    );
    assert!(pump.drain_events().is_empty());
}

#[tokio::test]
async fn a_repeated_event_frame_is_a_duplicate_not_a_gap() {
    let event = |t| Event::AlarmRaised {
        device_time_ms: t,
        alarm: AlarmKind::LowReservoir,
        priority: Priority::Medium,
    };
    let pump = stopped_after_events(&[7, 7, 8], event).await;
    assert_eq!(
        pump.drain_events(),
        vec![
            DriverEvent::Event {
                seq: 7,
                event: event(7)
            },
            DriverEvent::Event {
                seq: 8,
                event: event(8)
            },
        ],
        "the second event 7 is neither delivered again nor a gap of 65535"
    );
    let kinds: Vec<_> = pump.take_deviations().into_iter().map(|d| d.kind).collect();
    assert_eq!(kinds, vec![DeviationKind::Duplicate]);
}

#[tokio::test]
async fn the_event_receiver_can_be_taken_once() {
    let (pump, _) = fake_device(Box::new(|_, f| {
        let event = Event::TherapyStateChanged {
            device_time_ms: 5,
            state: TherapyState::Stopped,
        };
        [encode_frame(1, &Message::Event(event)).unwrap(), ack(f)].concat()
    }));
    let mut rx = pump.take_event_receiver().unwrap();
    assert!(pump.take_event_receiver().is_none());
    pump.stop().await.unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(DriverEvent::Event { seq: 1, .. })
    ));
    assert!(pump.drain_events().is_empty());
}

#[tokio::test]
async fn a_hang_up_loses_the_device_at_once() {
    let (host, dev) = memory_pair();
    let pump = PumpDriver::new(host);
    drop(dev);
    let started = std::time::Instant::now();
    let result = pump.status().await;
    assert!(
        matches!(result, Err(DriverError::DeviceLost(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(200));
    assert!(pump.is_lost());
}

#[tokio::test]
async fn an_answer_of_the_wrong_kind_is_a_protocol_error() {
    let (pump, _) = fake_device(Box::new(|_, f| {
        let answer = Message::Response {
            request: RequestKind::ResumeTherapy,
            body: ResponseBody::Ack,
        };
        encode_frame(f.seq, &answer).unwrap()
    }));
    let result = pump.stop().await;
    assert!(
        matches!(result, Err(DriverError::Protocol(_))),
        "{result:?}"
    );
}
