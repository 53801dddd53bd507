//! Which steps the device refuses, by the arithmetic's state at the step: the refusals of
//! docs/protocol.md ("Refusals with NotAllowedInState"), so that lint can tell a stated refusal
//! (`refused = "..."`) the device must give from one it never would.

use super::State;
use crate::protocol::NackCode;
use crate::scenario::Action;

impl State<'_> {
    /// The code the device answers `action` with now, or None when it accepts it.
    pub(super) fn refusal(&self, action: &Action) -> Option<NackCode> {
        let t = self.t;
        let programmed = !matches!(self.program, super::Program::None);
        let halted = self.halted_empty || self.halted_stall || self.halted_eos;
        let refused = match action {
            // Only a running pump takes a bolus: not idle, stopped, halted, or in a bolus.
            Action::Bolus { .. } => {
                !self.delivering() || self.bolus.is_some_and(|(end, _)| end > t)
            }
            Action::Stop => !programmed || self.stopped,
            Action::Resume => !self.stopped || !programmed || halted,
            Action::Acknowledge { alarm } | Action::Silence { alarm } => {
                !self.active.contains(alarm)
            }
            _ => false,
        };
        refused.then_some(NackCode::NotAllowedInState)
    }
}
