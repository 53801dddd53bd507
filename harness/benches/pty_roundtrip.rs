//! Benchmark: request/response round trip to the emulator over a real pty (docs/performance.md).

fn main() {}
