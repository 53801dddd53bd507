//! Speed benchmarks behind docs/performance.md (run with `cargo bench --bench speed`).

fn main() {}
