//! `bolus-volume`: for every bolus (bridge boluses included) and every programmed rate change,
//! the volume the balance measured at the tip over its window against the programmed one, with
//! its expanded uncertainty.
//!
//! A bolus's window runs from the last balance sample at or before its start to the first at
//! or after its end plus `SETTLING_MS`; the basal delivery expected meanwhile (the expected tip
//! increment less the bolus, both arithmetic from `expect`) is subtracted from the measured
//! increment, and what is left is the measured bolus. A rate change's window runs from the
//! last sample at or before it to the last at or before the next step (or the run's end); its
//! programmed volume is the expected increment at the new rate. Tolerance: the scenario's
//! relative volume tolerance of the programmed volume, plus its absolute floor (strokes and a
//! balance step), plus five standard deviations of the difference of two noisy readings, as
//! for tip-volume's increments. README.md (checks) and docs/metrology.md describe the choice.

use super::gravimetry::Gravimetry;
use super::volume::{increment_tolerance_nl, verdict_of, NOISE_SIGMAS};
use super::{names, time, CheckResult, Verdict};
use crate::expect::uncertainty::BalanceFigures;
use crate::expect::{ExpectedBolus, ExpectedSample};
use crate::record::schema::{BolusKind, BolusRow, Sample, UncertainResult};
use crate::scenario::{Action, Scenario};

/// How long after a bolus's nominal end its window stays open: the last stroke lands up to a
/// stroke period late and the balance needs seconds to settle (`S D` before `S S`).
pub const SETTLING_MS: u64 = 2 * 60_000;

/// A balance sample with its expected tip volume.
#[derive(Debug, Clone, Copy)]
struct Point {
    t_ms: u64,
    tip_nl: u64,
    expected_tip_nl: u64,
}

/// Where a window's end sample is found.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The first sample at or after this time (a bolus's end plus settling).
    FirstFrom(u64),
    /// The last sample at or before this time (the next step, or the run's end).
    LastBy(u64),
}

#[derive(Debug, Clone)]
struct Window {
    kind: BolusKind,
    at_ms: u64,
    programmed: String,
    /// The bolus's programmed volume, nL; None for a rate change (the expected increment).
    bolus_nl: Option<f64>,
    end: End,
    start: Option<Point>,
    stop: Option<Point>,
}

/// The windows of a scenario's boluses and rate changes, filled as samples arrive (memory is
/// two samples per window, whatever the run's length).
pub struct BolusVolume {
    windows: Vec<Window>,
    gravimetry: Gravimetry,
    /// Balance noise on one reading, nL (one standard deviation).
    noise_nl: f64,
}

impl BolusVolume {
    /// None when the scenario has no balance, or neither a bolus nor a rate change.
    pub fn for_scenario(
        scenario: &Scenario,
        noise_mg: f64,
        figures: &BalanceFigures,
    ) -> Option<BolusVolume> {
        if !scenario.bench.balance {
            return None;
        }
        let has_bolus = scenario
            .steps
            .iter()
            .any(|s| matches!(s.action.effect(), Action::Bolus { .. }));
        let boluses = if has_bolus {
            crate::expect::expected(scenario).boluses
        } else {
            Vec::new()
        };
        let mut windows: Vec<Window> = boluses.iter().map(bolus_window).collect();
        windows.extend(rate_change_windows(scenario));
        if windows.is_empty() {
            return None;
        }
        windows.sort_by_key(|w| w.at_ms);
        Some(BolusVolume {
            windows,
            gravimetry: Gravimetry::for_scenario(scenario, figures),
            noise_nl: noise_mg.max(0.0) * 1e3 / scenario.bench.density_g_per_ml,
        })
    }

    pub fn observe(&mut self, sample: &Sample, expected: Option<&ExpectedSample>) {
        let (Some(tip_nl), Some(exp)) = (sample.tip_nl, expected) else {
            return;
        };
        let here = Point {
            t_ms: sample.t_ms,
            tip_nl,
            expected_tip_nl: exp.tip_nl,
        };
        for w in &mut self.windows {
            if here.t_ms <= w.at_ms {
                w.start = Some(here);
            }
            match w.end {
                End::FirstFrom(t) if here.t_ms >= t && w.stop.is_none() => w.stop = Some(here),
                End::LastBy(t) if here.t_ms <= t && here.t_ms > w.at_ms => w.stop = Some(here),
                _ => {}
            }
        }
    }

