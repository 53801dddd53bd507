//! The battery in the pump model: linear drain, the Elective Replacement Indicator and End of
//! Service a fixed number of days after it.

use super::device::{Device, Timer};
use crate::protocol::AlarmKind;
use crate::units::{MS_PER_DAY, MS_PER_HOUR};

/// State of charge is kept in millionths of a new cell.
const MICRO_PER_FULL: u128 = 1_000_000;

impl Device {
    fn battery_life_ms(&self) -> u128 {
        u128::from(self.config.pump.battery_life_days) * u128::from(MS_PER_DAY)
    }

    /// State of charge now, in millionths of a new cell (floor of the linear drain).
    pub(super) fn soc_micro(&self) -> u64 {
        let life_ms = self.battery_life_ms().max(1);
        let drained = u128::from(self.now - self.soc_t0) * MICRO_PER_FULL / life_ms;
        self.soc_micro_at_t0
            .saturating_sub(drained.min(u128::from(u64::MAX)) as u64)
    }

    /// Schedules ERI for the moment the drain reaches the threshold (at once if it already
    /// has), plus the late-ERI defect. Nothing to do once ERI has been raised.
    pub(super) fn schedule_eri(&mut self) {
        self.eri_generation = self.next_generation();
        if self.eri_raised {
            return;
        }
        let eri_micro = u64::from(self.config.pump.eri_threshold_permille) * 1000;
        let above = u128::from(self.soc_micro_at_t0.saturating_sub(eri_micro));
        let until = (above * self.battery_life_ms()).div_ceil(MICRO_PER_FULL);
        let late = self
            .config
            .defects
            .eri_late_hours
            .saturating_mul(MS_PER_HOUR);
        let at = self
            .soc_t0
            .saturating_add(until.min(u128::from(u64::MAX)) as u64)
            .saturating_add(late);
        let g = self.eri_generation;
        self.at_or_now(at, Timer::ElectiveReplacement(g));
    }

    /// The BatteryCharge fault: a new state of charge from now on.
    pub(super) fn set_charge(&mut self, permille: u16) {
        self.soc_micro_at_t0 = u64::from(permille) * 1000;
        self.soc_t0 = self.now;
        self.schedule_eri();
    }

    pub(super) fn elective_replacement(&mut self) {
        if self.eri_raised {
            return;
        }
        self.eri_raised = true;
        self.raise(AlarmKind::ElectiveReplacement);
        // EOS counts from the moment ERI was raised: a late ERI makes EOS late too.
        let days = u64::from(self.config.pump.eos_after_eri_days);
        let at = self.now.saturating_add(days * MS_PER_DAY);
        self.at_or_now(at, Timer::EndOfService);
    }

    pub(super) fn end_of_service(&mut self) {
        if self.eos_raised {
            return;
        }
        self.eos_raised = true;
        self.raise(AlarmKind::EndOfService);
        self.refresh_state();
    }
}
