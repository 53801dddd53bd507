//! The `[[step]]` tables: time order, one action each, programs, boluses, refills and faults.

use super::interlock::ProgramChange;
use super::{Checker, LABEL_DOSE_UG_PER_DAY};
use crate::protocol::{FaultKind, NackCode, MAX_FLEX_STEPS};
use crate::scenario::model::*;
use crate::scenario::raw::*;

impl Checker<'_> {
    /// Checks every step, then the rules that look across steps: unique names, the titration
    /// interlock and overlapping boluses.
    pub(super) fn steps(
        &mut self,
        raw: &[S<RawStep>],
        capacity_ml: f64,
        end: u64,
        group: PatientGroup,
    ) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        let mut spans = Vec::new();
        let mut programs = Vec::new();
        let mut previous: Option<(u64, String)> = None;
        let mut names: Vec<(String, usize)> = Vec::new();
        let mut ok = true;
        for step in raw {
            let span = step.span();
            let line = self.line_of(span.start);
            let s = step.get_ref();
            if let Some(name) = &s.name {
                if let Some((_, first)) = names.iter().find(|(n, _)| n == name.get_ref()) {
                    self.fail::<()>(
                        name.span(),
                        "scenario::duplicate-step-name",
                        format!(
                            "the step on line {first} is already named {:?}",
                            name.get_ref()
                        ),
                        "after_step finds a step by its name: give each step its own name",
                    );
                    ok = false;
                } else {
                    names.push((name.get_ref().clone(), line));
                }
            }
            let Some(at) = self.duration(&s.at, "step time") else {
                ok = false;
                continue;
            };
            if at > end {
                self.fail::<()>(
                    s.at.span(),
                    "scenario::past-end",
                    format!("step at {} comes after the scenario's end", s.at.get_ref()),
                    "move the step before timing.end or extend timing.end",
                );
                ok = false;
            }
            if let Some((prev_at, prev_text)) = &previous {
                if at < *prev_at {
                    self.fail::<()>(
                        s.at.span(),
                        "scenario::step-order",
                        format!(
                            "step at {} comes before the previous step at {prev_text}",
                            s.at.get_ref()
                        ),
                        "list steps in time order",
                    );
                    ok = false;
                }
            }
            previous = Some((at, s.at.get_ref().clone()));
            let refused = match &s.refused {
                Some(code) => match NackCode::from_name(code.get_ref()) {
                    Some(code) => Some(code),
                    None => {
                        self.fail::<()>(
                            code.span(),
                            "scenario::refused",
                            format!("{:?} is not a NACK code", code.get_ref()),
                            &format!(
                                "refused names the code the device answers with: one of {}",
                                NackCode::names().join(", ")
                            ),
                        );
                        ok = false;
                        None
                    }
                },
                None => None,
            };
            match self.action(s, capacity_ml, span.clone()) {
                Some(action) => {
                    if let (Some(daily_ug), Some(program)) = (action.daily_total_ug(), &s.program) {
                        programs.push(ProgramChange {
                            at_ms: at,
                            daily_ug,
                            marked: s.out_of_range_test,
                            span: program.span(),
                        });
                    }
                    spans.push(s.bolus.as_ref().map(|b| b.span()).unwrap_or(span));
                    steps.push(Step {
                        at_ms: at,
                        name: s.name.as_ref().map(|n| n.get_ref().clone()),
                        action,
                        out_of_range_test: s.out_of_range_test,
                        refused,
                        line,
                    })
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let before = self.errors.len();
        self.titration(&steps, &programs, group);
        self.overlapping_boluses(&steps, &spans);
        (self.errors.len() == before).then_some(steps)
    }

    fn action(
        &mut self,
        s: &RawStep,
        capacity_ml: f64,
        span: std::ops::Range<usize>,
    ) -> Option<Action> {
        let count = [
            s.program.is_some(),
            s.bolus.is_some(),
            s.refill.is_some(),
            s.inject.is_some(),
            s.clear.is_some(),
            s.acknowledge.is_some(),
            s.silence.is_some(),
            s.stop.is_some(),
            s.resume.is_some(),
            s.set_threshold_ml.is_some(),
            s.operator.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count != 1 {
            return self.fail(span, "scenario::step-action", format!("a step needs exactly one action; this one has {count}"), "actions: program, bolus, refill, inject, clear, acknowledge, silence, stop, resume, set_threshold_ml, operator; split it into several [[step]] tables at the same time");
        }
        self.stray_timeout(s);
        if let Some(op) = &s.operator {
            return self.operator(s, op);
        }
        let oor = s.out_of_range_test;
        if let Some(p) = &s.program {
            return self.program(p, oor);
        }
        if let Some(b) = &s.bolus {
            let b = b.get_ref();
            let dose = self.int_in(
                &b.dose_ug,
                "bolus.dose_ug",
                1..=2000,
                "a bolus dose in µg (screening boluses are 50-100 µg)",
            )?;
            let duration_ms = self.duration(&b.duration, "bolus.duration")?;
            if duration_ms < 1000 {
                return self.fail(
                    b.duration.span(),
                    "scenario::range",
                    "bolus.duration must be at least 1s".to_string(),
                    "give the bolus a duration such as \"30m\"",
                );
            }
            return Some(Action::Bolus {
                dose_ug: dose as u32,
                duration_ms,
                bridge: b.bridge,
            });
        }
        if let Some(r) = &s.refill {
            let r = r.get_ref();
            let volume_nl = self.ml_to_nl(&r.volume_ml, "refill.volume_ml", capacity_ml)?;
            let concentration = self.concentration(&r.concentration_ug_per_ml, oor)?;
            let actual_nl = match &r.actual_ml {
                Some(a) => Some(self.ml_to_nl(a, "refill.actual_ml", capacity_ml)?),
                None => None,
            };
            return Some(Action::Refill {
                volume_nl,
                concentration_ug_per_ml: concentration,
                actual_nl,
            });
        }
        if let Some(f) = &s.inject {
            return self.fault(f).map(|fault| Action::Inject { fault });
        }
        if let Some(name) = &s.clear {
            let kind = FaultKind::from_name(name.get_ref())
                .filter(|k| *k != FaultKind::PhysicalRefillVolume);
            return kind.map(|fault| Action::Clear { fault }).or_else(|| self.fail(name.span(), "scenario::unknown-fault", format!("unknown fault {:?}", name.get_ref()), "clear one of: catheter_disconnect, catheter_occlusion, motor_stall, battery_charge, flow_bias"));
        }
        if let Some(name) = &s.acknowledge {
            return self.alarm(name).map(|alarm| Action::Acknowledge { alarm });
        }
        if let Some(name) = &s.silence {
            return self.alarm(name).map(|alarm| Action::Silence { alarm });
        }
        if let Some(stop) = &s.stop {
            return self.flag(stop, "stop").then_some(Action::Stop);
        }
        if let Some(resume) = &s.resume {
            return self.flag(resume, "resume").then_some(Action::Resume);
        }
        let threshold = s.set_threshold_ml.as_ref()?;
        let threshold_nl = self.ml_to_nl(threshold, "set_threshold_ml", capacity_ml)?;
        Some(Action::SetThreshold { threshold_nl })
    }

    /// `stop = true` is the only way to write a stop: `stop = false` reads as "do not stop" but
    /// would stop therapy all the same.
    fn flag(&mut self, value: &S<bool>, what: &str) -> bool {
        if *value.get_ref() {
            return true;
        }
        self.fail::<()>(
            value.span(),
            "scenario::flag",
            format!("{what} = false is not an action"),
            &format!("write {what} = true to {what} therapy, or remove the step"),
        );
        false
    }

    fn dose(&mut self, value: &S<i64>, oor: bool) -> Option<u32> {
        let dose = self.int_in(
            value,
            "dose (µg/day)",
            1..=10_000,
            "the device accepts 1 to 10 000 µg/day",
        )? as u32;
        if !oor && !LABEL_DOSE_UG_PER_DAY.contains(&dose) {
            return self.fail(
                value.span(),
                "scenario::label-range",
                format!("{dose} µg/day is outside the label range 12-2003 µg/day"),
                "use a labelled daily dose, or mark the step out_of_range_test = true",
            );
        }
        Some(dose)
    }

    fn program(&mut self, p: &S<RawProgram>, oor: bool) -> Option<Action> {
        match (&p.get_ref().continuous_ug_per_day, &p.get_ref().flexible) {
            (Some(rate), None) => Some(Action::ProgramContinuous {
                dose_ug_per_day: self.dose(rate, oor)?,
            }),
            (None, Some(flex)) => {
                if flex.get_ref().is_empty() || (flex.get_ref().len() > MAX_FLEX_STEPS && !oor) {
                    return self.fail(flex.span(), "scenario::range", format!("a flexible program has {} steps; pumps accept 1 to {MAX_FLEX_STEPS} a day", flex.get_ref().len()), "merge steps, or mark the step out_of_range_test = true to test the refusal");
                }
                let mut steps = Vec::new();
                let mut last: Option<u16> = None;
                for step in flex.get_ref() {
                    let st = step.get_ref();
                    let minute = parse_time_of_day(st.start.get_ref()).or_else(|| {
                        self.fail(
                            st.start.span(),
                            "scenario::time-of-day",
                            format!("{:?} is not a time of day", st.start.get_ref()),
                            "write times of day as \"HH:MM\", 00:00 to 23:59",
                        )
                    })?;
                    if last.is_some_and(|l| minute <= l) {
                        return self.fail(
                            st.start.span(),
                            "scenario::step-order",
                            "flexible steps must start at increasing times of day".to_string(),
                            "sort the steps by start time",
                        );
                    }
                    last = Some(minute);
                    steps.push(FlexStepSpec {
                        start_minute: minute,
                        dose_ug_per_day: self.dose(&st.ug_per_day, oor)?,
                    });
                }
                Some(Action::ProgramFlexible { steps })
            }
            _ => self.fail(
                p.span(),
                "scenario::program",
                "a program needs exactly one of continuous_ug_per_day or flexible".to_string(),
                "e.g. program = { continuous_ug_per_day = 600 }",
            ),
        }
    }

    fn fault(&mut self, f: &S<RawFault>) -> Option<FaultSpec> {
        let raw = f.get_ref();
        let name = raw.fault.get_ref().as_str();
        let spec = match name {
            "catheter_disconnect" => FaultSpec::CatheterDisconnect,
            "catheter_occlusion" => FaultSpec::CatheterOcclusion,
            "motor_stall" => FaultSpec::MotorStall,
            "battery_charge" => {
                let Some(p) = &raw.permille else {
                    return self.fail(
                        f.span(),
                        "scenario::fault",
                        "battery_charge needs permille".to_string(),
                        "e.g. inject = { fault = \"battery_charge\", permille = 101 }",
                    );
                };
                FaultSpec::BatteryCharge {
                    permille: self.int_in(
                        p,
                        "permille",
                        0..=1000,
                        "state of charge in per mille",
                    )? as u16,
                }
            }
            "flow_bias" => {
                let Some(p) = &raw.percent else {
                    return self.fail(
                        f.span(),
                        "scenario::fault",
                        "flow_bias needs percent".to_string(),
                        "e.g. inject = { fault = \"flow_bias\", percent = 20 }",
                    );
                };
                if !(p.get_ref().is_finite() && (-90.0..=100.0).contains(p.get_ref())) {
                    return self.fail(
                        p.span(),
                        "scenario::range",
                        format!("flow bias {} % is out of range", p.get_ref()),
                        "use -90 to +100 percent",
                    );
                }
                FaultSpec::FlowBias {
                    centi_percent: (p.get_ref() * 100.0).round() as i32,
                }
            }
            other => {
                return self.fail(raw.fault.span(), "scenario::unknown-fault", format!("unknown fault {other:?}"), "inject one of: catheter_disconnect, catheter_occlusion, motor_stall, battery_charge, flow_bias (a pocket fill is refill.actual_ml)");
            }
        };
        Some(spec)
    }
}

/// "HH:MM" to minute of day.
fn parse_time_of_day(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}
