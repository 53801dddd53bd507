//! Unit tests of the model's alarms, battery and defect knobs against hand-computed figures.

use super::config::EmulatorConfig;
use super::device::Device;
use super::device_tests::{label_example, raised_at, status};
use crate::protocol::*;
use crate::units::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};

/// 2555 days in ms: the nominal battery life.
const LIFE_MS: u64 = 2555 * MS_PER_DAY;
/// With a 101 per-mille cell, ERI (100) is 1/1000 of the battery life away: 2.555 days.
const ERI_FROM_101: u64 = LIFE_MS / 1000;

fn idle_with(adjust: impl FnOnce(&mut EmulatorConfig)) -> Device {
    let mut config = EmulatorConfig::default();
    adjust(&mut config);
    Device::new(config)
}

fn log_entries(d: &mut Device) -> Vec<LogEntry> {
    let mut entries = Vec::new();
    let mut page = 0;
    loop {
        let Ok(ResponseBody::EventLogPage(p)) = d.handle(&Request::ReadEventLog { page }) else {
            panic!("event log page {page} unreadable");
        };
        entries.extend(p.entries);
        if p.first_index + LOG_PAGE_LEN as u32 >= p.total {
            return entries;
        }
        page += 1;
    }
}

fn annunciations(d: &mut Device, alarm: AlarmKind) -> Vec<u64> {
    log_entries(d)
        .iter()
        .filter(|e| e.kind == LogEntryKind::AlarmAnnunciated && e.code == alarm.to_wire())
        .map(|e| e.device_time_ms)
        .collect()
}

fn cleared_at(events: &[Event], wanted: AlarmKind) -> Option<u64> {
    events.iter().find_map(|e| match e {
        Event::AlarmCleared {
            device_time_ms,
            alarm,
        } if *alarm == wanted => Some(*device_time_ms),
        _ => None,
    })
}

#[test]
fn battery_drains_linearly_to_eri_then_eos_90_days_later() {
    let mut d = idle_with(|c| c.pump.battery_permille = 101);
    assert_eq!(ERI_FROM_101, 220_752_000);
    assert_eq!(status(&mut d).battery_permille, 101);
    d.advance_to(ERI_FROM_101 - 1);
    assert!(!status(&mut d).elective_replacement);
    d.advance_to(ERI_FROM_101);
    let s = status(&mut d);
    assert_eq!((s.battery_permille, s.elective_replacement), (100, true));
    d.advance_to(ERI_FROM_101 + 90 * MS_PER_DAY);
    let events = d.drain_events();
    assert_eq!(
        raised_at(&events, AlarmKind::ElectiveReplacement),
        Some((ERI_FROM_101, Priority::Medium))
    );
    assert_eq!(
        raised_at(&events, AlarmKind::EndOfService),
        Some((ERI_FROM_101 + 90 * MS_PER_DAY, Priority::High))
    );
    // 2.555 + 90 days of a 2555-day drain from 101 per mille: 101 - 1 - 35.22 = 64.77.
    assert_eq!(status(&mut d).battery_permille, 64);
}

#[test]
fn a_cell_at_the_threshold_raises_eri_at_once() {
    let mut d = idle_with(|c| c.pump.battery_permille = 100);
    assert!(status(&mut d).elective_replacement, "no advance needed");
    assert_eq!(
        raised_at(&d.drain_events(), AlarmKind::ElectiveReplacement),
        Some((0, Priority::Medium))
    );
}

#[test]
fn a_battery_charge_fault_below_the_threshold_raises_eri_now() {
    let mut d = idle_with(|_| {});
    d.advance_to(MS_PER_DAY);
    d.handle(&Request::InjectFault {
        fault: Fault::BatteryCharge { permille: 50 },
    })
    .unwrap();
    assert_eq!(
        raised_at(&d.drain_events(), AlarmKind::ElectiveReplacement),
        Some((MS_PER_DAY, Priority::Medium))
    );
    d.advance_to(91 * MS_PER_DAY);
    assert_eq!(
        raised_at(&d.drain_events(), AlarmKind::EndOfService),
        Some((91 * MS_PER_DAY, Priority::High))
    );
    assert_eq!(
        d.handle(&Request::InjectFault {
            fault: Fault::BatteryCharge { permille: 1001 }
        }),
        Err(NackCode::OutOfRange)
    );
}

