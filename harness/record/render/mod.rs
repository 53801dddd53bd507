//! Outputs rendered from a run's `events.jsonl` alone: JUnit, summary, traces, manifest, table.
//!
//! Each renderer is an independent consumer of the records; none looks at anything else, so
//! `pumphil report DIR` re-renders them byte for byte.

pub mod chain;
pub mod junit;
pub mod manifest;
pub mod summary;
pub mod table;
pub mod traces;
pub mod verify;

pub use table::closing_table;
pub use verify::{verify, VerifyReport};

use super::journal::{self, Record};
use super::RunEvent;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{dir}: no run record here ({source})")]
    NoRecord { source: std::io::Error, dir: String },
    #[error("writing outputs: {0}")]
    Io(#[from] std::io::Error),
}

/// What a render found in the record.
pub struct RenderOutcome {
    pub records: usize,
    pub truncated_at_line: Option<usize>,
    pub problems: Vec<(usize, String)>,
}

/// The records of one scenario, in record order.
pub fn scenario_records<'a>(records: &'a [Record], id: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.event.scenario() == Some(id))
        .collect()
}

/// Scenario ids in the order they started.
pub fn scenario_ids(records: &[Record]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in records {
        if let RunEvent::ScenarioStarted { scenario, .. }
        | RunEvent::ScenarioFinished { scenario, .. } = &r.event
        {
            if !ids.contains(scenario) {
                ids.push(scenario.clone());
            }
        }
    }
    ids
}

/// Renders every output from the record, then the manifest over all of them.
///
/// A last line cut short (a killed run) is left out and reported in `truncated_at_line`, and
/// shown in summary.json; lines that do not parse are left out too, and they and breaks of the
/// hash chain are returned in `problems` (`pumphil verify` names the lines).
pub fn render_all(dir: &Path) -> Result<RenderOutcome, RenderError> {
    let read = journal::read(dir).map_err(|source| RenderError::NoRecord {
        source,
        dir: dir.display().to_string(),
    })?;
    let records = &read.records;
    std::fs::write(dir.join(junit::FILE), junit::render(records))?;
    std::fs::write(
        dir.join(summary::FILE),
        summary::render(records, read.truncated_at_line),
    )?;
    traces::write(dir, records)?;
    // Reports for people (HTML, Markdown) are rendered here, after the machine outputs and
    // before the manifest; a new renderer goes here too, so the manifest covers it.
    crate::record::report::write_reports(dir, records)?;
    manifest::write(dir)?;
    Ok(RenderOutcome {
        records: records.len(),
        truncated_at_line: read.truncated_at_line,
        problems: read.problems,
    })
}
