//! Every hex test vector in docs/protocol.md is checked here: encoding the named message gives
//! exactly the documented bytes, and decoding the documented wire bytes gives the message back.
//! Every message kind must have a vector.
//!
//! To print fresh vector blocks after a deliberate protocol change:
//! `cargo test --test protocol_vectors -- --ignored --nocapture`

use pumphil::protocol::frame::frame_bytes;
use pumphil::protocol::*;
use std::collections::BTreeSet;

fn identity() -> Identity {
    Identity { model: "PH-EMU-40".into(), serial_number: "EMU-0001".into(), firmware_version: "emu-0.1.0".into(), protocol_version: 1, reservoir_capacity_nl: 40_000_000, test_unit: true }
}

fn status() -> Status {
    Status {
        device_time_ms: 72_000_000,
        calculated_reservoir_nl: 2_000_000,
        delivered_nl: 1_000_000,
        dose_rate_ug_per_day: 600,
        concentration_ug_per_ml: 500,
        low_reservoir_threshold_nl: 2_000_000,
        therapy_state: TherapyState::Running,
        battery_permille: 998,
        elective_replacement: false,
        end_of_service: false,
        alarms: vec![ActiveAlarm { alarm: AlarmKind::LowReservoir, priority: Priority::Medium, state: AlarmState::Active }],
    }
}

fn ok(request: RequestKind, body: ResponseBody) -> Message {
    Message::Response { request, body }
}

/// (name, seq, message) for every vector in the document.
fn vectors() -> Vec<(&'static str, u16, Message)> {
    use Request as R;
    let req = |r: Request| Message::Request(r);
    vec![
        ("identify-request", 1, req(R::Identify)),
        ("identify-response", 1, ok(RequestKind::Identify, ResponseBody::Identity(identity()))),
        ("status-request", 2, req(R::Status)),
        ("status-response", 2, ok(RequestKind::Status, ResponseBody::Status(status()))),
        ("program-continuous-request", 3, req(R::ProgramContinuous { dose_ug_per_day: 600 })),
        ("program-continuous-response", 3, ok(RequestKind::ProgramContinuous, ResponseBody::Ack)),
        ("program-flexible-request", 4, req(R::ProgramFlexible { steps: vec![FlexStep { start_minute: 420, dose_ug_per_day: 500 }, FlexStep { start_minute: 1320, dose_ug_per_day: 600 }] })),
        ("program-flexible-response", 4, ok(RequestKind::ProgramFlexible, ResponseBody::Ack)),
        ("bolus-request", 5, req(R::Bolus { dose_ug: 50, duration_s: 1800, bridge: true })),
        ("bolus-response", 5, ok(RequestKind::Bolus, ResponseBody::Ack)),
        ("refill-request", 6, req(R::Refill { volume_nl: 20_000_000, concentration_ug_per_ml: 1000 })),
        ("refill-response", 6, ok(RequestKind::Refill, ResponseBody::Ack)),
        ("stop-therapy-request", 7, req(R::StopTherapy)),
        ("stop-therapy-response", 7, ok(RequestKind::StopTherapy, ResponseBody::Ack)),
        ("resume-therapy-request", 8, req(R::ResumeTherapy)),
        ("resume-therapy-response", 8, ok(RequestKind::ResumeTherapy, ResponseBody::Ack)),
        ("set-threshold-request", 9, req(R::SetLowReservoirThreshold { threshold_nl: 2_000_000 })),
        ("set-threshold-response", 9, ok(RequestKind::SetLowReservoirThreshold, ResponseBody::Ack)),
        ("acknowledge-alarm-request", 10, req(R::AcknowledgeAlarm { alarm: AlarmKind::LowReservoir, action: AlarmAction::Silence })),
        ("acknowledge-alarm-response", 10, ok(RequestKind::AcknowledgeAlarm, ResponseBody::Ack)),
        ("read-event-log-request", 11, req(R::ReadEventLog { page: 0 })),
        ("read-event-log-response", 11, ok(RequestKind::ReadEventLog, ResponseBody::EventLogPage(EventLogPage { total: 2, first_index: 0, entries: vec![LogEntry { device_time_ms: 0, kind: LogEntryKind::Programmed, code: 0, value: 600 }, LogEntry { device_time_ms: 72_000_000, kind: LogEntryKind::AlarmRaised, code: 1, value: 2 }] }))),
        ("advance-time-request", 12, req(R::AdvanceTime { to_ms: 72_000_000 })),
        ("advance-time-response", 12, ok(RequestKind::AdvanceTime, ResponseBody::Time { device_time_ms: 72_000_000 })),
        ("inject-fault-request", 13, req(R::InjectFault { fault: Fault::FlowBias { centi_percent: 2000 } })),
        ("inject-fault-response", 13, ok(RequestKind::InjectFault, ResponseBody::Ack)),
        ("clear-fault-request", 14, req(R::ClearFault { fault: FaultKind::CatheterDisconnect })),
        ("clear-fault-response", 14, ok(RequestKind::ClearFault, ResponseBody::Ack)),
        ("read-plant-request", 15, req(R::ReadPlant)),
        ("read-plant-response", 15, ok(RequestKind::ReadPlant, ResponseBody::Plant(Plant { actual_reservoir_nl: 1_500_000, tip_nl: 1_500_000, pocket_nl: 0, catheter: CatheterState::Connected, motor_stalled: false, flow_bias_centi_percent: 2000 }))),
        ("nack-not-in-test-mode", 16, Message::Nack { request_type: 0x40, code: NackCode::NotInTestMode }),
        ("event-alarm-raised", 1, Message::Event(Event::AlarmRaised { device_time_ms: 72_000_000, alarm: AlarmKind::LowReservoir, priority: Priority::Medium })),
        ("event-alarm-cleared", 2, Message::Event(Event::AlarmCleared { device_time_ms: 86_400_000, alarm: AlarmKind::LowReservoir })),
        ("event-therapy-state-changed", 3, Message::Event(Event::TherapyStateChanged { device_time_ms: 216_000_000, state: TherapyState::Halted })),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

fn unhex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex {h:?}"))).collect()
}

/// The `vector` blocks of the document: name → (decoded hex, wire hex).
fn documented() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let doc = std::fs::read_to_string("docs/protocol.md").unwrap();
    let mut out = Vec::new();
    for block in doc.split("```vector").skip(1) {
        let body = block.split("```").next().unwrap();
        let field = |key: &str| body.lines().find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string())).unwrap_or_else(|| panic!("vector block without {key}: {body}"));
        out.push((field("name:"), unhex(&field("decoded:")), unhex(&field("wire:"))));
    }
    out
}

