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
    #[error("bad serial setting {setting} = {value:?}: {hint}")]
    Setting {
        setting: &'static str,
        value: String,
        hint: &'static str,
    },
}
