//! Flow findings from the independent measurement: under-infusion, over-infusion and silent
//! depletion, judged from balance-measured tip volume over sliding windows.
//!
//! The programmed flow over a window is the expected delivered increment (arithmetic from the
//! scenario). Windows are at least `window_ms` long and are widened until they hold
//! `min_strokes` expected strokes, so that the pump's pulsatile delivery does not look like a
//! flow error (domain.md: windows must scale with the pulse period), and further until one
//! stroke of quantisation plus five standard deviations of the declared balance noise (on the
//! difference of two readings) stay inside the nearer flow threshold: a noisy balance then
//! gives longer windows, never false findings.

use super::{names, time, CheckResult, Finding, Verdict};
use crate::expect::ExpectedSample;
use crate::protocol::FaultKind;
use crate::record::schema::Sample;
use crate::scenario::{Action, FaultSpec, FindingKind, Scenario};
use std::collections::VecDeque;

/// A balance sample with its expected row: what a window starts from.
#[derive(Debug, Clone, Copy)]
struct Point {
    t_ms: u64,
    expected_delivered_nl: u64,
    /// What the pump says it has delivered (its own stroke count).
    reported_delivered_nl: u64,
    tip_nl: u64,
}

/// Finds under-infusion, over-infusion and silent depletion as samples arrive.
///
/// A window ending at sample i starts at the latest earlier sample that is at least `window_ms`
/// before it and at least `min_strokes` of expected delivery behind it. Both conditions only
/// loosen as i grows (time and expected delivery never decrease), so a window never starts
/// before the previous window's start: the points before it are dropped, and what is kept is
/// the span of one window, not the scenario.
///
/// While the expected flow has stopped (a halted pump) no window can start in the stretch, so
/// that rule alone would keep every point of it. Of two neighbouring points with the same
/// expected delivery, the earlier can never again be a window's start once the later one is
/// `window_ms` old: any window that could start at the earlier could start at the later, and
/// a window starts at the latest point it can. So a stretch of the same expected delivery keeps
/// only its last `window_ms`, and memory stays flat however long the pump is halted.
pub struct FlowFinder {
    points: VecDeque<Point>,
    /// How many points at the back of `points` share the newest point's expected delivery.
    flat_run: usize,
    /// For the initial fill and each refill: when it was made and the tip volume at the last
    /// sample at or before it.
    fills: Vec<(u64, u64, Option<u64>)>,
    /// Spans [from, to) where the scenario injects a catheter disconnect or occlusion: a tip
    /// that stops then has a known cause and is not depletion.
    catheter_faults: Vec<(u64, u64)>,
    /// The smallest expected volume a window must span (strokes and noise).
    min_volume_nl: f64,
    /// Windows judged: none means the flow checks could not be evaluated.
    judged: u64,
    /// The windows with the lowest and the highest measured-to-programmed ratio.
    extremes: [Option<FlowWindow>; 2],
    found: Vec<Finding>,
}

/// The smallest expected volume over which a flow ratio can be judged: `min_strokes`, and
/// enough that one stroke plus 5 sigma of the difference of two noisy readings stays within
/// the distance from 100 % to the nearer threshold.
pub fn min_window_nl(scenario: &Scenario, noise_mg: f64) -> f64 {
    let p = &scenario.expect.discrepancy;
    let stroke = scenario.device.stroke_nl as f64;
    let noise_nl = noise_mg.max(0.0) * 1e3 / scenario.bench.density_g_per_ml;
    let reading_pair = super::volume::NOISE_SIGMAS * std::f64::consts::SQRT_2 * noise_nl;
    let slack = (1.0 - p.under_ratio).min(p.over_ratio - 1.0).max(0.01);
    (p.min_strokes as f64 * stroke).max((stroke + reading_pair) / slack)
}

impl FlowFinder {
    pub fn new(scenario: &Scenario, noise_mg: f64) -> FlowFinder {
        let mut fills = vec![(0, scenario.device.initial_fill_nl, None)];
        for step in &scenario.steps {
            if let Action::Refill { volume_nl, .. } = step.action {
                fills.push((step.at_ms, volume_nl, None));
            }
        }
        FlowFinder {
            points: VecDeque::new(),
            flat_run: 0,
            fills,
            catheter_faults: catheter_fault_spans(scenario),
            min_volume_nl: min_window_nl(scenario, noise_mg),
            judged: 0,
            extremes: [None; 2],
            found: Vec::new(),
        }
    }

    fn note(&mut self, kind: FindingKind, t_ms: u64, detail: String) {
        if !self.found.iter().any(|f| f.kind == kind) {
            self.found.push(Finding { kind, t_ms, detail });
        }
    }

