//! The emulated pump: a deterministic discrete-event model in integer nanolitres and device
//! milliseconds (docs/emulator.md). No wall clock: time moves only through `advance_to`.
//!
//! This file holds the state, the public API and request handling; delivery, alarms and the
//! battery live in sibling modules that extend `Device`.

use super::alarms::AlarmRecord;
use super::config::EmulatorConfig;
use super::delivery::{Bolus, Program};
use crate::protocol::*;
use crate::units::{nl_for_dose, NL_PER_ML};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Event-log entries kept; older ones are dropped (their indices stay counted in `total`).
pub const LOG_CAPACITY: usize = 4096;

/// Something the model must do at a device time. The number is the generation the timer was
/// scheduled under: a timer whose generation is no longer current was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    BasalStroke(u64),
    BolusStroke(u64),
    FlexBoundary(u64),
    ElectiveReplacement(u64),
    /// Never cancelled: once ERI is raised, EOS follows.
    EndOfService,
    LowReservoirLate(u64),
    Annunciate(AlarmKind, u64),
    SilenceEnds(AlarmKind, u64),
}

pub struct Device {
    pub(super) config: EmulatorConfig,
    pub(super) now: u64,
    /// Timers keyed by (time, insertion order): simultaneous timers fire in the order set.
    pub(super) queue: BinaryHeap<Reverse<(u64, u64, Timer)>>,
    pub(super) queue_seq: u64,
    pub(super) generation: u64,
    pub(super) program: Program,
    pub(super) state: TherapyState,
    pub(super) stopped: bool,
    pub(super) concentration: u32,
    /// Concentration in force before the most recent refill (bridge bolus).
    pub(super) previous_concentration: u32,
    pub(super) calculated_nl: u64,
    pub(super) actual_nl: u64,
    pub(super) tip_nl: u64,
    pub(super) pocket_nl: u64,
    pub(super) delivered_nl: u64,
    pub(super) threshold_nl: u64,
    pub(super) catheter: CatheterState,
    pub(super) motor_stalled: bool,
    pub(super) flow_bias_fault: i32,
    /// Defect bias in hundredths of a percent, fixed at construction.
    pub(super) flow_bias_defect: i32,
    pub(super) physical_refill_nl: Option<u64>,
    pub(super) rate_nl_per_day: u64,
    /// Volume owed to the patient since `settled_at`, scaled by MS_PER_DAY (exact integers).
    pub(super) owed: u128,
    pub(super) settled_at: u64,
    pub(super) basal_generation: u64,
    pub(super) bolus: Option<Bolus>,
    pub(super) bolus_generation: u64,
    pub(super) flex_generation: u64,
    pub(super) soc_micro_at_t0: u64,
    pub(super) soc_t0: u64,
    pub(super) eri_generation: u64,
    pub(super) eri_raised: bool,
    pub(super) eos_raised: bool,
    pub(super) low_pending_generation: Option<u64>,
    pub(super) alarms: Vec<AlarmRecord>,
    pub(super) events: Vec<Event>,
    pub(super) log: VecDeque<LogEntry>,
    pub(super) log_total: u32,
    /// The balance's `SIR` stream in virtual time: a weighing at each sample.
    pub(super) weighings: super::weighings::Weighings,
}

