//! The streaming flow finder against the whole-trace algorithm it replaced (kept here as the
//! oracle): on random traces, both find the same first moment of each discrepancy.

use super::flow::FlowFinder;
use super::{time, Finding};
use crate::expect::ExpectedSample;
use crate::record::schema::Sample;
use crate::scenario::{FindingKind, Scenario};
use proptest::prelude::*;

// ---- the oracle: the whole-trace algorithm as it was before samples were streamed ----

struct WindowFlow {
    t_ms: u64,
    start_ms: u64,
    expected_nl: f64,
    measured_nl: f64,
    reported_nl: f64,
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
            reported_nl: si.delivered_nl as f64 - sj.delivered_nl as f64,
        });
    }
    out
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
        let min_volume = p.min_strokes as f64 * scenario.device.stroke_nl as f64;
        let delivering = w.reported_nl >= min_volume && sample.is_delivering();
        if ratio < p.stopped_ratio && reports_volume && delivering {
            note(
                FindingKind::SilentDepletion,
                w.t_ms,
                "outflow stopped".to_string(),
            );
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
    let mut finder = FlowFinder::new(scenario, 0.0);
    for (sample, row) in samples.iter().zip(expected) {
        finder.observe(scenario, sample, Some(row));
    }
    finder.finish().0
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
    fn streaming_finds_what_the_whole_trace_finds(
        steps in prop::collection::vec(step(), 0..250),
        window_samples in 0u64..6,
    ) {
        let mut scenario = scenario();
        // From shorter than one sample (the scenario's) to several, so that stretches of
        // equal expected delivery are cut both at once and only after several samples.
        scenario.expect.discrepancy.window_ms += window_samples * scenario.sample_ms;
        let (samples, expected) = trace(&scenario, &steps);
        let whole = find_discrepancies_whole(&scenario, &expected, &samples);
        let stream = streamed(&scenario, &samples, &expected);
        prop_assert_eq!(moments(&whole), moments(&stream));
    }
}

#[test]
fn a_stopped_tip_is_found_by_both() {
    let scenario = scenario();
    let steps = tip_stops(100, 100, 2_000_000);
    let (samples, expected) = trace(&scenario, &steps);
    let stream = streamed(&scenario, &samples, &expected);
    assert_under_infusion_as_whole(&scenario, &samples, &expected, &stream);
}

/// A pump halted for thousands of samples (expected flow stopped, as when the reservoir is
/// empty) and then delivering again: the finder keeps about one window of the halted stretch,
/// not all of it, and finds what the whole-trace algorithm finds.
#[test]
fn a_long_halt_keeps_one_window_of_points() {
    let mut scenario = scenario();
    let window_samples = 4;
    scenario.expect.discrepancy.window_ms = window_samples * scenario.sample_ms;
    let flowing = |n: usize| (0..n).map(|_| (8_333, Some(8_333), 18_000_000, true));
    let halted = (0..5_000).map(|_| (0, Some(0), 0, false));
    // After the halt the tip lags: under-infusion must be found where the oracle finds it,
    // from windows that start inside the halted stretch.
    let lagging = (0..60).map(|_| (8_333, Some(4_000), 18_000_000, true));
    let steps: Vec<Step> = flowing(100)
        .chain(halted)
        .chain(flowing(30))
        .chain(lagging)
        .collect();
    let (samples, expected) = trace(&scenario, &steps);
    let mut finder = FlowFinder::new(&scenario, 0.0);
    let mut most_kept = 0;
    for (sample, row) in samples.iter().zip(&expected) {
        finder.observe(&scenario, sample, Some(row));
        most_kept = most_kept.max(finder.points_kept());
    }
    // The window's start, the halted stretch's last window and the point after it; and at most
    // the 20 strokes (min_strokes) plus the window of the flowing parts.
    assert!(most_kept <= 30, "kept {most_kept} points");
    let stream = finder.finish().0;
    assert_under_infusion_as_whole(&scenario, &samples, &expected, &stream);
}

fn moments(found: &[Finding]) -> Vec<(FindingKind, u64)> {
    found.iter().map(|f| (f.kind, f.t_ms)).collect()
}

/// `flowing` samples of one step each at the device and the tip, then `stopped` samples with
/// the device still counting and nothing reaching the tip; the pump reports `calculated_nl` left.
fn tip_stops(flowing: usize, stopped: usize, calculated_nl: u64) -> Vec<Step> {
    let flow = (0..flowing).map(|_| (8_333, Some(8_333), calculated_nl, true));
    let none = (0..stopped).map(|_| (8_333, Some(0), calculated_nl, true));
    flow.chain(none).collect()
}

/// The streamed finder found under-infusion, at the moments the whole-trace algorithm finds.
fn assert_under_infusion_as_whole(
    scenario: &Scenario,
    samples: &[Sample],
    expected: &[ExpectedSample],
    stream: &[Finding],
) {
    assert!(
        stream.iter().any(|f| f.kind == FindingKind::UnderInfusion),
        "{stream:?}"
    );
    assert_eq!(
        moments(&find_discrepancies_whole(scenario, expected, samples)),
        moments(stream)
    );
}

