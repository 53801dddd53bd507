//! The evidence reports (report.html, report.md) rendered from a synthetic run record: content,
//! determinism, gaps, snapshots, and printing to PDF in headless Chromium.

mod common;

use common::records::{
    discrepancy, emulator_device, expected_two_ml_a_day, file, finished, planned, run_started,
    running_sample, setup, typed,
};
use pumphil::checks::{CheckResult, Verdict};
use pumphil::protocol::{AlarmKind, Priority};
use pumphil::record::journal::{self, Journal};
use pumphil::record::report::{self, HTML_FILE, MARKDOWN_FILE};
use pumphil::record::{AlarmTransition, BalanceInfo, RunEvent, ScenarioVerdict, StepOutcome};
use pumphil::scenario::{FindingKind, NegativeControl};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUN_ID: &str = "20260301T080000Z-abc123";
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;
/// How long each synthetic scenario took on the wall clock.
const WALL_MS: u64 = 12;

fn started(
    id: &str,
    requirements: &[&str],
    negative: Option<NegativeControl>,
    steps: serde_json::Value,
) -> RunEvent {
    // 2 mL/day at 500 µg/mL; expected tip flow stops with a disconnect at 2 h.
    let expected = expected_two_ml_a_day();
    RunEvent::ScenarioStarted {
        scenario: id.into(),
        title: format!("Synthetic scenario {id}"),
        description: "Synthetic record for the report tests.\nSecond line.".into(),
        requirements: requirements.iter().map(|r| r.to_string()).collect(),
        hazard: "abrupt withdrawal: catheter disconnect".into(),
        negative_control: negative,
        file: file(&format!("scenarios/{id}.toml")),
        fixtures: vec![file(&format!("fixtures/{id}/expected_volume.csv"))],
        device: emulator_device("/dev/pts/7", 20_000_000),
        balance: Some(BalanceInfo {
            identity: "EMU-BAL BAL-0001".into(),
            port: "/dev/pts/8".into(),
            density_g_per_ml: 1.0046,
            readability_mg: 0.1,
            calibration_due: None,
            answered: None,
        }),
        test_system: None,
        end_ms: 6 * HOUR,
        sample_ms: 10 * MIN,
        setup: setup(20, true),
        steps: typed(steps),
        expectations: typed(json!({
            "alarms": [{"alarm": "low_reservoir", "priority": "medium", "cleared": null, "line": 30,
                        "raised": {"earliest_ms": 3 * HOUR - 5 * MIN, "latest_ms": 3 * HOUR + 5 * MIN}}],
            "forbidden": [],
            "findings": [{"kind": "under_infusion", "window": {"earliest_ms": 2 * HOUR, "latest_ms": 2 * HOUR + 20 * MIN}}],
            "check_delivered": true, "check_calculated": true, "check_tip": true,
            "discrepancy": discrepancy()
        })),
        expected_samples: expected,
        expected_alarms: vec![],
    }
}

/// 2 mL/day at the tip until `stop_ms`, nothing after; the device keeps reporting delivery.
fn sample(id: &str, t_ms: u64, stop_ms: u64) -> RunEvent {
    let delivered = t_ms * 2_000_000 / (24 * HOUR);
    let tip = t_ms.min(stop_ms) * 2_000_000 / (24 * HOUR);
    running_sample(id, t_ms, delivered, tip)
}

fn check(id: &str, name: &str, pass: bool, margin: f64) -> RunEvent {
    RunEvent::Check {
        scenario: id.into(),
        result: CheckResult {
            name: name.into(),
            verdict: if pass { Verdict::Pass } else { Verdict::Fail },
            expected: "0.5000 mL".into(),
            measured: "0.4990 mL".into(),
            tolerance: "±0.0750 mL (±15 % of delivered, floor 0.0051 mL)".into(),
            margin: Some(margin),
            unit: "uL".into(),
            at_ms: Some(6 * HOUR),
            detail: format!("{name}: 37 samples compared"),
            margin_percent: None,
            end_value: None,
            uncertainty: None,
        },
    }
}

fn disconnect_steps() -> serde_json::Value {
    json!([
        {"at_ms": 0, "name": null, "line": 20, "out_of_range_test": false,
         "action": {"action": "program_continuous", "dose_ug_per_day": 1000}},
        {"at_ms": 2 * HOUR, "name": "disconnect", "line": 24, "out_of_range_test": false,
         "action": {"action": "inject", "fault": {"fault": "catheter_disconnect"}}}
    ])
}

