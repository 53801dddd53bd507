//! `verify` of a merged run directory (`pumphil merge`): its parts under `parts/` verify on
//! their own and are the ones its `run_started` names, and every line it copied from them is
//! their event, byte for byte once re-chained.

use super::merge::{copied_events, is_copied, order, planned, read_part};
use crate::record::journal::{self, Record, EVENTS_FILE};
use crate::record::signing::PublicKey;
use crate::record::RunEvent;
use std::path::Path;

/// For `verify`: a merged record's parts each verify (against `trusted` too), are the ones its
/// `run_started` names, form one whole set, and its copied lines are exactly their events.
/// Empty for a record that is not a merge.
pub fn check(dir: &Path, trusted: &[PublicKey]) -> Vec<String> {
    // Only the first line says whether this is a merge: a long record that is not one is not
    // read whole for it.
    let first = journal::Reader::open(dir)
        .ok()
        .and_then(|mut reader| reader.next_record().ok().flatten());
    match first.map(|r| r.event) {
        Some(RunEvent::RunStarted { parts, .. }) if !parts.is_empty() => {}
        _ => return vec![],
    }
    let Ok(back) = journal::read_raw(dir) else {
        return vec![];
    };
    let Some(RunEvent::RunStarted {
        parts: named,
        scenarios,
        ..
    }) = back.records.first().map(|r| &r.event)
    else {
        return vec![];
    };
    let mut problems = Vec::new();
    let mut parts = Vec::new();
    for reference in named {
        let inside = Path::new(&reference.dir)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || reference.dir.is_empty() {
            problems.push(format!(
                "{EVENTS_FILE}: part {:?} is outside the run directory",
                reference.dir
            ));
            continue;
        }
        let path = dir.join(&reference.dir);
        let report = super::verify_with(&path, trusted);
        problems.extend(
            report
                .problems
                .iter()
                .map(|p| format!("{}: {p}", reference.dir)),
        );
        match read_part(&path, &reference.dir) {
            Ok(part) if part.reference == *reference => parts.push(part),
            Ok(_) => problems.push(format!(
                "{}: is not the part the merged record names (its run id, chain head, manifest or provenance differ from run_started's)",
                reference.dir
            )),
            Err(e) => problems.push(format!("{}: {e}", reference.dir)),
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    let parts = match order(parts) {
        Ok(parts) => parts,
        Err(e) => return vec![format!("{EVENTS_FILE}: {e}")],
    };
    if planned(&parts) != *scenarios {
        problems.push(format!(
            "{EVENTS_FILE} line 1: its planned scenarios are not its parts' planned scenarios"
        ));
    }
    problems.extend(copied_lines_differ(
        dir,
        &back.records,
        &copied_events(&parts),
    ));
    problems
}

/// Lines of the merged record that are not the parts' events, copied in order with their times.
fn copied_lines_differ(
    dir: &Path,
    records: &[Record],
    expected: &[(String, RunEvent)],
) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join(EVENTS_FILE)) else {
        return vec![format!("{EVENTS_FILE}: cannot be read")];
    };
    let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
    let copied: Vec<(usize, &Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| is_copied(&r.event))
        .collect();
    let mut out = Vec::new();
    for (n, ((index, record), (at_utc, event))) in copied.iter().zip(expected).enumerate() {
        let rebuilt = Record {
            seq: record.seq,
            prev: record.prev.clone(),
            at_utc: at_utc.clone(),
            event: event.clone(),
        };
        let same = serde_json::to_string(&rebuilt)
            .map(|line| lines.get(*index) == Some(&line.as_str()))
            .unwrap_or(false);
        if !same {
            out.push(format!(
                "{EVENTS_FILE} line {}: is not the parts' event it copies (event {} of {} taken from parts/)",
                index + 1,
                n + 1,
                expected.len()
            ));
        }
    }
    if copied.len() != expected.len() {
        out.push(format!(
            "{EVENTS_FILE}: holds {} events copied from its parts, but the parts have {}",
            copied.len(),
            expected.len()
        ));
    }
    out
}
