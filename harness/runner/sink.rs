//! Where scenario tasks send run events: the journal first (evidence), then the console.

use super::console::Console;
use crate::record::{Journal, RunEvent};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Sink {
    journal: Arc<Mutex<Journal>>,
    console: Arc<Console>,
    write_failed: Arc<std::sync::atomic::AtomicBool>,
}

impl Sink {
    /// Needs a tokio runtime for the console's tick (progress and heartbeat), which runs until
    /// the last clone of the sink is dropped.
    pub fn new(journal: Journal, console: Console) -> Sink {
        let console = Arc::new(console);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let console = Arc::downgrade(&console);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(super::console::TICK).await;
                    match console.upgrade() {
                        Some(console) => console.tick(),
                        None => return,
                    }
                }
            });
        }
        Sink {
            journal: Arc::new(Mutex::new(journal)),
            console,
            write_failed: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// Records an event. A failed write is reported once and makes the run an infrastructure
    /// failure: evidence that cannot be written must not look like a pass.
    pub fn emit(&self, event: RunEvent) {
        self.console.observe(&event);
        let result = match self.journal.lock() {
            Ok(mut journal) => journal.append(event).map(|_| ()),
            Err(_) => Err(std::io::Error::other("journal lock poisoned")),
        };
        if let Err(err) = result {
            if !self
                .write_failed
                .swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                eprintln!("error: cannot append to events.jsonl: {err}; the run will exit 3");
            }
        }
    }

    pub fn sync(&self) {
        if let Ok(journal) = self.journal.lock() {
            let _ = journal.sync();
        }
    }

    pub fn write_failed(&self) -> bool {
        self.write_failed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn console(&self) -> &Console {
        &self.console
    }
}
