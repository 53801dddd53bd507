//! Volume checks: device-reported delivered and calculated volumes, and the balance-measured tip
//! volume, against the expected trace at every sample.

use super::{ml, names, time, CheckResult, Verdict};
use crate::expect::ExpectedSample;
use crate::record::Sample;
use crate::scenario::Scenario;

/// Tolerance at a sample: the relative tolerance of the volume delivered so far, never below
/// the absolute floor (two strokes and a balance readability step by default).
pub fn tolerance_nl(scenario: &Scenario, expected: &ExpectedSample) -> f64 {
    let t = &scenario.tolerance;
    (t.volume_relative * expected.delivered_nl as f64).max(t.volume_absolute_nl as f64)
}

fn series(
    scenario: &Scenario,
    name: &str,
    what: &str,
    expected: &[ExpectedSample],
    samples: &[Sample],
    pick_expected: impl Fn(&ExpectedSample) -> u64,
    pick_measured: impl Fn(&Sample) -> Option<u64>,
) -> CheckResult {
    let mut worst: Option<(f64, u64, u64, u64, f64)> = None; // margin, t, expected, measured, tol
    let mut compared = 0;
    let mut failures = 0;
    let mut missing = 0;
    for sample in samples {
        let Some(exp) = expected.iter().find(|e| e.t_ms == sample.t_ms) else {
            missing += 1;
            continue;
        };
        let Some(measured) = pick_measured(sample) else {
            missing += 1;
            continue;
        };
        let want = pick_expected(exp);
        let tol = tolerance_nl(scenario, exp);
        let margin = tol - (measured as f64 - want as f64).abs();
        compared += 1;
        if margin < 0.0 {
            failures += 1;
        }
        if worst.is_none_or(|w| margin < w.0) {
            worst = Some((margin, sample.t_ms, want, measured, tol));
        }
    }
    let last = samples.last().zip(
        expected
            .iter()
            .find(|e| Some(e.t_ms) == samples.last().map(|s| s.t_ms)),
    );
    let end_text = match last {
        Some((s, e)) => match pick_measured(s) {
            Some(m) => format!(
                "at the end ({}): expected {}, measured {}",
                time(s.t_ms),
                ml(pick_expected(e) as f64),
                ml(m as f64)
            ),
            None => String::new(),
        },
        None => String::new(),
    };
    match worst {
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

pub fn check_volumes(
    scenario: &Scenario,
    expected: &[ExpectedSample],
    samples: &[Sample],
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let e = &scenario.expect;
    if e.check_delivered {
        out.push(series(
            scenario,
            names::DELIVERED_VOLUME,
            "device-reported cumulative delivered volume",
            expected,
            samples,
            |x| x.delivered_nl,
            |s| Some(s.delivered_nl),
        ));
    }
    if e.check_calculated {
        out.push(series(
            scenario,
            names::CALCULATED_RESERVOIR,
            "device-reported calculated reservoir volume",
            expected,
            samples,
            |x| x.calculated_nl,
            |s| Some(s.calculated_nl),
        ));
    }
    if e.check_tip {
        out.push(series(
            scenario,
            names::TIP_VOLUME,
            "balance-measured catheter-tip volume",
            expected,
            samples,
            |x| x.tip_nl,
            |s| s.tip_nl,
        ));
    }
    out
}
