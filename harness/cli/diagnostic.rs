//! The one place errors reach the user. Every error is a `miette::Diagnostic` with a code and a
//! help line, printed here in one plain form:
//!
//! ```text
//! error[link::open]: cannot open /dev/ttyUSB9: No such file or directory
//!   = help: check the port with `pumphil ports`
//! ```
//!
//! Input-file errors (scenario, fixture, bench) carry their place, the offending line and a caret
//! in that same form already (`path:line:col: error[code]: ...`), so they are printed as they are.
//! A diagnostic with related ones (all the problems of a lint) prints each of them.

use miette::Diagnostic;

/// The text the user sees for an error.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    if let Some(related) = diagnostic.related() {
        let parts: Vec<String> = related.map(render).collect();
        if !parts.is_empty() {
            return parts.join("\n");
        }
    }
    let message = diagnostic.to_string();
    let code = diagnostic.code().map(|code| {
        let code = code.to_string();
        code.strip_prefix("pumphil::").unwrap_or(&code).to_string()
    });
    let placed = code.as_ref().is_some_and(|code| {
        message.contains(&format!("error[{code}]")) || message.contains(&format!("warning[{code}]"))
    });
    if placed {
        return message;
    }
    let mut text = match &code {
        Some(code) => format!("error[{code}]: {message}"),
        None => format!("error: {message}"),
    };
    if let Some(help) = diagnostic.help() {
        text.push_str(&format!("\n  = help: {help}"));
    }
    text
}

/// Prints an error on stderr.
pub fn show(diagnostic: &dyn Diagnostic) {
    eprintln!("{}", render(diagnostic));
}

/// An error met in a command itself (a directory that is not a run directory, a runtime that
/// will not start), with the same code and help as every other error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl std::fmt::Display) -> CommandError {
        CommandError {
            code,
            message: message.to_string(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> CommandError {
        self.help = Some(help.into());
        self
    }
}

impl Diagnostic for CommandError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{InputError, InputErrors};
    use std::path::Path;

    #[test]
    fn a_link_error_shows_its_code_and_help() {
        let err = crate::link::LinkError::Open {
            path: "/dev/ttyX".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
            hint: "check the port with `pumphil ports`",
        };
        let text = render(&err);
        assert!(
            text.starts_with("error[link::open]: cannot open /dev/ttyX: "),
            "{text}"
        );
        assert!(
            text.ends_with("\n  = help: check the port with `pumphil ports`"),
            "{text}"
        );
    }

    #[test]
    fn input_errors_print_each_in_their_placed_form() {
        let source = "id = \"x\"\nend = \"3q\"\n";
        let one = InputError::new(
            Path::new("s.toml"),
            source,
            "scenario::duration",
            "bad unit",
        )
        .at(16..18)
        .help("use d, h, m or s");
        let two = InputError::new(Path::new("t.toml"), "", "scenario::read", "cannot read")
            .help("check the path");
        let text = render(&InputErrors(vec![one.clone(), two.clone()]));
        assert_eq!(text, format!("{one}\n{two}"));
        assert!(text.starts_with("s.toml:2:8: error[scenario::duration]: bad unit"));
    }
}
