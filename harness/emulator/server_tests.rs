//! Unit tests of the pump-protocol session: NACK rules, the retry cache, event numbering.

use super::*;
use crate::emulator::config::EmulatorConfig;
use crate::protocol::cobs::cobs_encode;
use crate::protocol::crc::crc16_ibm3740;
use crate::protocol::frame::frame_bytes;

const HOUR: u64 = 3_600_000;

fn session(mode: TimeMode) -> (Session, Arc<Mutex<Device>>) {
    let mut config = EmulatorConfig::default();
    config.pump.initial_fill_nl = 3_000_000;
    let device = Arc::new(Mutex::new(Device::new(config)));
    (Session::new(device.clone(), mode), device)
}

/// Feeds raw (un-stuffed) frame bytes through the assembler, as the server does.
fn answer_raw(session: &mut Session, raw: &[u8]) -> Vec<Frame> {
    let mut wire = cobs_encode(raw);
    wire.push(0);
    let mut out = Vec::new();
    for frame in FrameAssembler::new().push(&wire) {
        out.extend(session.answer(frame));
    }
    FrameAssembler::new()
        .push(&out)
        .into_iter()
        .map(|f| f.expect("the session sends valid frames"))
        .collect()
}

fn answer(session: &mut Session, seq: u16, request: Request) -> Vec<Frame> {
    answer_raw(session, &frame_bytes(seq, &Message::Request(request)))
}

/// Re-computes the CRC after a deliberate edit, so only the edited field is wrong.
fn with_crc(mut raw: Vec<u8>) -> Vec<u8> {
    let body_len = raw.len() - 2;
    let crc = crc16_ibm3740(&raw[..body_len]);
    raw[body_len..].copy_from_slice(&crc.to_le_bytes());
    raw
}

fn nack(seq: u16, request_type: u8, code: NackCode) -> Frame {
    Frame {
        seq,
        message: Message::Nack { request_type, code },
    }
}

fn programmed(device: &Arc<Mutex<Device>>) -> usize {
    let mut d = device.lock().unwrap();
    let Ok(ResponseBody::EventLogPage(page)) = d.handle(&Request::ReadEventLog { page: 0 }) else {
        return 0;
    };
    page.entries
        .iter()
        .filter(|e| e.kind == LogEntryKind::Programmed)
        .count()
}

#[test]
fn a_retry_is_answered_from_the_cache_and_not_applied_again() {
    let (mut s, device) = session(TimeMode::Virtual);
    let program = Request::ProgramContinuous {
        dose_ug_per_day: 600,
    };
    let first = answer(&mut s, 7, program.clone());
    let again = answer(&mut s, 7, program);
    // The events the first attempt produced were sent once; the retry gets the response only.
    assert!(matches!(first[0].message, Message::Event(_)));
    assert_eq!(again.as_slice(), &first[first.len() - 1..]);
    assert_eq!(programmed(&device), 1);
    // Different bytes under the same number are a new request.
    answer(
        &mut s,
        7,
        Request::ProgramContinuous {
            dose_ug_per_day: 700,
        },
    );
    assert_eq!(programmed(&device), 2);
}

#[test]
fn damaged_frames_get_the_agreed_nacks() {
    let (mut s, _) = session(TimeMode::Virtual);
    let mut raw = frame_bytes(9, &Message::Request(Request::Status));
    let last = raw.len() - 1;
    raw[last] ^= 0xFF;
    assert_eq!(answer_raw(&mut s, &raw), vec![nack(9, 0, NackCode::BadCrc)]);

    let mut raw = frame_bytes(10, &Message::Request(Request::Status));
    raw[0] = 2;
    assert_eq!(
        answer_raw(&mut s, &with_crc(raw)),
        vec![nack(10, 0, NackCode::UnsupportedVersion)]
    );

    let mut raw = frame_bytes(11, &Message::Request(Request::Status));
    raw[3] = 0x3C;
    assert_eq!(
        answer_raw(&mut s, &with_crc(raw)),
        vec![nack(11, 0x3C, NackCode::UnknownMessage)]
    );

    // A device-to-host type is UnknownMessage whether or not its payload would parse: a
    // Status response (82) with no payload, and a NACK (7F) with a good one.
    let mut raw = frame_bytes(13, &Message::Request(Request::Identify));
    raw[3] = 0x82;
    assert_eq!(
        answer_raw(&mut s, &with_crc(raw)),
        vec![nack(13, 0x82, NackCode::UnknownMessage)]
    );
    let mut raw = frame_bytes(14, &Message::Request(Request::Identify));
    raw[3] = 0x7F;
    raw.splice(4..4, [0x01, 0x02]);
    assert_eq!(
        answer_raw(&mut s, &with_crc(raw)),
        vec![nack(14, 0x7F, NackCode::UnknownMessage)]
    );

    // ProgramContinuous carries a u32: one byte short does not decode.
    let mut raw = frame_bytes(
        12,
        &Message::Request(Request::ProgramContinuous {
            dose_ug_per_day: 600,
        }),
    );
    raw.remove(4);
    assert_eq!(
        answer_raw(&mut s, &with_crc(raw)),
        vec![nack(12, 0x03, NackCode::MalformedPayload)]
    );

    // Longer than the 256-byte maximum: discarded without a reply.
    assert!(answer_raw(&mut s, &[0x55; 300]).is_empty());
}

#[test]
fn the_model_refusing_is_a_nack_with_its_code() {
    let (mut s, _) = session(TimeMode::Virtual);
    // Nothing programmed yet: there is no therapy to stop.
    assert_eq!(
        answer(&mut s, 3, Request::StopTherapy),
        vec![nack(3, 0x07, NackCode::NotAllowedInState)]
    );
}

#[test]
fn events_come_before_the_response_numbered_from_one() {
    let (mut s, _) = session(TimeMode::Virtual);
    let mut frames = answer(
        &mut s,
        1,
        Request::ProgramContinuous {
            dose_ug_per_day: 600,
        },
    );
    // 3.0 mL - 1.2 mL/day x 20 h = 2.0 mL: the low-reservoir alarm is raised at 20 h.
    frames.extend(answer(&mut s, 2, Request::AdvanceTime { to_ms: 20 * HOUR }));
    let responses: Vec<u16> = frames
        .iter()
        .filter(|f| matches!(f.message, Message::Response { .. }))
        .map(|f| f.seq)
        .collect();
    assert_eq!(responses, vec![1, 2]);
    assert!(matches!(
        frames.last().map(|f| &f.message),
        Some(Message::Response { .. })
    ));
    let events: Vec<&Frame> = frames
        .iter()
        .filter(|f| matches!(f.message, Message::Event(_)))
        .collect();
    let numbers: Vec<u16> = events.iter().map(|f| f.seq).collect();
    let expected: Vec<u16> = (1..=events.len() as u16).collect();
    assert_eq!(numbers, expected, "the event counter runs 1, 2, 3, ...");
    assert!(events.iter().any(|f| matches!(
        f.message,
        Message::Event(Event::AlarmRaised {
            alarm: AlarmKind::LowReservoir,
            device_time_ms,
            ..
        }) if device_time_ms == 20 * HOUR
    )));
}

#[test]
fn real_time_refuses_advance_time() {
    let (mut s, _) = session(TimeMode::RealTime(Instant::now()));
    assert_eq!(
        answer(&mut s, 1, Request::AdvanceTime { to_ms: HOUR }),
        vec![nack(1, 0x40, NackCode::NotAllowedInState)]
    );
}