#[test]
fn recharging_after_eri_does_not_cancel_eos() {
    let mut d = idle_with(|c| c.pump.battery_permille = 101);
    d.advance_to(10 * MS_PER_DAY);
    d.handle(&Request::InjectFault {
        fault: Fault::BatteryCharge { permille: 1000 },
    })
    .unwrap();
    d.advance_to(100 * MS_PER_DAY);
    assert_eq!(
        raised_at(&d.drain_events(), AlarmKind::EndOfService),
        Some((ERI_FROM_101 + 90 * MS_PER_DAY, Priority::High))
    );
}

#[test]
fn late_eri_defect_makes_eri_and_eos_late() {
    let mut d = idle_with(|c| {
        c.pump.battery_permille = 101;
        c.defects.eri_late_hours = 48;
    });
    d.advance_to(200 * MS_PER_DAY);
    let events = d.drain_events();
    let eri = ERI_FROM_101 + 48 * MS_PER_HOUR;
    assert_eq!(eri, 393_552_000);
    assert_eq!(
        raised_at(&events, AlarmKind::ElectiveReplacement),
        Some((eri, Priority::Medium))
    );
    assert_eq!(
        raised_at(&events, AlarmKind::EndOfService),
        Some((eri + 90 * MS_PER_DAY, Priority::High))
    );
}

#[test]
fn motor_stall_halts_at_once_and_clearing_resumes_with_the_owed_volume() {
    let mut d = label_example(|_| {});
    d.drain_events();
    // Strokes every 180 s: the 20th at 1 h; the stall comes half a stroke later.
    d.advance_to(MS_PER_HOUR + 90_000);
    d.handle(&Request::InjectFault {
        fault: Fault::MotorStall,
    })
    .unwrap();
    let events = d.drain_events();
    assert_eq!(
        raised_at(&events, AlarmKind::MotorStall),
        Some((MS_PER_HOUR + 90_000, Priority::High))
    );
    assert!(events.contains(&Event::TherapyStateChanged {
        device_time_ms: MS_PER_HOUR + 90_000,
        state: TherapyState::Halted
    }));
    assert_eq!(
        d.handle(&Request::ResumeTherapy),
        Err(NackCode::NotAllowedInState)
    );
    d.advance_to(2 * MS_PER_HOUR);
    assert_eq!(
        status(&mut d).delivered_nl,
        50_000,
        "no strokes while halted"
    );
    d.handle(&Request::ClearFault {
        fault: FaultKind::MotorStall,
    })
    .unwrap();
    assert_eq!(
        cleared_at(&d.drain_events(), AlarmKind::MotorStall),
        Some(2 * MS_PER_HOUR)
    );
    assert_eq!(status(&mut d).therapy_state, TherapyState::Running);
    // Half a stroke was owed at the stall: the next stroke is 90 s after the clear.
    d.advance_to(2 * MS_PER_HOUR + 89_999);
    assert_eq!(status(&mut d).delivered_nl, 50_000);
    d.advance_to(2 * MS_PER_HOUR + 90_000);
    assert_eq!(status(&mut d).delivered_nl, 52_500);
}

#[test]
fn an_occluded_catheter_moves_nothing_and_raises_nothing() {
    let mut d = label_example(|_| {});
    d.handle(&Request::InjectFault {
        fault: Fault::CatheterOcclusion,
    })
    .unwrap();
    d.advance_to(MS_PER_HOUR);
    let plant = d.plant();
    assert_eq!(
        (plant.actual_reservoir_nl, plant.tip_nl, plant.pocket_nl),
        (3_000_000, 0, 0)
    );
    assert_eq!(plant.catheter, CatheterState::Occluded);
    assert_eq!(status(&mut d).delivered_nl, 50_000, "the pump counts on");
    assert!(d
        .drain_events()
        .iter()
        .all(|e| !matches!(e, Event::AlarmRaised { .. })));
}

