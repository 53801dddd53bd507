//! Serves the pump protocol on a link: frames in, the device model, responses and events out.

use super::device::Device;
use super::link_faults::FaultInjector;
use crate::link::BoxLink;
use crate::protocol::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How device time moves.
#[derive(Debug, Clone, Copy)]
pub enum TimeMode {
    /// Only `AdvanceTime` moves it: 90 device-days in a fraction of a second.
    Virtual,
    /// Device time follows the wall clock from this instant (practice on a bench by hand).
    RealTime(Instant),
}

/// Protocol state of one served link: the retry cache and the event counter.
pub struct Session {
    device: Arc<Mutex<Device>>,
    mode: TimeMode,
    last_request: Option<(u16, Message)>,
    last_response: Vec<u8>,
    event_seq: u16,
}

impl Session {
    pub fn new(device: Arc<Mutex<Device>>, mode: TimeMode) -> Session {
        Session {
            device,
            mode,
            last_request: None,
            last_response: Vec::new(),
            event_seq: 0,
        }
    }

    fn encode(seq: u16, message: &Message) -> Vec<u8> {
        encode_frame(seq, message).unwrap_or_default()
    }

    fn nack(seq: u16, request_type: u8, code: NackCode) -> Vec<u8> {
        Self::encode(seq, &Message::Nack { request_type, code })
    }

    /// Wire bytes for the events the device has produced, each with the next event number.
    fn events(&mut self, device: &mut Device) -> Vec<u8> {
        let mut out = Vec::new();
        for event in device.drain_events() {
            self.event_seq = next_seq(self.event_seq);
            out.extend(Self::encode(self.event_seq, &Message::Event(event)));
        }
        out
    }

    /// Real-time mode: brings the model up to the wall clock; returns event frames to send.
    pub fn tick(&mut self) -> Vec<u8> {
        let TimeMode::RealTime(start) = self.mode else {
            return Vec::new();
        };
        let device = self.device.clone();
        let Ok(mut device) = device.lock() else {
            return Vec::new();
        };
        advance_to_wall_clock(&mut device, start);
        self.events(&mut device)
    }

    /// Everything to send in answer to one received frame (events first, then the response).
    pub fn answer(&mut self, frame: Result<Frame, FrameError>) -> Vec<u8> {
        let frame = match frame {
            Ok(frame) => frame,
            Err(FrameError::BadCrc { seq, .. }) => return Self::nack(seq, 0, NackCode::BadCrc),
            Err(FrameError::UnsupportedVersion { seq, .. }) => {
                return Self::nack(seq, 0, NackCode::UnsupportedVersion)
            }
            Err(FrameError::Payload {
                type_byte,
                seq,
                source,
            }) => {
                // A device-to-host type (a response, NACK or event) is no request whatever
                // its payload: UnknownMessage, as for a type byte nobody defined (protocol §7).
                let device_to_host = type_byte == 0x7F || type_byte & 0x80 != 0;
                let code = if device_to_host || matches!(source, PayloadError::UnknownType(_)) {
                    NackCode::UnknownMessage
                } else {
                    NackCode::MalformedPayload
                };
                return Self::nack(seq, type_byte, code);
            }
            // Too long, too short or not COBS: there is no header to answer.
            Err(_) => return Vec::new(),
        };
        let Message::Request(request) = &frame.message else {
            return Self::nack(
                frame.seq,
                frame.message.type_byte(),
                NackCode::UnknownMessage,
            );
        };
        if self.last_request.as_ref() == Some(&(frame.seq, frame.message.clone())) {
            // A retry: the same bytes under the same number. Answer again, apply nothing.
            return self.last_response.clone();
        }
        let device = self.device.clone();
        let Ok(mut device) = device.lock() else {
            return Vec::new();
        };
        if let TimeMode::RealTime(start) = self.mode {
            advance_to_wall_clock(&mut device, start);
        }
        let result = match (request, self.mode) {
            (Request::AdvanceTime { .. }, TimeMode::RealTime(_))
                if device.config().identity.test_unit =>
            {
                Err(NackCode::NotAllowedInState)
            }
            _ => device.handle(request),
        };
        let mut out = self.events(&mut device);
        let response = match result {
            Ok(body) => Self::encode(
                frame.seq,
                &Message::Response {
                    request: request.kind(),
                    body,
                },
            ),
            Err(code) => Self::nack(frame.seq, request.kind() as u8, code),
        };
        out.extend_from_slice(&response);
        self.last_request = Some((frame.seq, frame.message));
        self.last_response = response;
        out
    }
}

