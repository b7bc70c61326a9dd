//! One PNG stamp's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobes_models::data::png;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = png::decode_png(data, Path::new("fuzz.png")) {
        assert_eq!(img.pixels.len(), img.size * img.size);
        assert!(img.size <= png::MAX_PNG_SIDE as usize);
    }
});
