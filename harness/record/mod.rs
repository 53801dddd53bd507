//! The run record (`events.jsonl`) and the outputs rendered from it.

pub mod event;
pub mod journal;
pub mod link_mark;
pub mod rederive;
pub mod render;
pub mod report;
pub mod sample_blocks;
pub mod sample_csv;
pub mod schema;
pub mod signing;
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

/// This machine's name, for the record's provenance.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// This machine's operating system, with its distribution's name where it states one.
pub fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        });
    format!("{} {}", std::env::consts::OS, pretty.unwrap_or_default())
        .trim()
        .to_string()
}

/// SHA-256 of a file as hex (the one helper lives with the input files it first hashes).
pub use crate::scenario::digest::sha256_file;
