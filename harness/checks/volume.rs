//! Volume checks: device-reported delivered and calculated volumes, and the balance-measured tip
//! volume, against the expected trace at every sample.

use super::{ml, names, time, CheckResult, Verdict};
use crate::expect::ExpectedSample;
use crate::record::schema::Sample;
use crate::scenario::Scenario;

/// Tolerance at a sample: the relative tolerance of the volume delivered so far, never below
/// the absolute floor (two strokes and a balance readability step by default).
pub fn tolerance_nl(scenario: &Scenario, expected: &ExpectedSample) -> f64 {
    let t = &scenario.tolerance;
    band_nl(
        t.volume_relative,
        t.volume_absolute_nl,
        expected.delivered_nl,
    )
}

/// The half-width of the judged band around an expected volume, in nL: the larger of the
/// relative tolerance of the volume delivered so far and the absolute floor. The report's
/// volume plot shades this same band, so what is drawn is what was judged.
pub fn band_nl(relative: f64, absolute_nl: u64, expected_delivered_nl: u64) -> f64 {
    (relative * expected_delivered_nl as f64).max(absolute_nl as f64)
}

/// One volume series judged sample by sample as the run goes, keeping only the worst sample,
/// the counts and the last pair: memory does not grow with the scenario's length.
pub struct SeriesCheck {
    name: &'static str,
    what: &'static str,
    pick_expected: fn(&ExpectedSample) -> u64,
    pick_measured: fn(&Sample) -> Option<u64>,
    /// Read from the bench plant: with no value at any sample the device did not answer
    /// ReadPlant, and the check is "not evaluated", not failed.
    needs_plant: bool,
    /// margin, t, expected, measured, tolerance
    worst: Option<(f64, u64, u64, u64, f64)>,
    compared: u64,
    failures: u64,
    missing: u64,
    /// The latest sample's time, its measured value and its expected value.
    last: Option<(u64, Option<u64>, Option<u64>)>,
}

impl SeriesCheck {
    fn new(
        name: &'static str,
        what: &'static str,
        pick_expected: fn(&ExpectedSample) -> u64,
        pick_measured: fn(&Sample) -> Option<u64>,
    ) -> SeriesCheck {
        SeriesCheck {
            name,
            what,
            pick_expected,
            pick_measured,
            needs_plant: false,
            worst: None,
            compared: 0,
            failures: 0,
            missing: 0,
            last: None,
        }
    }

    /// Every check that applies to the scenario, in report order.
    pub fn for_scenario(scenario: &Scenario) -> Vec<SeriesCheck> {
        let e = &scenario.expect;
        let mut out = Vec::new();
        if e.check_delivered {
            out.push(SeriesCheck::new(
                names::DELIVERED_VOLUME,
                "device-reported cumulative delivered volume",
                |x| x.delivered_nl,
                |s| Some(s.delivered_nl),
            ));
        }
        if e.check_calculated {
            out.push(SeriesCheck::new(
                names::CALCULATED_RESERVOIR,
                "device-reported calculated reservoir volume",
                |x| x.calculated_nl,
                |s| Some(s.calculated_nl),
            ));
        }
        if e.check_tip {
            out.push(SeriesCheck::new(
                names::TIP_VOLUME,
                "balance-measured catheter-tip volume",
                |x| x.tip_nl,
                |s| s.tip_nl,
            ));
        }
        if e.check_actual {
            let mut plant = SeriesCheck::new(
                names::ACTUAL_RESERVOIR,
                "bench-plant actual reservoir volume",
                |x| x.actual_nl,
                |s| s.actual_reservoir_nl,
            );
            plant.needs_plant = true;
            out.push(plant);
        }
        out
    }

    /// Judges one sample against its expected row (None when the fixture has no row for it).
    pub fn observe(
        &mut self,
        scenario: &Scenario,
        sample: &Sample,
        expected: Option<&ExpectedSample>,
    ) {
        let measured = (self.pick_measured)(sample);
        let want = expected.map(self.pick_expected);
        self.last = Some((sample.t_ms, measured, want));
        let (Some(exp), Some(measured), Some(want)) = (expected, measured, want) else {
            self.missing += 1;
            return;
        };
        let tol = tolerance_nl(scenario, exp);
        let margin = tol - (measured as f64 - want as f64).abs();
        self.compared += 1;
        if margin < 0.0 {
            self.failures += 1;
        }
        if self.worst.is_none_or(|w| margin < w.0) {
            self.worst = Some((margin, sample.t_ms, want, measured, tol));
        }
    }

    pub fn finish(self, scenario: &Scenario) -> CheckResult {
        let (name, what, compared, failures, missing) = (
            self.name,
            self.what,
            self.compared,
            self.failures,
            self.missing,
        );
        let end_text = match self.last {
            Some((t, Some(m), Some(want))) => format!(
                "at the end ({}): expected {}, measured {}",
                time(t),
                ml(want as f64),
                ml(m as f64)
            ),
            _ => String::new(),
        };
        match self.worst {
            Some((margin, t, want, measured, tol)) if compared > 0 => CheckResult {
                name: name.to_string(),
                verdict: if failures == 0 { Verdict::Pass } else { Verdict::Fail },
                expected: ml(want as f64),
                measured: ml(measured as f64),
                tolerance: format!("±{} (±{:.0} % of delivered, floor {})", ml(tol), scenario.tolerance.volume_relative * 100.0, ml(scenario.tolerance.volume_absolute_nl as f64)),
                margin: Some(margin / 1e3),
                unit: "uL".to_string(),
                at_ms: Some(t),
                detail: format!(
                    "{what}: {compared} samples compared, {failures} outside tolerance; worst at {}{}{}",
                    time(t),
                    if end_text.is_empty() { String::new() } else { format!("; {end_text}") },
                    if missing > 0 { format!("; {missing} samples without a value") } else { String::new() }
                ),
            },
            _ if self.needs_plant => CheckResult {
                name: name.to_string(),
                verdict: Verdict::NotEvaluated,
                expected: "a bench-plant value at every sample".to_string(),
                measured: "not read".to_string(),
                tolerance: String::new(),
                margin: None,
                unit: "uL".to_string(),
                at_ms: None,
                detail: format!("{what}: not evaluated — the device did not answer ReadPlant ({missing} samples without a value)"),
            },
            _ => CheckResult {
                name: name.to_string(),
                verdict: Verdict::Fail,
                expected: "a value at every sample".to_string(),
                measured: "no samples".to_string(),
                tolerance: String::new(),
                margin: None,
                unit: "uL".to_string(),
                at_ms: None,
                detail: format!("{what}: nothing to compare ({missing} samples without a value)"),
            },
        }
    }
}