#[test]
fn medium_alarms_repeat_hourly_until_acknowledged_and_silence_pauses_two_minutes() {
    let at = |h: u64, m: u64| h * MS_PER_HOUR + m * MS_PER_MINUTE;
    // Low reservoir (medium) is raised at 20 h in the label example.
    let mut plain = label_example(|_| {});
    plain.advance_to(at(22, 30));
    assert_eq!(
        annunciations(&mut plain, AlarmKind::LowReservoir),
        vec![at(20, 0), at(21, 0), at(22, 0)]
    );

    let mut acknowledged = label_example(|_| {});
    acknowledged.advance_to(at(20, 30));
    acknowledged
        .handle(&Request::AcknowledgeAlarm {
            alarm: AlarmKind::LowReservoir,
            action: AlarmAction::Acknowledge,
        })
        .unwrap();
    acknowledged.advance_to(at(22, 30));
    assert_eq!(
        annunciations(&mut acknowledged, AlarmKind::LowReservoir),
        vec![at(20, 0)]
    );
    assert_eq!(
        status(&mut acknowledged).alarms[0].state,
        AlarmState::Acknowledged
    );

    let mut silenced = label_example(|_| {});
    silenced.advance_to(at(20, 30));
    silenced
        .handle(&Request::AcknowledgeAlarm {
            alarm: AlarmKind::LowReservoir,
            action: AlarmAction::Silence,
        })
        .unwrap();
    silenced.advance_to(at(20, 31));
    assert_eq!(status(&mut silenced).alarms[0].state, AlarmState::Silenced);
    silenced.advance_to(at(22, 30));
    assert_eq!(status(&mut silenced).alarms[0].state, AlarmState::Active);
    assert_eq!(
        annunciations(&mut silenced, AlarmKind::LowReservoir),
        vec![at(20, 0), at(20, 32), at(21, 32)]
    );
}

#[test]
fn acknowledging_an_alarm_that_is_not_active_is_refused() {
    let mut d = label_example(|_| {});
    assert_eq!(
        d.handle(&Request::AcknowledgeAlarm {
            alarm: AlarmKind::EmptyReservoir,
            action: AlarmAction::Acknowledge,
        }),
        Err(NackCode::NotAllowedInState)
    );
}

#[test]
fn high_alarms_repeat_every_ten_minutes() {
    let mut d = label_example(|_| {});
    d.advance_to(60 * MS_PER_HOUR + 25 * MS_PER_MINUTE);
    let empty = 60 * MS_PER_HOUR;
    assert_eq!(
        annunciations(&mut d, AlarmKind::EmptyReservoir),
        vec![
            empty,
            empty + 10 * MS_PER_MINUTE,
            empty + 20 * MS_PER_MINUTE
        ]
    );
}

#[test]
fn threshold_changes_raise_and_clear_low_reservoir() {
    let mut d = label_example(|_| {});
    d.drain_events();
    d.handle(&Request::SetLowReservoirThreshold {
        threshold_nl: 3_000_000,
    })
    .unwrap();
    assert_eq!(
        raised_at(&d.drain_events(), AlarmKind::LowReservoir),
        Some((0, Priority::Medium)),
        "3.0 mL left is at the threshold"
    );
    d.handle(&Request::SetLowReservoirThreshold {
        threshold_nl: 2_000_000,
    })
    .unwrap();
    assert_eq!(
        cleared_at(&d.drain_events(), AlarmKind::LowReservoir),
        Some(0)
    );
    assert_eq!(
        d.handle(&Request::SetLowReservoirThreshold {
            threshold_nl: 40_000_001
        }),
        Err(NackCode::OutOfRange)
    );
}

#[test]
fn late_low_reservoir_defect_is_cancelled_by_a_refill_in_time() {
    let mut d = label_example(|c| c.defects.low_reservoir_late_min = 120);
    d.advance_to(21 * MS_PER_HOUR);
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 500,
    })
    .unwrap();
    d.advance_to(30 * MS_PER_HOUR);
    assert_eq!(raised_at(&d.drain_events(), AlarmKind::LowReservoir), None);
}