/// Four scenarios: a passing disconnect, a caught negative control, a real failure with a
/// retry, and one cut short by the end of the record (no run_finished, a torn last line).
fn synthetic_run(dir: &Path) {
    let mut journal = Journal::create(dir).expect("journal").without_wall_clock();
    let mut emit = |event: RunEvent| {
        journal.append(event).expect("append");
    };
    let mut header = run_started(
        RUN_ID,
        1,
        2,
        planned(["good", "control", "bad", "cut"].map(|id| (id, id == "control"))),
    );
    if let RunEvent::RunStarted {
        host, os, operator, ..
    } = &mut header
    {
        *host = "bench-host-01".into();
        *os = "linux Debian GNU/Linux 12 (bookworm)".into();
        *operator = Some("A. Tester".into());
    }
    emit(header);

    emit(started(
        "good",
        &["REQ-A", "REQ-B"],
        None,
        disconnect_steps(),
    ));
    emit(RunEvent::StepApplied {
        scenario: "good".into(),
        t_ms: 0,
        index: 0,
        action: typed(json!({"action": "program_continuous", "dose_ug_per_day": 1000})),
        outcome: StepOutcome::Ok,
    });
    for i in 0..=36 {
        if i == 12 {
            emit(RunEvent::StepApplied {
                scenario: "good".into(),
                t_ms: 2 * HOUR,
                index: 1,
                action: typed(
                    json!({"action": "inject", "fault": {"fault": "catheter_disconnect"}}),
                ),
                outcome: StepOutcome::Ok,
            });
        }
        emit(sample("good", i * 10 * MIN, 2 * HOUR));
    }
    emit(RunEvent::Alarm {
        scenario: "good".into(),
        t_ms: 3 * HOUR,
        device_time_ms: 3 * HOUR,
        alarm: AlarmKind::LowReservoir,
        priority: Priority::Medium,
        transition: AlarmTransition::Raised,
        event_seq: 1,
    });
    emit(RunEvent::Finding {
        scenario: "good".into(),
        kind: FindingKind::UnderInfusion,
        t_ms: 2 * HOUR + 10 * MIN,
        detail: "measured tip flow 40.0 % of programmed over 1h 50m .. 2h 10m".into(),
    });
    emit(check("good", "delivered-volume", true, 74.0));
    emit(check("good", "under-infusion", true, 600.0));
    emit(finished(
        "good",
        ScenarioVerdict::Passed,
        &[],
        None,
        WALL_MS,
    ));

    emit(started(
        "control",
        &["REQ-A", "REQ-N"],
        Some(NegativeControl {
            must_fail: vec!["delivered-volume".into()],
            reason: "A pump that over-reports must fail delivered-volume.".into(),
        }),
        json!([]),
    ));
    for i in 0..=36 {
        emit(sample("control", i * 10 * MIN, 6 * HOUR));
    }
    emit(check("control", "delivered-volume", false, -12.5));
    emit(check("control", "tip-volume", false, -3.0));
    emit(check("control", "unexpected-alarms", true, 0.0));
    emit(finished(
        "control",
        ScenarioVerdict::ControlCaught,
        &["delivered-volume", "tip-volume"],
        None,
        WALL_MS,
    ));

    emit(started("bad", &["REQ-C"], None, json!([])));
    emit(RunEvent::Deviation {
        scenario: Some("bad".into()),
        t_ms: None,
        kind: "retry".into(),
        detail: "status request seq 14 timed out after 250 ms; re-sent (attempt 2 of 4)".into(),
    });
    for i in 0..=36 {
        emit(sample("bad", i * 10 * MIN, 6 * HOUR));
    }
    emit(check("bad", "delivered-volume", false, -1.25));
    emit(finished(
        "bad",
        ScenarioVerdict::Failed,
        &["delivered-volume"],
        None,
        WALL_MS,
    ));

    emit(started("cut", &["REQ-D"], None, json!([])));
    for i in 0..=3 {
        emit(sample("cut", i * 10 * MIN, 6 * HOUR));
    }
    drop(journal);
    // A kill -9 after a block's samples were written and before its record, then in the
    // middle of writing the next line.
    let mut trace = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("traces/cut.csv"))
        .expect("open trace");
    trace
        .write_all(b"2400000,2400000,33333,19966667,1000,500,running,1000,false,false,,0.03349,true,33333,19966667,0\n")
        .expect("cut sample");
    let mut events = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(journal::EVENTS_FILE))
        .expect("open events");
    events
        .write_all(br#"{"seq":28,"prev":"00","at_utc":"2026-03-01T08:00:01Z","type":"sam"#)
        .expect("torn line");
}

