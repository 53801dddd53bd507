//! Unit tests of the pump model against hand-computed figures.

use super::config::EmulatorConfig;
use super::device::Device;
use crate::protocol::*;
use crate::units::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};

/// 3.0 mL of 500 ug/mL, threshold 2.0 mL, 600 ug/day: the label example of 1.2 mL/day.
pub(super) fn label_example(adjust: impl FnOnce(&mut EmulatorConfig)) -> Device {
    let mut config = EmulatorConfig::default();
    config.pump.initial_fill_nl = 3_000_000;
    config.pump.low_reservoir_threshold_nl = 2_000_000;
    adjust(&mut config);
    let mut d = Device::new(config);
    d.handle(&Request::ProgramContinuous {
        dose_ug_per_day: 600,
    })
    .unwrap();
    d
}

pub(super) fn status(d: &mut Device) -> Status {
    match d.handle(&Request::Status).unwrap() {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    }
}

pub(super) fn raised_at(events: &[Event], wanted: AlarmKind) -> Option<(u64, Priority)> {
    events.iter().find_map(|e| match e {
        Event::AlarmRaised {
            device_time_ms,
            alarm,
            priority,
        } if *alarm == wanted => Some((*device_time_ms, *priority)),
        _ => None,
    })
}

#[test]
fn delivers_1_2_ml_a_day_in_2_5_ul_strokes_every_3_minutes() {
    let mut d = label_example(|_| {});
    d.advance_to(3 * MS_PER_MINUTE - 1);
    assert_eq!(status(&mut d).delivered_nl, 0);
    d.advance_to(3 * MS_PER_MINUTE);
    assert_eq!(status(&mut d).delivered_nl, 2_500);
    d.advance_to(MS_PER_DAY);
    let s = status(&mut d);
    assert_eq!(s.delivered_nl, 1_200_000);
    assert_eq!(s.calculated_reservoir_nl, 1_800_000);
    assert_eq!(d.tip_nl(), 1_200_000);
}

#[test]
fn low_reservoir_at_exactly_20_hours_and_empty_at_60_hours() {
    let mut d = label_example(|_| {});
    d.drain_events();
    d.advance_to(3 * MS_PER_DAY);
    let events = d.drain_events();
    // (3.0 - 2.0) mL / 1.2 mL/day = 20 h: stroke 400 at 400 x 180 s.
    assert_eq!(
        raised_at(&events, AlarmKind::LowReservoir),
        Some((20 * MS_PER_HOUR, Priority::Medium))
    );
    assert_eq!(
        raised_at(&events, AlarmKind::EmptyReservoir),
        Some((60 * MS_PER_HOUR, Priority::High))
    );
    let s = status(&mut d);
    assert_eq!(
        (s.delivered_nl, s.therapy_state),
        (3_000_000, TherapyState::Halted)
    );
}

#[test]
fn flow_bias_empties_the_reservoir_while_the_pump_believes_half_a_millilitre_is_left() {
    let mut d = label_example(|_| {});
    d.handle(&Request::InjectFault {
        fault: Fault::FlowBias {
            centi_percent: 2000,
        },
    })
    .unwrap();
    d.advance_to(50 * MS_PER_HOUR);
    let plant = d.plant();
    assert_eq!(plant.actual_reservoir_nl, 0);
    assert_eq!(plant.tip_nl, 3_000_000);
    assert_eq!(status(&mut d).calculated_reservoir_nl, 500_000);
    d.advance_to(55 * MS_PER_HOUR);
    assert_eq!(
        d.plant().tip_nl,
        3_000_000,
        "nothing leaves an empty reservoir"
    );
    assert_eq!(
        status(&mut d).therapy_state,
        TherapyState::Running,
        "the pump does not know"
    );
}

#[test]
fn a_disconnected_catheter_sends_the_drug_into_the_pocket() {
    let mut d = label_example(|_| {});
    d.advance_to(MS_PER_HOUR);
    d.handle(&Request::InjectFault {
        fault: Fault::CatheterDisconnect,
    })
    .unwrap();
    d.advance_to(2 * MS_PER_HOUR);
    let plant = d.plant();
    assert_eq!((plant.tip_nl, plant.pocket_nl), (50_000, 50_000));
    assert!(
        d.drain_events()
            .iter()
            .all(|e| !matches!(e, Event::AlarmRaised { .. })),
        "the pump cannot sense a disconnect"
    );
    d.handle(&Request::ClearFault {
        fault: FaultKind::CatheterDisconnect,
    })
    .unwrap();
    d.advance_to(3 * MS_PER_HOUR);
    assert_eq!(d.plant().tip_nl, 100_000);
}

