//! Unit tests of the alarm tracker: frames and log pages in, records and deviations out.

use super::*;
use crate::protocol::AlarmState;

const ORIGIN: u64 = 1_000_000;

fn raised(seq: u16, t_ms: u64, alarm: AlarmKind, priority: Priority) -> DriverEvent {
    DriverEvent::Event {
        seq,
        event: Event::AlarmRaised {
            device_time_ms: ORIGIN + t_ms,
            alarm,
            priority,
        },
    }
}

fn cleared(seq: u16, t_ms: u64, alarm: AlarmKind) -> DriverEvent {
    DriverEvent::Event {
        seq,
        event: Event::AlarmCleared {
            device_time_ms: ORIGIN + t_ms,
            alarm,
        },
    }
}

fn logged(t_ms: u64, kind: LogEntryKind, alarm: AlarmKind, priority: Priority) -> LogEntry {
    LogEntry {
        device_time_ms: ORIGIN + t_ms,
        kind,
        code: alarm.to_wire(),
        value: priority.to_wire() as i64,
    }
}

fn active(alarm: AlarmKind, priority: Priority) -> ActiveAlarm {
    ActiveAlarm {
        alarm,
        priority,
        state: AlarmState::Active,
    }
}

/// A tracker past setup with no alarm standing and the log read up to `log_total`.
fn running(log_total: u32) -> AlarmTracker {
    let mut tracker = AlarmTracker::new(ORIGIN);
    assert!(tracker.end_setup(&[]).is_empty());
    tracker.start_log_at(log_total);
    tracker
}

/// Reads the whole log from `entries` (the device's log, from index 0) in pages of two.
fn read_log(tracker: &mut AlarmTracker, t_ms: u64, entries: &[LogEntry]) -> Vec<Tracked> {
    let mut out = Vec::new();
    let mut from = tracker.begin_log_read(t_ms);
    loop {
        let start = (from as usize).min(entries.len());
        let page = EventLogPage {
            total: entries.len() as u32,
            first_index: from,
            entries: entries[start..(start + 2).min(entries.len())].to_vec(),
        };
        let (records, next) = tracker.on_log_page(&page);
        out.extend(records);
        match next {
            Some(n) => from = n,
            None => return out,
        }
    }
}

fn kinds(records: &[Tracked]) -> Vec<&'static str> {
    records
        .iter()
        .map(|r| match r {
            Tracked::Alarm { raised: true, .. } => "raised",
            Tracked::Alarm { raised: false, .. } => "cleared",
            Tracked::Deviation { kind, .. } => kind,
        })
        .collect()
}

#[test]
fn a_raise_and_its_clear_are_recorded_on_scenario_time_with_the_raise_priority() {
    let mut tracker = running(0);
    let raise =
        tracker.on_driver_event(raised(5, 60_000, AlarmKind::LowReservoir, Priority::Medium));
    assert_eq!(
        raise,
        Some(Tracked::Alarm {
            t_ms: 60_000,
            device_time_ms: ORIGIN + 60_000,
            alarm: AlarmKind::LowReservoir,
            priority: Priority::Medium,
            raised: true,
            event_seq: 5,
        })
    );
    let clear = tracker.on_driver_event(cleared(6, 90_000, AlarmKind::LowReservoir));
    assert!(matches!(
        clear,
        Some(Tracked::Alarm {
            t_ms: 90_000,
            priority: Priority::Medium,
            raised: false,
            event_seq: 6,
            ..
        })
    ));
    assert_eq!(tracker.transitions().len(), 2);
}

#[test]
fn a_duplicated_frame_is_recorded_once() {
    let mut tracker = running(0);
    let frame = raised(3, 10_000, AlarmKind::MotorStall, Priority::High);
    assert!(tracker.on_driver_event(frame.clone()).is_some());
    assert_eq!(tracker.on_driver_event(frame), None);
    assert_eq!(tracker.transitions().len(), 1);
}

