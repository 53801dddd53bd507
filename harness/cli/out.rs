//! Standard output for command results. A reader that goes away (`pumphil lint | head -1`) ends
//! the output quietly instead of a panic; any other write error is said once, on stderr.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
/// Set when the output was lost for another reason than a reader gone (a full disk).
static FAILED: AtomicBool = AtomicBool::new(false);

/// Standard output; `writeln!(out::stdout(), ...)` prints or, once stdout is gone, does nothing.
pub struct Stdout;

pub fn stdout() -> Stdout {
    Stdout
}

impl Stdout {
    pub fn write_fmt(&self, args: fmt::Arguments<'_>) {
        if CLOSED.load(Ordering::Relaxed) {
            return;
        }
        if let Err(err) = std::io::stdout().lock().write_fmt(args) {
            if !CLOSED.swap(true, Ordering::Relaxed) && err.kind() != std::io::ErrorKind::BrokenPipe
            {
                FAILED.store(true, Ordering::Relaxed);
                super::print_error(
                    "stdout",
                    format!("cannot write to standard output: {err}"),
                    Some("the output was redirected to a file or device that takes no more; check the disk has room"),
                );
            }
        }
    }

    /// Pushes out what is buffered (for a reader waiting on a pipe); a closed pipe is ignored.
    pub fn flush(&self) {
        if !CLOSED.load(Ordering::Relaxed) && std::io::stdout().flush().is_err() {
            CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// True when output was lost for another reason than a reader that went away: the command's
/// result did not reach its file, which is an infrastructure failure (exit 3).
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}
