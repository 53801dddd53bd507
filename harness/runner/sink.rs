//! Where scenario tasks send run events: the journal first (evidence), then the console.

use super::console::Console;
use crate::record::{Journal, RunEvent};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Sink {
    journal: Arc<Mutex<Journal>>,
    console: Arc<Console>,
    /// The first write that failed; later ones add nothing.
    write_error: Arc<Mutex<Option<std::io::Error>>>,
    /// Stops the run: once the record takes no writes, nothing measured could be kept.
    stop: watch::Sender<bool>,
}

impl Sink {
    /// Needs a tokio runtime for the console's tick (progress and heartbeat), which runs until
    /// the last clone of the sink is dropped.
    pub fn new(journal: Journal, console: Console, stop: watch::Sender<bool>) -> Sink {
        let sink = Sink {
            journal: Arc::new(Mutex::new(journal)),
            console: Arc::new(console),
            write_error: Arc::new(Mutex::new(None)),
            stop,
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let console = Arc::downgrade(&sink.console);
            let journal = Arc::downgrade(&sink.journal);
            let write_error = sink.write_error.clone();
            let stop = sink.stop.clone();
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(super::console::TICK).await;
                    let (Some(console), Some(journal)) = (console.upgrade(), journal.upgrade())
                    else {
                        return;
                    };
                    console.tick();
                    // Samples of a scenario that has gone quiet are recorded within about
                    // two ticks rather than at its next event: the crash bound.
                    let closed = match journal.lock() {
                        Ok(mut journal) => journal.close_overdue(),
                        Err(_) => Err(std::io::Error::other("journal lock poisoned")),
                    };
                    if let Err(err) = closed {
                        record_failure(&write_error, &stop, err);
                    }
                }
            });
        }
        sink
    }

    /// Records an event. A failed write stops the run at once and makes it an infrastructure
    /// failure: evidence that cannot be written must not look like a pass, and the scenarios
    /// still to run could not be recorded.
    pub fn emit(&self, event: RunEvent) {
        self.console.observe(&event);
        let result = match self.journal.lock() {
            Ok(mut journal) => journal.append(event).map(|_| ()),
            Err(_) => Err(std::io::Error::other("journal lock poisoned")),
        };
        if let Err(err) = result {
            record_failure(&self.write_error, &self.stop, err);
        }
    }

    /// Records the pending sample blocks and forces the record to disk; a failure stops the
    /// run as a failed write does.
    pub fn sync(&self) {
        let result = match self.journal.lock() {
            Ok(mut journal) => journal.sync(),
            Err(_) => Err(std::io::Error::other("journal lock poisoned")),
        };
        if let Err(err) = result {
            record_failure(&self.write_error, &self.stop, err);
        }
    }

    pub fn write_failed(&self) -> bool {
        self.write_error.lock().map(|e| e.is_some()).unwrap_or(true)
    }

    /// The first write that failed, taken out (for the run's outcome).
    pub fn write_error(&self) -> Option<std::io::Error> {
        self.write_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub fn console(&self) -> &Console {
        &self.console
    }
}

/// Keeps the first write that failed and stops the run.
fn record_failure(
    write_error: &Mutex<Option<std::io::Error>>,
    stop: &watch::Sender<bool>,
    err: std::io::Error,
) {
    let mut first = write_error.lock().unwrap_or_else(|e| e.into_inner());
    if first.is_none() {
        *first = Some(err);
        let _ = stop.send(true);
    }
}
