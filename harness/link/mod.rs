//! Byte links to devices: real serial ports, pseudo-terminal pairs and in-memory fakes.
//!
//! A link is any async byte stream; drivers and the emulator's servers never care which.

pub mod memory;
pub mod pty;
pub mod serial;

use tokio::io::{AsyncRead, AsyncWrite};

pub trait Link: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Link for T {}

pub type BoxLink = Box<dyn Link>;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LinkError {
    #[error("cannot open {path}: {source}")]
    #[diagnostic(code(pumphil::link::open), help("{hint}"))]
    Open {
        path: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("cannot create a pseudo-terminal: {0}")]
    #[diagnostic(
        code(pumphil::link::pty),
        help("is /dev/ptmx available (inside containers, mount devpts)?")
    )]
    Pty(std::io::Error),
    #[error("bad serial setting {setting} = {value:?}")]
    #[diagnostic(code(pumphil::link::setting), help("{hint}"))]
    Setting {
        setting: &'static str,
        value: String,
        hint: &'static str,
    },
}

impl LinkError {
    /// The message and what to do about it on one line, for the run record and the console,
    /// which keep text, not diagnostics.
    pub fn explained(&self) -> String {
        match miette::Diagnostic::help(self) {
            Some(help) => format!("{self} (help: {help})"),
            None => self.to_string(),
        }
    }
}
