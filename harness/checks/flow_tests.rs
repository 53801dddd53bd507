//! The streaming flow finder against the whole-trace algorithm it replaced (kept here as the
//! oracle): on random traces, both find the same first moment of each discrepancy.

use super::flow::FlowFinder;
use super::{time, Finding};
use crate::expect::ExpectedSample;
use crate::record::schema::Sample;
use crate::scenario::{Action, FindingKind, Scenario};
use proptest::prelude::*;

// ---- the oracle: the whole-trace algorithm as it was before samples were streamed ----

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
fn find_discrepancies_whole(
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
        let delivering = sample.is_delivering();
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

// ---- random traces ----

fn scenario() -> Scenario {
    crate::scenario::load(std::path::Path::new("scenarios/refill.toml")).expect("scenario")
}

/// One sample: expected delivery step, tip step (None: no balance reading), calculated
/// volume, therapy running or not, and whether the fixture has a row for it.
type Step = (u64, Option<u64>, u64, bool);

fn trace(scenario: &Scenario, steps: &[Step]) -> (Vec<Sample>, Vec<ExpectedSample>) {
    let (mut delivered, mut tip) = (0u64, 0u64);
    let mut samples = Vec::new();
    let mut expected = Vec::new();
    for (i, &(expected_step, tip_step, calculated, running)) in steps.iter().enumerate() {
        let t_ms = i as u64 * scenario.sample_ms;
        delivered += expected_step;
        if let Some(step) = tip_step {
            tip += step;
        }
        expected.push(ExpectedSample {
            t_ms,
            delivered_nl: delivered,
            calculated_nl: calculated,
            tip_nl: delivered,
            actual_nl: 0,
            programmed_nl_per_day: 0,
        });
        samples.push(Sample {
            delivered_nl: delivered,
            calculated_nl: calculated,
            therapy_state: if running {
                crate::protocol::TherapyState::Running
            } else {
                crate::protocol::TherapyState::Stopped
            },
            tip_nl: tip_step.map(|_| tip),
            ..Sample::running_at(t_ms)
        });
    }
    (samples, expected)
}

fn streamed(scenario: &Scenario, samples: &[Sample], expected: &[ExpectedSample]) -> Vec<Finding> {
    let mut finder = FlowFinder::new(scenario);
    for (sample, row) in samples.iter().zip(expected) {
        finder.observe(scenario, sample, Some(row));
    }
    finder.finish()
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![Just(0u64), 0u64..60_000],
        prop_oneof![Just(None), Just(Some(0u64)), (0u64..80_000).prop_map(Some)],
        prop_oneof![Just(0u64), 0u64..3_000_000],
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn streaming_finds_what_the_whole_trace_finds(steps in prop::collection::vec(step(), 0..250)) {
        let scenario = scenario();
        let (samples, expected) = trace(&scenario, &steps);
        let whole = find_discrepancies_whole(&scenario, &expected, &samples);
        let stream = streamed(&scenario, &samples, &expected);
        prop_assert_eq!(whole, stream);
    }
}

#[test]
fn a_stopped_tip_is_found_by_both() {
    let scenario = scenario();
    let flowing: Vec<Step> = (0..100)
        .map(|_| (8_333, Some(8_333), 2_000_000, true))
        .collect();
    let stopped: Vec<Step> = (0..100)
        .map(|_| (8_333, Some(0), 2_000_000, true))
        .collect();
    let steps: Vec<Step> = flowing.into_iter().chain(stopped).collect();
    let (samples, expected) = trace(&scenario, &steps);
    let stream = streamed(&scenario, &samples, &expected);
    assert!(
        stream.iter().any(|f| f.kind == FindingKind::UnderInfusion),
        "{stream:?}"
    );
    assert_eq!(
        find_discrepancies_whole(&scenario, &expected, &samples),
        stream
    );
}
