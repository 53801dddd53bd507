//! The MT-SICS balance driver: weight readings, zero, tare and identity from a real or emulated
//! analytical balance.

use crate::link::BoxLink;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

pub const REPLY_TIMEOUT: Duration = Duration::from_secs(1);
/// `S I` (busy) answers are retried this many times before giving up.
pub const BUSY_RETRIES: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub grams: f64,
    /// false for `S D` (dynamic: the value was still moving).
    pub stable: bool,
    pub unit: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BalanceError {
    #[error("balance overload (S +): more on the pan than its capacity")]
    Overload,
    #[error("balance underload (S -): check the pan and zero the balance")]
    Underload,
    #[error("balance busy (S I) after {0} tries")]
    Busy(u32),
    #[error("balance did not understand the command ({0}): is it in MT-SICS mode?")]
    CommandError(String),
    #[error("unexpected balance reply {0:?}")]
    Unexpected(String),
    #[error("no reply from the balance within {0:?}")]
    Timeout(Duration),
    #[error("balance link lost: {0}")]
    Lost(String),
}

/// Parses a weight reply: `S S     12.3456 g`, `SI S ...` (some devices), `S D ...` (dynamic).
pub fn parse_weight(line: &str) -> Result<Reading, BalanceError> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    match tokens.as_slice() {
        ["ES"] | ["ET"] | ["EL"] => Err(BalanceError::CommandError(tokens[0].to_string())),
        [_, "+"] => Err(BalanceError::Overload),
        [_, "-"] => Err(BalanceError::Underload),
        [_, "I"] => Err(BalanceError::Busy(1)),
        ["S" | "SI", status @ ("S" | "D"), value, unit] => {
            let grams: f64 = value
                .parse()
                .map_err(|_| BalanceError::Unexpected(line.to_string()))?;
            let scale = match *unit {
                "g" => 1.0,
                "mg" => 1e-3,
                "kg" => 1e3,
                _ => return Err(BalanceError::Unexpected(line.to_string())),
            };
            Ok(Reading {
                grams: grams * scale,
                stable: *status == "S",
                unit: "g".into(),
            })
        }
        _ => Err(BalanceError::Unexpected(line.to_string())),
    }
}

/// The error an unexpected non-weight reply stands for (`ES`, `ET`, `EL`, or anything else).
fn reply_error(line: &str) -> BalanceError {
    match line.trim() {
        code @ ("ES" | "ET" | "EL") => BalanceError::CommandError(code.to_string()),
        other => BalanceError::Unexpected(other.to_string()),
    }
}

pub struct BalanceDriver {
    reader: BufReader<ReadHalf<BoxLink>>,
    writer: WriteHalf<BoxLink>,
    reply_timeout: Duration,
}

impl BalanceDriver {
    pub fn new(link: BoxLink) -> BalanceDriver {
        let (read, write) = tokio::io::split(link);
        BalanceDriver {
            reader: BufReader::new(read),
            writer: write,
            reply_timeout: REPLY_TIMEOUT,
        }
    }

    /// Waits this long for each reply instead of [`REPLY_TIMEOUT`] (a bench whose measured
    /// round trip is slow).
    pub fn with_reply_timeout(mut self, timeout: Duration) -> BalanceDriver {
        self.reply_timeout = timeout;
        self
    }

    pub fn reply_timeout(&self) -> Duration {
        self.reply_timeout
    }

    async fn read_line(&mut self) -> Result<String, BalanceError> {
        let mut line = Vec::new();
        let timeout = self.reply_timeout;
        match tokio::time::timeout(timeout, self.reader.read_until(b'\n', &mut line)).await {
            Err(_) => Err(BalanceError::Timeout(timeout)),
            Ok(Err(e)) => Err(BalanceError::Lost(e.to_string())),
            Ok(Ok(0)) => Err(BalanceError::Lost("the link hung up".into())),
            Ok(Ok(_)) => Ok(String::from_utf8_lossy(&line).trim_end().to_string()),
        }
    }

    /// Sends one command and returns its first reply line.
    pub async fn command(&mut self, command: &str) -> Result<String, BalanceError> {
        // No flush: the link writes straight to the kernel, and tokio-serial's flush is a
        // blocking tcdrain (4 ms for "SI\r\n" at 9600 baud) on a runtime thread.
        self.writer
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .map_err(|e| BalanceError::Lost(e.to_string()))?;
        self.read_line().await
    }

