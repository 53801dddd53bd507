//! Engineering estimate of the CSF baclofen level after a delivery interruption.
//!
//! One compartment: volume V = CL · t½ / ln 2, elimination rate k = ln 2 / t½, input = catheter
//! tip flow (from successive balance samples) × concentration. Input is known only as an average
//! per sample interval, so each interval is solved exactly with constant input:
//! C(τ) = Css + (C₀ − Css)·e^(−kτ), Css = input / CL. This is not clinical guidance.

use super::view::{ExpectedRow, ScenarioView};
use crate::scenario::duration::format_duration;
use crate::scenario::{Action, FaultSpec, Step};
use crate::units::{MS_PER_DAY, MS_PER_HOUR};

/// Pharmacokinetic parameters of the estimate, recorded in `RunStarted` so that the report
/// re-renders with the parameters the run was made with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsfParams {
    /// CSF elimination half-life in hours. Default 1.51 h: the mean over the first 4 h after a
    /// lumbar bolus in the product label (published range 0.9–5 h).
    pub half_life_h: f64,
    /// CSF clearance in mL/h. Default 30 mL/h from the label (published range 13–80 mL/h).
    pub clearance_ml_per_h: f64,
}

impl Default for CsfParams {
    fn default() -> CsfParams {
        CsfParams {
            half_life_h: 1.51,
            clearance_ml_per_h: 30.0,
        }
    }
}

impl CsfParams {
    /// Parses a positive, finite number of hours or mL/h for a command-line flag.
    pub fn parse_positive(text: &str) -> Result<f64, String> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(format!(
                "{text:?} is not a positive number (the label gives a half-life of 1.51 h and a clearance of 30 mL/h)"
            )),
        }
    }

    pub fn elimination_per_h(&self) -> f64 {
        std::f64::consts::LN_2 / self.half_life_h
    }

    /// Distribution volume V = CL / k.
    pub fn volume_ml(&self) -> f64 {
        self.clearance_ml_per_h / self.elimination_per_h()
    }

    pub fn is_usable(&self) -> bool {
        self.half_life_h.is_finite()
            && self.half_life_h > 0.0
            && self.clearance_ml_per_h.is_finite()
            && self.clearance_ml_per_h > 0.0
    }
}

/// When delivery to the patient stops, and why we think so.
#[derive(Debug, Clone, PartialEq)]
pub struct Interruption {
    pub t_ms: u64,
    pub cause: String,
}

/// The first thing that told someone: a device alarm or a harness finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Time from the interruption.
    pub after_ms: u64,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CsfEstimate {
    pub interruption: Interruption,
    /// Estimated level at the interruption, ng/mL.
    pub level_before_ng_per_ml: f64,
    /// Time from the interruption until the level falls below 50 % / 25 % of `level_before`.
    pub t50_ms: Option<u64>,
    pub t25_ms: Option<u64>,
    pub first_response: Option<Response>,
    pub sample_ms: u64,
    /// Sample intervals longer than half the half-life blur the onset of the fall.
    pub resolution_limited: bool,
    /// Scenario time the record (and so the estimate) reaches.
    pub record_end_ms: u64,
    /// (scenario time, ng/mL) for plotting.
    pub curve: Vec<(u64, f64)>,
}

/// Why no estimate was made for a scenario that interrupts delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum CsfOutcome {
    /// The scenario does not interrupt delivery.
    NotApplicable,
    Estimated(CsfEstimate),
    Unavailable {
        interruption: Interruption,
        why: String,
    },
}

/// A constant-input piece: from `t0` to `t1` (ms) the tip receives `input_ug_per_h`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    t0: u64,
    t1: u64,
    input_ug_per_h: f64,
    /// Level at `t0`, ng/mL.
    c0: f64,
}

/// The piecewise-exact solution over a scenario's samples.
struct Solution {
    pieces: Vec<Piece>,
    k: f64,
    clearance: f64,
}

