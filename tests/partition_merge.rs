//! `run --partition K/N` and `pumphil merge` (issue 13 §5), through the binary: the suite run
//! as three partitions and merged judges exactly as one whole run, the merged run verifies,
//! and parts that do not verify, overlap, are missing or are of another set are refused.

mod common;

use common::{keygen, output_text, public_key, pumphil_unsigned, recompute_chain, run_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scenarios() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios").to_string()
}

/// Runs `paths` (with `partition` if given) into a reports folder of its own; its run directory.
fn run(reports: &Path, partition: Option<&str>, paths: &[&str]) -> PathBuf {
    let mut args = vec![
        "run",
        "--plain",
        "-q",
        "--seed",
        "1",
        "--reports",
        reports.to_str().unwrap(),
    ];
    if let Some(partition) = partition {
        args.extend(["--partition", partition]);
    }
    args.extend(paths);
    let out = pumphil_unsigned(&args);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    run_dir(reports)
}

fn merge(out: &Path, parts: &[&Path]) -> Output {
    let mut args = vec!["merge".to_string(), out.display().to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    pumphil_unsigned(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Each scenario's verdict and its checks' names and verdicts, from the record.
type Judged = BTreeMap<String, (String, Vec<(String, String)>)>;

fn judged(dir: &Path) -> Judged {
    let view = pumphil::record::render::fold_record(dir, |_| Ok(())).expect("the record reads");
    view.scenarios
        .iter()
        .map(|s| {
            let mut checks: Vec<(String, String)> = s
                .checks
                .iter()
                .map(|c| (c.name.clone(), format!("{:?}", c.verdict)))
                .collect();
            checks.sort();
            (
                s.id.clone(),
                (
                    s.finished
                        .as_ref()
                        .map(|f| f.verdict.label().to_string())
                        .unwrap_or_default(),
                    checks,
                ),
            )
        })
        .collect()
}

/// Scenarios that take most of a debug run of the suite: the three 110-day battery lives and
/// the two 14-day pocket fills (about two thirds of its CPU time).
const LONGEST: [&str; 2] = ["battery-", "refill-pocket-fill"];

/// Every scenario file in `scenarios/` but the longest.
fn all_but_the_longest() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(scenarios())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !LONGEST.iter().any(|long| name.starts_with(long))
        })
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    files
}

