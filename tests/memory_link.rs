//! `pumphil run --link memory` (issue 15): the in-process emulator over in-memory links judges
//! every scenario exactly as over pseudo-terminals (verdict and every check result), the record
//! says how each device was reached, every output marks the run as not a serial path, a pump
//! unplugged in memory comes back as one on a pty does, and a bench is refused.

mod common;

use pumphil::emulator::link_faults::LinkFaults;
use pumphil::record::schema::CheckResult;
use pumphil::record::{journal, DeviceLink, RunEvent, ScenarioVerdict};
use pumphil::runner::{run, RunOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each scenario's verdict and check results, in the order recorded.
type Judged = BTreeMap<String, (Option<ScenarioVerdict>, Vec<CheckResult>)>;

struct Ran {
    dir: PathBuf,
    exit_code: u8,
    judged: Judged,
    /// Each scenario's recorded link.
    links: BTreeMap<String, DeviceLink>,
    reconnections: usize,
}

fn options(reports: &Path, link: DeviceLink, paths: Vec<PathBuf>) -> RunOptions {
    RunOptions {
        link,
        ..common::run_options(reports, paths)
    }
}

async fn run_and_read(options: RunOptions) -> Ran {
    let outcome = run(options).await.expect("the run starts");
    let mut judged = Judged::new();
    let mut links = BTreeMap::new();
    let mut reconnections = 0;
    for r in journal::read(&outcome.dir).unwrap().records {
        match r.event {
            RunEvent::ScenarioStarted {
                scenario, device, ..
            } => {
                links.insert(scenario, device.link);
            }
            RunEvent::Check { scenario, result } => {
                judged.entry(scenario).or_default().1.push(result);
            }
            RunEvent::ScenarioFinished {
                scenario, verdict, ..
            } => {
                judged.entry(scenario).or_default().0 = Some(verdict);
            }
            RunEvent::Deviation { kind, .. } if kind == "reconnected" => reconnections += 1,
            _ => {}
        }
    }
    Ran {
        dir: outcome.dir,
        exit_code: outcome.exit_code,
        judged,
        links,
        reconnections,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_in_memory_is_judged_exactly_as_over_ptys() {
    let reports = tempfile::tempdir().unwrap();
    let ptys = reports.path().join("ptys");
    let memory = reports.path().join("memory");
    let over_ptys = run_and_read(options(&ptys, DeviceLink::Port, vec![])).await;
    let in_memory = run_and_read(options(&memory, DeviceLink::InMemory, vec![])).await;

    assert_eq!(over_ptys.exit_code, 0);
    assert_eq!(in_memory.exit_code, 0);
    assert!(
        over_ptys.judged.len() >= 20,
        "{:?}",
        over_ptys.judged.keys()
    );
    assert_eq!(
        in_memory.judged.keys().collect::<Vec<_>>(),
        over_ptys.judged.keys().collect::<Vec<_>>()
    );
    for (id, (verdict, checks)) in &over_ptys.judged {
        let (memory_verdict, memory_checks) = &in_memory.judged[id];
        assert!(verdict.is_some(), "{id} did not finish");
        assert_eq!(memory_verdict, verdict, "{id}");
        assert!(!checks.is_empty(), "{id} judged no check");
        // The same device, seed and samples: every figure of every check is the same.
        assert_eq!(memory_checks, checks, "{id}");
    }
    assert!(over_ptys.links.values().all(|l| *l == DeviceLink::Port));
    assert!(in_memory.links.values().all(|l| *l == DeviceLink::InMemory));
    assert_eq!(in_memory.links.len(), over_ptys.judged.len());

    // Rendered, every output of the in-memory run says it is not a serial path; the pty run's
    // say nothing of the kind.
    let rendered = pumphil::record::render::render_all(&in_memory.dir).unwrap();
    let mark = "in-memory link (not a serial path)";
    assert!(
        rendered.closing_table.contains(mark),
        "{}",
        rendered.closing_table
    );
    for file in ["report.md", "report.html", "junit.xml", "summary.json"] {
        let text = std::fs::read_to_string(in_memory.dir.join(file)).unwrap();
        let marked = text.contains(mark) || text.contains("not evidence over a serial line");
        assert!(marked, "{file} does not mark the in-memory run");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(in_memory.dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["link"], "in-memory");
    assert!(summary["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["link"] == "in-memory"));
    let report = std::fs::read_to_string(in_memory.dir.join("report.md")).unwrap();
    assert!(
        report.lines().nth(2).is_some_and(|l| l.contains(mark)),
        "the masthead (every page's header) says it: {:?}",
        report.lines().take(4).collect::<Vec<_>>()
    );

    let rendered = pumphil::record::render::render_all(&over_ptys.dir).unwrap();
    assert!(!rendered.closing_table.contains(mark));
    let report = std::fs::read_to_string(over_ptys.dir.join("report.md")).unwrap();
    assert!(!report.contains(mark) && !report.contains("in-memory"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(over_ptys.dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["link"], "port");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pump_unplugged_in_memory_comes_back_and_is_refilled_once() {
    let reports = tempfile::tempdir().unwrap();
    let refill = || vec![PathBuf::from("scenarios/refill.toml")];
    let clean = run_and_read(options(
        &reports.path().join("clean"),
        DeviceLink::InMemory,
        refill(),
    ))
    .await;
    // scenarios/refill.toml refills at 1 d: the link goes as the pump answers it.
    let unplugged = run_and_read(RunOptions {
        link_faults: LinkFaults {
            unplug_at_ms: Some(24 * 3_600_000),
            unplug_for_ms: 300,
            ..LinkFaults::default()
        },
        retries: pumphil::runner::devices::DEFAULT_RETRIES,
        ..options(
            &reports.path().join("unplugged"),
            DeviceLink::InMemory,
            refill(),
        )
    })
    .await;
    assert_eq!(unplugged.reconnections, 1, "the replug is in the record");
    assert_eq!(unplugged.exit_code, 0);
    let verdicts = |ran: &Ran| {
        ran.judged
            .iter()
            .map(|(id, (verdict, _))| (id.clone(), *verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        verdicts(&unplugged),
        verdicts(&clean),
        "a second refill, or a lost sample, would change the verdict"
    );
}

#[test]
fn a_bench_is_refused_in_memory_before_anything_runs() {
    let reports = tempfile::tempdir().unwrap();
    let reports_dir = reports.path().to_str().unwrap();
    let out = common::pumphil_unsigned(&[
        "run",
        "--link",
        "memory",
        "--bench",
        "bench.toml",
        "--reports",
        reports_dir,
    ]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("run::memory_link_bench")
            && text.contains("bench.toml")
            && text.contains("drop --link memory"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(reports.path()).unwrap().count(),
        0,
        "no run directory"
    );
    // Over ptys (the default, or said) the same command goes on to read the bench file.
    let out = common::pumphil_unsigned(&[
        "run",
        "--link",
        "pty",
        "--bench",
        "no-such-bench.toml",
        "--reports",
        reports_dir,
    ]);
    assert!(!common::output_text(&out).contains("memory_link_bench"));
}

/// A run whose record holds one scenario reached in memory and one through its port (a merged
/// run of parts run both ways): every output names how many were in memory.
#[test]
fn a_run_partly_in_memory_says_how_many_scenarios_were() {
    use common::records::{check, finished, planned, run_started, started};
    let dir = tempfile::tempdir().unwrap();
    let mut journal = pumphil::record::Journal::create(dir.path()).unwrap();
    let mut events = vec![run_started(
        "mixed",
        1,
        1,
        planned([("a", false), ("b", false)]),
    )];
    for (id, link) in [("a", DeviceLink::InMemory), ("b", DeviceLink::Port)] {
        let mut event = started(id, None, 600_000, false);
        if let RunEvent::ScenarioStarted { device, .. } = &mut event {
            device.link = link;
        }
        events.push(event);
        events.push(check(id, "delivered-volume", true, ""));
        events.push(finished(id, ScenarioVerdict::Passed, &[], None, 1));
    }
    for event in events {
        journal.append(event).unwrap();
    }
    drop(journal);
    let rendered = pumphil::record::render::render_all(dir.path()).unwrap();
    let mark = "in-memory link (not a serial path) for 1 of 2 scenarios";
    assert!(
        rendered.closing_table.contains(mark),
        "{}",
        rendered.closing_table
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["link"], "mixed");
    assert_eq!(summary["scenarios"][0]["link"], "in-memory");
    assert_eq!(summary["scenarios"][1]["link"], "port");
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains(mark) && report.contains("Scenarios reached in memory: a."));
}
