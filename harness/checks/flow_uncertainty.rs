//! The flow checks' uncertainty: the judged windows with the lowest and the highest measured
//! flow, each with the expanded uncertainty of its tip volume from the run's budget, set
//! against the under- and over-infusion thresholds; and the trumpet period's mean error A with
//! the uncertainty of the volume over the period. The findings and the trumpet limits decide the
//! verdicts; these figures say how near the results came to a threshold.

use super::flow::FlowWindow;
use super::gravimetry::Gravimetry;
use super::volume::verdict_of;
use super::{names, time, CheckResult};
use crate::expect::decision::DecisionRule;
use crate::record::schema::{TrumpetResult, UncertainResult, Verdict};
use crate::scenario::Scenario;

/// Attaches to `flow-accuracy` the uncertainty of the mean error A: the budget of the volume
/// programmed over the period, in µL, and A's U in per cent of it. The check is judged by simple
/// acceptance (docs/metrology.md), which the attached rule says.
pub fn attach_trumpet(gravimetry: &Gravimetry, trumpet: &TrumpetResult, check: &mut CheckResult) {
    let Some(a) = trumpet.mean_error_percent else {
        return;
    };
    let elapsed_ms = trumpet.to_ms.saturating_sub(trumpet.from_ms);
    let programmed_nl = trumpet.rate_ml_per_h * 1e6 * elapsed_ms as f64 / 3_600_000.0;
    if programmed_nl <= 0.0 {
        return;
    }
    let measured_nl = programmed_nl * (1.0 + a / 100.0);
    let budget = gravimetry.budget(measured_nl, elapsed_ms);
    let expanded_percent = 100.0 * budget.expanded_ul * 1e3 / programmed_nl;
    let quantity = format!(
        "tip volume over the trumpet period {} .. {} (mean error A = {a:+.3} %, U = {expanded_percent:.3} % of the programmed volume)",
        time(trumpet.from_ms),
        time(trumpet.to_ms)
    );
    let mut u = gravimetry.describe(quantity, &budget);
    let rule = DecisionRule::SimpleAcceptance;
    u.decision_rule = rule.describe();
    u.guard_band = 0.0;
    u.false_accept_percent = 100.0 * rule.max_false_accept_probability(budget.expanded_ul);
    u.unit = Some("uL".to_string());
    if let Some(limit) = trumpet.limit_mean_error_percent {
        u.results = vec![UncertainResult {
            quantity: "mean error A over the period".to_string(),
            expected: 0.0,
            measured: a,
            tolerance: limit,
            expanded: expanded_percent,
            unit: "%".to_string(),
            verdict: if a.abs() <= limit {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
        }];
    }
    check.uncertainty = Some(u);
}

/// Attaches to `under-infusion` the lowest-flow window and to `over-infusion` the highest,
/// in µL (the checks themselves are timed in s).
pub fn attach(
    scenario: &Scenario,
    gravimetry: &Gravimetry,
    [lowest, highest]: [Option<FlowWindow>; 2],
    results: &mut [CheckResult],
) {
    let p = &scenario.expect.discrepancy;
    for (name, window, under) in [
        (names::UNDER_INFUSION, lowest, true),
        (names::OVER_INFUSION, highest, false),
    ] {
        let (Some(w), Some(check)) = (window, results.iter_mut().find(|r| r.name == name)) else {
            continue;
        };
        // One-sided: an under-infusion window may not fall below its threshold, an
        // over-infusion one may not rise above its own.
        let (limits, tolerance_nl) = if under {
            let t = (1.0 - p.under_ratio) * w.expected_nl;
            ((Some(-t), None), t)
        } else {
            let t = (p.over_ratio - 1.0) * w.expected_nl;
            ((None, Some(t)), t)
        };
        let error_nl = w.measured_nl - w.expected_nl;
        let within = if under {
            error_nl >= -tolerance_nl
        } else {
            error_nl <= tolerance_nl
        };
        let quantity = format!(
            "tip volume over the flow window {} .. {} ({:.1} % of programmed)",
            time(w.from_ms),
            time(w.to_ms),
            100.0 * w.ratio()
        );
        let judged = gravimetry.judge_between(
            quantity.clone(),
            w.measured_nl,
            w.to_ms - w.from_ms,
            error_nl,
            limits,
        );
        let mut u = judged.uncertainty;
        u.unit = Some("uL".to_string());
        u.results = vec![UncertainResult {
            quantity,
            expected: w.expected_nl / 1e3,
            measured: w.measured_nl / 1e3,
            tolerance: tolerance_nl / 1e3,
            expanded: u.expanded,
            unit: "uL".to_string(),
            verdict: verdict_of(gravimetry.rule(), within, judged.decision),
        }];
        check.uncertainty = Some(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::uncertainty::BalanceFigures;
    use crate::record::schema::Verdict;

    #[test]
    fn the_flow_checks_carry_the_nearest_windows_uncertainty() {
        let scenario = crate::scenario::load(std::path::Path::new("scenarios/stop-resume.toml"))
            .expect("scenario");
        let gravimetry = Gravimetry::for_scenario(&scenario, &BalanceFigures::default());
        let mut results = super::super::flow::check_findings(&scenario, &[], 3);
        let window = |measured_nl| FlowWindow {
            from_ms: 0,
            to_ms: 3_600_000,
            expected_nl: 50_000.0,
            measured_nl,
        };
        attach(
            &scenario,
            &gravimetry,
            [Some(window(49_000.0)), Some(window(70_000.0))],
            &mut results,
        );
        let of = |name: &str| {
            let check = results.iter().find(|r| r.name == name).unwrap();
            check.uncertainty.clone().expect("an uncertainty")
        };
        let under = of(names::UNDER_INFUSION);
        assert_eq!(under.unit.as_deref(), Some("uL"));
        assert!(under.expanded > 0.0);
        assert_eq!(under.results[0].verdict, Verdict::Pass);
        // 140 % of programmed is beyond the over-infusion threshold: that window is a FAIL.
        let over = of(names::OVER_INFUSION);
        assert_eq!(over.results[0].verdict, Verdict::Fail, "{over:?}");
        assert!(over.results[0].quantity.contains("140.0 %"));
    }
}

#[cfg(test)]
mod trumpet_tests {
    use super::*;
    use crate::expect::uncertainty::BalanceFigures;

    /// One hour at 1 mL/h with A = +2 %: U of the 1.02 mL is that of two readings on a 0.1 mg
    /// balance and a little density, a few hundredths of a per cent of the programmed volume.
    #[test]
    fn the_mean_error_carries_the_uncertainty_of_the_period_volume() {
        let scenario = crate::scenario::load(std::path::Path::new("scenarios/flow-accuracy.toml"))
            .expect("scenario");
        let gravimetry = Gravimetry::for_scenario(&scenario, &BalanceFigures::default());
        let trumpet = TrumpetResult {
            from_ms: 3_600_000,
            to_ms: 7_200_000,
            rate_ml_per_h: 1.0,
            sample_ms: 30_000,
            min_strokes: 20,
            samples: 121,
            mean_error_percent: Some(2.0),
            windows: Vec::new(),
            limit_ep_max_percent: None,
            limit_ep_min_percent: None,
            limit_mean_error_percent: Some(1.5),
        };
        let mut check = super::super::flow::check_findings(&scenario, &[], 1).remove(0);
        attach_trumpet(&gravimetry, &trumpet, &mut check);
        let u = check.uncertainty.expect("an uncertainty");
        assert_eq!(u.unit.as_deref(), Some("uL"));
        assert!(u.decision_rule.starts_with("simple acceptance"), "{u:?}");
        let a = &u.results[0];
        assert_eq!(
            (a.measured, a.tolerance, a.verdict),
            (2.0, 1.5, Verdict::Fail)
        );
        assert!(a.expanded > 0.0 && a.expanded < 0.1, "{a:?}");
        assert!((a.expanded - 100.0 * u.expanded / 1000.0).abs() < 1e-9);
    }
}
