//! `report.html` and `report.md` written a scenario at a time, so that their memory does not
//! grow with the number of scenarios: each scenario's section is rendered as soon as its part
//! of the view is complete and staged, with its figures, in a folder beside the run directory;
//! what needs the whole run (cover, contents, summary, approval) is rendered at the end and the
//! staged sections are copied between, in the run's order. The bytes are those of rendering
//! the whole view at once (`super::render_with_figures`).

use super::content::{self, FIGURES_DIR};
use super::doc::Block;
use super::view::{RunView, ScenarioView};
use super::{html, markdown, masthead, run_files, standalone, ReportConfig};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Scenario sections rendered ahead of the rest of the reports.
pub struct Sections {
    staging: Staging,
    html: BufWriter<File>,
    html_len: u64,
    markdown: BufWriter<File>,
    markdown_len: u64,
    /// By scenario index in the view; None until staged.
    staged: Vec<Option<Section>>,
    /// Figure files staged (relative to the run directory, as the reports name them).
    figures: Vec<String>,
}

/// Where one scenario's section lies in the staged files.
struct Section {
    html: (u64, u64),
    markdown: (u64, u64),
    /// Offsets in its Markdown after which the expired-calibration mark goes (after each
    /// top-level heading), known only once the whole run is read.
    marks: Vec<u64>,
    contents: Vec<(u8, String, String)>,
}

/// The staging folder; removed when dropped, whether the reports were written or not.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HTML_PART: &str = "sections.html";
const MARKDOWN_PART: &str = "sections.md";

/// A hidden folder beside the run directory (never inside it, where the file list, the
/// manifest and `verify` would find it; the same file system, so figures move by renaming),
/// named by the process so that two renderings never share one.
fn staging_dir(dir: &Path) -> std::io::Result<PathBuf> {
    let dir = dir.canonicalize()?;
    match (dir.file_name(), dir.parent()) {
        (Some(name), Some(parent)) => Ok(parent.join(format!(
            ".{}.report-{}",
            name.to_string_lossy(),
            std::process::id()
        ))),
        _ => Err(std::io::Error::other(
            "the run directory has no folder beside it to stage the report in",
        )),
    }
}

impl Sections {
    /// Opens the staging folder for the reports of the run directory `dir`.
    pub fn create(dir: &Path) -> std::io::Result<Sections> {
        let path = staging_dir(dir)?;
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(path.join(FIGURES_DIR))?;
        let staging = Staging(path);
        let open = |name: &str| File::create(staging.0.join(name)).map(BufWriter::new);
        Ok(Sections {
            html: open(HTML_PART)?,
            markdown: open(MARKDOWN_PART)?,
            staging,
            html_len: 0,
            markdown_len: 0,
            staged: Vec::new(),
            figures: Vec::new(),
        })
    }

    /// Renders the section of the scenario at `index` of `view` and stages it.
    pub fn stage(&mut self, index: usize, s: &ScenarioView, view: &RunView) -> std::io::Result<()> {
        let blocks = content::scenario_section(s, view, &ReportConfig::of(view));
        let mut text = String::new();
        for b in &blocks {
            html::block(&mut text, b);
        }
        self.html.write_all(text.as_bytes())?;
        let html = (self.html_len, text.len() as u64);
        self.html_len += html.1;
        text.clear();
        let mut marks = Vec::new();
        for b in &blocks {
            markdown::block(&mut text, b);
            if markdown::marked(b) {
                marks.push(text.len() as u64);
            }
        }
        self.markdown.write_all(text.as_bytes())?;
        let markdown = (self.markdown_len, text.len() as u64);
        self.markdown_len += markdown.1;
        for (file, svg) in figures(&blocks) {
            std::fs::write(self.staging.0.join(file), standalone(svg))?;
            self.figures.push(file.to_string());
        }
        if self.staged.len() <= index {
            self.staged.resize_with(index + 1, || None);
        }
        self.staged[index] = Some(Section {
            html,
            markdown,
            marks,
            contents: content::contents(&blocks),
        });
        Ok(())
    }