fn rendered_run() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path());
    report::write_reports(dir.path()).expect("write reports");
    let md = std::fs::read_to_string(dir.path().join(MARKDOWN_FILE)).expect("report.md");
    let html = std::fs::read_to_string(dir.path().join(HTML_FILE)).expect("report.html");
    (dir, md, html)
}

#[test]
fn the_record_has_the_shape_the_tests_assume() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path());
    let read = journal::read(dir.path()).expect("read");
    // 28 lines, samples in blocks: read back, 134 records.
    assert_eq!(read.records.len(), 134);
    assert_eq!(read.truncated_at_line, Some(29));
    assert_eq!(read.uncovered.len(), 1);
    assert_eq!(
        (read.uncovered[0].from_line, read.uncovered[0].samples),
        (6, 1)
    );
}

#[test]
fn cover_names_product_test_system_and_verdict() {
    let (_dir, md, _) = rendered_run();
    for needle in [
        "Run `20260301T080000Z-abc123`",
        "## Overall verdict: INCOMPLETE",
        "| Model | PH-EMU-40 |",
        "| Serial number | EMU-0001 |",
        "| Firmware | emu-0.1.0 |",
        "| Protocol version | 1 |",
        "| Operator | A. Tester |",
        "| Started (UTC) | 2026-03-01T08:00:00Z |",
        "| Readability | 0.1 mg |",
        "| Fluid density | 1.0046 g/mL |",
        "| Calibration due | n/a (emulated balance) |",
        "pumphil 0.1.0",
        "4 scenarios: 1 passed, 1 negative control(s) caught their defect, 1 failed",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
}

#[test]
fn readability_is_printed_as_the_bench_file_gives_it() {
    let original = tempfile::tempdir().expect("tempdir");
    synthetic_run(original.path());
    // The same run recorded with a 0.01 mg balance.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::create(dir.path())
        .expect("journal")
        .without_wall_clock();
    for record in journal::read(original.path()).expect("read").records {
        let mut event = record.event;
        if let RunEvent::ScenarioStarted {
            balance: Some(b), ..
        } = &mut event
        {
            b.readability_mg = 0.01;
        }
        journal.append(event).expect("append");
    }
    drop(journal);
    report::write_reports(dir.path()).expect("write reports");
    let md = std::fs::read_to_string(dir.path().join(MARKDOWN_FILE)).expect("report.md");
    assert!(md.contains("| Readability | 0.01 mg |"), "{md}");
    assert!(md.contains(", 0.01 mg, density"), "{md}");
}

#[test]
fn gaps_in_the_record_are_stated_prominently() {
    let (_dir, md, html) = rendered_run();
    // Lines 1..=28 (seq 0..=27): the last complete one is seq 27; line 29 is torn.
    let gap = "record ends at seq 27; scenario cut INCOMPLETE: no verdict was recorded (its record reaches 30m)";
    assert!(md.contains(gap), "{md}");
    assert!(md.contains("line 29 of events.jsonl was cut short"));
    assert!(md.contains("record ends at seq 27; traces/cut.csv line 6: 1 sample(s) (96 bytes) from here on are not covered by the record's hash chain: the run was killed before recording them; they are not shown"), "{md}");
    assert!(md.contains("the run did not finish (no run_finished record)"));
    assert!(html.contains("The record is incomplete"));
    assert!(md.contains("| Finished (UTC) | ⚠️ **not recorded: the run did not finish** |"));
}

#[test]
fn negative_controls_are_distinct_from_real_failures() {
    let (_dir, md, _) = rendered_run();
    assert!(md.contains("## control: Synthetic scenario control — 🛡️ DEFECT CAUGHT"));
    assert!(md.contains("🛡️ **failed as required**"));
    assert!(md.contains("| also failed (not required) |"));
    assert!(md.contains("## bad: Synthetic scenario bad — ❌ FAIL"));
    // Traceability: REQ-A has passing evidence from `good`; REQ-N only from a negative control,
    // REQ-C only from a failure, REQ-D only from an incomplete scenario.
    assert!(
        md.contains("3 requirement(s) without passing evidence"),
        "{md}"
    );
    assert!(md.contains("> REQ-C: scenario bad: FAIL"));
    assert!(md.contains("> REQ-D: scenario cut: no verdict (record incomplete)"));
    assert!(md.contains("> REQ-N: negative control control (negative controls are not evidence)"));
    assert!(!md.contains("> REQ-A:"));
}

#[test]
fn deviations_are_listed() {
    let (_dir, md, _) = rendered_run();
    assert!(md.contains("| `bad` | — | retry | 1 | status request seq 14 timed out after 250 ms; re-sent (attempt 2 of 4) |"));
    assert!(md.contains("| `cut` | 30m | ⚠️ **record ends** | 1 |"));
    // Listed once: the scenario's own section counts them and points to the table.
    assert_eq!(md.matches("seq 14 timed out").count(), 1, "{md}");
    assert!(md.contains("1 × retry; each is listed once, under Deviations."));
    assert!(md.contains("**truncated record**"));
}

/// 1000 µg/day at 500 µg/mL is 41.667 µg/h; at steady state C = 41.667 / 30 mL/h = 1388.9 ng/mL.
/// With no input it halves every 1.51 h = 1h 30m 36s, and quarters in 3h 1m 12s.
#[test]
fn csf_estimate_for_the_disconnect() {
    let (_dir, md, _) = rendered_run();
    assert!(md.contains("Engineering estimate — not clinical guidance"));
    assert!(md.contains("half-life 1.51 h and clearance 30.0 mL/h"));
    assert!(md.contains("distribution volume V = CL·t½/ln 2 = 65.4 mL"));
    assert!(md.contains("| Interruption | at 2h: catheter disconnect (scenario step at 2h) |"));
    assert!(md.contains("| Estimated CSF level before it | 1388.9 ng/mL |"));
    assert!(md.contains(
        "| Interruption → first alarm or harness finding | 10m (harness finding under_infusion) |"
    ));
    assert!(md.contains("| Interruption → level below 50 % | 1h 30m 36s |"));
    assert!(md.contains("| Interruption → level below 25 % | 3h 1m 12s |"));
}

#[test]
fn raw_data_index_hashes_the_run_directory_but_not_the_reports() {
    let (dir, md, _) = rendered_run();
    let bytes = std::fs::read(dir.path().join("events.jsonl")).expect("events");
    let sha = pumphil::scenario::sha256_hex(&bytes);
    assert!(md.contains(&format!("| `events.jsonl` | {} | `{sha}` |", bytes.len())));
    assert!(!md.contains("| `report.html`"));
    assert!(md.contains("Not listed: report.html and report.md (a file cannot contain its own hash) and MANIFEST.sha256"));
    assert!(md.contains("| fixture | `fixtures/good/expected_volume.csv` |"));
    assert!(md.contains("| **Prepared by** | | | | |"));
}

#[test]
fn rendering_again_is_byte_identical() {
    let (dir, md, html) = rendered_run();
    // A manifest and the old reports are present on the second render; neither may change it.
    std::fs::write(dir.path().join("MANIFEST.sha256"), "x").expect("manifest");
    report::write_reports(dir.path()).expect("again");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(MARKDOWN_FILE)).expect("md"),
        md
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(HTML_FILE)).expect("html"),
        html
    );
}

