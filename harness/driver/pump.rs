//! The async pump driver: typed requests over any link, per-message timeouts, retries that never
//! apply a command twice, and a stream of unsolicited events with gap detection.
//!
//! Session rules (docs/protocol.md): requests are numbered 1, 2, 3, ... (wrapping, skipping 0);
//! a retry re-sends the *same bytes under the same number*, which the device answers from its
//! cache without applying the command again. Events carry the device's own counter; a jump in
//! it is reported as [`DriverEvent::Lost`], a repeat of the last number is a duplicated frame
//! and is dropped. A read of 0 bytes (hang-up) loses the device at once.

use crate::link::BoxLink;
use crate::protocol::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;

/// Re-sends of the same frame after the first attempt.
pub const MAX_RETRIES: u32 = 3;
/// After a garbled frame, how long a good answer may still take before the request is re-sent.
pub const GARBLED_GRACE: Duration = Duration::from_millis(10);

/// How long to wait for the answer to each kind of request (docs/protocol.md, "Timeouts").
pub fn timeout_for(kind: RequestKind) -> Duration {
    match kind {
        // A long advance runs many device events before answering.
        RequestKind::AdvanceTime | RequestKind::AdvanceAndSample => Duration::from_secs(10),
        RequestKind::ReadEventLog | RequestKind::ReadEventLogEntries => Duration::from_secs(1),
        _ => Duration::from_millis(250),
    }
}

/// Retry and timeout policy; the defaults are the agreed ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverOptions {
    pub max_retries: u32,
    /// Multiplies every [`timeout_for`] figure (slow adapters, radio links, debuggers).
    pub timeout_scale: f64,
    /// No attempt waits longer than this (after scaling): a device known to answer fast.
    pub timeout_cap: Option<Duration>,
    /// Every attempt waits at least this long (applied after the cap): a device known never to
    /// lose a frame, whose late answer only means a loaded machine, not a lost request.
    pub timeout_floor: Option<Duration>,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            max_retries: MAX_RETRIES,
            timeout_scale: 1.0,
            timeout_cap: None,
            timeout_floor: None,
        }
    }
}

impl DriverOptions {
    pub fn timeout(&self, kind: RequestKind) -> Duration {
        let scaled = timeout_for(kind).mul_f64(self.timeout_scale.max(0.0));
        let capped = self.timeout_cap.map_or(scaled, |cap| scaled.min(cap));
        self.timeout_floor.map_or(capped, |floor| capped.max(floor))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("the device refused {request:?}: {code}")]
    Nack {
        request: RequestKind,
        code: NackCode,
    },
    #[error("no answer to {request:?} after {attempts} attempts (the device may be lost: check the cable and that it is powered)")]
    Timeout { request: RequestKind, attempts: u32 },
    #[error("device lost: {0}")]
    DeviceLost(String),
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Something that happened on the link that the run record must show.
///
/// NACKs and event gaps are not logged here: they reach the caller once, as
/// [`DriverError::Nack`] and [`DriverEvent::Lost`], and the runner records them from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviationKind {
    /// The same frame was sent again (timeout or a BadCrc NACK).
    Retry,
    /// Bytes from the device that did not decode as a frame.
    BadFrame,
    /// An answer to a request that was no longer waited for (a late reply to a retried frame).
    StaleResponse,
    /// The port went away (unplugged, hung up) and was opened again.
    Reconnected,
    /// An event frame repeated the last event number (a duplicated frame): ignored.
    Duplicate,
}

/// One attempt at opening the device's link again (a TCP connection takes a round trip).
pub type ReopenAttempt =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<BoxLink, String>> + Send>>;

/// How to open the device's port again after it went away (an unplugged USB adapter comes
/// back under its stable name, a dropped TCP connection is made again), and how long to keep
/// trying.
pub struct Reopen {
    pub open: Box<dyn Fn() -> ReopenAttempt + Send + Sync>,
    pub within: Duration,
}

impl Reopen {
    /// Opens the same endpoint (device path, tcp:// or rfc2217://) with the same settings.
    pub fn endpoint(settings: crate::link::serial::SerialSettings, within: Duration) -> Reopen {
        let settings = std::sync::Arc::new(settings);
        Reopen {
            open: Box::new(move || {
                let settings = settings.clone();
                Box::pin(async move {
                    crate::link::endpoint::open(&settings)
                        .await
                        .map_err(|e| e.to_string())
                })
            }),
            within,
        }
    }
}