#[test]
fn a_lost_transition_is_reported_then_recovered_from_the_log() {
    let mut tracker = running(0);
    assert!(!tracker.log_read_due(1_000));
    let gap = tracker.on_driver_event(DriverEvent::Lost {
        expected_seq: 4,
        got_seq: 5,
    });
    assert!(matches!(
        gap,
        Some(Tracked::Deviation { kind: "lost-event", ref detail, .. }) if detail.contains("1 event(s) lost")
    ));
    assert!(tracker.log_read_due(1_000), "a gap must make the log due");
    // Frame 5 (the clear) arrived; the raise (frame 4) did not.
    tracker.on_driver_event(cleared(5, 50_000, AlarmKind::LowReservoir));
    let log = [
        logged(
            20_000,
            LogEntryKind::AlarmRaised,
            AlarmKind::LowReservoir,
            Priority::High,
        ),
        logged(
            50_000,
            LogEntryKind::AlarmCleared,
            AlarmKind::LowReservoir,
            Priority::Low,
        ),
    ];
    let records = read_log(&mut tracker, 60_000, &log);
    assert_eq!(kinds(&records), ["event-recovered", "raised"]);
    assert!(matches!(
        records[1],
        Tracked::Alarm { t_ms: 20_000, device_time_ms, priority: Priority::High, event_seq: 0, .. } if device_time_ms == ORIGIN + 20_000
    ));
    assert!(
        !tracker.log_read_due(60_000),
        "the read settles the suspicion"
    );
}

#[test]
fn a_transition_only_in_the_log_is_recovered_at_the_daily_read() {
    let mut tracker = running(0);
    assert!(tracker.log_read_due(LOG_READ_AT_LEAST_EVERY_MS));
    let log = [logged(
        7_000,
        LogEntryKind::AlarmRaised,
        AlarmKind::EndOfService,
        Priority::High,
    )];
    let records = read_log(&mut tracker, LOG_READ_AT_LEAST_EVERY_MS, &log);
    assert_eq!(kinds(&records), ["event-recovered", "raised"]);
    let Tracked::Deviation { t_ms, detail, .. } = &records[0] else {
        panic!("expected a deviation first, got {records:?}");
    };
    assert_eq!(*t_ms, Some(7_000));
    assert!(detail.starts_with("end_of_service raised at"), "{detail}");
    assert!(!tracker.log_read_due(LOG_READ_AT_LEAST_EVERY_MS + 1));
}

#[test]
fn a_logged_transition_that_arrived_as_a_frame_is_not_recovered_twice() {
    let mut tracker = running(0);
    tracker.on_driver_event(raised(1, 5_000, AlarmKind::LowReservoir, Priority::Medium));
    let log = [logged(
        5_000,
        LogEntryKind::AlarmRaised,
        AlarmKind::LowReservoir,
        Priority::Medium,
    )];
    assert!(read_log(&mut tracker, 6_000, &log).is_empty());
    assert_eq!(tracker.transitions().len(), 1);
}

#[test]
fn a_frame_arriving_after_its_recovery_from_the_log_is_ignored() {
    let mut tracker = running(0);
    let log = [logged(
        5_000,
        LogEntryKind::AlarmRaised,
        AlarmKind::LowReservoir,
        Priority::Medium,
    )];
    assert_eq!(read_log(&mut tracker, 6_000, &log).len(), 2);
    let late = raised(1, 5_000, AlarmKind::LowReservoir, Priority::Medium);
    assert_eq!(tracker.on_driver_event(late), None);
    assert_eq!(tracker.transitions().len(), 1);
}

#[test]
fn an_out_of_order_log_read_leaves_the_transitions_in_time_order() {
    let mut tracker = running(0);
    tracker.on_driver_event(raised(2, 90_000, AlarmKind::MotorStall, Priority::High));
    let log = [
        logged(
            30_000,
            LogEntryKind::AlarmRaised,
            AlarmKind::LowReservoir,
            Priority::Medium,
        ),
        logged(
            90_000,
            LogEntryKind::AlarmRaised,
            AlarmKind::MotorStall,
            Priority::High,
        ),
    ];
    read_log(&mut tracker, 100_000, &log);
    let times: Vec<u64> = tracker.transitions().iter().map(|a| a.t_ms).collect();
    assert_eq!(times, [30_000, 90_000]);
}

