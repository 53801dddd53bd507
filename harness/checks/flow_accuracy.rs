//! The `flow-accuracy` check: gathers the balance samples of the `[analysis.trumpet]` period as
//! they stream past, then judges the trumpet curve (checks/trumpet.rs) against the limits.
//!
//! Only the period's masses are kept (a few hundred numbers for the usual hour at 30 s), and the
//! programmed rate is the reference calculator's, from the expected rows of the same samples.

use super::trumpet::{trumpet_curve, Scaling, TrumpetCurve, TrumpetInput};
use super::{names, time, CheckResult, Verdict};
use crate::expect::ExpectedSample;
use crate::record::schema::TrumpetResult;
use crate::scenario::{Scenario, TrumpetSpec};

/// Samples of the analysis period, gathered while the run streams.
pub struct FlowAccuracy {
    spec: TrumpetSpec,
    trace: Vec<(u64, f64)>,
    /// Programmed rate at the first expected row of the period, nL/day.
    rate_nl_per_day: Option<u64>,
    /// A later row of the period expected another rate.
    rate_changed_at_ms: Option<u64>,
}

impl FlowAccuracy {
    /// The accumulator when the scenario asks for a trumpet curve and has a balance.
    pub fn for_scenario(scenario: &Scenario) -> Option<FlowAccuracy> {
        let spec = scenario.analysis.trumpet.clone()?;
        scenario.bench.balance.then_some(FlowAccuracy {
            spec,
            trace: Vec::new(),
            rate_nl_per_day: None,
            rate_changed_at_ms: None,
        })
    }

    /// One sample: its scenario time, the net balance reading (None when the read failed) and
    /// its expected row. Takes the fields, not the record's sample, to stay below the record.
    pub fn observe(&mut self, t: u64, balance_g: Option<f64>, expected: Option<&ExpectedSample>) {
        if t < self.spec.from_ms || t > self.spec.to_ms {
            return;
        }
        if let Some(grams) = balance_g {
            self.trace.push((t, grams));
        }
        if let Some(exp) = expected.filter(|_| t < self.spec.to_ms) {
            match self.rate_nl_per_day {
                None => self.rate_nl_per_day = Some(exp.programmed_nl_per_day),
                Some(r) if r != exp.programmed_nl_per_day && self.rate_changed_at_ms.is_none() => {
                    self.rate_changed_at_ms = Some(t)
                }
                Some(_) => {}
            }
        }
    }

    /// The analysis input, once the programmed rate is known and not zero.
    fn input(&self, scenario: &Scenario) -> Option<TrumpetInput> {
        let rate = self.rate_nl_per_day.filter(|&r| r > 0)?;
        Some(TrumpetInput {
            from_ms: self.spec.from_ms,
            to_ms: self.spec.to_ms,
            rate_ml_per_h: rate as f64 / 1e6 / 24.0,
            sample_ms: scenario.sample_ms,
            density_g_per_ml: scenario.bench.density_g_per_ml,
            windows_min: self.spec.windows_min.clone(),
            stroke_ul: scenario.device.stroke_nl as f64 / 1e3,
            min_strokes: self.spec.min_strokes,
        })
    }

    /// The trumpet curve of the period (for the record), None without a programmed rate.
    pub fn curve(&self, scenario: &Scenario) -> Option<TrumpetCurve> {
        self.input(scenario)
            .map(|input| trumpet_curve(&input, &self.trace))
    }

    /// The curve as the record keeps it, with its period, rate and limits.
    pub fn result(&self, scenario: &Scenario) -> Option<TrumpetResult> {
        let input = self.input(scenario)?;
        let curve = trumpet_curve(&input, &self.trace);
        let limits = &self.spec.limits;
        Some(TrumpetResult {
            from_ms: input.from_ms,
            to_ms: input.to_ms,
            rate_ml_per_h: input.rate_ml_per_h,
            sample_ms: input.sample_ms,
            min_strokes: input.min_strokes,
            samples: curve.samples,
            mean_error_percent: curve.mean_error_percent,
            windows: curve.windows,
            limit_ep_max_percent: limits.ep_max_percent,
            limit_ep_min_percent: limits.ep_min_percent,
            limit_mean_error_percent: limits.mean_error_percent,
        })
    }