    async fn weigh(&mut self, command: &str) -> Result<Reading, BalanceError> {
        for _ in 0..BUSY_RETRIES {
            match parse_weight(&self.command(command).await?) {
                Err(BalanceError::Busy(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                other => return other,
            }
        }
        Err(BalanceError::Busy(BUSY_RETRIES))
    }

    /// `SI`: the weight now, stable or not.
    pub async fn weigh_immediate(&mut self) -> Result<Reading, BalanceError> {
        self.weigh("SI").await
    }

    /// `SIR`: the weight now, and then every new one, each on its own line, until the next
    /// command; returns the first. Read the rest with [`BalanceDriver::next_streamed`].
    pub async fn start_stream(&mut self) -> Result<Reading, BalanceError> {
        self.weigh("SIR").await
    }

    /// The next weight of an `SIR` stream.
    pub async fn next_streamed(&mut self) -> Result<Reading, BalanceError> {
        parse_weight(&self.read_line().await?)
    }

    /// `S`: the next stable weight.
    pub async fn weigh_stable(&mut self) -> Result<Reading, BalanceError> {
        self.weigh("S").await
    }

    pub async fn zero(&mut self) -> Result<(), BalanceError> {
        match self.command("Z").await?.as_str() {
            "Z A" => Ok(()),
            "Z I" => Err(BalanceError::Busy(1)),
            "Z +" => Err(BalanceError::Overload),
            "Z -" => Err(BalanceError::Underload),
            other => Err(reply_error(other)),
        }
    }

    pub async fn tare(&mut self) -> Result<Reading, BalanceError> {
        let line = self.command("T").await?;
        parse_weight(&line.replacen("T S", "S S", 1))
    }

    /// `@`: resets the balance (zero and tare cleared); returns its serial number.
    pub async fn reset(&mut self) -> Result<String, BalanceError> {
        let line = self.command("@").await?;
        match line.strip_prefix("I4 A") {
            Some(rest) => Ok(rest.trim().trim_matches('"').to_string()),
            None => Err(reply_error(&line)),
        }
    }

    /// Type, capacity and serial number as the balance states them (`I2`, `I4`).
    pub async fn identify(&mut self) -> Result<BalanceIdentity, BalanceError> {
        let type_line = self.command("I2").await?;
        let (model, capacity) = match quoted_answer(&type_line, "I2") {
            Some(text) => match text.split_once(' ') {
                Some((model, capacity)) => (model.to_string(), capacity.trim().to_string()),
                None => (text, String::new()),
            },
            None => return Err(reply_error(&type_line)),
        };
        let serial_line = self.command("I4").await?;
        let serial_number = quoted_answer(&serial_line, "I4").ok_or(reply_error(&serial_line))?;
        Ok(BalanceIdentity {
            model,
            capacity,
            serial_number,
        })
    }

    /// Reads and discards whatever is waiting on the line (a reading a balance printed on its
    /// own, the rest of a command an earlier program left half sent), until it has been quiet
    /// for `quiet`. Returns how many bytes were thrown away.
    pub async fn flush_stale(&mut self, quiet: Duration) -> Result<usize, BalanceError> {
        use tokio::io::AsyncReadExt;
        let mut discarded = self.reader.buffer().len();
        self.reader.consume(discarded);
        let mut chunk = [0u8; 256];
        loop {
            match tokio::time::timeout(quiet, self.reader.read(&mut chunk)).await {
                Err(_) => return Ok(discarded),
                Ok(Ok(0)) => return Err(BalanceError::Lost("the link hung up".into())),
                Ok(Ok(n)) => discarded += n,
                Ok(Err(e)) => return Err(BalanceError::Lost(e.to_string())),
            }
            if discarded > 64 * 1024 {
                return Err(BalanceError::Unexpected(
                    "the balance line never goes quiet: is the balance printing continuously (SIR, auto-print)?".into(),
                ));
            }
        }
    }

    /// Makes the line ready before a run: stale bytes flushed, and the balance's identity read,
    /// with one `ES` (the balance's "syntax error", often the echo of a half-received line) or
    /// a silence retried once before deciding the balance is not in MT-SICS mode.
    pub async fn prepare(&mut self) -> Result<BalanceIdentity, BalanceError> {
        self.flush_stale(STALE_QUIET).await?;
        match self.identify().await {
            Err(
                BalanceError::CommandError(_)
                | BalanceError::Unexpected(_)
                | BalanceError::Timeout(_),
            ) => {
                self.flush_stale(STALE_QUIET).await?;
                self.identify().await
            }
            other => other,
        }
    }
}

/// How long the balance line must stay quiet before stale bytes count as flushed.
pub const STALE_QUIET: Duration = Duration::from_millis(100);

/// The balance's type and serial number as it answered `I2` and `I4`.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceIdentity {
    /// The type, the first word of the `I2` text (`XS204`).
    pub model: String,
    /// The rest of the `I2` text: capacity and unit (`220.0090 g`).
    pub capacity: String,
    pub serial_number: String,
}

/// The quoted text of an `<command> A "text"` answer.
fn quoted_answer(line: &str, command: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(command)?.trim_start();
    let rest = rest.strip_prefix('A')?.trim();
    Some(rest.trim_matches('"').trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stable_dynamic_and_si_forms() {
        assert_eq!(
            parse_weight("S S     12.3456 g").unwrap(),
            Reading {
                grams: 12.3456,
                stable: true,
                unit: "g".into()
            }
        );
        assert_eq!(parse_weight("SI S      0.0012 g").unwrap().grams, 0.0012);
        assert!(!parse_weight("S D      1.5000 g").unwrap().stable);
        assert_eq!(parse_weight("S S   1234.5 mg").unwrap().grams, 1.2345);
    }

    /// A scripted balance on a memory link: answers each command line with the next reply.
    fn scripted(replies: &[&str]) -> BalanceDriver {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let (host, dev) = crate::link::memory::memory_pair();
        let replies: Vec<String> = replies.iter().map(|r| format!("{r}\r\n")).collect();
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(dev);
            let mut lines = tokio::io::BufReader::new(read).lines();
            for reply in replies {
                if lines.next_line().await.ok().flatten().is_none() {
                    return;
                }
                let _ = write.write_all(reply.as_bytes()).await;
            }
            // Keep the link open but silent, so a further command times out.
            while let Ok(Some(_)) = lines.next_line().await {}
        });
        BalanceDriver::new(host)
    }

