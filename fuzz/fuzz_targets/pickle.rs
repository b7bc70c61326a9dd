//! The pickle reader on arbitrary bytes, then the FRDEEP batch interpretation of what it
//! decodes. Any panic, stack overflow, hang or out-of-memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobes_models::data::{frdeep, pickle};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The batch loader reads a file and starts with `pickle::load`: only bytes that decode
    // go through it (a per-process temp file), which keeps the target fast.
    if pickle::load(data, Path::new("fuzz.pkl")).is_err() {
        return;
    }
    let f = std::env::temp_dir().join(format!("lobes-fuzz-pickle-{}", std::process::id()));
    if std::fs::write(&f, data).is_ok() {
        let _ = frdeep::load_batch(&f);
    }
});