    /// The table's rows, in the order the boluses and changes were made.
    pub fn rows(&self, scenario: &Scenario) -> Vec<BolusRow> {
        let two_readings = NOISE_SIGMAS * std::f64::consts::SQRT_2 * self.noise_nl;
        self.windows
            .iter()
            .map(|w| self.row(scenario, w, two_readings))
            .collect()
    }

    fn row(&self, scenario: &Scenario, w: &Window, two_readings_nl: f64) -> BolusRow {
        let judged = match (w.start, w.stop) {
            (Some(a), Some(b)) if b.t_ms > a.t_ms => Some((a, b)),
            _ => None,
        };
        let expected_nl = judged
            .map(|(a, b)| b.expected_tip_nl as f64 - a.expected_tip_nl as f64)
            .unwrap_or(0.0);
        let programmed_nl = w.bolus_nl.unwrap_or(expected_nl);
        // Basal delivery meanwhile, by arithmetic: the expected increment less the bolus.
        let background_nl = if w.bolus_nl.is_some() {
            expected_nl - programmed_nl
        } else {
            0.0
        };
        let tolerance_nl = increment_tolerance_nl(scenario, programmed_nl, two_readings_nl);
        let mut row = BolusRow {
            kind: w.kind,
            at_ms: w.at_ms,
            programmed: w.programmed.clone(),
            from_ms: w.start.map(|p| p.t_ms),
            to_ms: w.stop.map(|p| p.t_ms),
            programmed_ul: programmed_nl / 1e3,
            background_ul: background_nl / 1e3,
            measured_ul: None,
            tolerance_ul: tolerance_nl / 1e3,
            expanded_ul: None,
            verdict: Verdict::NotEvaluated,
        };
        if let Some((a, b)) = judged {
            let increment_nl = b.tip_nl as f64 - a.tip_nl as f64;
            let measured_nl = increment_nl - background_nl;
            let error_nl = measured_nl - programmed_nl;
            let j = self.gravimetry.judge(
                String::new(),
                increment_nl,
                b.t_ms - a.t_ms,
                error_nl,
                tolerance_nl,
            );
            row.measured_ul = Some(measured_nl / 1e3);
            row.expanded_ul = Some(j.uncertainty.expanded);
            row.verdict = verdict_of(
                self.gravimetry.rule(),
                error_nl.abs() <= tolerance_nl,
                j.decision,
            );
        }
        row
    }

