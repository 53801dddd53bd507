//! Trumpet-curve flow-accuracy analysis (the IEC 60601-2-24 method, used as an engineering
//! method): pure arithmetic on a balance trace, no I/O.
//!
//! From masses W(t) sampled every S minutes over the analysis period, the flow per sample is
//! Qi = 60·ΔWi/(S·d) mL/h. For an observation window of P minutes the window-averaged error is
//! 100·(Q̄ − r)/r over every window that fits in the period (sliding by one sample), and Ep(max),
//! Ep(min) are its extremes; A is the error of the mean flow over the whole period. Because the
//! mean of consecutive Qi telescopes to the mass gained across the window, a window's Q̄ is
//! computed as 60·(W(t+P) − W(t))/(P·d); a window whose end sample is missing is skipped.
//!
//! A pulsatile pump moves a stroke at a time: a window holding n strokes can read up to about
//! ±100/n % from where the strokes fall alone. Windows holding fewer than `min_strokes` strokes
//! at the programmed rate are lengthened to hold `min_strokes` (and every window is a whole
//! number of sample intervals); each window says whether and why it was scaled.

/// What the analysis needs besides the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TrumpetInput {
    /// Analysis period, scenario time.
    pub from_ms: u64,
    pub to_ms: u64,
    /// Programmed rate r, mL/h.
    pub rate_ml_per_h: f64,
    /// Sample interval S.
    pub sample_ms: u64,
    /// Fluid density d, g/mL.
    pub density_g_per_ml: f64,
    /// Observation windows P, minutes (the standard's 2, 5, 11, 19, 31 by default).
    pub windows_min: Vec<f64>,
    /// Volume of one stroke, µL (0 for a continuous pump: no scaling).
    pub stroke_ul: f64,
    /// Fewest strokes a window may hold before it is lengthened.
    pub min_strokes: u32,
}

pub use crate::scenario::{
    DEFAULT_TRUMPET_MIN_STROKES as DEFAULT_MIN_STROKES,
    STANDARD_TRUMPET_WINDOWS_MIN as STANDARD_WINDOWS_MIN,
};

// A window's result is recorded as it is computed: its types are the record's schema.
pub use crate::record::schema::{TrumpetScaling as Scaling, TrumpetWindow as WindowResult};

/// The trumpet curve and the overall mean error.
#[derive(Debug, Clone, PartialEq)]
pub struct TrumpetCurve {
    pub windows: Vec<WindowResult>,
    /// A: the error of the mean flow over the whole period, percent; None without both ends.
    pub mean_error_percent: Option<f64>,
    /// Samples found in the period.
    pub samples: usize,
}

/// Window-averaged percentage error of the flow between two masses `minutes` apart.
fn error_percent(input: &TrumpetInput, w0_g: f64, w1_g: f64, minutes: f64) -> f64 {
    let flow_ml_per_h = 60.0 * (w1_g - w0_g) / (minutes * input.density_g_per_ml);
    100.0 * (flow_ml_per_h - input.rate_ml_per_h) / input.rate_ml_per_h
}

/// The window used for a nominal one: long enough for `min_strokes`, whole samples.
pub fn effective_window(input: &TrumpetInput, nominal_min: f64) -> (f64, Scaling) {
    let sample_min = input.sample_ms as f64 / 60_000.0;
    let strokes_per_min = if input.stroke_ul > 0.0 {
        input.rate_ml_per_h * 1000.0 / 60.0 / input.stroke_ul
    } else {
        f64::INFINITY
    };
    let needed_min = f64::from(input.min_strokes) / strokes_per_min;
    let (wanted, scaling) = if nominal_min < needed_min {
        (needed_min, Scaling::Strokes)
    } else {
        (nominal_min, Scaling::None)
    };
    // A tolerance so that 2.0 / 0.5 stays 4 samples despite binary fractions.
    let samples = (wanted / sample_min - 1e-9).ceil().max(1.0);
    let used = samples * sample_min;
    let scaling = match scaling {
        Scaling::None if (used - nominal_min).abs() > 1e-9 => Scaling::Sampling,
        other => other,
    };
    (used, scaling)
}

