//! The figure from issue 5: with 1 % of bytes corrupted and 1 % of frames dropped, every
//! scenario comes out as on a clean link (verdict and failed checks), and every retry and lost
//! event is in the run record. And a pump unplugged and plugged back in mid-refill loses nothing
//! and is not refilled twice.
//!
//! A debug `cargo test` checks one link seed on one scenario of each kind and three controls
//! whose defect a lost or garbled frame could hide; the 20-seed figure, every
//! scenario, is a release-build test that CI runs on its own (`cargo test --release --test
//! lossy_link -- --ignored`), so the everyday test loop stays under a minute.

mod common;

use pumphil::emulator::link_faults::LinkFaults;
use pumphil::record::{journal, RunEvent, ScenarioVerdict};
use pumphil::runner::{run, RunOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Re-sends allowed per request: `pumphil run`'s default, which must be enough for this link.
const RETRIES: u32 = pumphil::runner::devices::DEFAULT_RETRIES;

fn options(reports: &Path, link_faults: LinkFaults, paths: &[PathBuf]) -> RunOptions {
    RunOptions {
        // Every scenario at once: a lossy run waits on timeouts, it does not compute.
        jobs: if paths.is_empty() { 14 } else { paths.len() },
        link_faults,
        retries: RETRIES,
        ..common::run_options(reports, paths.to_vec())
    }
}

/// One scenario of each kind, and the controls whose defect a lost or garbled frame could
/// hide (an alarm suppressed, a bolus accepted over another, a stop ignored): each runs the
/// requests of its kind (bolus, stop and resume, refill, alarms read back from the event log)
/// through the lossy link. On one seed each takes 2-8 s of re-send timeouts, all at once. The
/// longer kinds on a lossy link (the 110-day battery lives, about 55 s a seed; the 14-day pocket
/// fills, 26 s; the catheter disconnects and flow accuracies, 10-12 s) and the other controls
/// run in the 20-seed test.
const ONE_OF_EACH_KIND: [&str; 9] = [
    "bolus-accuracy",
    "bolus-overlap",
    "bolus-overlap-neg-accepted",
    "motor-stall",
    "refill",
    "reservoir-empty",
    "reservoir-empty-neg-low-alarm-suppressed",
    "stop-resume",
    "stop-resume-neg-stop-ignored",
];

fn quick_scenarios() -> Vec<PathBuf> {
    ONE_OF_EACH_KIND
        .iter()
        .map(|id| PathBuf::from(format!("scenarios/{id}.toml")))
        .collect()
}

type Verdicts = BTreeMap<String, (ScenarioVerdict, Vec<String>)>;

struct Outcome {
    exit_code: u8,
    verdicts: Verdicts,
    retries: usize,
    lost_events: usize,
    recovered_events: usize,
    reconnections: usize,
}

async fn run_with(reports: &Path, link_faults: LinkFaults, paths: &[PathBuf]) -> Outcome {
    run_options(options(reports, link_faults, paths)).await
}

async fn run_options(options: RunOptions) -> Outcome {
    let outcome = run(options).await.expect("the run starts");
    let records = journal::read(&outcome.dir).unwrap().records;
    let mut verdicts = Verdicts::new();
    let (mut retries, mut lost_events, mut recovered_events, mut reconnections) = (0, 0, 0, 0);
    for r in records {
        match r.event {
            RunEvent::ScenarioFinished {
                scenario,
                verdict,
                mut failed_checks,
                ..
            } => {
                failed_checks.sort();
                verdicts.insert(scenario, (verdict, failed_checks));
            }
            RunEvent::Deviation { kind, .. } if kind == "retry" => retries += 1,
            RunEvent::Deviation { kind, .. } if kind == "lost-event" => lost_events += 1,
            RunEvent::Deviation { kind, .. } if kind == "event-recovered" => recovered_events += 1,
            RunEvent::Deviation { kind, .. } if kind == "reconnected" => reconnections += 1,
            _ => {}
        }
    }
    Outcome {
        exit_code: outcome.exit_code,
        verdicts,
        retries,
        lost_events,
        recovered_events,
        reconnections,
    }
}

/// Runs the suite on a clean link, then once per link seed with 1 % of bytes corrupted and 1 % of
/// frames dropped, and checks every lossy run judges every scenario as the clean one did. Returns
/// how many alarm events were lost (or recovered from the event log) over all seeds. No `paths`
/// runs every scenario in `scenarios/`.
async fn lossy_runs_match_the_clean_run(
    seeds: std::ops::RangeInclusive<u64>,
    paths: Vec<PathBuf>,
) -> usize {
    let reports = tempfile::tempdir().unwrap();
    // The clean run beside the lossy ones: it computes while they wait on timeouts.
    let clean = {
        let dir = reports.path().join("clean");
        std::fs::create_dir_all(&dir).unwrap();
        let paths = paths.clone();
        tokio::spawn(async move { run_with(&dir, LinkFaults::default(), &paths).await })
    };
    let runs = seeds.map(|seed| {
        let dir = reports.path().join(format!("seed-{seed}"));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = paths.clone();
        tokio::spawn(async move {
            let faults = LinkFaults {
                corrupt_rate: 0.01,
                drop_rate: 0.01,
                seed,
                ..LinkFaults::default()
            };
            (seed, run_with(&dir, faults, &paths).await)
        })
    });
    let runs: Vec<_> = runs.collect();
    let clean = clean.await.unwrap();
    // A re-send on a clean link is a deviation in the record (a loaded machine can cause one), not
    // a failure of this test: only the verdicts are compared.
    assert_eq!(clean.exit_code, 0);
    let expected = if paths.is_empty() { 14 } else { paths.len() };
    assert!(clean.verdicts.len() >= expected, "{:?}", clean.verdicts);

    let mut lost_somewhere = 0;
    for handle in runs {
        let (seed, lossy) = handle.await.unwrap();
        assert_eq!(
            lossy.verdicts, clean.verdicts,
            "link seed {seed}: verdicts differ from the clean link"
        );
        assert_eq!(lossy.exit_code, clean.exit_code, "link seed {seed}");
        assert!(
            lossy.retries > 100,
            "link seed {seed}: a lossy link must show as retries ({})",
            lossy.retries
        );
        lost_somewhere += lossy.lost_events + lossy.recovered_events;
    }
    lost_somewhere
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_percent_corrupted_bytes_and_dropped_frames_change_no_verdict() {
    lossy_runs_match_the_clean_run(1..=1, quick_scenarios()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the 20-seed figure: release build, run by CI on its own"]
async fn one_percent_corrupted_bytes_and_dropped_frames_change_no_verdict_over_20_seeds() {
    let lost_somewhere = lossy_runs_match_the_clean_run(1..=20, vec![]).await;
    assert!(
        lost_somewhere > 0,
        "over 20 seeds some alarm event must have been lost and recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pump_unplugged_as_it_answers_the_refill_is_reopened_and_refilled_once() {
    let reports = tempfile::tempdir().unwrap();
    let refill_only = |link_faults| RunOptions {
        ..options(
            reports.path(),
            link_faults,
            &["scenarios/refill.toml".into()],
        )
    };
    let clean = run_options(refill_only(LinkFaults::default())).await;
    // scenarios/refill.toml refills at 1 d: the cable comes out as the pump answers it.
    let unplugged = run_options(refill_only(LinkFaults {
        unplug_at_ms: Some(24 * 3_600_000),
        unplug_for_ms: 300,
        ..LinkFaults::default()
    }))
    .await;
    assert_eq!(unplugged.reconnections, 1, "the replug is in the record");
    assert_eq!(
        unplugged.verdicts, clean.verdicts,
        "a second refill, or a lost sample, would change the verdict"
    );
    assert_eq!(unplugged.exit_code, 0);
}
