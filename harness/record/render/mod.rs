//! Outputs rendered from a run's `events.jsonl` alone: JUnit, summary, traces, manifest, table.
//!
//! Each renderer is an independent consumer of the records; none looks at anything else, so
//! `pumphil report DIR` re-renders them byte for byte.

pub mod chain;
pub mod junit;
pub mod manifest;
pub mod merge;
pub mod merged_check;
pub mod signatures;
pub mod staged;
pub mod summary;
pub mod table;
pub mod traces;
pub mod verify;

pub use table::closing_table;
pub use verify::{verify, verify_with, VerifyReport};

use super::journal::{self, ReadError};
use super::verdict::RunVerdict;
use super::view::{Fold, RecordIntegrity, RunView};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{dir}: no run record here ({source})")]
    NoRecord { source: std::io::Error, dir: String },
    #[error("{dir}: {source}")]
    Read { source: ReadError, dir: String },
    #[error("writing outputs: {0}")]
    Io(#[from] std::io::Error),
}

/// What a render found in the record.
pub struct RenderOutcome {
    pub records: usize,
    /// The closing table of scenarios and failed checks, for the console.
    pub closing_table: String,
    /// The run's overall verdict, as every output states it.
    pub verdict: RunVerdict,
    pub truncated_at_line: Option<usize>,
    pub problems: Vec<(usize, String)>,
}

/// Folds `events.jsonl` into the run's view, reading it once, a line at a time; each record is
/// also handed to `each` as it passes (the alarm traces are written that way).
pub fn fold_record(
    dir: &Path,
    each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<RunView, RenderError> {
    fold_with(dir, journal::Reader::open(dir), each)
}

/// `fold_record` with the hash chain left to a verification running beside it.
pub fn fold_record_unchained(
    dir: &Path,
    each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<RunView, RenderError> {
    fold_with(dir, journal::Reader::open_unchained(dir), each)
}

fn fold_with(
    dir: &Path,
    reader: std::io::Result<journal::Reader>,
    mut each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<RunView, RenderError> {
    let mut reader = reader.map_err(|source| RenderError::NoRecord {
        source,
        dir: dir.display().to_string(),
    })?;
    let read_error = |source: ReadError| match source {
        ReadError::Io(e) => RenderError::Io(e),
        source => RenderError::Read {
            source,
            dir: dir.display().to_string(),
        },
    };
    let mut fold = Fold::new();
    while let Some(record) = reader.next_record().map_err(read_error)? {
        each(&record)?;
        fold.absorb(record);
    }
    Ok(fold.finish(RecordIntegrity {
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems,
        uncovered: reader.uncovered,
    }))
}

/// Renders every output from the record, then the manifest over all of them.
///
/// The record is read once, a line at a time, into one view (`view::Fold`): samples are read
/// back from their side files as their blocks pass, and only an evenly thinned subset of each scenario's samples
/// (`thin::PLOT_POINTS`, every sample of a short scenario) is kept in the view, so that
/// rendering a year-long soak takes the memory of a short run. Every output is a function of
/// that view.
///
/// A last line cut short (a killed run) is left out and reported in `truncated_at_line`, and
/// shown in summary.json; lines that do not parse are left out too, and they and breaks of the
/// hash chain are returned in `problems` (`pumphil verify` names the lines). A record of another
/// schema version is refused.
pub fn render_all(dir: &Path) -> Result<RenderOutcome, RenderError> {
    render_all_with(dir, &RenderOptions::default())
}

/// File of a forced rendering (`pumphil report --force`) that says why it is not verified.
pub const NOT_VERIFIED_FILE: &str = "NOT-VERIFIED.txt";

/// How `render_all_with` ends: signing the manifest, or marking a rendering NOT VERIFIED.
#[derive(Default)]
pub struct RenderOptions<'a> {
    /// Signs the manifest once written.
    pub sign: Option<&'a crate::record::signing::StationKey>,
    /// Why the record does not verify: every page says NOT VERIFIED with these reasons, and
    /// no manifest is written (it would bless the record).
    pub not_verified: Vec<String>,
    /// The record's SHA-256 as a verification that just passed found it.
    pub verified_events_sha256: Option<String>,
}

/// `render_all`, then signing the manifest or marking the rendering NOT VERIFIED.
pub fn render_all_with(dir: &Path, options: &RenderOptions) -> Result<RenderOutcome, RenderError> {
    let mut traces = traces::TraceWriter::create(dir)?;
    let view = fold_record(dir, |record| traces.record(record))?;
    traces.finish()?;
    write_outputs(dir, view, options)
}

/// Every output but the alarm traces, from the folded view, then the manifest over all of them.
fn write_outputs(
    dir: &Path,
    mut view: RunView,
    options: &RenderOptions,
) -> Result<RenderOutcome, RenderError> {
    view.not_verified = options.not_verified.clone();
    if !view.not_verified.is_empty() {
        let mut text = String::from(
            "NOT VERIFIED: this rendering was forced (pumphil report --force) from a run record that does not verify:\n",
        );
        for reason in &view.not_verified {
            text.push_str(&format!("- {reason}\n"));
        }
        std::fs::write(dir.join(NOT_VERIFIED_FILE), text)?;
    }
    std::fs::write(dir.join(junit::FILE), junit::render(&view))?;
    std::fs::write(dir.join(summary::FILE), summary::render(&view))?;
    // Reports for people (HTML, Markdown) are rendered here, after the machine outputs and
    // before the manifest; a new renderer goes here too, so the manifest covers it.
    crate::record::report::write_view(dir, &mut view)?;
    if view.not_verified.is_empty() {
        manifest::write_knowing(dir, options.verified_events_sha256.as_deref())?;
        if let Some(key) = options.sign {
            manifest::sign(dir, key)?;
        }
    }
    Ok(RenderOutcome {
        records: view.records as usize,
        closing_table: closing_table(&view),
        verdict: view.verdict(),
        truncated_at_line: view.integrity.truncated_at_line,
        problems: view.integrity.problems.clone(),
    })
}