    /// The `flow-accuracy` check, when the scenario gives limits.
    pub fn finish(self, scenario: &Scenario) -> Option<CheckResult> {
        let limits = &self.spec.limits;
        if !limits.any() {
            return None;
        }
        let mut wanted = Vec::new();
        if let Some(l) = limits.ep_max_percent {
            wanted.push(format!("Ep(max) ≤ {l:+.2} %"));
        }
        if let Some(l) = limits.ep_min_percent {
            wanted.push(format!("Ep(min) ≥ {l:+.2} %"));
        }
        if let Some(l) = limits.mean_error_percent {
            wanted.push(format!("|A| ≤ {l:.2} %"));
        }
        let period = format!(
            "period {} to {}",
            time(self.spec.from_ms),
            time(self.spec.to_ms)
        );
        let not_evaluated = |why: String| CheckResult {
            name: names::FLOW_ACCURACY.to_string(),
            verdict: Verdict::NotEvaluated,
            expected: wanted.join(", "),
            measured: "not evaluated".to_string(),
            tolerance: String::new(),
            margin: None,
            unit: "%".to_string(),
            at_ms: None,
            detail: format!("trumpet curve over the {period}: not evaluated: {why}"),
            margin_percent: None,
            end_value: None,
            uncertainty: None,
        };
        if let Some(t) = self.rate_changed_at_ms {
            return Some(not_evaluated(format!(
                "the programmed rate changes at {} inside the period",
                time(t)
            )));
        }
        let Some(curve) = self.curve(scenario) else {
            return Some(not_evaluated(
                "no programmed rate above zero in the period".to_string(),
            ));
        };
        Some(judge(&curve, &self.spec, &period).unwrap_or_else(not_evaluated))
    }
}