#[test]
fn html_is_self_contained_and_print_ready() {
    let (_dir, _, html) = rendered_run();
    for forbidden in ["<script", "<link", "src=\"http", "url(", "@import"] {
        assert!(
            !html.contains(forbidden),
            "report.html contains {forbidden}"
        );
    }
    assert!(html.contains(r#"@top-right { content: "Run 20260301T080000Z-abc123""#));
    assert!(html.contains("break-before: page"));
    // One plot set per scenario with samples: delivered, reservoir, alarms, the expected
    // alarm's zoomed window, flow; plus one CSF.
    assert_eq!(html.matches("<svg ").count(), 4 * 5 + 1);
}

#[test]
fn pumphil_report_writes_the_reports_before_the_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path());
    pumphil::record::render::render_all(dir.path()).expect("render_all");
    let manifest = std::fs::read_to_string(dir.path().join("MANIFEST.sha256")).expect("manifest");
    let html = std::fs::read(dir.path().join(HTML_FILE)).expect("html");
    let listed = format!("{}  report.html", pumphil::scenario::sha256_hex(&html));
    assert!(manifest.contains(&listed), "{manifest}");
    assert!(manifest.contains("  report.md\n"));
}

#[test]
fn csf_parameters_set_on_the_command_line_are_recorded_and_re_rendered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pumphil"))
            .args(["run", "--plain", "--quiet", "--reports"])
            .arg(dir.path())
            .args(extra)
            .arg("scenarios/catheter-disconnect.toml")
            .output()
            .expect("pumphil run")
    };
    let out = run(&["--csf-half-life-h", "3", "--csf-clearance-ml-per-h", "45"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let run_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let md = std::fs::read_to_string(run_dir.join(MARKDOWN_FILE)).unwrap();
    assert!(
        md.contains("half-life 3.00 h and clearance 45.0 mL/h"),
        "the report uses the run's parameters"
    );
    let html = std::fs::read(run_dir.join(HTML_FILE)).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .arg("report")
        .arg(&run_dir)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    assert_eq!(std::fs::read(run_dir.join(HTML_FILE)).unwrap(), html);
    assert!(std::fs::read_to_string(run_dir.join(MARKDOWN_FILE))
        .unwrap()
        .contains("half-life 3.00 h"));

    let bad = run(&["--csf-half-life-h", "-1"]);
    assert_eq!(bad.status.code(), Some(2));
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(
        text.contains("--csf-half-life-h") && text.contains("not a positive number"),
        "{text}"
    );
}

fn redacted(text: &str) -> insta::Settings {
    let _ = text;
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"[0-9a-f]{64}", "[sha256]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[utc]");
    settings.add_filter(r"bench-host-01", "[host]");
    settings.add_filter(
        r"\| `events.jsonl` \| \d+ \|",
        "| `events.jsonl` | [bytes] |",
    );
    settings.add_filter(
        r"<td>\d+</td><td class=\x22mono\x22>\[sha256\]",
        "<td>[bytes]</td><td class=\"mono\">[sha256]",
    );
    settings
}

