//! Volume checks: device-reported delivered and calculated volumes, and the balance-measured tip
//! volume, against the expected trace: the cumulative value at every sample, the increment over
//! every interval between consecutive samples, and the increment over every segment between
//! scenario steps. A total can hide a wrong part (delivery during a stop, a short bolus); an
//! increment cannot.

use super::gravimetry::{Gravimetry, Judged};
use super::{ml, names, time, CheckResult, Verdict};
use crate::expect::decision::{Decision, DecisionRule};
use crate::expect::uncertainty::BalanceFigures;
use crate::expect::ExpectedSample;
use crate::record::schema::{Sample, UncertainResult};
use crate::scenario::{AcceptanceRule, Scenario};

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

/// Tolerance on an increment: relative to the increment expected over that interval, plus
/// the absolute floor (a stroke can land on either side of each end; a balance reads in
/// steps), plus what the balance noise allows for the difference of two readings.
pub fn increment_tolerance_nl(scenario: &Scenario, expected_nl: f64, noise_nl: f64) -> f64 {
    let t = &scenario.tolerance;
    t.volume_relative * expected_nl.abs() + t.volume_absolute_nl as f64 + noise_nl
}

/// How many standard deviations of reading noise the tolerance on one reading allows: with
/// thousands of readings per run and 20 seeds, 5 sigma keeps false failures out.
pub const NOISE_SIGMAS: f64 = 5.0;

/// What was judged, for the headline: a sample's total, an interval's or a segment's increment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Span {
    Total,
    Interval { from_ms: u64 },
    Segment { from_ms: u64 },
}

/// The judgement that used the largest fraction of its tolerance.
#[derive(Debug, Clone, Copy)]
struct Worst {
    fraction: f64,
    span: Span,
    t_ms: u64,
    expected: f64,
    measured: f64,
    tolerance: f64,
}

/// A measured and expected value at one sample.
#[derive(Debug, Clone, Copy)]
struct Point {
    t_ms: u64,
    measured: u64,
    expected: u64,
}

/// Counts of one kind of judgement.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    compared: u64,
    failures: u64,
}

impl Tally {
    fn count(&mut self, failed: bool) {
        self.compared += 1;
        self.failures += u64::from(failed);
    }
}

/// One volume series judged as the run goes, keeping only the worst judgement, the counts,
/// the previous sample and the current segment's start: memory does not grow with the
/// scenario's length.
pub struct SeriesCheck {
    name: &'static str,
    what: &'static str,
    pick_expected: fn(&ExpectedSample) -> u64,
    pick_measured: fn(&Sample) -> Option<u64>,
    /// Noise allowance for the difference of two readings (tip volume only).
    noise_nl: f64,
    /// Measured by the balance: the run's budget, for an uncertainty and the decision rule.
    gravimetry: Option<Gravimetry>,
    worst: Option<Worst>,
    /// The worst total, interval and segment, each reported with its uncertainty.
    worst_by_kind: [Option<Worst>; 3],
    totals: Tally,
    intervals: Tally,
    segments: Tally,
    /// Read from the bench plant: with no value at any sample the device did not answer
    /// ReadPlant, and the check is "not evaluated", not failed.
    needs_plant: bool,
    missing: u64,
    previous: Option<Point>,
    segment_start: Option<Point>,
    /// Step times still ahead, ascending: each closes a segment.
    boundaries: std::vec::IntoIter<u64>,
    next_boundary: Option<u64>,
    /// The latest sample's time, its measured value and its expected value.
    last: Option<(u64, Option<u64>, Option<u64>)>,
}

impl SeriesCheck {
    fn new(
        scenario: &Scenario,
        name: &'static str,
        what: &'static str,
        pick_expected: fn(&ExpectedSample) -> u64,
        pick_measured: fn(&Sample) -> Option<u64>,
    ) -> SeriesCheck {
        let mut steps: Vec<u64> = scenario
            .steps
            .iter()
            .map(|s| s.at_ms)
            .filter(|&t| t > 0)
            .collect();
        steps.sort_unstable();
        steps.dedup();
        let mut boundaries = steps.into_iter();
        let next_boundary = boundaries.next();
        SeriesCheck {
            name,
            what,
            pick_expected,
            pick_measured,
            noise_nl: 0.0,
            needs_plant: false,
            gravimetry: None,
            worst: None,
            worst_by_kind: [None; 3],
            totals: Tally::default(),
            intervals: Tally::default(),
            segments: Tally::default(),
            missing: 0,
            previous: None,
            segment_start: None,
            boundaries,
            next_boundary,
            last: None,
        }
    }