/// The verdict on a computed curve, or why it cannot be judged.
fn judge(curve: &TrumpetCurve, spec: &TrumpetSpec, period: &str) -> Result<CheckResult, String> {
    let limits = &spec.limits;
    let mut margins: Vec<f64> = Vec::new();
    let mut measured = Vec::new();
    let a = curve.mean_error_percent;
    if let Some(limit) = limits.mean_error_percent {
        let a = a.ok_or("the balance has no reading at the start or the end of the period")?;
        margins.push(limit - a.abs());
    }
    if let Some(a) = a {
        measured.push(format!("A = {a:+.2} %"));
    }
    let ep_limits = limits.ep_max_percent.is_some() || limits.ep_min_percent.is_some();
    let mut rows = Vec::new();
    for w in &curve.windows {
        let scaled = match w.scaling {
            Scaling::None => String::new(),
            Scaling::Sampling => format!(" (asked {} min, whole samples)", w.nominal_min),
            Scaling::Strokes => format!(" (asked {} min, scaled to the strokes)", w.nominal_min),
        };
        let (Some(max), Some(min)) = (w.ep_max_percent, w.ep_min_percent) else {
            if ep_limits {
                return Err(format!(
                    "the {:.1} min window{scaled} does not fit the period: lengthen the period or shorten the windows",
                    w.window_min
                ));
            }
            continue;
        };
        if let Some(limit) = limits.ep_max_percent {
            margins.push(limit - max);
        }
        if let Some(limit) = limits.ep_min_percent {
            margins.push(min - limit);
        }
        rows.push(format!(
            "{:.1} min{scaled}: Ep(max) {max:+.2} %, Ep(min) {min:+.2} %, {:.1} strokes, {} windows",
            w.window_min, w.strokes, w.count
        ));
    }
    if ep_limits {
        let worst_max = curve
            .windows
            .iter()
            .filter_map(|w| w.ep_max_percent)
            .reduce(f64::max);
        let worst_min = curve
            .windows
            .iter()
            .filter_map(|w| w.ep_min_percent)
            .reduce(f64::min);
        if let (Some(max), Some(min)) = (worst_max, worst_min) {
            measured.push(format!("Ep(max) {max:+.2} %, Ep(min) {min:+.2} %"));
        }
    }
    let margin = margins.iter().copied().reduce(f64::min);
    let expected = [
        limits
            .ep_max_percent
            .map(|l| format!("Ep(max) ≤ {l:+.2} %")),
        limits
            .ep_min_percent
            .map(|l| format!("Ep(min) ≥ {l:+.2} %")),
        limits.mean_error_percent.map(|l| format!("|A| ≤ {l:.2} %")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    Ok(CheckResult {
        name: names::FLOW_ACCURACY.to_string(),
        verdict: if margin.is_some_and(|m| m >= 0.0) {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        expected,
        measured: measured.join("; "),
        tolerance: "percent of the programmed rate".to_string(),
        margin,
        unit: "%".to_string(),
        at_ms: Some(spec.to_ms),
        margin_percent: None,
        end_value: None,
        uncertainty: None,
        detail: format!(
            "trumpet curve over the {period} ({} samples): {}",
            curve.samples,
            rows.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn scenario() -> Scenario {
        crate::scenario::load(std::path::Path::new("scenarios/flow-accuracy.toml"))
            .expect("scenario")
    }

    /// Streams 2 h 30 min of 30 s samples of a flow `factor` times the programmed 40 mL/day,
    /// read on an exact balance; `reads` says which samples have a balance reading.
    fn run(scenario: &Scenario, factor: f64, reads: impl Fn(u64) -> bool) -> FlowAccuracy {
        let mut check = FlowAccuracy::for_scenario(scenario).expect("the scenario asks for it");
        let d = scenario.bench.density_g_per_ml;
        for t in scenario.sample_times() {
            // 40 mL/day is 40/1440 mL a minute.
            let ml = factor * 40.0 / 1440.0 * t as f64 / 60_000.0;
            let balance_g = reads(t).then_some(ml * d);
            let expected = ExpectedSample {
                t_ms: t,
                delivered_nl: 0,
                calculated_nl: 0,
                tip_nl: 0,
                actual_nl: 0,
                programmed_nl_per_day: 40_000_000,
            };
            check.observe(t, balance_g, Some(&expected));
        }
        check
    }

    #[test]
    fn an_exact_flow_passes_with_the_whole_margin() {
        let s = scenario();
        let check = run(&s, 1.0, |_| true);
        let curve = check.curve(&s).expect("a curve");
        assert!(curve.mean_error_percent.unwrap().abs() < 1e-9);
        let result = check.finish(&s).expect("limits are given");
        assert_eq!(result.verdict, Verdict::Pass, "{result:?}");
        // The nearest limit is |A| ≤ 2 %, with A = 0.
        assert!((result.margin.unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_three_percent_over_flow_fails_on_the_mean_error() {
        let s = scenario();
        let result = run(&s, 1.03, |_| true).finish(&s).expect("limits");
        assert_eq!(result.verdict, Verdict::Fail);
        // Margin: 2 − 3 = −1 % (the window limits of ±8 % still hold).
        assert!((result.margin.unwrap() + 1.0).abs() < 1e-9, "{result:?}");
        assert!(
            result.measured.contains("A = +3.00 %"),
            "{}",
            result.measured
        );
    }

    #[test]
    fn no_reading_at_the_period_end_is_not_evaluated_never_a_pass() {
        let s = scenario();
        let result = run(&s, 1.0, |t| t != 7_200_000).finish(&s).expect("limits");
        assert_eq!(result.verdict, Verdict::NotEvaluated);
        assert_eq!(result.measured, "not evaluated");
        assert!(
            result.detail.contains("end of the period"),
            "{}",
            result.detail
        );
    }
}
