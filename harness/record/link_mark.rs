//! The mark every output of a run carries when its devices were reached over an in-memory link
//! (`run --link memory`): such a run shows the harness and its checks at work on the in-process
//! emulator, and no byte of it crossed a serial path, so nobody may file it as bench evidence.

use crate::record::view::RunView;
use crate::record::DeviceLink;

/// What every output says beside an in-memory run.
pub const NOT_A_SERIAL_PATH: &str = "evidence that the harness and its checks work on the \
     in-process emulator, not evidence over a serial line (run over ptys or on a bench for that)";

/// The scenarios of a run that reached their devices over an in-memory link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMemory {
    /// Their ids, in the run's order.
    pub scenarios: Vec<String>,
    /// How many scenarios recorded how their devices were reached.
    pub of: usize,
}

impl InMemory {
    /// Every scenario that recorded its device was reached in memory.
    pub fn whole_run(&self) -> bool {
        self.scenarios.len() == self.of
    }

    /// One line: `in-memory link (not a serial path)`, with how many scenarios when only some
    /// were (a merged run of parts run both ways).
    pub fn mark(&self) -> String {
        let words = DeviceLink::InMemory.describe(crate::record::Mode::Emulator);
        if self.whole_run() {
            words.to_string()
        } else {
            format!(
                "{words} for {} of {} scenarios",
                self.scenarios.len(),
                self.of
            )
        }
    }
}

/// The scenarios reached in memory, or None when every device was reached through its port.
pub fn in_memory(view: &RunView) -> Option<InMemory> {
    let links: Vec<(&str, DeviceLink)> = view
        .scenarios
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.device.as_ref()?.link)))
        .collect();
    let scenarios: Vec<String> = links
        .iter()
        .filter(|(_, link)| *link == DeviceLink::InMemory)
        .map(|(id, _)| id.to_string())
        .collect();
    (!scenarios.is_empty()).then_some(InMemory {
        scenarios,
        of: links.len(),
    })
}

/// The run's link as summary.json names it: `port`, `in-memory`, `mixed`, or None when no
/// scenario recorded its device.
pub fn run_link_key(view: &RunView) -> Option<&'static str> {
    let mut links = view
        .scenarios
        .iter()
        .filter_map(|s| Some(s.device.as_ref()?.link));
    let first = links.next()?;
    Some(if links.all(|l| l == first) {
        first.name()
    } else {
        "mixed"
    })
}
