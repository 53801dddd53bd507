//! A bench run allowed to use a balance past its calibration date (issue 12 §3): every printed
//! page of report.html, and every section of report.md, says the calibration was expired.
//! Printed with headless chromium and read back with pdftotext, as `.ci/run` installs them.

mod common;

use common::{finish, BIN};
use std::path::Path;
use std::process::{Command, Stdio};

const MARK: &str = "CALIBRATION EXPIRED";

/// One second on a real-time bench, weighed (the balance's calibration is recorded with it),
/// on a bench whose balance was due on 2020-03-01, allowed to; the run directory. The report
/// has as many pages as after three seconds: its sections do not grow with the run's length.
fn expired_run(dir: &Path) -> std::path::PathBuf {
    let emu = common::realtime_test_pump(&[]);
    let scenario = common::scenario_with_fixtures(
        &dir.join("scenarios/weighed.toml"),
        &common::seconds_scenario(
            "weighed",
            "A few seconds on a bench whose balance is past its calibration date",
            "over-infusion: flow measured on an uncalibrated balance",
            "1s",
            "",
        ),
    );
    let bench =
        common::test_bench_file(&dir.join("bench.toml"), "expired bench", &emu, "2020-03-01");
    let child = Command::new(BIN)
        .args(["run", "--plain", "--allow-expired-calibration", "--reports"])
        .arg(dir.join("reports"))
        .arg("--bench")
        .arg(&bench)
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, text) = finish(child);
    // Seconds of flow are too little to judge it: the verdict is not what is tested here.
    assert!(matches!(code, 0 | 1), "{text}");
    common::run_dir(&dir.join("reports"))
}

#[test]
fn every_page_of_the_reports_says_the_calibration_was_expired() {
    let dir = tempfile::tempdir().unwrap();
    let run = expired_run(dir.path());

    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("due for calibration on 2020-03-01"), "{md}");
    // The cover (up to its verdict) and each top-level section after it (each starts a
    // printed page in report.html) carry the mark.
    let mut sections = md.split("\n## ");
    let cover = sections.next().unwrap_or_default();
    assert!(cover.contains(MARK), "the cover lacks the mark:\n{cover}");
    let sections: Vec<&str> = sections.skip(1).collect();
    assert!(sections.len() >= 2, "{md}");
    for section in &sections {
        assert!(
            section.contains(MARK),
            "section {:?} lacks the mark\n{md}",
            section.lines().next()
        );
    }

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("@top-center") && html.contains(MARK));
    let Some(chromium) = common::chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but /usr/bin/chromium is missing: install Debian's chromium package");
        }
        eprintln!("note: skipping the PDF check: /usr/bin/chromium not found");
        return;
    };
    let pdf = dir.path().join("report.pdf");
    common::print_pdf(
        &chromium,
        &run.join("report.html"),
        &pdf,
        &dir.path().join("profile"),
    );
    match common::pdf_page_texts(&pdf) {
        Some(pages) => {
            assert!(pages.len() >= 2, "{} page(s)", pages.len());
            for (i, page) in pages.iter().enumerate() {
                assert!(
                    page.contains(MARK),
                    "page {} lacks the mark:\n{page}",
                    i + 1
                );
            }
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("CI is set but pdftotext is missing: install Debian's poppler-utils package")
        }
        None => eprintln!("note: pdftotext not found; the pages were not read"),
    }
}
