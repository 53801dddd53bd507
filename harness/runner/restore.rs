//! Never leaving a pump in an injected fault state: the faults a scenario injected are cleared on
//! every exit, and when the pump is lost each is recorded as not restored, with what to do.

use crate::driver::pump::{DriverError, PumpDriver};
use crate::protocol::FaultKind;
use crate::record::{StepAction, StepOutcome};
use crate::scenario::Action;

/// One restore record: it takes the next step index after the scenario's own steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    pub index: usize,
    pub fault: FaultKind,
    /// Restored, or not restored with what the operator must do.
    pub outcome: StepOutcome,
}

impl Restore {
    /// The record's description of the step.
    pub fn action(&self) -> StepAction {
        StepAction::Restore {
            restore: self.fault,
        }
    }
}

/// The faults still injected, in the order they were injected.
pub struct FaultRestore {
    injected: Vec<FaultKind>,
    next_index: usize,
}

impl FaultRestore {
    /// `first_index`: the step index of the first restore record (the number of steps).
    pub fn new(first_index: usize) -> FaultRestore {
        FaultRestore {
            injected: Vec::new(),
            next_index: first_index,
        }
    }

    /// A step the pump accepted: an injection is to be undone, a clear already undid one.
    pub fn step_applied(&mut self, action: &Action) {
        match action {
            Action::Inject { fault } => self.injected.push(fault.kind()),
            Action::Clear { fault } => self.injected.retain(|k| k != fault),
            _ => {}
        }
    }

    /// Clears the oldest fault still injected; `None` once none is left. A failed clear is
    /// recorded as not restored and not tried again.
    pub async fn clear_next(&mut self, pump: &PumpDriver) -> Option<Restore> {
        if self.injected.is_empty() {
            return None;
        }
        let fault = self.injected.remove(0);
        let outcome = match pump.clear_fault(fault).await {
            Ok(()) => StepOutcome::Restored,
            Err(e) => not_restored(fault, &e.to_string()),
        };
        Some(self.record(fault, outcome))
    }

    /// The pump is gone, so what the scenario injected is still in it: say so where the bench
    /// operator and the reviewer will see it, without waiting for a pump that is not there.
    pub fn abandon(&mut self, lost: &DriverError) -> Vec<Restore> {
        std::mem::take(&mut self.injected)
            .into_iter()
            .map(|fault| {
                let outcome = not_restored(fault, &format!("the pump was lost ({lost})"));
                self.record(fault, outcome)
            })
            .collect()
    }

    fn record(&mut self, fault: FaultKind, outcome: StepOutcome) -> Restore {
        self.next_index += 1;
        Restore {
            index: self.next_index - 1,
            fault,
            outcome,
        }
    }
}

fn not_restored(fault: FaultKind, why: &str) -> StepOutcome {
    StepOutcome::NotRestored {
        reason: format!(
            "{why}; clear the {} fault on the pump before it is used again",
            fault.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{config::EmulatorConfig, server::serve_pump, Device, TimeMode};
    use crate::protocol::{CatheterState, Fault};
    use crate::scenario::FaultSpec;
    use std::sync::{Arc, Mutex};

    fn inject(fault: FaultSpec) -> Action {
        Action::Inject { fault }
    }

    /// A driver talking to an in-process emulator over an in-memory link.
    fn emulated_pump() -> PumpDriver {
        let (host, device_end) = crate::link::memory::memory_pair();
        let device = Arc::new(Mutex::new(Device::new(EmulatorConfig::default())));
        tokio::spawn(serve_pump(device_end, device, TimeMode::Virtual));
        PumpDriver::new(host)
    }

    #[test]
    fn a_cleared_fault_is_not_restored_again() {
        let mut restore = FaultRestore::new(3);
        restore.step_applied(&inject(FaultSpec::CatheterDisconnect));
        restore.step_applied(&inject(FaultSpec::MotorStall));
        restore.step_applied(&Action::Clear {
            fault: FaultKind::CatheterDisconnect,
        });
        restore.step_applied(&Action::Stop);
        let lost = DriverError::DeviceLost("the link hung up".into());
        let records = restore.abandon(&lost);
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].index, records[0].fault),
            (3, FaultKind::MotorStall)
        );
    }

    #[test]
    fn a_lost_pump_leaves_a_not_restored_record_per_fault_saying_what_to_do() {
        let mut restore = FaultRestore::new(2);
        restore.step_applied(&inject(FaultSpec::CatheterOcclusion));
        restore.step_applied(&inject(FaultSpec::MotorStall));
        let lost = DriverError::DeviceLost("the link hung up".into());
        let records = restore.abandon(&lost);
        assert_eq!(records.iter().map(|r| r.index).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(
            records[0].outcome.to_string(),
            "not restored: the pump was lost (device lost: the link hung up); \
             clear the catheter_occlusion fault on the pump before it is used again"
        );
        assert_eq!(
            records[1].action(),
            StepAction::Restore {
                restore: FaultKind::MotorStall
            }
        );
        assert!(
            restore.abandon(&lost).is_empty(),
            "each fault is recorded once"
        );
    }

    #[tokio::test]
    async fn restoring_clears_the_injected_faults_on_the_pump() {
        let pump = emulated_pump();
        pump.inject_fault(Fault::CatheterDisconnect).await.unwrap();
        assert_eq!(
            pump.plant().await.unwrap().catheter,
            CatheterState::Disconnected
        );
        let mut restore = FaultRestore::new(1);
        restore.step_applied(&inject(FaultSpec::CatheterDisconnect));
        let record = restore
            .clear_next(&pump)
            .await
            .expect("one fault to restore");
        assert_eq!((record.index, record.outcome), (1, StepOutcome::Restored));
        assert_eq!(
            pump.plant().await.unwrap().catheter,
            CatheterState::Connected
        );
        assert_eq!(restore.clear_next(&pump).await, None);
    }

    #[tokio::test]
    async fn a_clear_that_fails_is_recorded_as_not_restored() {
        let (host, device_end) = crate::link::memory::memory_pair();
        drop(device_end);
        let pump = PumpDriver::new(host);
        let mut restore = FaultRestore::new(0);
        restore.step_applied(&inject(FaultSpec::MotorStall));
        let record = restore
            .clear_next(&pump)
            .await
            .expect("one fault to restore");
        let outcome = record.outcome.to_string();
        assert!(
            outcome.starts_with("not restored: device lost"),
            "{outcome}"
        );
        assert!(
            outcome.ends_with("clear the motor_stall fault on the pump before it is used again")
        );
    }
}
