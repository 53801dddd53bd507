//! Outputs rendered from a run's `events.jsonl` alone: JUnit, summary, traces, manifest, table.

use super::journal::{self, Record};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct RenderOutcome;

pub fn render_all(dir: &Path) -> Result<RenderOutcome, RenderError> {
    let _ = journal::read(dir)?;
    Ok(RenderOutcome)
}

pub fn closing_table(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        if let super::RunEvent::ScenarioFinished {
            scenario,
            verdict,
            failed_checks,
            ..
        } = &r.event
        {
            out.push_str(&format!(
                "{:14} {scenario} {}\n",
                verdict.label(),
                failed_checks.join(", ")
            ));
        }
    }
    out
}
