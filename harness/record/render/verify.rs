//! `verify`: a run directory against its `MANIFEST.sha256` and its record's hash chain.
//!
//! The manifest says which files changed, appeared or vanished; the hash chain says which record
//! of `events.jsonl` was edited, inserted or removed, and through each `sample_block` which line
//! of a sample trace (`traces/<scenario>.csv`) was. Neither is a signature: whoever rewrites the
//! whole chain and the manifest goes unnoticed unless the run is signed (`signatures`) and the
//! verifier names the keys it trusts; the record's verdicts are re-derived from its numbers too
//! (`record::rederive`), so an edited verdict is named even in an unsigned run.

use super::signatures::RecordSignatures;
use super::{chain, manifest};
use crate::record::journal::{unblock, Unblocked, EVENTS_FILE};
use crate::record::view::{Fold, RecordIntegrity, RunView};
use crate::record::RunEvent;
use std::collections::BTreeMap;
use std::path::{Component, Path};

/// What `verify` found. `problems` name a file or a record line each; `notes` are not failures.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VerifyReport {
    /// Files listed in the manifest.
    pub files: usize,
    /// Records of `events.jsonl` that parse.
    pub records: usize,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    /// Fingerprints of the station keys that signed the record (empty: an unsigned run).
    pub station_keys: Vec<String>,
    /// Electronic signatures: (printed name, role, key fingerprint).
    pub electronic: Vec<(String, String, String)>,
    /// Files whose SHA-256 matched the manifest, with it: a rendering that follows reuses the
    /// record's rather than hashing it again.
    pub hashed: BTreeMap<String, String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A manifest path that stays inside the run directory.
fn is_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn read_manifest(dir: &Path, report: &mut VerifyReport) -> Option<BTreeMap<String, String>> {
    let text = match std::fs::read(dir.join(manifest::FILE)) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            report.problems.push(format!(
                "{}: missing or unreadable ({e}); files cannot be checked",
                manifest::FILE
            ));
            return None;
        }
    };
    let mut listed = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line
            .split_once("  ")
            .filter(|(hash, _)| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        match entry {
            Some((_, path)) if !is_inside(path) => report.problems.push(format!(
                "{} line {}: {path:?} is outside the run directory",
                manifest::FILE,
                i + 1
            )),
            Some((hash, path)) => {
                if listed
                    .insert(path.to_string(), hash.to_ascii_lowercase())
                    .is_some()
                {
                    report.problems.push(format!(
                        "{} line {}: {path} is listed twice",
                        manifest::FILE,
                        i + 1
                    ));
                }
            }
            None => report.problems.push(format!(
                "{} line {}: not '<sha256>  <path>'",
                manifest::FILE,
                i + 1
            )),
        }
    }
    Some(listed)
}

fn check_files(dir: &Path, listed: &BTreeMap<String, String>, report: &mut VerifyReport) {
    for (path, hash) in listed {
        match crate::record::sha256_file(&dir.join(path)) {
            Ok(found) if found == *hash => {
                report.hashed.insert(path.clone(), found);
            }
            Ok(_) => report.problems.push(format!(
                "{path}: changed (its SHA-256 differs from the manifest)"
            )),
            Err(_) => report.problems.push(format!(
                "{path}: removed (listed in the manifest, missing from the directory)"
            )),
        }
    }
    match manifest::run_files(dir) {
        Ok(present) => {
            for path in present {
                if !listed.contains_key(&path) {
                    report.problems.push(format!(
                        "{path}: added (in the directory, not in the manifest)"
                    ));
                }
            }
        }
        Err(e) => report
            .problems
            .push(format!("{}: cannot list the directory: {e}", dir.display())),
    }
}

/// A record of another schema version is not checked line by line: its lines do not parse as
/// this version's records.
fn other_version(dir: &Path) -> Option<u32> {
    use std::io::BufRead;
    let file = std::fs::File::open(dir.join(EVENTS_FILE)).ok()?;
    let first = std::io::BufReader::new(file).lines().next()?.ok()?;
    let found = crate::record::journal::declared_version(&first)?;
    (found != crate::record::SCHEMA_VERSION).then_some(found)
}

/// Whether `journal::Reader` would fold the record: it refuses one whose first non-empty line
/// declares another schema version (`other_version` looks at the very first line only).
fn first_record_of_this_version(dir: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(dir.join(EVENTS_FILE)) else {
        return false;
    };
    let first = std::io::BufReader::new(file)
        .split(b'\n')
        .map_while(Result::ok)
        .find(|raw| !raw.is_empty());
    let declared = first
        .as_deref()
        .and_then(|raw| std::str::from_utf8(raw).ok())
        .and_then(crate::record::journal::declared_version);
    declared.is_none_or(|found| found == crate::record::SCHEMA_VERSION)
}

/// What the one pass over `events.jsonl` found beside the chain check's problems.
#[derive(Default)]
struct RecordRead {
    /// The hash chain and sequence hold.
    intact: bool,
    /// The record's signatures, read in the same pass (`None`: the pass did not read it).
    signatures: Option<RecordSignatures>,
    /// The run's view folded in the same pass, for re-deriving its verdicts (`None`: not folded,
    /// as `fold_record` refuses a record whose first line declares another schema version).
    view: Option<RunView>,
}

