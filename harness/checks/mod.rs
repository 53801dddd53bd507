//! Checks: named judgements of a measured run against expectations, each with margin and verdict.
//!
//! Every check takes the scenario, its expected traces (fixtures) and what was measured, and
//! returns `CheckResult`s; none of them looks at the emulator. `docs/checks.md` describes each.

pub mod alarms;
pub mod bolus;
pub mod clock_drift;
pub mod flow;
pub mod flow_accuracy;
#[cfg(test)]
mod flow_tests;
pub mod flow_uncertainty;
pub mod gravimetry;
pub mod steps;
pub mod trumpet;
/// Check names are read from scenario files (a negative control's `must_fail`), so their
/// vocabulary sits in the scenario layer below the checks; `checks::names` is the same module.
pub use crate::scenario::check_names as names;
pub mod volume;

use crate::expect::uncertainty::BalanceFigures;
use crate::expect::ExpectedSample;
// Samples and check results are the record's schema: the checks fill them in.
pub use crate::record::schema::{CheckResult, Sample, Verdict};
use crate::scenario::Scenario;

/// An alarm transition the harness observed, on scenario time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAlarm {
    pub t_ms: u64,
    pub alarm: crate::protocol::AlarmKind,
    pub priority: crate::protocol::Priority,
    pub raised: bool,
}

/// A discrepancy the harness found from the independent measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: crate::scenario::FindingKind,
    pub t_ms: u64,
    pub detail: String,
}

/// Judges a scenario's samples as they are taken, so that nothing of a long run has to be held
/// in memory: each sample is seen once, with its expected row, then dropped.
pub struct Judge<'a> {
    scenario: &'a Scenario,
    volumes: Vec<volume::SeriesCheck>,
    flow: Option<flow::FlowFinder>,
    flow_accuracy: Option<flow_accuracy::FlowAccuracy>,
    bolus: Option<bolus::BolusVolume>,
    /// The run's uncertainty budget (balance figures, fluid, temperature, decision rule).
    gravimetry: gravimetry::Gravimetry,
    step_answers: Vec<steps::StepAnswer>,
    /// On a real-time bench only: the device clock against the host's.
    clock_drift: Option<clock_drift::DriftMeter>,
    /// Alarm onsets the harness's own observations refute (real-time bench): alarm and why.
    refuted_onsets: Vec<(crate::protocol::AlarmKind, String)>,
}

/// The balance's reading noise (one standard deviation, mg) that the judge allows for, when
/// the bench declares it (the emulator's `--noise-mg`, a bench balance's repeatability).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BalanceNoise {
    pub sd_mg: f64,
}