    /// Every check that applies to the scenario, in report order. `noise_mg` is the balance's
    /// reading noise (one standard deviation), widening the tip volume's tolerances.
    pub fn for_scenario(scenario: &Scenario, noise_mg: f64) -> Vec<SeriesCheck> {
        let figures = BalanceFigures {
            repeatability_mg: noise_mg.max(0.0),
            ..BalanceFigures::default()
        };
        SeriesCheck::for_scenario_with(scenario, noise_mg, &figures)
    }

    /// As `for_scenario`, with the bench's balance figures for the uncertainty budget.
    pub fn for_scenario_with(
        scenario: &Scenario,
        noise_mg: f64,
        figures: &BalanceFigures,
    ) -> Vec<SeriesCheck> {
        let e = &scenario.expect;
        let mut out = Vec::new();
        if e.check_delivered {
            out.push(SeriesCheck::new(
                scenario,
                names::DELIVERED_VOLUME,
                "device-reported cumulative delivered volume",
                |x| x.delivered_nl,
                |s| Some(s.delivered_nl),
            ));
        }
        if e.check_calculated {
            out.push(SeriesCheck::new(
                scenario,
                names::CALCULATED_RESERVOIR,
                "device-reported calculated reservoir volume",
                |x| x.calculated_nl,
                |s| Some(s.calculated_nl),
            ));
        }
        if e.check_tip {
            let mut tip = SeriesCheck::new(
                scenario,
                names::TIP_VOLUME,
                "balance-measured catheter-tip volume",
                |x| x.tip_nl,
                |s| s.tip_nl,
            );
            // mg of water-like fluid to nL: 1 mg is 1 / density uL.
            tip.noise_nl = noise_mg.max(0.0) * 1e3 / scenario.bench.density_g_per_ml;
            tip.gravimetry = Some(Gravimetry::for_scenario(scenario, figures));
            out.push(tip);
        }
        if e.check_actual {
            let mut plant = SeriesCheck::new(
                scenario,
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
        let here = Point {
            t_ms: sample.t_ms,
            measured,
            expected: want,
        };
        let tol = tolerance_nl(scenario, exp) + NOISE_SIGMAS * self.noise_nl;
        self.judge(Span::Total, here.t_ms, want as f64, measured as f64, tol);
        let two_readings = NOISE_SIGMAS * std::f64::consts::SQRT_2 * self.noise_nl;
        if let Some(previous) = self.previous {
            self.judge_increment(
                scenario,
                Span::Interval {
                    from_ms: previous.t_ms,
                },
                previous,
                here,
                two_readings,
            );
            // A segment ends at the last sample at or before the next step.
            if self.next_boundary.is_some_and(|b| here.t_ms > b) {
                if let Some(start) = self.segment_start {
                    if previous.t_ms > start.t_ms {
                        self.judge_increment(
                            scenario,
                            Span::Segment {
                                from_ms: start.t_ms,
                            },
                            start,
                            previous,
                            two_readings,
                        );
                    }
                }
                self.segment_start = Some(previous);
                while self.next_boundary.is_some_and(|b| here.t_ms > b) {
                    self.next_boundary = self.boundaries.next();
                }
            }
        } else {
            self.segment_start = Some(here);
        }
        self.previous = Some(here);
    }

    fn judge_increment(
        &mut self,
        scenario: &Scenario,
        span: Span,
        from: Point,
        to: Point,
        noise_nl: f64,
    ) {
        let expected = to.expected as f64 - from.expected as f64;
        let measured = to.measured as f64 - from.measured as f64;
        let tol = increment_tolerance_nl(scenario, expected, noise_nl);
        self.judge(span, to.t_ms, expected, measured, tol);
    }

    fn judge(&mut self, span: Span, t_ms: u64, expected: f64, measured: f64, tolerance: f64) {
        let fraction = (measured - expected).abs() / tolerance.max(1.0);
        let failed = fraction > 1.0;
        let kind = match span {
            Span::Total => 0,
            Span::Interval { .. } => 1,
            Span::Segment { .. } => 2,
        };
        [&mut self.totals, &mut self.intervals, &mut self.segments][kind].count(failed);
        let here = Worst {
            fraction,
            span,
            t_ms,
            expected,
            measured,
            tolerance,
        };
        // On a tie the later judgement wins: a perfect run is headlined by its end, not t = 0.
        if self.worst.is_none_or(|w| fraction >= w.fraction) {
            self.worst = Some(here);
        }
        if self.gravimetry.is_some()
            && self.worst_by_kind[kind].is_none_or(|w| fraction >= w.fraction)
        {
            self.worst_by_kind[kind] = Some(here);
        }
    }

    pub fn finish(mut self, scenario: &Scenario) -> CheckResult {
        if let (Some(start), Some(end)) = (self.segment_start, self.previous) {
            if end.t_ms > start.t_ms {
                let two_readings = NOISE_SIGMAS * std::f64::consts::SQRT_2 * self.noise_nl;
                self.judge_increment(
                    scenario,
                    Span::Segment {
                        from_ms: start.t_ms,
                    },
                    start,
                    end,
                    two_readings,
                );
            }
        }
        let (name, what, missing) = (self.name, self.what, self.missing);
        let end_value = match self.last {
            Some((t, Some(m), Some(want))) => Some(format!(
                "{}: expected {}, measured {}",
                time(t),
                ml(want as f64),
                ml(m as f64)
            )),
            _ => None,
        };
        let failures = self.totals.failures + self.intervals.failures + self.segments.failures;
        let t = &scenario.tolerance;
        match self.worst {
            Some(w) if self.totals.compared > 0 => {
                let (which, tolerance_rule) = match w.span {
                    Span::Total => (
                        format!("total at {}", time(w.t_ms)),
                        format!(
                            "±{:.0} % of delivered, floor {}",
                            t.volume_relative * 100.0,
                            ml(t.volume_absolute_nl as f64)
                        ),
                    ),
                    Span::Interval { from_ms } | Span::Segment { from_ms } => (
                        format!(
                            "{} {} .. {}",
                            if matches!(w.span, Span::Interval { .. }) {
                                "increment over the interval"
                            } else {
                                "increment over the segment between steps"
                            },
                            time(from_ms),
                            time(w.t_ms)
                        ),
                        format!(
                            "±{:.0} % of the expected increment + {}",
                            t.volume_relative * 100.0,
                            ml(t.volume_absolute_nl as f64)
                        ),
                    ),
                };
                let margin_nl = w.tolerance - (w.measured - w.expected).abs();
                let noise = if self.noise_nl > 0.0 {
                    format!(
                        ", balance noise {:.1} uL (1 sd) allowed {NOISE_SIGMAS} times",
                        self.noise_nl / 1e3
                    )
                } else {
                    String::new()
                };
                let uncertainty = self.gravimetry.as_ref().map(|g| {
                    let mut j = judged(g, &w);
                    j.uncertainty.results = results_of(g, &self.worst_by_kind);
                    j
                });
                let verdict = match &uncertainty {
                    Some(j) if !matches!(t.decision_rule, AcceptanceRule::Simple) => {
                        match j.decision {
                            Decision::Pass if failures == 0 => Verdict::Pass,
                            Decision::Inconclusive => Verdict::Inconclusive,
                            _ => Verdict::Fail,
                        }
                    }
                    _ if failures == 0 => Verdict::Pass,
                    _ => Verdict::Fail,
                };
                CheckResult {
                    name: name.to_string(),
                    verdict,
                    expected: value(w.span, w.t_ms, w.expected),
                    measured: value(w.span, w.t_ms, w.measured),
                    tolerance: format!("±{} ({tolerance_rule}{noise})", ml(w.tolerance)),
                    margin: Some(margin_nl / 1e3),
                    unit: "uL".to_string(),
                    at_ms: Some(w.t_ms),
                    detail: format!(
                        "{what}: worst is the {which}, {:.0} % of its tolerance used; {} totals, {} intervals, {} segments compared, {} totals, {} intervals, {} segments outside tolerance{}{}",
                        w.fraction * 100.0,
                        self.totals.compared, self.intervals.compared, self.segments.compared,
                        self.totals.failures, self.intervals.failures, self.segments.failures,
                        end_value.as_ref().map(|e| format!("; at the end ({e})")).unwrap_or_default(),
                        if missing > 0 { format!("; {missing} samples without a value") } else { String::new() }
                    ),
                    margin_percent: Some((1.0 - w.fraction) * 100.0),
                    end_value,
                    uncertainty: uncertainty.map(|j| j.uncertainty),
                }
            }
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
                uncertainty: None,
                margin_percent: None,
                end_value: None,
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
                margin_percent: None,
                end_value: None,
                uncertainty: None,
            },
        }
    }
}

/// What the headline or a kind's worst judgement measured, in words, and over how long.
fn quantity(w: &Worst) -> (String, u64) {
    match w.span {
        Span::Total => (format!("tip volume at {}", time(w.t_ms)), w.t_ms),
        Span::Interval { from_ms } | Span::Segment { from_ms } => (
            format!(
                "tip volume increment over the {} {} .. {}",
                if matches!(w.span, Span::Interval { .. }) {
                    "interval"
                } else {
                    "segment"
                },
                time(from_ms),
                time(w.t_ms)
            ),
            w.t_ms.saturating_sub(from_ms),
        ),
    }
}

/// A judgement's expanded uncertainty from the run's budget and the rule's decision on it.
fn judged(gravimetry: &Gravimetry, w: &Worst) -> Judged {
    let (quantity, elapsed_ms) = quantity(w);
    gravimetry.judge(
        quantity,
        w.measured,
        elapsed_ms,
        w.measured - w.expected,
        w.tolerance,
    )
}

/// The verdict of one judgement: under simple acceptance the tolerance alone decides (the
/// tolerance already allows for the balance); under guarded acceptance the rule does.
pub(crate) fn verdict_of(rule: DecisionRule, within: bool, decision: Decision) -> Verdict {
    match (rule, decision) {
        (DecisionRule::SimpleAcceptance, _) if within => Verdict::Pass,
        (DecisionRule::SimpleAcceptance, _) => Verdict::Fail,
        (_, Decision::Pass) if within => Verdict::Pass,
        (_, Decision::Inconclusive) => Verdict::Inconclusive,
        _ => Verdict::Fail,
    }
}

/// The worst total, interval and segment, each with its own uncertainty (issue 14 §1: every
/// gravimetric result carries one).
fn results_of(gravimetry: &Gravimetry, worst: &[Option<Worst>; 3]) -> Vec<UncertainResult> {
    worst
        .iter()
        .flatten()
        .map(|w| {
            let j = judged(gravimetry, w);
            UncertainResult {
                quantity: j.uncertainty.quantity.clone(),
                expected: w.expected / 1e3,
                measured: w.measured / 1e3,
                tolerance: w.tolerance / 1e3,
                expanded: j.uncertainty.expanded,
                unit: "uL".to_string(),
                verdict: verdict_of(gravimetry.rule(), w.fraction <= 1.0, j.decision),
            }
        })
        .collect()
}

/// A total reads as a volume; an increment says so, with its span: "+0.1092 mL over 1d .. 1d 30m".
fn value(span: Span, t_ms: u64, nl: f64) -> String {
    match span {
        Span::Total => ml(nl),
        Span::Interval { from_ms } | Span::Segment { from_ms } => format!(
            "{}{} over {} .. {}",
            if nl >= 0.0 { "+" } else { "" },
            ml(nl),
            time(from_ms),
            time(t_ms)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(delivered: &[(u64, u64)]) -> CheckResult {
        let scenario = crate::scenario::load(std::path::Path::new("scenarios/stop-resume.toml"))
            .expect("scenario");
        let mut check = SeriesCheck::for_scenario(&scenario, 0.0).remove(0);
        for (i, &(expected, measured)) in delivered.iter().enumerate() {
            let t_ms = i as u64 * scenario.sample_ms;
            let row = ExpectedSample {
                t_ms,
                delivered_nl: expected,
                calculated_nl: 0,
                tip_nl: 0,
                actual_nl: 0,
                programmed_nl_per_day: 0,
            };
            let sample = Sample {
                delivered_nl: measured,
                ..Sample::running_at(t_ms)
            };
            check.observe(&scenario, &sample, Some(&row));
        }
        check.finish(&scenario)
    }

    /// 30 uL delivered where nothing was due, inside ±15 % of the 1 mL total: the interval fails.
    #[test]
    fn an_increment_fails_where_the_total_passes() {
        let result = judged(&[(0, 0), (1_000_000, 1_000_000), (1_000_000, 1_030_000)]);
        assert_eq!(result.name, names::DELIVERED_VOLUME);
        assert_eq!(result.verdict, Verdict::Fail, "{result:?}");
        assert!(
            result.detail.contains("0 totals, 1 intervals"),
            "{}",
            result.detail
        );
        assert_eq!(result.at_ms, Some(20 * 60_000));
    }

    /// Every gravimetric result carries its uncertainty: the tip volume's worst total, interval
    /// and segment each come with U from the budget, the interval's failing one a FAIL.
    #[test]
    fn tip_volume_intervals_carry_their_uncertainty() {
        let scenario = crate::scenario::load(std::path::Path::new("scenarios/stop-resume.toml"))
            .expect("scenario");
        let mut check = SeriesCheck::for_scenario(&scenario, 0.5)
            .into_iter()
            .find(|c| c.name == names::TIP_VOLUME)
            .expect("tip-volume");
        for (i, (expected, measured)) in [(0, 0), (1_000_000, 1_000_000), (1_000_000, 1_030_000)]
            .into_iter()
            .enumerate()
        {
            let t_ms = i as u64 * scenario.sample_ms;
            let row = ExpectedSample {
                t_ms,
                delivered_nl: expected,
                calculated_nl: 0,
                tip_nl: expected,
                actual_nl: 0,
                programmed_nl_per_day: 0,
            };
            let sample = Sample {
                tip_nl: Some(measured),
                ..Sample::running_at(t_ms)
            };
            check.observe(&scenario, &sample, Some(&row));
        }
        let result = check.finish(&scenario);
        let u = result
            .uncertainty
            .expect("tip-volume carries an uncertainty");
        let interval = u
            .results
            .iter()
            .find(|r| r.quantity.contains("interval"))
            .expect("the worst interval has its own result");
        assert_eq!(interval.verdict, Verdict::Fail, "{interval:?}");
        assert!((interval.measured - 30.0).abs() < 1e-9, "{interval:?}");
        // Two readings with s = 0.5 mg each dominate: U ≥ 2 · √2 · 0.5 mg ≈ 1.4 uL.
        assert!(
            interval.expanded > 1.4 && interval.expanded < 2.0,
            "{interval:?}"
        );
        assert!(u
            .results
            .iter()
            .any(|r| r.quantity.starts_with("tip volume at")));
        assert!(u.results.iter().any(|r| r.quantity.contains("segment")));
    }

    /// A perfect run is headlined by its end, not by t = 0, with its margin as 100 % unused.
    #[test]
    fn the_headline_is_the_most_used_tolerance_or_the_end() {
        let result = judged(&[(0, 0), (10_000, 10_000), (20_000, 20_000)]);
        assert_eq!(result.verdict, Verdict::Pass);
        assert_eq!(result.at_ms, Some(20 * 60_000));
        assert_eq!(result.margin_percent, Some(100.0));
        let result = judged(&[(0, 0), (100_000, 103_000), (200_000, 200_000)]);
        assert_eq!(result.at_ms, Some(10 * 60_000), "{result:?}");
        assert!(result.margin_percent.is_some_and(|p| p < 100.0 && p > 0.0));
        assert!(result.end_value.is_some());
    }
}
