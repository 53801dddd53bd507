//! The operator's terminal: on a real-time bench an operator step waits for a person to type
//! their initials, within the step's timeout.
//!
//! One thread reads standard input for the whole run, so a step that timed out loses no line
//! the next step should see.

use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};

/// Why an operator step got no confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotConfirmed {
    TimedOut(Duration),
    /// Standard input is closed: nobody can confirm.
    NoTerminal,
}

impl std::fmt::Display for NotConfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotConfirmed::TimedOut(after) => write!(
                f,
                "not confirmed within {}",
                crate::scenario::duration::format_duration(after.as_millis() as u64)
            ),
            NotConfirmed::NoTerminal => {
                f.write_str("standard input is closed: no operator can confirm")
            }
        }
    }
}

/// Lines typed on standard input.
pub struct Terminal {
    lines: Mutex<mpsc::UnboundedReceiver<String>>,
}

static TERMINAL: OnceLock<Terminal> = OnceLock::new();

/// The process's terminal; its reader thread starts on first use (only a real-time bench run
/// with an operator step reads standard input).
pub fn terminal() -> &'static Terminal {
    TERMINAL.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Terminal {
            lines: Mutex::new(rx),
        }
    })
}

/// Initials as typed: letters, digits, '.' and '-', 1 to 16 of them; anything else is
/// asked again (an empty Enter is not a confirmation).
pub fn initials(line: &str) -> Option<String> {
    let text = line.trim();
    let ok = (1..=16).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    ok.then(|| text.to_string())
}

impl Terminal {
    /// The initials of the operator who confirmed, or why none did within `timeout`.
    pub async fn confirm(&self, timeout: Duration) -> Result<String, NotConfirmed> {
        let mut lines = self.lines.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, lines.recv()).await {
                Err(_) => return Err(NotConfirmed::TimedOut(timeout)),
                Ok(None) => return Err(NotConfirmed::NoTerminal),
                Ok(Some(line)) => match initials(&line) {
                    Some(initials) => return Ok(initials),
                    None => eprintln!(
                        "operator: {:?} is not initials; type your initials (letters) and press Enter",
                        line.trim()
                    ),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_a_short_word() {
        assert_eq!(initials("  JD \n"), Some("JD".into()));
        assert_eq!(initials("J.-D."), Some("J.-D.".into()));
        assert_eq!(initials(""), None);
        assert_eq!(initials("   "), None);
        assert_eq!(initials("yes please"), None);
        assert_eq!(initials(&"A".repeat(17)), None);
    }
}