impl<'a> Judge<'a> {
    pub fn new(scenario: &'a Scenario) -> Judge<'a> {
        Judge::with_noise(scenario, BalanceNoise::default())
    }

    pub fn with_noise(scenario: &'a Scenario, noise: BalanceNoise) -> Judge<'a> {
        let figures = BalanceFigures {
            repeatability_mg: noise.sd_mg.max(0.0),
            ..BalanceFigures::default()
        };
        Judge::with_balance(scenario, noise, &figures)
    }

    /// As `with_noise`, with the balance's figures for the uncertainty budgets (the emulated
    /// balance's, or the bench file's: readability, certificate, evaporation, temperature).
    pub fn with_balance(
        scenario: &'a Scenario,
        noise: BalanceNoise,
        figures: &BalanceFigures,
    ) -> Judge<'a> {
        Judge {
            scenario,
            volumes: volume::SeriesCheck::for_scenario_with(scenario, noise.sd_mg, figures),
            bolus: bolus::BolusVolume::for_scenario(scenario, noise.sd_mg, figures),
            gravimetry: gravimetry::Gravimetry::for_scenario(scenario, figures),
            flow: scenario
                .bench
                .balance
                .then(|| flow::FlowFinder::new(scenario, noise.sd_mg)),
            flow_accuracy: flow_accuracy::FlowAccuracy::for_scenario(scenario),
            step_answers: Vec::new(),
            clock_drift: None,
            refuted_onsets: Vec::new(),
        }
    }

    /// One sample and the expected row at its time (None when the expected trace has none).
    pub fn observe(&mut self, sample: &Sample, expected: Option<&ExpectedSample>) {
        for series in &mut self.volumes {
            series.observe(self.scenario, sample, expected);
        }
        if let Some(flow) = &mut self.flow {
            flow.observe(self.scenario, sample, expected);
        }
        if let Some(trumpet) = &mut self.flow_accuracy {
            trumpet.observe(sample.t_ms, sample.balance_g, expected);
        }
        if let Some(bolus) = &mut self.bolus {
            bolus.observe(sample, expected);
        }
    }

    /// How the device answered a scenario step (restore outcomes are ignored).
    pub fn step_answered(
        &mut self,
        index: usize,
        t_ms: u64,
        outcome: &crate::record::schema::StepOutcome,
    ) {
        self.step_answers
            .extend(steps::StepAnswer::from_outcome(index, t_ms, outcome));
    }

    /// The run is on a real-time bench: it has a `clock-drift` check, NOT EVALUATED when too
    /// few readings come (never silently absent).
    pub fn on_real_time_bench(&mut self) {
        self.clock_drift
            .get_or_insert_with(clock_drift::DriftMeter::default);
    }

    /// A reading of the device clock on a real-time bench: the run then has a `clock-drift`
    /// check. Virtual time never calls this.
    pub fn clock_reading(&mut self, reading: clock_drift::ClockReading) {
        self.clock_drift
            .get_or_insert_with(clock_drift::DriftMeter::default)
            .observe(reading);
    }

    /// The device's drift against the host in percent, once measured (real-time bench).
    pub fn clock_drift_percent(&self) -> Option<f64> {
        self.clock_drift
            .as_ref()
            .and_then(|m| m.drift())
            .map(|d| d.percent)
    }

    /// The device stamped this alarm's onset earlier than the harness could have seen it: its
    /// `alarm-onset` check fails, whatever the stamp's distance to the window.
    pub fn refute_onset(&mut self, alarm: crate::protocol::AlarmKind, why: String) {
        self.refuted_onsets.push((alarm, why));
    }

    /// The `[analysis.trumpet]` curve from the samples seen so far (all of them once the run
    /// is over); None when the scenario asks for none or the period has no programmed rate.
    pub fn trumpet_curve(&self) -> Option<trumpet::TrumpetCurve> {
        self.flow_accuracy
            .as_ref()
            .and_then(|t| t.curve(self.scenario))
    }

    /// The trumpet curve as the record keeps it (period, rate, windows, limits).
    pub fn trumpet_result(&self) -> Option<crate::record::schema::TrumpetResult> {
        self.flow_accuracy
            .as_ref()
            .and_then(|t| t.result(self.scenario))
    }

    /// The `bolus-volume` table (empty when the scenario has no bolus or rate change, or no
    /// balance).
    pub fn bolus_rows(&self) -> Vec<crate::record::schema::BolusRow> {
        self.bolus
            .as_ref()
            .map(|b| b.rows(self.scenario))
            .unwrap_or_default()
    }

    /// Every check that applies to the scenario, and the findings, for the record.
    pub fn finish(self, alarms: &[ObservedAlarm]) -> (Vec<CheckResult>, Vec<Finding>) {
        let scenario = self.scenario;
        let mut results: Vec<CheckResult> = self
            .volumes
            .into_iter()
            .map(|v| v.finish(scenario))
            .collect();
        results.extend(steps::check_steps(scenario, &self.step_answers));
        if let Some(meter) = &self.clock_drift {
            results.push(meter.finish(scenario));
        }
        let mut alarm_results = alarms::check_alarms(scenario, alarms);
        for (alarm, why) in &self.refuted_onsets {
            let name = names::per_alarm(names::ALARM_ONSET, *alarm);
            match alarm_results.iter_mut().find(|r| r.name == name) {
                Some(r) => {
                    r.verdict = Verdict::Fail;
                    r.detail = format!("{why}; {}", r.detail);
                }
                // No onset expected: the alarm fails unexpected-alarms already; say why too.
                None => alarm_results.push(CheckResult {
                    name,
                    verdict: Verdict::Fail,
                    expected: "no raise".to_string(),
                    measured: "a raise the harness's observations refute".to_string(),
                    tolerance: "the harness's own observations".to_string(),
                    margin: None,
                    unit: "s".to_string(),
                    at_ms: None,
                    detail: why.clone(),
                    margin_percent: None,
                    end_value: None,
                    uncertainty: None,
                }),
            }
        }
        results.extend(alarm_results);
        if let Some(trumpet) = self.flow_accuracy {
            let curve = trumpet.result(scenario);
            if let Some(mut check) = trumpet.finish(scenario) {
                if let Some(curve) = &curve {
                    flow_uncertainty::attach_trumpet(&self.gravimetry, curve, &mut check);
                }
                results.push(check);
            }
        }
        if let Some(bolus) = &self.bolus {
            results.push(bolus.finish(scenario, &bolus.rows(scenario)));
        }
        let mut findings = Vec::new();
        if let Some(flow) = self.flow {
            let extremes = flow.extremes();
            let judged;
            (findings, judged) = flow.finish();
            let mut flow_results = flow::check_findings(scenario, &findings, judged);
            flow_uncertainty::attach(scenario, &self.gravimetry, extremes, &mut flow_results);
            results.extend(flow_results);
        }
        (results, findings)
    }
}

pub(crate) fn ml(nl: f64) -> String {
    format!("{:.4} mL", nl / 1e6)
}

pub(crate) fn time(ms: u64) -> String {
    crate::scenario::duration::format_duration(ms)
}