#[test]
fn eri_then_eos_90_days_later_stops_delivery() {
    // 600 ug/day at 2000 ug/mL is 0.3 mL/day: 40 mL lasts 133 days, longer than the battery.
    let mut d = label_example(|c| {
        c.pump.battery_permille = 101;
        c.pump.initial_fill_nl = 40_000_000;
        c.pump.concentration_ug_per_ml = 2000;
    });
    d.drain_events();
    d.advance_to(100 * MS_PER_DAY);
    let events = d.drain_events();
    // (101 - 100) / 1000 x 2555 days = 2.555 days.
    let eri = 220_752_000;
    assert_eq!(
        raised_at(&events, AlarmKind::ElectiveReplacement),
        Some((eri, Priority::Medium))
    );
    assert_eq!(
        raised_at(&events, AlarmKind::EndOfService),
        Some((eri + 90 * MS_PER_DAY, Priority::High))
    );
    let delivered = status(&mut d).delivered_nl;
    assert_eq!(
        delivered,
        300_000 * (eri + 90 * MS_PER_DAY) / MS_PER_DAY / 2500 * 2500,
        "delivery up to EOS"
    );
    d.advance_to(101 * MS_PER_DAY);
    assert_eq!(
        status(&mut d).delivered_nl,
        delivered,
        "no delivery after EOS"
    );
}

#[test]
fn defect_knobs_change_what_they_name() {
    let late = label_example(|c| c.defects.low_reservoir_late_min = 120);
    let suppressed = label_example(|c| c.defects.low_reservoir_suppressed = true);
    let wrong = label_example(|c| c.defects.wrong_priority = Some(AlarmKind::LowReservoir));
    let mut results = Vec::new();
    for mut d in [late, suppressed, wrong] {
        d.advance_to(30 * MS_PER_HOUR);
        results.push(raised_at(&d.drain_events(), AlarmKind::LowReservoir));
    }
    assert_eq!(
        results,
        vec![
            Some((22 * MS_PER_HOUR, Priority::Medium)),
            None,
            Some((20 * MS_PER_HOUR, Priority::Low))
        ]
    );

    let mut eos = label_example(|c| {
        c.pump.battery_permille = 100;
        c.pump.initial_fill_nl = 40_000_000;
        c.pump.concentration_ug_per_ml = 2000;
        c.defects.eos_keeps_delivering = true;
    });
    eos.advance_to(91 * MS_PER_DAY);
    let before = status(&mut eos).delivered_nl;
    eos.advance_to(92 * MS_PER_DAY);
    assert!(status(&mut eos).end_of_service);
    assert_eq!(
        status(&mut eos).delivered_nl - before,
        300_000,
        "EOS that keeps delivering"
    );

    let mut refill = label_example(|c| c.defects.refill_ignores_calculated = true);
    refill.advance_to(MS_PER_DAY);
    refill
        .handle(&Request::Refill {
            volume_nl: 20_000_000,
            concentration_ug_per_ml: 500,
        })
        .unwrap();
    assert_eq!(status(&mut refill).calculated_reservoir_nl, 1_800_000);
    assert_eq!(refill.plant().actual_reservoir_nl, 20_000_000);
}

