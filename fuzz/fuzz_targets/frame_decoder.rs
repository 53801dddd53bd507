//! Fuzz target: arbitrary bytes into the frame decoder and the stream assembler must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumphil::protocol::{decode_frame, frame::decode_raw_frame, FrameAssembler};

fuzz_target!(|data: &[u8]| {
    let _ = decode_frame(data);
    let _ = decode_raw_frame(data);
    let mut assembler = FrameAssembler::new();
    for chunk in data.chunks(7) {
        for frame in assembler.push(chunk).into_iter().flatten() {
            // Whatever decodes must encode again to a frame that decodes to the same thing.
            let wire = pumphil::protocol::encode_frame(frame.seq, &frame.message);
            if let Ok(wire) = wire {
                assert_eq!(decode_frame(&wire[..wire.len() - 1]).ok(), Some(frame));
            }
        }
    }
});
