//! Flexible schedules on the device's day: a scenario's `start` times count from scenario time
//! 0, the device's minute of the day from its own epoch (protocol.md §4.1), so a schedule is
//! turned by the device's time of day at scenario time 0 before it is sent; and scenario time
//! 0 is put at the start of a device minute, so that turning by whole minutes is exact.

use crate::driver::pump::PumpDriver;
use crate::scenario::{Action, FlexStepSpec, Scenario};
use crate::units::MS_PER_MINUTE;
use std::time::{Duration, Instant};

const MINUTES_PER_DAY: u64 = 1440;

/// Longest a real-time bench waits for the pump's next minute: one minute, and some slack for
/// a clock a little slow.
const LONGEST_WAIT: Duration = Duration::from_secs(75);

/// Whether the scenario programs a flexible schedule (minutes of the device day).
pub fn follows_device_day(scenario: &Scenario) -> bool {
    scenario
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::ProgramFlexible { .. }))
}

/// Device time at the start of the minute after `device_ms` (itself when on a minute).
fn next_minute(device_ms: u64) -> u64 {
    device_ms.div_ceil(MS_PER_MINUTE) * MS_PER_MINUTE
}

/// Puts scenario time 0 at the start of a device minute and returns the device time there. A
/// pump switched on 72 s before the run is at 1 min 12 s of its day: turned by a whole minute
/// its schedule would run 12 s early (or 48 s late), so the run starts at the pump's next
/// minute instead: advanced there in virtual time, waited for (under a minute) on a real-time
/// bench.
pub async fn start_on_a_minute(
    pump: &PumpDriver,
    device_ms: u64,
    virtual_time: bool,
) -> Result<u64, String> {
    let minute = next_minute(device_ms);
    if minute == device_ms {
        return Ok(device_ms);
    }
    if virtual_time {
        return pump
            .advance_to(minute)
            .await
            .map_err(|e| format!("pump did not advance to its next minute: {e}"));
    }
    let waiting = Instant::now();
    let mut now_ms = device_ms;
    while now_ms < minute {
        if waiting.elapsed() > LONGEST_WAIT {
            return Err(format!(
                "the pump's clock did not reach its next minute ({minute} ms) in {} s: it stands at {now_ms} ms",
                LONGEST_WAIT.as_secs()
            ));
        }
        let remaining = Duration::from_millis(minute - now_ms);
        tokio::time::sleep(remaining.min(super::clock::HEARTBEAT)).await;
        now_ms = pump
            .status()
            .await
            .map_err(|e| format!("pump did not report status: {e}"))?
            .device_time_ms;
    }
    Ok(now_ms)
}

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
    fn the_next_minute_is_the_minute_itself_or_the_one_after() {
        assert_eq!(next_minute(0), 0);
        assert_eq!(next_minute(72_000), 120_000);
        assert_eq!(next_minute(120_000), 120_000);
        assert_eq!(next_minute(120_001), 180_000);
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