#[test]
fn flexible_schedules_take_13_steps_and_refuse_14() {
    let mut d = label_example(|_| {});
    let steps = |n: u16| {
        (0..n)
            .map(|i| FlexStep {
                start_minute: i * 60,
                dose_ug_per_day: 600,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        d.handle(&Request::ProgramFlexible { steps: steps(13) }),
        Ok(ResponseBody::Ack)
    );
    assert_eq!(
        d.handle(&Request::ProgramFlexible { steps: steps(14) }),
        Err(NackCode::OutOfRange)
    );
}

#[test]
fn flexible_steps_change_the_rate_at_their_boundaries() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    // 600 ug/day from 00:00, 1200 ug/day from 12:00: 0.6 mL in the first half day, 1.2 in the second... halved.
    let steps = vec![
        FlexStep {
            start_minute: 0,
            dose_ug_per_day: 600,
        },
        FlexStep {
            start_minute: 720,
            dose_ug_per_day: 1200,
        },
    ];
    d.handle(&Request::ProgramFlexible { steps }).unwrap();
    d.advance_to(12 * MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 600_000);
    d.advance_to(MS_PER_DAY);
    assert_eq!(status(&mut d).delivered_nl, 600_000 + 1_200_000);
}

#[test]
fn bolus_and_bridge_bolus_volumes() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 1000,
    })
    .unwrap();
    let before = status(&mut d).delivered_nl;
    // 50 ug at the previous 500 ug/mL = 100 uL = 40 strokes over 30 min, on top of basal.
    d.handle(&Request::Bolus {
        dose_ug: 50,
        duration_s: 1800,
        bridge: true,
    })
    .unwrap();
    assert_eq!(status(&mut d).therapy_state, TherapyState::Bolus);
    d.advance_to(30 * MS_PER_MINUTE);
    // Basal at 600/1000 = 0.6 mL/day, one stroke every 6 min: 5 strokes (12.5 uL) in 30 min.
    assert_eq!(status(&mut d).delivered_nl - before, 100_000 + 12_500);
    assert_eq!(status(&mut d).therapy_state, TherapyState::Running);
    d.handle(&Request::Bolus {
        dose_ug: 50,
        duration_s: 600,
        bridge: false,
    })
    .unwrap();
    d.advance_to(40 * MS_PER_MINUTE);
    // 50 ug at 1000 ug/mL = 50 uL = 20 strokes; basal has made 6 strokes (15 uL) by 40 min.
    assert_eq!(
        status(&mut d).delivered_nl - before,
        100_000 + 50_000 + 15_000
    );
}

#[test]
fn a_pocket_fill_puts_the_difference_in_the_pocket() {
    let mut d = label_example(|_| {});
    d.handle(&Request::InjectFault {
        fault: Fault::PhysicalRefillVolume {
            volume_nl: 15_000_000,
        },
    })
    .unwrap();
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 500,
    })
    .unwrap();
    let plant = d.plant();
    assert_eq!(
        (plant.actual_reservoir_nl, plant.pocket_nl),
        (15_000_000, 5_000_000)
    );
    assert_eq!(status(&mut d).calculated_reservoir_nl, 20_000_000);
}

#[test]
fn refill_clears_the_low_reservoir_alarm() {
    let mut d = label_example(|_| {});
    d.advance_to(21 * MS_PER_HOUR);
    d.drain_events();
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 500,
    })
    .unwrap();
    assert!(d.drain_events().contains(&Event::AlarmCleared {
        device_time_ms: 21 * MS_PER_HOUR,
        alarm: AlarmKind::LowReservoir
    }));
}

#[test]
fn test_mode_is_refused_by_a_clinical_unit_and_time_never_runs_backwards() {
    let mut clinical = label_example(|c| c.identity.test_unit = false);
    assert_eq!(
        clinical.handle(&Request::AdvanceTime { to_ms: 1000 }),
        Err(NackCode::NotInTestMode)
    );
    assert_eq!(
        clinical.handle(&Request::ReadPlant),
        Err(NackCode::NotInTestMode)
    );
    let mut d = label_example(|_| {});
    d.handle(&Request::AdvanceTime { to_ms: 5000 }).unwrap();
    assert_eq!(
        d.handle(&Request::AdvanceTime { to_ms: 4000 }),
        Err(NackCode::OutOfRange)
    );
}

#[test]
fn event_log_pages_hold_eight_entries() {
    let mut d = label_example(|_| {});
    d.advance_to(3 * MS_PER_DAY);
    let ResponseBody::EventLogPage(first) = d.handle(&Request::ReadEventLog { page: 0 }).unwrap()
    else {
        panic!()
    };
    assert!(first.total > 8);
    assert_eq!(first.entries.len(), 8);
    assert_eq!(first.entries[0].kind, LogEntryKind::Programmed);
    let ResponseBody::EventLogPage(past) = d.handle(&Request::ReadEventLog { page: 1000 }).unwrap()
    else {
        panic!()
    };
    assert!(past.entries.is_empty());
}

#[test]
fn stop_and_resume() {
    let mut d = label_example(|_| {});
    d.advance_to(MS_PER_HOUR);
    d.handle(&Request::StopTherapy).unwrap();
    d.advance_to(2 * MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 50_000);
    assert_eq!(
        d.handle(&Request::StopTherapy),
        Err(NackCode::NotAllowedInState)
    );
    d.handle(&Request::ResumeTherapy).unwrap();
    d.advance_to(3 * MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 100_000);
}

fn step(start_minute: u16, dose_ug_per_day: u32) -> FlexStep {
    FlexStep {
        start_minute,
        dose_ug_per_day,
    }
}

