//! Property tests of the wire format: every message round-trips, garbage never panics, a byte
//! stream cut anywhere reassembles into the same frames, and damaged frames are rejected
//! without costing the frames that follow.

use proptest::prelude::*;
use pumphil::protocol::frame::{decode_raw_frame, frame_bytes};
use pumphil::protocol::*;

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

/// The longest prefix of `s` that fits `max` bytes without splitting a character.
fn prefix_within(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Any text a text field can carry: UTF-8 of at most 32 bytes.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,32}".prop_map(|s| prefix_within(&s, message::MAX_TEXT_LEN))
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::CatheterDisconnect),
        Just(Fault::CatheterOcclusion),
        Just(Fault::MotorStall),
        any::<u16>().prop_map(|permille| Fault::BatteryCharge { permille }),
        // The wire value is an i64, so a volume above i64::MAX cannot be sent.
        (0..=i64::MAX as u64).prop_map(|volume_nl| Fault::PhysicalRefillVolume { volume_nl }),
        any::<i32>().prop_map(|centi_percent| Fault::FlowBias { centi_percent }),
    ]
}

fn flex_step() -> impl Strategy<Value = FlexStep> {
    (any::<u16>(), any::<u32>()).prop_map(|(start_minute, dose_ug_per_day)| FlexStep {
        start_minute,
        dose_ug_per_day,
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Identify),
        Just(Request::Status),
        any::<u32>().prop_map(|dose_ug_per_day| Request::ProgramContinuous { dose_ug_per_day }),
        // Up to 50 steps: from 42 on, the frame is longer than 256 bytes.
        proptest::collection::vec(flex_step(), 0..50)
            .prop_map(|steps| Request::ProgramFlexible { steps }),
        (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(dose_ug, duration_s, bridge)| {
            Request::Bolus {
                dose_ug,
                duration_s,
                bridge,
            }
        }),
        (any::<u64>(), any::<u32>()).prop_map(|(volume_nl, concentration_ug_per_ml)| {
            Request::Refill {
                volume_nl,
                concentration_ug_per_ml,
            }
        }),
        Just(Request::StopTherapy),
        Just(Request::ResumeTherapy),
        any::<u64>().prop_map(|threshold_nl| Request::SetLowReservoirThreshold { threshold_nl }),
        (pick(AlarmKind::ALL), pick(AlarmAction::ALL))
            .prop_map(|(alarm, action)| Request::AcknowledgeAlarm { alarm, action }),
        any::<u16>().prop_map(|page| Request::ReadEventLog { page }),
        (any::<u32>(), any::<u8>()).prop_map(|(first_index, max_entries)| {
            Request::ReadEventLogEntries {
                first_index,
                max_entries,
            }
        }),
        any::<u64>().prop_map(|to_ms| Request::AdvanceTime { to_ms }),
        fault().prop_map(|fault| Request::InjectFault { fault }),
        pick(FaultKind::ALL).prop_map(|fault| Request::ClearFault { fault }),
        Just(Request::ReadPlant),
    ]
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        (text(), text(), text()),
        any::<u8>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                (model, serial_number, firmware_version),
                protocol_version,
                reservoir_capacity_nl,
                test_unit,
            )| Identity {
                model,
                serial_number,
                firmware_version,
                protocol_version,
                reservoir_capacity_nl,
                test_unit,
            },
        )
}

fn status() -> impl Strategy<Value = Status> {
    let alarm = (
        pick(AlarmKind::ALL),
        pick(Priority::ALL),
        pick(AlarmState::ALL),
    )
        .prop_map(|(alarm, priority, state)| ActiveAlarm {
            alarm,
            priority,
            state,
        });
    (
        any::<[u64; 4]>(),
        any::<[u32; 2]>(),
        pick(TherapyState::ALL),
        any::<u16>(),
        any::<[bool; 2]>(),
        proptest::collection::vec(alarm, 0..6),
    )
        .prop_map(
            |(v, r, therapy_state, battery_permille, f, alarms)| Status {
                device_time_ms: v[0],
                calculated_reservoir_nl: v[1],
                delivered_nl: v[2],
                dose_rate_ug_per_day: r[0],
                concentration_ug_per_ml: r[1],
                low_reservoir_threshold_nl: v[3],
                therapy_state,
                battery_permille,
                elective_replacement: f[0],
                end_of_service: f[1],
                alarms,
            },
        )
}

