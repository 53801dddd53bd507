//! In-memory links for unit tests: two connected ends, no file descriptors involved.

use super::BoxLink;

/// Two connected in-memory link ends (host side, device side).
pub fn memory_pair() -> (BoxLink, BoxLink) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (Box::new(a), Box::new(b))
}
