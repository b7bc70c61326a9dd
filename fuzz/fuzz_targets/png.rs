//! One PNG stamp's bytes. The body is in `fuzz/bodies.rs`, shared with the
//! normal suite's short run (`tests/fuzz_smoke.rs`).
#![no_main]

#[allow(dead_code)] // each target uses one body
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::png(data));
