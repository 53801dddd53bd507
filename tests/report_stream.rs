//! The reports written a scenario at a time (`report::stream`) are the bytes of the reports
//! rendered from the whole view at once: sections staged as scenarios finish (in another order
//! than planned), a scenario without a verdict rendered at the end, the expired-calibration
//! mark put into staged sections, and a record that goes on about a scenario after its end
//! (whose trace files, closed at that end, are appended to).

mod common;

use common::records::{
    expected_two_ml_a_day, finished, planned, run_started, running_sample, started,
};
use pumphil::record::journal::Journal;
use pumphil::record::report::{self, HTML_FILE, MARKDOWN_FILE};
use pumphil::record::{BalanceInfo, RunEvent, ScenarioVerdict};
use std::path::Path;

const MIN: u64 = 60_000;
const END_MS: u64 = 6 * 60 * MIN;

fn sample(id: &str, t_ms: u64) -> RunEvent {
    let delivered = t_ms * 2_000_000 / (24 * 60 * MIN);
    running_sample(id, t_ms, delivered, delivered)
}

/// A scenario weighed on a balance past its calibration date, with an expected trace.
fn weighed(id: &str) -> RunEvent {
    let mut event = started(id, None, END_MS, true);
    if let RunEvent::ScenarioStarted {
        balance,
        expected_samples,
        ..
    } = &mut event
    {
        *balance = Some(BalanceInfo {
            identity: "EMU-BAL BAL-0001".into(),
            port: "/dev/pts/8".into(),
            density_g_per_ml: 1.0046,
            readability_mg: 0.1,
            calibration_due: Some("2020-03-01 (EXPIRED)".into()),
            answered: None,
        });
        *expected_samples = expected_two_ml_a_day();
    }
    event
}

/// Three planned scenarios run two at a time: "second" finishes before "first", "cut" has no
/// verdict. With `late`, the record goes on about "first" after its end (a deviation and a
/// sample), which its section, rendered at that end, did not show.
fn record(dir: &Path, late: bool) {
    let mut journal = Journal::create(dir).expect("journal");
    let mut emit = |event: RunEvent| {
        journal.append(event).expect("append");
    };
    emit(run_started(
        "20260301T080000Z-abc123",
        1,
        2,
        planned([("first", false), ("second", false), ("cut", false)]),
    ));
    emit(weighed("first"));
    emit(weighed("second"));
    for i in 0..=36 {
        emit(sample("first", i * 10 * MIN));
        emit(sample("second", i * 10 * MIN));
    }
    emit(finished("second", ScenarioVerdict::Passed, &[], None, 12));
    emit(finished("first", ScenarioVerdict::Passed, &[], None, 12));
    if late {
        emit(RunEvent::Deviation {
            scenario: Some("first".into()),
            t_ms: Some(END_MS),
            kind: "late-retry".into(),
            detail: "written after the scenario's end".into(),
        });
        emit(sample("first", END_MS + 10 * MIN));
    }
    emit(weighed("cut"));
    for i in 0..=3 {
        emit(sample("cut", i * 10 * MIN));
    }
}

/// The reports and figures rendered from the whole view at once, as the run directory's files
/// are now.
fn whole_view(dir: &Path) -> (String, String, Vec<(String, String)>) {
    let mut view = pumphil::record::render::fold_record(dir, |_| Ok(())).expect("fold");
    view.run_files = report::run_files(dir).expect("run files");
    let config = report::ReportConfig::of(&view);
    let (html, md, figures) = report::render_with_figures(&view, &config);
    (html, md, figures)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes the reports a scenario at a time and checks them against the whole view's.
fn streamed_equals_whole(late: bool) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), late);
    report::write_reports(dir.path()).expect("write reports");
    let (html, md, figures) = whole_view(dir.path());
    let written_md = read(&dir.path().join(MARKDOWN_FILE));
    assert!(
        written_md == md,
        "report.md differs:\n{written_md}\n---\n{md}"
    );
    assert!(
        read(&dir.path().join(HTML_FILE)) == html,
        "report.html differs"
    );
    assert!(figures.len() >= 6, "{} figures", figures.len());
    for (file, svg) in &figures {
        let written = read(&dir.path().join(file));
        let body = &svg[svg.find('>').expect("an svg element") + 1..];
        assert!(written.ends_with(&format!("{body}\n")), "{file}");
    }
    let staging = dir.path().parent().unwrap().join(format!(
        ".{}.report-{}",
        dir.path().file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    assert!(!staging.exists(), "{} was left behind", staging.display());
    written_md
}

#[test]
fn sections_staged_as_scenarios_finish_are_the_whole_views_bytes() {
    let md = streamed_equals_whole(false);
    // In the planned order, though "second" finished first; "cut" rendered at the end.
    let at = |anchor: &str| md.find(&format!("<a id=\"{anchor}\">")).expect(anchor);
    assert!(at("scenario-first") < at("scenario-second"));
    assert!(at("scenario-second") < at("scenario-cut"));
    // The mark follows the title, each scenario's heading (3) and the run's other top-level
    // headings (results, raw data, approval).
    let marks = md.matches("**CALIBRATION EXPIRED").count();
    assert_eq!(marks, 1 + 3 + 3, "{md}");
    for anchor in ["scenario-first", "scenario-second", "scenario-cut"] {
        let section = &md[at(anchor)..];
        let heading = section.find("\n## ").expect("the scenario's heading") + 1;
        let heading_end = heading + section[heading..].find("\n\n").unwrap() + 2;
        assert!(
            section[heading_end..].starts_with("> [!CAUTION]\n> **CALIBRATION EXPIRED"),
            "{anchor}: {}",
            &section[..200]
        );
    }
}

#[test]
fn a_record_that_goes_on_about_a_finished_scenario_is_rendered_from_the_whole_view() {
    let md = streamed_equals_whole(true);
    let first = &md[md.find("<a id=\"scenario-first\">").unwrap()..];
    let first = &first[..first.find("<a id=\"scenario-second\">").unwrap()];
    assert!(first.contains("1 × late-retry"), "{first}");
}

#[test]
fn trace_files_closed_at_a_scenarios_end_take_what_the_record_says_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    record(dir.path(), true);
    pumphil::record::render::render_all(dir.path()).expect("render");
    let first = read(&dir.path().join("traces/first.csv"));
    let rows: Vec<&str> = first.lines().collect();
    assert_eq!(rows.len(), 1 + 37 + 1, "{first}");
    assert!(rows[0].starts_with("t_ms,"), "{first}");
    let late = (END_MS + 10 * MIN).to_string();
    assert!(rows[38].starts_with(&format!("{late},")), "{first}");
    assert_eq!(
        read(&dir.path().join("traces/second.csv")).lines().count(),
        1 + 37
    );
}
