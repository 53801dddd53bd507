//! Checks every hex test vector in docs/protocol.md against the implementation: the named
//! message encodes to exactly the documented bytes and the documented wire bytes decode back to
//! it. Every request, every response body, NACK and every event must have a vector.
//!
//! After a deliberate protocol change, a failing vector prints the block that would pass.

mod common;

use pumphil::protocol::frame::{decode_raw_frame, frame_bytes};
use pumphil::protocol::*;
use std::collections::{BTreeMap, BTreeSet};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");

fn identity() -> Identity {
    Identity {
        model: "PH-EMU-40".into(),
        serial_number: "EMU-0001".into(),
        firmware_version: "emu-0.1.0".into(),
        protocol_version: 1,
        reservoir_capacity_nl: 40_000_000,
        test_unit: true,
    }
}

/// 20 h into 600 ug/day at 500 ug/mL after a 3.0 mL refill: 1.0 mL delivered, 2.0 mL left.
fn status() -> Status {
    Status {
        device_time_ms: 72_000_000,
        calculated_reservoir_nl: 2_000_000,
        delivered_nl: 1_000_000,
        dose_rate_ug_per_day: 600,
        concentration_ug_per_ml: 500,
        low_reservoir_threshold_nl: 2_000_000,
        therapy_state: TherapyState::Running,
        battery_permille: 999,
        elective_replacement: false,
        end_of_service: false,
        alarms: vec![ActiveAlarm {
            alarm: AlarmKind::LowReservoir,
            priority: Priority::Medium,
            state: AlarmState::Active,
        }],
    }
}

fn event_log_page() -> EventLogPage {
    EventLogPage {
        total: 2,
        first_index: 0,
        entries: vec![
            LogEntry {
                device_time_ms: 0,
                kind: LogEntryKind::Programmed,
                code: 0,
                value: 600,
            },
            LogEntry {
                device_time_ms: 72_000_000,
                kind: LogEntryKind::AlarmRaised,
                code: AlarmKind::LowReservoir.to_wire(),
                value: i64::from(Priority::Medium.to_wire()),
            },
        ],
    }
}

fn plant() -> Plant {
    Plant {
        actual_reservoir_nl: 1_500_000,
        tip_nl: 1_500_000,
        pocket_nl: 0,
        catheter: CatheterState::Connected,
        motor_stalled: false,
        flow_bias_centi_percent: 2000,
    }
}

fn ok(request: RequestKind, body: ResponseBody) -> Message {
    Message::Response { request, body }
}

fn ack(request: RequestKind) -> Message {
    ok(request, ResponseBody::Ack)
}

fn req(request: Request) -> Message {
    Message::Request(request)
}