#[test]
fn every_documented_vector_encodes_and_decodes_exactly() {
    let expected = vectors();
    let documented = documented();
    assert_eq!(documented.len(), expected.len(), "docs/protocol.md has {} vectors, the test knows {}", documented.len(), expected.len());
    for (name, decoded, wire) in documented {
        let (_, seq, message) = expected.iter().find(|(n, ..)| *n == name).unwrap_or_else(|| panic!("unknown vector {name}"));
        assert_eq!(hex(&frame_bytes(*seq, message)), hex(&decoded), "{name}: decoded bytes");
        assert_eq!(hex(&encode_frame(*seq, message).unwrap()), hex(&wire), "{name}: wire bytes");
        let frame = decode_frame(&wire[..wire.len() - 1]).unwrap();
        assert_eq!((frame.seq, &frame.message), (*seq, message), "{name}: decoding the wire bytes");
    }
}

#[test]
fn every_message_type_has_a_vector() {
    let types: BTreeSet<u8> = vectors().iter().map(|(_, _, m)| m.type_byte()).collect();
    for kind in RequestKind::ALL {
        assert!(types.contains(&(*kind as u8)), "no vector for request {kind:?}");
        assert!(types.contains(&kind.response_type()), "no vector for the response to {kind:?}");
    }
    for t in [message::NACK_TYPE, message::EVENT_ALARM_RAISED, message::EVENT_ALARM_CLEARED, message::EVENT_THERAPY_STATE_CHANGED] {
        assert!(types.contains(&t), "no vector for type 0x{t:02X}");
    }
}

#[test]
#[ignore = "prints the vector blocks for docs/protocol.md"]
fn print_vectors() {
    for (name, seq, message) in vectors() {
        println!("```vector\nname: {name}\nseq: {seq}\ndecoded: {}\nwire: {}\n```\n", hex(&frame_bytes(seq, &message)), hex(&encode_frame(seq, &message).unwrap()));
    }
}
