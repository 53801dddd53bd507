//! The reference calculator: expected traces by continuous arithmetic from a scenario.
//!
//! Deliberately shares no delivery code with the emulator: the emulator counts discrete strokes
//! in integer nanolitres through an event queue; this integrates piecewise-constant flow rates in
//! floating point and solves for the moments a volume crosses a threshold. The two agree to
//! within a stroke, which is what the tolerances allow for (see README.md, "Expected traces").

mod refusal;

use crate::protocol::{AlarmKind, NackCode, Priority};
use crate::scenario::{Action, FaultSpec, FlexStepSpec, Scenario};
use crate::units::{MS_PER_DAY, MS_PER_MINUTE, NL_PER_ML};

/// Expected values at one sample time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedSample {
    pub t_ms: u64,
    /// Cumulative volume the device should report as delivered.
    pub delivered_nl: u64,
    /// The device's calculated reservoir volume.
    pub calculated_nl: u64,
    /// Cumulative volume at the catheter tip (what the balance should weigh).
    pub tip_nl: u64,
    /// Volume physically in the reservoir (the bench plant).
    pub actual_nl: u64,
    /// Volume the pump should push per day at this moment (basal + bolus), for flow checks.
    pub programmed_nl_per_day: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Raised,
    Cleared,
}

/// An alarm transition the arithmetic predicts, with the tolerance the pulsatile pump needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedAlarmEvent {
    pub t_ms: u64,
    pub alarm: AlarmKind,
    pub priority: Priority,
    pub transition: Transition,
    pub tolerance_ms: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub samples: Vec<ExpectedSample>,
    pub alarms: Vec<ExpectedAlarmEvent>,
    /// Human-readable derivation: figures, formulas, resulting times (fixture README).
    pub derivation: Vec<String>,
    /// Per step, in the scenario's order: the code the device refuses it with by the
    /// arithmetic (None: accepted). A step that states `refused` changes nothing here.
    pub refusals: Vec<Option<NackCode>>,
    /// Every bolus the arithmetic gives (bridge boluses included; refused ones left out).
    pub boluses: Vec<ExpectedBolus>,
}

/// A bolus as the arithmetic gives it: when, how long and how much (checks/bolus.rs judges
/// the balance against it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedBolus {
    pub at_ms: u64,
    pub duration_ms: u64,
    pub dose_ug: u32,
    pub concentration_ug_per_ml: f64,
    pub volume_nl: f64,
    pub bridge: bool,
}

fn priority_of(alarm: AlarmKind) -> Priority {
    match alarm {
        AlarmKind::LowReservoir | AlarmKind::ElectiveReplacement => Priority::Medium,
        AlarmKind::EmptyReservoir | AlarmKind::EndOfService | AlarmKind::MotorStall => {
            Priority::High
        }
    }
}

#[derive(Debug, Clone)]
enum Program {
    None,
    Continuous(f64),
    Flexible(Vec<FlexStepSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Catheter {
    Connected,
    Disconnected,
    Occluded,
}

struct State<'a> {
    scenario: &'a Scenario,
    t: f64,
    program: Program,
    stopped: bool,
    halted_empty: bool,
    halted_stall: bool,
    halted_eos: bool,
    concentration: f64,
    previous_concentration: f64,
    delivered: f64,
    calculated: f64,
    actual: f64,
    tip: f64,
    pocket: f64,
    threshold: f64,
    catheter: Catheter,
    bias: f64,
    bolus: Option<(f64, f64)>, // (end time, nL per ms)
    soc_micro: f64,
    soc_at: f64,
    eri_at: Option<f64>,
    eos_at: Option<f64>,
    active: Vec<AlarmKind>,
    out: Expected,
}

fn fmt_ml(nl: f64) -> String {
    format!("{:.3} mL", nl / NL_PER_ML as f64)
}

fn fmt_t(ms: f64) -> String {
    crate::scenario::duration::format_duration(ms.round().max(0.0) as u64)
}

impl<'a> State<'a> {
    fn basal_dose(&self, t: f64) -> f64 {
        match &self.program {
            Program::None => 0.0,
            Program::Continuous(d) => *d,
            Program::Flexible(steps) => {
                let minute = ((t / MS_PER_MINUTE as f64).floor() as u64 % 1440) as u16;
                steps
                    .iter()
                    .rev()
                    .find(|s| s.start_minute <= minute)
                    .or(steps.last())
                    .map(|s| s.dose_ug_per_day as f64)
                    .unwrap_or(0.0)
            }
        }
    }