#[test]
fn before_the_first_step_of_the_day_the_last_step_applies() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    d.handle(&Request::ProgramFlexible {
        steps: vec![step(6 * 60, 1200), step(18 * 60, 600)],
    })
    .unwrap();
    // 00:00-06:00 at 600 ug/day (1.2 mL/day), 06:00-18:00 at 2.4 mL/day, 18:00-24:00 at 1.2.
    d.advance_to(5 * MS_PER_HOUR);
    assert_eq!(status(&mut d).dose_rate_ug_per_day, 600);
    d.advance_to(6 * MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 300_000);
    d.advance_to(7 * MS_PER_HOUR);
    assert_eq!(status(&mut d).dose_rate_ug_per_day, 1200);
    d.advance_to(18 * MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 300_000 + 1_200_000);
    d.advance_to(MS_PER_DAY);
    assert_eq!(status(&mut d).delivered_nl, 1_800_000);
}

#[test]
fn owed_volume_carries_over_a_rate_change() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    // 600 ug/day for one minute owes a third of a stroke; at 1200 ug/day (one stroke per 90 s)
    // the remaining two thirds take 60 s: the first stroke is at 120 s, not 60 + 90 s.
    d.handle(&Request::ProgramFlexible {
        steps: vec![step(0, 600), step(1, 1200)],
    })
    .unwrap();
    d.advance_to(119_999);
    assert_eq!(status(&mut d).delivered_nl, 0);
    d.advance_to(120_000);
    assert_eq!(status(&mut d).delivered_nl, 2_500);
    d.advance_to(209_999);
    assert_eq!(status(&mut d).delivered_nl, 2_500);
    d.advance_to(210_000);
    assert_eq!(status(&mut d).delivered_nl, 5_000);
}

#[test]
fn malformed_programs_are_refused() {
    let mut d = label_example(|_| {});
    for steps in [
        vec![],
        vec![step(60, 600), step(60, 700)],
        vec![step(120, 600), step(60, 700)],
        vec![step(1440, 600)],
        vec![step(0, 0)],
        vec![step(0, 600), step(60, 10_001)],
    ] {
        assert_eq!(
            d.handle(&Request::ProgramFlexible {
                steps: steps.clone()
            }),
            Err(NackCode::OutOfRange),
            "{steps:?}"
        );
    }
    for dose in [0, 10_001] {
        assert_eq!(
            d.handle(&Request::ProgramContinuous {
                dose_ug_per_day: dose
            }),
            Err(NackCode::OutOfRange)
        );
    }
    assert_eq!(
        d.handle(&Request::ProgramContinuous {
            dose_ug_per_day: 10_000
        }),
        Ok(ResponseBody::Ack)
    );
}

#[test]
fn bolus_strokes_are_spread_evenly_over_the_duration() {
    let mut d = label_example(|_| {});
    // 50 ug at 500 ug/mL = 100 uL = 40 strokes in 1800 s: one every 45 s.
    d.handle(&Request::Bolus {
        dose_ug: 50,
        duration_s: 1800,
        bridge: false,
    })
    .unwrap();
    assert_eq!(
        d.handle(&Request::Bolus {
            dose_ug: 50,
            duration_s: 1800,
            bridge: false,
        }),
        Err(NackCode::NotAllowedInState),
        "one bolus at a time"
    );
    d.advance_to(44_999);
    assert_eq!(status(&mut d).delivered_nl, 0);
    d.advance_to(45_000);
    assert_eq!(status(&mut d).delivered_nl, 2_500);
    // By 180 s: 4 bolus strokes and the first basal stroke.
    d.advance_to(180_000);
    assert_eq!(status(&mut d).delivered_nl, 12_500);
    let events = d.drain_events();
    assert_eq!(
        events.first(),
        Some(&Event::TherapyStateChanged {
            device_time_ms: 0,
            state: TherapyState::Running
        })
    );
    assert!(events.contains(&Event::TherapyStateChanged {
        device_time_ms: 0,
        state: TherapyState::Bolus
    }));
    d.advance_to(1_800_000);
    assert!(d.drain_events().contains(&Event::TherapyStateChanged {
        device_time_ms: 1_800_000,
        state: TherapyState::Running
    }));
}