    /// Writes both reports and their figures into `dir` from the run's whole view: the sections
    /// not staged yet (scenarios without a verdict) are rendered now, the rest copied.
    pub fn write(mut self, dir: &Path, view: &mut RunView) -> std::io::Result<()> {
        view.run_files = run_files(dir)?;
        let view = &*view;
        for (index, s) in view.scenarios.iter().enumerate() {
            if self.staged.get(index).is_none_or(Option::is_none) {
                self.stage(index, s, view)?;
            }
        }
        self.html.flush()?;
        self.markdown.flush()?;
        let sections: Vec<Section> = self.staged.drain(..).flatten().collect();
        let (head, tail) =
            content::around_sections(view, sections.iter().map(|s| s.contents.clone()));
        let around: Vec<(&str, &str)> = figures(&head).chain(figures(&tail)).collect();
        if !around.is_empty() || !self.figures.is_empty() {
            std::fs::create_dir_all(dir.join(FIGURES_DIR))?;
        }
        for file in &self.figures {
            move_file(&self.staging.0.join(file), &dir.join(file))?;
        }
        for (file, svg) in around {
            std::fs::write(dir.join(file), standalone(svg))?;
        }
        let head_mast = masthead(view);
        self.write_html(dir, &head_mast, &head, &sections, &tail)?;
        self.write_markdown(dir, &head_mast, &head, &sections, &tail)
    }

    fn write_html(
        &self,
        dir: &Path,
        mast: &html::Masthead,
        head: &[Block],
        sections: &[Section],
        tail: &[Block],
    ) -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(dir.join(super::HTML_FILE))?);
        out.write_all(html::prologue(mast).as_bytes())?;
        let mut text = String::new();
        for b in head {
            text.clear();
            html::block(&mut text, b);
            out.write_all(text.as_bytes())?;
        }
        let mut staged = File::open(self.staging.0.join(HTML_PART))?;
        for s in sections {
            copy_range(&mut staged, s.html.0, s.html.1, &mut out)?;
        }
        text.clear();
        for b in tail {
            html::block(&mut text, b);
        }
        text.push_str(html::EPILOGUE);
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    fn write_markdown(
        &self,
        dir: &Path,
        mast: &html::Masthead,
        head: &[Block],
        sections: &[Section],
        tail: &[Block],
    ) -> std::io::Result<()> {
        let mark = markdown::expired_mark(mast);
        let blocks = |text: &mut String, blocks: &[Block]| {
            for b in blocks {
                markdown::block(text, b);
                if let (Some(mark), true) = (&mark, markdown::marked(b)) {
                    text.push_str(mark);
                }
            }
        };
        let mut out = BufWriter::new(File::create(dir.join(super::MARKDOWN_FILE))?);
        let mut text = markdown::prologue(mast);
        blocks(&mut text, head);
        out.write_all(text.as_bytes())?;
        let mut staged = File::open(self.staging.0.join(MARKDOWN_PART))?;
        for s in sections {
            let (start, len) = s.markdown;
            let mut at = 0;
            for &offset in s.marks.iter().filter(|_| mark.is_some()) {
                copy_range(&mut staged, start + at, offset - at, &mut out)?;
                out.write_all(mark.as_deref().unwrap_or_default().as_bytes())?;
                at = offset;
            }
            copy_range(&mut staged, start + at, len - at, &mut out)?;
        }
        text.clear();
        blocks(&mut text, tail);
        // The approval always ends the document, so its end is the document's end.
        markdown::end(&mut text);
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// The figures of a run of blocks: (file, SVG).
fn figures(blocks: &[Block]) -> impl Iterator<Item = (&str, &str)> {
    blocks.iter().filter_map(|b| match b {
        Block::Figure {
            svg,
            file: Some(file),
            ..
        } => Some((file.as_str(), svg.as_str())),
        _ => None,
    })
}

fn copy_range(from: &mut File, start: u64, len: u64, to: &mut impl Write) -> std::io::Result<()> {
    from.seek(SeekFrom::Start(start))?;
    let copied = std::io::copy(&mut Read::by_ref(from).take(len), to)?;
    if copied == len {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "a staged report section was cut short while the report was written",
        ))
    }
}

/// Moves a staged file into place (a copy where a rename cannot cross file systems).
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_err() {
        std::fs::copy(from, to)?;
    }
    Ok(())
}