#[test]
fn wrong_priority_defect_lowers_a_high_alarm_to_medium() {
    let mut d = label_example(|c| c.defects.wrong_priority = Some(AlarmKind::EmptyReservoir));
    d.advance_to(61 * MS_PER_HOUR);
    let events = d.drain_events();
    assert_eq!(
        raised_at(&events, AlarmKind::EmptyReservoir),
        Some((60 * MS_PER_HOUR, Priority::Medium))
    );
    assert_eq!(
        raised_at(&events, AlarmKind::LowReservoir),
        Some((20 * MS_PER_HOUR, Priority::Medium)),
        "other alarms keep their priority"
    );
    assert_eq!(status(&mut d).alarms[1].priority, Priority::Medium);
}

#[test]
fn flow_bias_defect_acts_like_the_fault_and_floors_each_stroke() {
    let mut over = label_example(|c| c.defects.flow_bias_percent = 20.0);
    over.advance_to(50 * MS_PER_HOUR - 1);
    assert_eq!(
        over.plant().actual_reservoir_nl,
        3_000,
        "one 3000 nL stroke left"
    );
    over.advance_to(50 * MS_PER_HOUR);
    assert_eq!(over.plant().actual_reservoir_nl, 0);
    assert_eq!(status(&mut over).calculated_reservoir_nl, 500_000);
    assert_eq!(over.plant().flow_bias_centi_percent, 2000);

    let mut under = label_example(|c| c.defects.flow_bias_percent = -12.5);
    under
        .handle(&Request::InjectFault {
            fault: Fault::FlowBias { centi_percent: 250 },
        })
        .unwrap();
    assert_eq!(under.plant().flow_bias_centi_percent, -1000);
    under.advance_to(3 * MS_PER_MINUTE);
    // 2500 x (10000 - 1000) / 10000 = 2250 nL.
    assert_eq!(under.tip_nl(), 2_250);
    under
        .handle(&Request::ClearFault {
            fault: FaultKind::FlowBias,
        })
        .unwrap();
    under.advance_to(6 * MS_PER_MINUTE);
    // 2500 x 8750 / 10000 = 2187.5, floored.
    assert_eq!(under.tip_nl(), 2_250 + 2_187);
}

#[test]
fn the_log_keeps_the_newest_4096_entries_and_counts_them_all() {
    let mut d = label_example(|_| {});
    // Empty at 60 h, then a high annunciation every 10 min: > 4096 entries by 40 days.
    d.advance_to(40 * MS_PER_DAY);
    let Ok(ResponseBody::EventLogPage(first)) = d.handle(&Request::ReadEventLog { page: 0 }) else {
        panic!("page 0 unreadable");
    };
    assert!(first.total > 4096, "{}", first.total);
    assert!(first.entries.is_empty(), "the oldest entries are gone");
    let last_page = ((first.total - 1) / 8) as u16;
    let Ok(ResponseBody::EventLogPage(last)) = d.handle(&Request::ReadEventLog { page: last_page })
    else {
        panic!("last page unreadable");
    };
    assert_eq!(last.first_index, u32::from(last_page) * 8);
    assert_eq!(
        last.entries.len() as u32,
        first.total - last.first_index,
        "the newest entries are all there"
    );
    assert_eq!(log_entries(&mut d).len(), 4096);
}

#[test]
fn reading_entries_past_the_overwritten_ones_says_where_the_log_now_starts() {
    let mut d = label_example(|_| {});
    d.advance_to(40 * MS_PER_DAY);
    let Ok(ResponseBody::EventLogPage(from_zero)) = d.handle(&Request::ReadEventLogEntries {
        first_index: 0,
        max_entries: 2,
    }) else {
        panic!("entries unreadable");
    };
    assert_eq!(
        from_zero.first_index,
        from_zero.total - 4096,
        "the answer starts at the oldest entry kept, so the host sees the overrun"
    );
    assert_eq!(from_zero.entries.len(), 2);
    let all = log_entries(&mut d);
    assert_eq!(from_zero.entries[..], all[..2]);
}
