//! `pumphil merge`: one run directory made of the verified parts of a partitioned run.
//!
//! Each part's directory is kept verbatim under `parts/<K>/`, so its own record, manifest and
//! signatures still verify there. The merged `events.jsonl` is a new hash chain: a
//! `run_started` naming every part (its provenance, chain head and manifest hash), then the
//! parts' events copied with their own times, the run-wide ones first and then scenario by
//! scenario in id order, then a `run_finished` counted from them. `verify` re-derives those
//! copied lines from `parts/` and names any that differ (`merged_check`), so the merged record
//! says nothing its signed parts do not.

use super::manifest;
use crate::expect::csf::CsfParams;
use crate::record::journal::{self, sha256_line, Journal, Record, EVENTS_FILE};
use crate::record::schema::{Partition, PlannedScenario};
use crate::record::signing::{PublicKey, StationKey};
use crate::record::MergedPart;
use crate::record::{verdict, RunEvent, ScenarioVerdict};
use crate::scenario::requirements::Requirements;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the parts are kept inside a merged run directory.
pub const PARTS_DIR: &str = "parts";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MergeError {
    #[error("{}: not a run directory (no {EVENTS_FILE} in it)", path.display())]
    #[diagnostic(
        code(pumphil::merge::not_a_run),
        help("name the run directories made by `pumphil run --partition K/N`")
    )]
    NotARun { path: PathBuf },
    #[error("no run directories to merge")]
    #[diagnostic(
        code(pumphil::merge::no_parts),
        help("name the run directories made by `pumphil run --partition K/N`, one for each K")
    )]
    NoParts,
    #[error("{}: already exists; the merged run is made in a new directory", path.display())]
    #[diagnostic(
        code(pumphil::merge::out_exists),
        help("name a directory that does not exist yet")
    )]
    OutExists { path: PathBuf },
    #[error("{}: does not verify, so it is not merged:\n{}", path.display(), problems.join("\n"))]
    #[diagnostic(
        code(pumphil::merge::part_not_verified),
        help("find out what changed (`pumphil verify DIR`) and run that partition again")
    )]
    NotVerified {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{}: is not a partition (it was not run with --partition K/N)", path.display())]
    #[diagnostic(
        code(pumphil::merge::not_a_partition),
        help("merge the parts of one `pumphil run --partition K/N`, one directory for each K")
    )]
    NotAPartition { path: PathBuf },
    #[error("{}: is partition {} of another set of scenarios than {} ({})", path.display(), theirs, first.display(), what)]
    #[diagnostic(
        code(pumphil::merge::different_sets),
        help("run every partition on the same scenario files with the same N")
    )]
    DifferentSets {
        path: PathBuf,
        theirs: String,
        first: PathBuf,
        what: String,
    },
    #[error("{} and {} are both partition {index}/{count}", first.display(), second.display())]
    #[diagnostic(code(pumphil::merge::overlap), help("name each partition once"))]
    Overlap {
        first: PathBuf,
        second: PathBuf,
        index: usize,
        count: usize,
    },
    #[error("partition(s) {} of {count} missing", missing.iter().map(|k| format!("{k}/{count}")).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code(pumphil::merge::missing),
        help("run the missing partitions (`pumphil run --partition K/N`) and name their directories too")
    )]
    Missing { missing: Vec<usize>, count: usize },
    #[error("{}: its {what} differs from {}'s, so one report cannot state it", path.display(), first.display())]
    #[diagnostic(
        code(pumphil::merge::inconsistent),
        help("run every partition with the same options (mode, --csf-*, --requirements)")
    )]
    Inconsistent {
        path: PathBuf,
        first: PathBuf,
        what: &'static str,
    },
    #[error("{}: cannot read its record: {source}", path.display())]
    #[diagnostic(
        code(pumphil::merge::read),
        help(
            "check the run directory is readable and was written by this pumphil's schema version"
        )
    )]
    Read {
        path: PathBuf,
        source: journal::ReadError,
    },
    #[error("{}: cannot write the merged run: {source}", path.display())]
    #[diagnostic(
        code(pumphil::merge::write),
        help("check the folder is writable and the disk has room; delete the half-made directory and merge again")
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl MergeError {
    /// Exit codes as README.md states them: a part that is wrong fails (1), a usage error is
    /// 2, a write that fails is 3.
    pub fn exit_code(&self) -> u8 {
        use crate::record::verdict::exit;
        match self {
            MergeError::NotARun { .. }
            | MergeError::NoParts
            | MergeError::OutExists { .. }
            | MergeError::Read { .. } => exit::USAGE,
            MergeError::Write { .. } => exit::INFRASTRUCTURE,
            _ => exit::CHECK_FAILED,
        }
    }
}