    fn delivering(&self) -> bool {
        !matches!(self.program, Program::None)
            && !self.stopped
            && !self.halted_empty
            && !self.halted_stall
            && !self.halted_eos
    }

    /// Volume rate the pump believes it delivers now, nL per ms.
    fn rate(&self, t: f64) -> f64 {
        if !self.delivering() {
            return 0.0;
        }
        let basal = self.basal_dose(t) / self.concentration * NL_PER_ML as f64 / MS_PER_DAY as f64;
        let bolus = self.bolus.map(|(_, r)| r).unwrap_or(0.0);
        basal + bolus
    }

    fn stroke(&self) -> f64 {
        self.scenario.device.stroke_nl as f64
    }

    fn raise(&mut self, alarm: AlarmKind, t: f64, tolerance: f64, why: String) {
        if self.active.contains(&alarm) {
            return;
        }
        self.active.push(alarm);
        self.out.alarms.push(ExpectedAlarmEvent {
            t_ms: t.round() as u64,
            alarm,
            priority: priority_of(alarm),
            transition: Transition::Raised,
            tolerance_ms: tolerance.ceil() as u64,
        });
        self.out
            .derivation
            .push(format!("{}: {} raised. {why}", fmt_t(t), alarm));
    }

    fn clear(&mut self, alarm: AlarmKind, t: f64, why: &str) {
        if let Some(i) = self.active.iter().position(|a| *a == alarm) {
            self.active.remove(i);
            self.out.alarms.push(ExpectedAlarmEvent {
                t_ms: t.round() as u64,
                alarm,
                priority: priority_of(alarm),
                transition: Transition::Cleared,
                tolerance_ms: 1_000,
            });
            self.out
                .derivation
                .push(format!("{}: {} cleared ({why}).", fmt_t(t), alarm));
        }
    }

    /// One stroke interval at the current rate: how late a pulsatile pump may see a crossing.
    fn stroke_interval(&self) -> f64 {
        let r = self.rate(self.t);
        if r > 0.0 {
            self.stroke() / r
        } else {
            0.0
        }
    }

    fn evaluate_reservoir_alarms(&mut self, why: &str) {
        let t = self.t;
        if self.calculated > self.threshold {
            self.clear(AlarmKind::LowReservoir, t, why);
        }
        if self.calculated >= self.stroke() - 1e-6 {
            self.clear(AlarmKind::EmptyReservoir, t, why);
        }
        if self.calculated <= self.threshold + 1e-6
            && !self.active.contains(&AlarmKind::LowReservoir)
        {
            let tol = self.stroke_interval();
            self.raise(
                AlarmKind::LowReservoir,
                t,
                tol,
                format!(
                    "Calculated volume {} is at or below the threshold {}.",
                    fmt_ml(self.calculated),
                    fmt_ml(self.threshold)
                ),
            );
        }
        if self.calculated < 0.5
            && !self.active.contains(&AlarmKind::EmptyReservoir)
            && self.delivering()
        {
            let tol = self.stroke_interval();
            self.raise(
                AlarmKind::EmptyReservoir,
                t,
                tol,
                "Calculated volume reached 0 mL; delivery stops.".into(),
            );
            self.halted_empty = true;
        }
    }

    /// Moves every volume linearly from `self.t` to `t` at the rates in force.
    fn integrate_to(&mut self, t: f64) {
        let dt = t - self.t;
        if dt <= 0.0 {
            return;
        }
        let q = self.rate(self.t);
        let believed = q * dt;
        self.delivered += believed;
        self.calculated = (self.calculated - believed).max(0.0);
        if self.catheter != Catheter::Occluded {
            let moved = (believed * (1.0 + self.bias)).min(self.actual);
            self.actual -= moved;
            match self.catheter {
                Catheter::Connected => self.tip += moved,
                Catheter::Disconnected => self.pocket += moved,
                Catheter::Occluded => {}
            }
        }
        self.t = t;
    }

