//! The async pump driver: typed requests over any link, per-message timeouts, retries that never
//! apply a command twice, and a stream of unsolicited events with gap detection.

use crate::link::BoxLink;
use crate::protocol::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;

/// Re-sends of the same frame after the first attempt.
pub const MAX_RETRIES: u32 = 3;

/// How long to wait for the answer to each kind of request (docs/protocol.md, "Timeouts").
pub fn timeout_for(kind: RequestKind) -> Duration {
    match kind {
        // A long advance runs many device events before answering.
        RequestKind::AdvanceTime => Duration::from_secs(10),
        RequestKind::ReadEventLog => Duration::from_secs(1),
        _ => Duration::from_millis(250),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("the device refused {request:?}: {code}")]
    Nack {
        request: RequestKind,
        code: NackCode,
    },
    #[error("no answer to {request:?} after {attempts} attempts (the device may be lost)")]
    Timeout { request: RequestKind, attempts: u32 },
    #[error("device lost: {0}")]
    DeviceLost(String),
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Something that happened on the link that the run record must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviationKind {
    Retry,
    BadFrame,
    StaleResponse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    pub kind: DeviationKind,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    Event {
        seq: u16,
        event: Event,
    },
    /// Event numbers were skipped: events were lost on the link.
    Lost {
        expected_seq: u16,
        got_seq: u16,
    },
}

struct Shared {
    events: Mutex<Vec<DriverEvent>>,
    deviations: Mutex<Vec<Deviation>>,
    lost: AtomicBool,
    lost_reason: Mutex<String>,
}

impl Shared {
    fn deviation(&self, kind: DeviationKind, detail: String) {
        if let Ok(mut d) = self.deviations.lock() {
            d.push(Deviation { kind, detail });
        }
    }
}

pub struct PumpDriver {
    writer: tokio::sync::Mutex<WriteHalf<BoxLink>>,
    responses: tokio::sync::Mutex<mpsc::UnboundedReceiver<Frame>>,
    seq: Mutex<u16>,
    shared: Arc<Shared>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for PumpDriver {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn next_seq(seq: u16) -> u16 {
    match seq.wrapping_add(1) {
        0 => 1,
        s => s,
    }
}

async fn read_loop(
    mut read: tokio::io::ReadHalf<BoxLink>,
    responses: mpsc::UnboundedSender<Frame>,
    shared: Arc<Shared>,
) {
    let mut assembler = FrameAssembler::new();
    let mut buf = vec![0u8; 4096];
    let mut last_event: Option<u16> = None;
    let reason = loop {
        match read.read(&mut buf).await {
            // A read of 0 bytes is a hang-up (a pty whose master closed, an unplugged adapter).
            Ok(0) => break "the link hung up (read returned 0 bytes)".to_string(),
            Ok(n) => {
                for result in assembler.push(&buf[..n]) {
                    match result {
                        Ok(Frame {
                            seq,
                            message: Message::Event(event),
                        }) => {
                            let mut events =
                                shared.events.lock().unwrap_or_else(|e| e.into_inner());
                            if let Some(last) = last_event {
                                let expected = next_seq(last);
                                if seq != expected {
                                    events.push(DriverEvent::Lost {
                                        expected_seq: expected,
                                        got_seq: seq,
                                    });
                                }
                            }
                            last_event = Some(seq);
                            events.push(DriverEvent::Event { seq, event });
                        }
                        Ok(frame) => {
                            let _ = responses.send(frame);
                        }
                        Err(err) => shared.deviation(
                            DeviationKind::BadFrame,
                            format!("discarded a frame from the device: {err}"),
                        ),
                    }
                }
            }
            Err(err) => break format!("read failed: {err}"),
        }
    };
    if let Ok(mut r) = shared.lost_reason.lock() {
        *r = reason;
    }
    shared.lost.store(true, Ordering::SeqCst);
}

impl PumpDriver {
    /// Starts the driver on a link; needs a tokio runtime (a reader task runs in the background).
    pub fn new(link: BoxLink) -> PumpDriver {
        let (read, write) = tokio::io::split(link);
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(Vec::new()),
            deviations: Mutex::new(Vec::new()),
            lost: AtomicBool::new(false),
            lost_reason: Mutex::new(String::new()),
        });
        let reader = tokio::spawn(read_loop(read, tx, shared.clone()));
        PumpDriver {
            writer: tokio::sync::Mutex::new(write),
            responses: tokio::sync::Mutex::new(rx),
            seq: Mutex::new(0),
            shared,
            reader,
        }
    }

    fn lost(&self) -> DriverError {
        DriverError::DeviceLost(
            self.shared
                .lost_reason
                .lock()
                .map(|r| r.clone())
                .unwrap_or_default(),
        )
    }

    /// Sends a request and waits for its answer, retrying the same bytes on timeout or bad CRC.
    pub async fn request(&self, request: &Request) -> Result<ResponseBody, DriverError> {
        let kind = request.kind();
        let seq = {
            let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            *s = next_seq(*s);
            *s
        };
        let bytes = encode_frame(seq, &Message::Request(request.clone()))
            .map_err(|e| DriverError::Protocol(e.to_string()))?;
        let mut responses = self.responses.lock().await;
        for attempt in 0..=MAX_RETRIES {
            if self.shared.lost.load(Ordering::SeqCst) {
                return Err(self.lost());
            }
            {
                let mut writer = self.writer.lock().await;
                let written = async {
                    writer.write_all(&bytes).await?;
                    writer.flush().await
                };
                written
                    .await
                    .map_err(|e| DriverError::DeviceLost(format!("write failed: {e}")))?;
            }
            let deadline = tokio::time::Instant::now() + timeout_for(kind);
            let retry_reason = loop {
                match tokio::time::timeout_at(deadline, responses.recv()).await {
                    Err(_) => {
                        break format!(
                            "no answer to {kind:?} (seq {seq}) within {:?}",
                            timeout_for(kind)
                        )
                    }
                    Ok(None) => return Err(self.lost()),
                    Ok(Some(frame)) if frame.seq != seq => {
                        self.shared.deviation(
                            DeviationKind::StaleResponse,
                            format!(
                                "discarded an answer for seq {} while waiting for {seq}",
                                frame.seq
                            ),
                        );
                    }
                    Ok(Some(Frame {
                        message:
                            Message::Nack {
                                code: NackCode::BadCrc,
                                ..
                            },
                        ..
                    })) => break format!("the device saw a bad CRC in {kind:?} (seq {seq})"),
                    Ok(Some(Frame {
                        message: Message::Nack { code, .. },
                        ..
                    })) => {
                        return Err(DriverError::Nack {
                            request: kind,
                            code,
                        })
                    }
                    Ok(Some(Frame {
                        message:
                            Message::Response {
                                request: answered,
                                body,
                            },
                        ..
                    })) if answered == kind => return Ok(body),
                    Ok(Some(frame)) => {
                        return Err(DriverError::Protocol(format!(
                            "{kind:?} was answered with {:?}",
                            frame.message
                        )))
                    }
                }
            };
            if attempt < MAX_RETRIES {
                self.shared.deviation(
                    DeviationKind::Retry,
                    format!(
                        "{retry_reason}; re-sending the same frame (retry {} of {MAX_RETRIES})",
                        attempt + 1
                    ),
                );
            }
        }
        if self.shared.lost.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        Err(DriverError::Timeout {
            request: kind,
            attempts: MAX_RETRIES + 1,
        })
    }

    /// Events received since the last call, in arrival order, with gaps marked.
    pub fn drain_events(&self) -> Vec<DriverEvent> {
        self.shared
            .events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// Retries, bad frames and stale answers since the last call.
    pub fn take_deviations(&self) -> Vec<Deviation> {
        self.shared
            .deviations
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }

    pub async fn identify(&self) -> Result<Identity, DriverError> {
        match self.request(&Request::Identify).await? {
            ResponseBody::Identity(i) => Ok(i),
            other => Err(DriverError::Protocol(format!(
                "identify answered with {other:?}"
            ))),
        }
    }

    pub async fn status(&self) -> Result<Status, DriverError> {
        match self.request(&Request::Status).await? {
            ResponseBody::Status(s) => Ok(s),
            other => Err(DriverError::Protocol(format!(
                "status answered with {other:?}"
            ))),
        }
    }

    pub async fn plant(&self) -> Result<Plant, DriverError> {
        match self.request(&Request::ReadPlant).await? {
            ResponseBody::Plant(p) => Ok(p),
            other => Err(DriverError::Protocol(format!(
                "read-plant answered with {other:?}"
            ))),
        }
    }

    pub async fn advance_to(&self, to_ms: u64) -> Result<u64, DriverError> {
        match self.request(&Request::AdvanceTime { to_ms }).await? {
            ResponseBody::Time { device_time_ms } => Ok(device_time_ms),
            other => Err(DriverError::Protocol(format!(
                "advance-time answered with {other:?}"
            ))),
        }
    }

    /// Reads the whole event log, page by page.
    pub async fn read_full_log(&self) -> Result<Vec<LogEntry>, DriverError> {
        let mut entries = Vec::new();
        for page in 0..=u16::MAX {
            match self.request(&Request::ReadEventLog { page }).await? {
                ResponseBody::EventLogPage(p) => {
                    let done = p.first_index + LOG_PAGE_LEN as u32 >= p.total;
                    entries.extend(p.entries);
                    if done {
                        break;
                    }
                }
                other => {
                    return Err(DriverError::Protocol(format!(
                        "read-event-log answered with {other:?}"
                    )))
                }
            }
        }
        Ok(entries)
    }
}
