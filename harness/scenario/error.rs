//! Scenario, fixture and bench-file errors that name file, line and column and say what to change.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in an input file. `Display` gives the plain form used in logs and snapshots:
/// `path:line:col: error[code]: message`, the offending line with a caret, and a help line.
#[derive(Debug, Clone)]
pub struct InputError {
    pub path: PathBuf,
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// Byte range in `source`, when the problem has a place.
    pub span: Option<Range<usize>>,
    pub source: String,
    /// A warning does not stop the file from being used (`pumphil lint` shows it and passes).
    pub warning: bool,
}

impl InputError {
    pub fn new(path: &Path, source: &str, code: &'static str, message: impl Into<String>) -> Self {
        InputError {
            path: path.to_path_buf(),
            code,
            message: message.into(),
            help: None,
            span: None,
            source: source.to_string(),
            warning: false,
        }
    }

    /// The same problem as a warning: shown, but the file is still good to run.
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    fn severity_word(&self) -> &'static str {
        if self.warning {
            "warning"
        } else {
            "error"
        }
    }

    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The span moved onto character boundaries of `source` (spans from byte offsets can land
    /// inside a replacement character of a file that was not UTF-8).
    fn char_span(&self) -> Option<Range<usize>> {
        let span = self.span.as_ref()?;
        let floor = |mut i: usize| {
            i = i.min(self.source.len());
            while !self.source.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(span.start);
        Some(start..floor(span.end).max(start))
    }

    /// 1-based line and column (in characters) of the start of the span.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let start = self.char_span()?.start;
        let before = self.source.get(..start)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = self.source.get(line_start..start)?.chars().count() + 1;
        Some((line, col))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.line_col() {
            Some((line, col)) => write!(
                f,
                "{path}:{line}:{col}: {}[{}]: {}",
                self.severity_word(),
                self.code,
                self.message
            )?,
            None => write!(
                f,
                "{path}: {}[{}]: {}",
                self.severity_word(),
                self.code,
                self.message
            )?,
        }
        if let (Some((line, col)), Some(span)) = (self.line_col(), self.char_span()) {
            if let Some(text) = self.source.lines().nth(line - 1) {
                let width = self.source[span]
                    .lines()
                    .next()
                    .map(|s| s.chars().count())
                    .unwrap_or(0)
                    .max(1);
                let gutter = line.to_string().len();
                write!(
                    f,
                    "\n{:gutter$} |\n{line} | {text}\n{:gutter$} | {}{}",
                    "",
                    "",
                    " ".repeat(col - 1),
                    "^".repeat(width)
                )?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

impl miette::Diagnostic for InputError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("pumphil::{}", self.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.warning {
            miette::Severity::Warning
        } else {
            miette::Severity::Error
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        Some(Box::new(std::iter::once(miette::LabeledSpan::at(
            span, "here",
        ))))
    }
}

/// Several problems found in one pass, reported together.
#[derive(Debug, Clone)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

/// Each problem is a diagnostic of its own; the renderer prints them one after another.
impl miette::Diagnostic for InputErrors {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.0.iter().map(|e| e as &dyn miette::Diagnostic),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_column() {
        let source = "id = \"x\"\nend = \"3q\"\n";
        let err = InputError::new(Path::new("s.toml"), source, "E1", "bad unit")
            .at(16..18)
            .help("use d, h, m or s");
        assert_eq!(err.line_col(), Some((2, 8)));
        let text = err.to_string();
        assert!(
            text.starts_with("s.toml:2:8: error[E1]: bad unit"),
            "{text}"
        );
        assert!(text.contains("2 | end = \"3q\"\n  |        ^^"), "{text}");
        assert!(text.ends_with("= help: use d, h, m or s"), "{text}");
    }
}
