//! Benchmark: one simulated year of continuous delivery in-process (docs/performance.md).

fn main() {}
