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
use crate::expect::thin::{Thinner, PLOT_POINTS};
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
    /// The closing table of scenarios and failed checks, for the console.
    pub closing_table: String,
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
/// The record is read once, a line at a time: samples go to the trace files as they pass, and
/// only an evenly thinned subset of each scenario's samples (`thin::PLOT_POINTS`, every sample
/// of a short scenario) is kept for JUnit, the summary and the reports, so that rendering a
/// year-long soak takes the memory of a short run.
///
/// A last line cut short (a killed run) is left out and reported in `truncated_at_line`, and
/// shown in summary.json; lines that do not parse are left out too, and they and breaks of the
/// hash chain are returned in `problems` (`pumphil verify` names the lines).
pub fn render_all(dir: &Path) -> Result<RenderOutcome, RenderError> {
    let mut reader = journal::Reader::open(dir).map_err(|source| RenderError::NoRecord {
        source,
        dir: dir.display().to_string(),
    })?;
    let mut traces = traces::TraceWriter::create(dir)?;
    let mut kept: Vec<(usize, Record)> = Vec::new();
    let mut samples: Vec<(String, Thinner<(usize, Record)>)> = Vec::new();
    let mut position = 0;
    while let Some(record) = reader.next_record()? {
        traces.record(&record)?;
        if let RunEvent::Sample { scenario, .. } = &record.event {
            let index = match samples.iter().position(|(id, _)| id == scenario) {
                Some(index) => index,
                None => {
                    samples.push((scenario.clone(), Thinner::new(PLOT_POINTS)));
                    samples.len() - 1
                }
            };
            samples[index].1.push((position, record));
        } else {
            kept.push((position, record));
        }
        position += 1;
    }
    traces.finish()?;
    for (_, thinner) in samples {
        kept.extend(thinner.finish());
    }
    kept.sort_by_key(|(position, _)| *position);
    let records: Vec<Record> = kept.into_iter().map(|(_, record)| record).collect();
    let records = &records[..];
    std::fs::write(dir.join(junit::FILE), junit::render(records))?;
    std::fs::write(
        dir.join(summary::FILE),
        summary::render(records, position, reader.truncated_at_line),
    )?;
    // Reports for people (HTML, Markdown) are rendered here, after the machine outputs and
    // before the manifest; a new renderer goes here too, so the manifest covers it.
    let integrity = crate::record::report::view::RecordIntegrity {
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems.clone(),
    };
    crate::record::report::write_reports_with(dir, records, integrity)?;
    manifest::write(dir)?;
    Ok(RenderOutcome {
        records: position,
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems,
        closing_table: closing_table(records),
    })
}
