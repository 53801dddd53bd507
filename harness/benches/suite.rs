//! Benchmark: the whole scenario suite, negative controls included, end to end over ptys.
//!
//! Runs `pumphil run` (release build of this crate) on scenarios/ several times, each into a
//! temporary reports folder, and prints the wall times (docs/performance.md).

use std::time::Instant;

fn main() {
    let runs: usize = std::env::var("SUITE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut times = Vec::new();
    for _ in 0..runs {
        let reports = tempfile::tempdir().expect("temporary directory");
        let options = pumphil::runner::RunOptions {
            paths: vec![],
            jobs: pumphil::runner::default_jobs(),
            seed: 1,
            noise_mg: 0.1,
            benches: Vec::new(),
            operator: None,
            reports_dir: reports.path().to_path_buf(),
            fixtures: None,
            plain: true,
            quiet: true,
            command_line: vec!["bench".into()],
            link_faults: Default::default(),
            retries: 3,
            csf: Default::default(),
            allow_expired_calibration: false,
            requirements: None,
            require_conclusive: false,
            link: Default::default(),
        };
        let start = Instant::now();
        let outcome = runtime
            .block_on(pumphil::runner::run(options))
            .expect("the suite starts");
        let _ = pumphil::record::render::render_all(&outcome.dir);
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(outcome.exit_code, 0, "the suite did not pass");
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "suite end to end ({runs} runs): min {:.3} s, median {:.3} s, max {:.3} s",
        times[0],
        times[runs / 2],
        times[runs - 1]
    );
}