/// 22 of the suite's 27 scenarios, passes and controls of every kind but the battery lives and
/// pocket fills; the whole suite is `the_whole_suite_in_three_partitions_...` (CI, release).
#[test]
fn the_suite_in_three_partitions_merged_judges_as_one_whole_run() {
    let files = all_but_the_longest();
    assert!(files.len() >= 20, "{files:?}");
    partitions_merged_judge_as_one_whole_run(&files.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
#[ignore = "the whole suite, battery lives included, three times over: release build, run by CI"]
fn the_whole_suite_in_three_partitions_merged_judges_as_one_whole_run() {
    partitions_merged_judge_as_one_whole_run(&[&scenarios()]);
}

/// Runs `paths` whole and as three partitions, merges the parts and checks that the merged
/// run judges every scenario as the whole run did, verifies, and keeps each part's provenance.
fn partitions_merged_judge_as_one_whole_run(paths: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    // The whole run beside the three parts: it waits on its longest scenario and on its report
    // while the parts run.
    let (whole, parts) = std::thread::scope(|scope| {
        let whole = scope.spawn(|| run(&tmp.path().join("whole"), None, paths));
        let parts: Vec<PathBuf> = (1..=3)
            .map(|k| {
                run(
                    &tmp.path().join(format!("part{k}")),
                    Some(&format!("{k}/3")),
                    paths,
                )
            })
            .collect();
        let whole = whole
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (whole, parts)
    });
    let whole_judged = judged(&whole);
    let shares: Vec<Judged> = parts.iter().map(|p| judged(p)).collect();
    for share in &shares {
        assert!(!share.is_empty() && share.len() < whole_judged.len());
    }
    let mut ids: Vec<&String> = shares.iter().flat_map(|s| s.keys()).collect();
    ids.sort();
    assert_eq!(
        ids,
        whole_judged.keys().collect::<Vec<_>>(),
        "the shares cover the set once"
    );

    let merged = tmp.path().join("merged");
    // Named out of order: the partition numbers order them.
    let out = merge(&merged, &[&parts[2], &parts[0], &parts[1]]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("Overall verdict: PASS"),
        "{}",
        output_text(&out)
    );
    assert_eq!(judged(&merged), whole_judged);

    let verified = pumphil_unsigned(&["verify", merged.to_str().unwrap()]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        output_text(&verified)
    );
    // Each part is kept whole, with its provenance in the merged record.
    let view = pumphil::record::render::fold_record(&merged, |_| Ok(())).unwrap();
    assert_eq!(view.parts.len(), 3);
    for (k, part) in view.parts.iter().enumerate() {
        assert_eq!(part.partition.index, k + 1);
        assert_eq!(part.dir, format!("parts/{}", k + 1));
        assert_eq!(part.run_id, parts[k].file_name().unwrap().to_string_lossy());
        assert!(!part.host.is_empty() && !part.git_commit.is_empty());
        assert!(merged.join(&part.dir).join("MANIFEST.sha256").is_file());
    }
    // Every sample is read back from the part's own trace, which is not stored twice.
    let whole_view = pumphil::record::render::fold_record(&whole, |_| Ok(())).unwrap();
    let counts = |v: &pumphil::record::view::RunView| -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = v
            .scenarios
            .iter()
            .map(|s| (s.id.clone(), s.sample_count))
            .collect();
        counts.sort();
        counts
    };
    assert_eq!(counts(&view), counts(&whole_view));
    assert!(counts(&view).iter().any(|(_, n)| *n > 0));
    for (id, _) in counts(&view) {
        assert!(!merged.join(format!("traces/{id}.csv")).exists(), "{id}");
        assert!(
            merged.join(format!("traces/{id}-alarms.csv")).is_file(),
            "{id}"
        );
    }
    let junit = std::fs::read_to_string(merged.join("junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<testsuite ").count(),
        whole_judged.len(),
        "one JUnit suite per scenario of the whole set"
    );
    for part in &view.parts {
        // Each suite names the part that ran its scenario.
        let named = format!(
            "<property name=\"part\" value=\"{}/3 {}\"/>",
            part.partition.index, part.run_id
        );
        assert_eq!(
            junit.matches(&named).count(),
            part.scenarios.len(),
            "{named}"
        );
    }
    let report = std::fs::read_to_string(merged.join("report.html")).unwrap();
    for part in &view.parts {
        assert!(
            report.contains(&part.run_id),
            "the report names part {}",
            part.run_id
        );
    }
}

/// Three small runs: partitions 1/3, 2/3 and 3/3 of three scenario files, one each.
fn three_parts(tmp: &Path) -> Vec<PathBuf> {
    let files: Vec<String> = ["refill", "stop-resume", "motor-stall"]
        .iter()
        .map(|id| format!("{}/{id}.toml", scenarios()))
        .collect();
    let paths: Vec<&str> = files.iter().map(String::as_str).collect();
    (1..=3)
        .map(|k| run(&tmp.join(format!("p{k}")), Some(&format!("{k}/3")), &paths))
        .collect()
}

#[test]
fn parts_that_do_not_verify_overlap_or_leave_a_gap_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let parts = three_parts(tmp.path());

    // A byte of part 2's record changed: refused, naming that part.
    let events = parts[1].join("events.jsonl");
    let original = std::fs::read_to_string(&events).unwrap();
    std::fs::write(
        &events,
        original.replacen("\"verdict\":\"pass\"", "\"verdict\":\"fail\"", 1),
    )
    .unwrap();
    let out = merge(&tmp.path().join("m1"), &[&parts[0], &parts[1], &parts[2]]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("merge::part_not_verified"),
        "{}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains(&parts[1].display().to_string()),
        "{}",
        output_text(&out)
    );
    assert!(
        !tmp.path().join("m1").exists(),
        "nothing is made of a refused merge"
    );
    std::fs::write(&events, &original).unwrap();

    let out = merge(&tmp.path().join("m2"), &[&parts[0], &parts[2]]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("partition(s) 2/3 of 3 missing"),
        "{}",
        output_text(&out)
    );

    let out = merge(
        &tmp.path().join("m3"),
        &[&parts[0], &parts[1], &parts[2], &parts[1]],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("are both partition 2/3"),
        "{}",
        output_text(&out)
    );

    // Partition 1/3 of another set (one file fewer) is not merged with these.
    let other = run(
        &tmp.path().join("other"),
        Some("1/3"),
        &[&format!("{}/refill.toml", scenarios())],
    );
    let out = merge(&tmp.path().join("m4"), &[&other, &parts[1], &parts[2]]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("merge::different_sets"),
        "{}",
        output_text(&out)
    );

    // A partition holding no scenario is refused: a run of nothing would pass.
    let out = pumphil_unsigned(&[
        "run",
        "--plain",
        "-q",
        "--reports",
        tmp.path().join("none").to_str().unwrap(),
        "--partition",
        "2/2",
        &format!("{}/refill.toml", scenarios()),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("run::empty_partition"),
        "{}",
        output_text(&out)
    );

    // The parts as they were merge, and the merged run verifies.
    let merged = tmp.path().join("merged");
    let out = merge(&merged, &[&parts[0], &parts[1], &parts[2]]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert_eq!(
        pumphil_unsigned(&["verify", merged.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );

    // A copied line edited in the merged record, its chain and manifest made to agree again:
    // verify re-derives the copy from parts/ and names the line.
    let merged_events = merged.join("events.jsonl");
    let text_before = std::fs::read_to_string(&merged_events).unwrap();
    let edited = text_before.replacen("\"delivered_nl\":", "\"delivered_nl\":1", 1);
    assert_ne!(edited, text_before);
    std::fs::write(&merged_events, recompute_chain(&edited)).unwrap();
    pumphil::record::render::manifest::write(&merged).unwrap();
    let out = pumphil_unsigned(&["verify", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("is not the parts' event it copies"),
        "{}",
        output_text(&out)
    );

    // A sample edited in a part's trace, where the merged record's blocks read it: named by
    // the file and its line, in the merged record and in the part.
    std::fs::write(&merged_events, &text_before).unwrap();
    pumphil::record::render::manifest::write(&merged).unwrap();
    let trace = merged.join("parts/1/traces/motor-stall.csv");
    let text = std::fs::read_to_string(&trace).unwrap();
    let line: Vec<&str> = text.lines().collect();
    let edited_line = line[2].replacen(',', ",9", 1);
    std::fs::write(&trace, text.replacen(line[2], &edited_line, 1)).unwrap();
    let out = pumphil_unsigned(&["verify", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    for named in [
        "parts/1/traces/motor-stall.csv line 3: changed",
        "parts/1: traces/motor-stall.csv line 3: changed",
    ] {
        assert!(output_text(&out).contains(named), "{}", output_text(&out));
    }

    // Forced, the merged run is rendered from a copy holding the parts' traces its blocks name,
    // so its samples are plotted (the edited one with them), marked NOT VERIFIED.
    let out = pumphil_unsigned(&["report", "--force", merged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let forced = PathBuf::from(format!("{}-NOT-VERIFIED-1", merged.display()));
    let named: Vec<String> = std::fs::read_to_string(&merged_events)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"type\":\"sample_block\""))
        .filter_map(|l| {
            l.split("\"file\":\"")
                .nth(1)?
                .split('"')
                .next()
                .map(String::from)
        })
        .collect();
    assert!(!named.is_empty());
    for file in &named {
        assert!(file.starts_with("parts/"), "{file}");
        assert_eq!(
            std::fs::read(forced.join(file)).unwrap(),
            std::fs::read(merged.join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        std::fs::read(forced.join("parts/1/traces/motor-stall.csv")).unwrap(),
        std::fs::read(&trace).unwrap()
    );
    let md = std::fs::read_to_string(forced.join("report.md")).unwrap();
    assert!(md.contains("NOT VERIFIED"), "{md}");
    assert!(!md.contains("cannot be read"), "{md}");
}

/// Signed partitions merged with a station key: the merged run and every part verify against
/// the trusted key, and against any other key they do not.
#[test]
fn signed_parts_keep_their_signatures_and_the_merged_run_is_signed_too() {
    let tmp = tempfile::tempdir().unwrap();
    let key = keygen(tmp.path(), "station.key");
    let other = keygen(tmp.path(), "other.key");
    let (key_arg, public, other_public) =
        (key.to_str().unwrap(), public_key(&key), public_key(&other));
    let files: Vec<String> = ["refill", "stop-resume"]
        .iter()
        .map(|id| format!("{}/{id}.toml", scenarios()))
        .collect();
    let parts: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let reports = tmp.path().join(format!("p{k}"));
            let partition = format!("{k}/2");
            let out = pumphil_unsigned(&[
                "run",
                "--plain",
                "-q",
                "--reports",
                reports.to_str().unwrap(),
                "--sign-key",
                key_arg,
                "--partition",
                &partition,
                &files[0],
                &files[1],
            ]);
            assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
            run_dir(&reports)
        })
        .collect();
    let merged = tmp.path().join("merged");
    let args = [
        "merge",
        merged.to_str().unwrap(),
        parts[0].to_str().unwrap(),
        parts[1].to_str().unwrap(),
        "--trusted-key",
        &public,
        "--sign-key",
        key_arg,
    ];
    let out = pumphil_unsigned(&args);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(merged.join("MANIFEST.sha256.sig").is_file());
    assert!(merged.join("parts/1/MANIFEST.sha256.sig").is_file());
    let ok = pumphil_unsigned(&["verify", merged.to_str().unwrap(), "--trusted-key", &public]);
    assert_eq!(ok.status.code(), Some(0), "{}", output_text(&ok));
    let wrong = pumphil_unsigned(&[
        "verify",
        merged.to_str().unwrap(),
        "--trusted-key",
        &other_public,
    ]);
    assert_eq!(wrong.status.code(), Some(1), "{}", output_text(&wrong));
    assert!(
        output_text(&wrong).contains("parts/1: "),
        "the parts are checked too: {}",
        output_text(&wrong)
    );
    // A merge that trusts another key refuses the parts.
    let refused = pumphil_unsigned(&[
        "merge",
        tmp.path().join("m2").to_str().unwrap(),
        parts[0].to_str().unwrap(),
        parts[1].to_str().unwrap(),
        "--trusted-key",
        &other_public,
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", output_text(&refused));
}
