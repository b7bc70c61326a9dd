//! The FITS reader (header checks, then fitsrs) on arbitrary bytes, and the MiraBest recipe
//! on whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobes_models::data::{fits, prepare};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.fits");
    if let Ok(f) = fits::decode(data, path) {
        assert_eq!(f.data.len(), f.width * f.height);
        if f.width == f.height {
            let crop = f.width.min(8);
            if let Ok(img) = prepare::mirabest_recipe(&fits::flip_rows(&f), f.width, crop, path) {
                assert!(img.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
    }
});