/// Reads `events.jsonl` once, a line at a time: each line is hashed and parsed once, and goes to
/// the chain check, the signature check and the fold of the run's view together.
fn check_record(dir: &Path, report: &mut VerifyReport) -> RecordRead {
    if let Some(found) = other_version(dir) {
        report.problems.push(format!(
            "{EVENTS_FILE}: record schema version {found}; this pumphil reads version {} only (verify it with the pumphil that wrote it; docs/record.md)",
            crate::record::SCHEMA_VERSION
        ));
        return RecordRead::default();
    }
    let mut signatures = RecordSignatures::default();
    let mut fold = first_record_of_this_version(dir).then(Fold::for_verdicts);
    let mut blocks = crate::record::sample_blocks::BlockReader::new(dir);
    let mut block_problems = Vec::new();
    let mut finished = false;
    let found =
        chain::check_file_each(&dir.join(EVENTS_FILE), |line| {
            signatures.line(&line);
            // `journal::Reader` folds the records of UTF-8 lines only.
            let Some(record) = line.record.filter(|_| line.utf8) else {
                return;
            };
            finished |= matches!(record.event, RunEvent::RunFinished { .. });
            // The samples a block names are checked against it and folded as the reader would.
            match unblock(&mut blocks, record) {
                Unblocked::Samples { records, problems } => {
                    block_problems.extend(problems.into_iter().map(|p| {
                        format!("{p} (sample block at {EVENTS_FILE} line {})", line.number)
                    }));
                    if let Some(fold) = fold.as_mut() {
                        records.into_iter().for_each(|r| {
                            fold.absorb(r);
                        });
                    }
                }
                Unblocked::Event(record) => {
                    if let Some(fold) = fold.as_mut() {
                        fold.absorb(record);
                    }
                }
            }
        });
    report.problems.extend(block_problems);
    for cut in blocks.uncovered() {
        if finished {
            report
                .problems
                .push(format!("{cut}: added after the run had finished"));
        } else {
            report.notes.push(format!(
                "{cut}: the run was killed after writing them and before recording their block"
            ));
        }
    }
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            report
                .problems
                .push(format!("{EVENTS_FILE}: cannot read the run record: {e}"));
            return RecordRead::default();
        }
    };
    report.records = found.records;
    if let Some(line) = found.truncated_at_line {
        report.notes.push(format!(
            "{EVENTS_FILE} line {line}: cut short (the run was killed while writing it); the {} records before it are intact",
            found.records
        ));
    }
    let intact = found.problems.is_empty();
    for (line, what) in found.problems {
        report
            .problems
            .push(format!("{EVENTS_FILE} line {line}: {what}"));
    }
    RecordRead {
        intact,
        signatures: Some(signatures),
        view: fold.map(|fold| fold.finish(RecordIntegrity::default())),
    }
}

/// Checks the manifest (changed, removed, added files) and the record (hash chain, sequence),
/// the signatures, and that the recorded verdicts follow from the recorded numbers.
pub fn verify(dir: &Path) -> VerifyReport {
    verify_with(dir, &[])
}

/// `verify`, failing a run not signed by one of `trusted` (or signed by any other key).
pub fn verify_with(dir: &Path, trusted: &[crate::record::signing::PublicKey]) -> VerifyReport {
    let mut report = VerifyReport::default();
    let listed = read_manifest(dir, &mut report);
    // The files are hashed on a second thread while this one reads the record.
    let (files, read) = std::thread::scope(|scope| {
        let files = scope.spawn(|| {
            let mut files = VerifyReport::default();
            if let Some(listed) = &listed {
                check_files(dir, listed, &mut files);
            }
            files
        });
        let mut record = VerifyReport::default();
        let read = check_record(dir, &mut record);
        let files = files.join().unwrap_or_else(|_| VerifyReport {
            problems: vec![format!("{}: the files could not be hashed", manifest::FILE)],
            ..VerifyReport::default()
        });
        (files, (record, read))
    });
    let (record, read) = read;
    report.files = listed.as_ref().map_or(0, BTreeMap::len);
    report.problems.extend(files.problems);
    report.hashed = files.hashed;
    report.problems.extend(record.problems);
    report.notes.extend(record.notes);
    report.records = record.records;
    let record_changed = format!("{EVENTS_FILE}: changed");
    if read.intact {
        if let Some(problem) = report
            .problems
            .iter_mut()
            .find(|p| p.starts_with(&record_changed))
        {
            // The chain localises edits to every record but the last one.
            problem.push_str(
                "; the hash chain is intact, so the last record was edited, records were removed \
                 from or added to the end, or the whole chain was rewritten",
            );
        }
    }
    let signed = match read.signatures {
        Some(signatures) => super::signatures::check_read(dir, signatures, trusted),
        None => super::signatures::check(dir, trusted),
    };
    report.problems.extend(signed.problems);
    report.notes.extend(signed.notes);
    report.station_keys = signed.station_keys;
    report.electronic = signed.electronic;
    report
        .problems
        .extend(super::merged_check::check(dir, trusted));
    if let (true, Some(view)) = (report.records > 0, &read.view) {
        report
            .problems
            .extend(crate::record::rederive::disagreements(view));
    }
    report
}