#[test]
fn bolus_stroke_counts_round_half_up_with_at_least_one() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    let bolus_strokes = |d: &mut Device, concentration: u32, dose_ug: u32| {
        d.handle(&Request::Refill {
            volume_nl: 20_000_000,
            concentration_ug_per_ml: concentration,
        })
        .unwrap();
        let before = status(d).delivered_nl;
        let t = d.now_ms();
        d.handle(&Request::Bolus {
            dose_ug,
            duration_s: 1,
            bridge: false,
        })
        .unwrap();
        d.advance_to(t + 1000);
        (status(d).delivered_nl - before) / 2_500
    };
    // 3 ug at 800 ug/mL = 3750 nL = 1.5 strokes -> 2; 1 ug = 1250 nL = 0.5 -> 1;
    // 1 ug at 3000 ug/mL = 333 nL = 0.13 -> 0 -> at least 1.
    assert_eq!(bolus_strokes(&mut d, 800, 3), 2);
    assert_eq!(bolus_strokes(&mut d, 800, 1), 1);
    assert_eq!(bolus_strokes(&mut d, 3000, 1), 1);
}

#[test]
fn bolus_needs_running_therapy_and_a_duration() {
    let mut idle = Device::new(EmulatorConfig::default());
    let bolus = Request::Bolus {
        dose_ug: 50,
        duration_s: 60,
        bridge: false,
    };
    assert_eq!(idle.handle(&bolus), Err(NackCode::NotAllowedInState));
    let mut d = label_example(|_| {});
    assert_eq!(
        d.handle(&Request::Bolus {
            dose_ug: 50,
            duration_s: 0,
            bridge: false
        }),
        Err(NackCode::OutOfRange)
    );
    d.handle(&Request::StopTherapy).unwrap();
    assert_eq!(d.handle(&bolus), Err(NackCode::NotAllowedInState));
}

#[test]
fn a_bridge_bolus_uses_the_concentration_before_the_latest_refill() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    for concentration in [1000, 1000] {
        d.handle(&Request::Refill {
            volume_nl: 20_000_000,
            concentration_ug_per_ml: concentration,
        })
        .unwrap();
    }
    // The latest refill did not change the concentration: 50 ug at 1000 ug/mL = 20 strokes.
    d.handle(&Request::Bolus {
        dose_ug: 50,
        duration_s: 10,
        bridge: true,
    })
    .unwrap();
    d.advance_to(10_000);
    assert_eq!(status(&mut d).delivered_nl, 50_000);
}

#[test]
fn a_concentration_change_at_refill_keeps_the_dose_and_the_owed_volume() {
    let mut d = label_example(|_| {});
    d.advance_to(90_000);
    // Half a stroke owed at 1.2 mL/day; at 1000 ug/mL the rate is 0.6 mL/day (a stroke per
    // 360 s), so the owed half stroke completes 180 s later.
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 1000,
    })
    .unwrap();
    let s = status(&mut d);
    assert_eq!(
        (s.dose_rate_ug_per_day, s.concentration_ug_per_ml),
        (600, 1000)
    );
    d.advance_to(269_999);
    assert_eq!(status(&mut d).delivered_nl, 0);
    d.advance_to(270_000);
    assert_eq!(status(&mut d).delivered_nl, 2_500);
    d.advance_to(630_000);
    assert_eq!(status(&mut d).delivered_nl, 5_000);
}

#[test]
fn a_refill_ends_an_empty_reservoir_halt() {
    let mut d = label_example(|_| {});
    d.advance_to(61 * MS_PER_HOUR);
    assert_eq!(status(&mut d).therapy_state, TherapyState::Halted);
    d.drain_events();
    d.handle(&Request::Refill {
        volume_nl: 20_000_000,
        concentration_ug_per_ml: 500,
    })
    .unwrap();
    let events = d.drain_events();
    assert!(events.contains(&Event::AlarmCleared {
        device_time_ms: 61 * MS_PER_HOUR,
        alarm: AlarmKind::EmptyReservoir
    }));
    assert!(events.contains(&Event::TherapyStateChanged {
        device_time_ms: 61 * MS_PER_HOUR,
        state: TherapyState::Running
    }));
    d.advance_to(61 * MS_PER_HOUR + 180_000);
    assert_eq!(status(&mut d).delivered_nl, 3_002_500);
    assert_eq!(
        d.handle(&Request::Refill {
            volume_nl: 40_000_001,
            concentration_ug_per_ml: 500
        }),
        Err(NackCode::OutOfRange)
    );
}

