//! Evidence reports for people: `report.html` (self-contained, printable) and `report.md`,
//! rendered from the run record alone, deterministically (no render-time clock, fixed float
//! precision, record order), so `pumphil report DIR` reproduces them byte for byte.

pub mod content;
pub mod csf;
pub mod doc;
pub mod html;
pub mod markdown;
pub mod metrology;
pub mod plots;
pub mod svg;
pub mod traceability;

/// The view the reports are rendered from (it lives in `record::view`, shared by every output).
pub use crate::record::view;

use std::path::Path;
use view::{HashedFile, RunView};

pub const HTML_FILE: &str = "report.html";
pub const MARKDOWN_FILE: &str = "report.md";

/// Files a report cannot list with a hash: the reports themselves and the manifest over them.
pub const UNHASHED: [&str; 3] = [HTML_FILE, MARKDOWN_FILE, super::render::manifest::FILE];

/// Settings of the reports; everything they depend on besides the record.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReportConfig {
    /// Pharmacokinetic parameters of the CSF estimate shown for interrupting scenarios.
    pub csf: csf::CsfParams,
}

impl ReportConfig {
    /// The settings the run was recorded with (the label's defaults for older records).
    pub fn of(view: &RunView) -> ReportConfig {
        ReportConfig {
            csf: view.run.as_ref().map(|r| r.csf).unwrap_or_default(),
        }
    }
}

/// Every file under `dir` except the reports and the manifest, sorted, with SHA-256 and size.
pub fn run_files(dir: &Path) -> std::io::Result<Vec<HashedFile>> {
    let mut out = Vec::new();
    // The manifest's own walk (sorted, symlinks not followed), less the reports themselves.
    for rel in crate::record::render::manifest::run_files(dir)? {
        if UNHASHED.contains(&rel.as_str()) {
            continue;
        }
        let path = dir.join(&rel);
        out.push(HashedFile {
            sha256: crate::record::sha256_file(&path)?,
            bytes: Some(std::fs::metadata(&path)?.len()),
            path: rel,
        });
    }
    Ok(out)
}

/// The title block: what every page header and footer repeats.
pub fn masthead(view: &RunView) -> html::Masthead {
    let device = view.scenarios.iter().find_map(|s| s.device.as_ref());
    let unit = match device {
        Some(d) => format!(
            "{} S/N {} · firmware {}",
            d.model, d.serial_number, d.firmware_version
        ),
        None => "unit under test not recorded".into(),
    };
    let mode = view
        .run
        .as_ref()
        .map(|r| r.mode.name())
        .unwrap_or("unknown");
    let subtitle = format!(
        "Implantable intrathecal pump {} — {} run, {} scenario(s)",
        device
            .map(|d| d.model.as_str())
            .unwrap_or("(unit not recorded)"),
        mode,
        view.tally().planned
    );
    html::Masthead {
        title: "Verification evidence report".into(),
        subtitle,
        run_id: view.run_id().to_string(),
        unit,
    }
}

/// Both reports as strings: (HTML, Markdown).
pub fn render(view: &RunView, config: &ReportConfig) -> (String, String) {
    let blocks = content::build(view, config);
    let head = masthead(view);
    (
        html::render(&head, &blocks),
        markdown::render(&head, &blocks),
    )
}

/// Writes `report.html` and `report.md` into the run directory from its record, read again
/// (`render::render_all` renders everything from one reading).
pub fn write_reports(dir: &Path) -> Result<(), crate::record::render::RenderError> {
    let mut view = crate::record::render::fold_record(dir, |_| Ok(()))?;
    write_view(dir, &mut view)?;
    Ok(())
}

/// Writes both reports from the run's view, listing the run directory's files with hashes.
pub fn write_view(dir: &Path, view: &mut RunView) -> std::io::Result<()> {
    view.run_files = run_files(dir)?;
    let config = ReportConfig::of(view);
    let (html, markdown) = render(view, &config);
    std::fs::write(dir.join(HTML_FILE), html)?;
    std::fs::write(dir.join(MARKDOWN_FILE), markdown)
}