/// Reconnections allowed while one request is outstanding.
const MAX_RECONNECTS_PER_REQUEST: u32 = 3;
/// Between attempts to open a port that has gone away.
const REOPEN_POLL: Duration = Duration::from_millis(50);

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
    deviations: Mutex<Vec<Deviation>>,
    lost: AtomicBool,
    lost_reason: Mutex<String>,
    /// The last device event number seen; kept across reconnections so a gap still shows.
    last_event: Mutex<Option<u16>>,
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
    event_tx: mpsc::UnboundedSender<DriverEvent>,
    reopen: Option<Reopen>,
    /// Serial number from the first Identify answer: the device that must come back.
    serial: Mutex<Option<String>>,
    reconnected: AtomicBool,
    /// Frames that answer requests; `None` marks a frame that arrived garbled.
    responses: tokio::sync::Mutex<mpsc::UnboundedReceiver<Option<Frame>>>,
    events: Mutex<Option<mpsc::UnboundedReceiver<DriverEvent>>>,
    seq: Mutex<u16>,
    options: DriverOptions,
    shared: Arc<Shared>,
    reader: Mutex<tokio::task::JoinHandle<()>>,
}

impl Drop for PumpDriver {
    fn drop(&mut self) {
        if let Ok(reader) = self.reader.lock() {
            reader.abort();
        }
    }
}

pub use crate::protocol::next_seq;

async fn read_loop(
    mut read: tokio::io::ReadHalf<BoxLink>,
    responses: mpsc::UnboundedSender<Option<Frame>>,
    events: mpsc::UnboundedSender<DriverEvent>,
    shared: Arc<Shared>,
) {
    let mut assembler = FrameAssembler::new();
    let mut buf = vec![0u8; 4096];
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
                            let last = shared
                                .last_event
                                .lock()
                                .map(|mut last| last.replace(seq))
                                .unwrap_or(None);
                            if last == Some(seq) {
                                // The device numbers every event anew: the same number again
                                // is the same frame sent twice, not 65535 lost events.
                                shared.deviation(
                                    DeviationKind::Duplicate,
                                    format!("ignored a repeated event frame (event {seq})"),
                                );
                                continue;
                            }
                            if let Some(last) = last {
                                let expected = next_seq(last);
                                if seq != expected {
                                    let _ = events.send(DriverEvent::Lost {
                                        expected_seq: expected,
                                        got_seq: seq,
                                    });
                                }
                            }
                            // Nobody listening any more is not the reader's problem.
                            let _ = events.send(DriverEvent::Event { seq, event });
                        }
                        Ok(frame) => {
                            let _ = responses.send(Some(frame));
                        }
                        Err(err) => {
                            shared.deviation(
                                DeviationKind::BadFrame,
                                format!("discarded a frame from the device: {err}"),
                            );
                            // It may have been the awaited answer: let the request re-send now
                            // rather than wait out its timeout.
                            let _ = responses.send(None);
                        }
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

/// Pulls the expected body out of a response, or says what came instead.
macro_rules! expect_body {
    ($result:expr, $what:literal, $pattern:pat => $value:expr) => {
        match $result {
            $pattern => Ok($value),
            other => Err(DriverError::Protocol(format!(
                concat!($what, " answered with {:?}"),
                other
            ))),
        }
    };
}

impl PumpDriver {
    /// Starts the driver on a link with the agreed timeouts and retries; needs a tokio runtime
    /// (a reader task runs in the background until the driver is dropped).
    pub fn new(link: BoxLink) -> PumpDriver {
        PumpDriver::with_options(link, DriverOptions::default())
    }

    pub fn with_options(link: BoxLink, options: DriverOptions) -> PumpDriver {
        PumpDriver::start(link, options, None)
    }

    /// Like [`PumpDriver::with_options`], and when the port goes away mid-request the driver
    /// opens it again and re-sends the same frame (the device answers it from its cache), then
    /// checks that the same device (serial number) came back.
    pub fn with_reopen(link: BoxLink, options: DriverOptions, reopen: Reopen) -> PumpDriver {
        PumpDriver::start(link, options, Some(reopen))
    }