#[test]
fn markdown_snapshot() {
    let (_dir, md, _) = rendered_run();
    redacted(&md).bind(|| insta::assert_snapshot!("report_md", md));
}

#[test]
fn html_snapshot() {
    let (_dir, _, html) = rendered_run();
    redacted(&html).bind(|| insta::assert_snapshot!("report_html", html));
}

/// Page objects in a PDF (`/Type /Page`, not `/Type /Pages`) and their media boxes.
fn pdf_pages(pdf: &[u8]) -> (usize, Vec<(f64, f64)>) {
    let needle = b"/Type /Page";
    let mut pages = 0;
    for i in 0..pdf.len().saturating_sub(needle.len()) {
        if &pdf[i..i + needle.len()] == needle && pdf.get(i + needle.len()) != Some(&b's') {
            pages += 1;
        }
    }
    let text = String::from_utf8_lossy(pdf);
    let boxes = text
        .split("/MediaBox [")
        .skip(1)
        .filter_map(|rest| {
            let numbers: Vec<f64> = rest
                .split(']')
                .next()?
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (numbers.len() == 4).then(|| (numbers[2], numbers[3]))
        })
        .collect();
    (pages, boxes)
}

/// Prints report.html on A4 and on Letter and checks the pages: a cover plus at least one page
/// per scenario, the paper size asked for, and the run id on every page (via pdftotext).
#[test]
fn report_prints_to_pdf_on_a4_and_letter() {
    let Some(chromium) = common::chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but /usr/bin/chromium is missing: install Debian's chromium package");
        }
        eprintln!(
            "note: skipping the PDF test: /usr/bin/chromium not found (apt-get install chromium)"
        );
        return;
    };
    let (dir, _, html) = rendered_run();
    let scenarios = 4;
    let sizes = [("A4", (595.0, 842.0)), ("letter", (612.0, 792.0))];
    // Both printed at once, each Chromium with its own profile: much of a print is Chromium
    // starting up and loading the page.
    let pdfs: Vec<PathBuf> = std::thread::scope(|scope| {
        let printing: Vec<_> = sizes
            .iter()
            .map(|(size, _)| {
                let (dir, html, chromium) = (dir.path(), &html, &chromium);
                scope.spawn(move || {
                    let page = dir.join(format!("print-{size}.html"));
                    // The shipped report leaves the paper to the print dialog; pin it for each.
                    std::fs::write(
                        &page,
                        html.replacen("@page {", &format!("@page {{ size: {size};"), 1),
                    )
                    .expect("write page");
                    let pdf = dir.join(format!("report-{size}.pdf"));
                    common::print_pdf(chromium, &page, &pdf, &dir.join(format!("profile-{size}")));
                    pdf
                })
            })
            .collect();
        printing
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for ((size, expected), pdf) in sizes.into_iter().zip(pdfs) {
        let bytes = std::fs::read(&pdf).expect("pdf");
        let (pages, boxes) = pdf_pages(&bytes);
        assert!(
            pages > scenarios,
            "{size}: {pages} pages for {scenarios} scenarios and a cover"
        );
        assert_eq!(boxes.len(), pages, "{size}: one media box per page");
        for (w, h) in &boxes {
            assert!(
                (w - expected.0).abs() < 2.0 && (h - expected.1).abs() < 2.0,
                "{size}: page is {w} x {h} pt"
            );
        }
        match Command::new("pdftotext").arg(&pdf).arg("-").output() {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                let texts: Vec<&str> = text
                    .split('\u{c}')
                    .filter(|p| !p.trim().is_empty())
                    .collect();
                assert_eq!(texts.len(), pages);
                for (i, p) in texts.iter().enumerate() {
                    assert!(
                        p.contains(RUN_ID),
                        "{size}: page {} lacks the run id",
                        i + 1
                    );
                    assert!(
                        p.contains(&format!("Page {} of {pages}", i + 1)),
                        "{size}: page {} lacks its number",
                        i + 1
                    );
                }
                // Each scenario starts on a page of its own.
                for id in ["good", "control", "bad", "cut"] {
                    let heading = format!("{id}: Synthetic scenario {id}");
                    let top = |p: &&str| -> Vec<String> {
                        p.lines()
                            .filter(|l| !l.trim().is_empty())
                            .take(3)
                            .map(str::to_string)
                            .collect()
                    };
                    assert!(
                        texts
                            .iter()
                            .any(|p| top(p).iter().any(|l| l.contains(&heading))),
                        "{size}: no page starts with scenario {id}; page tops: {:?}",
                        texts.iter().map(top).collect::<Vec<_>>()
                    );
                }
            }
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI is set but pdftotext is missing: install Debian's poppler-utils package")
            }
            _ => eprintln!("note: pdftotext not found; the run id on every page was not checked"),
        }
    }
}

