//! Flexible schedules on the device's day: a scenario's `start` times count from scenario time
//! 0, the device's minute of the day from its own epoch (protocol.md §4.1), so a schedule is
//! turned by the device's time of day at scenario time 0 before it is sent.

use crate::scenario::{Action, FlexStepSpec};
use crate::units::MS_PER_MINUTE;

const MINUTES_PER_DAY: u64 = 1440;

/// The action as the device must receive it when scenario time 0 is device time `origin_ms`.
/// Only a flexible schedule changes: each start moves by the device's minute of the day at
/// the origin (to the nearest minute), and the steps are put back in increasing order, which
/// keeps the daily cycle the same. Everything else is sent as written.
pub fn on_device_day(action: &Action, origin_ms: u64) -> Action {
    let Action::ProgramFlexible { steps } = action else {
        return action.clone();
    };
    let offset = ((origin_ms + MS_PER_MINUTE / 2) / MS_PER_MINUTE) % MINUTES_PER_DAY;
    if offset == 0 {
        return action.clone();
    }
    let mut turned: Vec<FlexStepSpec> = steps
        .iter()
        .map(|s| FlexStepSpec {
            start_minute: ((u64::from(s.start_minute) + offset) % MINUTES_PER_DAY) as u16,
            dose_ug_per_day: s.dose_ug_per_day,
        })
        .collect();
    turned.sort_by_key(|s| s.start_minute);
    Action::ProgramFlexible { steps: turned }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flexible(steps: &[(u16, u32)]) -> Action {
        Action::ProgramFlexible {
            steps: steps
                .iter()
                .map(|&(start_minute, dose_ug_per_day)| FlexStepSpec {
                    start_minute,
                    dose_ug_per_day,
                })
                .collect(),
        }
    }

    #[test]
    fn a_schedule_turns_by_the_devices_time_of_day_at_the_origin() {
        let schedule = flexible(&[(420, 500), (1320, 600)]);
        // Device epoch at scenario time 0: nothing to turn.
        assert_eq!(on_device_day(&schedule, 0), schedule);
        assert_eq!(on_device_day(&schedule, 3 * 86_400_000), schedule);
        // The device is at 03:00 of its day when the scenario starts: scenario 07:00 is device
        // 10:00, scenario 22:00 is device 01:00 the next day, and the order is restored.
        let at_3h = on_device_day(&schedule, 3 * 3_600_000);
        assert_eq!(at_3h, flexible(&[(60, 600), (600, 500)]));
        // Continuous programs do not depend on the time of day.
        let continuous = Action::ProgramContinuous {
            dose_ug_per_day: 600,
        };
        assert_eq!(on_device_day(&continuous, 3 * 3_600_000), continuous);
    }
}
