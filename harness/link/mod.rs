//! Byte links to devices: real serial ports, network serial servers (raw TCP, RFC 2217),
//! pseudo-terminal pairs and in-memory fakes.
//!
//! A link is any async byte stream; drivers and the emulator's servers never care which.

pub mod endpoint;
pub mod memory;
pub mod pty;
pub mod rfc2217;
pub mod serial;
pub mod tcp;
pub mod telnet;

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
    #[error("cannot reach {endpoint}: {source}")]
    #[diagnostic(code(pumphil::link::network), help("{hint}"))]
    Network {
        endpoint: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("{endpoint}: {what}")]
    #[diagnostic(
        code(pumphil::link::rfc2217),
        help("check that the server's port is in RFC 2217 (telnet) mode, or use tcp:// for a raw server")
    )]
    Rfc2217 { endpoint: String, what: String },
    #[error("cannot use {text:?} as a port: {hint}")]
    #[diagnostic(
        code(pumphil::link::address),
        help("write a device path (/dev/ttyUSB0), tcp://host:port or rfc2217://host:port")
    )]
    Address { text: String, hint: String },
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
