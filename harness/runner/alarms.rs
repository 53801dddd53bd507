//! Which alarm transitions a scenario saw: a pure state machine fed with the pump's event frames
//! and its event-log entries, deciding what the record shows and which deviations to report.
//!
//! Event frames can be lost or duplicated on the link; the device's event log is the authority.
//! The tracker does no I/O: the runner reads the pump and hands over what it got.

use crate::checks::ObservedAlarm;
use crate::driver::pump::DriverEvent;
use crate::protocol::{
    ActiveAlarm, AlarmKind, Event, EventLogPage, LogEntry, LogEntryKind, Priority,
};
use crate::scenario::duration::format_duration;

/// The longest a scenario goes without reading the event log. At the device's busiest (a
/// high-priority alarm annunciated every 10 min) 4096 entries last 28 days.
pub const LOG_READ_AT_LEAST_EVERY_MS: u64 = 24 * 60 * 60 * 1000;

/// Something the run record must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    /// An alarm transition, in scenario time; `event_seq` is 0 for one recovered from the log.
    Alarm {
        t_ms: u64,
        device_time_ms: u64,
        alarm: AlarmKind,
        priority: Priority,
        raised: bool,
        event_seq: u16,
    },
    Deviation {
        t_ms: Option<u64>,
        kind: &'static str,
        detail: String,
    },
}

pub struct AlarmTracker {
    /// Device time at scenario time 0.
    origin_ms: u64,
    transitions: Vec<ObservedAlarm>,
    last_event_seq: Option<u16>,
    /// Index of the first device event-log entry not yet reconciled.
    log_cursor: u32,
    /// Something suggests a transition was lost: read the event log at the next chance.
    log_suspect: bool,
    /// Scenario time of the last event-log read.
    log_read_at_ms: u64,
    /// While the pump is brought to its starting state, transitions are held back: only alarms
    /// still active when setup ends count, as raised at time 0.
    setup: Option<Vec<ObservedAlarm>>,
}

impl AlarmTracker {
    /// A tracker in setup: transitions are held until [`AlarmTracker::end_setup`].
    pub fn new(origin_ms: u64) -> AlarmTracker {
        AlarmTracker {
            origin_ms,
            transitions: Vec::new(),
            last_event_seq: None,
            log_cursor: 0,
            log_suspect: false,
            log_read_at_ms: 0,
            setup: Some(Vec::new()),
        }
    }

    /// The transitions seen so far, for the alarm checks (in time order after each log read).
    pub fn transitions(&self) -> &[ObservedAlarm] {
        &self.transitions
    }

    /// Ends setup. The pump's status (`active`), not the events on the wire, says which alarms
    /// stand at time 0: an event lost during setup must not hide one. Transitions during setup
    /// are reported as a deviation.
    pub fn end_setup(&mut self, active: &[ActiveAlarm]) -> Vec<Tracked> {
        let held = self.setup.take().unwrap_or_default();
        let mut out = Vec::new();
        if held.len() > active.len() {
            out.push(Tracked::Deviation {
                t_ms: Some(0),
                kind: "setup-transient",
                detail: format!(
                    "{} alarm transition(s) while setting up the pump were not counted",
                    held.len() - active.len()
                ),
            });
        }
        for a in active {
            out.push(Tracked::Alarm {
                t_ms: 0,
                device_time_ms: self.origin_ms,
                alarm: a.alarm,
                priority: a.priority,
                raised: true,
                event_seq: self.last_event_seq.unwrap_or(0),
            });
            self.transitions.push(ObservedAlarm {
                t_ms: 0,
                alarm: a.alarm,
                priority: a.priority,
                raised: true,
            });
        }
        out
    }

    /// Where reconciling starts: the log's total when setup ended.
    pub fn start_log_at(&mut self, total: u32) {
        self.log_cursor = total;
    }

    /// An event frame or a gap in the event numbers, as the driver reported it.
    pub fn on_driver_event(&mut self, event: DriverEvent) -> Option<Tracked> {
        match event {
            DriverEvent::Event { seq, event } => self.on_event(seq, event),
            DriverEvent::Lost {
                expected_seq,
                got_seq,
            } => {
                self.log_suspect = true;
                Some(Tracked::Deviation {
                    t_ms: None,
                    kind: "lost-event",
                    detail: format!(
                        "device event sequence jumped from {expected_seq} to {got_seq}: {} event(s) lost",
                        got_seq.wrapping_sub(expected_seq)
                    ),
                })
            }
        }
    }

    fn on_event(&mut self, seq: u16, event: Event) -> Option<Tracked> {
        self.last_event_seq = Some(seq);
        let (device_time_ms, alarm, priority, raised) = match event {
            Event::AlarmRaised {
                device_time_ms,
                alarm,
                priority,
            } => (device_time_ms, alarm, Some(priority), true),
            Event::AlarmCleared {
                device_time_ms,
                alarm,
            } => (device_time_ms, alarm, None, false),
            Event::TherapyStateChanged { .. } => return None,
        };
        let t_ms = device_time_ms.saturating_sub(self.origin_ms);
        // A clear carries no priority: it is the priority the alarm was raised with.
        let priority = priority.unwrap_or_else(|| self.raised_priority(alarm));
        let observed = ObservedAlarm {
            t_ms,
            alarm,
            priority,
            raised,
        };
        if self.seen(&observed) {
            return None; // a duplicated frame, or already recovered from the event log
        }
        if let Some(held) = &mut self.setup {
            held.push(observed);
            return None;
        }
        self.transitions.push(observed);
        Some(Tracked::Alarm {
            t_ms,
            device_time_ms,
            alarm,
            priority,
            raised,
            event_seq: seq,
        })
    }