#[test]
fn programming_keeps_a_stopped_or_halted_pump_where_it_is() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    d.handle(&Request::StopTherapy).unwrap();
    d.handle(&Request::ProgramContinuous {
        dose_ug_per_day: 1200,
    })
    .unwrap();
    assert_eq!(status(&mut d).therapy_state, TherapyState::Stopped);
    d.advance_to(MS_PER_HOUR);
    assert_eq!(status(&mut d).delivered_nl, 0);
    d.handle(&Request::ResumeTherapy).unwrap();
    // 1200 ug/day at 500 ug/mL = 2.4 mL/day: a stroke every 90 s from the resume.
    d.advance_to(MS_PER_HOUR + 90_000);
    assert_eq!(status(&mut d).delivered_nl, 2_500);

    d.handle(&Request::InjectFault {
        fault: Fault::MotorStall,
    })
    .unwrap();
    d.handle(&Request::ProgramContinuous {
        dose_ug_per_day: 600,
    })
    .unwrap();
    assert_eq!(status(&mut d).therapy_state, TherapyState::Halted);
}

#[test]
fn advance_time_answers_with_the_new_device_time() {
    let mut d = label_example(|_| {});
    assert_eq!(
        d.handle(&Request::AdvanceTime { to_ms: 3_600_000 }),
        Ok(ResponseBody::Time {
            device_time_ms: 3_600_000
        })
    );
    assert_eq!(d.now_ms(), 3_600_000);
    d.advance_to(1_000);
    assert_eq!(d.now_ms(), 3_600_000, "never backwards");
}

#[test]
fn event_log_entries_are_read_from_any_index_a_few_at_a_time() {
    let mut d = label_example(|_| {});
    d.advance_to(3 * MS_PER_DAY);
    let ResponseBody::EventLogPage(page) = d.handle(&Request::ReadEventLog { page: 0 }).unwrap()
    else {
        panic!()
    };
    let ResponseBody::EventLogPage(two) = d
        .handle(&Request::ReadEventLogEntries {
            first_index: 3,
            max_entries: 2,
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((two.total, two.first_index), (page.total, 3));
    assert_eq!(two.entries[..], page.entries[3..5]);
    let ResponseBody::EventLogPage(past) = d
        .handle(&Request::ReadEventLogEntries {
            first_index: page.total,
            max_entries: 8,
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(past.entries.is_empty(), "nothing new");
    assert_eq!(past.total, page.total);
    for refused in [0, 9] {
        assert_eq!(
            d.handle(&Request::ReadEventLogEntries {
                first_index: 0,
                max_entries: refused,
            }),
            Err(NackCode::OutOfRange)
        );
    }
}

#[test]
fn a_bolus_requested_while_another_runs_is_refused_and_the_first_goes_on() {
    let mut d = label_example(|c| c.pump.initial_fill_nl = 20_000_000);
    let before = status(&mut d).delivered_nl;
    let bolus = |duration_s| Request::Bolus {
        dose_ug: 50,
        duration_s,
        bridge: false,
    };
    d.handle(&bolus(1800)).unwrap();
    d.advance_to(10 * MS_PER_MINUTE);
    assert_eq!(d.handle(&bolus(600)), Err(NackCode::NotAllowedInState));
    d.advance_to(30 * MS_PER_MINUTE);
    // One bolus (50 ug at 500 ug/mL = 100 uL) and basal at 1.2 mL/day, one stroke every 3 min:
    // 10 strokes (25 uL) in 30 min. Nothing of the refused bolus.
    assert_eq!(status(&mut d).delivered_nl - before, 100_000 + 25_000);
    assert_eq!(status(&mut d).therapy_state, TherapyState::Running);
}

#[test]
fn advance_and_sample_answers_what_advance_status_and_plant_would() {
    let mut separate = label_example(|_| {});
    let mut combined = label_example(|_| {});
    let to_ms = 20 * MS_PER_HOUR;
    separate.handle(&Request::AdvanceTime { to_ms }).unwrap();
    let status = status(&mut separate);
    let Ok(ResponseBody::Plant(plant)) = separate.handle(&Request::ReadPlant) else {
        panic!("no plant");
    };
    assert_eq!(
        combined.handle(&Request::AdvanceAndSample { to_ms }),
        Ok(ResponseBody::Sample { plant, status })
    );
    assert_eq!(
        combined.drain_events(),
        separate.drain_events(),
        "the same events, low_reservoir raised at 20 h among them"
    );
    assert_eq!(
        combined.handle(&Request::AdvanceAndSample { to_ms: to_ms - 1 }),
        Err(NackCode::OutOfRange),
        "device time never goes back"
    );
}
