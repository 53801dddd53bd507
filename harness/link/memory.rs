//! In-memory links: two connected ends, no file descriptors involved. Unit tests use them, and
//! so does `run --link memory` (the in-process emulator for long soaks, not a serial path).

use super::BoxLink;

/// Two connected in-memory link ends (host side, device side).
pub fn memory_pair() -> (BoxLink, BoxLink) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (Box::new(a), Box::new(b))
}
