//! Second parsing stage: turns a `RawScenario` into a checked `Scenario`, collecting every error.

mod analysis;
mod controls;
mod interlock;
mod operator;
mod steps;
mod windows;

use super::duration::parse_duration;
use super::error::InputError;
use super::model::*;
use super::raw::*;
use crate::protocol::AlarmKind;
use crate::units::{nominal, MS_PER_MINUTE, NL_PER_ML, NL_PER_UL};
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
        let mut named: Vec<&str> = Vec::new();
        for requirement in raw.requirements.get_ref() {
            let text = requirement.get_ref().as_str();
            if text.trim().is_empty() || text.trim() != text {
                self.fail::<()>(
                    requirement.span(),
                    "scenario::requirement-id",
                    format!("requirement id {text:?} is blank or has surrounding spaces"),
                    "name requirement ids as requirements.toml defines them, e.g. \"PH-REQ-010\"",
                );
            } else if named.contains(&text) {
                self.fail::<()>(
                    requirement.span(),
                    "scenario::duplicate-requirement",
                    format!("requirement {text:?} is listed twice"),
                    "list each requirement once",
                );
            }
            named.push(text);
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
            None => Some(nominal::STROKE_NL),
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
            None => Some(nominal::SALINE_DENSITY_G_PER_ML),
        };
        let balance = raw.bench.balance.unwrap_or(true);
        let (coldest, warmest) = crate::units::nominal::FLUID_TEMPERATURE_RANGE_C;
        let temperature = match &raw.bench.temperature_c {
            Some(v) if v.get_ref().is_finite() && (coldest..=warmest).contains(v.get_ref()) => {
                Some(Some(*v.get_ref()))
            }
            Some(v) => self
                .fail::<()>(
                    v.span(),
                    "scenario::range",
                    format!(
                        "bench.temperature_c is {}; the density tables cover {coldest}-{warmest} °C",
                        v.get_ref()
                    ),
                    "give the fluid's temperature at the balance in °C, e.g. temperature_c = 22.0",
                )
                .map(|_| None),
            None => Some(None),
        };

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
            stroke_nl.unwrap_or(nominal::STROKE_NL),
            density.unwrap_or(nominal::SALINE_DENSITY_G_PER_ML),
        );
        let alarm_tol = tolerance.as_ref().map(|t| t.alarm_ms).unwrap_or(0);

        let patient_group = match &d.patient_group {
            Some(name) => PatientGroup::from_name(name.get_ref()).or_else(|| {
                self.fail(
                    name.span(),
                    "scenario::patient-group",
                    format!("unknown patient group {:?}", name.get_ref()),
                    "use \"spinal\" (the default), \"cerebral\" or \"child\": the group sets the label's titration limits",
                )
            }),
            None => Some(PatientGroup::Spinal),
        };
        let steps = self.steps(
            &raw.steps,
            capacity_ml,
            end,
            patient_group.unwrap_or_default(),
        );
        let defects = self.defects(&raw);
        let expect = steps
            .as_deref()
            .and_then(|steps| self.expectations(&raw.expect, steps, alarm_tol, end, balance));
        let negative_control = self.negative_control(&raw, expect.as_ref(), balance);
        let analysis = steps.as_deref().and_then(|steps| {
            self.analysis(&raw.analysis, steps, end, sample_ms.unwrap_or(1), balance)
        });
        let (steps, expect, analysis) = (steps?, expect?, analysis?);

        if !self.errors.is_empty() {
            return None;
        }
        Some(Scenario {
            path: self.path.to_path_buf(),
            sha256,
            id,
            title: raw.title,
            description: raw.description,
            requirement_spans: raw
                .requirements
                .get_ref()
                .iter()
                .map(|r| r.span())
                .collect(),
            requirements: raw
                .requirements
                .into_inner()
                .into_iter()
                .map(|r| r.into_inner())
                .collect(),
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
                patient_group: patient_group?,
            },
            defects,
            bench: BenchNeeds {
                balance,
                density_g_per_ml: density?,
                temperature_c: temperature?,
            },
            end_ms: end_ms?,
            sample_ms: sample_ms?,
            tolerance: tolerance?,
            steps,
            expect,
            analysis,
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
        let readability_nl = (nominal::BALANCE_READABILITY_MG * 1e-3 / density * 1e6).ceil() as u64;
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
        let clock_drift_percent = match &raw.clock_drift_percent {
            Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 && *v.get_ref() < 100.0 => {
                *v.get_ref()
            }
            Some(v) => {
                return self.fail(
                    v.span(),
                    "scenario::range",
                    format!("tolerance.clock_drift_percent is {}", v.get_ref()),
                    "how far the device clock may run from the host clock, percent: e.g. 0.1",
                )
            }
            None => DEFAULT_CLOCK_DRIFT_PERCENT,
        };
        let guard_band_ul = match &raw.guard_band_ul {
            Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 => Some(*v.get_ref()),
            Some(v) => {
                return self.fail(
                    v.span(),
                    "scenario::range",
                    format!("tolerance.guard_band_ul is {}", v.get_ref()),
                    "a guard band is a positive volume in µL; leave it out to use the expanded uncertainty U",
                )
            }
            None => None,
        };
        let decision_rule = match raw
            .decision_rule
            .as_ref()
            .map(|r| (r, r.get_ref().as_str()))
        {
            None | Some((_, "simple")) => {
                if let Some(v) = &raw.guard_band_ul {
                    return self.fail(
                        v.span(),
                        "scenario::range",
                        "tolerance.guard_band_ul without decision_rule = \"guarded\"".to_string(),
                        "a guard band applies to guarded acceptance only: add decision_rule = \"guarded\" or remove it",
                    );
                }
                AcceptanceRule::Simple
            }
            Some((_, "guarded")) => AcceptanceRule::Guarded { guard_band_ul },
            Some((r, other)) => {
                return self.fail(
                    r.span(),
                    "scenario::range",
                    format!("tolerance.decision_rule is \"{other}\""),
                    "decision_rule is \"simple\" (the default) or \"guarded\"",
                )
            }
        };
        Some(Tolerances {
            volume_relative: relative,
            volume_absolute_nl: absolute,
            alarm_ms,
            decision_rule,
            clock_drift_percent,
        })
    }
}
