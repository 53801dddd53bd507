//! The uncertainty budget as the gravimetric checks apply it: one run's balance figures, fluid
//! and temperature, turning a judged tip volume into a `CheckUncertainty` and the decision of
//! the scenario's rule (tip-volume, bolus-volume and the flow checks share it).

use crate::expect::decision::{decide, Decision, DecisionRule, GuardBand, Limits};
use crate::expect::uncertainty::{
    volume_budget, BalanceFigures, Budget, Fluid, DEFAULT_TEMPERATURE_C,
};
use crate::record::schema::{CheckUncertainty, UncertaintyTerm};
use crate::scenario::{AcceptanceRule, Scenario};

/// Standard uncertainty of a declared fluid density, g/mL (a solution's preparation, as for
/// 0.9 % saline in docs/metrology.md).
const DECLARED_DENSITY_U_G_PER_ML: f64 = 0.0002;
/// The temperature a scenario's `density_g_per_ml` is taken to be stated at, °C.
const DECLARED_DENSITY_AT_C: f64 = 22.0;

/// The run's gravimetric context: what every budget of the run shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Gravimetry {
    figures: BalanceFigures,
    /// The scenario's declared density, g/mL (what the tip volume was converted with).
    declared_density: f64,
    temperature_c: f64,
    /// Where the temperature came from, for the report.
    temperature_source: &'static str,
    rule: DecisionRule,
}

/// A judged volume with its uncertainty and the rule's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub uncertainty: CheckUncertainty,
    pub decision: Decision,
}

impl Gravimetry {
    /// The bench's temperature wins over the scenario's (it is what the bench measured); 22 °C
    /// when neither declares one.
    pub fn for_scenario(scenario: &Scenario, figures: &BalanceFigures) -> Gravimetry {
        let (temperature_c, temperature_source) =
            match (figures.temperature_c, scenario.bench.temperature_c) {
                (Some(t), _) => (t, "the bench file's temperature_c"),
                (None, Some(t)) => (t, "the scenario's [bench] temperature_c"),
                (None, None) => (DEFAULT_TEMPERATURE_C, "the default"),
            };
        Gravimetry {
            figures: figures.clone(),
            declared_density: scenario.bench.density_g_per_ml,
            temperature_c,
            temperature_source,
            rule: rule_of(scenario.tolerance.decision_rule),
        }
    }

    pub fn rule(&self) -> DecisionRule {
        self.rule
    }

    pub fn temperature_c(&self) -> f64 {
        self.temperature_c
    }

    fn fluid(&self) -> Fluid {
        Fluid::DeclaredAt {
            g_per_ml: self.declared_density,
            u_g_per_ml: DECLARED_DENSITY_U_G_PER_ML,
            at_c: DECLARED_DENSITY_AT_C,
        }
    }

    /// The budget of a tip volume measured as the difference of two readings `elapsed_ms` apart.
    pub fn budget(&self, volume_nl: f64, elapsed_ms: u64) -> Budget {
        let mass_g = volume_nl / 1e6 * self.declared_density;
        volume_budget(&self.figures.input(
            mass_g,
            elapsed_ms as f64 / 3_600_000.0,
            self.fluid(),
            self.temperature_c,
        ))
    }

    /// The uncertainty of a tip volume (`volume_nl` over `elapsed_ms`) whose error from the
    /// expected one is `error_nl`, judged against ±`tolerance_nl` by the scenario's rule. The
    /// figures are in µL.
    pub fn judge(
        &self,
        quantity: String,
        volume_nl: f64,
        elapsed_ms: u64,
        error_nl: f64,
        tolerance_nl: f64,
    ) -> Judged {
        self.judge_between(
            quantity,
            volume_nl,
            elapsed_ms,
            error_nl,
            (Some(-tolerance_nl), Some(tolerance_nl)),
        )
    }

    /// As `judge`, with limits on the error that may be one-sided (nL; None: open).
    pub fn judge_between(
        &self,
        quantity: String,
        volume_nl: f64,
        elapsed_ms: u64,
        error_nl: f64,
        (lower_nl, upper_nl): (Option<f64>, Option<f64>),
    ) -> Judged {
        let budget = self.budget(volume_nl, elapsed_ms);
        let decision = decide(
            error_nl / 1e3,
            budget.expanded_ul,
            Limits {
                lower: lower_nl.map(|l| l / 1e3),
                upper: upper_nl.map(|u| u / 1e3),
            },
            self.rule,
        );
        Judged {
            uncertainty: self.describe(quantity, &budget),
            decision,
        }
    }