impl Solution {
    /// Builds the solution. The level starts at the steady state of the mean input before
    /// `settled_until` (a patient already on therapy, not one starting it); averaging over up
    /// to a day keeps one interval's stroke count from setting the starting level.
    fn new(points: &[(u64, u64, u32)], params: &CsfParams, settled_until: u64) -> Option<Solution> {
        if points.len() < 2 || !params.is_usable() {
            return None;
        }
        let k = params.elimination_per_h();
        let clearance = params.clearance_ml_per_h;
        let mut pieces: Vec<Piece> = Vec::new();
        for pair in points.windows(2) {
            let ((t0, tip0, conc), (t1, tip1, _)) = (pair[0], pair[1]);
            if t1 <= t0 {
                continue;
            }
            let hours = (t1 - t0) as f64 / MS_PER_HOUR as f64;
            let ml = tip1.saturating_sub(tip0) as f64 / 1e6;
            pieces.push(Piece {
                t0,
                t1,
                input_ug_per_h: ml * conc as f64 / hours,
                c0: 0.0,
            });
        }
        split_at_stop(&mut pieces, settled_until);
        let first = pieces.first()?;
        let settle_end = settled_until
            .min(first.t0.saturating_add(MS_PER_DAY))
            .max(first.t1);
        let (mut dose, mut hours) = (0.0, 0.0);
        for p in pieces.iter().filter(|p| p.t1 <= settle_end) {
            let h = (p.t1 - p.t0) as f64 / MS_PER_HOUR as f64;
            dose += p.input_ug_per_h * h;
            hours += h;
        }
        let mut level = if hours > 0.0 {
            dose / hours / clearance * 1000.0
        } else {
            0.0
        };
        for p in &mut pieces {
            p.c0 = level;
            level = level_in(p, p.t1, k, clearance);
        }
        Some(Solution {
            pieces,
            k,
            clearance,
        })
    }

    fn start(&self) -> u64 {
        self.pieces.first().map(|p| p.t0).unwrap_or(0)
    }

    fn end(&self) -> u64 {
        self.pieces.last().map(|p| p.t1).unwrap_or(0)
    }

    fn level_at(&self, t_ms: u64) -> f64 {
        let piece = self
            .pieces
            .iter()
            .find(|p| t_ms <= p.t1)
            .or(self.pieces.last());
        match piece {
            Some(p) => level_in(p, t_ms.clamp(p.t0, p.t1), self.k, self.clearance),
            None => 0.0,
        }
    }

    /// First time at or after `from` when the level is below `threshold`, solved exactly.
    fn first_below(&self, threshold: f64, from: u64) -> Option<u64> {
        for p in self.pieces.iter().filter(|p| p.t1 > from) {
            let start = from.max(p.t0);
            let c_start = level_in(p, start, self.k, self.clearance);
            if c_start < threshold {
                return Some(start);
            }
            let steady = p.input_ug_per_h / self.clearance * 1000.0;
            if steady >= threshold {
                continue;
            }
            // C(τ) = Css + (C_start − Css)·e^(−kτ) = threshold.
            let tau_h = ((c_start - steady) / (threshold - steady)).ln() / self.k;
            let at = start as f64 + tau_h * MS_PER_HOUR as f64;
            if at <= p.t1 as f64 {
                return Some(at.ceil() as u64);
            }
        }
        None
    }
}

