//! The names of checks, as they appear in run records, JUnit test cases and negative controls.

use crate::protocol::AlarmKind;

pub const DELIVERED_VOLUME: &str = "delivered-volume";
pub const CALCULATED_RESERVOIR: &str = "calculated-reservoir";
pub const TIP_VOLUME: &str = "tip-volume";
/// Needs the bench plant (ReadPlant): "not evaluated" on a device without one.
pub const ACTUAL_RESERVOIR: &str = "actual-reservoir";
pub const UNEXPECTED_ALARMS: &str = "unexpected-alarms";
pub const FORBIDDEN_ALARMS: &str = "forbidden-alarms";
pub const UNDER_INFUSION: &str = "under-infusion";
pub const OVER_INFUSION: &str = "over-infusion";
pub const SILENT_DEPLETION: &str = "silent-depletion";
pub const FLOW_ACCURACY: &str = "flow-accuracy";
/// Every bolus and programmed rate change: the tip volume over its window against the
/// programmed one (balance scenarios with a bolus or a rate change).
pub const BOLUS_VOLUME: &str = "bolus-volume";
/// Every step answered as the scenario states: accepted, or refused with its stated code.
pub const STEPS_ACCEPTED: &str = "steps-accepted";
/// The device clock's rate against the host's, on a real-time bench only.
pub const CLOCK_DRIFT: &str = "clock-drift";
pub const ALARM_ONSET: &str = "alarm-onset";
pub const ALARM_PRIORITY: &str = "alarm-priority";
pub const ALARM_CLEARED: &str = "alarm-cleared";

/// Checks that stand alone (not per alarm).
pub const PLAIN: &[&str] = &[
    DELIVERED_VOLUME,
    CALCULATED_RESERVOIR,
    TIP_VOLUME,
    ACTUAL_RESERVOIR,
    UNEXPECTED_ALARMS,
    FORBIDDEN_ALARMS,
    UNDER_INFUSION,
    OVER_INFUSION,
    SILENT_DEPLETION,
    FLOW_ACCURACY,
    BOLUS_VOLUME,
    STEPS_ACCEPTED,
];

/// Checks produced only on a real-time bench (never in virtual time, so no scenario's negative
/// control can name them: tests/bench_safety.rs shows them failing over ptys).
pub const REAL_TIME_ONLY: &[&str] = &[CLOCK_DRIFT];

/// Per-alarm check families, named `<family>:<alarm>`.
pub const PER_ALARM: &[&str] = &[ALARM_ONSET, ALARM_PRIORITY, ALARM_CLEARED];

pub fn per_alarm(family: &str, alarm: AlarmKind) -> String {
    format!("{family}:{}", alarm.name())
}

/// The family of a check name: `alarm-onset:low_reservoir` → `alarm-onset`.
pub fn family(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

pub fn is_valid_check_name(name: &str) -> bool {
    if PLAIN.contains(&name) || REAL_TIME_ONLY.contains(&name) {
        return true;
    }
    match name.split_once(':') {
        Some((family, alarm)) => {
            PER_ALARM.contains(&family) && AlarmKind::from_name(alarm).is_some()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised() {
        assert!(is_valid_check_name("delivered-volume"));
        assert!(is_valid_check_name("alarm-onset:low_reservoir"));
        assert!(!is_valid_check_name("alarm-onset:low"));
        assert!(!is_valid_check_name("delivered"));
        assert_eq!(family("alarm-cleared:end_of_service"), "alarm-cleared");
    }
}