fn event_log_page() -> impl Strategy<Value = EventLogPage> {
    let entry = (
        any::<u64>(),
        pick(LogEntryKind::ALL),
        any::<u8>(),
        any::<i64>(),
    )
        .prop_map(|(device_time_ms, kind, code, value)| LogEntry {
            device_time_ms,
            kind,
            code,
            value,
        });
    (
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(entry, 0..=LOG_PAGE_LEN),
    )
        .prop_map(|(total, first_index, entries)| EventLogPage {
            total,
            first_index,
            entries,
        })
}

fn plant() -> impl Strategy<Value = Plant> {
    (
        any::<[u64; 3]>(),
        pick(CatheterState::ALL),
        any::<bool>(),
        any::<i32>(),
    )
        .prop_map(
            |(v, catheter, motor_stalled, flow_bias_centi_percent)| Plant {
                actual_reservoir_nl: v[0],
                tip_nl: v[1],
                pocket_nl: v[2],
                catheter,
                motor_stalled,
                flow_bias_centi_percent,
            },
        )
}

/// Requests answered with an empty body.
const ACKED: &[RequestKind] = &[
    RequestKind::ProgramContinuous,
    RequestKind::ProgramFlexible,
    RequestKind::Bolus,
    RequestKind::Refill,
    RequestKind::StopTherapy,
    RequestKind::ResumeTherapy,
    RequestKind::SetLowReservoirThreshold,
    RequestKind::AcknowledgeAlarm,
    RequestKind::InjectFault,
    RequestKind::ClearFault,
];

