//! Consistent Overhead Byte Stuffing: removes every 0x00 so that 0x00 can delimit frames.

/// Encodes `data` with COBS. The result contains no zero byte and does not include the delimiter.
pub fn cobs_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 254 + 2);
    let mut code_index = 0;
    out.push(0);
    let mut code: u8 = 1;
    for &byte in data {
        if byte == 0 {
            out[code_index] = code;
            code_index = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(byte);
            code += 1;
            if code == 0xFF {
                out[code_index] = code;
                code_index = out.len();
                out.push(0);
                code = 1;
            }
        }
    }
    out[code_index] = code;
    out
}

/// Why a COBS block could not be decoded; `offset` is the index of the offending byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CobsError {
    #[error("zero byte inside a COBS block at offset {offset}")]
    ZeroInBlock { offset: usize },
    #[error("COBS code byte at offset {offset} runs past the end of the frame")]
    Truncated { offset: usize },
}

/// Decodes one COBS block (without its delimiter).
pub fn cobs_decode(encoded: &[u8]) -> Result<Vec<u8>, CobsError> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut index = 0;
    while index < encoded.len() {
        let code = encoded[index];
        if code == 0 {
            return Err(CobsError::ZeroInBlock { offset: index });
        }
        let block_end = index + code as usize;
        if block_end > encoded.len() {
            return Err(CobsError::Truncated { offset: index });
        }
        for (offset, &byte) in encoded.iter().enumerate().take(block_end).skip(index + 1) {
            if byte == 0 {
                return Err(CobsError::ZeroInBlock { offset });
            }
            out.push(byte);
        }
        index = block_end;
        if code != 0xFF && index < encoded.len() {
            out.push(0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Vectors from the COBS paper (Cheshire & Baker) and its common test tables.
        let cases: &[(&[u8], &[u8])] = &[
            (&[], &[0x01]),
            (&[0x00], &[0x01, 0x01]),
            (&[0x00, 0x00], &[0x01, 0x01, 0x01]),
            (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33]),
            (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01]),
        ];
        for (raw, encoded) in cases {
            assert_eq!(cobs_encode(raw), *encoded, "encode {raw:02X?}");
            assert_eq!(cobs_decode(encoded).unwrap(), *raw, "decode {encoded:02X?}");
        }
    }

    #[test]
    fn long_run_without_zero_splits_at_254() {
        let raw: Vec<u8> = (1..=254u8).collect();
        let encoded = cobs_encode(&raw);
        assert_eq!(encoded[0], 0xFF);
        assert_eq!(encoded.len(), 256);
        assert_eq!(cobs_decode(&encoded).unwrap(), raw);
    }

    #[test]
    fn truncated_block_names_the_code_byte() {
        assert_eq!(
            cobs_decode(&[0x05, 0x11]),
            Err(CobsError::Truncated { offset: 0 })
        );
    }
}
