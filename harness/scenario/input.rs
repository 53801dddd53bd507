//! Reading a text input file (scenario, fixture, bench): its bytes, their SHA-256 for the record,
//! and the text, refused with a placed error when it cannot be read or is not UTF-8.

use super::digest::sha256_hex;
use super::InputError;
use std::path::Path;

/// What kind of input a file is, for the codes and the help of its errors.
pub struct InputKind {
    /// Code when the file cannot be read (`scenario::read`).
    pub read_code: &'static str,
    /// Start of the message when it cannot be read (`cannot read bench file`).
    pub read_message: &'static str,
    pub read_help: &'static str,
    /// Code when it is not UTF-8 (`scenario::utf8`).
    pub utf8_code: &'static str,
    pub utf8_help: &'static str,
    /// Largest file accepted, checked before reading, with the help when it is bigger;
    /// `None` for files of any size.
    pub max_bytes: Option<(u64, &'static str)>,
    /// The kind in the plural, for messages (`scenario files`).
    pub plural: &'static str,
}

/// A text input file as read: the text and the SHA-256 of its bytes.
pub struct TextFile {
    pub text: String,
    pub sha256: String,
}

/// Reads a text input file whole.
pub fn read_text(path: &Path, kind: &InputKind) -> Result<TextFile, InputError> {
    let cannot_read = |e: std::io::Error| {
        InputError::new(
            path,
            "",
            kind.read_code,
            format!("{}: {e}", kind.read_message),
        )
        .help(kind.read_help)
    };
    if let Some((max, help)) = kind.max_bytes {
        let len = std::fs::metadata(path).map_err(cannot_read)?.len();
        if len > max {
            return Err(InputError::new(
                path,
                "",
                kind.read_code,
                format!("file is {len} bytes; {} are at most {max}", kind.plural),
            )
            .help(help));
        }
    }
    let bytes = std::fs::read(path).map_err(cannot_read)?;
    let sha256 = sha256_hex(&bytes);
    match String::from_utf8(bytes) {
        Ok(text) => Ok(TextFile { text, sha256 }),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(InputError::new(
                path,
                &String::from_utf8_lossy(e.as_bytes()),
                kind.utf8_code,
                format!("invalid UTF-8 at byte {at}"),
            )
            .at(at..at + 1)
            .help(kind.utf8_help))
        }
    }
}
