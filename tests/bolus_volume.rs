//! Bolus and step accuracy through whole runs on the emulator: the correct pump's boluses and
//! rate change pass `bolus-volume` with their uncertainty, a pump that gives every bolus 30 %
//! short is caught by it, and the table reaches summary.json and both reports (on a balance
//! with 1.0 mg of reading noise, as the suite's noise test uses).

mod common;

#[test]
fn boluses_are_weighed_and_a_short_bolus_is_caught() {
    let reports = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new(common::BIN)
        .args([
            "run",
            "--plain",
            "--quiet",
            "--noise-mg",
            "1.0",
            "--reports",
        ])
        .arg(reports.path())
        .args([
            "scenarios/bolus-accuracy.toml",
            "scenarios/bolus-accuracy-neg-short-bolus.toml",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("pumphil runs");
    assert_eq!(status.code(), Some(0), "both come out as required");
    let dir = common::run_dir(reports.path());
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let summary: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let scenario = |id: &str| {
        summary["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} in summary.json"))
            .clone()
    };

    let good = scenario("bolus-accuracy");
    assert_eq!(good["verdict"], "passed", "{good}");
    let rows = good["bolus_volume"].as_array().expect("a bolus table");
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["bolus", "rate_change", "bolus"]);
    // 100 ug and 50 ug at 500 ug/mL; 3 h at 540 ug/day is 135 uL.
    let programmed: Vec<f64> = rows
        .iter()
        .map(|r| r["programmed_ul"].as_f64().unwrap())
        .collect();
    assert_eq!(programmed, [200.0, 135.0, 100.0]);
    for r in rows {
        assert_eq!(r["verdict"], "pass", "{r}");
        let error = r["error_percent"].as_f64().expect("an error");
        assert!(error.abs() < 5.0, "{r}");
        assert!(
            r["expanded_uncertainty_ul"].as_f64().expect("U") > 0.0,
            "{r}"
        );
    }
    // A bolus's basal is subtracted: 35 min at 50 uL/h around the first.
    assert!((rows[0]["background_ul"].as_f64().unwrap() - 29.167).abs() < 0.01);

    let short = scenario("bolus-accuracy-neg-short-bolus");
    assert_eq!(short["verdict"], "defect_caught", "{short}");
    assert!(short["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "bolus-volume"));
    let rows = short["bolus_volume"].as_array().expect("a bolus table");
    let verdicts: Vec<&str> = rows
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["fail", "pass", "fail"], "{rows:?}");
    for bolus in [&rows[0], &rows[2]] {
        let error = bolus["error_percent"].as_f64().unwrap();
        assert!((error + 30.0).abs() < 3.0, "{bolus}");
    }

    let markdown = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    for report in [&markdown, &html] {
        assert!(report.contains("Bolus and step accuracy"));
        assert!(report.contains("100 ug at 500 ug/mL = 200.0 uL over 30m"));
    }
}
