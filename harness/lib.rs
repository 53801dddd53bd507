//! pumphil: hardware-in-the-loop test harness for implantable intrathecal drug pumps.
//!
//! Layers, bottom up; a module uses its own layer and those below, never one above
//! (`tests/architecture.rs` reads the sources and holds every file to it):
//! `units` and `protocol` (wire format) → `link` (serial ports, pseudo-terminals, fakes) →
//! `driver` (typed host side) and `emulator` (the built-in pump and balance) → `scenario`
//! (scenario, bench and fixture input files) → `expect` (independent reference arithmetic, the
//! CSF pharmacokinetic estimate) → `checks` → `record` (the run record) → render
//! (`record::render`, `record::report`: everything rendered from the record) → `runner` (the
//! main job) → `cli` (the `pumphil` binary).

// Input errors carry the source text for their caret display; they travel on cold paths only.
#![allow(clippy::result_large_err)]

pub mod checks;
pub mod cli;
pub mod driver;
pub mod emulator;
pub mod expect;
pub mod link;
pub mod protocol;
pub mod record;
pub mod runner;
pub mod scenario;
pub mod units;

/// Harness version and the git commit it was built from.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("PUMPHIL_GIT_COMMIT");

/// `0.1.0 (commit abc123)`, as printed by `pumphil --version` and stored in run records.
pub fn long_version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("PUMPHIL_GIT_COMMIT"),
        ")"
    )
}