impl Device {
    pub fn new(config: EmulatorConfig) -> Self {
        let p = config.pump.clone();
        let mut device = Device {
            now: 0,
            queue: BinaryHeap::new(),
            queue_seq: 0,
            generation: 0,
            program: Program::None,
            state: TherapyState::Idle,
            stopped: false,
            concentration: p.concentration_ug_per_ml,
            previous_concentration: p.concentration_ug_per_ml,
            calculated_nl: p.initial_fill_nl,
            actual_nl: p.initial_fill_nl,
            tip_nl: 0,
            pocket_nl: 0,
            delivered_nl: 0,
            threshold_nl: p.low_reservoir_threshold_nl,
            catheter: CatheterState::Connected,
            motor_stalled: false,
            flow_bias_fault: 0,
            flow_bias_defect: (config.defects.flow_bias_percent * 100.0).round() as i32,
            physical_refill_nl: None,
            rate_nl_per_day: 0,
            owed: 0,
            settled_at: 0,
            basal_generation: 0,
            bolus: None,
            bolus_generation: 0,
            flex_generation: 0,
            soc_micro_at_t0: u64::from(p.battery_permille) * 1000,
            soc_t0: 0,
            eri_generation: 0,
            eri_raised: false,
            eos_raised: false,
            low_pending_generation: None,
            alarms: Vec::new(),
            events: Vec::new(),
            log: VecDeque::new(),
            log_total: 0,
            weighings: Default::default(),
            config,
        };
        device.schedule_eri();
        device
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    pub fn now_ms(&self) -> u64 {
        self.now
    }

    /// Cumulative volume that has left the catheter tip (what the balance vessel received).
    pub fn tip_nl(&self) -> u64 {
        self.tip_nl
    }

    /// The balance's stream of weighings at each sample (virtual time).
    pub fn weighings(&mut self) -> &mut super::weighings::Weighings {
        &mut self.weighings
    }

    pub fn identity(&self) -> Identity {
        let id = &self.config.identity;
        Identity {
            model: id.model.clone(),
            serial_number: id.serial_number.clone(),
            firmware_version: id.firmware_version.clone(),
            protocol_version: PROTOCOL_VERSION,
            reservoir_capacity_nl: self.capacity_nl(),
            test_unit: id.test_unit,
        }
    }

    /// The bench's view of the physical plant, which the pump itself cannot see.
    pub fn plant(&self) -> Plant {
        Plant {
            actual_reservoir_nl: self.actual_nl,
            tip_nl: self.tip_nl,
            pocket_nl: self.pocket_nl,
            catheter: self.catheter,
            motor_stalled: self.motor_stalled,
            flow_bias_centi_percent: self.flow_bias_centi(),
        }
    }

    /// Unsolicited events produced since the last call, in device-time order.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub(super) fn capacity_nl(&self) -> u64 {
        u64::from(self.config.pump.reservoir_capacity_ml) * NL_PER_ML
    }

    pub(super) fn stroke_nl(&self) -> u64 {
        self.config.pump.stroke_nl
    }

    pub(super) fn flow_bias_centi(&self) -> i32 {
        self.flow_bias_fault.saturating_add(self.flow_bias_defect)
    }

    pub(super) fn push(&mut self, at: u64, timer: Timer) {
        self.queue_seq += 1;
        self.queue.push(Reverse((at, self.queue_seq, timer)));
    }

    /// Fires the timer now if it is already due, else queues it.
    pub(super) fn at_or_now(&mut self, at: u64, timer: Timer) {
        if at <= self.now {
            self.fire(timer);
        } else {
            self.push(at, timer);
        }
    }

