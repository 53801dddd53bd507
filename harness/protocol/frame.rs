//! Frames on the wire: header, payload and CRC inside a COBS block, delimited by 0x00.

use super::cobs::{cobs_decode, cobs_encode, CobsError};
use super::crc::crc16_ibm3740;
use super::message::{Message, PayloadError};

/// Protocol version carried in every frame header.
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest decoded frame (header + payload + CRC), enforced by encoder and decoder on both sides.
pub const MAX_FRAME_LEN: usize = 256;
/// Largest encoded frame on the wire, delimiter included: COBS adds at most one byte per 254.
pub const MAX_WIRE_FRAME_LEN: usize = MAX_FRAME_LEN + MAX_FRAME_LEN.div_ceil(254) + 1;
/// Frame delimiter.
pub const DELIMITER: u8 = 0x00;
/// Version (1) + sequence (2) + type (1) + CRC (2).
pub const HEADER_AND_CRC_LEN: usize = 6;

/// The sequence number after `seq`, wrapping and skipping 0, which no frame carries: one rule
/// for host requests (driver) and device events (emulator) alike.
pub fn next_seq(seq: u16) -> u16 {
    match seq.wrapping_add(1) {
        0 => 1,
        s => s,
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub seq: u16,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes exceeds the {MAX_FRAME_LEN}-byte maximum")]
    TooLong { len: usize },
    #[error("frame of {len} bytes is shorter than the {HEADER_AND_CRC_LEN}-byte header and CRC")]
    TooShort { len: usize },
    #[error(transparent)]
    Cobs(#[from] CobsError),
    #[error("CRC mismatch: frame carries 0x{found:04X}, bytes give 0x{computed:04X}")]
    BadCrc { found: u16, computed: u16, seq: u16 },
    #[error("protocol version {found} in byte 0; this host speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion { found: u8, seq: u16 },
    #[error("payload of message type 0x{type_byte:02X} (header is 4 bytes, so payload byte N is frame byte N+4): {source}")]
    Payload {
        type_byte: u8,
        seq: u16,
        #[source]
        source: PayloadError,
    },
}

impl FrameError {
    /// The sequence number, when the header was intact enough to read one.
    pub fn seq(&self) -> Option<u16> {
        match self {
            FrameError::BadCrc { seq, .. }
            | FrameError::UnsupportedVersion { seq, .. }
            | FrameError::Payload { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

/// The decoded (pre-COBS) bytes of a frame: version, seq, type, payload, CRC.
pub fn frame_bytes(seq: u16, message: &Message) -> Vec<u8> {
    let payload = message.encode_payload();
    let mut raw = Vec::with_capacity(payload.len() + HEADER_AND_CRC_LEN);
    raw.push(PROTOCOL_VERSION);
    raw.extend_from_slice(&seq.to_le_bytes());
    raw.push(message.type_byte());
    raw.extend_from_slice(&payload);
    let crc = crc16_ibm3740(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    raw
}

/// Encodes a frame for the wire, trailing delimiter included.
pub fn encode_frame(seq: u16, message: &Message) -> Result<Vec<u8>, FrameError> {
    let raw = frame_bytes(seq, message);
    if raw.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLong { len: raw.len() });
    }
    let mut wire = cobs_encode(&raw);
    wire.push(DELIMITER);
    Ok(wire)
}

/// Decodes one COBS block (the bytes between two delimiters, delimiter excluded).
pub fn decode_frame(block: &[u8]) -> Result<Frame, FrameError> {
    if block.len() > MAX_WIRE_FRAME_LEN {
        return Err(FrameError::TooLong { len: block.len() });
    }
    let raw = cobs_decode(block)?;
    decode_raw_frame(&raw)
}

/// Decodes the un-stuffed bytes of a frame.
pub fn decode_raw_frame(raw: &[u8]) -> Result<Frame, FrameError> {
    if raw.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLong { len: raw.len() });
    }
    if raw.len() < HEADER_AND_CRC_LEN {
        return Err(FrameError::TooShort { len: raw.len() });
    }
    let (body, crc_bytes) = raw.split_at(raw.len() - 2);
    let found = u16::from_le_bytes([crc_bytes[0], crc_bytes[1]]);
    let computed = crc16_ibm3740(body);
    let seq = u16::from_le_bytes([body[1], body[2]]);
    if found != computed {
        return Err(FrameError::BadCrc {
            found,
            computed,
            seq,
        });
    }
    if body[0] != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion {
            found: body[0],
            seq,
        });
    }
    let type_byte = body[3];
    let message = Message::decode(type_byte, &body[4..]).map_err(|source| FrameError::Payload {
        type_byte,
        seq,
        source,
    })?;
    Ok(Frame { seq, message })
}
