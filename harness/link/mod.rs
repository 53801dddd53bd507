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

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open {path}: {source}\n  = help: {hint}")]
    Open {
        path: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("cannot create a pseudo-terminal: {0}\n  = help: is /dev/ptmx available (inside containers, mount devpts)?")]
    Pty(std::io::Error),
    #[error("cannot reach {endpoint}: {source}\n  = help: {hint}")]
    Network {
        endpoint: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("{endpoint}: {what}\n  = help: check that the server's port is in RFC 2217 (telnet) mode, or use tcp:// for a raw server")]
    Rfc2217 { endpoint: String, what: String },
    #[error("cannot use {text:?} as a port: {hint}")]
    Address { text: String, hint: String },
    #[error("bad serial setting {setting} = {value:?}: {hint}")]
    Setting {
        setting: &'static str,
        value: String,
        hint: &'static str,
    },
}