/// One part, read: where it is, its records, what the merged record says of it, and the
/// settings of its run that the merged run states once.
pub struct Part {
    pub path: PathBuf,
    pub records: Vec<Record>,
    pub reference: MergedPart,
    planned: Vec<PlannedScenario>,
    csf: CsfParams,
    requirements: Option<Requirements>,
    jobs: usize,
}

/// Reads a part and describes it (`dir` is where the merged run keeps it). Its station keys
/// are those of its record's chain signatures.
pub fn read_part(path: &Path, dir: &str) -> Result<Part, MergeError> {
    if !path.join(EVENTS_FILE).is_file() {
        return Err(MergeError::NotARun { path: path.into() });
    }
    let read = |source| MergeError::Read {
        path: path.into(),
        source,
    };
    let back = journal::read_raw(path).map_err(read)?;
    let text = std::fs::read_to_string(path.join(EVENTS_FILE))
        .map_err(|e| read(journal::ReadError::Io(e)))?;
    let chain_head = text
        .split('\n')
        .rfind(|l| !l.is_empty())
        .map(sha256_line)
        .unwrap_or_default();
    let hash = |file: &str| crate::record::sha256_file(&path.join(file)).unwrap_or_default();
    let Some(RunEvent::RunStarted {
        run_id,
        scenarios,
        csf,
        requirements,
        jobs,
        started_utc,
        host,
        os,
        operator,
        harness_version,
        git_commit,
        mode,
        bench_file,
        seed,
        partition: Some(partition),
        ..
    }) = back.records.first().map(|r| r.event.clone())
    else {
        return Err(MergeError::NotAPartition { path: path.into() });
    };
    let mut station_keys = Vec::new();
    let mut finished_utc = None;
    for record in &back.records {
        match &record.event {
            RunEvent::ChainSignature { fingerprint, .. } if !station_keys.contains(fingerprint) => {
                station_keys.push(fingerprint.clone())
            }
            RunEvent::RunFinished {
                finished_utc: at, ..
            } => finished_utc = Some(at.clone()),
            _ => {}
        }
    }
    Ok(Part {
        path: path.into(),
        reference: MergedPart {
            dir: dir.to_string(),
            run_id,
            partition,
            started_utc,
            finished_utc,
            host,
            os,
            operator,
            harness_version,
            git_commit,
            mode,
            bench_file,
            seed,
            records: back.records.len() as u64,
            chain_head,
            events_sha256: hash(EVENTS_FILE),
            manifest_sha256: hash(manifest::FILE),
            station_keys,
            scenarios: scenarios.iter().map(|s| s.id.clone()).collect(),
        },
        records: back.records,
        planned: scenarios,
        csf,
        requirements,
        jobs,
    })
}

