//! Flow findings from the independent measurement: under-infusion, over-infusion and silent
//! depletion, judged from balance-measured tip volume over sliding windows.
//!
//! The programmed flow over a window is the expected delivered increment (arithmetic from the
//! scenario). Windows are at least `window_ms` long and are widened until they hold
//! `min_strokes` expected strokes, so that the pump's pulsatile delivery does not look like a
//! flow error (domain.md: windows must scale with the pulse period).

use super::{names, time, CheckResult, Finding, Verdict};
use crate::expect::ExpectedSample;
use crate::record::Sample;
use crate::scenario::{Action, FindingKind, Scenario};

struct WindowFlow {
    t_ms: u64,
    start_ms: u64,
    expected_nl: f64,
    measured_nl: f64,
}

fn windows(
    scenario: &Scenario,
    expected: &[ExpectedSample],
    samples: &[Sample],
) -> Vec<WindowFlow> {
    let p = &scenario.expect.discrepancy;
    let min_volume = p.min_strokes as f64 * scenario.device.stroke_nl as f64;
    let mut out = Vec::new();
    let pairs: Vec<(&Sample, &ExpectedSample)> = samples
        .iter()
        .filter_map(|s| expected.iter().find(|e| e.t_ms == s.t_ms).map(|e| (s, e)))
        .filter(|(s, _)| s.tip_nl.is_some())
        .collect();
    for i in 0..pairs.len() {
        let (si, ei) = pairs[i];
        let Some(mut j) = (0..i)
            .rev()
            .find(|&j| si.t_ms - pairs[j].0.t_ms >= p.window_ms)
        else {
            continue;
        };
        while j > 0 && (ei.delivered_nl as f64 - pairs[j].1.delivered_nl as f64) < min_volume {
            j -= 1;
        }
        let (sj, ej) = pairs[j];
        let expected_nl = ei.delivered_nl as f64 - ej.delivered_nl as f64;
        if expected_nl < min_volume {
            continue;
        }
        let measured_nl = si.tip_nl.unwrap_or(0) as f64 - sj.tip_nl.unwrap_or(0) as f64;
        out.push(WindowFlow {
            t_ms: si.t_ms,
            start_ms: sj.t_ms,
            expected_nl,
            measured_nl,
        });
    }
    out
}

/// The programmed fill in force at `t` and the time it was made.
fn fill_before(scenario: &Scenario, t: u64) -> (u64, u64) {
    let mut fill = (scenario.device.initial_fill_nl, 0);
    for step in scenario.steps.iter().filter(|s| s.at_ms <= t) {
        if let Action::Refill { volume_nl, .. } = step.action {
            fill = (volume_nl, step.at_ms);
        }
    }
    fill
}

/// The first moment each kind of discrepancy shows.
pub fn find_discrepancies(
    scenario: &Scenario,
    expected: &[ExpectedSample],
    samples: &[Sample],
) -> Vec<Finding> {
    let p = &scenario.expect.discrepancy;
    let mut found: Vec<Finding> = Vec::new();
    let mut note = |kind: FindingKind, t: u64, detail: String| {
        if !found.iter().any(|f| f.kind == kind) {
            found.push(Finding {
                kind,
                t_ms: t,
                detail,
            });
        }
    };
    for w in windows(scenario, expected, samples) {
        let ratio = w.measured_nl / w.expected_nl;
        let span = format!("{} .. {}", time(w.start_ms), time(w.t_ms));
        if ratio < p.under_ratio {
            note(
                FindingKind::UnderInfusion,
                w.t_ms,
                format!(
                    "measured tip flow {:.1} % of programmed over {span}",
                    ratio * 100.0
                ),
            );
        }
        if ratio > p.over_ratio {
            note(
                FindingKind::OverInfusion,
                w.t_ms,
                format!(
                    "measured tip flow {:.1} % of programmed over {span}",
                    ratio * 100.0
                ),
            );
        }
        let Some(sample) = samples.iter().find(|s| s.t_ms == w.t_ms) else {
            continue;
        };
        let reports_volume = sample.calculated_nl >= scenario.device.stroke_nl;
        let delivering = matches!(sample.therapy_state.as_str(), "running" | "bolus");
        if ratio < p.stopped_ratio && reports_volume && delivering {
            // Mass balance: the balance has received the whole fill, so the reservoir is
            // physically empty (a disconnect leaves the fill in the pump and is not depletion).
            let (fill, fill_at) = fill_before(scenario, w.t_ms);
            let tip_at_fill = samples
                .iter()
                .rfind(|s| s.t_ms <= fill_at)
                .and_then(|s| s.tip_nl)
                .unwrap_or(0);
            let since_fill = sample.tip_nl.unwrap_or(0).saturating_sub(tip_at_fill) as f64;
            if since_fill >= fill as f64 * (1.0 - scenario.tolerance.volume_relative) {
                note(FindingKind::SilentDepletion, w.t_ms, format!(
                    "device reports {:.3} mL left and {} while the tip received {:.1} % of programmed flow over {span}; {:.3} mL of the {:.3} mL fill has reached the tip",
                    sample.calculated_nl as f64 / 1e6, sample.therapy_state, ratio * 100.0, since_fill / 1e6, fill as f64 / 1e6
                ));
            }
        }
    }
    found
}

pub fn check_findings(scenario: &Scenario, findings: &[Finding]) -> Vec<CheckResult> {
    let p = &scenario.expect.discrepancy;
    FindingKind::ALL
        .into_iter()
        .map(|kind| {
            let name = match kind {
                FindingKind::UnderInfusion => names::UNDER_INFUSION,
                FindingKind::OverInfusion => names::OVER_INFUSION,
                FindingKind::SilentDepletion => names::SILENT_DEPLETION,
            };
            let criterion = match kind {
                FindingKind::UnderInfusion => format!("tip flow < {:.0} % of programmed over >= {}", p.under_ratio * 100.0, time(p.window_ms)),
                FindingKind::OverInfusion => format!("tip flow > {:.0} % of programmed over >= {}", p.over_ratio * 100.0, time(p.window_ms)),
                FindingKind::SilentDepletion => format!("tip flow < {:.0} % while the device reports volume left and the fill has reached the tip", p.stopped_ratio * 100.0),
            };
            let expected = scenario.expect.findings.iter().find(|f| f.kind == kind);
            let found = findings.iter().find(|f| f.kind == kind);
            let (pass, expected_text, margin) = match (expected, found) {
                (Some(e), Some(f)) => {
                    let w = e.window;
                    let m = (f.t_ms as f64 - w.earliest_ms as f64).min(w.latest_ms as f64 - f.t_ms as f64) / 1000.0;
                    (w.contains(f.t_ms), format!("found between {} and {}", time(w.earliest_ms), time(w.latest_ms)), Some(m))
                }
                (Some(e), None) => (false, format!("found between {} and {}", time(e.window.earliest_ms), time(e.window.latest_ms)), None),
                (None, Some(_)) => (false, "not found".to_string(), None),
                (None, None) => (true, "not found".to_string(), None),
            };
            CheckResult {
                name: name.to_string(),
                verdict: if pass { Verdict::Pass } else { Verdict::Fail },
                expected: expected_text,
                measured: found.map(|f| format!("found at {}", time(f.t_ms))).unwrap_or_else(|| "not found".to_string()),
                tolerance: criterion,
                margin,
                unit: "s".to_string(),
                at_ms: found.map(|f| f.t_ms),
                detail: found.map(|f| f.detail.clone()).unwrap_or_else(|| "no window met the criterion".to_string()),
            }
        })
        .collect()
}
