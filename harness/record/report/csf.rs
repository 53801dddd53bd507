//! Where a run's delivery to the patient was interrupted, and the CSF estimate around it for the
//! report. The pharmacokinetic model itself is `expect::csf`; this module reads the run's view
//! (steps, expected and measured tip flow, alarms and findings) and hands it the numbers.

use super::view::{ExpectedRow, ScenarioView};
use crate::scenario::duration::format_duration;
use crate::scenario::{Action, FaultSpec, Step};
use crate::units::MS_PER_DAY;

// The report's modules name the estimate's types through this module.
pub use crate::expect::csf::{CsfEstimate, CsfOutcome, CsfParams, Interruption, Response};

fn disconnect_step(steps: &[Step]) -> Option<u64> {
    steps.iter().find_map(|step| match step.action.effect() {
        Action::Inject {
            fault: FaultSpec::CatheterDisconnect,
        } => Some(step.at_ms),
        _ => None,
    })
}

/// Where the expected tip flow stops while therapy runs, interpolated inside the last partial
/// interval with the programmed rate.
pub fn expected_stop(rows: &[ExpectedRow]) -> Option<u64> {
    let mut flowed = false;
    for i in 1..rows.len() {
        let delta = rows[i].tip_nl.saturating_sub(rows[i - 1].tip_nl);
        if delta > 0 {
            flowed = true;
            continue;
        }
        if !flowed {
            continue;
        }
        if i >= 2 {
            let before = &rows[i - 2];
            let partial = rows[i - 1].tip_nl.saturating_sub(before.tip_nl);
            let rate = before.programmed_nl_per_day as f64 / MS_PER_DAY as f64;
            if rate > 0.0 {
                let at = before.t_ms as f64 + partial as f64 / rate;
                return Some((at.round() as u64).clamp(before.t_ms, rows[i - 1].t_ms));
            }
        }
        return Some(rows[i - 1].t_ms);
    }
    None
}

/// Where the measured tip flow first stays below 10 % of the programmed flow over a window of
/// at least one sample interval and 20 strokes (so pulsatile delivery is not mistaken for it).
fn measured_stop(view: &ScenarioView) -> Option<u64> {
    let stroke_nl = view.stroke_nl()?;
    let samples: Vec<(u64, u64)> = view
        .samples
        .iter()
        .filter_map(|s| Some((s.t_ms, s.tip_nl?)))
        .collect();
    let programmed_at = |t: u64| -> u64 {
        view.expected
            .iter()
            .rev()
            .find(|r| r.t_ms <= t)
            .map(|r| r.programmed_nl_per_day)
            .unwrap_or(0)
    };
    let mut flowed = false;
    for (i, &(t0, tip0)) in samples.iter().enumerate() {
        if i > 0 && tip0 > samples[i - 1].1 {
            flowed = true;
        }
        let programmed = programmed_at(t0);
        if !flowed || programmed == 0 {
            continue;
        }
        let stroke_period = stroke_nl as f64 * MS_PER_DAY as f64 / programmed as f64;
        let window = (view.sample_ms as f64).max(20.0 * stroke_period).max(1.0) as u64;
        let Some(&(t1, tip1)) = samples[i + 1..]
            .iter()
            .find(|(t, _)| t.saturating_sub(t0) >= window)
        else {
            break;
        };
        let expected = programmed as f64 * t1.saturating_sub(t0) as f64 / MS_PER_DAY as f64;
        if (tip1.saturating_sub(tip0) as f64) < 0.1 * expected {
            return Some(t0);
        }
    }
    None
}

/// The interruption a scenario exercises, if any: a catheter disconnect step, the expected tip
/// flow stopping while therapy runs, or the measured tip flow stopping first.
pub fn find_interruption(view: &ScenarioView) -> Option<Interruption> {
    let mut candidates: Vec<Interruption> = Vec::new();
    if let Some(t) = disconnect_step(&view.planned_steps) {
        candidates.push(Interruption {
            t_ms: t,
            cause: format!(
                "catheter disconnect (scenario step at {})",
                format_duration(t)
            ),
        });
    }
    if let Some(t) = expected_stop(&view.expected) {
        let alarm = view
            .expected_windows()
            .into_iter()
            .filter(|w| w.raised.1 + view.sample_ms >= t && w.raised.0 <= t + view.sample_ms)
            .map(|w| w.alarm)
            .next();
        let cause = match alarm {
            Some(a) => format!(
                "expected delivery stop at {} ({})",
                format_duration(t),
                a.name().replace('_', " ")
            ),
            None => format!("expected delivery stop at {}", format_duration(t)),
        };
        candidates.push(Interruption { t_ms: t, cause });
    }
    if !candidates.is_empty() {
        if let Some(t) = measured_stop(view) {
            if candidates.iter().all(|c| t < c.t_ms) {
                candidates.push(Interruption {
                    t_ms: t,
                    cause: format!(
                        "measured tip flow stopped at {}, before the expected interruption",
                        format_duration(t)
                    ),
                });
            }
        }
    }
    candidates.into_iter().min_by_key(|c| c.t_ms)
}