#[test]
fn a_page_starting_past_the_cursor_reports_an_overrun_and_moves_on() {
    let mut tracker = running(3);
    assert_eq!(tracker.begin_log_read(0), 3);
    let page = EventLogPage {
        total: 12,
        first_index: 10,
        entries: vec![logged(
            1_000,
            LogEntryKind::Programmed,
            AlarmKind::LowReservoir,
            Priority::Low,
        )],
    };
    let (records, next) = tracker.on_log_page(&page);
    assert!(matches!(
        &records[..],
        [Tracked::Deviation { kind: "event-log-overrun", detail, .. }] if detail.contains("3..10")
    ));
    assert_eq!(next, Some(11));
}

#[test]
fn a_long_log_is_read_page_after_page_from_where_setup_ended() {
    let mut tracker = running(1);
    let log: Vec<LogEntry> = (0..5)
        .map(|i| {
            logged(
                i * 1_000,
                LogEntryKind::Programmed,
                AlarmKind::LowReservoir,
                Priority::Low,
            )
        })
        .collect();
    let mut asked = vec![tracker.begin_log_read(0)];
    loop {
        let from = *asked.last().unwrap() as usize;
        let page = EventLogPage {
            total: 5,
            first_index: from as u32,
            entries: log[from..(from + 2).min(5)].to_vec(),
        };
        match tracker.on_log_page(&page).1 {
            Some(next) => asked.push(next),
            None => break,
        }
    }
    assert_eq!(asked, [1, 3]);
}

#[test]
fn setup_holds_transitions_and_counts_what_stands_at_time_zero() {
    let mut tracker = AlarmTracker::new(ORIGIN);
    assert_eq!(
        tracker.on_driver_event(raised(1, 0, AlarmKind::LowReservoir, Priority::Medium)),
        None
    );
    assert_eq!(
        tracker.on_driver_event(cleared(2, 0, AlarmKind::LowReservoir)),
        None
    );
    assert_eq!(
        tracker.on_driver_event(raised(
            3,
            0,
            AlarmKind::ElectiveReplacement,
            Priority::Medium
        )),
        None
    );
    assert!(tracker.transitions().is_empty());
    let records = tracker.end_setup(&[active(AlarmKind::ElectiveReplacement, Priority::Medium)]);
    assert_eq!(kinds(&records), ["setup-transient", "raised"]);
    assert!(matches!(
        &records[0],
        Tracked::Deviation { t_ms: Some(0), detail, .. } if detail.starts_with("2 alarm transition(s)")
    ));
    assert!(matches!(
        records[1],
        Tracked::Alarm {
            t_ms: 0,
            device_time_ms: ORIGIN,
            alarm: AlarmKind::ElectiveReplacement,
            event_seq: 3,
            ..
        }
    ));
    // After setup, transitions are recorded as they come.
    assert!(tracker
        .on_driver_event(cleared(4, 500, AlarmKind::ElectiveReplacement))
        .is_some());
}

#[test]
fn an_alarm_standing_after_setup_counts_even_if_its_frame_was_lost() {
    let mut tracker = AlarmTracker::new(ORIGIN);
    let records = tracker.end_setup(&[active(AlarmKind::LowReservoir, Priority::Medium)]);
    assert_eq!(kinds(&records), ["raised"]);
    assert!(matches!(records[0], Tracked::Alarm { event_seq: 0, .. }));
}

#[test]
fn a_status_disagreeing_with_the_frames_makes_the_log_due() {
    let mut tracker = running(0);
    tracker.on_driver_event(raised(1, 1_000, AlarmKind::LowReservoir, Priority::Medium));
    tracker.compare_active(&[active(AlarmKind::LowReservoir, Priority::Medium)]);
    assert!(
        !tracker.log_read_due(2_000),
        "status agrees with the frames"
    );
    tracker.compare_active(&[]);
    assert!(tracker.log_read_due(2_000), "the clear was missed");
}

#[test]
fn therapy_state_frames_are_not_alarm_transitions() {
    let mut tracker = running(0);
    let frame = DriverEvent::Event {
        seq: 9,
        event: Event::TherapyStateChanged {
            device_time_ms: ORIGIN,
            state: crate::protocol::TherapyState::Stopped,
        },
    };
    assert_eq!(tracker.on_driver_event(frame), None);
    assert!(tracker.transitions().is_empty());
}
