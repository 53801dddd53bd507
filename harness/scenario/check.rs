//! Second parsing stage: turns a `RawScenario` into a checked `Scenario`, collecting every error.

use super::check_names::is_valid_check_name;
use super::duration::parse_duration;
use super::error::InputError;
use super::model::*;
use super::raw::*;
use crate::emulator::config::Defects;
use crate::protocol::{AlarmKind, FaultKind, Priority, MAX_FLEX_STEPS};
use crate::units::{MS_PER_MINUTE, NL_PER_ML, NL_PER_UL};
use std::path::Path;

/// Label ranges (domain.md) that a program must respect unless marked `out_of_range_test`.
pub const LABEL_DOSE_UG_PER_DAY: std::ops::RangeInclusive<u32> = 12..=2003;
pub const LABEL_CONCENTRATIONS: &[u32] = &[50, 500, 1000, 2000, 3000];
/// Samples stream to disk and checks judge as they come, so the bound is the run record's
/// size (about 600 bytes a sample), not memory: 2 000 000 samples is a year at 16 s.
pub const MAX_SAMPLES: u64 = 2_000_000;

pub(crate) struct Checker<'a> {
    path: &'a Path,
    source: &'a str,
    pub errors: Vec<InputError>,
}

impl<'a> Checker<'a> {
    pub fn new(path: &'a Path, source: &'a str) -> Self {
        Checker {
            path,
            source,
            errors: Vec::new(),
        }
    }

    fn fail<T>(
        &mut self,
        span: std::ops::Range<usize>,
        code: &'static str,
        message: String,
        help: &str,
    ) -> Option<T> {
        self.errors.push(
            InputError::new(self.path, self.source, code, message)
                .at(span)
                .help(help),
        );
        None
    }

