//! Delivery in the pump model: the exact basal stroke accumulator, flexible-schedule step
//! boundaries, boluses, what one stroke moves, and the therapy state machine.

use super::device::{Device, Timer};
use crate::protocol::*;
use crate::units::{nl_per_day, MS_PER_DAY, MS_PER_MINUTE};

#[derive(Debug, Clone)]
pub(super) enum Program {
    None,
    Continuous(u32),
    Flexible(Vec<FlexStep>),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Bolus {
    pub strokes: u64,
    pub done: u64,
    pub start_ms: u64,
    pub duration_ms: u64,
}

/// Owed volume (nL x ms/day) that makes one stroke due.
fn stroke_debt(stroke_nl: u64) -> u128 {
    u128::from(stroke_nl) * u128::from(MS_PER_DAY)
}

impl Device {
    pub(super) fn delivering(&self) -> bool {
        matches!(self.state, TherapyState::Running | TherapyState::Bolus)
    }

    /// The programmed basal dose rate at device time `t` (0 without a program).
    pub(super) fn basal_dose_at(&self, t: u64) -> u32 {
        match &self.program {
            Program::None => 0,
            Program::Continuous(dose) => *dose,
            Program::Flexible(steps) => {
                let minute = ((t / MS_PER_MINUTE) % 1440) as u16;
                // Before the first step of the day, yesterday's last step is still in force.
                steps
                    .iter()
                    .rev()
                    .find(|s| s.start_minute <= minute)
                    .or(steps.last())
                    .map(|s| s.dose_ug_per_day)
                    .unwrap_or(0)
            }
        }
    }

    /// Accrues owed volume at the current rate up to now.
    pub(super) fn settle(&mut self) {
        if self.delivering() && self.now > self.settled_at {
            self.owed += u128::from(self.rate_nl_per_day) * u128::from(self.now - self.settled_at);
        }
        self.settled_at = self.now;
    }

    pub(super) fn schedule_basal(&mut self) {
        self.basal_generation = self.next_generation();
        if !self.delivering() || self.rate_nl_per_day == 0 {
            return;
        }
        let debt = stroke_debt(self.stroke_nl());
        let wait = debt
            .saturating_sub(self.owed)
            .div_ceil(u128::from(self.rate_nl_per_day));
        let at = self
            .settled_at
            .saturating_add(wait.min(u128::from(u64::MAX)) as u64);
        let g = self.basal_generation;
        self.push(at, Timer::BasalStroke(g));
    }

    pub(super) fn basal_stroke(&mut self) {
        self.settle();
        self.owed = self.owed.saturating_sub(stroke_debt(self.stroke_nl()));
        self.stroke();
        self.schedule_basal();
    }

    /// The basal rate may have changed (program, step boundary, concentration): carry the owed
    /// volume over at the old rate, then continue at the new one.
    pub(super) fn rate_changed(&mut self) {
        self.settle();
        self.rate_nl_per_day = nl_per_day(
            u64::from(self.basal_dose_at(self.now)),
            u64::from(self.concentration),
        );
        self.schedule_basal();
    }

    pub(super) fn schedule_flex_boundary(&mut self) {
        self.flex_generation = self.next_generation();
        let Program::Flexible(steps) = &self.program else {
            return;
        };
        let day_start = self.now - self.now % MS_PER_DAY;
        let now = self.now;
        let next = [day_start, day_start + MS_PER_DAY]
            .into_iter()
            .flat_map(|day| {
                steps
                    .iter()
                    .map(move |s| day + u64::from(s.start_minute) * MS_PER_MINUTE)
            })
            .find(|boundary| *boundary > now);
        if let Some(at) = next {
            let g = self.flex_generation;
            self.push(at, Timer::FlexBoundary(g));
        }
    }

    pub(super) fn schedule_bolus(&mut self) {
        self.bolus_generation = self.next_generation();
        if let Some(b) = self.bolus {
            let k = b.done + 1;
            let offset =
                (u128::from(k) * u128::from(b.duration_ms)).div_ceil(u128::from(b.strokes));
            let at = b.start_ms + offset as u64;
            let g = self.bolus_generation;
            self.push(at.max(self.now), Timer::BolusStroke(g));
        }
    }

    pub(super) fn bolus_stroke(&mut self) {
        let Some(mut bolus) = self.bolus else {
            return;
        };
        self.stroke();
        // The stroke may have halted therapy, which cancels the bolus.
        if self.bolus.is_none() {
            return;
        }
        bolus.done += 1;
        if bolus.done >= bolus.strokes {
            self.bolus = None;
            self.refresh_state();
        } else {
            self.bolus = Some(bolus);
            self.schedule_bolus();
        }
    }

    /// One actuation: the pump counts a full stroke; the plant moves what the bias, the
    /// reservoir and the catheter allow.
    pub(super) fn stroke(&mut self) {
        let stroke = self.stroke_nl();
        self.delivered_nl += stroke;
        self.calculated_nl = self.calculated_nl.saturating_sub(stroke);
        if self.catheter != CatheterState::Occluded {
            let bias = i128::from(self.flow_bias_centi().max(-10_000));
            let displaced = (i128::from(stroke) * (10_000 + bias) / 10_000) as u64;
            let moved = displaced.min(self.actual_nl);
            self.actual_nl -= moved;
            match self.catheter {
                CatheterState::Connected => self.tip_nl += moved,
                CatheterState::Disconnected => self.pocket_nl += moved,
                CatheterState::Occluded => {}
            }
        }
        self.check_reservoir();
    }

    /// A halting condition holds: delivery is impossible until it is removed.
    pub(super) fn halted(&self) -> bool {
        (self.motor_stalled && !self.config.defects.stall_keeps_delivering)
            || self.is_active(AlarmKind::EmptyReservoir)
            || (self.eos_raised && !self.config.defects.eos_keeps_delivering)
    }

    fn desired_state(&self) -> TherapyState {
        if matches!(self.program, Program::None) {
            TherapyState::Idle
        } else if self.stopped && !self.config.defects.stop_ignored {
            TherapyState::Stopped
        } else if self.halted() {
            TherapyState::Halted
        } else if self.bolus.is_some() {
            TherapyState::Bolus
        } else {
            TherapyState::Running
        }
    }

    /// Moves to the state the conditions call for, emitting the change.
    pub(super) fn refresh_state(&mut self) {
        let desired = self.desired_state();
        if desired == self.state {
            return;
        }
        let was_delivering = self.delivering();
        self.settle();
        self.state = desired;
        if !self.delivering() {
            self.bolus = None;
            self.bolus_generation = self.next_generation();
            self.basal_generation = self.next_generation();
            if desired == TherapyState::Stopped {
                self.owed = 0;
            }
        } else if !was_delivering {
            self.settled_at = self.now;
            self.schedule_basal();
        }
        self.events.push(Event::TherapyStateChanged {
            device_time_ms: self.now,
            state: desired,
        });
        self.log(LogEntryKind::TherapyStateChanged, desired.to_wire(), 0);
    }
}