/// The parts in partition order, refused unless they are one set's partitions, each once, all
/// there, run with the same mode, CSF parameters and requirements file.
pub fn order(mut parts: Vec<Part>) -> Result<Vec<Part>, MergeError> {
    parts.sort_by_key(|p| p.reference.partition.index);
    let Some(first) = parts.first() else {
        return Err(MergeError::NoParts);
    };
    let set: &Partition = &first.reference.partition;
    let settings = |p: &Part| {
        (
            p.reference.mode,
            (p.csf.half_life_h, p.csf.clearance_ml_per_h),
            p.requirements.as_ref().map(|r| r.sha256.clone()),
        )
    };
    let first_settings = settings(first);
    for (i, part) in parts.iter().enumerate() {
        let theirs = &part.reference.partition;
        let what = if theirs.count != set.count {
            Some(format!("N is {} there, {} here", set.count, theirs.count))
        } else if theirs.set_sha256 != set.set_sha256 {
            Some(format!(
                "its set of {} scenarios has digest {}, the other's of {} has {}",
                theirs.set_size,
                &theirs.set_sha256[..12.min(theirs.set_sha256.len())],
                set.set_size,
                &set.set_sha256[..12.min(set.set_sha256.len())]
            ))
        } else {
            None
        };
        if let Some(what) = what {
            return Err(MergeError::DifferentSets {
                path: part.path.clone(),
                theirs: format!("{}/{}", theirs.index, theirs.count),
                first: first.path.clone(),
                what,
            });
        }
        if i > 0 && parts[i - 1].reference.partition.index == theirs.index {
            return Err(MergeError::Overlap {
                first: parts[i - 1].path.clone(),
                second: part.path.clone(),
                index: theirs.index,
                count: theirs.count,
            });
        }
        let (mode, csf, requirements) = settings(part);
        let differs = if mode != first_settings.0 {
            Some("mode (emulator or bench)")
        } else if csf != first_settings.1 {
            Some("CSF estimate parameters")
        } else if requirements != first_settings.2 {
            Some("requirements file")
        } else {
            None
        };
        if let Some(what) = differs {
            return Err(MergeError::Inconsistent {
                path: part.path.clone(),
                first: first.path.clone(),
                what,
            });
        }
    }
    let present: BTreeSet<usize> = parts.iter().map(|p| p.reference.partition.index).collect();
    let missing: Vec<usize> = (1..=set.count).filter(|k| !present.contains(k)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: set.count,
        });
    }
    Ok(parts)
}

/// Whether a record line is one of the parts' events copied into a merged record (the
/// merged record's own lines are its start, its end and signatures).
pub(super) fn is_copied(event: &RunEvent) -> bool {
    !matches!(
        event,
        RunEvent::RunStarted { .. }
            | RunEvent::RunFinished { .. }
            | RunEvent::ChainSignature { .. }
            | RunEvent::ElectronicSignature { .. }
    )
}

/// A part's event as the merged record holds it: a sample block names its side file where the
/// merged run keeps it, under the part's folder (the samples are not copied again).
fn as_copied(part: &Part, event: &RunEvent) -> RunEvent {
    match event {
        RunEvent::SampleBlock { scenario, block } if !part.reference.dir.is_empty() => {
            RunEvent::SampleBlock {
                scenario: scenario.clone(),
                block: crate::record::SampleBlock {
                    file: format!("{}/{}", part.reference.dir, block.file),
                    ..block.clone()
                },
            }
        }
        event => event.clone(),
    }
}

/// The parts' events as the merged record holds them, with their times: each part's run-wide
/// events in partition order, then every scenario's events in id order.
pub fn copied_events(parts: &[Part]) -> Vec<(String, RunEvent)> {
    let mut out = Vec::new();
    for part in parts {
        for record in &part.records {
            if is_copied(&record.event) && record.event.scenario().is_none() {
                out.push((record.at_utc.clone(), as_copied(part, &record.event)));
            }
        }
    }
    let ids: BTreeSet<&str> = parts
        .iter()
        .flat_map(|p| p.records.iter().filter_map(|r| r.event.scenario()))
        .collect();
    for id in ids {
        for part in parts {
            for record in &part.records {
                if is_copied(&record.event) && record.event.scenario() == Some(id) {
                    out.push((record.at_utc.clone(), as_copied(part, &record.event)));
                }
            }
        }
    }
    out
}

