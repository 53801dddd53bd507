//! Pipelined samples on the in-process emulator: how many consecutive samples go out at once,
//! and which of the pump's events belong to which of them.
//!
//! A sample on virtual time is one Advance and sample and one balance reading. Taken one after
//! the other, each waits a pump and a balance round trip over ptys, about 2.1 million round
//! trips for a year at 30 s. Pipelined, the runner writes the next samples' requests at once and
//! the balance streams one weight per sample (`SIR`, `emulator::weighings`); the device sees the
//! same requests in the same order and answers each as before, and every sample is judged and
//! recorded as before, one by one. docs/performance.md, "Pipelined samples".

use crate::driver::pump::DriverEvent;
use crate::emulator::link_faults::LinkFaults;
use std::collections::VecDeque;

/// Samples sent at once to the in-process emulator on a clean link.
pub const SAMPLE_BATCH: usize = 32;

/// How many consecutive samples the runner sends at once to the in-process emulator: on a clean
/// link [`SAMPLE_BATCH`], else 1 (under link faults a lost frame needs a re-send, and only the
/// last request is answered from the device's cache). `PUMPHIL_SAMPLE_BATCH` sets it on a clean
/// link (1: one sample at a time), for measuring one against the other.
pub fn sample_batch_for(link_faults: &LinkFaults) -> usize {
    if !link_faults.is_clean() {
        return 1;
    }
    std::env::var("PUMPHIL_SAMPLE_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(SAMPLE_BATCH, |n| n.max(1))
}

/// The device time an event happened at; `None` for a gap in the event numbers.
fn device_time(event: &DriverEvent) -> Option<u64> {
    match event {
        DriverEvent::Event { event, .. } => Some(event.device_time_ms()),
        DriverEvent::Lost { .. } => None,
    }
}

/// The events a pipeline brought, handed out sample by sample: an event belongs to the first
/// sample at or after its device time, as it would have had the samples been taken one at a
/// time (the device sends an advance's events before its answer). A gap goes with the event
/// after it.
pub struct HeldEvents(VecDeque<DriverEvent>);

impl HeldEvents {
    pub fn new(events: Vec<DriverEvent>) -> HeldEvents {
        HeldEvents(events.into())
    }

    /// The events up to and including device time `device_time_ms`, in arrival order.
    pub fn until(&mut self, device_time_ms: u64) -> Vec<DriverEvent> {
        let Some(mut later) = self
            .0
            .iter()
            .position(|e| device_time(e).is_some_and(|t| t > device_time_ms))
        else {
            return self.0.drain(..).collect();
        };
        while later > 0 && device_time(&self.0[later - 1]).is_none() {
            later -= 1;
        }
        self.0.drain(..later).collect()
    }

    /// What is left (nothing, from a device that keeps its clock).
    pub fn rest(self) -> Vec<DriverEvent> {
        self.0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AlarmKind, Event, Priority};

    fn raised(seq: u16, device_time_ms: u64) -> DriverEvent {
        DriverEvent::Event {
            seq,
            event: Event::AlarmRaised {
                device_time_ms,
                alarm: AlarmKind::LowReservoir,
                priority: Priority::Medium,
            },
        }
    }

    #[test]
    fn each_sample_gets_the_events_up_to_its_device_time() {
        let gap = DriverEvent::Lost {
            expected_seq: 2,
            got_seq: 4,
        };
        let mut held = HeldEvents::new(vec![
            raised(1, 10),
            raised(2, 30),
            gap.clone(),
            raised(4, 31),
            raised(5, 90),
        ]);
        assert_eq!(held.until(5), []);
        assert_eq!(held.until(30), [raised(1, 10), raised(2, 30)]);
        assert_eq!(held.until(60), [gap, raised(4, 31)]);
        assert_eq!(held.until(60), []);
        assert_eq!(held.rest(), [raised(5, 90)]);
    }

    #[test]
    fn link_faults_take_samples_one_at_a_time() {
        let lossy = LinkFaults {
            corrupt_rate: 0.01,
            ..LinkFaults::default()
        };
        assert_eq!(sample_batch_for(&lossy), 1);
    }
}
