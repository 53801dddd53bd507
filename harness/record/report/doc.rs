//! A small document model shared by the HTML and Markdown renderers, so both say the same things.

/// How a cell or callout should read at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Pass,
    Fail,
    /// A negative control behaving as designed: distinct from both pass and fail.
    Control,
    Warn,
    Neutral,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Pass => "pass",
            Tone::Fail => "fail",
            Tone::Control => "control",
            Tone::Warn => "warn",
            Tone::Neutral => "neutral",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Option<Tone>,
    /// Identifiers and hashes: monospace, may break anywhere.
    pub mono: bool,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: None,
            mono: false,
        }
    }

    pub fn mono(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: None,
            mono: true,
        }
    }

    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone: Some(tone),
            mono: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// A line under a row spanning the table (check details), by row index.
    pub details: Vec<Option<String>>,
    /// A CSS class for column widths in HTML.
    pub class: &'static str,
}

impl Table {
    pub fn new(class: &'static str, head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            details: Vec::new(),
            class,
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
        self.details.push(None);
    }

    pub fn row_with_detail(&mut self, cells: Vec<Cell>, detail: String) {
        self.rows.push(cells);
        self.details.push(Some(detail));
    }
}

/// A signature slot: its heading and the electronic signatures recorded for its role, each as
/// (printed name, meaning, UTC date and time, key fingerprint, record line signed).
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureSlot {
    pub heading: String,
    pub signed: Vec<[String; 5]>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Level 1 starts a new printed page (cover excepted); `anchor` links from the contents.
    Heading {
        level: u8,
        text: String,
        anchor: Option<String>,
        badge: Option<(String, Tone)>,
    },
    Para(String),
    /// Secondary text (method notes, provenance).
    Small(String),
    Callout {
        tone: Tone,
        title: String,
        lines: Vec<String>,
    },
    /// Titled label/value pairs.
    Facts {
        title: String,
        rows: Vec<(String, Cell)>,
    },
    /// Facts boxes side by side in HTML; one after another in Markdown.
    Grid(Vec<Block>),
    Table(Table),
    List(Vec<String>),
    /// An inline SVG in HTML; also written beside the reports as `file` (under `figures/`),
    /// which Markdown links.
    Figure {
        svg: String,
        caption: String,
        /// Path relative to the run directory, given by `content::build`.
        file: Option<String>,
    },
    /// The signature block: one slot per role, with the electronic signatures recorded for it.
    Signatures(Vec<SignatureSlot>),
    /// Starts a new printed page (HTML only).
    PageBreak,
    /// The table of contents: (level, text, anchor) of every heading with an anchor.
    Contents(Vec<(u8, String, String)>),
    /// The run banner: the overall verdict.
    Verdict {
        label: String,
        tone: Tone,
        lines: Vec<String>,
    },
}
