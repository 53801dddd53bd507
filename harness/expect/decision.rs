//! Decision rules for statements of conformity (ISO/IEC 17025 §7.8.6, ILAC G8): a measured
//! value, its expanded uncertainty and a tolerance interval give PASS, FAIL or INCONCLUSIVE.
//!
//! Simple acceptance (the default) accepts a value inside the limits, whatever its uncertainty:
//! a value just inside a limit may be out in truth with up to 50 % probability. Guarded
//! acceptance puts a guard band w on each limit: PASS when [value − w, value + w] lies inside
//! the limits, FAIL when it lies wholly outside one, INCONCLUSIVE when it straddles a limit.
//! With w = U (k = 2, normal distribution) a PASS is wrong with at most 2.3 % probability.

/// How a check turns a value and its uncertainty into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum DecisionRule {
    /// ILAC G8 simple acceptance (w = 0): binary.
    #[default]
    SimpleAcceptance,
    /// Guarded acceptance with a guard band, in the value's unit.
    GuardedAcceptance { guard_band: GuardBand },
}

/// The guard band of guarded acceptance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GuardBand {
    /// w = U, the result's own expanded uncertainty (the usual choice).
    ExpandedUncertainty,
    /// A fixed width in the value's unit.
    Fixed(f64),
}

/// The outcome of a decision rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pass,
    Fail,
    /// The uncertainty interval straddles a limit (guarded acceptance only).
    Inconclusive,
}

/// A tolerance interval; either side may be open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

impl DecisionRule {
    /// The guard band this rule puts on each limit for a result of expanded uncertainty `u`.
    pub fn guard_band(self, expanded_uncertainty: f64) -> f64 {
        match self {
            DecisionRule::SimpleAcceptance => 0.0,
            DecisionRule::GuardedAcceptance {
                guard_band: GuardBand::ExpandedUncertainty,
            } => expanded_uncertainty.abs(),
            DecisionRule::GuardedAcceptance {
                guard_band: GuardBand::Fixed(w),
            } => w.abs(),
        }
    }

    /// The rule as the report's method section states it.
    pub fn describe(self) -> String {
        match self {
            DecisionRule::SimpleAcceptance => "simple acceptance (ILAC G8, w = 0)".to_string(),
            DecisionRule::GuardedAcceptance {
                guard_band: GuardBand::ExpandedUncertainty,
            } => "guarded acceptance (ILAC G8, w = U, k = 2)".to_string(),
            DecisionRule::GuardedAcceptance {
                guard_band: GuardBand::Fixed(w),
            } => format!("guarded acceptance (ILAC G8, w = {w})"),
        }
    }

    /// The largest probability that a PASS is false (the true value outside a limit), for a
    /// normal distribution with standard uncertainty U/2: Φ(−w/u); 50 % under simple acceptance.
    pub fn max_false_accept_probability(self, expanded_uncertainty: f64) -> f64 {
        let u = expanded_uncertainty.abs() / 2.0;
        let w = self.guard_band(expanded_uncertainty);
        if u == 0.0 {
            return if w > 0.0 { 0.0 } else { 0.5 };
        }
        normal_cdf(-w / u)
    }
}

/// Applies a decision rule; a NaN value or uncertainty can only be INCONCLUSIVE or FAIL, never
/// PASS.
pub fn decide(
    value: f64,
    expanded_uncertainty: f64,
    limits: Limits,
    rule: DecisionRule,
) -> Decision {
    if !value.is_finite() || !expanded_uncertainty.is_finite() {
        return Decision::Inconclusive;
    }
    let w = rule.guard_band(expanded_uncertainty);
    let below = limits.lower.is_some_and(|l| value < l);
    let above = limits.upper.is_some_and(|u| value > u);
    if w == 0.0 {
        return if below || above {
            Decision::Fail
        } else {
            Decision::Pass
        };
    }
    let wholly_below = limits.lower.is_some_and(|l| value + w < l);
    let wholly_above = limits.upper.is_some_and(|u| value - w > u);
    if wholly_below || wholly_above {
        return Decision::Fail;
    }
    let inside =
        limits.lower.is_none_or(|l| value - w >= l) && limits.upper.is_none_or(|u| value + w <= u);
    if inside {
        Decision::Pass
    } else {
        Decision::Inconclusive
    }
}

/// Standard normal cumulative distribution, via erfc (Abramowitz & Stegun 7.1.26, |ε| < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUARDED: DecisionRule = DecisionRule::GuardedAcceptance {
        guard_band: GuardBand::ExpandedUncertainty,
    };
    /// The labelled accuracy of one pump family: ±14.5 % (domain.md), as a volume error in %.
    const LABEL: Limits = Limits {
        lower: Some(-14.5),
        upper: Some(14.5),
    };

    #[test]
    fn simple_acceptance_is_binary_whatever_the_uncertainty() {
        let rule = DecisionRule::default();
        assert_eq!(decide(14.0, 1.0, LABEL, rule), Decision::Pass);
        assert_eq!(decide(14.5, 1.0, LABEL, rule), Decision::Pass);
        assert_eq!(decide(14.6, 0.0, LABEL, rule), Decision::Fail);
        assert_eq!(decide(-15.0, 1.0, LABEL, rule), Decision::Fail);
    }

    #[test]
    fn guarded_acceptance_near_a_limit_is_inconclusive() {
        // +14.0 % ± 1.0 %: the interval 13.0..15.0 straddles +14.5 %.
        assert_eq!(decide(14.0, 1.0, LABEL, GUARDED), Decision::Inconclusive);
        // +15.0 % ± 1.0 % straddles it from outside: still not a FAIL.
        assert_eq!(decide(15.0, 1.0, LABEL, GUARDED), Decision::Inconclusive);
        // Clear of the limit either way.
        assert_eq!(decide(13.0, 1.0, LABEL, GUARDED), Decision::Pass);
        assert_eq!(decide(15.6, 1.0, LABEL, GUARDED), Decision::Fail);
        assert_eq!(decide(-14.0, 1.0, LABEL, GUARDED), Decision::Inconclusive);
        assert_eq!(decide(-16.0, 1.0, LABEL, GUARDED), Decision::Fail);
    }

    #[test]
    fn a_fixed_guard_band_and_open_limits() {
        let rule = DecisionRule::GuardedAcceptance {
            guard_band: GuardBand::Fixed(0.5),
        };
        let at_most_ten = Limits {
            lower: None,
            upper: Some(10.0),
        };
        assert_eq!(decide(9.5, 3.0, at_most_ten, rule), Decision::Pass);
        assert_eq!(decide(9.6, 3.0, at_most_ten, rule), Decision::Inconclusive);
        assert_eq!(decide(10.6, 3.0, at_most_ten, rule), Decision::Fail);
        assert_eq!(decide(-1e9, 3.0, at_most_ten, rule), Decision::Pass);
        assert_eq!(
            decide(f64::NAN, 3.0, at_most_ten, rule),
            Decision::Inconclusive
        );
    }

    #[test]
    fn false_accept_risk_of_each_rule() {
        assert!(
            (DecisionRule::SimpleAcceptance.max_false_accept_probability(1.0) - 0.5).abs() < 1e-7
        );
        // w = U = 2u: Φ(−2) = 0.02275.
        assert!((GUARDED.max_false_accept_probability(1.0) - 0.022_750).abs() < 1e-6);
        assert!(GUARDED.describe().contains("guarded"));
    }
}
