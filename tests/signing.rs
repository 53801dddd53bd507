//! Signed runs, `report` that never launders, and electronic signatures (issue 13 §1-3), driven
//! through the `pumphil` binary as a user would.

mod common;

use common::{keygen, output_text, public_key, pumphil_unsigned, recompute_chain, run_dir};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs one scenario (a negative control whose alarm-onset check fails) and returns its run
/// directory.
fn run(reports: &Path, key: Option<&Path>) -> PathBuf {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/refill-neg-late-low-alarm.toml"
    );
    let mut args = vec![
        "run",
        "--plain",
        "-q",
        "--reports",
        reports.to_str().unwrap(),
    ];
    if let Some(key) = key {
        args.extend(["--sign-key", key.to_str().unwrap()]);
    }
    args.push(scenario);
    let out = pumphil_unsigned(&args);
    assert!(
        out.status.code().unwrap_or(99) <= 1,
        "{}",
        output_text(&out)
    );
    run_dir(reports)
}

fn verify(dir: &Path, trusted: &[&str]) -> Output {
    let mut args = vec!["verify".to_string(), dir.display().to_string()];
    for key in trusted {
        args.push("--trusted-key".into());
        args.push(key.to_string());
    }
    pumphil_unsigned(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `pumphil sign DIR` by Dana Reviewer with `key`, in `role`, meaning `meaning`.
fn sign_as_dana(dir: &Path, key: &Path, role: &str, meaning: &str) -> Output {
    pumphil_unsigned(&[
        "sign",
        dir.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--name",
        "Dana Reviewer",
        "--role",
        role,
        "--meaning",
        meaning,
    ])
}

/// Edits the first failed check to pass and recomputes the chain.
fn launder(dir: &Path) {
    let path = dir.join("events.jsonl");
    let events = std::fs::read_to_string(&path).unwrap();
    let failed = events
        .lines()
        .position(|l| l.contains("\"type\":\"check\"") && l.contains("\"verdict\":\"fail\""))
        .expect("a failed check to launder");
    let edited: Vec<String> = events
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == failed {
                l.replace("\"verdict\":\"fail\"", "\"verdict\":\"pass\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, recompute_chain(&(edited.join("\n") + "\n"))).unwrap();
}

/// The names in the folder that holds `dir`, sorted.
fn folders_beside(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_report_of_a_verified_run_renders_it_again_byte_for_byte_and_leaves_nothing_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(&tmp.path().join("reports"), None);
    let before: Vec<(String, Vec<u8>)> = pumphil::record::render::manifest::run_files(&dir)
        .unwrap()
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(dir.join(&f)).unwrap()))
        .collect();
    // The rendered outputs removed (the sample traces are the record's, never rendered).
    for (file, _) in &before {
        if file.ends_with("-alarms.csv") || file == "junit.xml" {
            std::fs::remove_file(dir.join(file)).unwrap();
        }
    }
    let report = pumphil_unsigned(&["report", dir.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(0), "{}", output_text(&report));
    for (file, bytes) in &before {
        assert_eq!(&std::fs::read(dir.join(file)).unwrap(), bytes, "{file}");
    }
    assert_eq!(
        folders_beside(&dir),
        vec![dir.file_name().unwrap().to_string_lossy().into_owned()]
    );
    assert!(verify(&dir, &[]).status.success());
}

#[test]
fn a_laundered_record_is_refused_by_report_and_fails_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(&tmp.path().join("reports"), None);
    assert!(verify(&dir, &[]).status.success());
    let manifest = std::fs::read(dir.join("MANIFEST.sha256")).unwrap();
    launder(&dir);

    let report = pumphil_unsigned(&["report", dir.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(1), "{}", output_text(&report));
    let said = output_text(&report);
    assert!(said.contains("refusing to render"), "{said}");
    assert!(said.contains("events.jsonl: changed"), "{said}");
    assert!(said.contains("recorded PASS, but its margin"), "{said}");
    assert_eq!(
        std::fs::read(dir.join("MANIFEST.sha256")).unwrap(),
        manifest,
        "the manifest must not be rewritten"
    );
    // The fold that ran beside the verification staged its traces outside the run directory
    // and left nothing behind.
    assert_eq!(
        folders_beside(&dir),
        vec![dir.file_name().unwrap().to_string_lossy().into_owned()]
    );

    let verified = verify(&dir, &[]);
    assert_eq!(
        verified.status.code(),
        Some(1),
        "{}",
        output_text(&verified)
    );
    assert!(output_text(&verified).contains("events.jsonl: changed"));

    // --force renders elsewhere, every page saying NOT VERIFIED, and blesses nothing.
    let forced = pumphil_unsigned(&["report", "--force", dir.to_str().unwrap()]);
    assert_eq!(forced.status.code(), Some(1), "{}", output_text(&forced));
    let out = PathBuf::from(format!("{}-NOT-VERIFIED-1", dir.display()));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("@top-center { content: \"NOT VERIFIED: "),
        "every printed page"
    );
    assert!(html.contains("recorded PASS, but its margin"));
    assert!(std::fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("NOT VERIFIED"));
    assert!(!out.join("MANIFEST.sha256").exists());
    assert!(!verify(&out, &[]).status.success());
    // The sample traces came with the record (its side files), so its samples are rendered.
    let trace = "traces/refill-neg-late-low-alarm.csv";
    assert_eq!(
        std::fs::read(out.join(trace)).unwrap(),
        std::fs::read(dir.join(trace)).unwrap()
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("cannot be read"), "{md}");
}

#[test]
fn a_signed_run_verifies_against_its_key_and_not_another() {
    let tmp = tempfile::tempdir().unwrap();
    let station = keygen(tmp.path(), "station.key");
    let other = keygen(tmp.path(), "other.key");
    let dir = run(&tmp.path().join("reports"), Some(&station));
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(events
        .lines()
        .last()
        .unwrap()
        .contains("\"type\":\"chain_signature\""));
    assert!(events.contains("\"scenario\":\"refill-neg-late-low-alarm\",\"head\""));
    assert!(dir.join("MANIFEST.sha256.sig").is_file());

    let ok = verify(&dir, &[&public_key(&station)]);
    assert!(ok.status.success(), "{}", output_text(&ok));
    let fingerprint = output_text(&ok)
        .split("trusted station key ")
        .nth(1)
        .unwrap()
        .chars()
        .take(16)
        .collect::<String>();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.contains(&format!("station key {fingerprint}\"")),
        "every printed page"
    );

    let wrong = verify(&dir, &[&public_key(&other)]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        output_text(&wrong).contains(&format!(
            "signed by station key {fingerprint}, which is not a trusted key"
        )),
        "{}",
        output_text(&wrong)
    );

    // report re-renders a verified signed run without breaking its signatures.
    let report = pumphil_unsigned(&["report", dir.to_str().unwrap()]);
    assert!(report.status.success(), "{}", output_text(&report));
    assert!(verify(&dir, &[&public_key(&station)]).status.success());
}

#[test]
fn an_unsigned_run_fails_when_a_key_is_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let station = keygen(tmp.path(), "station.key");
    let dir = run(&tmp.path().join("reports"), None);
    assert!(verify(&dir, &[]).status.success());
    let out = verify(&dir, &[&public_key(&station)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output_text(&out).contains("unsigned run"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn a_signed_run_laundered_and_rechained_fails_its_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let station = keygen(tmp.path(), "station.key");
    let dir = run(&tmp.path().join("reports"), Some(&station));
    launder(&dir);
    let out = verify(&dir, &[&public_key(&station)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output_text(&out).contains("the record changed after it was signed"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn sign_then_verify_round_trip_and_a_change_afterwards_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let station = keygen(tmp.path(), "station.key");
    let reviewer = keygen(tmp.path(), "reviewer.key");
    let dir = run(&tmp.path().join("reports"), Some(&station));
    let signed = sign_as_dana(
        &dir,
        &reviewer,
        "reviewed",
        "Reviewed results and deviations",
    );
    assert!(signed.status.success(), "{}", output_text(&signed));
    let ok = verify(&dir, &[&public_key(&station), &public_key(&reviewer)]);
    assert!(ok.status.success(), "{}", output_text(&ok));
    assert!(output_text(&ok).contains("signed by Dana Reviewer (reviewed)"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Dana Reviewer") && html.contains("Reviewed results and deviations"));
    assert!(std::fs::read_to_string(dir.join("report.md"))
        .unwrap()
        .contains("| **Reviewed by** | Dana Reviewer | Reviewed results and deviations |"));
    // Only the station key trusted: the reviewer's signature is named.
    let partly = verify(&dir, &[&public_key(&station)]);
    assert!(
        output_text(&partly).contains("electronic signature of Dana Reviewer (reviewed) by key")
    );

    // A record changed after the signature (chain recomputed) fails the signature.
    let path = dir.join("events.jsonl");
    let events = std::fs::read_to_string(&path).unwrap();
    let edited = events.replacen("\"wall_ms\":", "\"wall_ms\":1", 1);
    assert!(edited != events, "the record has a wall_ms to edit");
    std::fs::write(&path, recompute_chain(&edited)).unwrap();
    let out = verify(&dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        output_text(&out)
            .contains("electronic signature of Dana Reviewer (reviewed) signs chain head"),
        "{}",
        output_text(&out)
    );
    // And a record that does not verify is never signed.
    let again = sign_as_dana(&dir, &reviewer, "approved", "Approved");
    assert_eq!(again.status.code(), Some(1), "{}", output_text(&again));
}

/// A bench file's `signing_key` (relative to the bench file) signs the bench's runs: the
/// device is `pumphil emulate --pty` in virtual time, driven as an external bench device.
#[test]
fn a_bench_files_signing_key_signs_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let station = keygen(tmp.path(), "station.key");
    let other = keygen(tmp.path(), "other.key");
    let emu = common::emulate(&["--serial", "TU-000777", "--reservoir-ml", "40"]);
    let bench = tmp.path().join("bench.toml");
    std::fs::write(
        &bench,
        format!(
            "station = \"signing bench\"\ntime = \"virtual\"\nsigning_key = \"station.key\"\nallowed_serial_numbers = [\"TU-000777\"]\n\n[pump]\nport = \"{}\"\n\n[balance]\nport = \"{}\"\n",
            emu.pump, emu.balance
        ),
    )
    .unwrap();
    let reports = tmp.path().join("reports");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/refill.toml");
    let out = pumphil_unsigned(&[
        "run",
        "--plain",
        "-q",
        "--reports",
        reports.to_str().unwrap(),
        "--bench",
        bench.to_str().unwrap(),
        scenario,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let dir = common::run_dir(&reports);
    assert!(
        dir.join("MANIFEST.sha256.sig").is_file(),
        "the manifest is signed"
    );

    let fingerprint = std::fs::read_to_string(dir.join("MANIFEST.sha256.sig"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let trusted = verify(&dir, &[&public_key(&station)]);
    assert_eq!(trusted.status.code(), Some(0), "{}", output_text(&trusted));
    assert!(
        output_text(&trusted).contains(&format!("signed by trusted station key {fingerprint}")),
        "{}",
        output_text(&trusted)
    );
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(events.contains("\"type\":\"chain_signature\""));
    // Another key is not trusted in its place, and the message names the key found.
    let untrusted = verify(&dir, &[&public_key(&other)]);
    assert_eq!(
        untrusted.status.code(),
        Some(1),
        "{}",
        output_text(&untrusted)
    );
    assert!(
        output_text(&untrusted).contains(&fingerprint),
        "{}",
        output_text(&untrusted)
    );
}
