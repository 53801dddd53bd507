//! The emulated pump: a deterministic discrete-event model in integer nanolitres and device
//! milliseconds (docs/emulator.md). No wall clock: time moves only through `advance_to`.

use super::config::EmulatorConfig;
use crate::protocol::*;
use crate::units::{nl_for_dose, nl_per_day, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, NL_PER_ML};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Event-log entries kept; older ones are dropped (their indices stay counted in `total`).
pub const LOG_CAPACITY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    BasalStroke(u64),
    BolusStroke(u64),
    FlexBoundary(u64),
    ElectiveReplacement(u64),
    EndOfService(u64),
    LowReservoirLate(u64),
    Annunciate(AlarmKind, u64),
    SilenceEnds(AlarmKind, u64),
}

#[derive(Debug, Clone)]
enum Program {
    None,
    Continuous(u32),
    Flexible(Vec<FlexStep>),
}

#[derive(Debug, Clone, Copy)]
struct Bolus {
    strokes: u64,
    done: u64,
    start_ms: u64,
    duration_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct AlarmRecord {
    alarm: AlarmKind,
    priority: Priority,
    state: AlarmState,
    generation: u64,
}

pub struct Device {
    config: EmulatorConfig,
    now: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Timer)>>,
    queue_seq: u64,
    generation: u64,
    program: Program,
    state: TherapyState,
    stopped: bool,
    concentration: u32,
    previous_concentration: u32,
    calculated_nl: u64,
    actual_nl: u64,
    tip_nl: u64,
    pocket_nl: u64,
    delivered_nl: u64,
    threshold_nl: u64,
    catheter: CatheterState,
    motor_stalled: bool,
    flow_bias_fault: i32,
    physical_refill_nl: Option<u64>,
    rate_nl_per_day: u64,
    /// Volume owed to the patient since `settled_at`, scaled by MS_PER_DAY (exact integers).
    owed: u128,
    settled_at: u64,
    basal_generation: u64,
    bolus: Option<Bolus>,
    bolus_generation: u64,
    flex_generation: u64,
    soc_micro_at_t0: u64,
    soc_t0: u64,
    battery_generation: u64,
    eri_raised: bool,
    eos_raised: bool,
    low_pending_generation: Option<u64>,
    alarms: Vec<AlarmRecord>,
    events: Vec<Event>,
    log: VecDeque<LogEntry>,
    log_total: u32,
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
            physical_refill_nl: None,
            rate_nl_per_day: 0,
            owed: 0,
            settled_at: 0,
            basal_generation: 0,
            bolus: None,
            bolus_generation: 0,
            flex_generation: 0,
            soc_micro_at_t0: p.battery_permille as u64 * 1000,
            soc_t0: 0,
            battery_generation: 0,
            eri_raised: false,
            eos_raised: false,
            low_pending_generation: None,
            alarms: Vec::new(),
            events: Vec::new(),
            log: VecDeque::new(),
            log_total: 0,
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

