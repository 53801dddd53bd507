//! The main job: replay scenarios against emulated pumps (one per scenario, in parallel) or a
//! real bench, record everything, judge, and render the outputs from the record.

pub mod alarms;
pub mod batch;
pub mod bench;
pub mod bench_pool;
pub mod clock;
pub mod console;
pub mod device_day;
pub mod devices;
pub mod error;
pub mod execute;
pub mod latency;
pub mod operator;
pub mod restore;
pub mod sample;
pub mod sightings;
pub mod sink;
pub mod steps;
pub mod timeline;
pub mod watchdog;

use crate::expect::fixture;
use crate::record::schema::Partition;
use crate::record::verdict;
use crate::record::{
    FileRef, Journal, Mode, PlannedScenario, RunEvent, ScenarioKind, ScenarioVerdict,
};
use crate::scenario::partition::PartitionSpec;
use crate::scenario::requirements::{self, Requirements};
use crate::scenario::{InputErrors, Scenario};
use console::Console;
pub use error::RunError;
use sink::Sink;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};

/// Scenarios run at once on the emulator when not told: four a core. Between its pipelined
/// samples a scenario still waits on serial round trips (setup, steps, event-log reads), and a
/// core that goes idle between them costs a wake-up on every one: the suite on 2 cores took
/// 0.43 s with 1 at once, 0.46 s with 2 and 0.38 s with 8; 100 copies of it 39.8, 49.7 and
/// 35.9 s (docs/performance.md, "How the suite scales").
pub fn default_jobs() -> usize {
    4 * std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub jobs: usize,
    pub seed: u64,
    pub noise_mg: f64,
    /// Bench files to run on instead of the built-in emulator: the scenarios are spread over
    /// them, one at a time on each (empty: the emulator).
    pub benches: Vec<PathBuf>,
    pub operator: Option<String>,
    pub reports_dir: PathBuf,
    pub fixtures: Option<PathBuf>,
    pub plain: bool,
    pub quiet: bool,
    pub command_line: Vec<String>,
    /// Faults injected on every emulated pump's link (the seed is mixed per scenario).
    pub link_faults: crate::emulator::link_faults::LinkFaults,
    /// Re-sends of a request before the device counts as lost.
    pub retries: u32,
    /// Parameters of the report's CSF estimate, recorded with the run.
    pub csf: crate::expect::csf::CsfParams,
    /// A bench balance whose calibration is past due is recorded as expired, not refused.
    pub allow_expired_calibration: bool,
    /// The requirements file (hazards, risk controls, requirements) the scenarios trace to;
    /// None runs without one, and the report says the hazards are not traced.
    pub requirements: Option<PathBuf>,
    /// An INCONCLUSIVE check (guarded acceptance) fails its scenario, and so the run.
    pub require_conclusive: bool,
    /// How the built-in emulator is reached: through pseudo-terminals (`Port`, the path users
    /// run), or over in-memory links for long soaks (`run --link memory`; refused with a bench).
    pub link: crate::record::DeviceLink,
}

/// The outcome of a run: its directory, the exit code, and what stopped it early, if anything.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub exit_code: u8,
    pub stopped_by: Option<RunError>,
    /// The station key that signed the record (to sign the manifest once rendered).
    pub signer: Option<Arc<crate::record::signing::StationKey>>,
}

fn run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace([':', '-'], "");
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let short =
        &crate::scenario::sha256_hex(format!("{nanos}-{}", std::process::id()).as_bytes())[..6];
    format!("{stamp}-{short}")
}

/// Exit code from scenario verdicts (`record::verdict` decides: 3 over 2 over 1).
pub fn exit_code(verdicts: &[ScenarioVerdict], write_failed: bool) -> u8 {
    verdict::run_verdict(verdicts, write_failed).exit_code()
}

struct Prepared {
    scenario: Scenario,
    fixture_root: PathBuf,
    fixture: fixture::Checked,
    fixture_files: Vec<FileRef>,
}

/// What a run is given, loaded and hashed: its scenarios, requirements and partition.
struct Inputs {
    prepared: Vec<Prepared>,
    requirements: Option<Requirements>,
    partition: Option<Partition>,
}