/// The trumpet curve of a trace of (scenario time ms, net mass g); points outside the period
/// are ignored, so the whole trace may be passed.
pub fn trumpet_curve(input: &TrumpetInput, trace: &[(u64, f64)]) -> TrumpetCurve {
    let mut in_period: Vec<(u64, f64)> = trace
        .iter()
        .copied()
        .filter(|(t, w)| (input.from_ms..=input.to_ms).contains(t) && w.is_finite())
        .collect();
    in_period.sort_by_key(|p| p.0);
    in_period.dedup_by_key(|p| p.0);
    let mass_at = |t_ms: u64| {
        in_period
            .binary_search_by_key(&t_ms, |p| p.0)
            .ok()
            .map(|i| in_period[i].1)
    };
    let strokes_per_min = if input.stroke_ul > 0.0 {
        input.rate_ml_per_h * 1000.0 / 60.0 / input.stroke_ul
    } else {
        f64::INFINITY
    };
    let windows = input
        .windows_min
        .iter()
        .map(|&nominal_min| {
            let (window_min, scaling) = effective_window(input, nominal_min);
            let window_ms = (window_min * 60_000.0).round() as u64;
            let errors: Vec<f64> = in_period
                .iter()
                .filter(|(t, _)| t + window_ms <= input.to_ms)
                .filter_map(|&(t, w0)| {
                    mass_at(t + window_ms).map(|w1| error_percent(input, w0, w1, window_min))
                })
                .collect();
            WindowResult {
                nominal_min,
                window_min,
                scaling,
                strokes: window_min * strokes_per_min,
                count: errors.len(),
                ep_max_percent: errors.iter().copied().reduce(f64::max),
                ep_min_percent: errors.iter().copied().reduce(f64::min),
            }
        })
        .collect();
    let mean_error_percent = match (mass_at(input.from_ms), mass_at(input.to_ms)) {
        (Some(w0), Some(w1)) if input.to_ms > input.from_ms => Some(error_percent(
            input,
            w0,
            w1,
            (input.to_ms - input.from_ms) as f64 / 60_000.0,
        )),
        _ => None,
    };
    TrumpetCurve {
        windows,
        mean_error_percent,
        samples: in_period.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 h analysis period at 30 s samples, 1.2 mL/h of water-like fluid (d = 1), continuous.
    fn input() -> TrumpetInput {
        TrumpetInput {
            from_ms: 3_600_000,
            to_ms: 7_200_000,
            rate_ml_per_h: 1.2,
            sample_ms: 30_000,
            density_g_per_ml: 1.0,
            windows_min: STANDARD_WINDOWS_MIN.to_vec(),
            stroke_ul: 0.0,
            min_strokes: DEFAULT_MIN_STROKES,
        }
    }

    fn trace(mass_at: impl Fn(u64) -> f64) -> Vec<(u64, f64)> {
        (0..=240)
            .map(|i| i * 30_000)
            .map(|t| (t, mass_at(t)))
            .collect()
    }

    #[test]
    fn an_exact_flow_has_a_flat_zero_curve() {
        // 1.2 mL/h is 0.02 g a minute.
        let curve = trumpet_curve(&input(), &trace(|t| t as f64 / 60_000.0 * 0.02));
        assert_eq!(curve.samples, 121);
        let a = curve.mean_error_percent.unwrap();
        assert!(a.abs() < 1e-9, "A = {a}");
        for w in &curve.windows {
            assert_eq!(w.scaling, Scaling::None);
            assert!(w.ep_max_percent.unwrap().abs() < 1e-9);
            assert!(w.ep_min_percent.unwrap().abs() < 1e-9);
        }
        // A 2 min window fits at starts 60..118 min in 30 s steps: 117 windows; 31 min: 59.
        assert_eq!(curve.windows[0].count, 117);
        assert_eq!(curve.windows[4].count, 59);
    }

    #[test]
    fn one_step_in_the_trace_shows_in_the_short_windows_more_than_the_long() {
        // A 4 mg jump at 90 min on the exact flow: a 2 min window holding it sees
        // 60·(0.04 + 0.004)/2 = 1.32 mL/h, +10 %; a 31 min window 60·(0.62 + 0.004)/31 mL/h,
        // +0.6452 %. Windows without it read 0: Ep(min) = 0. A = 60·(1.2 + 0.004)/60 = 1.204,
        // +0.3333 %.
        let curve = trumpet_curve(
            &input(),
            &trace(|t| t as f64 / 60_000.0 * 0.02 + if t >= 5_400_000 { 0.004 } else { 0.0 }),
        );
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(curve.windows[0].ep_max_percent.unwrap(), 10.0));
        assert!(close(curve.windows[0].ep_min_percent.unwrap(), 0.0));
        assert!(close(
            curve.windows[4].ep_max_percent.unwrap(),
            100.0 * 0.004 / 0.62
        ));
        assert!(close(curve.mean_error_percent.unwrap(), 100.0 / 300.0));
    }

    #[test]
    fn windows_are_whole_samples_and_hold_enough_strokes() {
        // 10 min samples: a 2 min window becomes 10 min, 11 becomes 20. At 41.667 uL/h with
        // 2.5 uL strokes (one every 3.6 min), 10 strokes take 36 min: 2..31 all scale to 40.
        let coarse = TrumpetInput {
            sample_ms: 600_000,
            ..input()
        };
        assert_eq!(effective_window(&coarse, 2.0), (10.0, Scaling::Sampling));
        assert_eq!(effective_window(&coarse, 11.0), (20.0, Scaling::Sampling));
        assert_eq!(effective_window(&coarse, 30.0), (30.0, Scaling::None));
        let pulsatile = TrumpetInput {
            rate_ml_per_h: 1.0 / 24.0,
            stroke_ul: 2.5,
            ..input()
        };
        let (window, scaling) = effective_window(&pulsatile, 2.0);
        assert!((window - 36.0).abs() < 1e-9, "{window}");
        assert_eq!(scaling, Scaling::Strokes);
        assert_eq!(effective_window(&pulsatile, 60.0), (60.0, Scaling::None));
    }

    #[test]
    fn a_missing_end_sample_skips_that_window_and_leaves_a_undefined() {
        let mut trace = trace(|t| t as f64 / 60_000.0 * 0.02);
        trace.retain(|(t, _)| *t != 7_200_000);
        let curve = trumpet_curve(&input(), &trace);
        assert_eq!(curve.mean_error_percent, None);
        assert_eq!(curve.windows[0].count, 116);
    }
}