    /// The next moment the rates change or a volume crosses something, after `self.t`.
    fn next_breakpoint(&self, limit: f64) -> f64 {
        let mut next = limit;
        let t = self.t;
        let q = self.rate(t);
        if let Some((end, _)) = self.bolus {
            next = next.min(end);
        }
        if let Program::Flexible(steps) = &self.program {
            let day_start = (t / MS_PER_DAY as f64).floor() * MS_PER_DAY as f64;
            for offset in [0.0, MS_PER_DAY as f64] {
                for s in steps {
                    let b = day_start + offset + s.start_minute as f64 * MS_PER_MINUTE as f64;
                    if b > t + 1e-6 {
                        next = next.min(b);
                    }
                }
            }
        }
        if q > 0.0 {
            if !self.active.contains(&AlarmKind::LowReservoir) && self.calculated > self.threshold {
                next = next.min(t + (self.calculated - self.threshold) / q);
            }
            if self.calculated > 0.0 {
                next = next.min(t + self.calculated / q);
            }
            let outflow = q * (1.0 + self.bias);
            if self.actual > 0.0 && outflow > 0.0 && self.catheter != Catheter::Occluded {
                next = next.min(t + self.actual / outflow);
            }
        }
        for at in [self.eri_at, self.eos_at].into_iter().flatten() {
            if at > t + 1e-6 {
                next = next.min(at);
            }
        }
        next
    }

    fn run_until(&mut self, target: f64) {
        let mut guard = 0u64;
        while self.t < target - 1e-6 {
            let next = self.next_breakpoint(target).max(self.t);
            let rate_before = self.rate(self.t);
            self.integrate_to(next);
            if let Some((end, _)) = self.bolus {
                if self.t >= end - 1e-6 {
                    self.bolus = None;
                }
            }
            if self.actual <= 1e-6 && self.actual > 0.0 {
                self.actual = 0.0;
            }
            if rate_before > 0.0
                && self.actual == 0.0
                && !self
                    .out
                    .derivation
                    .iter()
                    .any(|l| l.contains("actual reservoir is empty"))
            {
                self.out.derivation.push(format!("{}: the actual reservoir is empty; outflow at the catheter tip stops while the pump keeps counting.", fmt_t(self.t)));
            }
            self.evaluate_reservoir_alarms("refilled");
            self.battery_events();
            guard += 1;
            if guard > 10_000_000 {
                break;
            }
        }
        self.integrate_to(target.max(self.t));
    }

    fn battery_events(&mut self) {
        let t = self.t;
        if let Some(eri) = self.eri_at {
            if t >= eri - 1e-6 && !self.active.contains(&AlarmKind::ElectiveReplacement) {
                let d = &self.scenario.device;
                self.raise(
                    AlarmKind::ElectiveReplacement,
                    eri,
                    1_000.0,
                    format!(
                        "State of charge reaches the ERI threshold {} per mille.",
                        d.eri_threshold_permille
                    ),
                );
                let eos = eri + d.eos_after_eri_days as f64 * MS_PER_DAY as f64;
                self.eos_at = Some(eos);
                self.out.derivation.push(format!(
                    "EOS follows ERI by {} days: at {}.",
                    d.eos_after_eri_days,
                    fmt_t(eos)
                ));
            }
        }
        if let Some(eos) = self.eos_at {
            if t >= eos - 1e-6 && !self.active.contains(&AlarmKind::EndOfService) {
                self.raise(
                    AlarmKind::EndOfService,
                    eos,
                    1_000.0,
                    "End of service: delivery stops.".into(),
                );
                self.halted_eos = true;
            }
        }
    }

    fn set_battery(&mut self, permille: u16) {
        let d = &self.scenario.device;
        self.soc_micro = permille as f64 * 1000.0;
        self.soc_at = self.t;
        let life_ms = d.battery_life_days as f64 * MS_PER_DAY as f64;
        let eri_micro = d.eri_threshold_permille as f64 * 1000.0;
        if self.eri_at.is_none() || !self.active.contains(&AlarmKind::ElectiveReplacement) {
            let until = ((self.soc_micro - eri_micro).max(0.0) * life_ms / 1e6).ceil();
            let at = self.t + until;
            self.eri_at = Some(at);
            self.out.derivation.push(format!(
                "{}: battery set to {permille} per mille. Linear drain of 1000 per mille over {} days reaches the ERI threshold {} per mille after ({permille} - {}) / 1000 x {} days = {}.",
                fmt_t(self.t), d.battery_life_days, d.eri_threshold_permille, d.eri_threshold_permille, d.battery_life_days, fmt_t(until)
            ));
        }
        let _ = self.soc_micro + self.soc_at;
    }