    pub fn finish(&self, scenario: &Scenario, rows: &[BolusRow]) -> CheckResult {
        let t = &scenario.tolerance;
        let judged: Vec<&BolusRow> = rows.iter().filter(|r| r.measured_ul.is_some()).collect();
        let unjudged_boluses = rows
            .iter()
            .filter(|r| r.measured_ul.is_none() && r.kind != BolusKind::RateChange)
            .count();
        let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
        let verdict = if count(Verdict::Fail) > 0 {
            Verdict::Fail
        } else if count(Verdict::Inconclusive) > 0 {
            Verdict::Inconclusive
        } else if judged.is_empty() || unjudged_boluses > 0 {
            Verdict::NotEvaluated
        } else {
            Verdict::Pass
        };
        let fraction = |r: &BolusRow| {
            (r.measured_ul.unwrap_or(0.0) - r.programmed_ul).abs() / r.tolerance_ul.max(1e-3)
        };
        let worst = judged
            .iter()
            .copied()
            .max_by(|a, b| fraction(a).total_cmp(&fraction(b)));
        let tolerance_rule = format!(
            "±{:.0} % of the programmed volume + {:.1} uL floor, + 5 sd of two balance readings",
            t.volume_relative * 100.0,
            t.volume_absolute_nl as f64 / 1e3
        );
        let summary = format!(
            "{} boluses and {} rate changes: {} judged, {} outside tolerance, {} not evaluated (no balance sample {} the window)",
            rows.iter().filter(|r| r.kind != BolusKind::RateChange).count(),
            rows.iter().filter(|r| r.kind == BolusKind::RateChange).count(),
            judged.len(),
            count(Verdict::Fail),
            count(Verdict::NotEvaluated),
            "at one end of"
        );
        let Some(w) = worst else {
            return CheckResult {
                name: names::BOLUS_VOLUME.to_string(),
                verdict,
                expected: format!("{} windows", rows.len()),
                measured: "not measured".to_string(),
                tolerance: tolerance_rule,
                margin: None,
                unit: "uL".to_string(),
                at_ms: None,
                detail: format!("not evaluated: {summary}"),
                margin_percent: None,
                end_value: None,
                uncertainty: None,
            };
        };
        let measured = w.measured_ul.unwrap_or(0.0);
        let (from, to) = (w.from_ms.unwrap_or(0), w.to_ms.unwrap_or(0));
        let quantity = format!(
            "{} at {} ({}), measured over {} .. {}",
            w.kind.label(),
            time(w.at_ms),
            w.programmed,
            time(from),
            time(to)
        );
        let mut uncertainty = self
            .gravimetry
            .judge(
                quantity.clone(),
                (measured + w.background_ul) * 1e3,
                to - from,
                (measured - w.programmed_ul) * 1e3,
                w.tolerance_ul * 1e3,
            )
            .uncertainty;
        uncertainty.results = judged
            .iter()
            .map(|r| UncertainResult {
                quantity: format!("{} at {}", r.kind.label(), time(r.at_ms)),
                expected: r.programmed_ul,
                measured: r.measured_ul.unwrap_or(0.0),
                tolerance: r.tolerance_ul,
                expanded: r.expanded_ul.unwrap_or(0.0),
                unit: "uL".to_string(),
                verdict: r.verdict,
            })
            .collect();
        let used = fraction(w);
        CheckResult {
            name: names::BOLUS_VOLUME.to_string(),
            verdict,
            expected: format!("{:.1} uL ({})", w.programmed_ul, w.programmed),
            measured: format!(
                "{measured:.1} uL ({:+.1} %), background {:.1} uL subtracted",
                w.error_percent().unwrap_or(0.0),
                w.background_ul
            ),
            tolerance: format!("±{:.1} uL ({tolerance_rule})", w.tolerance_ul),
            margin: Some(w.tolerance_ul - (measured - w.programmed_ul).abs()),
            unit: "uL".to_string(),
            at_ms: Some(w.at_ms),
            detail: format!(
                "worst is the {quantity}, {:.0} % of its tolerance used; {summary}",
                used * 100.0
            ),
            margin_percent: Some((1.0 - used) * 100.0),
            end_value: None,
            uncertainty: Some(uncertainty),
        }
    }
}

fn bolus_window(b: &ExpectedBolus) -> Window {
    Window {
        kind: if b.bridge {
            BolusKind::BridgeBolus
        } else {
            BolusKind::Bolus
        },
        at_ms: b.at_ms,
        programmed: format!(
            "{} ug at {} ug/mL = {:.1} uL over {}",
            b.dose_ug,
            b.concentration_ug_per_ml,
            b.volume_nl / 1e3,
            time(b.duration_ms)
        ),
        bolus_nl: Some(b.volume_nl),
        end: End::FirstFrom(b.at_ms + b.duration_ms + SETTLING_MS),
        start: None,
        stop: None,
    }
}