/// If the interruption falls inside a sample interval whose flow dropped, the volume measured
/// over that interval was delivered before the stop, at most at the previous interval's rate;
/// spreading it over the whole interval would understate the level at the stop.
fn split_at_stop(pieces: &mut Vec<Piece>, stop_ms: u64) {
    let Some(i) = pieces.iter().position(|p| p.t0 < stop_ms && stop_ms < p.t1) else {
        return;
    };
    let p = pieces[i];
    let previous = if i > 0 {
        pieces[i - 1].input_ug_per_h
    } else {
        f64::INFINITY
    };
    if p.input_ug_per_h >= previous {
        return;
    }
    let hours = |a: u64, b: u64| (b - a) as f64 / MS_PER_HOUR as f64;
    let dose = p.input_ug_per_h * hours(p.t0, p.t1);
    let before = (dose / hours(p.t0, stop_ms)).min(previous);
    let after = (dose - before * hours(p.t0, stop_ms)).max(0.0) / hours(stop_ms, p.t1);
    pieces[i].t1 = stop_ms;
    pieces[i].input_ug_per_h = before;
    pieces.insert(
        i + 1,
        Piece {
            t0: stop_ms,
            t1: p.t1,
            input_ug_per_h: after,
            c0: 0.0,
        },
    );
}

/// Level in ng/mL inside a piece at time `t_ms`.
fn level_in(p: &Piece, t_ms: u64, k: f64, clearance: f64) -> f64 {
    let tau_h = t_ms.saturating_sub(p.t0) as f64 / MS_PER_HOUR as f64;
    let steady = p.input_ug_per_h / clearance * 1000.0;
    steady + (p.c0 - steady) * (-k * tau_h).exp()
}

fn disconnect_step(steps: &[Step]) -> Option<u64> {
    steps.iter().find_map(|step| match step.action {
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

fn first_response(view: &ScenarioView, from: u64) -> Option<Response> {
    let alarm = view
        .alarms
        .iter()
        .filter(|a| a.raised && a.t_ms >= from)
        .map(|a| (a.t_ms, format!("device alarm {} ({})", a.alarm, a.priority)));
    let finding = view
        .findings
        .iter()
        .filter(|f| f.t_ms >= from)
        .map(|f| (f.t_ms, format!("harness finding {}", f.kind)));
    alarm
        .chain(finding)
        .min_by_key(|(t, _)| *t)
        .map(|(t, what)| Response {
            after_ms: t - from,
            what,
        })
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
    let Some(solution) = Solution::new(&points, params, interruption.t_ms) else {
        return CsfOutcome::Unavailable {
            interruption,
            why: "fewer than two tip samples, or unusable half-life/clearance parameters".into(),
        };
    };
    if interruption.t_ms >= solution.end() {
        return CsfOutcome::Unavailable {
            interruption,
            why: "the record ends before the interruption".into(),
        };
    }
    let from = interruption.t_ms.max(solution.start());
    let before = solution.level_at(from);
    let after = |fraction: f64| {
        if before > 0.0 {
            solution
                .first_below(fraction * before, from)
                .map(|t| t - from)
        } else {
            None
        }
    };
    let (start, end) = (solution.start(), solution.end());
    let steps = 600u64;
    let curve = (0..=steps)
        .map(|i| {
            let t = start + (end - start) * i / steps;
            (t, solution.level_at(t))
        })
        .collect();
    CsfOutcome::Estimated(CsfEstimate {
        level_before_ng_per_ml: before,
        t50_ms: after(0.5),
        t25_ms: after(0.25),
        first_response: first_response(view, from),
        sample_ms: view.sample_ms,
        resolution_limited: view.sample_ms as f64 > params.half_life_h * MS_PER_HOUR as f64 / 2.0,
        record_end_ms: end,
        curve,
        interruption,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Sample;

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
                balance: true,
                density_g_per_ml: 1.0046,
            },
            tolerance: crate::scenario::Tolerances {
                volume_relative: 0.15,
                volume_absolute_nl: 5100,
                alarm_ms: 300_000,
            },
            defects: None,
        }
    }

    #[test]
    fn volume_follows_clearance_and_half_life() {
        let p = CsfParams::default();
        // 30 × 1.51 / ln 2 = 65.354 mL.
        assert!((p.volume_ml() - 65.354).abs() < 0.001, "{}", p.volume_ml());
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