/// Every part's planned scenarios, sorted by id (the merged run's order).
pub(super) fn planned(parts: &[Part]) -> Vec<PlannedScenario> {
    let mut all: Vec<PlannedScenario> = parts.iter().flat_map(|p| p.planned.clone()).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// A value every part has alike (operator, bench file), or None where they differ: each
/// part's own is in `parts`.
fn common<T: Clone + PartialEq>(parts: &[Part], field: fn(&MergedPart) -> &Option<T>) -> Option<T> {
    let first = field(&parts.first()?.reference);
    parts
        .iter()
        .all(|p| field(&p.reference) == first)
        .then(|| first.clone())
        .flatten()
}

/// The merged `run_started`: this pumphil and host made it; the parts' own are in `parts`.
fn merged_start(run_id: &str, first: &Part, parts: &[Part], command_line: Vec<String>) -> RunEvent {
    RunEvent::RunStarted {
        schema_version: crate::record::SCHEMA_VERSION,
        run_id: run_id.to_string(),
        started_utc: parts
            .iter()
            .map(|p| p.reference.started_utc.clone())
            .min()
            .unwrap_or_default(),
        harness_version: crate::VERSION.to_string(),
        git_commit: crate::GIT_COMMIT.to_string(),
        host: crate::record::host_name(),
        os: crate::record::os_name(),
        operator: common(parts, |p| &p.operator),
        command_line,
        mode: first.reference.mode,
        bench_file: common(parts, |p| &p.bench_file),
        seed: first.reference.seed,
        jobs: parts.iter().map(|p| p.jobs).sum(),
        scenarios: planned(parts),
        csf: first.csf,
        requirements: first.requirements.clone(),
        partition: None,
        parts: parts.iter().map(|p| p.reference.clone()).collect(),
    }
}

/// The merged `run_finished`: counts from the scenarios' verdicts, and the worst of the exit
/// code they give and the parts' own.
fn merged_end(events: &[(String, RunEvent)], parts: &[Part]) -> RunEvent {
    let verdicts: Vec<ScenarioVerdict> = events
        .iter()
        .filter_map(|(_, e)| match e {
            RunEvent::ScenarioFinished { verdict, .. } => Some(*verdict),
            _ => None,
        })
        .collect();
    let parts_code = parts
        .iter()
        .flat_map(|p| &p.records)
        .filter_map(|r| match &r.event {
            RunEvent::RunFinished { exit_code, .. } => Some(*exit_code),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let count = |f: fn(&ScenarioVerdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
    RunEvent::RunFinished {
        finished_utc: crate::record::utc_now(),
        exit_code: verdict::run_verdict(&verdicts, false)
            .exit_code()
            .max(parts_code),
        passed: count(|v| v.is_success()),
        failed: count(|v| matches!(v, ScenarioVerdict::Failed | ScenarioVerdict::ControlMissed)),
        incomplete: count(|v| *v == ScenarioVerdict::Incomplete),
        errors: count(|v| *v == ScenarioVerdict::Error),
    }
}

/// Copies a directory tree of files and folders. A symbolic link is refused, not followed:
/// it could pull a file from outside the run into the merged one.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        } else {
            return Err(std::io::Error::other(format!(
                "{} is not a plain file or folder (a symbolic link?); it is not copied",
                entry.path().display()
            )));
        }
    }
    Ok(())
}

/// Verifies and merges `sources` into the new directory `out`, signing the merged record with
/// `signer` when given; the outputs are rendered afterwards (`render_all_with`).
pub fn merge(
    out: &Path,
    sources: &[PathBuf],
    trusted: &[PublicKey],
    signer: Option<std::sync::Arc<StationKey>>,
    command_line: Vec<String>,
) -> Result<(), MergeError> {
    if out.exists() {
        return Err(MergeError::OutExists { path: out.into() });
    }
    let mut parts = Vec::new();
    for source in sources {
        if !source.join(EVENTS_FILE).is_file() {
            return Err(MergeError::NotARun {
                path: source.clone(),
            });
        }
        let report = super::verify_with(source, trusted);
        if !report.is_ok() {
            return Err(MergeError::NotVerified {
                path: source.clone(),
                problems: report.problems,
            });
        }
        let part = read_part(source, "")?;
        parts.push(part);
    }
    let mut parts = order(parts)?;
    for part in &mut parts {
        part.reference.dir = format!("{PARTS_DIR}/{}", part.reference.partition.index);
    }
    let write = |source| MergeError::Write {
        path: out.into(),
        source,
    };
    std::fs::create_dir_all(out).map_err(write)?;
    for part in &parts {
        copy_tree(&part.path, &out.join(&part.reference.dir)).map_err(write)?;
    }
    let run_id = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "merged".into());
    let first = parts.first().ok_or(MergeError::NoParts)?;
    let mut journal = Journal::create_copy(out, signer).map_err(write)?;
    journal
        .append(merged_start(&run_id, first, &parts, command_line))
        .map_err(write)?;
    let events = copied_events(&parts);
    for (at_utc, event) in &events {
        journal.append_at(event.clone(), at_utc).map_err(write)?;
    }
    journal.append(merged_end(&events, &parts)).map_err(write)?;
    journal.sync().map_err(write)?;
    Ok(())
}