fn response() -> impl Strategy<Value = Message> {
    prop_oneof![
        pick(ACKED).prop_map(|k| (k, ResponseBody::Ack)),
        identity().prop_map(|i| (RequestKind::Identify, ResponseBody::Identity(i))),
        status().prop_map(|s| (RequestKind::Status, ResponseBody::Status(s))),
        event_log_page().prop_map(|p| (RequestKind::ReadEventLog, ResponseBody::EventLogPage(p))),
        event_log_page().prop_map(|p| (
            RequestKind::ReadEventLogEntries,
            ResponseBody::EventLogPage(p)
        )),
        any::<u64>().prop_map(|device_time_ms| (
            RequestKind::AdvanceTime,
            ResponseBody::Time { device_time_ms }
        )),
        plant().prop_map(|p| (RequestKind::ReadPlant, ResponseBody::Plant(p))),
    ]
    .prop_map(|(request, body)| Message::Response { request, body })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (any::<u64>(), pick(AlarmKind::ALL), pick(Priority::ALL)).prop_map(
            |(device_time_ms, alarm, priority)| Event::AlarmRaised {
                device_time_ms,
                alarm,
                priority,
            }
        ),
        (any::<u64>(), pick(AlarmKind::ALL)).prop_map(|(device_time_ms, alarm)| {
            Event::AlarmCleared {
                device_time_ms,
                alarm,
            }
        }),
        (any::<u64>(), pick(TherapyState::ALL)).prop_map(|(device_time_ms, state)| {
            Event::TherapyStateChanged {
                device_time_ms,
                state,
            }
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        request().prop_map(Message::Request),
        response(),
        (any::<u8>(), pick(NackCode::ALL))
            .prop_map(|(request_type, code)| Message::Nack { request_type, code }),
        event().prop_map(Message::Event),
    ]
}

/// A message that always fits one frame, with a sequence number.
fn small_frame() -> impl Strategy<Value = Frame> {
    (any::<u16>(), message())
        .prop_filter("fits one frame", |(seq, m)| {
            frame_bytes(*seq, m).len() <= MAX_FRAME_LEN
        })
        .prop_map(|(seq, message)| Frame { seq, message })
}

fn wire(frame: &Frame) -> Vec<u8> {
    encode_frame(frame.seq, &frame.message).expect("small_frame() only yields frames that fit")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips(seq in any::<u16>(), message in message()) {
        let raw = frame_bytes(seq, &message);
        match encode_frame(seq, &message) {
            Ok(wire) => {
                prop_assert!(raw.len() <= MAX_FRAME_LEN);
                prop_assert_eq!(wire.iter().position(|b| *b == 0), Some(wire.len() - 1));
                prop_assert!(wire.len() <= MAX_WIRE_FRAME_LEN);
                let want = Frame { seq, message };
                prop_assert_eq!(decode_frame(&wire[..wire.len() - 1]), Ok(want.clone()));
                prop_assert_eq!(decode_raw_frame(&raw), Ok(want));
            }
            // Only a frame really over the limit is refused, and it says how long it was.
            Err(err) => {
                prop_assert_eq!(err, FrameError::TooLong { len: raw.len() });
                prop_assert!(raw.len() > MAX_FRAME_LEN);
            }
        }
    }

    #[test]
    fn over_long_text_is_cut_at_a_character_boundary(model in "\\PC{0,40}", seq in any::<u16>()) {
        let id = Identity {
            model: model.clone(),
            serial_number: String::new(),
            firmware_version: String::new(),
            protocol_version: 1,
            reservoir_capacity_nl: 0,
            test_unit: false,
        };
        let message = Message::Response { request: RequestKind::Identify, body: ResponseBody::Identity(id.clone()) };
        let wire = encode_frame(seq, &message).expect("an identity of 32-byte texts fits");
        let want = Identity { model: prefix_within(&model, message::MAX_TEXT_LEN), ..id };
        prop_assert_eq!(
            decode_frame(&wire[..wire.len() - 1]).map(|f| f.message),
            Ok(Message::Response { request: RequestKind::Identify, body: ResponseBody::Identity(want) })
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..700),
        type_byte in any::<u8>(),
        cuts in proptest::collection::vec(1usize..300, 1..10),
    ) {
        let _ = decode_frame(&bytes);
        let _ = decode_raw_frame(&bytes);
        let _ = Message::decode(type_byte, &bytes);
        let mut assembler = FrameAssembler::new();
        let mut results = 0;
        let mut rest = &bytes[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
            results += assembler.push(chunk).len();
            rest = tail;
            prop_assert!(assembler.pending() <= MAX_WIRE_FRAME_LEN);
        }
        // At most one result per delimiter.
        prop_assert!(results <= bytes.iter().filter(|b| **b == 0).count());
    }

    #[test]
    fn a_stream_cut_anywhere_reassembles(
        sent in proptest::collection::vec(small_frame(), 1..12),
        flushes in proptest::collection::vec(any::<bool>(), 12),
        cuts in proptest::collection::vec(1usize..40, 1..50),
    ) {
        // Some frames are preceded by a lone delimiter, which a receiver must ignore.
        let stream: Vec<u8> = sent
            .iter()
            .zip(flushes.iter().cycle())
            .flat_map(|(frame, flush)| {
                let mut bytes = if *flush { vec![0] } else { Vec::new() };
                bytes.extend(wire(frame));
                bytes
            })
            .collect();
        let mut assembler = FrameAssembler::new();
        let mut received = Vec::new();
        let mut rest = &stream[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
            for result in assembler.push(chunk) {
                prop_assert!(result.is_ok(), "{:?}", result);
                received.extend(result.ok());
            }
            rest = tail;
        }
        prop_assert_eq!(received, sent);
        prop_assert_eq!(assembler.pending(), 0);
    }

    /// CRC-16 detects every error confined to 16 bits, so one changed byte is always caught.
    #[test]
    fn one_changed_byte_in_a_frame_is_a_bad_crc_and_the_next_frame_still_arrives(
        frame in small_frame(),
        next in small_frame(),
        index in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut raw = frame_bytes(frame.seq, &frame.message);
        let i = index.index(raw.len());
        raw[i] ^= flip;
        let damaged_seq = u16::from_le_bytes([raw[1], raw[2]]);
        let result = decode_raw_frame(&raw);
        prop_assert!(
            matches!(result, Err(FrameError::BadCrc { seq, .. }) if seq == damaged_seq),
            "{:?}", result
        );
        let mut stream = cobs::cobs_encode(&raw);
        stream.push(0);
        stream.extend(wire(&next));
        let mut assembler = FrameAssembler::new();
        let results = assembler.push(&stream);
        prop_assert_eq!(results.len(), 2);
        prop_assert!(matches!(results[0], Err(FrameError::BadCrc { .. })), "{:?}", results[0]);
        prop_assert_eq!(&results[1], &Ok(next));
    }

    /// A byte flipped on the wire may even become a delimiter; the damaged frame must never
    /// come out as the original, and the next frame must.
    #[test]
    fn a_flipped_wire_byte_never_passes_and_the_next_frame_still_arrives(
        frame in small_frame(),
        next in small_frame(),
        index in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut damaged = wire(&frame);
        let i = index.index(damaged.len() - 1);
        damaged[i] ^= flip;
        let mut assembler = FrameAssembler::new();
        let mut results = assembler.push(&damaged);
        results.extend(assembler.push(&wire(&next)));
        let (last, before) = results.split_last().expect("the next frame yields a result");
        prop_assert!(!before.is_empty(), "the damaged frame left no trace");
        prop_assert!(before.iter().all(|r| r.as_ref() != Ok(&frame)), "{:?}", before);
        prop_assert_eq!(last, &Ok(next));
    }
}