/// A run given the shipped requirements.toml records it, and its report traces each hazard
/// through its risk controls to the scenario that passed, and lists every hazard, control and
/// requirement the run left without passing evidence.
#[test]
fn the_report_traces_hazards_from_the_recorded_requirements_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = common::passing_run_with_requirements(
        dir.path(),
        &[],
        &["scenarios/catheter-disconnect.toml"],
    );
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["requirements"]["path"], "requirements.toml");
    assert_eq!(first["requirements"]["hazards"][0]["id"], "HAZ-01");
    let md = std::fs::read_to_string(run_dir.join(MARKDOWN_FILE)).unwrap();
    assert!(
        md.contains("6 hazard(s), 10 risk control(s), 16 requirement(s)"),
        "{md}"
    );
    assert!(
        md.contains("| RC-01: Delivery is measured at the catheter tip"),
        "{md}"
    );
    assert!(md.contains("catheter-disconnect (emulator)"), "{md}");
    // Only the disconnect ran: every other hazard lacks evidence, and HAZ-01 does not.
    assert!(md.contains("5 hazard(s) without passing evidence"), "{md}");
    assert!(!md.contains("> HAZ-01:"), "{md}");
    assert!(md.contains("> PH-REQ-050: no scenario names it"), "{md}");
    assert!(
        md.contains("| `catheter-disconnect` | scenario | PH-REQ-020, PH-REQ-021 | HAZ-01 |"),
        "{md}"
    );
}

/// The contents list every section, and each of its links lands on a heading of the report.
#[test]
fn contents_links_land_on_headings() {
    let (_dir, md, html) = rendered_run();
    let links: Vec<&str> = html
        .split("<a href=\"#")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert!(links.len() >= 10, "{links:?}");
    for anchor in [
        "summary",
        "hazards",
        "negative-controls",
        "unevidenced",
        "scenario-cut",
        "approval",
    ] {
        assert!(links.contains(&anchor), "{anchor} not in the contents");
    }
    for anchor in links {
        assert!(
            html.contains(&format!(" id=\"{anchor}\"")),
            "#{anchor} lands nowhere in report.html"
        );
        assert!(
            md.contains(&format!("<a id=\"{anchor}\"></a>")),
            "#{anchor} lands nowhere in report.md"
        );
    }
}
