//! On a real-time bench the harness's own observations bound an alarm's onset: a status poll
//! that showed the alarm absent at host time A means the alarm cannot have been raised before
//! A, whatever the device's timestamp says. A pure record of what each poll showed; the runner
//! feeds it and asks which device-stamped raises it refutes.

use crate::checks::ObservedAlarm;
use crate::protocol::AlarmKind;

/// How far a device timestamp may precede the harness's observation of absence before it is a
/// contradiction: the status answer is built after the request was sent, so only the device
/// clock's allowed drift and its tick separate the two.
pub const SLACK_MS: u64 = 250;

/// One poll of one alarm: at this host time (ms since scenario time 0), present or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sighting {
    host_ms: u64,
    alarm: AlarmKind,
    present: bool,
}

#[derive(Debug, Default)]
pub struct AlarmSightings {
    polls: Vec<Sighting>,
}

/// A device timestamp the harness's own observations refute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refuted {
    pub alarm: AlarmKind,
    pub claimed_ms: u64,
    pub absent_at_ms: u64,
}

impl AlarmSightings {
    /// A status poll sent at `host_sent_ms` that showed `active` (every alarm kind is noted).
    pub fn poll(&mut self, host_sent_ms: u64, active: &[AlarmKind]) {
        for &alarm in AlarmKind::ALL {
            self.polls.push(Sighting {
                host_ms: host_sent_ms,
                alarm,
                present: active.contains(&alarm),
            });
        }
    }

    /// The raises whose device time claims an onset before a poll that still showed the alarm
    /// absent (the last such poll before the poll that first showed it, for each raise).
    pub fn refuted(&self, transitions: &[ObservedAlarm], drift_percent: f64) -> Vec<Refuted> {
        let mut out = Vec::new();
        for &alarm in AlarmKind::ALL {
            let polls: Vec<&Sighting> = self.polls.iter().filter(|p| p.alarm == alarm).collect();
            // The last absent poll before each absent→present edge, in order.
            let mut absences = Vec::new();
            for pair in polls.windows(2) {
                if !pair[0].present && pair[1].present {
                    absences.push(pair[0].host_ms);
                }
            }
            let raises = transitions.iter().filter(|t| t.alarm == alarm && t.raised);
            for (raise, absent_at_ms) in raises.zip(absences) {
                let slack = SLACK_MS + (absent_at_ms as f64 * drift_percent / 100.0) as u64;
                if raise.t_ms + slack < absent_at_ms {
                    out.push(Refuted {
                        alarm,
                        claimed_ms: raise.t_ms,
                        absent_at_ms,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Priority;

    fn raise(t_ms: u64) -> ObservedAlarm {
        ObservedAlarm {
            t_ms,
            alarm: AlarmKind::MotorStall,
            priority: Priority::High,
            raised: true,
        }
    }

    fn polled(at: &[(u64, bool)]) -> AlarmSightings {
        let mut s = AlarmSightings::default();
        for (host_ms, present) in at {
            let active = if *present {
                vec![AlarmKind::MotorStall]
            } else {
                vec![]
            };
            s.poll(*host_ms, &active);
        }
        s
    }

    #[test]
    fn a_raise_stamped_before_a_poll_that_saw_no_alarm_is_refuted() {
        let s = polled(&[(0, false), (1_000, false), (2_000, true)]);
        assert_eq!(
            s.refuted(&[raise(0)], 0.1),
            [Refuted {
                alarm: AlarmKind::MotorStall,
                claimed_ms: 0,
                absent_at_ms: 1_000
            }]
        );
        assert!(
            s.refuted(&[raise(1_500)], 0.1).is_empty(),
            "between the polls"
        );
        assert!(s.refuted(&[raise(900)], 0.1).is_empty(), "within the slack");
    }

    #[test]
    fn each_raise_is_bounded_by_its_own_absence() {
        let s = polled(&[
            (0, false),
            (1_000, true),
            (2_000, false),
            (3_000, false),
            (4_000, true),
        ]);
        assert!(s.refuted(&[raise(500), raise(3_500)], 0.1).is_empty());
        let second_backdated = s.refuted(&[raise(500), raise(1_200)], 0.1);
        assert_eq!(second_backdated.len(), 1);
        assert_eq!(second_backdated[0].absent_at_ms, 3_000);
    }
}
