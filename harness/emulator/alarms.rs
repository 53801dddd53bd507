//! Alarms in the pump model: priorities, raise/clear, annunciation and its repeats,
//! acknowledge/silence, and the reservoir alarms computed from the calculated volume.

use super::delivery::Program;
use super::device::{Device, Timer};
use crate::protocol::*;
use crate::units::MS_PER_MINUTE;

#[derive(Debug, Clone, Copy)]
pub(super) struct AlarmRecord {
    pub alarm: AlarmKind,
    pub priority: Priority,
    pub state: AlarmState,
    /// Changes on acknowledge/silence so that pending repeats of the old state are ignored.
    pub generation: u64,
}

/// The priority each alarm is specified to have (domain.md: critical = high).
pub fn specified_priority(alarm: AlarmKind) -> Priority {
    match alarm {
        AlarmKind::LowReservoir | AlarmKind::ElectiveReplacement => Priority::Medium,
        AlarmKind::EmptyReservoir | AlarmKind::EndOfService | AlarmKind::MotorStall => {
            Priority::High
        }
    }
}

fn one_lower(priority: Priority) -> Priority {
    match priority {
        Priority::High => Priority::Medium,
        Priority::Medium | Priority::Low => Priority::Low,
    }
}

impl Device {
    pub(super) fn is_active(&self, alarm: AlarmKind) -> bool {
        self.alarms.iter().any(|a| a.alarm == alarm)
    }

    fn repeat_ms(&self, priority: Priority) -> u64 {
        let p = &self.config.pump;
        MS_PER_MINUTE
            * match priority {
                Priority::High => p.high_repeat_min,
                Priority::Medium => p.medium_repeat_min,
                Priority::Low => p.low_repeat_min,
            }
    }

    fn annunciate(&mut self, record: AlarmRecord) {
        self.log(
            LogEntryKind::AlarmAnnunciated,
            record.alarm.to_wire(),
            i64::from(record.priority.to_wire()),
        );
        let repeat = self.repeat_ms(record.priority);
        if repeat > 0 {
            self.push(
                self.now + repeat,
                Timer::Annunciate(record.alarm, record.generation),
            );
        }
    }

    pub(super) fn repeat_annunciation(&mut self, alarm: AlarmKind, generation: u64) {
        let due = self
            .alarms
            .iter()
            .find(|a| a.alarm == alarm && a.generation == generation)
            .copied();
        if let Some(record) = due.filter(|r| r.state == AlarmState::Active) {
            self.annunciate(record);
        }
    }

    pub(super) fn silence_ends(&mut self, alarm: AlarmKind, generation: u64) {
        let silenced = self.alarms.iter().position(|a| {
            a.alarm == alarm && a.generation == generation && a.state == AlarmState::Silenced
        });
        if let Some(i) = silenced {
            self.alarms[i].state = AlarmState::Active;
            let record = self.alarms[i];
            self.annunciate(record);
        }
    }

    /// Raises an alarm (no-op if already active): event, log entry, first annunciation.
    pub(super) fn raise(&mut self, alarm: AlarmKind) {
        if self.is_active(alarm) {
            return;
        }
        let mut priority = specified_priority(alarm);
        if self.config.defects.wrong_priority == Some(alarm) {
            priority = one_lower(priority);
        }
        let record = AlarmRecord {
            alarm,
            priority,
            state: AlarmState::Active,
            generation: self.next_generation(),
        };
        self.alarms.push(record);
        // The defect: the raise is stamped earlier than it happened, in its event and its log
        // entry alike (a pump that back-dates a late alarm).
        let stamped_ms = self
            .now
            .saturating_sub(self.config.defects.alarm_stamped_early_min * MS_PER_MINUTE);
        self.events.push(Event::AlarmRaised {
            device_time_ms: stamped_ms,
            alarm,
            priority,
        });
        self.log(
            LogEntryKind::AlarmRaised,
            alarm.to_wire(),
            i64::from(priority.to_wire()),
        );
        if let Some(entry) = self.log.back_mut() {
            entry.device_time_ms = stamped_ms;
        }
        self.annunciate(record);
    }

    pub(super) fn clear(&mut self, alarm: AlarmKind) {
        if let Some(i) = self.alarms.iter().position(|a| a.alarm == alarm) {
            self.alarms.remove(i);
            self.events.push(Event::AlarmCleared {
                device_time_ms: self.now,
                alarm,
            });
            self.log(LogEntryKind::AlarmCleared, alarm.to_wire(), 0);
        }
    }

    pub(super) fn acknowledge(
        &mut self,
        alarm: AlarmKind,
        action: AlarmAction,
    ) -> Result<(), NackCode> {
        let i = self
            .alarms
            .iter()
            .position(|a| a.alarm == alarm)
            .ok_or(NackCode::NotAllowedInState)?;
        let generation = self.next_generation();
        self.alarms[i].generation = generation;
        match action {
            AlarmAction::Acknowledge => self.alarms[i].state = AlarmState::Acknowledged,
            AlarmAction::Silence => {
                self.alarms[i].state = AlarmState::Silenced;
                self.push(
                    self.now + self.config.pump.silence_min * MS_PER_MINUTE,
                    Timer::SilenceEnds(alarm, generation),
                );
            }
        }
        self.log(
            LogEntryKind::AlarmAcknowledged,
            alarm.to_wire(),
            i64::from(action.to_wire()),
        );
        Ok(())
    }

    /// The reservoir alarms are computed from the calculated volume, never the actual one.
    pub(super) fn check_reservoir(&mut self) {
        let defects = &self.config.defects;
        let (suppressed, late_min) = (
            defects.low_reservoir_suppressed,
            defects.low_reservoir_late_min,
        );
        if self.calculated_nl <= self.threshold_nl {
            if !suppressed
                && !self.is_active(AlarmKind::LowReservoir)
                && self.low_pending_generation.is_none()
            {
                if late_min > 0 {
                    let g = self.next_generation();
                    self.low_pending_generation = Some(g);
                    self.push(
                        self.now + late_min * MS_PER_MINUTE,
                        Timer::LowReservoirLate(g),
                    );
                } else {
                    self.raise(AlarmKind::LowReservoir);
                }
            }
        } else {
            self.low_pending_generation = None;
            self.clear(AlarmKind::LowReservoir);
        }
        if self.calculated_nl < self.stroke_nl() {
            let programmed = !matches!(self.program, Program::None);
            if programmed && !self.is_active(AlarmKind::EmptyReservoir) {
                self.raise(AlarmKind::EmptyReservoir);
                self.refresh_state();
            }
        } else if self.is_active(AlarmKind::EmptyReservoir) {
            self.clear(AlarmKind::EmptyReservoir);
            self.refresh_state();
        }
    }

    /// The late-low-reservoir defect's delay has passed: raise if the condition still holds.
    pub(super) fn low_reservoir_late(&mut self) {
        self.low_pending_generation = None;
        if self.calculated_nl <= self.threshold_nl {
            self.raise(AlarmKind::LowReservoir);
        }
    }
}
