//! The flow checks' uncertainty: the judged windows with the lowest and the highest measured
//! flow, each with the expanded uncertainty of its tip volume from the run's budget, set
//! against the under- and over-infusion thresholds. The findings decide the flow checks'
//! verdicts; these figures say how near the nearest windows came to a threshold.

use super::flow::FlowWindow;
use super::gravimetry::Gravimetry;
use super::volume::verdict_of;
use super::{names, time, CheckResult};
use crate::record::schema::UncertainResult;
use crate::scenario::Scenario;

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