    pub fn observe(
        &mut self,
        scenario: &Scenario,
        sample: &Sample,
        expected: Option<&ExpectedSample>,
    ) {
        for fill in self.fills.iter_mut().filter(|f| sample.t_ms <= f.0) {
            fill.2 = sample.tip_nl;
        }
        let (Some(exp), Some(tip_nl)) = (expected, sample.tip_nl) else {
            return;
        };
        let p = &scenario.expect.discrepancy;
        let min_volume = self.min_volume_nl;
        let here = Point {
            t_ms: sample.t_ms,
            expected_delivered_nl: exp.delivered_nl,
            reported_delivered_nl: sample.delivered_nl,
            tip_nl,
        };
        let latest_start_ms = here.t_ms.checked_sub(p.window_ms);
        let starts = latest_start_ms.map_or(0, |latest| {
            self.points.partition_point(|q| {
                q.t_ms <= latest
                    && here.expected_delivered_nl as f64 - q.expected_delivered_nl as f64
                        >= min_volume
            })
        });
        if starts > 0 {
            self.points.drain(..starts - 1);
            let start = self.points[0];
            self.judge_window(scenario, sample, start, here, min_volume);
        }
        self.push(here, p.window_ms);
    }

    /// Keeps `here`, dropping the points of the stretch of equal expected delivery it ends
    /// that can no longer start a window (see the type's comment).
    fn push(&mut self, here: Point, window_ms: u64) {
        let same_as_last = self
            .points
            .back()
            .is_some_and(|last| last.expected_delivered_nl == here.expected_delivered_nl);
        self.flat_run = if same_as_last {
            self.flat_run.min(self.points.len()) + 1
        } else {
            1
        };
        self.points.push_back(here);
        let Some(old_enough_ms) = here.t_ms.checked_sub(window_ms) else {
            return;
        };
        while self.flat_run >= 2 {
            let first = self.points.len() - self.flat_run;
            if self.points[first + 1].t_ms > old_enough_ms {
                break;
            }
            // The front of the queue is a window's start and little else, so removing here
            // moves the few points before it, not the stretch behind it.
            self.points.remove(first);
            self.flat_run -= 1;
        }
    }

    /// How many points are kept to start future windows.
    #[cfg(test)]
    pub(crate) fn points_kept(&self) -> usize {
        self.points.len()
    }

    fn judge_window(
        &mut self,
        scenario: &Scenario,
        sample: &Sample,
        start: Point,
        end: Point,
        min_volume: f64,
    ) {
        let p = &scenario.expect.discrepancy;
        let expected_nl = end.expected_delivered_nl as f64 - start.expected_delivered_nl as f64;
        if expected_nl < min_volume {
            return;
        }
        self.judged += 1;
        let measured_nl = end.tip_nl as f64 - start.tip_nl as f64;
        let ratio = measured_nl / expected_nl;
        let window = FlowWindow {
            from_ms: start.t_ms,
            to_ms: end.t_ms,
            expected_nl,
            measured_nl,
        };
        if self.extremes[0].is_none_or(|w| ratio < w.ratio()) {
            self.extremes[0] = Some(window);
        }
        if self.extremes[1].is_none_or(|w| ratio > w.ratio()) {
            self.extremes[1] = Some(window);
        }
        let span = format!("{} .. {}", time(start.t_ms), time(end.t_ms));
        if ratio < p.under_ratio {
            self.note(
                FindingKind::UnderInfusion,
                end.t_ms,
                format!(
                    "measured tip flow {:.1} % of programmed over {span}",
                    ratio * 100.0
                ),
            );
        }
        if ratio > p.over_ratio {
            self.note(
                FindingKind::OverInfusion,
                end.t_ms,
                format!(
                    "measured tip flow {:.1} % of programmed over {span}",
                    ratio * 100.0
                ),
            );
        }
        let reports_volume = sample.calculated_nl >= scenario.device.stroke_nl;
        let reported_nl = end.reported_delivered_nl as f64 - start.reported_delivered_nl as f64;
        let reports_delivery = reported_nl >= min_volume && sample.is_delivering();
        let known_cause = self
            .catheter_faults
            .iter()
            .any(|&(from, to)| from < end.t_ms && start.t_ms < to);
        if ratio < p.stopped_ratio && reports_volume && reports_delivery && !known_cause {
            // However little of the fill has reached the tip: after a pocket fill the
            // reservoir holds less than the pump was told, and runs dry long before the tip
            // has seen the programmed volume.
            let Some(&(_, fill, tip_at_fill)) = self.fills.iter().rfind(|f| f.0 <= end.t_ms) else {
                return;
            };
            let since_fill = end.tip_nl.saturating_sub(tip_at_fill.unwrap_or(0)) as f64;
            self.note(FindingKind::SilentDepletion, end.t_ms, format!(
                "device reports {:.3} mL left, {} and {:.3} mL counted as delivered over {span}, while the tip received {:.1} % of programmed flow; {:.3} mL of the {:.3} mL programmed fill has reached the tip",
                sample.calculated_nl as f64 / 1e6, sample.therapy_state, reported_nl / 1e6, ratio * 100.0, since_fill / 1e6, fill as f64 / 1e6
            ));
        }
    }