    /// The budget as the record keeps it, each term's basis naming where its figure came from.
    pub fn describe(&self, quantity: String, budget: &Budget) -> CheckUncertainty {
        let source = |name: &str| match name {
            "density" => format!(
                "declared {} g/mL at {DECLARED_DENSITY_AT_C} °C; {} °C from {}",
                self.declared_density, self.temperature_c, self.temperature_source
            ),
            "buoyancy" => "conventional values".to_string(),
            _ => self.figures.source.clone(),
        };
        CheckUncertainty {
            quantity,
            expanded: budget.expanded_ul,
            coverage_factor: budget.coverage_factor,
            combined: budget.combined_ul,
            terms: budget
                .terms
                .iter()
                .map(|t| UncertaintyTerm {
                    name: t.name.to_string(),
                    basis: format!("{} (from {})", t.basis, source(t.name)),
                    standard: t.standard_uncertainty_ul,
                })
                .collect(),
            decision_rule: self.rule.describe(),
            guard_band: self.rule.guard_band(budget.expanded_ul),
            false_accept_percent: 100.0
                * self.rule.max_false_accept_probability(budget.expanded_ul),
            unit: None,
            results: Vec::new(),
        }
    }
}

fn rule_of(rule: AcceptanceRule) -> DecisionRule {
    match rule {
        AcceptanceRule::Simple => DecisionRule::SimpleAcceptance,
        AcceptanceRule::Guarded {
            guard_band_ul: None,
        } => DecisionRule::GuardedAcceptance {
            guard_band: GuardBand::ExpandedUncertainty,
        },
        AcceptanceRule::Guarded {
            guard_band_ul: Some(band),
        } => DecisionRule::GuardedAcceptance {
            guard_band: GuardBand::Fixed(band),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(temperature: Option<f64>) -> Scenario {
        let mut s = crate::scenario::load(std::path::Path::new("scenarios/stop-resume.toml"))
            .expect("scenario");
        s.bench.temperature_c = temperature;
        s
    }

    fn term(u: &CheckUncertainty, name: &str) -> f64 {
        u.terms
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.standard)
            .unwrap_or(f64::NAN)
    }

    /// 100 µL over an hour: at 28 °C water's slope is steeper than at 22 °C (−0.000289 against
    /// −0.000232 g/mL/°C), so u(T) = 0.5 °C weighs more in the density term: u(ρ) is
    /// √(0.0002² + 0.0001445²) = 0.0002467 against √(0.0002² + 0.000116²) = 0.0002312 g/mL.
    #[test]
    fn a_temperature_change_moves_the_density_term() {
        let figures = BalanceFigures::default();
        let at = |t| {
            let g = Gravimetry::for_scenario(&scenario(t), &figures);
            g.judge("v".into(), 100_000.0, 3_600_000, 0.0, 10_000.0)
                .uncertainty
        };
        let (default, warm) = (at(None), at(Some(28.0)));
        let ratio = term(&warm, "density") / term(&default, "density");
        assert!((ratio - 0.0002467 / 0.0002312).abs() < 0.01, "{ratio}");
        let basis = |u: &CheckUncertainty| {
            let t = u.terms.iter().find(|t| t.name == "density").unwrap();
            t.basis.clone()
        };
        assert!(
            basis(&warm).contains("28 °C from the scenario"),
            "{}",
            basis(&warm)
        );
        assert!(basis(&default).contains("22 °C from the default"));
        // The bench's temperature wins over the scenario's.
        let bench = BalanceFigures {
            temperature_c: Some(16.0),
            ..BalanceFigures::default()
        };
        let g = Gravimetry::for_scenario(&scenario(Some(28.0)), &bench);
        assert_eq!(g.temperature_c(), 16.0);
    }

    /// A certificate U = 1 mg (k = 2) adds 0.5 mg ≈ 0.4977 µL of standard uncertainty.
    #[test]
    fn a_calibration_certificate_widens_the_expanded_uncertainty() {
        let s = scenario(None);
        let plain = Gravimetry::for_scenario(&s, &BalanceFigures::default());
        let certified = Gravimetry::for_scenario(
            &s,
            &BalanceFigures {
                calibration: Some((1.0, 2.0)),
                source: "bench file bench.toml".into(),
                ..BalanceFigures::default()
            },
        );
        let a = plain.judge("v".into(), 100_000.0, 3_600_000, 0.0, 1.0);
        let b = certified.judge("v".into(), 100_000.0, 3_600_000, 0.0, 1.0);
        assert!(
            b.uncertainty.expanded > a.uncertainty.expanded + 0.5,
            "{} vs {}",
            b.uncertainty.expanded,
            a.uncertainty.expanded
        );
        let calibration = term(&b.uncertainty, "calibration");
        assert!((calibration - 0.4977).abs() < 1e-3, "{calibration}");
        assert!(b
            .uncertainty
            .terms
            .iter()
            .any(|t| t.name == "calibration" && t.basis.contains("bench file bench.toml")));
    }
}