/// A pump that keeps counting strokes and reports 18 mL left while the tip has stopped after
/// receiving well under a tenth of the 20 mL fill (a pocket fill): silent depletion.
#[test]
fn silent_depletion_needs_no_fill_at_the_tip() {
    let scenario = scenario();
    let steps = tip_stops(30, 60, 18_000_000);
    let (samples, expected) = trace(&scenario, &steps);
    let found = streamed(&scenario, &samples, &expected);
    let depletion = found
        .iter()
        .find(|f| f.kind == FindingKind::SilentDepletion)
        .unwrap_or_else(|| panic!("no silent depletion in {found:?}"));
    assert!(depletion.t_ms > 30 * scenario.sample_ms, "{depletion:?}");
}

/// The same stopped tip while the scenario has disconnected the catheter is under-infusion
/// with a known cause, not depletion.
#[test]
fn an_injected_disconnect_is_not_depletion() {
    let mut scenario = scenario();
    scenario.steps.push(crate::scenario::Step {
        at_ms: 30 * scenario.sample_ms,
        name: None,
        action: crate::scenario::Action::Inject {
            fault: crate::scenario::FaultSpec::CatheterDisconnect,
        },
        out_of_range_test: false,
        refused: None,
        line: 0,
    });
    let steps = tip_stops(30, 60, 18_000_000);
    let (samples, expected) = trace(&scenario, &steps);
    let found = streamed(&scenario, &samples, &expected);
    assert!(
        found.iter().any(|f| f.kind == FindingKind::UnderInfusion),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|f| f.kind == FindingKind::SilentDepletion),
        "{found:?}"
    );
}

/// A run shorter than one window judges nothing: the flow checks are "not evaluated", not PASS,
/// and one that judged windows passes as before.
#[test]
fn no_window_means_not_evaluated() {
    use super::flow::check_findings;
    use super::Verdict;
    let scenario = scenario();
    let short: Vec<Step> = (0..2)
        .map(|_| (8_333, Some(8_333), 2_000_000, true))
        .collect();
    let (samples, expected) = trace(&scenario, &short);
    let mut finder = FlowFinder::new(&scenario, 0.0);
    for (sample, row) in samples.iter().zip(&expected) {
        finder.observe(&scenario, sample, Some(row));
    }
    let (found, judged) = finder.finish();
    assert_eq!(judged, 0);
    let results = check_findings(&scenario, &found, judged);
    assert!(
        results
            .iter()
            .all(|r| r.verdict == Verdict::NotEvaluated && !r.passed() && !r.failed()),
        "{results:?}"
    );
    let results = check_findings(&scenario, &[], 5);
    assert!(
        results.iter().all(|r| r.verdict == Verdict::Pass),
        "{results:?}"
    );
}

/// Windows widen with the declared balance noise: 20 strokes (50 uL) without noise; at 1.0 mg,
/// one stroke plus 5 sigma of two readings must fit in the 10 % to the thresholds.
#[test]
fn windows_widen_with_noise() {
    use super::flow::min_window_nl;
    let scenario = scenario();
    assert_eq!(min_window_nl(&scenario, 0.0), 50_000.0);
    let noisy = min_window_nl(&scenario, 1.0);
    let sigma_pair = 1e3 / scenario.bench.density_g_per_ml * std::f64::consts::SQRT_2;
    assert!(
        (noisy - (2_500.0 + 5.0 * sigma_pair) / 0.1).abs() < 1.0,
        "{noisy}"
    );
    assert!(noisy > 90_000.0);
}

/// Under 1.0 mg of noise a correct flow shows no finding, and a stopped tip is still found.
#[test]
fn a_noisy_correct_flow_shows_nothing_and_a_stop_is_still_found() {
    let scenario = scenario();
    let noise_nl = 1e3 / scenario.bench.density_g_per_ml;
    // Whole strokes at the tip, and deterministic noise of 6 sigma on every other reading: with
    // 20-stroke windows (50 uL) the noise alone (over 10 %) would pass the 10 % threshold.
    let jitter = |i: usize| {
        if i % 2 == 0 {
            (6.0 * noise_nl) as u64
        } else {
            0
        }
    };
    let mut samples = Vec::new();
    let mut expected = Vec::new();
    let (flowing, stopped) = (150usize, 100usize);
    for i in 0..flowing + stopped {
        let t_ms = i as u64 * scenario.sample_ms;
        let delivered = i as u64 * 8_333;
        let tip = i.min(flowing) as u64 * 8_333 / 2_500 * 2_500 + jitter(i);
        expected.push(ExpectedSample {
            t_ms,
            delivered_nl: delivered,
            calculated_nl: 18_000_000,
            tip_nl: delivered,
            actual_nl: 0,
            programmed_nl_per_day: 0,
        });
        samples.push(Sample {
            delivered_nl: delivered,
            calculated_nl: 18_000_000,
            tip_nl: Some(tip),
            ..Sample::running_at(t_ms)
        });
    }
    let mut finder = FlowFinder::new(&scenario, 1.0);
    for (sample, row) in samples.iter().zip(&expected) {
        finder.observe(&scenario, sample, Some(row));
        if sample.t_ms < flowing as u64 * scenario.sample_ms {
            assert!(finder_is_quiet(&finder), "false finding at {}", sample.t_ms);
        }
    }
    let (found, _) = finder.finish();
    assert!(
        found.iter().any(|f| f.kind == FindingKind::UnderInfusion),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.kind == FindingKind::SilentDepletion),
        "{found:?}"
    );
}

fn finder_is_quiet(finder: &FlowFinder) -> bool {
    finder.found().is_empty()
}
