//! Live console output: a progress bar per running scenario on a terminal, plain lines otherwise.

use crate::record::RunEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Console {
    bars: Option<MultiProgress>,
    running: Mutex<HashMap<String, ProgressBar>>,
    quiet: bool,
}

impl Console {
    /// Progress bars when stderr is a terminal and `plain` is not asked for.
    pub fn new(plain: bool, quiet: bool) -> Console {
        let fancy = !plain && !quiet && std::io::stderr().is_terminal();
        Console {
            bars: fancy.then(MultiProgress::new),
            running: Mutex::new(HashMap::new()),
            quiet,
        }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// A line the operator must see, even with --quiet.
    fn prompt(&self, text: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    pub fn observe(&self, event: &RunEvent) {
        match event {
            RunEvent::OperatorWaiting {
                scenario,
                t_ms,
                instruction,
                timeout_ms,
                ..
            } => self.prompt(format!(
                "operator  {scenario} at {}: waiting for the operator: {instruction}\n          type your initials and press Enter to confirm (times out in {})",
                crate::scenario::duration::format_duration(*t_ms),
                crate::scenario::duration::format_duration(*timeout_ms)
            )),
            RunEvent::OperatorConfirmed {
                scenario,
                instruction,
                confirmation,
                ..
            } => self.line(format!("operator  {scenario}: {instruction:?} {confirmation}")),
            RunEvent::ScenarioStarted {
                scenario, end_ms, ..
            } => {
                if let Some(bars) = &self.bars {
                    let bar = bars.add(ProgressBar::new(*end_ms));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:40} [{bar:30}] {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(scenario.clone());
                    if let Ok(mut running) = self.running.lock() {
                        running.insert(scenario.clone(), bar);
                    }
                } else {
                    self.line(format!("start  {scenario}"));
                }
            }
            RunEvent::Sample { scenario, sample } => {
                if let Ok(running) = self.running.lock() {
                    if let Some(bar) = running.get(scenario) {
                        bar.set_position(sample.t_ms);
                        bar.set_message(crate::scenario::duration::format_duration(sample.t_ms));
                    }
                }
            }
            RunEvent::Deviation {
                scenario,
                kind,
                detail,
                ..
            } => {
                self.line(format!(
                    "deviation  {}  {kind}: {detail}",
                    scenario.as_deref().unwrap_or("-")
                ));
            }
            RunEvent::ScenarioFinished {
                scenario,
                verdict,
                failed_checks,
                wall_ms,
                reason,
            } => {
                if let Ok(mut running) = self.running.lock() {
                    if let Some(bar) = running.remove(scenario) {
                        bar.finish_and_clear();
                    }
                }
                let mut text = format!("{:14} {scenario}  ({wall_ms} ms)", verdict.label());
                if !failed_checks.is_empty() {
                    text.push_str(&format!("  failed: {}", failed_checks.join(", ")));
                }
                if let Some(reason) = reason {
                    text.push_str(&format!("  [{reason}]"));
                }
                self.line(text);
            }
            _ => {}
        }
    }
}