/// The message each documented vector name stands for, with its sequence number.
fn expected(name: &str) -> Option<(u16, Message)> {
    use RequestKind as K;
    Some(match name {
        "identify-request" => (1, req(Request::Identify)),
        "identify-response" => (1, ok(K::Identify, ResponseBody::Identity(identity()))),
        "status-request" => (2, req(Request::Status)),
        "status-response" => (2, ok(K::Status, ResponseBody::Status(status()))),
        "program-continuous-request" => (
            3,
            req(Request::ProgramContinuous {
                dose_ug_per_day: 600,
            }),
        ),
        "program-continuous-response" => (3, ack(K::ProgramContinuous)),
        "program-flexible-request" => (
            4,
            req(Request::ProgramFlexible {
                steps: vec![
                    FlexStep {
                        start_minute: 420,
                        dose_ug_per_day: 500,
                    },
                    FlexStep {
                        start_minute: 1320,
                        dose_ug_per_day: 600,
                    },
                ],
            }),
        ),
        "program-flexible-response" => (4, ack(K::ProgramFlexible)),
        "bolus-request" => (
            5,
            req(Request::Bolus {
                dose_ug: 50,
                duration_s: 1800,
                bridge: true,
            }),
        ),
        "bolus-response" => (5, ack(K::Bolus)),
        "refill-request" => (
            6,
            req(Request::Refill {
                volume_nl: 20_000_000,
                concentration_ug_per_ml: 1000,
            }),
        ),
        "refill-response" => (6, ack(K::Refill)),
        "stop-therapy-request" => (7, req(Request::StopTherapy)),
        "stop-therapy-response" => (7, ack(K::StopTherapy)),
        "resume-therapy-request" => (8, req(Request::ResumeTherapy)),
        "resume-therapy-response" => (8, ack(K::ResumeTherapy)),
        "set-threshold-request" => (
            9,
            req(Request::SetLowReservoirThreshold {
                threshold_nl: 2_000_000,
            }),
        ),
        "set-threshold-response" => (9, ack(K::SetLowReservoirThreshold)),
        "acknowledge-alarm-request" => (
            10,
            req(Request::AcknowledgeAlarm {
                alarm: AlarmKind::LowReservoir,
                action: AlarmAction::Silence,
            }),
        ),
        "acknowledge-alarm-response" => (10, ack(K::AcknowledgeAlarm)),
        "read-event-log-request" => (11, req(Request::ReadEventLog { page: 0 })),
        "read-event-log-response" => (
            11,
            ok(
                K::ReadEventLog,
                ResponseBody::EventLogPage(event_log_page()),
            ),
        ),
        "read-event-log-entries-request" => (
            16,
            req(Request::ReadEventLogEntries {
                first_index: 0,
                max_entries: 2,
            }),
        ),
        "read-event-log-entries-response" => (
            16,
            ok(
                K::ReadEventLogEntries,
                ResponseBody::EventLogPage(event_log_page()),
            ),
        ),
        "advance-time-request" => (12, req(Request::AdvanceTime { to_ms: 72_000_000 })),
        "advance-time-response" => (
            12,
            ok(
                K::AdvanceTime,
                ResponseBody::Time {
                    device_time_ms: 72_000_000,
                },
            ),
        ),
        "inject-fault-request" => (
            13,
            req(Request::InjectFault {
                fault: Fault::FlowBias {
                    centi_percent: 2000,
                },
            }),
        ),
        "inject-fault-response" => (13, ack(K::InjectFault)),
        "clear-fault-request" => (
            14,
            req(Request::ClearFault {
                fault: FaultKind::CatheterDisconnect,
            }),
        ),
        "clear-fault-response" => (14, ack(K::ClearFault)),
        "read-plant-request" => (15, req(Request::ReadPlant)),
        "read-plant-response" => (15, ok(K::ReadPlant, ResponseBody::Plant(plant()))),
        "advance-and-sample-request" => (18, req(Request::AdvanceAndSample { to_ms: 72_000_000 })),
        "advance-and-sample-response" => (
            18,
            ok(
                K::AdvanceAndSample,
                ResponseBody::Sample {
                    plant: plant(),
                    status: status(),
                },
            ),
        ),
        "nack-unknown-advance-and-sample" => (
            18,
            Message::Nack {
                request_type: K::AdvanceAndSample as u8,
                code: NackCode::UnknownMessage,
            },
        ),
        "nack-not-in-test-mode" => (
            16,
            Message::Nack {
                request_type: K::AdvanceTime as u8,
                code: NackCode::NotInTestMode,
            },
        ),
        "nack-bad-crc" => (
            17,
            Message::Nack {
                request_type: 0,
                code: NackCode::BadCrc,
            },
        ),
        "event-alarm-raised" => (
            1,
            Message::Event(Event::AlarmRaised {
                device_time_ms: 72_000_000,
                alarm: AlarmKind::LowReservoir,
                priority: Priority::Medium,
            }),
        ),
        "event-alarm-cleared" => (
            2,
            Message::Event(Event::AlarmCleared {
                device_time_ms: 86_400_000,
                alarm: AlarmKind::LowReservoir,
            }),
        ),
        "event-therapy-state-changed" => (
            3,
            Message::Event(Event::TherapyStateChanged {
                device_time_ms: 216_000_000,
                state: TherapyState::Halted,
            }),
        ),
        _ => return None,
    })
}