/// Everything that told someone, as `(t_ms, what)`: device alarms raised, then harness findings.
fn responses(view: &ScenarioView) -> Vec<(u64, String)> {
    let alarms = view
        .alarms
        .iter()
        .filter(|a| a.raised)
        .map(|a| (a.t_ms, format!("device alarm {} ({})", a.alarm, a.priority)));
    let findings = view
        .findings
        .iter()
        .map(|f| (f.t_ms, format!("harness finding {}", f.kind)));
    alarms.chain(findings).collect()
}

/// Estimates the CSF level around the scenario's interruption, if it has one.
pub fn estimate(view: &ScenarioView, params: &CsfParams) -> CsfOutcome {
    let Some(interruption) = find_interruption(view) else {
        return CsfOutcome::NotApplicable;
    };
    let points: Vec<(u64, u64, u32)> = view
        .samples
        .iter()
        .filter_map(|s| Some((s.t_ms, s.tip_nl?, s.concentration_ug_per_ml)))
        .collect();
    if points.is_empty() {
        return CsfOutcome::Unavailable {
            interruption,
            why: "no catheter-tip measurement in the record (no balance on this scenario)".into(),
        };
    }
    crate::expect::csf::estimate(
        interruption,
        &points,
        view.sample_ms,
        &responses(view),
        params,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Sample;
    use crate::units::MS_PER_HOUR;

    fn sample(t_ms: u64, tip_nl: u64) -> Sample {
        Sample {
            delivered_nl: tip_nl,
            dose_rate_ug_per_day: 1000,
            concentration_ug_per_ml: 500,
            tip_nl: Some(tip_nl),
            ..Sample::running_at(t_ms)
        }
    }

    fn disconnect_at(at_ms: u64) -> Vec<Step> {
        vec![Step {
            at_ms,
            name: None,
            action: Action::Inject {
                fault: FaultSpec::CatheterDisconnect,
            },
            out_of_range_test: false,
            refused: None,
            line: 1,
        }]
    }

    /// A 20 mL pump with the nominal 2.5 µL stroke.
    fn setup() -> crate::record::schema::ScenarioSetup {
        crate::record::schema::ScenarioSetup {
            device: crate::scenario::DeviceSetup {
                reservoir_ml: 20,
                initial_fill_nl: 20_000_000,
                concentration_ug_per_ml: 500,
                low_reservoir_threshold_nl: 2_000_000,
                battery_permille: None,
                stroke_nl: 2500,
                battery_life_days: 2555,
                eri_threshold_permille: 100,
                eos_after_eri_days: 90,
                patient_group: crate::scenario::PatientGroup::Spinal,
            },
            bench: crate::scenario::BenchNeeds {
                temperature_c: None,
                balance: true,
                density_g_per_ml: 1.0046,
            },
            tolerance: crate::scenario::Tolerances {
                volume_relative: 0.15,
                volume_absolute_nl: 5100,
                decision_rule: Default::default(),
                alarm_ms: 300_000,
                clock_drift_percent: 0.1,
            },
            defects: None,
        }
    }

    /// 1000 µg/day at 500 µg/mL = 2 mL/day, cut at 24 h. Steady state Css = 41.667 µg/h / 30 mL/h
    /// = 1.3889 µg/mL = 1388.9 ng/mL; with no input it halves every 1.51 h: t50 = 5436 s,
    /// t25 = 10872 s.
    #[test]
    fn level_halves_every_half_life_after_a_disconnect() {
        let step = 10 * 60_000u64;
        let mut view = ScenarioView {
            sample_ms: step,
            planned_steps: disconnect_at(86_400_000u64),
            setup: Some(setup()),
            ..ScenarioView::default()
        };
        for i in 0..=(48 * 6) {
            let t = i * step;
            let tip = t.min(86_400_000) * 2_000_000 / MS_PER_DAY;
            view.samples.push(sample(t, tip));
        }
        let CsfOutcome::Estimated(e) = estimate(&view, &CsfParams::default()) else {
            panic!("no estimate");
        };
        assert_eq!(e.interruption.t_ms, 86_400_000);
        assert!(
            (e.level_before_ng_per_ml - 1388.9).abs() < 0.1,
            "{}",
            e.level_before_ng_per_ml
        );
        let t50 = e.t50_ms.expect("t50");
        let t25 = e.t25_ms.expect("t25");
        assert!(t50.abs_diff(5_436_000) <= 1, "{t50}");
        assert!(t25.abs_diff(10_872_000) <= 1, "{t25}");
        assert!(!e.resolution_limited);
        assert_eq!(e.first_response, None);
    }

    #[test]
    fn coarse_sampling_is_flagged_and_alarms_count_as_response() {
        let step = 12 * MS_PER_HOUR;
        let mut view = ScenarioView {
            sample_ms: step,
            planned_steps: disconnect_at(MS_PER_DAY),
            setup: Some(setup()),
            ..ScenarioView::default()
        };
        for i in 0..=6 {
            let t = i * step;
            view.samples
                .push(sample(t, t.min(MS_PER_DAY) * 2_000_000 / MS_PER_DAY));
        }
        view.alarms.push(super::super::view::AlarmRow {
            t_ms: MS_PER_DAY + 3 * MS_PER_HOUR,
            alarm: crate::protocol::AlarmKind::MotorStall,
            priority: crate::protocol::Priority::High,
            raised: true,
        });
        let CsfOutcome::Estimated(e) = estimate(&view, &CsfParams::default()) else {
            panic!("no estimate");
        };
        assert!(e.resolution_limited);
        let response = e.first_response.expect("response");
        assert_eq!(response.after_ms, 3 * MS_PER_HOUR);
        assert!(response.what.contains("motor_stall"));
    }

    #[test]
    fn expected_stop_is_interpolated_inside_the_partial_interval() {
        let day = MS_PER_DAY;
        let row = |t_ms, tip_nl| ExpectedRow {
            t_ms,
            delivered_nl: tip_nl,
            calculated_nl: 0,
            tip_nl,
            actual_nl: 0,
            programmed_nl_per_day: 1_000_000,
        };
        // 1 mL/day; stops 6 h into the third day.
        let rows = [
            row(0, 0),
            row(day, 1_000_000),
            row(2 * day, 2_000_000),
            row(3 * day, 2_250_000),
            row(4 * day, 2_250_000),
        ];
        assert_eq!(expected_stop(&rows), Some(2 * day + 6 * MS_PER_HOUR));
        assert_eq!(expected_stop(&rows[..4]), None);
    }

    #[test]
    fn no_balance_means_no_estimate() {
        let mut view = ScenarioView {
            sample_ms: 60_000,
            planned_steps: disconnect_at(0),
            setup: Some(setup()),
            ..ScenarioView::default()
        };
        let mut s = sample(0, 0);
        s.tip_nl = None;
        view.samples.push(s);
        assert!(matches!(
            estimate(&view, &CsfParams::default()),
            CsfOutcome::Unavailable { .. }
        ));
    }

    /// 2 mL/day sampled every 12 h, stopping 1 h into an interval: the level at the stop is the
    /// steady state of the full rate (1388.9 ng/mL), and it halves one half-life later.
    #[test]
    fn a_stop_inside_a_coarse_interval_keeps_the_level_before_it() {
        let step = 12 * MS_PER_HOUR;
        let stop = 4 * step + MS_PER_HOUR;
        let mut view = ScenarioView {
            sample_ms: step,
            planned_steps: disconnect_at(stop),
            setup: Some(setup()),
            ..ScenarioView::default()
        };
        for i in 0..=8 {
            let t = i * step;
            view.samples
                .push(sample(t, t.min(stop) * 2_000_000 / MS_PER_DAY));
        }
        let CsfOutcome::Estimated(e) = estimate(&view, &CsfParams::default()) else {
            panic!("no estimate");
        };
        assert!(
            (e.level_before_ng_per_ml - 1388.9).abs() < 0.1,
            "{}",
            e.level_before_ng_per_ml
        );
        assert!(e.t50_ms.expect("t50").abs_diff(5_436_000) <= 1);
        assert!(e.resolution_limited);
    }
}