/// Every program step after the first that the scenario does not expect refused: its window
/// ends at the next step or the run's end.
fn rate_change_windows(scenario: &Scenario) -> Vec<Window> {
    let mut steps: Vec<_> = scenario.steps.iter().collect();
    steps.sort_by_key(|s| s.at_ms);
    let is_program = |a: &Action| {
        matches!(
            a,
            Action::ProgramContinuous { .. } | Action::ProgramFlexible { .. }
        )
    };
    let mut seen_program = false;
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let action = step.action.effect();
        if !is_program(action) || step.refused.is_some() {
            continue;
        }
        if !seen_program {
            seen_program = true;
            continue;
        }
        let next = steps[i + 1..]
            .iter()
            .map(|s| s.at_ms)
            .find(|&t| t > step.at_ms)
            .unwrap_or(scenario.end_ms);
        let programmed = match action {
            Action::ProgramContinuous { dose_ug_per_day } => {
                format!("to {dose_ug_per_day} ug/day")
            }
            other => format!(
                "to a flexible schedule of {:.0} ug/day",
                other.daily_total_ug().unwrap_or(0.0)
            ),
        };
        out.push(Window {
            kind: BolusKind::RateChange,
            at_ms: step.at_ms,
            programmed,
            bolus_nl: None,
            end: End::LastBy(next),
            start: None,
            stop: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the check over the refill scenario's fixture rows with the tip volume as the
    /// expected one, except that the bridge bolus (0.1 mL at 1d 1m) delivers `bolus_percent`
    /// of its volume.
    fn run(bolus_percent: f64, until_ms: Option<u64>) -> (Vec<BolusRow>, CheckResult) {
        let scenario =
            crate::scenario::load(std::path::Path::new("scenarios/refill.toml")).expect("refill");
        let expected = crate::expect::expected(&scenario);
        let mut check =
            BolusVolume::for_scenario(&scenario, 0.0, &BalanceFigures::default()).expect("bolus");
        let bolus_at = 86_400_000 + 60_000;
        let rows = expected.samples.iter();
        for row in rows.take_while(|r| until_ms.is_none_or(|u| r.t_ms <= u)) {
            // The shortfall shows from the bolus's end on.
            let short = if row.t_ms >= bolus_at + 30 * 60_000 {
                (100_000.0 * (bolus_percent - 100.0) / 100.0) as i64
            } else {
                0
            };
            let sample = Sample {
                tip_nl: Some((row.tip_nl as i64 + short) as u64),
                ..Sample::running_at(row.t_ms)
            };
            check.observe(&sample, Some(row));
        }
        let rows = check.rows(&scenario);
        let result = check.finish(&scenario, &rows);
        (rows, result)
    }

    #[test]
    fn a_correct_bridge_bolus_passes_with_its_uncertainty() {
        let (rows, result) = run(100.0, None);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row.kind, BolusKind::BridgeBolus);
        assert!((row.programmed_ul - 100.0).abs() < 1e-6);
        // Window 1d .. 1d 1h (30-minute samples): 1 h at 0.6 mL/day... less the bolus's
        // half hour at the new rate: the background is the expected increment less 100 uL.
        assert_eq!(row.from_ms, Some(86_400_000));
        assert_eq!(row.to_ms, Some(86_400_000 + 3_600_000));
        assert!(
            row.background_ul > 20.0 && row.background_ul < 50.0,
            "{row:?}"
        );
        assert!((row.measured_ul.unwrap() - 100.0).abs() < 0.01, "{row:?}");
        assert!(row.expanded_ul.is_some_and(|u| u > 0.0));
        assert_eq!(row.verdict, Verdict::Pass);
        assert_eq!(result.name, names::BOLUS_VOLUME);
        assert_eq!(result.verdict, Verdict::Pass, "{result:?}");
        assert!(result
            .uncertainty
            .as_ref()
            .is_some_and(|u| u.results.len() == 1 && u.expanded > 0.0));
    }

    /// 75 uL of 100: −25 uL, outside ±15 % + the 5.1 uL floor (20.1 uL); 80 uL is inside.
    #[test]
    fn a_short_bolus_fails() {
        let (rows, result) = run(75.0, None);
        assert!((rows[0].tolerance_ul - 20.1).abs() < 0.05, "{:?}", rows[0]);
        assert!((rows[0].measured_ul.unwrap() - 75.0).abs() < 0.01);
        assert!((rows[0].error_percent().unwrap() + 25.0).abs() < 0.01);
        assert_eq!(rows[0].verdict, Verdict::Fail);
        assert_eq!(result.verdict, Verdict::Fail);
        assert_eq!(run(80.0, None).1.verdict, Verdict::Pass);
    }

    /// The balance answers no more after 1d 30m: no sample closes the bolus's window, and the
    /// check is not evaluated, never passed.
    #[test]
    fn no_sample_after_the_bolus_is_not_evaluated() {
        let (rows, result) = run(100.0, Some(86_400_000 + 30 * 60_000));
        assert_eq!(rows[0].verdict, Verdict::NotEvaluated, "{rows:?}");
        assert_eq!(result.verdict, Verdict::NotEvaluated, "{result:?}");
    }
}
