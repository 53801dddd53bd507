//! Engineering estimate of the CSF baclofen level after a delivery interruption: the
//! pharmacokinetic model, from catheter-tip samples to levels, times to 50 % and 25 % and the
//! first response. Finding the interruption in a run is the report's job (`record::report::csf`).
//!
//! One compartment: volume V = CL · t½ / ln 2, elimination rate k = ln 2 / t½, input = catheter
//! tip flow (from successive balance samples) × concentration. Input is known only as an average
//! per sample interval, so each interval is solved exactly with constant input:
//! C(τ) = Css + (C₀ − Css)·e^(−kτ), Css = input / CL. This is not clinical guidance.

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
    /// (scenario time, ng/mL) for plotting the hours after the interruption: from an hour
    /// before it to two hours after the level falls below 25 % (at least 12 h, at most 48 h
    /// after it), never outside the record.
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

/// Estimates the CSF level around `interruption` from catheter-tip samples
/// `(t_ms, tip_nl, concentration_ug_per_ml)` taken every `sample_ms`. `responses` are the
/// `(t_ms, what)` of everything that told someone (device alarms raised, harness findings); the
/// earliest at or after the interruption is the first response, the earlier-listed on a tie.
pub fn estimate(
    interruption: Interruption,
    points: &[(u64, u64, u32)],
    sample_ms: u64,
    responses: &[(u64, String)],
    params: &CsfParams,
) -> CsfOutcome {
    let Some(solution) = Solution::new(points, params, interruption.t_ms) else {
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
    let t25_ms = after(0.25);
    let after_ms = t25_ms
        .map(|t| t + 2 * MS_PER_HOUR)
        .unwrap_or(0)
        .clamp(12 * MS_PER_HOUR, 48 * MS_PER_HOUR);
    let start = from.saturating_sub(MS_PER_HOUR).max(solution.start());
    let end = (from + after_ms).min(solution.end());
    let steps = 600u64;
    let curve = (0..=steps)
        .map(|i| {
            let t = start + (end - start) * i / steps;
            (t, solution.level_at(t))
        })
        .collect();
    let first_response = responses
        .iter()
        .filter(|(t, _)| *t >= from)
        .min_by_key(|(t, _)| *t)
        .map(|(t, what)| Response {
            after_ms: t - from,
            what: what.clone(),
        });
    CsfOutcome::Estimated(CsfEstimate {
        level_before_ng_per_ml: before,
        t50_ms: after(0.5),
        t25_ms,
        first_response,
        sample_ms,
        resolution_limited: sample_ms as f64 > params.half_life_h * MS_PER_HOUR as f64 / 2.0,
        record_end_ms: solution.end(),
        curve,
        interruption,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_follows_clearance_and_half_life() {
        let p = CsfParams::default();
        // 30 × 1.51 / ln 2 = 65.354 mL.
        assert!((p.volume_ml() - 65.354).abs() < 0.001, "{}", p.volume_ml());
    }

    /// 2 mL/day at 500 µg/mL cut at 24 h: Css = 1388.9 ng/mL, halving every 1.51 h (5436 s).
    /// Responses before the interruption do not count; the earliest after it does.
    #[test]
    fn the_model_alone_halves_the_level_every_half_life() {
        let step = 10 * 60_000u64;
        let points: Vec<(u64, u64, u32)> = (0..=(48 * 6))
            .map(|i| {
                let t = i * step;
                (t, t.min(MS_PER_DAY) * 2_000_000 / MS_PER_DAY, 500)
            })
            .collect();
        let interruption = Interruption {
            t_ms: MS_PER_DAY,
            cause: "catheter disconnect".into(),
        };
        let responses = [
            (MS_PER_DAY - 1, "too early".to_string()),
            (MS_PER_DAY + 2 * MS_PER_HOUR, "later".to_string()),
            (MS_PER_DAY + MS_PER_HOUR, "first".to_string()),
        ];
        let outcome = estimate(
            interruption,
            &points,
            step,
            &responses,
            &CsfParams::default(),
        );
        let CsfOutcome::Estimated(e) = outcome else {
            panic!("no estimate: {outcome:?}");
        };
        assert!((e.level_before_ng_per_ml - 1388.9).abs() < 0.1);
        assert!(e.t50_ms.expect("t50").abs_diff(5_436_000) <= 1);
        // The plotted curve covers the hours after the interruption, not the whole record:
        // an hour before it to 12 h after (the level is below 25 % after about 3 h).
        let (first, last) = (e.curve[0].0, e.curve[e.curve.len() - 1].0);
        assert_eq!(first, MS_PER_DAY - MS_PER_HOUR);
        assert_eq!(last, MS_PER_DAY + 12 * MS_PER_HOUR);
        assert_eq!(e.record_end_ms, 48 * MS_PER_HOUR);
        assert_eq!(
            e.first_response,
            Some(Response {
                after_ms: MS_PER_HOUR,
                what: "first".into()
            })
        );
    }

    #[test]
    fn unusable_parameters_give_no_estimate() {
        let points = [(0, 0, 500), (60_000, 100, 500)];
        let params = CsfParams {
            half_life_h: 0.0,
            ..CsfParams::default()
        };
        let interruption = Interruption {
            t_ms: 0,
            cause: "stop".into(),
        };
        assert!(matches!(
            estimate(interruption, &points, 60_000, &[], &params),
            CsfOutcome::Unavailable { .. }
        ));
    }
}
