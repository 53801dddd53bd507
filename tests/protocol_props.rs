//! Property tests of the wire format: round trips for every message, garbage never panics, and
//! a byte stream cut anywhere reassembles into the same frames.

use proptest::prelude::*;
use pumphil::protocol::*;

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ._-]{0,32}"
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::CatheterDisconnect),
        Just(Fault::CatheterOcclusion),
        Just(Fault::MotorStall),
        any::<u16>().prop_map(|permille| Fault::BatteryCharge { permille }),
        (0..i64::MAX as u64).prop_map(|volume_nl| Fault::PhysicalRefillVolume { volume_nl }),
        any::<i32>().prop_map(|centi_percent| Fault::FlowBias { centi_percent }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Identify),
        Just(Request::Status),
        any::<u32>().prop_map(|dose_ug_per_day| Request::ProgramContinuous { dose_ug_per_day }),
        proptest::collection::vec((any::<u16>(), any::<u32>()).prop_map(|(start_minute, dose_ug_per_day)| FlexStep { start_minute, dose_ug_per_day }), 0..20).prop_map(|steps| Request::ProgramFlexible { steps }),
        (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(dose_ug, duration_s, bridge)| Request::Bolus { dose_ug, duration_s, bridge }),
        (any::<u64>(), any::<u32>()).prop_map(|(volume_nl, concentration_ug_per_ml)| Request::Refill { volume_nl, concentration_ug_per_ml }),
        Just(Request::StopTherapy),
        Just(Request::ResumeTherapy),
        any::<u64>().prop_map(|threshold_nl| Request::SetLowReservoirThreshold { threshold_nl }),
        (pick(AlarmKind::ALL), pick(AlarmAction::ALL)).prop_map(|(alarm, action)| Request::AcknowledgeAlarm { alarm, action }),
        any::<u16>().prop_map(|page| Request::ReadEventLog { page }),
        any::<u64>().prop_map(|to_ms| Request::AdvanceTime { to_ms }),
        fault().prop_map(|fault| Request::InjectFault { fault }),
        pick(FaultKind::ALL).prop_map(|fault| Request::ClearFault { fault }),
        Just(Request::ReadPlant),
    ]
}