    pub fn tip_nl(&self) -> u64 {
        self.tip_nl
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

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn capacity_nl(&self) -> u64 {
        self.config.pump.reservoir_capacity_ml as u64 * NL_PER_ML
    }

    fn stroke_nl(&self) -> u64 {
        self.config.pump.stroke_nl
    }

    fn flow_bias_centi(&self) -> i32 {
        self.flow_bias_fault + (self.config.defects.flow_bias_percent * 100.0).round() as i32
    }

    fn push(&mut self, at: u64, timer: Timer) {
        self.queue_seq += 1;
        self.queue.push(Reverse((at, self.queue_seq, timer)));
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn log(&mut self, kind: LogEntryKind, code: u8, value: i64) {
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

    /// Runs every event due up to and including `t_ms`, then sets the clock to `t_ms`.
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
            Timer::BasalStroke(g) if g == self.basal_generation => {
                self.settle();
                let need = self.stroke_nl() as u128 * MS_PER_DAY as u128;
                self.owed = self.owed.saturating_sub(need);
                self.stroke();
                self.schedule_basal();
            }
            Timer::BolusStroke(g) if g == self.bolus_generation => {
                if let Some(mut bolus) = self.bolus {
                    self.stroke();
                    bolus.done += 1;
                    if bolus.done >= bolus.strokes {
                        self.bolus = None;
                        self.refresh_state();
                    } else if self.bolus.is_some() {
                        self.bolus = Some(bolus);
                        self.schedule_bolus();
                    }
                }
            }
            Timer::FlexBoundary(g) if g == self.flex_generation => {
                self.rate_changed();
                self.schedule_flex_boundary();
            }
            Timer::ElectiveReplacement(g) if g == self.battery_generation => {
                self.eri_raised = true;
                self.raise(AlarmKind::ElectiveReplacement);
                let at = self.now + self.config.pump.eos_after_eri_days as u64 * MS_PER_DAY;
                let g = self.battery_generation;
                self.push(at, Timer::EndOfService(g));
            }
            Timer::EndOfService(g) if g == self.battery_generation => {
                self.eos_raised = true;
                self.raise(AlarmKind::EndOfService);
                self.refresh_state();
            }
            Timer::LowReservoirLate(g) if Some(g) == self.low_pending_generation => {
                self.low_pending_generation = None;
                if self.calculated_nl <= self.threshold_nl {
                    self.raise(AlarmKind::LowReservoir);
                }
            }
            Timer::Annunciate(alarm, g) => {
                if let Some(record) = self
                    .alarms
                    .iter()
                    .find(|a| a.alarm == alarm && a.generation == g)
                    .copied()
                {
                    if record.state == AlarmState::Active {
                        self.annunciate(record);
                    }
                }
            }
            Timer::SilenceEnds(alarm, g) => {
                if let Some(i) = self.alarms.iter().position(|a| {
                    a.alarm == alarm && a.generation == g && a.state == AlarmState::Silenced
                }) {
                    self.alarms[i].state = AlarmState::Active;
                    let record = self.alarms[i];
                    self.annunciate(record);
                }
            }
            _ => {}
        }
    }

    // ---- delivery ------------------------------------------------------------------------

    fn delivering(&self) -> bool {
        matches!(self.state, TherapyState::Running | TherapyState::Bolus)
    }

    fn basal_dose_at(&self, t: u64) -> u32 {
        match &self.program {
            Program::None => 0,
            Program::Continuous(d) => *d,
            Program::Flexible(steps) => {
                let minute = ((t / MS_PER_MINUTE) % 1440) as u16;
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
    fn settle(&mut self) {
        if self.delivering() && self.now > self.settled_at {
            self.owed += self.rate_nl_per_day as u128 * (self.now - self.settled_at) as u128;
        }
        self.settled_at = self.now;
    }

    fn schedule_basal(&mut self) {
        self.basal_generation = self.next_generation();
        if !self.delivering() || self.rate_nl_per_day == 0 {
            return;
        }
        let need = self.stroke_nl() as u128 * MS_PER_DAY as u128;
        let wait = if self.owed >= need {
            0
        } else {
            (need - self.owed).div_ceil(self.rate_nl_per_day as u128) as u64
        };
        let g = self.basal_generation;
        self.push(self.settled_at + wait, Timer::BasalStroke(g));
    }

    /// The basal rate may have changed (program, step boundary, concentration): carry the owed
    /// volume over at the old rate, then continue at the new one.
    fn rate_changed(&mut self) {
        self.settle();
        self.rate_nl_per_day = nl_per_day(
            self.basal_dose_at(self.now) as u64,
            self.concentration as u64,
        );
        self.schedule_basal();
    }

    fn schedule_flex_boundary(&mut self) {
        self.flex_generation = self.next_generation();
        if let Program::Flexible(steps) = &self.program {
            let day_start = self.now - self.now % MS_PER_DAY;
            let next = [0, MS_PER_DAY]
                .iter()
                .flat_map(|offset| {
                    steps
                        .iter()
                        .map(move |s| day_start + offset + s.start_minute as u64 * MS_PER_MINUTE)
                })
                .filter(|b| *b > self.now)
                .min();
            if let Some(at) = next {
                let g = self.flex_generation;
                self.push(at, Timer::FlexBoundary(g));
            }
        }
    }

    fn schedule_bolus(&mut self) {
        self.bolus_generation = self.next_generation();
        if let Some(b) = self.bolus {
            let k = b.done + 1;
            let at =
                b.start_ms + (k as u128 * b.duration_ms as u128).div_ceil(b.strokes as u128) as u64;
            let g = self.bolus_generation;
            self.push(at.max(self.now), Timer::BolusStroke(g));
        }
    }

    fn stroke(&mut self) {
        let stroke = self.stroke_nl();
        self.delivered_nl += stroke;
        self.calculated_nl = self.calculated_nl.saturating_sub(stroke);
        if self.catheter != CatheterState::Occluded {
            let bias = self.flow_bias_centi().max(-10_000) as i64;
            let displaced = (stroke as i128 * (10_000 + bias) as i128 / 10_000) as u64;
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

    // ---- state ---------------------------------------------------------------------------

    fn halted(&self) -> bool {
        self.motor_stalled
            || self.is_active(AlarmKind::EmptyReservoir)
            || (self.eos_raised && !self.config.defects.eos_keeps_delivering)
    }

    fn desired_state(&self) -> TherapyState {
        if matches!(self.program, Program::None) {
            TherapyState::Idle
        } else if self.stopped {
            TherapyState::Stopped
        } else if self.halted() {
            TherapyState::Halted
        } else if self.bolus.is_some() {
            TherapyState::Bolus
        } else {
            TherapyState::Running
        }
    }

    fn refresh_state(&mut self) {
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

    // ---- alarms --------------------------------------------------------------------------

    fn is_active(&self, alarm: AlarmKind) -> bool {
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
            record.priority.to_wire() as i64,
        );
        let repeat = self.repeat_ms(record.priority);
        if repeat > 0 {
            self.push(
                self.now + repeat,
                Timer::Annunciate(record.alarm, record.generation),
            );
        }
    }

    fn raise(&mut self, alarm: AlarmKind) {
        if self.is_active(alarm) {
            return;
        }
        let mut priority = match alarm {
            AlarmKind::LowReservoir | AlarmKind::ElectiveReplacement => Priority::Medium,
            AlarmKind::EmptyReservoir | AlarmKind::EndOfService | AlarmKind::MotorStall => {
                Priority::High
            }
        };
        if self.config.defects.wrong_priority == Some(alarm) {
            priority = match priority {
                Priority::High => Priority::Medium,
                _ => Priority::Low,
            };
        }
        let record = AlarmRecord {
            alarm,
            priority,
            state: AlarmState::Active,
            generation: self.next_generation(),
        };
        self.alarms.push(record);
        self.events.push(Event::AlarmRaised {
            device_time_ms: self.now,
            alarm,
            priority,
        });
        self.log(
            LogEntryKind::AlarmRaised,
            alarm.to_wire(),
            priority.to_wire() as i64,
        );
        self.annunciate(record);
    }

    fn clear(&mut self, alarm: AlarmKind) {
        if let Some(i) = self.alarms.iter().position(|a| a.alarm == alarm) {
            self.alarms.remove(i);
            self.events.push(Event::AlarmCleared {
                device_time_ms: self.now,
                alarm,
            });
            self.log(LogEntryKind::AlarmCleared, alarm.to_wire(), 0);
        }
    }

    /// The reservoir alarms are computed from the calculated volume, never the actual one.
    fn check_reservoir(&mut self) {
        let d = self.config.defects.clone();
        if self.calculated_nl <= self.threshold_nl {
            if !self.is_active(AlarmKind::LowReservoir)
                && self.low_pending_generation.is_none()
                && !d.low_reservoir_suppressed
            {
                if d.low_reservoir_late_min > 0 {
                    let g = self.next_generation();
                    self.low_pending_generation = Some(g);
                    self.push(
                        self.now + d.low_reservoir_late_min * MS_PER_MINUTE,
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
            if !self.is_active(AlarmKind::EmptyReservoir) && !matches!(self.program, Program::None)
            {
                self.raise(AlarmKind::EmptyReservoir);
                self.refresh_state();
            }
        } else if self.is_active(AlarmKind::EmptyReservoir) {
            self.clear(AlarmKind::EmptyReservoir);
            self.refresh_state();
        }
    }

    // ---- battery -------------------------------------------------------------------------

    fn battery_life_ms(&self) -> u128 {
        self.config.pump.battery_life_days as u128 * MS_PER_DAY as u128
    }

    fn soc_micro(&self) -> u64 {
        let drained = (self.now - self.soc_t0) as u128 * 1_000_000 / self.battery_life_ms();
        self.soc_micro_at_t0
            .saturating_sub(drained.min(u64::MAX as u128) as u64)
    }

    fn schedule_eri(&mut self) {
        self.battery_generation = self.next_generation();
        if self.eri_raised {
            return;
        }
        let eri = self.config.pump.eri_threshold_permille as u64 * 1000;
        let until = (self.soc_micro_at_t0.saturating_sub(eri) as u128 * self.battery_life_ms())
            .div_ceil(1_000_000) as u64;
        let late = self.config.defects.eri_late_hours * MS_PER_HOUR;
        let g = self.battery_generation;
        self.push(self.soc_t0 + until + late, Timer::ElectiveReplacement(g));
    }

    // ---- requests ------------------------------------------------------------------------

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
                self.set_program(
                    Program::Continuous(*dose_ug_per_day),
                    *dose_ug_per_day as i64,
                );
                ack
            }
            Request::ProgramFlexible { steps } => {
                if steps.is_empty()
                    || steps.len() > MAX_FLEX_STEPS
                    || steps
                        .windows(2)
                        .any(|w| w[0].start_minute >= w[1].start_minute)
                    || steps.iter().any(|s| s.start_minute >= 1440)
                {
                    return Err(NackCode::OutOfRange);
                }
                for s in steps {
                    check_dose(s.dose_ug_per_day)?;
                }
                self.set_program(Program::Flexible(steps.clone()), steps.len() as i64);
                ack
            }
            Request::Bolus {
                dose_ug,
                duration_s,
                bridge,
            } => {
                if *dose_ug == 0 || *duration_s == 0 {
                    return Err(NackCode::OutOfRange);
                }
                if self.state != TherapyState::Running {
                    return Err(NackCode::NotAllowedInState);
                }
                let c = if *bridge {
                    self.previous_concentration
                } else {
                    self.concentration
                };
                let volume = nl_for_dose(*dose_ug as u64, c as u64);
                let stroke = self.stroke_nl();
                let strokes = ((volume + stroke / 2) / stroke).max(1);
                self.bolus = Some(Bolus {
                    strokes,
                    done: 0,
                    start_ms: self.now,
                    duration_ms: *duration_s as u64 * 1000,
                });
                self.log(LogEntryKind::BolusStarted, u8::from(*bridge), volume as i64);
                self.refresh_state();
                self.schedule_bolus();
                ack
            }
            Request::Refill {
                volume_nl,
                concentration_ug_per_ml,
            } => {
                if *volume_nl > self.capacity_nl()
                    || *concentration_ug_per_ml == 0
                    || *concentration_ug_per_ml > 3000
                {
                    return Err(NackCode::OutOfRange);
                }
                self.settle();
                if !self.config.defects.refill_ignores_calculated {
                    self.calculated_nl = *volume_nl;
                }
                let physical = self
                    .physical_refill_nl
                    .take()
                    .unwrap_or(*volume_nl)
                    .min(self.capacity_nl());
                self.actual_nl = physical;
                self.pocket_nl += volume_nl.saturating_sub(physical);
                if *concentration_ug_per_ml != self.concentration {
                    self.previous_concentration = self.concentration;
                    self.concentration = *concentration_ug_per_ml;
                }
                self.log(LogEntryKind::Refilled, 0, *volume_nl as i64);
                self.rate_changed();
                self.check_reservoir();
                self.refresh_state();
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
                let Some(i) = self.alarms.iter().position(|a| a.alarm == *alarm) else {
                    return Err(NackCode::NotAllowedInState);
                };
                let generation = self.next_generation();
                self.alarms[i].generation = generation;
                match action {
                    AlarmAction::Acknowledge => self.alarms[i].state = AlarmState::Acknowledged,
                    AlarmAction::Silence => {
                        self.alarms[i].state = AlarmState::Silenced;
                        self.push(
                            self.now + self.config.pump.silence_min * MS_PER_MINUTE,
                            Timer::SilenceEnds(*alarm, generation),
                        );
                    }
                }
                self.log(
                    LogEntryKind::AlarmAcknowledged,
                    alarm.to_wire(),
                    action.to_wire() as i64,
                );
                ack
            }
            Request::ReadEventLog { page } => Ok(ResponseBody::EventLogPage(self.log_page(*page))),
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
                self.inject(*fault);
                ack
            }
            Request::ClearFault { fault } => {
                self.clear_fault(*fault);
                ack
            }
            Request::ReadPlant => Ok(ResponseBody::Plant(self.plant())),
        }
    }

    fn set_program(&mut self, program: Program, value: i64) {
        self.settle();
        if self.state == TherapyState::Idle {
            self.owed = 0;
            self.settled_at = self.now;
        }
        self.program = program;
        self.log(LogEntryKind::Programmed, 0, value);
        self.refresh_state();
        self.rate_changed();
        self.schedule_flex_boundary();
        self.check_reservoir();
    }

    fn inject(&mut self, fault: Fault) {
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
            Fault::BatteryCharge { permille } => {
                self.soc_micro_at_t0 = permille.min(1000) as u64 * 1000;
                self.soc_t0 = self.now;
                self.schedule_eri();
            }
            Fault::PhysicalRefillVolume { volume_nl } => self.physical_refill_nl = Some(volume_nl),
            Fault::FlowBias { centi_percent } => self.flow_bias_fault = centi_percent,
        }
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

    fn log_page(&self, page: u16) -> EventLogPage {
        let first_index = page as u32 * LOG_PAGE_LEN as u32;
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