    /// Alarms the device says are active that the events did not raise (or the reverse) mean
    /// a transition was lost on the link.
    pub fn compare_active(&mut self, active: &[ActiveAlarm]) {
        let mut believed: Vec<AlarmKind> = Vec::new();
        for a in &self.transitions {
            believed.retain(|k| *k != a.alarm);
            if a.raised {
                believed.push(a.alarm);
            }
        }
        let mut reported: Vec<_> = active.iter().map(|a| a.alarm).collect();
        believed.sort_by_key(|k| *k as u8);
        reported.sort_by_key(|k| *k as u8);
        reported.dedup();
        if believed != reported {
            self.log_suspect = true;
        }
    }

    /// Whether to read the event log at scenario time `t_ms`: when a transition may have been
    /// lost, and at least once a device day so the log (newest 4096 entries, docs/protocol.md
    /// 12.10) cannot wrap unread.
    pub fn log_read_due(&self, t_ms: u64) -> bool {
        self.log_suspect || t_ms >= self.log_read_at_ms + LOG_READ_AT_LEAST_EVERY_MS
    }

    /// Starts reading the log at scenario time `t_ms`; returns the first entry index to ask for.
    pub fn begin_log_read(&mut self, t_ms: u64) -> u32 {
        self.log_suspect = false;
        self.log_read_at_ms = t_ms;
        self.log_cursor
    }

    /// A page of the log, read from the index last returned. Any raise or clear in it that no
    /// event frame reported is added with its logged device time and reported as recovered.
    /// Returns what to record and the index to read next, or `None` when the log is read.
    pub fn on_log_page(&mut self, page: &EventLogPage) -> (Vec<Tracked>, Option<u32>) {
        let cursor = self.log_cursor;
        let mut out = Vec::new();
        if page.first_index > cursor {
            out.push(Tracked::Deviation {
                t_ms: None,
                kind: "event-log-overrun",
                detail: format!(
                    "event log entries {cursor}..{} were overwritten before they were read",
                    page.first_index
                ),
            });
        }
        for entry in &page.entries {
            out.extend(self.recover(entry));
        }
        self.log_cursor = page.first_index.max(cursor) + page.entries.len() as u32;
        if page.entries.is_empty() || self.log_cursor >= page.total {
            // Recovered transitions may be older than ones already seen.
            self.transitions.sort_by_key(|a| a.t_ms);
            (out, None)
        } else {
            (out, Some(self.log_cursor))
        }
    }

    /// A logged alarm raise or clear that no event frame reported.
    fn recover(&mut self, entry: &LogEntry) -> Vec<Tracked> {
        let raised = match entry.kind {
            LogEntryKind::AlarmRaised => true,
            LogEntryKind::AlarmCleared => false,
            _ => return vec![],
        };
        let Some(alarm) = AlarmKind::from_wire(entry.code) else {
            return vec![];
        };
        let t_ms = entry.device_time_ms.saturating_sub(self.origin_ms);
        let priority = if raised {
            u8::try_from(entry.value)
                .ok()
                .and_then(Priority::from_wire)
                .unwrap_or(Priority::Low)
        } else {
            self.raised_priority(alarm)
        };
        let observed = ObservedAlarm {
            t_ms,
            alarm,
            priority,
            raised,
        };
        if self.seen(&observed) {
            return vec![];
        }
        self.transitions.push(observed);
        vec![
            Tracked::Deviation {
                t_ms: Some(t_ms),
                kind: "event-recovered",
                detail: format!(
                    "{alarm} {} at {} was lost on the link and recovered from the device's event log",
                    if raised { "raised" } else { "cleared" },
                    format_duration(t_ms)
                ),
            },
            Tracked::Alarm {
                t_ms,
                device_time_ms: entry.device_time_ms,
                alarm,
                priority,
                raised,
                event_seq: 0,
            },
        ]
    }

    /// The same alarm, transition and time is already recorded.
    fn seen(&self, observed: &ObservedAlarm) -> bool {
        self.transitions.iter().any(|a| {
            a.alarm == observed.alarm && a.raised == observed.raised && a.t_ms == observed.t_ms
        })
    }

    /// The priority of the alarm's latest raise (low if none was seen).
    fn raised_priority(&self, alarm: AlarmKind) -> Priority {
        self.transitions
            .iter()
            .rev()
            .find(|a| a.alarm == alarm && a.raised)
            .map(|a| a.priority)
            .unwrap_or(Priority::Low)
    }
}

#[cfg(test)]
#[path = "alarms_tests.rs"]
mod tests;