    fn apply(&mut self, action: &Action) {
        let t = self.t;
        match action {
            Action::ProgramContinuous { dose_ug_per_day } => {
                self.program = Program::Continuous(*dose_ug_per_day as f64);
                let ml_day = *dose_ug_per_day as f64 / self.concentration;
                self.out.derivation.push(format!("{}: continuous {dose_ug_per_day} ug/day / {} ug/mL = {ml_day:.4} mL/day ({:.1} s per {} nL stroke).", fmt_t(t), self.concentration, self.scenario.device.stroke_nl as f64 / (ml_day * 1e6) * 86_400.0, self.scenario.device.stroke_nl));
            }
            Action::ProgramFlexible { steps } => {
                self.program = Program::Flexible(steps.clone());
                let text: Vec<String> = steps
                    .iter()
                    .map(|s| {
                        format!(
                            "{:02}:{:02} {} ug/day",
                            s.start_minute / 60,
                            s.start_minute % 60,
                            s.dose_ug_per_day
                        )
                    })
                    .collect();
                self.out.derivation.push(format!(
                    "{}: flexible schedule {}.",
                    fmt_t(t),
                    text.join(", ")
                ));
            }
            Action::Bolus {
                dose_ug,
                duration_ms,
                bridge,
            } => {
                // A bolus requested while another runs is refused (docs/protocol.md, section 8):
                // the running one goes on, nothing is queued.
                let running = self.bolus.is_some_and(|(end, _)| end > t);
                if running {
                    self.out.derivation.push(format!(
                        "{}: bolus {dose_ug} ug refused: a bolus is running.",
                        fmt_t(t)
                    ));
                } else if self.delivering() {
                    let c = if *bridge {
                        self.previous_concentration
                    } else {
                        self.concentration
                    };
                    let volume = *dose_ug as f64 / c * NL_PER_ML as f64;
                    self.bolus = Some((t + *duration_ms as f64, volume / *duration_ms as f64));
                    self.out.boluses.push(ExpectedBolus {
                        at_ms: t.round() as u64,
                        duration_ms: *duration_ms,
                        dose_ug: *dose_ug,
                        concentration_ug_per_ml: c,
                        volume_nl: volume,
                        bridge: *bridge,
                    });
                    self.out.derivation.push(format!(
                        "{}: {}bolus {dose_ug} ug at {c} ug/mL = {} over {}.",
                        fmt_t(t),
                        if *bridge { "bridge " } else { "" },
                        fmt_ml(volume),
                        fmt_t(*duration_ms as f64)
                    ));
                }
            }
            Action::Refill {
                volume_nl,
                concentration_ug_per_ml,
                actual_nl,
            } => {
                let volume = *volume_nl as f64;
                let physical = actual_nl.map(|a| a as f64).unwrap_or(volume);
                self.calculated = volume;
                self.actual = physical;
                if physical < volume {
                    self.pocket += volume - physical;
                }
                self.previous_concentration = self.concentration;
                self.concentration = *concentration_ug_per_ml as f64;
                self.out.derivation.push(format!("{}: refill programmed {} at {concentration_ug_per_ml} ug/mL; {} enters the reservoir{}.", fmt_t(t), fmt_ml(volume), fmt_ml(physical), if physical < volume { format!(", {} into the pocket", fmt_ml(volume - physical)) } else { String::new() }));
                if self.halted_empty {
                    self.halted_empty = false;
                }
                self.evaluate_reservoir_alarms("refill");
            }
            Action::Inject { fault } => match fault {
                FaultSpec::CatheterDisconnect => self.catheter = Catheter::Disconnected,
                FaultSpec::CatheterOcclusion => self.catheter = Catheter::Occluded,
                FaultSpec::MotorStall => {
                    self.halted_stall = true;
                    self.raise(
                        AlarmKind::MotorStall,
                        t,
                        1_000.0,
                        "Motor stall injected; delivery stops.".into(),
                    );
                }
                FaultSpec::BatteryCharge { permille } => self.set_battery(*permille),
                FaultSpec::FlowBias { centi_percent } => {
                    self.bias = *centi_percent as f64 / 10_000.0;
                    self.out.derivation.push(format!("{}: flow bias {:+.2} %: each stroke moves {:.1} nL while the pump counts {}.", fmt_t(t), self.bias * 100.0, self.stroke() * (1.0 + self.bias), self.stroke()));
                }
            },
            Action::Clear { fault } => {
                use crate::protocol::FaultKind as K;
                match fault {
                    K::CatheterDisconnect | K::CatheterOcclusion => {
                        self.catheter = Catheter::Connected
                    }
                    K::MotorStall => {
                        self.halted_stall = false;
                        self.clear(AlarmKind::MotorStall, t, "motor stall cleared");
                    }
                    K::FlowBias => self.bias = 0.0,
                    K::BatteryCharge | K::PhysicalRefillVolume => {}
                }
            }
            Action::Acknowledge { .. } | Action::Silence { .. } => {}
            // On a bench the operator does by hand what the emulator's equivalent does.
            Action::Operator { emulate, .. } => {
                if let Some(action) = emulate {
                    self.apply(action);
                }
            }
            Action::Stop => self.stopped = true,
            Action::Resume => self.stopped = false,
            Action::SetThreshold { threshold_nl } => {
                self.threshold = *threshold_nl as f64;
                self.evaluate_reservoir_alarms("threshold lowered");
            }
        }
    }