    #[tokio::test]
    async fn busy_answers_are_retried_then_read() {
        let mut b = scripted(&["S I", "S I", "S S      0.1234 g"]);
        assert_eq!(b.weigh_immediate().await.unwrap().grams, 0.1234);
    }

    #[tokio::test]
    async fn a_balance_that_stays_busy_is_an_error() {
        let replies = vec!["S I"; BUSY_RETRIES as usize];
        let mut b = scripted(&replies);
        assert_eq!(
            b.weigh_stable().await,
            Err(BalanceError::Busy(BUSY_RETRIES))
        );
    }

    #[tokio::test]
    async fn reset_zero_and_errors() {
        let mut b = scripted(&["I4 A \"B123456\"", "Z A", "ES", "EL"]);
        assert_eq!(b.reset().await.unwrap(), "B123456");
        b.zero().await.unwrap();
        assert_eq!(b.zero().await, Err(BalanceError::CommandError("ES".into())));
        assert_eq!(b.tare().await, Err(BalanceError::CommandError("EL".into())));
        assert_eq!(
            b.weigh_immediate().await,
            Err(BalanceError::Timeout(REPLY_TIMEOUT))
        );
    }

    #[tokio::test]
    async fn identity_is_type_capacity_and_serial() {
        let mut b = scripted(&["I2 A \"XS204 220.0090 g\"", "I4 A \"B123456789\""]);
        assert_eq!(
            b.identify().await.unwrap(),
            BalanceIdentity {
                model: "XS204".into(),
                capacity: "220.0090 g".into(),
                serial_number: "B123456789".into()
            }
        );
        let mut b = scripted(&["I2 A \"XS204 220.0090 g\"", "ES"]);
        assert_eq!(
            b.identify().await,
            Err(BalanceError::CommandError("ES".into()))
        );
    }

    #[tokio::test]
    async fn a_first_es_is_retried_once() {
        let mut b = scripted(&["ES", "I2 A \"XS204 220.0090 g\"", "I4 A \"B1\""]);
        assert_eq!(b.prepare().await.unwrap().serial_number, "B1");
        let mut b = scripted(&["ES", "ES", "ES", "ES"]);
        assert_eq!(
            b.prepare().await,
            Err(BalanceError::CommandError("ES".into()))
        );
    }

    #[test]
    fn maps_error_replies() {
        assert_eq!(parse_weight("S +"), Err(BalanceError::Overload));
        assert_eq!(parse_weight("S -"), Err(BalanceError::Underload));
        assert_eq!(parse_weight("S I"), Err(BalanceError::Busy(1)));
        assert_eq!(
            parse_weight("ES"),
            Err(BalanceError::CommandError("ES".into()))
        );
        assert!(matches!(
            parse_weight("S S abc g"),
            Err(BalanceError::Unexpected(_))
        ));
        assert!(matches!(parse_weight(""), Err(BalanceError::Unexpected(_))));
    }
}