    pub(super) fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    pub(super) fn log(&mut self, kind: LogEntryKind, code: u8, value: i64) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(LogEntry {
            device_time_ms: self.now,
            kind,
            code,
            value,
        });
        self.log_total = self.log_total.saturating_add(1);
    }

    // ---- time ----------------------------------------------------------------------------

    /// Runs every timer due up to and including `t_ms`, then sets the clock to `t_ms`.
    /// Never moves the clock backwards.
    pub fn advance_to(&mut self, t_ms: u64) {
        while let Some(Reverse((at, _, timer))) = self.queue.peek().copied() {
            if at > t_ms {
                break;
            }
            self.queue.pop();
            self.now = at.max(self.now);
            self.fire(timer);
        }
        self.now = self.now.max(t_ms);
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::BasalStroke(g) if g == self.basal_generation => self.basal_stroke(),
            Timer::BolusStroke(g) if g == self.bolus_generation => self.bolus_stroke(),
            Timer::FlexBoundary(g) if g == self.flex_generation => {
                self.rate_changed();
                self.schedule_flex_boundary();
            }
            Timer::ElectiveReplacement(g) if g == self.eri_generation => {
                self.elective_replacement()
            }
            Timer::EndOfService => self.end_of_service(),
            Timer::LowReservoirLate(g) if Some(g) == self.low_pending_generation => {
                self.low_reservoir_late()
            }
            Timer::Annunciate(alarm, g) => self.repeat_annunciation(alarm, g),
            Timer::SilenceEnds(alarm, g) => self.silence_ends(alarm, g),
            _ => {}
        }
    }

    // ---- requests ------------------------------------------------------------------------

    /// Handles one decoded request at the current device time.
    pub fn handle(&mut self, request: &Request) -> Result<ResponseBody, NackCode> {
        if request.kind().is_test_mode() && !self.config.identity.test_unit {
            return Err(NackCode::NotInTestMode);
        }
        let ack = Ok(ResponseBody::Ack);
        match request {
            Request::Identify => Ok(ResponseBody::Identity(self.identity())),
            Request::Status => Ok(ResponseBody::Status(self.status())),
            Request::ProgramContinuous { dose_ug_per_day } => {
                check_dose(*dose_ug_per_day)?;
                let value = i64::from(*dose_ug_per_day);
                self.set_program(Program::Continuous(*dose_ug_per_day), value);
                ack
            }
            Request::ProgramFlexible { steps } => {
                check_flexible(steps)?;
                self.set_program(Program::Flexible(steps.clone()), steps.len() as i64);
                ack
            }
            Request::Bolus {
                dose_ug,
                duration_s,
                bridge,
            } => {
                self.start_bolus(*dose_ug, *duration_s, *bridge)?;
                ack
            }
            Request::Refill {
                volume_nl,
                concentration_ug_per_ml,
            } => {
                self.refill(*volume_nl, *concentration_ug_per_ml)?;
                ack
            }
            Request::StopTherapy => {
                if matches!(self.program, Program::None) || self.stopped {
                    return Err(NackCode::NotAllowedInState);
                }
                self.stopped = true;
                self.refresh_state();
                ack
            }
            Request::ResumeTherapy => {
                if !self.stopped || matches!(self.program, Program::None) || self.halted() {
                    return Err(NackCode::NotAllowedInState);
                }
                self.stopped = false;
                self.owed = 0;
                self.refresh_state();
                self.rate_changed();
                ack
            }
            Request::SetLowReservoirThreshold { threshold_nl } => {
                if *threshold_nl > self.capacity_nl() {
                    return Err(NackCode::OutOfRange);
                }
                self.threshold_nl = *threshold_nl;
                self.log(LogEntryKind::ThresholdSet, 0, *threshold_nl as i64);
                self.check_reservoir();
                ack
            }
            Request::AcknowledgeAlarm { alarm, action } => {
                self.acknowledge(*alarm, *action)?;
                ack
            }
            Request::ReadEventLog { page } => Ok(ResponseBody::EventLogPage(self.log_page(*page))),
            Request::ReadEventLogEntries {
                first_index,
                max_entries,
            } => {
                if !(1..=LOG_PAGE_LEN as u8).contains(max_entries) {
                    return Err(NackCode::OutOfRange);
                }
                Ok(ResponseBody::EventLogPage(
                    self.log_entries(*first_index, *max_entries),
                ))
            }
            Request::AdvanceTime { to_ms } => {
                if *to_ms < self.now {
                    return Err(NackCode::OutOfRange);
                }
                self.advance_to(*to_ms);
                Ok(ResponseBody::Time {
                    device_time_ms: self.now,
                })
            }
            Request::InjectFault { fault } => {
                self.inject(*fault)?;
                ack
            }
            Request::ClearFault { fault } => {
                self.clear_fault(*fault);
                ack
            }
            Request::ReadPlant if !self.config.identity.answers_read_plant => {
                Err(NackCode::UnknownMessage)
            }
            Request::ReadPlant => Ok(ResponseBody::Plant(self.plant())),
            // Advance and sample answers the plant too: a device without one cannot.
            Request::AdvanceAndSample { .. } if !self.config.identity.answers_read_plant => {
                Err(NackCode::UnknownMessage)
            }
            Request::AdvanceAndSample { to_ms } => {
                if *to_ms < self.now {
                    return Err(NackCode::OutOfRange);
                }
                self.advance_to(*to_ms);
                self.weighings.sampled(self.tip_nl, self.now);
                Ok(ResponseBody::Sample {
                    plant: self.plant(),
                    status: self.status(),
                })
            }
        }
    }

    fn set_program(&mut self, program: Program, value: i64) {
        self.settle();
        if self.state == TherapyState::Idle {
            self.owed = 0;
            self.settled_at = self.now;
        }
        // Code 0: continuous (value = dose ug/day); 1: flexible (value = number of steps).
        let code = u8::from(matches!(program, Program::Flexible(_)));
        self.program = program;
        self.log(LogEntryKind::Programmed, code, value);
        self.refresh_state();
        self.rate_changed();
        self.schedule_flex_boundary();
        self.check_reservoir();
    }

    fn start_bolus(&mut self, dose_ug: u32, duration_s: u32, bridge: bool) -> Result<(), NackCode> {
        if dose_ug == 0 || duration_s == 0 {
            return Err(NackCode::OutOfRange);
        }
        let overlap_accepted =
            self.state == TherapyState::Bolus && self.config.defects.bolus_overlap_accepted;
        if self.state != TherapyState::Running && !overlap_accepted {
            return Err(NackCode::NotAllowedInState);
        }
        // The defect: the running bolus's strokes still owed go into the new one.
        let owed = match self.bolus {
            Some(b) if overlap_accepted => b.strokes - b.done,
            _ => 0,
        };
        let concentration = if bridge {
            self.previous_concentration
        } else {
            self.concentration
        };
        let volume = nl_for_dose(u64::from(dose_ug), u64::from(concentration));
        let error_percent = self.config.defects.bolus_volume_percent;
        let volume = if error_percent == 0.0 {
            volume
        } else {
            (volume as f64 * (100.0 + error_percent) / 100.0)
                .round()
                .max(0.0) as u64
        };
        let stroke = self.stroke_nl();
        // Round half up: floor((V + s/2) / s) is exact for odd s too, as V/s is never x.5 then.
        let strokes = ((volume + stroke / 2) / stroke).max(1) + owed;
        self.bolus = Some(Bolus {
            strokes,
            done: 0,
            start_ms: self.now,
            duration_ms: u64::from(duration_s) * 1000,
        });
        self.log(LogEntryKind::BolusStarted, u8::from(bridge), volume as i64);
        self.refresh_state();
        self.schedule_bolus();
        Ok(())
    }

    fn refill(&mut self, volume_nl: u64, concentration: u32) -> Result<(), NackCode> {
        if volume_nl > self.capacity_nl() || !(1..=3000).contains(&concentration) {
            return Err(NackCode::OutOfRange);
        }
        self.settle();
        if !self.config.defects.refill_ignores_calculated {
            self.calculated_nl = volume_nl;
        }
        let physical = self.physical_refill_nl.take().unwrap_or(volume_nl);
        self.actual_nl = physical;
        self.pocket_nl += volume_nl.saturating_sub(physical);
        self.previous_concentration = self.concentration;
        self.concentration = concentration;
        self.log(LogEntryKind::Refilled, 0, volume_nl as i64);
        self.rate_changed();
        self.check_reservoir();
        self.refresh_state();
        Ok(())
    }

    fn inject(&mut self, fault: Fault) -> Result<(), NackCode> {
        match fault {
            Fault::BatteryCharge { permille } if permille > 1000 => {
                return Err(NackCode::OutOfRange)
            }
            Fault::PhysicalRefillVolume { volume_nl } if volume_nl > self.capacity_nl() => {
                return Err(NackCode::OutOfRange)
            }
            Fault::FlowBias { centi_percent } if centi_percent < -10_000 => {
                return Err(NackCode::OutOfRange)
            }
            _ => {}
        }
        self.log(
            LogEntryKind::FaultInjected,
            fault.kind().to_wire(),
            fault.wire_value(),
        );
        match fault {
            Fault::CatheterDisconnect => self.catheter = CatheterState::Disconnected,
            Fault::CatheterOcclusion => self.catheter = CatheterState::Occluded,
            Fault::MotorStall => {
                self.motor_stalled = true;
                self.raise(AlarmKind::MotorStall);
                self.refresh_state();
            }
            Fault::BatteryCharge { permille } => self.set_charge(permille),
            Fault::PhysicalRefillVolume { volume_nl } => self.physical_refill_nl = Some(volume_nl),
            Fault::FlowBias { centi_percent } => self.flow_bias_fault = centi_percent,
        }
        Ok(())
    }

    fn clear_fault(&mut self, fault: FaultKind) {
        self.log(LogEntryKind::FaultCleared, fault.to_wire(), 0);
        match fault {
            FaultKind::CatheterDisconnect | FaultKind::CatheterOcclusion => {
                self.catheter = CatheterState::Connected
            }
            FaultKind::MotorStall => {
                self.motor_stalled = false;
                self.clear(AlarmKind::MotorStall);
                self.refresh_state();
            }
            FaultKind::BatteryCharge => {}
            FaultKind::PhysicalRefillVolume => self.physical_refill_nl = None,
            FaultKind::FlowBias => self.flow_bias_fault = 0,
        }
    }

    fn status(&self) -> Status {
        Status {
            device_time_ms: self.now,
            calculated_reservoir_nl: self.calculated_nl,
            delivered_nl: self.delivered_nl,
            dose_rate_ug_per_day: if self.delivering() {
                self.basal_dose_at(self.now)
            } else {
                0
            },
            concentration_ug_per_ml: self.concentration,
            low_reservoir_threshold_nl: self.threshold_nl,
            therapy_state: self.state,
            battery_permille: (self.soc_micro() / 1000) as u16,
            elective_replacement: self.eri_raised,
            end_of_service: self.eos_raised,
            alarms: self
                .alarms
                .iter()
                .map(|a| ActiveAlarm {
                    alarm: a.alarm,
                    priority: a.priority,
                    state: a.state,
                })
                .collect(),
        }
    }

    /// Entries from `first_index` on; overwritten ones are skipped, so the answer's first index
    /// moves past the request's and the host sees what it missed.
    fn log_entries(&self, first_index: u32, max_entries: u8) -> EventLogPage {
        let oldest = self.log_total - self.log.len() as u32;
        let first_index = first_index.max(oldest);
        let end = first_index
            .saturating_add(u32::from(max_entries))
            .min(self.log_total);
        let entries = (first_index..end)
            .map(|i| self.log[(i - oldest) as usize])
            .collect();
        EventLogPage {
            total: self.log_total,
            first_index,
            entries,
        }
    }

    fn log_page(&self, page: u16) -> EventLogPage {
        let first_index = u32::from(page) * LOG_PAGE_LEN as u32;
        let oldest = self.log_total - self.log.len() as u32;
        let entries = (first_index..first_index.saturating_add(LOG_PAGE_LEN as u32))
            .filter(|i| *i >= oldest && *i < self.log_total)
            .map(|i| self.log[(i - oldest) as usize])
            .collect();
        EventLogPage {
            total: self.log_total,
            first_index,
            entries,
        }
    }
}

fn check_dose(dose: u32) -> Result<(), NackCode> {
    if (1..=10_000).contains(&dose) {
        Ok(())
    } else {
        Err(NackCode::OutOfRange)
    }
}

fn check_flexible(steps: &[FlexStep]) -> Result<(), NackCode> {
    let increasing = steps
        .windows(2)
        .all(|w| w[0].start_minute < w[1].start_minute);
    if steps.is_empty()
        || steps.len() > MAX_FLEX_STEPS
        || !increasing
        || steps.iter().any(|s| s.start_minute >= 1440)
    {
        return Err(NackCode::OutOfRange);
    }
    steps.iter().try_for_each(|s| check_dose(s.dose_ug_per_day))
}