    fn line_of(&self, offset: usize) -> usize {
        self.source[..offset.min(self.source.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn duration(&mut self, text: &S<String>, what: &str) -> Option<u64> {
        match parse_duration(text.get_ref()) {
            Ok(ms) => Some(ms),
            Err(err) => {
                // The span covers the quoted string; +1 skips the opening quote.
                let start = text.span().start + 1 + err.offset;
                self.fail(
                    start..text.span().end.saturating_sub(1).max(start + 1),
                    "scenario::duration",
                    format!("{what}: {}", err.message),
                    "durations are sums of <number><unit> with units d, h, m, s, ms, e.g. \"2d 3h\" or \"90s\"",
                )
            }
        }
    }

    fn ml_to_nl(&mut self, value: &S<f64>, what: &str, max_ml: f64) -> Option<u64> {
        let ml = *value.get_ref();
        if !(ml.is_finite() && (0.0..=max_ml).contains(&ml)) {
            return self.fail(
                value.span(),
                "scenario::range",
                format!("{what} is {ml} mL; it must be between 0 and {max_ml} mL"),
                "volumes are in millilitres and cannot be negative or exceed the reservoir",
            );
        }
        Some((ml * NL_PER_ML as f64).round() as u64)
    }

    fn int_in(
        &mut self,
        value: &S<i64>,
        what: &str,
        range: std::ops::RangeInclusive<i64>,
        help: &str,
    ) -> Option<i64> {
        let v = *value.get_ref();
        if range.contains(&v) {
            Some(v)
        } else {
            self.fail(
                value.span(),
                "scenario::range",
                format!(
                    "{what} is {v}; it must be between {} and {}",
                    range.start(),
                    range.end()
                ),
                help,
            )
        }
    }

    fn alarm(&mut self, name: &S<String>) -> Option<AlarmKind> {
        AlarmKind::from_name(name.get_ref()).or_else(|| {
            self.fail(
                name.span(),
                "scenario::unknown-alarm",
                format!("unknown alarm {:?}", name.get_ref()),
                &format!("use one of: {}", AlarmKind::names().join(", ")),
            )
        })
    }

    fn window(
        &mut self,
        raw: &S<RawWindow>,
        steps: &[Step],
        alarm_tol: u64,
        end_ms: u64,
    ) -> Option<Window> {
        let w = raw.get_ref();
        let help = "write a window as { at = \"20h\" } (± tolerance.alarm), { earliest = \"19h\", latest = \"21h\" }, or { after_step = \"refill\", within = \"5m\" }";
        let window = match (&w.at, &w.earliest, &w.latest, &w.after_step, &w.within) {
            (Some(at), None, None, None, None) => {
                let at = self.duration(at, "window time")?;
                Window {
                    earliest_ms: at.saturating_sub(alarm_tol),
                    latest_ms: at + alarm_tol,
                }
            }
            (None, Some(e), Some(l), None, None) => {
                let earliest = self.duration(e, "earliest")?;
                let latest = self.duration(l, "latest")?;
                if earliest > latest {
                    return self.fail(
                        l.span(),
                        "scenario::window",
                        format!(
                            "latest ({}) is before earliest ({})",
                            l.get_ref(),
                            e.get_ref()
                        ),
                        "swap the two times",
                    );
                }
                Window {
                    earliest_ms: earliest,
                    latest_ms: latest,
                }
            }
            (None, None, None, Some(step), Some(within)) => {
                let within_ms = self.duration(within, "within")?;
                let Some(found) = steps
                    .iter()
                    .find(|s| s.name.as_deref() == Some(step.get_ref().as_str()))
                else {
                    let names: Vec<&str> = steps.iter().filter_map(|s| s.name.as_deref()).collect();
                    return self.fail(
                        step.span(),
                        "scenario::unknown-step",
                        format!("no step is named {:?}", step.get_ref()),
                        &format!(
                            "give the step `name = {:?}`, or use one of: {}",
                            step.get_ref(),
                            if names.is_empty() {
                                "(no named steps)".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                };
                Window {
                    earliest_ms: found.at_ms,
                    latest_ms: found.at_ms + within_ms,
                }
            }
            _ => {
                return self.fail(
                    raw.span(),
                    "scenario::window",
                    "a window needs exactly one of: at; earliest and latest; after_step and within"
                        .to_string(),
                    help,
                )
            }
        };
        if window.earliest_ms > end_ms {
            return self.fail(
                raw.span(),
                "scenario::past-end",
                format!(
                    "window starts at {} ms, after the scenario's end ({} ms)",
                    window.earliest_ms, end_ms
                ),
                "move the window before timing.end or extend timing.end",
            );
        }
        Some(window)
    }

    pub fn check(&mut self, raw: RawScenario, sha256: String) -> Option<Scenario> {
        let id = raw.id.get_ref().clone();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.fail::<()>(
                raw.id.span(),
                "scenario::id",
                format!("id {id:?} must be lowercase letters, digits and dashes"),
                "the id names the fixture folder fixtures/<id>/ and the run's records",
            );
        }
        if raw.requirements.get_ref().is_empty() {
            self.fail::<()>(
                raw.requirements.span(),
                "scenario::requirements",
                "requirements is empty".to_string(),
                "list the requirement ids this scenario verifies, e.g. [\"PH-REQ-010\"]",
            );
        }

        let d = &raw.device;
        let reservoir = self.int_in(
            &d.reservoir_ml,
            "device.reservoir_ml",
            20..=40,
            "pumps hold 20 or 40 mL",
        );
        if let Some(r) = reservoir {
            if r != 20 && r != 40 {
                self.fail::<()>(
                    d.reservoir_ml.span(),
                    "scenario::range",
                    format!("device.reservoir_ml is {r}; it must be 20 or 40"),
                    "pumps hold 20 or 40 mL",
                );
            }
        }
        let capacity_ml = reservoir.unwrap_or(40) as f64;
        let initial_fill_nl =
            self.ml_to_nl(&d.initial_fill_ml, "device.initial_fill_ml", capacity_ml);
        let concentration = self.concentration(&d.concentration_ug_per_ml, false);
        let threshold_nl = match &d.low_reservoir_threshold_ml {
            Some(v) => self.ml_to_nl(v, "device.low_reservoir_threshold_ml", capacity_ml),
            None => Some(2 * NL_PER_ML),
        };
        let battery = match &d.battery_permille {
            Some(v) => self
                .int_in(
                    v,
                    "device.battery_permille",
                    0..=1000,
                    "state of charge in per mille of a new cell",
                )
                .map(|v| Some(v as u16)),
            None => Some(None),
        };
        let stroke_nl = match &d.stroke_ul {
            Some(v) if v.get_ref().is_finite() && (0.1..=100.0).contains(v.get_ref()) => {
                Some((v.get_ref() * NL_PER_UL as f64).round() as u64)
            }
            Some(v) => self.fail(
                v.span(),
                "scenario::range",
                format!(
                    "device.stroke_ul is {}; it must be between 0.1 and 100 µL",
                    v.get_ref()
                ),
                "the nominal stroke is 2.5 µL (one vendor's accumulator)",
            ),
            None => Some(2_500),
        };

        let battery_param = |c: &mut Self,
                             v: &Option<S<i64>>,
                             what: &str,
                             range: std::ops::RangeInclusive<i64>,
                             default: i64| match v {
            Some(v) => c.int_in(
                v,
                what,
                range,
                "battery model parameters: see docs/emulator.md",
            ),
            None => Some(default),
        };
        let battery_life_days = battery_param(
            self,
            &d.battery_life_days,
            "device.battery_life_days",
            1..=36_500,
            2555,
        );
        let eri_threshold = battery_param(
            self,
            &d.eri_threshold_permille,
            "device.eri_threshold_permille",
            0..=1000,
            100,
        );
        let eos_after_eri = battery_param(
            self,
            &d.eos_after_eri_days,
            "device.eos_after_eri_days",
            0..=3650,
            90,
        );

        let density = match &raw.bench.density_g_per_ml {
            Some(v) if v.get_ref().is_finite() && (0.9..=1.1).contains(v.get_ref()) => {
                Some(*v.get_ref())
            }
            Some(v) => self.fail(
                v.span(),
                "scenario::range",
                format!(
                    "bench.density_g_per_ml is {}; expected about 1.0",
                    v.get_ref()
                ),
                "0.9 % saline is 1.0046 g/mL at 22 °C, water 0.9982 g/mL at 20 °C",
            ),
            None => Some(1.0046),
        };
        let balance = raw.bench.balance.unwrap_or(true);

        let end_ms = self.duration(&raw.timing.end, "timing.end");
        let sample_ms = self.duration(&raw.timing.sample_every, "timing.sample_every");
        if let (Some(end), Some(sample)) = (end_ms, sample_ms) {
            if end == 0 {
                self.fail::<()>(
                    raw.timing.end.span(),
                    "scenario::range",
                    "timing.end is zero".to_string(),
                    "give the scenario a length, e.g. \"3d\"",
                );
            }
            if sample == 0 || sample > end.max(1) {
                self.fail::<()>(
                    raw.timing.sample_every.span(),
                    "scenario::range",
                    "timing.sample_every must be more than 0 and at most timing.end".to_string(),
                    "sample often enough to see the events you check, e.g. \"10m\"",
                );
            } else if end / sample > MAX_SAMPLES {
                self.fail::<()>(
                    raw.timing.sample_every.span(),
                    "scenario::range",
                    format!("{} samples is too many", end / sample),
                    "sample less often; at most 2 000 000 samples a scenario (a year at 16 s)",
                );
            }
        }
        let end = end_ms.unwrap_or(u64::MAX);

        let tolerance = self.tolerances(
            &raw.tolerance,
            stroke_nl.unwrap_or(2_500),
            density.unwrap_or(1.0046),
        );
        let alarm_tol = tolerance.as_ref().map(|t| t.alarm_ms).unwrap_or(0);

        let steps = self.steps(&raw.steps, capacity_ml, end);

        let defects =
            raw.defects
                .as_ref()
                .and_then(|table| match defects_of_table(table.get_ref()) {
                    Ok(defects) => Some(defects),
                    Err(message) => self.fail(
                        table.span(),
                        "scenario::defects",
                        format!("[defects]: {message}"),
                        "see docs/emulator.md for the defect knobs and their types",
                    ),
                });

        let negative_control = raw.negative_control.as_ref().map(|nc| {
            let nc = nc.get_ref();
            for name in &nc.must_fail {
                if !is_valid_check_name(name.get_ref()) {
                    self.fail::<()>(name.span(), "scenario::check-name", format!("{:?} is not a check name", name.get_ref()), "check names are listed in README.md (e.g. delivered-volume, alarm-onset:low_reservoir, under-infusion)");
                }
            }
            NegativeControl {
                must_fail: nc.must_fail.iter().map(|n| n.get_ref().clone()).collect(),
                reason: nc.reason.clone(),
            }
        });
        if let (Some(nc), None) = (&raw.negative_control, &raw.defects) {
            self.fail::<()>(
                nc.span(),
                "scenario::negative-control",
                "a negative control needs a [defects] table".to_string(),
                "set the emulator defect knob this control proves the checks can catch",
            );
        }

        let steps = steps?;
        let expect = self.expectations(&raw.expect, &steps, alarm_tol, end, balance)?;

        if !self.errors.is_empty() {
            return None;
        }
        Some(Scenario {
            path: self.path.to_path_buf(),
            sha256,
            id,
            title: raw.title,
            description: raw.description,
            requirements: raw.requirements.into_inner(),
            hazard: raw.hazard,
            negative_control,
            device: DeviceSetup {
                reservoir_ml: reservoir? as u32,
                initial_fill_nl: initial_fill_nl?,
                concentration_ug_per_ml: concentration?,
                low_reservoir_threshold_nl: threshold_nl?,
                battery_permille: battery?,
                stroke_nl: stroke_nl?,
                battery_life_days: battery_life_days? as u32,
                eri_threshold_permille: eri_threshold? as u16,
                eos_after_eri_days: eos_after_eri? as u32,
            },
            defects,
            bench: BenchNeeds {
                balance,
                density_g_per_ml: density?,
            },
            end_ms: end_ms?,
            sample_ms: sample_ms?,
            tolerance: tolerance?,
            steps,
            expect,
        })
    }

    fn concentration(&mut self, value: &S<i64>, out_of_range_test: bool) -> Option<u32> {
        let c = self.int_in(
            value,
            "concentration_ug_per_ml",
            1..=3000,
            "label concentrations are 50, 500, 1000, 2000 and 3000 µg/mL",
        )?;
        if !out_of_range_test && !LABEL_CONCENTRATIONS.contains(&(c as u32)) {
            return self.fail(
                value.span(),
                "scenario::label-range",
                format!("{c} µg/mL is not a label concentration"),
                "use 50, 500, 1000, 2000 or 3000 µg/mL, or mark the step out_of_range_test = true",
            );
        }
        Some(c as u32)
    }

    fn tolerances(
        &mut self,
        raw: &RawTolerance,
        stroke_nl: u64,
        density: f64,
    ) -> Option<Tolerances> {
        let relative = match &raw.volume_relative {
            Some(v) if v.get_ref().is_finite() && (0.0..1.0).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                return self.fail(
                    v.span(),
                    "scenario::range",
                    format!(
                        "tolerance.volume_relative is {}; use a fraction such as 0.15",
                        v.get_ref()
                    ),
                    "±15 % is the nominal declared accuracy (domain.md)",
                )
            }
            None => 0.15,
        };
        // Default floor: two strokes (a sample can land on either side of one, and the reference
        // arithmetic is continuous) plus one balance readability step converted to volume.
        let readability_nl = (0.1e-3 / density * 1e6).ceil() as u64;
        let absolute = match &raw.volume_absolute_ul {
            Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => {
                (v.get_ref() * NL_PER_UL as f64).round() as u64
            }
            Some(v) => {
                return self.fail(
                    v.span(),
                    "scenario::range",
                    format!("tolerance.volume_absolute_ul is {}", v.get_ref()),
                    "an absolute tolerance is a non-negative volume in µL",
                )
            }
            None => 2 * stroke_nl + readability_nl,
        };
        let alarm_ms = match &raw.alarm {
            Some(text) => self.duration(text, "tolerance.alarm")?,
            None => 5 * MS_PER_MINUTE,
        };
        Some(Tolerances {
            volume_relative: relative,
            volume_absolute_nl: absolute,
            alarm_ms,
        })
    }

    fn steps(&mut self, raw: &[S<RawStep>], capacity_ml: f64, end: u64) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        let mut previous: Option<(u64, String)> = None;
        let mut ok = true;
        for step in raw {
            let span = step.span();
            let line = self.line_of(span.start);
            let s = step.get_ref();
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
            match self.action(s, capacity_ml, span) {
                Some(action) => {
                    if let Action::ProgramContinuous { dose_ug_per_day } = action {
                        if !s.out_of_range_test {
                            if let Some(program) = s.program.as_ref() {
                                self.titration(&steps, at, dose_ug_per_day, program.span());
                            }
                        }
                    }
                    steps.push(Step {
                        at_ms: at,
                        name: s.name.as_ref().map(|n| n.get_ref().clone()),
                        action,
                        out_of_range_test: s.out_of_range_test,
                        line,
                    })
                }
                None => ok = false,
            }
        }
        ok.then_some(steps)
    }

    /// Label titration limits (domain.md): a dose increase is at most +30 % (+40 % at a
    /// refill) and comes at least 24 h after the previous change. Decreases are not limited.
    fn titration(&mut self, steps: &[Step], at: u64, dose: u32, span: std::ops::Range<usize>) {
        let Some((prev_at, prev_dose)) = steps.iter().rev().find_map(|st| match st.action {
            Action::ProgramContinuous { dose_ug_per_day } => Some((st.at_ms, dose_ug_per_day)),
            _ => None,
        }) else {
            return;
        };
        if dose <= prev_dose {
            return;
        }
        let at_refill = steps
            .iter()
            .any(|st| st.at_ms == at && matches!(st.action, Action::Refill { .. }));
        let limit = if at_refill { 1.40 } else { 1.30 };
        let increase = dose as f64 / prev_dose as f64;
        if at - prev_at < crate::units::MS_PER_DAY {
            self.fail::<()>(span, "scenario::titration", format!("the dose rises from {prev_dose} to {dose} ug/day less than 24 h after the previous change"), "titrate at most once per 24 h, or mark the step out_of_range_test = true");
        } else if increase > limit + 1e-9 {
            self.fail::<()>(span, "scenario::titration", format!("the dose rises by {:.0} % ({prev_dose} to {dose} ug/day); the label allows at most +{:.0} %", (increase - 1.0) * 100.0, (limit - 1.0) * 100.0), "titrate in smaller steps, or mark the step out_of_range_test = true");
        }
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
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count != 1 {
            return self.fail(span, "scenario::step-action", format!("a step needs exactly one action; this one has {count}"), "actions: program, bolus, refill, inject, clear, acknowledge, silence, stop, resume, set_threshold_ml; split it into several [[step]] tables at the same time");
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
        if s.stop.is_some() {
            return Some(Action::Stop);
        }
        if s.resume.is_some() {
            return Some(Action::Resume);
        }
        let threshold = s.set_threshold_ml.as_ref()?;
        let threshold_nl = self.ml_to_nl(threshold, "set_threshold_ml", capacity_ml)?;
        Some(Action::SetThreshold { threshold_nl })
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

    fn expectations(
        &mut self,
        raw: &RawExpect,
        steps: &[Step],
        alarm_tol: u64,
        end: u64,
        balance: bool,
    ) -> Option<Expectations> {
        let mut ok = true;
        let mut alarms = Vec::new();
        for a in &raw.alarm {
            let e = a.get_ref();
            let alarm = self.alarm(&e.alarm);
            let priority = Priority::from_name(e.priority.get_ref()).or_else(|| {
                self.fail(
                    e.priority.span(),
                    "scenario::unknown-priority",
                    format!("unknown priority {:?}", e.priority.get_ref()),
                    "use high, medium or low",
                )
            });
            let raised = self.window(&e.raised, steps, alarm_tol, end);
            let cleared = match &e.cleared {
                Some(w) => self.window(w, steps, alarm_tol, end).map(Some),
                None => Some(None),
            };
            match (alarm, priority, raised, cleared) {
                (Some(alarm), Some(priority), Some(raised), Some(cleared)) => {
                    alarms.push(ExpectedAlarm {
                        alarm,
                        priority,
                        raised,
                        cleared,
                    })
                }
                _ => ok = false,
            }
        }
        let mut forbidden = Vec::new();
        for f in &raw.forbid {
            let e = f.get_ref();
            let mut kinds = Vec::new();
            for name in &e.alarms {
                if name.get_ref() == "any" {
                    continue;
                }
                match self.alarm(name) {
                    Some(k) => kinds.push(k),
                    None => ok = false,
                }
            }
            let (Some(from), Some(to)) = (
                self.duration(&e.from, "forbid.from"),
                self.duration(&e.to, "forbid.to"),
            ) else {
                ok = false;
                continue;
            };
            if from > to || to > end {
                self.fail::<()>(
                    f.span(),
                    "scenario::window",
                    "forbid needs from <= to <= timing.end".to_string(),
                    "fix the span's times",
                );
                ok = false;
                continue;
            }
            forbidden.push(ForbiddenSpan {
                alarms: kinds,
                span: Window {
                    earliest_ms: from,
                    latest_ms: to,
                },
            });
        }
        let mut findings = Vec::new();
        for f in &raw.finding {
            let e = f.get_ref();
            let kind = FindingKind::from_name(e.kind.get_ref()).or_else(|| {
                self.fail(
                    e.kind.span(),
                    "scenario::unknown-finding",
                    format!("unknown finding {:?}", e.kind.get_ref()),
                    "use under_infusion, over_infusion or silent_depletion",
                )
            });
            if !balance {
                self.fail::<()>(
                    f.span(),
                    "scenario::finding",
                    "findings need a balance".to_string(),
                    "set bench.balance = true: findings come from the independent measurement",
                );
                ok = false;
            }
            let (Some(kind), Some(earliest), Some(latest)) = (
                kind,
                self.duration(&e.earliest, "finding.earliest"),
                self.duration(&e.latest, "finding.latest"),
            ) else {
                ok = false;
                continue;
            };
            if earliest > latest || latest > end {
                self.fail::<()>(
                    f.span(),
                    "scenario::window",
                    "a finding window needs earliest <= latest <= timing.end".to_string(),
                    "fix the window's times",
                );
                ok = false;
                continue;
            }
            findings.push(ExpectedFinding {
                kind,
                window: Window {
                    earliest_ms: earliest,
                    latest_ms: latest,
                },
            });
        }
        let d = &raw.discrepancy;
        let window_ms = match &d.window {
            Some(w) => self.duration(w, "discrepancy.window"),
            None => Some(15 * MS_PER_MINUTE),
        };
        let ratio = |c: &mut Self, v: &Option<S<f64>>, default: f64, what: &str| -> Option<f64> {
            match v {
                Some(v) if v.get_ref().is_finite() && (0.0..=10.0).contains(v.get_ref()) => {
                    Some(*v.get_ref())
                }
                Some(v) => c.fail(
                    v.span(),
                    "scenario::range",
                    format!("{what} is {}", v.get_ref()),
                    "ratios are fractions of the programmed flow, e.g. 0.9",
                ),
                None => Some(default),
            }
        };
        let under = ratio(self, &d.under_ratio, 0.9, "discrepancy.under_ratio");
        let over = ratio(self, &d.over_ratio, 1.1, "discrepancy.over_ratio");
        let stopped = ratio(self, &d.stopped_ratio, 0.1, "discrepancy.stopped_ratio");
        let min_strokes = match &d.min_strokes {
            Some(v) => self
                .int_in(
                    v,
                    "discrepancy.min_strokes",
                    1..=10_000,
                    "strokes a window must span",
                )
                .map(|v| v as u32),
            None => Some(20),
        };
        if !ok {
            return None;
        }
        Some(Expectations {
            alarms,
            forbidden,
            findings,
            check_delivered: raw.volume.delivered.unwrap_or(true),
            check_calculated: raw.volume.calculated.unwrap_or(true),
            check_tip: raw.volume.tip.unwrap_or(balance) && balance,
            discrepancy: DiscrepancyParams {
                window_ms: window_ms?,
                under_ratio: under?,
                over_ratio: over?,
                min_strokes: min_strokes?,
                stopped_ratio: stopped?,
            },
        })
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

/// Reads a `[defects]` table into the emulator's defect knobs.
fn defects_of_table(table: &toml::Table) -> Result<Defects, String> {
    toml::Value::Table(table.clone())
        .try_into::<Defects>()
        .map_err(|e| e.message().to_string())
}
