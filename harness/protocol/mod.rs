//! The host–pump wire protocol (docs/protocol.md): COBS framing, CRC, typed messages.

pub mod cobs;
pub mod crc;
pub mod frame;
pub mod message;
pub mod stream;
pub mod types;

pub use frame::{
    decode_frame, encode_frame, next_seq, Frame, FrameError, MAX_FRAME_LEN, MAX_WIRE_FRAME_LEN,
    PROTOCOL_VERSION,
};
pub use message::*;
pub use stream::FrameAssembler;
pub use types::*;