/// Loads the scenarios and checks their fixtures, hashing every input for the record: an input
/// that cannot be hashed stops the run, since the record would not prove what was run.
fn prepare(opts: &RunOptions, partition: Option<PartitionSpec>) -> Result<Inputs, RunError> {
    let mut scenarios = crate::scenario::paths::expand_and_load(&opts.paths)?;
    let partition = match partition {
        Some(spec) => {
            let recorded = Partition {
                index: spec.index,
                count: spec.count,
                set_size: scenarios.len(),
                set_sha256: crate::scenario::partition::set_sha256(&scenarios),
            };
            scenarios = crate::scenario::partition::share(std::mem::take(&mut scenarios), spec);
            if scenarios.is_empty() {
                return Err(RunError::EmptyPartition {
                    partition: spec.to_string(),
                    set_size: recorded.set_size,
                });
            }
            Some(recorded)
        }
        None => None,
    };
    let requirements = match &opts.requirements {
        Some(path) => {
            let loaded = requirements::load(path).map_err(RunError::Requirements)?;
            let unknown = requirements::unknown_in(&loaded, &scenarios);
            if !unknown.is_empty() {
                return Err(RunError::Requirements(InputErrors(unknown)));
            }
            Some(loaded)
        }
        None => None,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for scenario in scenarios {
        let root = opts
            .fixtures
            .clone()
            .unwrap_or_else(|| fixture::default_root(&scenario.path));
        match fixture::check(&root, &scenario) {
            Ok(checked) => {
                let dir = fixture::fixture_dir(&root, &scenario);
                let fixture_files = [
                    fixture::VOLUME_FILE,
                    fixture::ALARMS_FILE,
                    fixture::README_FILE,
                ]
                .iter()
                .map(|name| {
                    let path = dir.join(name);
                    match crate::scenario::digest::sha256_file(&path) {
                        Ok(sha256) => Ok(FileRef {
                            path: path.display().to_string(),
                            sha256,
                        }),
                        Err(source) => Err(RunError::Hash { path, source }),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
                out.push(Prepared {
                    scenario,
                    fixture_root: root,
                    fixture: checked,
                    fixture_files,
                });
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Inputs {
            prepared: out,
            requirements,
            partition,
        })
    } else {
        Err(RunError::Fixtures(InputErrors(errors)))
    }
}

/// Sends `true` on `tx` at Ctrl-C or SIGTERM.
fn watch_signals(tx: watch::Sender<bool>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        let _ = tx.send(true);
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("signal received: ending the run; everything measured so far is kept");
        let _ = tx.send(true);
    });
}

/// Runs the scenarios. An error before the run directory exists is returned as `Err`; once it
/// exists, the outcome says how the run ended, with the error that stopped it early, if any.
pub async fn run(opts: RunOptions) -> Result<RunOutcome, RunError> {
    run_signed(opts, None).await
}

/// `run`, signing the record with `signer` (`--sign-key`), or else with the bench file's
/// `signing_key` if it names one.
pub async fn run_signed(
    opts: RunOptions,
    signer: Option<Arc<crate::record::signing::StationKey>>,
) -> Result<RunOutcome, RunError> {
    run_partitioned(opts, signer, None).await
}

/// `run_signed`, running only the share `partition` names of the scenarios given
/// (`run --partition K/N`; `scenario::partition` says which share).
pub async fn run_partitioned(
    opts: RunOptions,
    signer: Option<Arc<crate::record::signing::StationKey>>,
    partition: Option<PartitionSpec>,
) -> Result<RunOutcome, RunError> {
    if let (crate::record::DeviceLink::InMemory, Some(bench)) = (opts.link, opts.benches.first()) {
        return Err(RunError::MemoryLinkBench {
            bench: bench.clone(),
        });
    }
    let Inputs {
        prepared,
        requirements,
        partition,
    } = prepare(&opts, partition)?;
    let load = bench::LoadOptions {
        allow_expired_calibration: opts.allow_expired_calibration,
        ..Default::default()
    };
    let benches = opts
        .benches
        .iter()
        .map(|path| bench::load_with(path, &load).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Bench)?;
    bench_pool::refuse_shared_ports(&benches)?;
    // A run on several benches is signed with the first station key a bench file names.
    let bench_key = benches.iter().find_map(|b| b.signing_key.as_ref());
    let signer = match (signer, bench_key) {
        (Some(key), _) => Some(key),
        (None, Some(path)) => Some(Arc::new(crate::record::signing::StationKey::load(path)?)),
        (None, None) => None,
    };
    let id = run_id();
    let dir = opts.reports_dir.join(&id);
    let journal = std::fs::create_dir_all(&dir)
        .and_then(|_| Journal::create_signed(&dir, signer.clone()))
        .map_err(|source| RunError::RunDirectory {
            path: dir.clone(),
            source,
        })?;
    // One stop for the whole run: a signal, or a record that no longer takes writes.
    let (stop, shutdown) = watch::channel(false);
    watch_signals(stop.clone());
    let sink = Sink::new(journal, Console::new(opts.plain, opts.quiet), stop);
    // A real pump is one device: a bench runs one scenario at a time, the benches in parallel.
    let on_bench = !benches.is_empty();
    let jobs = if on_bench {
        benches.len()
    } else {
        opts.jobs.max(1)
    };
    sink.emit(RunEvent::RunStarted {
        schema_version: crate::record::SCHEMA_VERSION,
        run_id: id.clone(),
        started_utc: crate::record::utc_now(),
        harness_version: crate::VERSION.to_string(),
        git_commit: crate::GIT_COMMIT.to_string(),
        host: crate::record::host_name(),
        os: crate::record::os_name(),
        operator: opts.operator.clone(),
        command_line: opts.command_line.clone(),
        mode: if on_bench {
            Mode::Bench
        } else {
            Mode::Emulator
        },
        // The first bench; each scenario's test system names the bench that ran it.
        bench_file: benches.first().map(|b| FileRef {
            path: b.path.display().to_string(),
            sha256: b.sha256.clone(),
        }),
        seed: opts.seed,
        jobs,
        scenarios: prepared
            .iter()
            .map(|p| PlannedScenario {
                id: p.scenario.id.clone(),
                kind: ScenarioKind::of(p.scenario.negative_control.as_ref()),
                path: p.scenario.path.display().to_string(),
                sha256: p.scenario.sha256.clone(),
            })
            .collect(),
        csf: opts.csf,
        requirements,
        partition,
        parts: vec![],
    });

    // Every bench is checked before any scenario runs; a bench that fails its check fails
    // every scenario of the run, with the reason, since the run would not be the one planned.
    let needs_balance = prepared.iter().any(|p| p.scenario.bench.balance);
    let checked = bench_pool::check_benches(&benches, needs_balance, opts.retries).await;
    let pool = bench_pool::BenchPool::new(benches.len());
    let semaphore = Arc::new(Semaphore::new(jobs));
    let mut tasks = Vec::new();
    for p in prepared {
        let semaphore = semaphore.clone();
        let sink = sink.clone();
        let shutdown = shutdown.clone();
        let benches = benches.clone();
        let checked = checked.clone();
        let pool = pool.clone();
        let seed = opts.seed;
        let noise_mg = opts.noise_mg;
        let link_faults = opts.link_faults.clone();
        let retries = opts.retries;
        let require_conclusive = opts.require_conclusive;
        let link = opts.link;
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = semaphore.acquire().await else {
                return ScenarioVerdict::Error;
            };
            let not_started = |verdict: ScenarioVerdict, reason: String| {
                sink.emit(RunEvent::ScenarioFinished {
                    scenario: p.scenario.id.clone(),
                    verdict,
                    failed_checks: vec![],
                    reason: Some(reason),
                    wall_ms: 0,
                });
                verdict
            };
            // Devices that could not be opened (or a bench that failed its check): a deviation
            // saying why, and the scenario never started.
            let not_opened = |failure: &devices::OpenFailure| {
                sink.emit(RunEvent::Deviation {
                    scenario: Some(p.scenario.id.clone()),
                    t_ms: None,
                    kind: "device-open".into(),
                    detail: failure.message.clone(),
                });
                not_started(failure.verdict, failure.message.clone())
            };
            if *shutdown.borrow() {
                return not_started(
                    ScenarioVerdict::Incomplete,
                    "not started: run interrupted".into(),
                );
            }
            let bench_lease = match &checked {
                _ if benches.is_empty() => None,
                Ok(_) => Some(pool.take().await),
                Err(failure) => return not_opened(failure),
            };
            let opened = match (&bench_lease, &checked) {
                (Some(lease), Ok(checks)) => {
                    let index = lease.index;
                    devices::open_bench(&benches[index], &checks[index], &p.scenario)
                        .await
                        .map_err(|failure| bench_pool::naming_bench(&benches[index], failure))
                }
                _ => {
                    devices::open_emulator(&p.scenario, seed, noise_mg, &link_faults, retries, link)
                        .await
                }
            };
            let (mut devs, guard) = match opened {
                Ok(d) => d,
                Err(failure) => return not_opened(&failure),
            };
            let rows = match fixture::rows(&p.fixture_root, &p.scenario) {
                Ok(rows) => rows,
                Err(e) => {
                    let reason = format!("expected trace: {e}");
                    sink.emit(RunEvent::ScenarioFinished {
                        scenario: p.scenario.id.clone(),
                        verdict: ScenarioVerdict::Error,
                        failed_checks: vec![],
                        reason: Some(reason),
                        wall_ms: 0,
                    });
                    return ScenarioVerdict::Error;
                }
            };
            let expected = execute::Expected {
                plot_rows: &p.fixture.plot_rows,
                rows,
                alarms: &p.fixture.alarms,
                fixture_files: p.fixture_files.clone(),
            };
            let (verdict, _) = execute::run_scenario(
                &p.scenario,
                expected,
                &mut devs,
                &sink,
                shutdown,
                require_conclusive,
            )
            .await;
            drop(devs);
            drop(guard);
            drop(bench_lease);
            verdict
        }));
    }
    let mut verdicts = Vec::new();
    for task in tasks {
        verdicts.push(task.await.unwrap_or(ScenarioVerdict::Incomplete));
    }
    let code = exit_code(&verdicts, sink.write_failed());
    let count = |f: fn(&ScenarioVerdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
    sink.emit(RunEvent::RunFinished {
        finished_utc: crate::record::utc_now(),
        exit_code: code,
        passed: count(|v| v.is_success()),
        failed: count(|v| matches!(v, ScenarioVerdict::Failed | ScenarioVerdict::ControlMissed)),
        incomplete: count(|v| *v == ScenarioVerdict::Incomplete),
        errors: count(|v| *v == ScenarioVerdict::Error),
    });
    sink.sync();
    Ok(RunOutcome {
        exit_code: code,
        stopped_by: sink.write_error().map(|source| RunError::Record {
            path: dir.join(crate::record::journal::EVENTS_FILE),
            source,
        }),
        dir,
        signer,
    })
}
