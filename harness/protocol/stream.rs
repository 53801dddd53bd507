//! Reassembles frames from a byte stream cut at arbitrary points, resynchronising on 0x00.

use super::frame::{decode_frame, Frame, FrameError, DELIMITER, MAX_WIRE_FRAME_LEN};

/// Collects bytes until a delimiter and hands out whole frames.
///
/// A block longer than the maximum is discarded up to the next delimiter (reported once as
/// `TooLong`), so one corrupted delimiter costs at most two frames, never the link.
#[derive(Debug, Default)]
pub struct FrameAssembler {
    block: Vec<u8>,
    overflowed: bool,
}

impl FrameAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns one result per delimiter seen. Empty blocks (back-to-back
    /// delimiters, used to flush a receiver) are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            if byte == DELIMITER {
                if self.overflowed {
                    out.push(Err(FrameError::TooLong {
                        len: self.block.len().max(MAX_WIRE_FRAME_LEN + 1),
                    }));
                } else if !self.block.is_empty() {
                    out.push(decode_frame(&self.block));
                }
                self.block.clear();
                self.overflowed = false;
            } else if self.overflowed {
                continue;
            } else if self.block.len() >= MAX_WIRE_FRAME_LEN {
                self.overflowed = true;
                self.block.clear();
            } else {
                self.block.push(byte);
            }
        }
        out
    }

    /// Bytes buffered towards an unfinished frame.
    pub fn pending(&self) -> usize {
        self.block.len()
    }
}
