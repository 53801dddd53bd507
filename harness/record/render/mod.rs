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
use super::report::stream::Sections;
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
    let mut fold = Fold::new();
    let integrity = read_with(dir, journal::Reader::open, each, |record| {
        fold.absorb(record);
        Ok(())
    })?;
    Ok(fold.finish(integrity))
}

/// A record folded into its view, with each finished scenario's report section rendered as
/// the fold passed its end (`report::stream`), so that the view keeps no scenario's samples.
pub struct Folded {
    view: RunView,
    /// None when a record reached a scenario after its section was rendered (`Fold::stale`):
    /// the reports are then rendered from the whole view, its samples read again.
    sections: Option<Sections>,
    open: Opener,
}

type Opener = fn(&Path) -> std::io::Result<journal::Reader>;

impl Folded {
    /// Writes `report.html` and `report.md` (and their figures) from the fold: the staged
    /// sections between what needs the whole run, or everything from the whole view when the
    /// record went on about a scenario after its section was rendered.
    pub fn write_reports(self, dir: &Path) -> Result<RunView, RenderError> {
        let mut view = self.view;
        match self.sections {
            Some(sections) => sections.write(dir, &mut view)?,
            None => {
                read_samples_again(dir, self.open, &mut view)?;
                crate::record::report::write_view(dir, &mut view)?;
            }
        }
        Ok(view)
    }
}

/// `fold_record`, the reports' scenario sections rendered as it goes.
pub fn fold_record_streamed(
    dir: &Path,
    each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<Folded, RenderError> {
    fold_streamed(dir, journal::Reader::open, each)
}

/// `fold_record_streamed` with the hash chain left to a verification running beside it.
pub fn fold_record_unchained(
    dir: &Path,
    each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<Folded, RenderError> {
    fold_streamed(dir, journal::Reader::open_unchained, each)
}

fn fold_streamed(
    dir: &Path,
    open: Opener,
    each: impl FnMut(&journal::Record) -> std::io::Result<()>,
) -> Result<Folded, RenderError> {
    let mut sections = Sections::create(dir)?;
    let mut fold = Fold::new();
    let integrity = read_with(dir, open, each, |record| {
        if let Some(index) = fold.absorb(record) {
            let (view, scenario) = fold.finished_scenario(index);
            sections.stage(index, scenario, view)?;
            fold.release(index);
        }
        Ok(())
    })?;
    let stale = fold.stale();
    Ok(Folded {
        view: fold.finish(integrity),
        sections: (!stale).then_some(sections),
        open,
    })
}

/// Reads the record a line at a time, handing each record to `each`, then to `absorb`.
fn read_with(
    dir: &Path,
    open: Opener,
    mut each: impl FnMut(&journal::Record) -> std::io::Result<()>,
    mut absorb: impl FnMut(journal::Record) -> std::io::Result<()>,
) -> Result<RecordIntegrity, RenderError> {
    let mut reader = open(dir).map_err(|source| RenderError::NoRecord {
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
    while let Some(record) = reader.next_record().map_err(read_error)? {
        each(&record)?;
        absorb(record)?;
    }
    Ok(RecordIntegrity {
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems,
        uncovered: reader.uncovered,
    })
}

/// Puts back what `Fold::release` let go of every scenario, from a second reading of the
/// record (the same reader, so the same records in the same order).
fn read_samples_again(dir: &Path, open: Opener, view: &mut RunView) -> Result<(), RenderError> {
    let mut fold = Fold::new();
    let integrity = read_with(
        dir,
        open,
        |_| Ok(()),
        |record| {
            fold.absorb(record);
            Ok(())
        },
    )?;
    let whole = fold.finish(integrity);
    for (scenario, again) in view.scenarios.iter_mut().zip(whole.scenarios) {
        scenario.samples = again.samples;
        scenario.expected = again.expected;
        scenario.expected_alarms = again.expected_alarms;
    }
    Ok(())
}

/// Renders every output from the record, then the manifest over all of them.
///
/// The record is read once, a line at a time, into one view (`view::Fold`): samples are read
/// back from their side files as their blocks pass, and only an evenly thinned subset of each scenario's samples
/// (`thin::PLOT_POINTS`, every sample of a short scenario) is kept in the view, so that
/// rendering a year-long soak takes the memory of a short run. Each scenario's section of the
/// reports is rendered as soon as its `scenario_finished` passes, and its samples let go
/// (`report::stream`), so that a run of thousands of scenarios renders in the memory of a few.
/// Every output is a function of that view.
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
    let folded = fold_record_streamed(dir, |record| traces.record(record))?;
    traces.finish()?;
    write_outputs(dir, folded, options)
}

/// Every output but the alarm traces, from the folded view, then the manifest over all of them.
fn write_outputs(
    dir: &Path,
    mut folded: Folded,
    options: &RenderOptions,
) -> Result<RenderOutcome, RenderError> {
    // Set before the reports, which say so on every page.
    folded.view.not_verified = options.not_verified.clone();
    let view = &folded.view;
    if !view.not_verified.is_empty() {
        let mut text = String::from(
            "NOT VERIFIED: this rendering was forced (pumphil report --force) from a run record that does not verify:\n",
        );
        for reason in &view.not_verified {
            text.push_str(&format!("- {reason}\n"));
        }
        std::fs::write(dir.join(NOT_VERIFIED_FILE), text)?;
    }
    junit::write(view, &dir.join(junit::FILE))?;
    summary::write(view, &dir.join(summary::FILE))?;
    // Reports for people (HTML, Markdown) are rendered here, after the machine outputs and
    // before the manifest; a new renderer goes here too, so the manifest covers it.
    let view = folded.write_reports(dir)?;
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
