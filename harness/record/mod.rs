//! The run record (`events.jsonl`) and the outputs rendered from it.

pub mod event;
pub mod journal;
pub mod render;
pub mod report;
pub mod schema;
pub mod thin;
pub mod verdict;
pub mod view;

pub use event::*;
pub use journal::{Journal, Record};
pub use schema::*;
pub use verdict::RunVerdict;

/// Now, as RFC 3339 UTC with seconds.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// SHA-256 of a file, read in blocks: run records and traces can be hundreds of megabytes.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
