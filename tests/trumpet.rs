//! The trumpet curve against an independent recomputation, on a balance trace from the emulated
//! pump and a noisy, drifting, evaporating emulated balance; and a seeded flow bias moving A.

mod common;

use pumphil::checks::trumpet::{trumpet_curve, Scaling, TrumpetInput, STANDARD_WINDOWS_MIN};
use pumphil::emulator::balance::{BalanceModel, Reply};
use pumphil::emulator::config::{BalanceParams, EmulatorConfig};
use pumphil::emulator::Device;
use pumphil::protocol::Request;

const SAMPLE_MS: u64 = 30_000;
const DENSITY: f64 = 1.0046;
/// 2000 ug/day of 50 ug/mL: 40 mL/day.
const RATE_ML_PER_H: f64 = 40.0 / 24.0;

/// (t ms, net grams) every 30 s for 2 h, read with `SI` as the runner does.
fn balance_trace(flow_bias_percent: f64, seed: u64) -> Vec<(u64, f64)> {
    let mut config = EmulatorConfig::default();
    config.pump.reservoir_capacity_ml = 20;
    config.pump.initial_fill_nl = 20_000_000;
    config.pump.concentration_ug_per_ml = 50;
    config.defects.flow_bias_percent = flow_bias_percent;
    let mut device = Device::new(config);
    device
        .handle(&Request::ProgramContinuous {
            dose_ug_per_day: 2000,
        })
        .expect("the program is accepted");
    let mut balance = BalanceModel::new(BalanceParams {
        density_g_per_ml: DENSITY,
        noise_mg: 0.1,
        noise_seed: Some(seed),
        drift_mg_per_h: 0.2,
        evaporation_mg_per_h: 0.5,
        settle_ms: 2_000,
        ..BalanceParams::default()
    });
    (0..=240)
        .map(|i| {
            let t = i * SAMPLE_MS;
            device.advance_to(t);
            balance.set_clock(t);
            let Reply::Lines(lines) = balance.respond("SI", device.tip_nl()) else {
                panic!("SI answers with a line")
            };
            let grams: f64 = lines[0]
                .split_whitespace()
                .nth(2)
                .and_then(|g| g.parse().ok())
                .unwrap_or_else(|| panic!("a weight in {lines:?}"));
            (t, grams)
        })
        .collect()
}

fn input() -> TrumpetInput {
    TrumpetInput {
        from_ms: 3_600_000,
        to_ms: 7_200_000,
        rate_ml_per_h: RATE_ML_PER_H,
        sample_ms: SAMPLE_MS,
        density_g_per_ml: DENSITY,
        windows_min: STANDARD_WINDOWS_MIN.to_vec(),
        stroke_ul: 2.5,
        min_strokes: 10,
    }
}

/// The method as written: Qi per sample, then the mean of P/S consecutive Qi for every window.
struct Independent {
    /// (window minutes, Ep(max), Ep(min), windows counted)
    windows: Vec<(f64, f64, f64, usize)>,
    a: f64,
}

/// The curve over `windows` (minutes), computed the long way.
fn recompute(trace: &[(u64, f64)], windows: &[f64]) -> Independent {
    let s_min = SAMPLE_MS as f64 / 60_000.0;
    let w: Vec<f64> = trace
        .iter()
        .filter(|(t, _)| (3_600_000..=7_200_000).contains(t))
        .map(|&(_, g)| g)
        .collect();
    let n = w.len() - 1;
    let q: Vec<f64> = (1..=n)
        .map(|i| 60.0 * (w[i] - w[i - 1]) / (s_min * DENSITY))
        .collect();
    let error = |mean_q: f64| 100.0 * (mean_q - RATE_ML_PER_H) / RATE_ML_PER_H;
    let windows = windows
        .iter()
        .map(|&p| {
            let m = (p / s_min) as usize;
            let mut errors = Vec::new();
            for j in 0..=(n - m) {
                let sum: f64 = q[j..j + m].iter().sum();
                errors.push(error(sum / m as f64));
            }
            let max = errors.iter().cloned().fold(f64::MIN, f64::max);
            let min = errors.iter().cloned().fold(f64::MAX, f64::min);
            (p, max, min, errors.len())
        })
        .collect();
    let a = error(q.iter().sum::<f64>() / n as f64);
    Independent { windows, a }
}

#[test]
fn the_curve_matches_an_independent_recomputation() {
    let trace = balance_trace(0.0, 3);
    let curve = trumpet_curve(&input(), &trace);
    let expected = recompute(&trace, &STANDARD_WINDOWS_MIN);
    assert_eq!(curve.samples, 121);
    assert_eq!(curve.windows.len(), expected.windows.len());
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    for (got, (p, max, min, count)) in curve.windows.iter().zip(&expected.windows) {
        // 22 strokes in 2 min at this rate: no window needs scaling.
        assert_eq!(got.scaling, Scaling::None);
        assert_eq!(got.window_min, *p);
        assert_eq!(got.count, *count, "{p} min");
        assert!(
            close(got.ep_max_percent.unwrap(), *max),
            "{p} min: {got:?} vs {max}"
        );
        assert!(
            close(got.ep_min_percent.unwrap(), *min),
            "{p} min: {got:?} vs {min}"
        );
    }
    assert!(close(curve.mean_error_percent.unwrap(), expected.a));
}