/// One ```vector block of the document.
#[derive(Debug)]
struct DocVector {
    line: usize,
    name: String,
    seq: u16,
    decoded: Vec<u8>,
    wire: Vec<u8>,
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    text.split_whitespace()
        .map(|h| match h.len() {
            2 => u8::from_str_radix(h, 16).map_err(|_| format!("{h:?} is not a hex byte")),
            _ => Err(format!("{h:?} is not a two-digit hex byte")),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_block(line: usize, fields: &BTreeMap<String, String>) -> Result<DocVector, String> {
    let field = |key: &str| {
        fields
            .get(key)
            .cloned()
            .ok_or_else(|| format!("vector at line {line} has no `{key}:`"))
    };
    for key in fields.keys() {
        if !["name", "message", "seq", "decoded", "wire"].contains(&key.as_str()) {
            return Err(format!("vector at line {line}: unknown key `{key}`"));
        }
    }
    let seq = field("seq")?;
    Ok(DocVector {
        line,
        name: field("name")?,
        seq: seq
            .parse()
            .map_err(|_| format!("vector at line {line}: seq {seq:?} is not a u16"))?,
        decoded: unhex(&field("decoded")?).map_err(|e| format!("line {line}: {e}"))?,
        wire: unhex(&field("wire")?).map_err(|e| format!("line {line}: {e}"))?,
    })
}

fn documented() -> Vec<DocVector> {
    let doc = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("reading {DOC}: {e}"));
    let mut vectors = Vec::new();
    let mut block: Option<(usize, BTreeMap<String, String>)> = None;
    for (index, text) in doc.lines().enumerate() {
        let text = text.trim();
        match &mut block {
            None if text == "```vector" => block = Some((index + 1, BTreeMap::new())),
            None => {}
            Some((start, fields)) if text == "```" => {
                vectors.push(parse_block(*start, fields).unwrap_or_else(|e| panic!("{e}")));
                block = None;
            }
            Some((start, fields)) => {
                let (key, value) = text
                    .split_once(':')
                    .unwrap_or_else(|| panic!("line {}: not `key: value`", index + 1));
                let previous = fields.insert(key.trim().to_string(), value.trim().to_string());
                assert!(previous.is_none(), "vector at line {start}: `{key}` twice");
            }
        }
    }
    assert!(block.is_none(), "a ```vector block is never closed");
    vectors
}

fn block_for(name: &str, seq: u16, message: &Message) -> String {
    let wire = encode_frame(seq, message).map_or_else(|e| e.to_string(), |w| hex(&w));
    format!(
        "```vector\nname: {name}\nseq: {seq}\ndecoded: {}\nwire: {wire}\n```",
        hex(&frame_bytes(seq, message))
    )
}

#[test]
fn every_documented_vector_encodes_and_decodes_exactly() {
    let mut failures = Vec::new();
    for v in documented() {
        let Some((seq, message)) = expected(&v.name) else {
            failures.push(format!(
                "line {}: no message known for `{}`",
                v.line, v.name
            ));
            continue;
        };
        let mut wrong = Vec::new();
        if v.seq != seq {
            wrong.push(format!("seq {} (the test builds it with {seq})", v.seq));
        }
        if v.decoded != frame_bytes(seq, &message) {
            wrong.push("decoded bytes differ from the encoder's".to_string());
        }
        if Ok(&v.wire) != encode_frame(seq, &message).as_ref() {
            wrong.push("wire bytes differ from the encoder's".to_string());
        }
        let want = Ok(Frame {
            seq,
            message: message.clone(),
        });
        match v.wire.split_last() {
            Some((0, block)) if !block.contains(&0) => {
                if decode_frame(block) != want {
                    wrong.push(format!("wire decodes to {:?}", decode_frame(block)));
                }
            }
            _ => wrong.push("wire must hold exactly one 00, at the end".to_string()),
        }
        if decode_raw_frame(&v.decoded) != want {
            wrong.push(format!("decoded gives {:?}", decode_raw_frame(&v.decoded)));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "line {} `{}`: {}\nthe implementation gives:\n{}",
                v.line,
                v.name,
                wrong.join("; "),
                block_for(&v.name, seq, &message)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn each_vector_is_documented_once() {
    let mut seen = BTreeSet::new();
    for v in documented() {
        assert!(seen.insert(v.name.clone()), "`{}` documented twice", v.name);
    }
}

/// Counted from the document, so deleting a vector from it fails here.
#[test]
fn every_message_kind_has_a_documented_vector() {
    let messages: Vec<Message> = documented()
        .iter()
        .filter_map(|v| expected(&v.name).map(|(_, m)| m))
        .collect();
    let has = |wanted: &dyn Fn(&Message) -> bool| messages.iter().any(wanted);
    for kind in RequestKind::ALL {
        assert!(
            has(&|m| matches!(m, Message::Request(r) if r.kind() == *kind)),
            "no vector for the {kind:?} request"
        );
        assert!(
            has(&|m| matches!(m, Message::Response { request, .. } if request == kind)),
            "no vector for the response to {kind:?}"
        );
    }
    type IsBody = fn(&ResponseBody) -> bool;
    let bodies: [(&str, IsBody); 7] = [
        ("Ack", |b| matches!(b, ResponseBody::Ack)),
        ("Identity", |b| matches!(b, ResponseBody::Identity(_))),
        ("Status", |b| matches!(b, ResponseBody::Status(_))),
        ("EventLogPage", |b| {
            matches!(b, ResponseBody::EventLogPage(_))
        }),
        ("Time", |b| matches!(b, ResponseBody::Time { .. })),
        ("Plant", |b| matches!(b, ResponseBody::Plant(_))),
        ("Sample", |b| matches!(b, ResponseBody::Sample { .. })),
    ];
    for (name, is_body) in bodies {
        assert!(
            has(&|m| matches!(m, Message::Response { body, .. } if is_body(body))),
            "no vector for a {name} response body"
        );
    }
    assert!(
        has(&|m| matches!(m, Message::Nack { .. })),
        "no NACK vector"
    );
    for (name, event_type) in [
        ("AlarmRaised", message::EVENT_ALARM_RAISED),
        ("AlarmCleared", message::EVENT_ALARM_CLEARED),
        ("TherapyStateChanged", message::EVENT_THERAPY_STATE_CHANGED),
    ] {
        assert!(
            has(&|m| matches!(m, Message::Event(_)) && m.type_byte() == event_type),
            "no vector for the {name} event"
        );
    }
}

#[test]
fn the_worked_examples_in_the_text_match_the_implementation() {
    let doc = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("reading {DOC}: {e}"));
    let identify = req(Request::Identify);
    let raw = frame_bytes(1, &identify);
    let wire = encode_frame(1, &identify).expect("identify fits in a frame");
    for claim in [
        format!("`{}`", hex(&raw)),
        format!("`{}`", hex(&wire)),
        format!(
            "`0x{:04X}`",
            pumphil::protocol::crc::crc16_ibm3740(&raw[..4])
        ),
        format!(
            "`0x{:04X}` over the ASCII",
            pumphil::protocol::crc::crc16_ibm3740(b"123456789")
        ),
    ] {
        assert!(doc.contains(&claim), "docs/protocol.md should say {claim}");
    }
}

/// The status vector is what the emulator sends in the state it describes (section 14's
/// session: 3.0 mL at 500 ug/mL, threshold 2.0 mL, 600 ug/day, 20 h), over a real pty.
#[tokio::test]
async fn the_status_vector_is_what_the_emulator_sends_in_that_state() {
    let (_emulator, pump) = common::emulated_pump().await;
    pump.refill(3_000_000, 500).await.unwrap();
    pump.set_threshold(2_000_000).await.unwrap();
    pump.program_continuous(600).await.unwrap();
    pump.advance_to(72_000_000).await.unwrap();
    assert_eq!(pump.status().await.unwrap(), status());
}