    fn sample(&mut self) {
        let t = self.t;
        let q = self.rate(t);
        self.out.samples.push(ExpectedSample {
            t_ms: t.round() as u64,
            delivered_nl: self.delivered.round() as u64,
            calculated_nl: self.calculated.round() as u64,
            tip_nl: self.tip.round() as u64,
            actual_nl: self.actual.round() as u64,
            programmed_nl_per_day: (q * MS_PER_DAY as f64).round() as u64,
        });
    }
}

/// Computes the expected traces of a scenario. Defect knobs are ignored: they describe what the
/// emulator does wrong, and expectations describe what a correct pump does.
pub fn expected(scenario: &Scenario) -> Expected {
    let d = &scenario.device;
    let mut s = State {
        scenario,
        t: 0.0,
        program: Program::None,
        stopped: false,
        halted_empty: false,
        halted_stall: false,
        halted_eos: false,
        concentration: d.concentration_ug_per_ml as f64,
        previous_concentration: d.concentration_ug_per_ml as f64,
        delivered: 0.0,
        calculated: d.initial_fill_nl as f64,
        actual: d.initial_fill_nl as f64,
        tip: 0.0,
        pocket: 0.0,
        threshold: d.low_reservoir_threshold_nl as f64,
        catheter: Catheter::Connected,
        bias: 0.0,
        bolus: None,
        soc_micro: 1e6,
        soc_at: 0.0,
        eri_at: None,
        eos_at: None,
        active: Vec::new(),
        out: Expected::default(),
    };
    s.out.derivation.push(format!(
        "Setup: {} mL reservoir filled with {} at {} ug/mL; low-reservoir threshold {}; stroke {} nL.",
        d.reservoir_ml, fmt_ml(s.calculated), d.concentration_ug_per_ml, fmt_ml(s.threshold), d.stroke_nl
    ));
    if let Some(permille) = d.battery_permille {
        s.set_battery(permille);
    }
    s.evaluate_reservoir_alarms("setup");

    let samples: Vec<u64> = scenario.sample_times().collect();
    let mut sample_index = 0;
    let mut step_index = 0;
    loop {
        let next_step = scenario.steps.get(step_index).map(|st| st.at_ms);
        let next_sample = samples.get(sample_index).copied();
        // Steps at a time are applied before the sample at the same time (the runner's order).
        let (t, is_step) = match (next_step, next_sample) {
            (Some(a), Some(b)) if a <= b => (a, true),
            (_, Some(b)) => (b, false),
            (Some(a), None) => (a, true),
            (None, None) => break,
        };
        s.run_until(t as f64);
        if is_step {
            let step = &scenario.steps[step_index];
            let predicted = s.refusal(&step.action);
            s.out.refusals.push(predicted);
            // A refused step changes nothing: the one the scenario states (the calculator
            // follows it) and the one the protocol gives (a device following it refuses).
            match step.refused.or(predicted) {
                Some(code) => s.out.derivation.push(format!(
                    "{}: step on line {} refused ({code}); nothing changes.",
                    fmt_t(t as f64),
                    step.line
                )),
                None => s.apply(&step.action),
            }
            step_index += 1;
        } else {
            s.sample();
            sample_index += 1;
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::MS_PER_HOUR;

    fn scenario(extra_device: &str, steps: &str, end: &str) -> Scenario {
        let text = format!(
            "id = \"t\"\ntitle = \"t\"\nrequirements = [\"R\"]\nhazard = \"h\"\n[device]\nreservoir_ml = 20\ninitial_fill_ml = 3.0\nconcentration_ug_per_ml = 500\n{extra_device}\n[timing]\nend = \"{end}\"\nsample_every = \"1h\"\n{steps}"
        );
        crate::scenario::parse(std::path::Path::new("t.toml"), &text, String::new()).unwrap()
    }

    fn raised(e: &Expected, alarm: AlarmKind) -> Option<u64> {
        e.alarms
            .iter()
            .find(|a| a.alarm == alarm && a.transition == Transition::Raised)
            .map(|a| a.t_ms)
    }

    const PROGRAM_600: &str = "[[step]]\nat = \"0s\"\nprogram = { continuous_ug_per_day = 600 }\n";

    #[test]
    fn low_reservoir_at_20h_and_empty_at_60h_for_the_label_example() {
        // 600 ug/day / 500 ug/mL = 1.2 mL/day; (3.0 - 2.0) / 1.2 d = 20 h; 3.0 / 1.2 d = 60 h.
        let e = expected(&scenario(
            "low_reservoir_threshold_ml = 2.0",
            PROGRAM_600,
            "3d",
        ));
        assert_eq!(raised(&e, AlarmKind::LowReservoir), Some(20 * MS_PER_HOUR));
        assert_eq!(
            raised(&e, AlarmKind::EmptyReservoir),
            Some(60 * MS_PER_HOUR)
        );
        let at_24h = e
            .samples
            .iter()
            .find(|s| s.t_ms == 24 * MS_PER_HOUR)
            .unwrap();
        assert_eq!(at_24h.delivered_nl, 1_200_000);
        assert_eq!(at_24h.calculated_nl, 1_800_000);
        let last = e.samples.last().unwrap();
        assert_eq!(
            (
                last.delivered_nl,
                last.calculated_nl,
                last.programmed_nl_per_day
            ),
            (3_000_000, 0, 0)
        );
    }

    #[test]
    fn flow_bias_empties_the_actual_reservoir_first() {
        let steps = format!("[[step]]\nat = \"0s\"\ninject = {{ fault = \"flow_bias\", percent = 20.0 }}\n{PROGRAM_600}");
        let e = expected(&scenario("low_reservoir_threshold_ml = 0.4", &steps, "3d"));
        // Actual: 3.0 / (1.2 x 1.2) d = 50 h; calculated reaches 0.4 mL at 2.6 / 1.2 d = 52 h.
        let at_50h = e
            .samples
            .iter()
            .find(|s| s.t_ms == 50 * MS_PER_HOUR)
            .unwrap();
        assert_eq!(at_50h.actual_nl, 0);
        assert_eq!(at_50h.calculated_nl, 500_000);
        assert_eq!(at_50h.tip_nl, 3_000_000);
        assert_eq!(raised(&e, AlarmKind::LowReservoir), Some(52 * MS_PER_HOUR));
    }

    #[test]
    fn battery_eri_and_eos_from_linear_drain() {
        let e = expected(&scenario("battery_permille = 101", PROGRAM_600, "100d"));
        // (101 - 100) / 1000 x 2555 d = 2.555 d = 220 752 000 ms; EOS 90 d later.
        assert_eq!(
            raised(&e, AlarmKind::ElectiveReplacement),
            Some(220_752_000)
        );
        assert_eq!(
            raised(&e, AlarmKind::EndOfService),
            Some(220_752_000 + 90 * crate::units::MS_PER_DAY)
        );
    }

    #[test]
    fn disconnect_sends_nothing_to_the_tip() {
        let steps = format!("{PROGRAM_600}[[step]]\nat = \"10h\"\ninject = {{ fault = \"catheter_disconnect\" }}\n[[step]]\nat = \"20h\"\nclear = \"catheter_disconnect\"\n");
        let e = expected(&scenario("low_reservoir_threshold_ml = 0.5", &steps, "1d"));
        let at = |h: u64| {
            *e.samples
                .iter()
                .find(|s| s.t_ms == h * MS_PER_HOUR)
                .unwrap()
        };
        assert_eq!(at(10).tip_nl, 500_000);
        assert_eq!(at(20).tip_nl, 500_000);
        assert_eq!(at(20).delivered_nl, 1_000_000);
        assert_eq!(at(24).tip_nl, 700_000);
    }

    #[test]
    fn bridge_bolus_uses_the_previous_concentration() {
        let steps = format!("{PROGRAM_600}[[step]]\nat = \"1h\"\nrefill = {{ volume_ml = 10.0, concentration_ug_per_ml = 1000 }}\n[[step]]\nat = \"1h\"\nbolus = {{ dose_ug = 50, duration = \"30m\", bridge = true }}\n");
        let e = expected(&scenario("low_reservoir_threshold_ml = 0.5", &steps, "2h"));
        let at_2h = e
            .samples
            .iter()
            .find(|s| s.t_ms == 2 * MS_PER_HOUR)
            .unwrap();
        // 1 h at 1.2 mL/day (50 uL) + 50 ug at 500 ug/mL (100 uL) + 1 h at 0.6 mL/day (25 uL).
        assert_eq!(at_2h.delivered_nl, 175_000);
        // The bolus as the bolus-volume check reads it: 100 uL at the old concentration.
        assert_eq!(e.boluses.len(), 1);
        let bolus = e.boluses[0];
        assert_eq!((bolus.at_ms, bolus.duration_ms), (MS_PER_HOUR, 30 * 60_000));
        assert!(bolus.bridge && bolus.concentration_ug_per_ml == 500.0);
        assert!((bolus.volume_nl - 100_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_bolus_requested_while_another_runs_is_refused() {
        let bolus = "bolus = { dose_ug = 50, duration = \"1h\" }";
        let steps = format!(
            "{PROGRAM_600}[[step]]\nat = \"1h\"\n{bolus}\n[[step]]\nat = \"1h 30m\"\n{bolus}\nrefused = \"not_allowed_in_state\"\n"
        );
        let s = scenario("", &steps, "3h");
        let e = expected(&s);
        let at_3h = e
            .samples
            .iter()
            .find(|s| s.t_ms == 3 * MS_PER_HOUR)
            .unwrap();
        // 3 h at 1.2 mL/day (150 uL) + one bolus of 50 ug at 500 ug/mL (100 uL), not two.
        assert_eq!(at_3h.delivered_nl, 250_000);
        assert_eq!(e.refusals, [None, None, Some(NackCode::NotAllowedInState)]);
        // Unstated, the arithmetic still refuses it (a device following the protocol does).
        let mut unstated = s.clone();
        unstated.steps[2].refused = None;
        let e = expected(&unstated);
        assert_eq!(e.refusals[2], Some(NackCode::NotAllowedInState));
        assert_eq!(e.samples.last().unwrap().delivered_nl, 250_000);
    }

    #[test]
    fn a_step_stated_refused_changes_nothing() {
        let steps = format!(
            "{PROGRAM_600}[[step]]\nat = \"1h\"\nstop = true\nrefused = \"not_allowed_in_state\"\n"
        );
        let e = expected(&scenario("", &steps, "2h"));
        // The pump is running, so the arithmetic accepts the stop; the calculator follows the
        // scenario's statement all the same (lint refuses such a scenario).
        assert_eq!(e.refusals, [None, None]);
        assert_eq!(e.samples.last().unwrap().delivered_nl, 100_000);
    }

    #[test]
    fn stop_resume_and_acknowledge_are_refused_in_the_wrong_state() {
        let steps = format!(
            "[[step]]\nat = \"0s\"\nstop = true\n{PROGRAM_600}[[step]]\nat = \"1h\"\nresume = true\n[[step]]\nat = \"1h\"\nacknowledge = \"low_reservoir\"\n"
        );
        let e = expected(&scenario("", &steps, "2h"));
        let nack = Some(NackCode::NotAllowedInState);
        assert_eq!(e.refusals, [nack, None, nack, nack]);
    }
}
