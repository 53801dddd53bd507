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
pub mod stream;
pub mod svg;
pub mod traceability;

/// The view the reports are rendered from (it lives in `record::view`, shared by every output).
pub use crate::record::view;

use std::path::Path;
use view::{HashedFile, RunView};

pub const HTML_FILE: &str = "report.html";
pub const MARKDOWN_FILE: &str = "report.md";

/// Files a report cannot list with a hash: the reports themselves and the manifest over them.
pub const UNHASHED: [&str; 4] = [
    HTML_FILE,
    MARKDOWN_FILE,
    super::render::manifest::FILE,
    super::render::manifest::SIG_FILE,
];

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
        // Figures are rendered from the record with the reports; the manifest covers them.
        if UNHASHED.contains(&rel.as_str())
            || rel.starts_with(&format!("{}/", content::FIGURES_DIR))
        {
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
    // Every page says so when no byte crossed a serial path.
    let link = crate::record::link_mark::in_memory(view)
        .map(|memory| format!(" over an {}", memory.mark()))
        .unwrap_or_default();
    let subtitle = format!(
        "Implantable intrathecal pump {} — {} run{link}, {} scenario(s)",
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
        signed_by: signed_by(view),
        not_verified: not_verified_line(view),
        expired_calibration: expired_calibration_line(view),
    }
}

/// The mark every page carries when a scenario weighed on a balance past its calibration date
/// (the run said `--allow-expired-calibration`; the bench file's date is recorded with
/// "EXPIRED" beside it).
fn expired_calibration_line(view: &RunView) -> Option<String> {
    let due: Vec<String> = view
        .scenarios
        .iter()
        .filter_map(|s| s.balance.as_ref()?.calibration_due.clone())
        .filter(|due| due.contains("EXPIRED"))
        .map(|due| {
            due.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    (!due.is_empty()).then(|| {
        format!(
            "CALIBRATION EXPIRED: the balance was due for calibration on {}; run with --allow-expired-calibration",
            due.join(", ")
        )
    })
}

/// The reason a forced rendering is NOT VERIFIED, short enough for a page header: the first
/// problem, and how many more the cover lists.
fn not_verified_line(view: &RunView) -> Option<String> {
    let first = view.not_verified.first()?;
    let mut line: String = first.chars().take(110).collect();
    if line.len() < first.len() {
        line.push('…');
    }
    if view.not_verified.len() > 1 {
        line.push_str(&format!(
            " (+{} more problem(s), listed on the cover)",
            view.not_verified.len() - 1
        ));
    }
    Some(line)
}

/// Who signed the record, as every page says it.
pub fn signed_by(view: &RunView) -> String {
    if view.station_keys.is_empty() {
        "unsigned run (no station key)".into()
    } else {
        format!("station key {}", view.station_keys.join(", "))
    }
}

/// The style a figure takes from report.html, for the same figure opened on its own.
const FIGURE_STYLE: &str = "<style>.grid { stroke: #e3e3e3; stroke-width: 0.8; } .frame { fill: none; stroke: #8a8a8a; stroke-width: 0.8; } \
.tick { font-size: 9px; fill: #333; } .axis { font-size: 10px; fill: #333; } .legend { font-size: 9.5px; fill: #222; } \
text { font-family: system-ui, sans-serif; }</style>";

/// An inline SVG as a file of its own: its style inside it, on a white background.
fn standalone(svg: &str) -> String {
    match svg.find('>') {
        Some(end) => format!(
            "{}{FIGURE_STYLE}<rect width=\"100%\" height=\"100%\" fill=\"white\"/>{}\n",
            &svg[..=end],
            &svg[end + 1..]
        ),
        None => svg.to_string(),
    }
}

/// Both reports as strings: (HTML, Markdown).
pub fn render(view: &RunView, config: &ReportConfig) -> (String, String) {
    let (html, markdown, _) = render_with_figures(view, config);
    (html, markdown)
}

/// Both reports, and each figure's file (relative to the run directory) and SVG.
pub fn render_with_figures(
    view: &RunView,
    config: &ReportConfig,
) -> (String, String, Vec<(String, String)>) {
    let blocks = content::build(view, config);
    let head = masthead(view);
    let figures = blocks
        .iter()
        .filter_map(|b| match b {
            doc::Block::Figure {
                svg,
                file: Some(file),
                ..
            } => Some((file.clone(), svg.clone())),
            _ => None,
        })
        .collect();
    (
        html::render(&head, &blocks),
        markdown::render(&head, &blocks),
        figures,
    )
}

/// Writes `report.html` and `report.md` into the run directory from its record, read again
/// (`render::render_all` renders everything from one reading).
pub fn write_reports(dir: &Path) -> Result<(), crate::record::render::RenderError> {
    crate::record::render::fold_record_streamed(dir, |_| Ok(()))?.write_reports(dir)?;
    Ok(())
}

/// Writes both reports from the run's view, listing the run directory's files with hashes.
pub fn write_view(dir: &Path, view: &mut RunView) -> std::io::Result<()> {
    view.run_files = run_files(dir)?;
    let config = ReportConfig::of(view);
    let (html, markdown, figures) = render_with_figures(view, &config);
    if !figures.is_empty() {
        std::fs::create_dir_all(dir.join(content::FIGURES_DIR))?;
    }
    for (file, svg) in figures {
        std::fs::write(dir.join(file), standalone(&svg))?;
    }
    std::fs::write(dir.join(HTML_FILE), html)?;
    std::fs::write(dir.join(MARKDOWN_FILE), markdown)
}