/// Real-time mode: moves the model to what its clock shows after the wall time since `start`.
/// A clock that runs fast (a defect) scales the wall time before the clock's own settings (a
/// start other than 0, a clock that stops) apply; the same for a tick and for a request.
fn advance_to_wall_clock(device: &mut Device, start: Instant) {
    let wall_ms = start.elapsed().as_millis() as f64;
    let fast = device.config().defects.clock_fast_percent;
    let scaled_ms = (wall_ms * (1.0 + fast / 100.0)).max(0.0) as u64;
    let now = device.config().clock.device_time_ms(scaled_ms);
    device.advance_to(now);
}

/// Why serving a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed, or the device hung up for good.
    Closed,
    /// The port was unplugged; plug a new one in after this long and serve it with the same
    /// session, so a re-sent request is still answered from the cache.
    Unplugged(Duration),
}

/// Serves until the link closes or fails.
pub async fn serve_pump(
    link: BoxLink,
    device: Arc<Mutex<Device>>,
    mode: TimeMode,
) -> std::io::Result<()> {
    let mut faults = injector_for(&device);
    let mut session = Session::new(device.clone(), mode);
    serve_pump_with_faults(link, &mut session, &mut faults)
        .await
        .map(|_| ())
}

/// The device's configured link faults, if any.
pub fn injector_for(device: &Arc<Mutex<Device>>) -> Option<FaultInjector> {
    let faults = device
        .lock()
        .map(|d| d.config().link.clone())
        .unwrap_or_default();
    (!faults.is_clean()).then(|| FaultInjector::new(faults))
}

/// Serves with link faults injected between the wire and the protocol session.
pub async fn serve_pump_with_faults(
    mut link: BoxLink,
    session: &mut Session,
    faults: &mut Option<FaultInjector>,
) -> std::io::Result<Ended> {
    let device = session.device.clone();
    let mode = session.mode;
    let mut assembler = FrameAssembler::new();
    let mut buf = vec![0u8; 4096];
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let device_now = || device.lock().map(|d| d.now_ms()).unwrap_or(0);
    loop {
        // Device time before the request: an unplug due at T takes the answer to the first
        // request handled at or after T, not the answer to the advance that reached T.
        let mut before_ms = device_now();
        let out = tokio::select! {
            read = link.read(&mut buf) => {
                let n = read?;
                before_ms = device_now();
                if n == 0 {
                    return Ok(Ended::Closed);
                }
                if let Some(f) = faults.as_mut() {
                    f.incoming(&mut buf[..n]);
                }
                // In real time the device clock is read as it stands when the request comes, not
                // as of the last tick: the harness measures its rate against the host's.
                let mut out = session.tick();
                for frame in assembler.push(&buf[..n]) {
                    out.extend(session.answer(frame));
                }
                out
            }
            _ = ticker.tick(), if matches!(mode, TimeMode::RealTime(_)) => session.tick(),
        };
        if out.is_empty() {
            continue;
        }
        let out = match faults.as_mut() {
            Some(f) => {
                let now = device_now();
                if f.hangs_up_at(now) {
                    // Closing the port is what a device that loses power or a cable does.
                    return Ok(Ended::Closed);
                }
                if let Some(away) = f.unplugs_at(before_ms) {
                    // The request was handled; its answer is lost with the cable.
                    return Ok(Ended::Unplugged(away));
                }
                let (bytes, delay) = f.outgoing(&out);
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                bytes
            }
            None => out,
        };
        link.write_all(&out).await?;
        link.flush().await?;
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
