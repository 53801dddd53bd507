//! Typed messages of the pump protocol and their little-endian payload encodings.

use super::types::*;

/// Message type byte of a request; the OK response to it is `kind | 0x80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RequestKind {
    Identify = 0x01,
    Status = 0x02,
    ProgramContinuous = 0x03,
    ProgramFlexible = 0x04,
    Bolus = 0x05,
    Refill = 0x06,
    StopTherapy = 0x07,
    ResumeTherapy = 0x08,
    SetLowReservoirThreshold = 0x09,
    AcknowledgeAlarm = 0x0A,
    ReadEventLog = 0x0B,
    ReadEventLogEntries = 0x0C,
    AdvanceTime = 0x40,
    InjectFault = 0x41,
    ClearFault = 0x42,
    ReadPlant = 0x43,
    AdvanceAndSample = 0x44,
}

impl RequestKind {
    pub const ALL: &'static [RequestKind] = &[
        RequestKind::Identify,
        RequestKind::Status,
        RequestKind::ProgramContinuous,
        RequestKind::ProgramFlexible,
        RequestKind::Bolus,
        RequestKind::Refill,
        RequestKind::StopTherapy,
        RequestKind::ResumeTherapy,
        RequestKind::SetLowReservoirThreshold,
        RequestKind::AcknowledgeAlarm,
        RequestKind::ReadEventLog,
        RequestKind::ReadEventLogEntries,
        RequestKind::AdvanceTime,
        RequestKind::InjectFault,
        RequestKind::ClearFault,
        RequestKind::ReadPlant,
        RequestKind::AdvanceAndSample,
    ];

    pub fn from_wire(byte: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| *kind as u8 == byte)
    }

    /// Test-mode requests are refused with `NotInTestMode` unless the unit is a test unit.
    pub fn is_test_mode(self) -> bool {
        (self as u8) & 0x40 != 0
    }

    /// Whether the request changes therapy (and so must never be applied twice).
    pub fn changes_therapy(self) -> bool {
        !matches!(
            self,
            RequestKind::Identify
                | RequestKind::Status
                | RequestKind::ReadEventLog
                | RequestKind::ReadEventLogEntries
                | RequestKind::ReadPlant
        )
    }

    pub fn response_type(self) -> u8 {
        self as u8 | 0x80
    }
}

/// Message type byte of a NACK response.
pub const NACK_TYPE: u8 = 0x7F;
/// Message type bytes of unsolicited events.
pub const EVENT_ALARM_RAISED: u8 = 0xE1;
pub const EVENT_ALARM_CLEARED: u8 = 0xE2;
pub const EVENT_THERAPY_STATE_CHANGED: u8 = 0xE3;

/// Longest string (model, serial, firmware) in an Identity response, in bytes.
pub const MAX_TEXT_LEN: usize = 32;
/// Flexible schedules hold at most this many steps a day; a longer one is refused.
pub const MAX_FLEX_STEPS: usize = 13;
/// Event-log entries per page.
pub const LOG_PAGE_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlexStep {
    /// Minute of the device day (0..1440) at which this step's rate starts.
    pub start_minute: u16,
    pub dose_ug_per_day: u32,
}

