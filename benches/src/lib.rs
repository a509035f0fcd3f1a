//! Benchmarks live under `benches/`; this library holds shared fixtures.
