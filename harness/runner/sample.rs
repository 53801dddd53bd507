//! One sample of a scenario: the pump's status, the bench plant and the balance reading taken at
//! the same scenario time, put together as the record's [`Sample`].

use crate::driver::balance::Reading;
use crate::protocol::{Plant, Status};
use crate::record::Sample;

/// What was read at scenario time `t_ms`. The balance weighs the fluid that left the catheter
/// tip; `density_g_per_ml` turns its grams into a volume (never below zero: a balance that
/// drifts under its zero has not seen fluid flow back).
pub fn assemble(
    t_ms: u64,
    status: &Status,
    plant: Option<&Plant>,
    balance: Option<&Reading>,
    density_g_per_ml: f64,
) -> Sample {
    let balance_g = balance.map(|r| r.grams);
    Sample {
        t_ms,
        device_time_ms: status.device_time_ms,
        delivered_nl: status.delivered_nl,
        calculated_nl: status.calculated_reservoir_nl,
        dose_rate_ug_per_day: status.dose_rate_ug_per_day,
        concentration_ug_per_ml: status.concentration_ug_per_ml,
        therapy_state: status.therapy_state.name().to_string(),
        battery_permille: status.battery_permille,
        elective_replacement: status.elective_replacement,
        end_of_service: status.end_of_service,
        active_alarms: status
            .alarms
            .iter()
            .map(|a| a.alarm.name().to_string())
            .collect(),
        balance_g,
        balance_stable: balance.map(|r| r.stable),
        tip_nl: balance_g.map(|g| (g / density_g_per_ml * 1e6).round().max(0.0) as u64),
        actual_reservoir_nl: plant.map(|p| p.actual_reservoir_nl),
        pocket_nl: plant.map(|p| p.pocket_nl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        ActiveAlarm, AlarmKind, AlarmState, CatheterState, Priority, TherapyState,
    };

    fn status() -> Status {
        Status {
            device_time_ms: 5_000_123,
            calculated_reservoir_nl: 19_000_000,
            delivered_nl: 1_000_000,
            dose_rate_ug_per_day: 1000,
            concentration_ug_per_ml: 500,
            low_reservoir_threshold_nl: 2_000_000,
            therapy_state: TherapyState::Running,
            battery_permille: 870,
            elective_replacement: false,
            end_of_service: false,
            alarms: vec![ActiveAlarm {
                alarm: AlarmKind::LowReservoir,
                priority: Priority::Medium,
                state: AlarmState::Silenced,
            }],
        }
    }

    fn reading(grams: f64, stable: bool) -> Reading {
        Reading {
            grams,
            stable,
            unit: "g".into(),
        }
    }

    #[test]
    fn the_pump_status_fills_the_pump_fields() {
        let s = assemble(600_000, &status(), None, None, 1.0);
        assert_eq!(s.t_ms, 600_000);
        assert_eq!(s.device_time_ms, 5_000_123);
        assert_eq!((s.delivered_nl, s.calculated_nl), (1_000_000, 19_000_000));
        assert_eq!(
            (s.dose_rate_ug_per_day, s.concentration_ug_per_ml),
            (1000, 500)
        );
        assert_eq!(s.therapy_state, "running");
        assert_eq!(s.battery_permille, 870);
        assert_eq!(s.active_alarms, ["low_reservoir"]);
        assert_eq!(
            (s.balance_g, s.balance_stable, s.tip_nl),
            (None, None, None)
        );
        assert_eq!((s.actual_reservoir_nl, s.pocket_nl), (None, None));
    }

    #[test]
    fn the_balance_reading_becomes_a_tip_volume_through_the_density() {
        let s = assemble(0, &status(), None, Some(&reading(1.0046, false)), 1.0046);
        assert_eq!(s.balance_g, Some(1.0046));
        assert_eq!(s.balance_stable, Some(false));
        assert_eq!(s.tip_nl, Some(1_000_000));
        // 0.0000015 g at 1 g/mL is 1.5 nL: rounded, not truncated.
        let s = assemble(0, &status(), None, Some(&reading(0.000_001_5, true)), 1.0);
        assert_eq!(s.tip_nl, Some(2));
    }

    #[test]
    fn a_reading_under_zero_is_no_volume() {
        let s = assemble(0, &status(), None, Some(&reading(-0.0003, true)), 1.0);
        assert_eq!(s.balance_g, Some(-0.0003));
        assert_eq!(s.tip_nl, Some(0));
    }

    #[test]
    fn the_plant_gives_the_actual_reservoir_and_the_pocket() {
        let plant = Plant {
            actual_reservoir_nl: 18_500_000,
            tip_nl: 900_000,
            pocket_nl: 100_000,
            catheter: CatheterState::Disconnected,
            motor_stalled: false,
            flow_bias_centi_percent: 0,
        };
        let s = assemble(0, &status(), Some(&plant), None, 1.0);
        assert_eq!(s.actual_reservoir_nl, Some(18_500_000));
        assert_eq!(s.pocket_nl, Some(100_000));
        assert_eq!(
            s.tip_nl, None,
            "the tip volume comes from the balance, not the plant"
        );
    }
}