#[test]
fn a_correct_pump_on_a_noisy_evaporating_balance_stays_inside_the_limits() {
    for seed in 0..5 {
        let curve = trumpet_curve(&input(), &balance_trace(0.0, seed));
        let a = curve.mean_error_percent.unwrap();
        assert!(a.abs() < 2.0, "seed {seed}: A = {a}");
        for w in &curve.windows {
            assert!(w.ep_max_percent.unwrap() < 8.0, "seed {seed}: {w:?}");
            assert!(w.ep_min_percent.unwrap() > -8.0, "seed {seed}: {w:?}");
        }
    }
}

#[test]
fn a_seeded_flow_bias_moves_the_mean_error_by_the_bias() {
    for bias in [5.0, -5.0, 10.0] {
        let correct = trumpet_curve(&input(), &balance_trace(0.0, 9));
        let biased = trumpet_curve(&input(), &balance_trace(bias, 9));
        let shift = biased.mean_error_percent.unwrap() - correct.mean_error_percent.unwrap();
        // Stroke phase at the period's ends (one 2.5 uL stroke in 1667 uL: 0.15 %) and noise
        // (0.14 mg in 1674 mg) bound the difference well inside 0.5 %.
        assert!(
            (shift - bias).abs() < 0.5,
            "bias {bias} %: A moved by {shift} %"
        );
    }
}

#[test]
fn the_curve_matches_python_reading_the_trace_csv() {
    let trace = balance_trace(0.0, 5);
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("trace.csv");
    let mut text = String::from("t_ms,balance_g\n");
    for (t, g) in &trace {
        text.push_str(&format!("{t},{g:.5}\n"));
    }
    std::fs::write(&csv, text).expect("write the CSV");
    let mut command = std::process::Command::new("python3");
    command
        .arg("tests/python/trumpet.py")
        .arg(&csv)
        .args(["3600000", "7200000"])
        .arg(RATE_ML_PER_H.to_string())
        .arg(DENSITY.to_string())
        .args(STANDARD_WINDOWS_MIN.iter().map(|w| w.to_string()));
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => {
            // The Rust recomputation above still runs; say loudly why this one did not.
            eprintln!("python3 not runnable ({e}): Python cross-check skipped");
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let python: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let curve = trumpet_curve(&input(), &trace);
    let close = |a: f64, b: &serde_json::Value| (a - b.as_f64().unwrap()).abs() < 1e-6;
    assert!(close(
        curve.mean_error_percent.unwrap(),
        &python["mean_error_percent"]
    ));
    for (got, want) in curve
        .windows
        .iter()
        .zip(python["windows"].as_array().unwrap())
    {
        assert_eq!(got.count as u64, want["count"].as_u64().unwrap());
        assert!(
            close(got.ep_max_percent.unwrap(), &want["ep_max_percent"]),
            "{got:?} {want}"
        );
        assert!(
            close(got.ep_min_percent.unwrap(), &want["ep_min_percent"]),
            "{got:?} {want}"
        );
    }
}

#[test]
fn summary_json_and_the_report_carry_the_curve_recomputed_from_the_trace_csv() {
    let reports = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new(common::BIN)
        .args(["run", "--plain", "--reports"])
        .arg(reports.path())
        .arg("scenarios/flow-accuracy.toml")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pumphil runs");
    assert!(status.success(), "{status}");
    let dir = common::run_dir(reports.path());
    // The trace as a reader of the run directory sees it, not as the run computed it.
    let csv = std::fs::read_to_string(dir.join("traces/flow-accuracy.csv")).expect("trace CSV");
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let (t_col, g_col) = (
        head.iter().position(|h| *h == "t_ms").expect("t_ms"),
        head.iter()
            .position(|h| *h == "balance_g")
            .expect("balance_g"),
    );
    let trace: Vec<(u64, f64)> = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter_map(|f| Some((f[t_col].parse().ok()?, f[g_col].parse().ok()?)))
        .collect();
    // scenarios/flow-accuracy.toml leaves out the 2 min window (its comment says why).
    let expected = recompute(&trace, &[5.0, 11.0, 19.0, 31.0]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("JSON");
    let trumpet = &summary["scenarios"][0]["trumpet"];
    let numbers = |key: &str| -> Vec<f64> {
        trumpet[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {trumpet}"))
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    let (windows, max, min) = (
        numbers("windows_min"),
        numbers("ep_max_percent"),
        numbers("ep_min_percent"),
    );
    assert_eq!(windows.len(), expected.windows.len());
    for (i, (p, want_max, want_min, _)) in expected.windows.iter().enumerate() {
        assert_eq!(windows[i], *p);
        assert!(
            close(max[i], *want_max),
            "{p} min: {} vs {want_max}",
            max[i]
        );
        assert!(
            close(min[i], *want_min),
            "{p} min: {} vs {want_min}",
            min[i]
        );
    }
    assert!(close(
        trumpet["mean_error_percent"].as_f64().expect("A"),
        expected.a
    ));
    assert_eq!(trumpet["scaled"][0], "none");
    let report = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(report.contains("Flow accuracy (trumpet curve)"));
    assert!(report.contains("observation window P (min)"));
}