    /// The judged windows with the lowest and the highest flow ratio (None before any).
    pub fn extremes(&self) -> [Option<FlowWindow>; 2] {
        self.extremes
    }

    /// What has been found so far.
    pub fn found(&self) -> &[Finding] {
        &self.found
    }

    /// The first moment each kind of discrepancy showed, and how many windows were judged.
    pub fn finish(self) -> (Vec<Finding>, u64) {
        (self.found, self.judged)
    }
}

/// A judged flow window: the tip volume measured over it against the programmed one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowWindow {
    pub from_ms: u64,
    pub to_ms: u64,
    pub expected_nl: f64,
    pub measured_nl: f64,
}

impl FlowWindow {
    pub fn ratio(&self) -> f64 {
        self.measured_nl / self.expected_nl
    }
}

/// Where the scenario itself stops the outflow at the tip (a catheter disconnect or
/// occlusion, from its injection to its clearing or the end).
fn catheter_fault_spans(scenario: &Scenario) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut open: Option<u64> = None;
    let mut steps: Vec<_> = scenario.steps.iter().collect();
    steps.sort_by_key(|s| s.at_ms);
    for step in steps {
        match step.action.effect() {
            Action::Inject {
                fault: FaultSpec::CatheterDisconnect | FaultSpec::CatheterOcclusion,
            } => {
                open.get_or_insert(step.at_ms);
            }
            Action::Clear {
                fault: FaultKind::CatheterDisconnect | FaultKind::CatheterOcclusion,
            } => {
                if let Some(from) = open.take() {
                    spans.push((from, step.at_ms));
                }
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        spans.push((from, u64::MAX));
    }
    spans
}

/// `windows_judged` is 0 when no window could be evaluated (the run shorter than one window,
/// or too little programmed flow): a finding that was not expected is then "not evaluated",
/// never a pass.
pub fn check_findings(
    scenario: &Scenario,
    findings: &[Finding],
    windows_judged: u64,
) -> Vec<CheckResult> {
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
                FindingKind::UnderInfusion => format!(
                    "tip flow < {:.0} % of programmed over >= {}",
                    p.under_ratio * 100.0,
                    time(p.window_ms)
                ),
                FindingKind::OverInfusion => format!(
                    "tip flow > {:.0} % of programmed over >= {}",
                    p.over_ratio * 100.0,
                    time(p.window_ms)
                ),
                FindingKind::SilentDepletion => format!(
                    "tip flow < {:.0} % while the device counts delivery and reports volume left",
                    p.stopped_ratio * 100.0
                ),
            };
            let expected = scenario.expect.findings.iter().find(|f| f.kind == kind);
            let found = findings.iter().find(|f| f.kind == kind);
            let (pass, expected_text, margin) = match (expected, found) {
                (Some(e), Some(f)) => {
                    let w = e.window;
                    let m = (f.t_ms as f64 - w.earliest_ms as f64)
                        .min(w.latest_ms as f64 - f.t_ms as f64)
                        / 1000.0;
                    (
                        w.contains(f.t_ms),
                        format!(
                            "found between {} and {}",
                            time(w.earliest_ms),
                            time(w.latest_ms)
                        ),
                        Some(m),
                    )
                }
                (Some(e), None) => (
                    false,
                    format!(
                        "found between {} and {}",
                        time(e.window.earliest_ms),
                        time(e.window.latest_ms)
                    ),
                    None,
                ),
                (None, Some(_)) => (false, "not found".to_string(), None),
                (None, None) => (true, "not found".to_string(), None),
            };
            let evaluated = windows_judged > 0 || found.is_some();
            let verdict = match (evaluated, pass) {
                (false, _) => Verdict::NotEvaluated,
                (true, true) => Verdict::Pass,
                (true, false) => Verdict::Fail,
            };
            CheckResult {
                name: name.to_string(),
                verdict,
                expected: expected_text,
                measured: found
                    .map(|f| format!("found at {}", time(f.t_ms)))
                    .unwrap_or_else(|| "not found".to_string()),
                tolerance: criterion,
                margin,
                unit: "s".to_string(),
                at_ms: found.map(|f| f.t_ms),
                detail: found
                    .map(|f| f.detail.clone())
                    .unwrap_or_else(|| if evaluated {
                        format!("no window met the criterion ({windows_judged} windows judged)")
                    } else {
                        "not evaluated: no window spanned enough programmed flow to be judged (the run is shorter than one window, or the flow too small)".to_string()
                    }),
                margin_percent: None,
                end_value: None,
                uncertainty: None,
            }
        })
        .collect()
}