/// A fault to inject, with its value where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    CatheterDisconnect,
    CatheterOcclusion,
    MotorStall,
    /// Sets the battery state of charge, in per mille of a new cell.
    BatteryCharge {
        permille: u16,
    },
    /// The volume that physically enters the reservoir at the next refill; the rest of the
    /// programmed volume goes into the tissue pocket.
    PhysicalRefillVolume {
        volume_nl: u64,
    },
    /// Actual stroke volume differs from nominal by this much, in hundredths of a percent.
    FlowBias {
        centi_percent: i32,
    },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::CatheterDisconnect => FaultKind::CatheterDisconnect,
            Fault::CatheterOcclusion => FaultKind::CatheterOcclusion,
            Fault::MotorStall => FaultKind::MotorStall,
            Fault::BatteryCharge { .. } => FaultKind::BatteryCharge,
            Fault::PhysicalRefillVolume { .. } => FaultKind::PhysicalRefillVolume,
            Fault::FlowBias { .. } => FaultKind::FlowBias,
        }
    }

    /// The 8-byte signed value carried on the wire (0 for faults without one).
    pub fn wire_value(&self) -> i64 {
        match *self {
            Fault::BatteryCharge { permille } => i64::from(permille),
            Fault::PhysicalRefillVolume { volume_nl } => volume_nl as i64,
            Fault::FlowBias { centi_percent } => i64::from(centi_percent),
            _ => 0,
        }
    }

    pub fn from_wire(kind: FaultKind, value: i64) -> Option<Fault> {
        Some(match kind {
            FaultKind::CatheterDisconnect => Fault::CatheterDisconnect,
            FaultKind::CatheterOcclusion => Fault::CatheterOcclusion,
            FaultKind::MotorStall => Fault::MotorStall,
            FaultKind::BatteryCharge => Fault::BatteryCharge {
                permille: u16::try_from(value).ok()?,
            },
            FaultKind::PhysicalRefillVolume => Fault::PhysicalRefillVolume {
                volume_nl: u64::try_from(value).ok()?,
            },
            FaultKind::FlowBias => Fault::FlowBias {
                centi_percent: i32::try_from(value).ok()?,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Identify,
    Status,
    ProgramContinuous {
        dose_ug_per_day: u32,
    },
    ProgramFlexible {
        steps: Vec<FlexStep>,
    },
    Bolus {
        dose_ug: u32,
        duration_s: u32,
        bridge: bool,
    },
    Refill {
        volume_nl: u64,
        concentration_ug_per_ml: u32,
    },
    StopTherapy,
    ResumeTherapy,
    SetLowReservoirThreshold {
        threshold_nl: u64,
    },
    AcknowledgeAlarm {
        alarm: AlarmKind,
        action: AlarmAction,
    },
    ReadEventLog {
        page: u16,
    },
    /// Up to `max_entries` (1 ..= [`LOG_PAGE_LEN`]) entries from `first_index` on: short frames
    /// for a lossy link, and one request to learn the total and read what is new.
    ReadEventLogEntries {
        first_index: u32,
        max_entries: u8,
    },
    AdvanceTime {
        to_ms: u64,
    },
    InjectFault {
        fault: Fault,
    },
    ClearFault {
        fault: FaultKind,
    },
    ReadPlant,
    /// Test mode: Advance time to `to_ms`, then the status and the bench plant, in one answer
    /// (one round trip a sample instead of three).
    AdvanceAndSample {
        to_ms: u64,
    },
}

impl Request {
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Identify => RequestKind::Identify,
            Request::Status => RequestKind::Status,
            Request::ProgramContinuous { .. } => RequestKind::ProgramContinuous,
            Request::ProgramFlexible { .. } => RequestKind::ProgramFlexible,
            Request::Bolus { .. } => RequestKind::Bolus,
            Request::Refill { .. } => RequestKind::Refill,
            Request::StopTherapy => RequestKind::StopTherapy,
            Request::ResumeTherapy => RequestKind::ResumeTherapy,
            Request::SetLowReservoirThreshold { .. } => RequestKind::SetLowReservoirThreshold,
            Request::AcknowledgeAlarm { .. } => RequestKind::AcknowledgeAlarm,
            Request::ReadEventLog { .. } => RequestKind::ReadEventLog,
            Request::ReadEventLogEntries { .. } => RequestKind::ReadEventLogEntries,
            Request::AdvanceTime { .. } => RequestKind::AdvanceTime,
            Request::InjectFault { .. } => RequestKind::InjectFault,
            Request::ClearFault { .. } => RequestKind::ClearFault,
            Request::ReadPlant => RequestKind::ReadPlant,
            Request::AdvanceAndSample { .. } => RequestKind::AdvanceAndSample,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub model: String,
    pub serial_number: String,
    pub firmware_version: String,
    pub protocol_version: u8,
    pub reservoir_capacity_nl: u64,
    pub test_unit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveAlarm {
    pub alarm: AlarmKind,
    pub priority: Priority,
    pub state: AlarmState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub device_time_ms: u64,
    /// What the pump believes is left: the programmed refill volume less what it believes it delivered.
    pub calculated_reservoir_nl: u64,
    /// Cumulative volume the pump believes it delivered since its epoch.
    pub delivered_nl: u64,
    pub dose_rate_ug_per_day: u32,
    pub concentration_ug_per_ml: u32,
    pub low_reservoir_threshold_nl: u64,
    pub therapy_state: TherapyState,
    pub battery_permille: u16,
    pub elective_replacement: bool,
    pub end_of_service: bool,
    pub alarms: Vec<ActiveAlarm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    pub device_time_ms: u64,
    pub kind: LogEntryKind,
    /// Alarm, therapy state or fault byte, per `kind` (docs/protocol.md); 0 where unused.
    pub code: u8,
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogPage {
    /// Entries in the log now.
    pub total: u32,
    /// Index of the first entry on this page.
    pub first_index: u32,
    pub entries: Vec<LogEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plant {
    pub actual_reservoir_nl: u64,
    /// Cumulative volume that left the catheter tip into the intrathecal space (the balance vessel on a bench).
    pub tip_nl: u64,
    /// Cumulative volume lost into the tissue pocket (disconnect leakage, pocket fill).
    pub pocket_nl: u64,
    pub catheter: CatheterState,
    pub motor_stalled: bool,
    pub flow_bias_centi_percent: i32,
}

/// The body of an OK response; which one follows from the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    Ack,
    Identity(Identity),
    Status(Status),
    EventLogPage(EventLogPage),
    Time {
        device_time_ms: u64,
    },
    Plant(Plant),
    /// The answer to Advance and sample: the plant, then the status, after the advance.
    Sample {
        plant: Plant,
        status: Status,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    AlarmRaised {
        device_time_ms: u64,
        alarm: AlarmKind,
        priority: Priority,
    },
    AlarmCleared {
        device_time_ms: u64,
        alarm: AlarmKind,
    },
    TherapyStateChanged {
        device_time_ms: u64,
        state: TherapyState,
    },
}

impl Event {
    pub fn device_time_ms(&self) -> u64 {
        match *self {
            Event::AlarmRaised { device_time_ms, .. }
            | Event::AlarmCleared { device_time_ms, .. }
            | Event::TherapyStateChanged { device_time_ms, .. } => device_time_ms,
        }
    }
}

/// Everything that can travel inside a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response {
        request: RequestKind,
        body: ResponseBody,
    },
    Nack {
        request_type: u8,
        code: NackCode,
    },
    Event(Event),
}

/// Why a payload could not be decoded; offsets count from the first payload byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("unknown message type 0x{0:02X}")]
    UnknownType(u8),
    #[error("payload ends at byte {offset} but {needed} more bytes were expected for {field}")]
    Short {
        field: &'static str,
        offset: usize,
        needed: usize,
    },
    #[error("{extra} unexpected bytes after the payload, starting at byte {offset}")]
    Trailing { offset: usize, extra: usize },
    #[error("byte {offset}: 0x{value:02X} is not a valid {field}")]
    BadValue {
        field: &'static str,
        offset: usize,
        value: u8,
    },
    #[error("byte {offset}: text field {field} is not UTF-8 or longer than {MAX_TEXT_LEN} bytes")]
    BadText { field: &'static str, offset: usize },
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn text(&mut self, s: &str) {
        // Cut at a character boundary: half a UTF-8 character would make the receiver refuse
        // the whole frame.
        let mut end = s.len().min(MAX_TEXT_LEN);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &s.as_bytes()[..end];
        self.u8(bytes.len() as u8);
        self.0.extend_from_slice(bytes);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PayloadError> {
        if self.bytes.len() - self.at < n {
            return Err(PayloadError::Short {
                field,
                offset: self.bytes.len(),
                needed: n - (self.bytes.len() - self.at),
            });
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, PayloadError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, PayloadError> {
        Ok(u16::from_le_bytes(self.take(2, field)?.try_into().unwrap()))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, PayloadError> {
        Ok(u32::from_le_bytes(self.take(4, field)?.try_into().unwrap()))
    }
    fn i32(&mut self, field: &'static str) -> Result<i32, PayloadError> {
        Ok(i32::from_le_bytes(self.take(4, field)?.try_into().unwrap()))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, PayloadError> {
        Ok(u64::from_le_bytes(self.take(8, field)?.try_into().unwrap()))
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, PayloadError> {
        Ok(i64::from_le_bytes(self.take(8, field)?.try_into().unwrap()))
    }
    fn flag(&mut self, field: &'static str) -> Result<bool, PayloadError> {
        let offset = self.at;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(PayloadError::BadValue {
                field,
                offset,
                value,
            }),
        }
    }
    fn enumeration<T>(
        &mut self,
        field: &'static str,
        from_wire: fn(u8) -> Option<T>,
    ) -> Result<T, PayloadError> {
        let offset = self.at;
        let value = self.u8(field)?;
        from_wire(value).ok_or(PayloadError::BadValue {
            field,
            offset,
            value,
        })
    }
    fn text(&mut self, field: &'static str) -> Result<String, PayloadError> {
        let offset = self.at;
        let len = self.u8(field)? as usize;
        if len > MAX_TEXT_LEN {
            return Err(PayloadError::BadText { field, offset });
        }
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| PayloadError::BadText { field, offset })
    }
    fn finish(self) -> Result<(), PayloadError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(PayloadError::Trailing {
                offset: self.at,
                extra: self.bytes.len() - self.at,
            })
        }
    }
}

impl Message {
    /// The message type byte that goes into the frame header.
    pub fn type_byte(&self) -> u8 {
        match self {
            Message::Request(request) => request.kind() as u8,
            Message::Response { request, .. } => request.response_type(),
            Message::Nack { .. } => NACK_TYPE,
            Message::Event(Event::AlarmRaised { .. }) => EVENT_ALARM_RAISED,
            Message::Event(Event::AlarmCleared { .. }) => EVENT_ALARM_CLEARED,
            Message::Event(Event::TherapyStateChanged { .. }) => EVENT_THERAPY_STATE_CHANGED,
        }
    }

    pub fn encode_payload(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(32));
        match self {
            Message::Request(request) => encode_request(&mut w, request),
            Message::Response { body, .. } => encode_response(&mut w, body),
            Message::Nack { request_type, code } => {
                w.u8(*request_type);
                w.u8(code.to_wire());
            }
            Message::Event(event) => encode_event(&mut w, event),
        }
        w.0
    }

    pub fn decode(type_byte: u8, payload: &[u8]) -> Result<Message, PayloadError> {
        let mut r = Reader {
            bytes: payload,
            at: 0,
        };
        let message = if type_byte == NACK_TYPE {
            Message::Nack {
                request_type: r.u8("request type")?,
                code: r.enumeration("NACK code", NackCode::from_wire)?,
            }
        } else if let Some(kind) = RequestKind::from_wire(type_byte) {
            Message::Request(decode_request(kind, &mut r)?)
        } else if let Some(kind) = (type_byte & 0x80 != 0)
            .then(|| RequestKind::from_wire(type_byte & 0x7F))
            .flatten()
        {
            Message::Response {
                request: kind,
                body: decode_response(kind, &mut r)?,
            }
        } else {
            Message::Event(decode_event(type_byte, &mut r)?)
        };
        r.finish()?;
        Ok(message)
    }
}

fn encode_request(w: &mut Writer, request: &Request) {
    match request {
        Request::Identify
        | Request::Status
        | Request::StopTherapy
        | Request::ResumeTherapy
        | Request::ReadPlant => {}
        Request::ProgramContinuous { dose_ug_per_day } => w.u32(*dose_ug_per_day),
        Request::ProgramFlexible { steps } => {
            w.u8(steps.len() as u8);
            for step in steps {
                w.u16(step.start_minute);
                w.u32(step.dose_ug_per_day);
            }
        }
        Request::Bolus {
            dose_ug,
            duration_s,
            bridge,
        } => {
            w.u32(*dose_ug);
            w.u32(*duration_s);
            w.u8(u8::from(*bridge));
        }
        Request::Refill {
            volume_nl,
            concentration_ug_per_ml,
        } => {
            w.u64(*volume_nl);
            w.u32(*concentration_ug_per_ml);
        }
        Request::SetLowReservoirThreshold { threshold_nl } => w.u64(*threshold_nl),
        Request::AcknowledgeAlarm { alarm, action } => {
            w.u8(alarm.to_wire());
            w.u8(action.to_wire());
        }
        Request::ReadEventLog { page } => w.u16(*page),
        Request::ReadEventLogEntries {
            first_index,
            max_entries,
        } => {
            w.u32(*first_index);
            w.u8(*max_entries);
        }
        Request::AdvanceTime { to_ms } | Request::AdvanceAndSample { to_ms } => w.u64(*to_ms),
        Request::InjectFault { fault } => {
            w.u8(fault.kind().to_wire());
            w.i64(fault.wire_value());
        }
        Request::ClearFault { fault } => w.u8(fault.to_wire()),
    }
}

fn decode_request(kind: RequestKind, r: &mut Reader) -> Result<Request, PayloadError> {
    Ok(match kind {
        RequestKind::Identify => Request::Identify,
        RequestKind::Status => Request::Status,
        RequestKind::StopTherapy => Request::StopTherapy,
        RequestKind::ResumeTherapy => Request::ResumeTherapy,
        RequestKind::ReadPlant => Request::ReadPlant,
        RequestKind::ProgramContinuous => Request::ProgramContinuous {
            dose_ug_per_day: r.u32("dose rate")?,
        },
        RequestKind::ProgramFlexible => {
            let count = r.u8("step count")?;
            let mut steps = Vec::with_capacity(count as usize);
            for _ in 0..count {
                steps.push(FlexStep {
                    start_minute: r.u16("step start minute")?,
                    dose_ug_per_day: r.u32("step dose rate")?,
                });
            }
            Request::ProgramFlexible { steps }
        }
        RequestKind::Bolus => Request::Bolus {
            dose_ug: r.u32("bolus dose")?,
            duration_s: r.u32("bolus duration")?,
            bridge: r.flag("bridge flag")?,
        },
        RequestKind::Refill => Request::Refill {
            volume_nl: r.u64("refill volume")?,
            concentration_ug_per_ml: r.u32("concentration")?,
        },
        RequestKind::SetLowReservoirThreshold => Request::SetLowReservoirThreshold {
            threshold_nl: r.u64("threshold")?,
        },
        RequestKind::AcknowledgeAlarm => Request::AcknowledgeAlarm {
            alarm: r.enumeration("alarm", AlarmKind::from_wire)?,
            action: r.enumeration("alarm action", AlarmAction::from_wire)?,
        },
        RequestKind::ReadEventLog => Request::ReadEventLog {
            page: r.u16("page")?,
        },
        RequestKind::ReadEventLogEntries => Request::ReadEventLogEntries {
            first_index: r.u32("first index")?,
            max_entries: r.u8("entry count")?,
        },
        RequestKind::AdvanceTime => Request::AdvanceTime {
            to_ms: r.u64("target device time")?,
        },
        RequestKind::InjectFault => {
            let offset = r.at;
            let kind = r.enumeration("fault", FaultKind::from_wire)?;
            let value = r.i64("fault value")?;
            Request::InjectFault {
                fault: Fault::from_wire(kind, value).ok_or(PayloadError::BadValue {
                    field: "fault value",
                    offset: offset + 1,
                    value: value.to_le_bytes()[0],
                })?,
            }
        }
        RequestKind::ClearFault => Request::ClearFault {
            fault: r.enumeration("fault", FaultKind::from_wire)?,
        },
        RequestKind::AdvanceAndSample => Request::AdvanceAndSample {
            to_ms: r.u64("target device time")?,
        },
    })
}

fn encode_response(w: &mut Writer, body: &ResponseBody) {
    match body {
        ResponseBody::Ack => {}
        ResponseBody::Identity(id) => {
            w.text(&id.model);
            w.text(&id.serial_number);
            w.text(&id.firmware_version);
            w.u8(id.protocol_version);
            w.u64(id.reservoir_capacity_nl);
            w.u8(u8::from(id.test_unit));
        }
        ResponseBody::Status(s) => encode_status(w, s),
        ResponseBody::EventLogPage(page) => {
            w.u32(page.total);
            w.u32(page.first_index);
            w.u8(page.entries.len() as u8);
            for entry in &page.entries {
                w.u64(entry.device_time_ms);
                w.u8(entry.kind.to_wire());
                w.u8(entry.code);
                w.i64(entry.value);
            }
        }
        ResponseBody::Time { device_time_ms } => w.u64(*device_time_ms),
        ResponseBody::Plant(p) => encode_plant(w, p),
        ResponseBody::Sample { plant, status } => {
            encode_plant(w, plant);
            encode_status(w, status);
        }
    }
}

fn encode_status(w: &mut Writer, s: &Status) {
    w.u64(s.device_time_ms);
    w.u64(s.calculated_reservoir_nl);
    w.u64(s.delivered_nl);
    w.u32(s.dose_rate_ug_per_day);
    w.u32(s.concentration_ug_per_ml);
    w.u64(s.low_reservoir_threshold_nl);
    w.u8(s.therapy_state.to_wire());
    w.u16(s.battery_permille);
    w.u8(u8::from(s.elective_replacement) | (u8::from(s.end_of_service) << 1));
    w.u8(s.alarms.len() as u8);
    for alarm in &s.alarms {
        w.u8(alarm.alarm.to_wire());
        w.u8(alarm.priority.to_wire());
        w.u8(alarm.state.to_wire());
    }
}

fn encode_plant(w: &mut Writer, p: &Plant) {
    w.u64(p.actual_reservoir_nl);
    w.u64(p.tip_nl);
    w.u64(p.pocket_nl);
    w.u8(p.catheter.to_wire());
    w.u8(u8::from(p.motor_stalled));
    w.i32(p.flow_bias_centi_percent);
}

fn decode_response(kind: RequestKind, r: &mut Reader) -> Result<ResponseBody, PayloadError> {
    Ok(match kind {
        RequestKind::Identify => ResponseBody::Identity(Identity {
            model: r.text("model")?,
            serial_number: r.text("serial number")?,
            firmware_version: r.text("firmware version")?,
            protocol_version: r.u8("protocol version")?,
            reservoir_capacity_nl: r.u64("reservoir capacity")?,
            test_unit: r.flag("test-unit flag")?,
        }),
        RequestKind::Status => ResponseBody::Status(decode_status(r)?),
        RequestKind::ReadEventLog | RequestKind::ReadEventLogEntries => {
            let total = r.u32("log total")?;
            let first_index = r.u32("first index")?;
            let count = r.u8("entry count")?;
            let mut entries = Vec::with_capacity(count as usize);
            for _ in 0..count {
                entries.push(LogEntry {
                    device_time_ms: r.u64("entry time")?,
                    kind: r.enumeration("entry kind", LogEntryKind::from_wire)?,
                    code: r.u8("entry code")?,
                    value: r.i64("entry value")?,
                });
            }
            ResponseBody::EventLogPage(EventLogPage {
                total,
                first_index,
                entries,
            })
        }
        RequestKind::AdvanceTime => ResponseBody::Time {
            device_time_ms: r.u64("device time")?,
        },
        RequestKind::ReadPlant => ResponseBody::Plant(decode_plant(r)?),
        RequestKind::AdvanceAndSample => ResponseBody::Sample {
            plant: decode_plant(r)?,
            status: decode_status(r)?,
        },
        _ => ResponseBody::Ack,
    })
}

fn decode_status(r: &mut Reader) -> Result<Status, PayloadError> {
    let device_time_ms = r.u64("device time")?;
    let calculated_reservoir_nl = r.u64("calculated reservoir")?;
    let delivered_nl = r.u64("delivered volume")?;
    let dose_rate_ug_per_day = r.u32("dose rate")?;
    let concentration_ug_per_ml = r.u32("concentration")?;
    let low_reservoir_threshold_nl = r.u64("low-reservoir threshold")?;
    let therapy_state = r.enumeration("therapy state", TherapyState::from_wire)?;
    let battery_permille = r.u16("battery state of charge")?;
    let flags_offset = r.at;
    let flags = r.u8("battery flags")?;
    if flags & !0b11 != 0 {
        return Err(PayloadError::BadValue {
            field: "battery flags",
            offset: flags_offset,
            value: flags,
        });
    }
    let count = r.u8("alarm count")?;
    let mut alarms = Vec::with_capacity(count as usize);
    for _ in 0..count {
        alarms.push(ActiveAlarm {
            alarm: r.enumeration("alarm", AlarmKind::from_wire)?,
            priority: r.enumeration("priority", Priority::from_wire)?,
            state: r.enumeration("alarm state", AlarmState::from_wire)?,
        });
    }
    Ok(Status {
        device_time_ms,
        calculated_reservoir_nl,
        delivered_nl,
        dose_rate_ug_per_day,
        concentration_ug_per_ml,
        low_reservoir_threshold_nl,
        therapy_state,
        battery_permille,
        elective_replacement: flags & 1 != 0,
        end_of_service: flags & 2 != 0,
        alarms,
    })
}

fn decode_plant(r: &mut Reader) -> Result<Plant, PayloadError> {
    Ok(Plant {
        actual_reservoir_nl: r.u64("actual reservoir")?,
        tip_nl: r.u64("tip volume")?,
        pocket_nl: r.u64("pocket volume")?,
        catheter: r.enumeration("catheter state", CatheterState::from_wire)?,
        motor_stalled: r.flag("motor stalled flag")?,
        flow_bias_centi_percent: r.i32("flow bias")?,
    })
}

fn encode_event(w: &mut Writer, event: &Event) {
    match event {
        Event::AlarmRaised {
            device_time_ms,
            alarm,
            priority,
        } => {
            w.u64(*device_time_ms);
            w.u8(alarm.to_wire());
            w.u8(priority.to_wire());
        }
        Event::AlarmCleared {
            device_time_ms,
            alarm,
        } => {
            w.u64(*device_time_ms);
            w.u8(alarm.to_wire());
        }
        Event::TherapyStateChanged {
            device_time_ms,
            state,
        } => {
            w.u64(*device_time_ms);
            w.u8(state.to_wire());
        }
    }
}

fn decode_event(type_byte: u8, r: &mut Reader) -> Result<Event, PayloadError> {
    Ok(match type_byte {
        EVENT_ALARM_RAISED => Event::AlarmRaised {
            device_time_ms: r.u64("event time")?,
            alarm: r.enumeration("alarm", AlarmKind::from_wire)?,
            priority: r.enumeration("priority", Priority::from_wire)?,
        },
        EVENT_ALARM_CLEARED => Event::AlarmCleared {
            device_time_ms: r.u64("event time")?,
            alarm: r.enumeration("alarm", AlarmKind::from_wire)?,
        },
        EVENT_THERAPY_STATE_CHANGED => Event::TherapyStateChanged {
            device_time_ms: r.u64("event time")?,
            state: r.enumeration("therapy state", TherapyState::from_wire)?,
        },
        other => return Err(PayloadError::UnknownType(other)),
    })
}
