//! `clock-drift`: on a real-time bench the host's clock is the time authority, and the device's
//! clock is measured against it through the run: its rate relative to the host's, from pairs
//! (host time, device time) read at each sample, must stay within the declared tolerance
//! (`[tolerance] clock_drift_percent`, ±0.1 % by default).
//!
//! In virtual time (the emulator driven by AdvanceTime) the device clock is the reference and
//! there is no host clock in the loop: the check is not produced there (docs/checks in README).

use super::{names, time, CheckResult, Verdict};
use crate::scenario::Scenario;

/// The shortest host span over which a rate is judged: below it the read latency of one status
/// request (milliseconds) would dominate a 0.1 % tolerance.
pub const MIN_SPAN_MS: u64 = 2_000;

/// A reading of the device clock: the host times the status request was sent and its answer
/// came (ms since the scenario started), and the device time it carried, read in between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    pub host_sent_ms: u64,
    pub host_received_ms: u64,
    pub device_ms: u64,
}

impl ClockReading {
    fn host_mid(&self) -> f64 {
        (self.host_sent_ms as f64 + self.host_received_ms as f64) / 2.0
    }

    fn half_round_trip(&self) -> f64 {
        (self.host_received_ms.saturating_sub(self.host_sent_ms)) as f64 / 2.0
    }
}

/// The device clock's rate against the host's, percent (+10 means 10 % fast), with the
/// uncertainty the request round trips leave in it, and the host span it was measured over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    pub percent: f64,
    pub uncertainty_percent: f64,
    pub span_ms: u64,
}

/// The first and the latest reading of the run.
#[derive(Debug, Clone, Default)]
pub struct DriftMeter {
    first: Option<ClockReading>,
    last: Option<ClockReading>,
}

impl DriftMeter {
    pub fn observe(&mut self, reading: ClockReading) {
        self.first.get_or_insert(reading);
        self.last = Some(reading);
    }

    /// None before two readings a host millisecond apart.
    pub fn drift(&self) -> Option<Drift> {
        let (a, b) = (self.first?, self.last?);
        let host = b.host_mid() - a.host_mid();
        if host < 1.0 {
            return None;
        }
        let device = b.device_ms as f64 - a.device_ms as f64;
        Some(Drift {
            percent: (device / host - 1.0) * 100.0,
            uncertainty_percent: (a.half_round_trip() + b.half_round_trip()) / host * 100.0,
            span_ms: host as u64,
        })
    }

    /// The check: NOT EVALUATED when the run gave too short a span to judge (never a pass).
    pub fn finish(&self, scenario: &Scenario) -> CheckResult {
        let tolerance = scenario.tolerance.clock_drift_percent;
        let measured = self.drift();
        // Shared risk: a rate within the tolerance plus the round trips' uncertainty passes (a
        // correct clock is never failed for the link's latency); over a run of hours that
        // uncertainty is a few ppm. A run too short to judge is not evaluated.
        let (verdict, margin, measured_text, detail) = match measured {
            Some(d) if d.span_ms >= MIN_SPAN_MS => {
                let limit = tolerance + d.uncertainty_percent;
                (
                    if d.percent.abs() <= limit {
                        Verdict::Pass
                    } else {
                        Verdict::Fail
                    },
                    Some(limit - d.percent.abs()),
                    format!(
                        "{:+.3} % (± {:.3} % read uncertainty)",
                        d.percent, d.uncertainty_percent
                    ),
                    format!(
                        "the device clock advanced {:.4} s per host second over {} of host time",
                        1.0 + d.percent / 100.0,
                        time(d.span_ms)
                    ),
                )
            }
            Some(d) => (
                Verdict::NotEvaluated,
                None,
                format!("{:+.3} %", d.percent),
                format!(
                    "not evaluated: {} of host time is too short to judge a rate (at least {})",
                    time(d.span_ms),
                    time(MIN_SPAN_MS)
                ),
            ),
            None => (
                Verdict::NotEvaluated,
                None,
                "no reading".to_string(),
                "not evaluated: fewer than two readings of the device clock".to_string(),
            ),
        };
        CheckResult {
            name: names::CLOCK_DRIFT.to_string(),
            verdict,
            expected: "device clock at the host's rate".to_string(),
            measured: measured_text,
            tolerance: format!("±{tolerance} %"),
            margin,
            unit: "%".to_string(),
            at_ms: None,
            detail,
            margin_percent: margin.map(|m| m / tolerance * 100.0),
            end_value: None,
            uncertainty: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let text = "id = \"t\"\ntitle = \"t\"\nrequirements = [\"R\"]\nhazard = \"h\"\n[device]\nreservoir_ml = 40\ninitial_fill_ml = 20.0\nconcentration_ug_per_ml = 500\n[timing]\nend = \"5h\"\nsample_every = \"1h\"\n";
        crate::scenario::parse(std::path::Path::new("t.toml"), text, String::new()).unwrap()
    }

    /// Readings with a 2 ms round trip each.
    fn meter(pairs: &[(u64, u64)]) -> DriftMeter {
        let mut m = DriftMeter::default();
        for (h, d) in pairs {
            m.observe(ClockReading {
                host_sent_ms: h.saturating_sub(1),
                host_received_ms: h + 1,
                device_ms: *d,
            });
        }
        m
    }

    #[test]
    fn a_clock_10_percent_fast_fails_and_one_within_the_tolerance_passes() {
        let s = scenario();
        assert_eq!(s.tolerance.clock_drift_percent, 0.1);
        let fast = meter(&[(1_000, 5_000), (11_000, 16_000)]).finish(&s);
        assert_eq!(fast.verdict, Verdict::Fail);
        assert!(fast.measured.starts_with("+10.000 %"), "{}", fast.measured);
        let good = meter(&[(1_000, 5_000), (101_000, 105_050)]).finish(&s);
        assert_eq!(good.verdict, Verdict::Pass, "{}", good.detail);
        let slow = meter(&[(1_000, 5_000), (101_000, 104_800)]).finish(&s);
        assert_eq!(slow.verdict, Verdict::Fail, "-0.2 %");
    }

    #[test]
    fn too_short_a_run_is_not_evaluated_never_a_pass() {
        let s = scenario();
        assert_eq!(meter(&[]).finish(&s).verdict, Verdict::NotEvaluated);
        let short = meter(&[(0, 0), (500, 500)]).finish(&s);
        assert_eq!(short.verdict, Verdict::NotEvaluated);
    }
}