fn body() -> impl Strategy<Value = (RequestKind, ResponseBody)> {
    let alarm = (pick(AlarmKind::ALL), pick(Priority::ALL), pick(AlarmState::ALL)).prop_map(|(alarm, priority, state)| ActiveAlarm { alarm, priority, state });
    let entry = (any::<u64>(), pick(LogEntryKind::ALL), any::<u8>(), any::<i64>()).prop_map(|(device_time_ms, kind, code, value)| LogEntry { device_time_ms, kind, code, value });
    prop_oneof![
        pick(&[RequestKind::ProgramContinuous, RequestKind::Refill, RequestKind::StopTherapy, RequestKind::ClearFault]).prop_map(|k| (k, ResponseBody::Ack)),
        (text(), text(), text(), any::<u8>(), any::<u64>(), any::<bool>()).prop_map(|(model, serial_number, firmware_version, protocol_version, reservoir_capacity_nl, test_unit)| (RequestKind::Identify, ResponseBody::Identity(Identity { model, serial_number, firmware_version, protocol_version, reservoir_capacity_nl, test_unit }))),
        (any::<[u64; 4]>(), any::<[u32; 2]>(), pick(TherapyState::ALL), any::<u16>(), any::<[bool; 2]>(), proptest::collection::vec(alarm, 0..6)).prop_map(|(v, r, therapy_state, battery_permille, f, alarms)| (RequestKind::Status, ResponseBody::Status(Status { device_time_ms: v[0], calculated_reservoir_nl: v[1], delivered_nl: v[2], dose_rate_ug_per_day: r[0], concentration_ug_per_ml: r[1], low_reservoir_threshold_nl: v[3], therapy_state, battery_permille, elective_replacement: f[0], end_of_service: f[1], alarms }))),
        (any::<u32>(), any::<u32>(), proptest::collection::vec(entry, 0..=8)).prop_map(|(total, first_index, entries)| (RequestKind::ReadEventLog, ResponseBody::EventLogPage(EventLogPage { total, first_index, entries }))),
        any::<u64>().prop_map(|device_time_ms| (RequestKind::AdvanceTime, ResponseBody::Time { device_time_ms })),
        (any::<[u64; 3]>(), pick(CatheterState::ALL), any::<bool>(), any::<i32>()).prop_map(|(v, catheter, motor_stalled, flow_bias_centi_percent)| (RequestKind::ReadPlant, ResponseBody::Plant(Plant { actual_reservoir_nl: v[0], tip_nl: v[1], pocket_nl: v[2], catheter, motor_stalled, flow_bias_centi_percent }))),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (any::<u64>(), pick(AlarmKind::ALL), pick(Priority::ALL)).prop_map(|(device_time_ms, alarm, priority)| Event::AlarmRaised { device_time_ms, alarm, priority }),
        (any::<u64>(), pick(AlarmKind::ALL)).prop_map(|(device_time_ms, alarm)| Event::AlarmCleared { device_time_ms, alarm }),
        (any::<u64>(), pick(TherapyState::ALL)).prop_map(|(device_time_ms, state)| Event::TherapyStateChanged { device_time_ms, state }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        request().prop_map(Message::Request),
        body().prop_map(|(request, body)| Message::Response { request, body }),
        (any::<u8>(), pick(NackCode::ALL)).prop_map(|(request_type, code)| Message::Nack { request_type, code }),
        event().prop_map(Message::Event),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips(seq in any::<u16>(), message in message()) {
        // Messages too long for one frame (a 20-step schedule) are refused by the encoder.
        if let Ok(wire) = encode_frame(seq, &message) {
            prop_assert_eq!(wire.iter().filter(|b| **b == 0).count(), 1);
            prop_assert!(wire.len() <= MAX_WIRE_FRAME_LEN);
            let frame = decode_frame(&wire[..wire.len() - 1]).unwrap();
            prop_assert_eq!(frame, Frame { seq, message });
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_frame(&bytes);
        let _ = frame::decode_raw_frame(&bytes);
        let mut assembler = FrameAssembler::new();
        let _ = assembler.push(&bytes);
        prop_assert!(assembler.pending() <= MAX_WIRE_FRAME_LEN);
    }

    #[test]
    fn a_stream_cut_anywhere_reassembles(messages in proptest::collection::vec((any::<u16>(), message()), 1..12), cuts in proptest::collection::vec(1usize..40, 1..50)) {
        let sent: Vec<Frame> = messages.into_iter().filter(|(s, m)| encode_frame(*s, m).is_ok()).map(|(seq, message)| Frame { seq, message }).collect();
        let stream: Vec<u8> = sent.iter().flat_map(|f| encode_frame(f.seq, &f.message).unwrap()).collect();
        let mut assembler = FrameAssembler::new();
        let mut received = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() { break; }
            let end = (at + cut).min(stream.len());
            received.extend(assembler.push(&stream[at..end]).into_iter().map(|r| r.unwrap()));
            at = end;
        }
        prop_assert_eq!(received, sent);
    }

    #[test]
    fn a_flipped_byte_is_rejected_and_the_next_frame_still_arrives(seq in any::<u16>(), message in message(), index in any::<proptest::sample::Index>(), flip in 1u8..=255) {
        let Ok(mut wire) = encode_frame(seq, &message) else { return Ok(()) };
        let next = encode_frame(seq.wrapping_add(1), &Message::Request(Request::Status)).unwrap();
        let i = index.index(wire.len() - 1);
        wire[i] ^= flip;
        let mut assembler = FrameAssembler::new();
        let mut results = assembler.push(&wire);
        results.extend(assembler.push(&next));
        // The damaged frame never decodes to the original (a zero byte may split it in two).
        prop_assert!(results.iter().all(|r| r.as_ref().map(|f| f.message != message || f.seq != seq).unwrap_or(true)));
        prop_assert_eq!(results.last().unwrap().as_ref().unwrap(), &Frame { seq: seq.wrapping_add(1), message: Message::Request(Request::Status) });
    }
}