    fn start(link: BoxLink, options: DriverOptions, reopen: Option<Reopen>) -> PumpDriver {
        let (read, write) = tokio::io::split(link);
        let (response_tx, response_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            deviations: Mutex::new(Vec::new()),
            lost: AtomicBool::new(false),
            lost_reason: Mutex::new(String::new()),
            last_event: Mutex::new(None),
        });
        let reader = tokio::spawn(read_loop(
            read,
            response_tx,
            event_tx.clone(),
            shared.clone(),
        ));
        PumpDriver {
            writer: tokio::sync::Mutex::new(write),
            event_tx,
            reopen,
            serial: Mutex::new(None),
            reconnected: AtomicBool::new(false),
            responses: tokio::sync::Mutex::new(response_rx),
            events: Mutex::new(Some(event_rx)),
            seq: Mutex::new(0),
            options,
            shared,
            reader: Mutex::new(reader),
        }
    }

    /// Opens the port again after it went away, within the allowed time; the caller holds the
    /// response channel, which is replaced with the new reader's.
    async fn reconnect(
        &self,
        responses: &mut mpsc::UnboundedReceiver<Option<Frame>>,
    ) -> Result<(), DriverError> {
        let Some(reopen) = &self.reopen else {
            return Err(self.lost());
        };
        let why = self
            .shared
            .lost_reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        let started = tokio::time::Instant::now();
        let link = loop {
            match (reopen.open)().await {
                Ok(link) => break link,
                Err(e) if started.elapsed() >= reopen.within => {
                    if let Ok(mut r) = self.shared.lost_reason.lock() {
                        *r = format!(
                            "{why}; the port did not come back within {:?}: {e}",
                            reopen.within
                        );
                    }
                    return Err(self.mark_lost(String::new()));
                }
                Err(_) => tokio::time::sleep(REOPEN_POLL).await,
            }
        };
        let (read, write) = tokio::io::split(link);
        let (response_tx, response_rx) = mpsc::unbounded_channel();
        *responses = response_rx;
        *self.writer.lock().await = write;
        let reader = tokio::spawn(read_loop(
            read,
            response_tx,
            self.event_tx.clone(),
            self.shared.clone(),
        ));
        if let Ok(mut old) = self.reader.lock() {
            old.abort();
            *old = reader;
        }
        self.shared.lost.store(false, Ordering::SeqCst);
        self.reconnected.store(true, Ordering::SeqCst);
        self.shared.deviation(
            DeviationKind::Reconnected,
            format!(
                "{why}; the port was opened again after {:.2} s",
                started.elapsed().as_secs_f64()
            ),
        );
        Ok(())
    }

    pub fn options(&self) -> DriverOptions {
        self.options
    }

    /// Records why the link is gone (the first reason wins) and returns the error to report.
    fn mark_lost(&self, reason: String) -> DriverError {
        if !self.shared.lost.swap(true, Ordering::SeqCst) {
            if let Ok(mut r) = self.shared.lost_reason.lock() {
                *r = reason;
            }
        }
        self.lost()
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
        let result = self.request_once(request).await;
        if let Ok(ResponseBody::Identity(identity)) = &result {
            if let Ok(mut serial) = self.serial.lock() {
                serial.get_or_insert_with(|| identity.serial_number.clone());
            }
        }
        if self.reconnected.swap(false, Ordering::SeqCst) {
            self.check_same_device().await?;
        }
        result
    }

    /// After a reconnection: the device on the port must be the one the session began with.
    async fn check_same_device(&self) -> Result<(), DriverError> {
        let expected = self.serial.lock().ok().and_then(|s| s.clone());
        let Some(expected) = expected else {
            return Ok(());
        };
        match self.request_once(&Request::Identify).await? {
            ResponseBody::Identity(i) if i.serial_number == expected => Ok(()),
            ResponseBody::Identity(i) => Err(self.mark_lost(format!(
                "after the port came back a different device answered (serial {}, expected {expected})",
                i.serial_number
            ))),
            other => Err(DriverError::Protocol(format!(
                "identify answered with {other:?}"
            ))),
        }
    }

    /// The number for the next request (1, 2, 3, ... wrapping, skipping 0).
    fn next_request_seq(&self) -> u16 {
        let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        *s = next_seq(*s);
        *s
    }

    /// Whatever arrived since the last request answers nothing now.
    fn discard_stale(&self, responses: &mut mpsc::UnboundedReceiver<Option<Frame>>) {
        while let Ok(stale) = responses.try_recv() {
            if let Some(frame) = stale {
                self.shared.deviation(
                    DeviationKind::StaleResponse,
                    format!("discarded a late answer for seq {}", frame.seq),
                );
            }
        }
    }

    async fn request_once(&self, request: &Request) -> Result<ResponseBody, DriverError> {
        let kind = request.kind();
        let seq = self.next_request_seq();
        let bytes = encode_frame(seq, &Message::Request(request.clone()))
            .map_err(|e| DriverError::Protocol(e.to_string()))?;
        let timeout = self.options.timeout(kind);
        let max_retries = self.options.max_retries;
        let mut responses = self.responses.lock().await;
        self.discard_stale(&mut responses);
        let mut reconnects = 0;
        let mut attempt = 0;
        while attempt <= max_retries {
            if self.shared.lost.load(Ordering::SeqCst) {
                if reconnects == MAX_RECONNECTS_PER_REQUEST {
                    return Err(self.lost());
                }
                reconnects += 1;
                self.reconnect(&mut responses).await?;
            }
            let written = {
                let mut writer = self.writer.lock().await;
                // No flush: serial and pty links write straight to the kernel, and
                // tokio-serial's flush is a blocking tcdrain on a runtime thread.
                writer.write_all(&bytes).await
            };
            if let Err(e) = written {
                self.mark_lost(format!("write failed: {e}"));
                continue;
            }
            let mut deadline = tokio::time::Instant::now() + timeout;
            let mut garbled = false;
            let retry_reason = loop {
                match tokio::time::timeout_at(deadline, responses.recv()).await {
                    Err(_) if garbled => {
                        break format!("only a garbled frame arrived for {kind:?} (seq {seq})")
                    }
                    Err(_) => {
                        break format!("no answer to {kind:?} (seq {seq}) within {timeout:?}")
                    }
                    Ok(None) => {
                        // The reader ended: the port went away. Re-send once it is back.
                        self.shared.lost.store(true, Ordering::SeqCst);
                        break String::new();
                    }
                    Ok(Some(None)) => {
                        // A garbled frame may have been the answer: wait only a moment more
                        // for a good one before re-sending.
                        garbled = true;
                        deadline = deadline.min(tokio::time::Instant::now() + GARBLED_GRACE);
                    }
                    Ok(Some(Some(frame))) if frame.seq != seq => {
                        self.shared.deviation(
                            DeviationKind::StaleResponse,
                            format!(
                                "discarded an answer for seq {} while waiting for {seq}",
                                frame.seq
                            ),
                        );
                    }
                    Ok(Some(Some(Frame {
                        message:
                            Message::Nack {
                                code: NackCode::BadCrc,
                                ..
                            },
                        ..
                    }))) => break format!("the device saw a bad CRC in {kind:?} (seq {seq})"),
                    Ok(Some(Some(Frame {
                        message: Message::Nack { code, .. },
                        ..
                    }))) => {
                        return Err(DriverError::Nack {
                            request: kind,
                            code,
                        })
                    }
                    Ok(Some(Some(Frame {
                        message:
                            Message::Response {
                                request: answered,
                                body,
                            },
                        ..
                    }))) if answered == kind => return Ok(body),
                    Ok(Some(Some(frame))) => {
                        return Err(DriverError::Protocol(format!(
                            "{kind:?} (seq {seq}) was answered with {:?}",
                            frame.message
                        )))
                    }
                }
            };
            if self.shared.lost.load(Ordering::SeqCst) {
                continue;
            }
            attempt += 1;
            if attempt <= max_retries {
                self.shared.deviation(
                    DeviationKind::Retry,
                    format!(
                        "{retry_reason}; re-sending the same frame (retry {attempt} of {max_retries})"
                    ),
                );
            }
        }
        if self.shared.lost.load(Ordering::SeqCst) {
            return Err(self.lost());
        }
        Err(DriverError::Timeout {
            request: kind,
            attempts: max_retries + 1,
        })
    }

    /// Events received since the last call, in arrival order, with gaps marked. Empty once the
    /// receiver has been taken with [`PumpDriver::take_event_receiver`].
    pub fn drain_events(&self) -> Vec<DriverEvent> {
        let mut out = Vec::new();
        if let Ok(mut guard) = self.events.lock() {
            if let Some(rx) = guard.as_mut() {
                while let Ok(event) = rx.try_recv() {
                    out.push(event);
                }
            }
        }
        out
    }

    /// The event channel itself, for a consumer that awaits events (real-time benches).
    pub fn take_event_receiver(&self) -> Option<mpsc::UnboundedReceiver<DriverEvent>> {
        self.events.lock().ok().and_then(|mut guard| guard.take())
    }

    /// Retries, bad frames and stale answers since the last call.
    pub fn take_deviations(&self) -> Vec<Deviation> {
        self.shared
            .deviations
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }

    /// Whether the reader has seen the link hang up or fail.
    pub fn is_lost(&self) -> bool {
        self.shared.lost.load(Ordering::SeqCst)
    }

    async fn ack(&self, request: Request) -> Result<(), DriverError> {
        let what = request.kind();
        match self.request(&request).await? {
            ResponseBody::Ack => Ok(()),
            other => Err(DriverError::Protocol(format!(
                "{what:?} answered with {other:?}"
            ))),
        }
    }

    pub async fn identify(&self) -> Result<Identity, DriverError> {
        expect_body!(self.request(&Request::Identify).await?, "identify", ResponseBody::Identity(i) => i)
    }

    pub async fn status(&self) -> Result<Status, DriverError> {
        expect_body!(self.request(&Request::Status).await?, "status", ResponseBody::Status(s) => s)
    }

    pub async fn program_continuous(&self, dose_ug_per_day: u32) -> Result<(), DriverError> {
        self.ack(Request::ProgramContinuous { dose_ug_per_day })
            .await
    }

    pub async fn program_flexible(&self, steps: Vec<FlexStep>) -> Result<(), DriverError> {
        self.ack(Request::ProgramFlexible { steps }).await
    }

    pub async fn bolus(
        &self,
        dose_ug: u32,
        duration_s: u32,
        bridge: bool,
    ) -> Result<(), DriverError> {
        self.ack(Request::Bolus {
            dose_ug,
            duration_s,
            bridge,
        })
        .await
    }

    pub async fn refill(
        &self,
        volume_nl: u64,
        concentration_ug_per_ml: u32,
    ) -> Result<(), DriverError> {
        self.ack(Request::Refill {
            volume_nl,
            concentration_ug_per_ml,
        })
        .await
    }

    pub async fn stop(&self) -> Result<(), DriverError> {
        self.ack(Request::StopTherapy).await
    }

    pub async fn resume(&self) -> Result<(), DriverError> {
        self.ack(Request::ResumeTherapy).await
    }

    pub async fn set_threshold(&self, threshold_nl: u64) -> Result<(), DriverError> {
        self.ack(Request::SetLowReservoirThreshold { threshold_nl })
            .await
    }

    pub async fn acknowledge(
        &self,
        alarm: AlarmKind,
        action: AlarmAction,
    ) -> Result<(), DriverError> {
        self.ack(Request::AcknowledgeAlarm { alarm, action }).await
    }

    pub async fn read_event_log_page(&self, page: u16) -> Result<EventLogPage, DriverError> {
        expect_body!(self.request(&Request::ReadEventLog { page }).await?, "read-event-log", ResponseBody::EventLogPage(p) => p)
    }

    /// Up to `max_entries` log entries from `first_index` on (docs/protocol.md, 12.10).
    pub async fn read_event_log_entries(
        &self,
        first_index: u32,
        max_entries: u8,
    ) -> Result<EventLogPage, DriverError> {
        let request = Request::ReadEventLogEntries {
            first_index,
            max_entries,
        };
        expect_body!(self.request(&request).await?, "read-event-log-entries", ResponseBody::EventLogPage(p) => p)
    }

    /// Reads the whole event log, page by page.
    pub async fn read_full_log(&self) -> Result<Vec<LogEntry>, DriverError> {
        let mut entries = Vec::new();
        for page in 0..=u16::MAX {
            let p = self.read_event_log_page(page).await?;
            let done = p.entries.is_empty() || p.first_index + LOG_PAGE_LEN as u32 >= p.total;
            entries.extend(p.entries);
            if done {
                break;
            }
        }
        Ok(entries)
    }

    /// Test mode: moves device time to `to_ms`; returns the device time after the advance.
    pub async fn advance_to(&self, to_ms: u64) -> Result<u64, DriverError> {
        expect_body!(self.request(&Request::AdvanceTime { to_ms }).await?, "advance-time", ResponseBody::Time { device_time_ms } => device_time_ms)
    }

    pub async fn inject_fault(&self, fault: Fault) -> Result<(), DriverError> {
        self.ack(Request::InjectFault { fault }).await
    }

    pub async fn clear_fault(&self, fault: FaultKind) -> Result<(), DriverError> {
        self.ack(Request::ClearFault { fault }).await
    }

    /// Test mode: moves device time to `to_ms` and returns the bench plant and the status
    /// after the advance, in one round trip (docs/protocol.md 12.16). A device that does not
    /// know the request refuses it with [`NackCode::UnknownMessage`] and changes nothing.
    pub async fn advance_and_sample(&self, to_ms: u64) -> Result<(Plant, Status), DriverError> {
        expect_body!(self.request(&Request::AdvanceAndSample { to_ms }).await?, "advance-and-sample", ResponseBody::Sample { plant, status } => (plant, status))
    }

    /// Test mode: the bench plant (actual reservoir, catheter tip, pocket).
    pub async fn plant(&self) -> Result<Plant, DriverError> {
        expect_body!(self.request(&Request::ReadPlant).await?, "read-plant", ResponseBody::Plant(p) => p)
    }
}

#[path = "pump_pipeline.rs"]
mod pipeline;

#[cfg(test)]
#[path = "pump_tests.rs"]
mod tests;
