//! The bodies of the fuzz targets, one function per parser: libFuzzer's targets in
//! `fuzz_targets/` call them, and so does the normal test suite's short seeded run
//! (`tests/fuzz_smoke.rs`, which includes this file), so CI exercises the same code paths
//! without an instrumented build. Any panic, stack overflow, hang or out-of-memory is a bug.

use lobes_models::data::{fits, frdeep, load_spec, pickle, png, prepare};
use lobes_ppl::ParamStore;
use lobes_ppl::prelude::Device;
use std::path::Path;

/// The pickle reader on arbitrary bytes, then the FRDEEP batch interpretation of what it
/// decodes.
pub fn pickle(data: &[u8]) {
    // The batch loader reads a file and starts with `pickle::load`: only bytes that decode
    // go through it (a per-process temp file), which keeps the target fast.
    if pickle::load(data, Path::new("fuzz.pkl")).is_err() {
        return;
    }
    let f = std::env::temp_dir().join(format!("lobes-fuzz-pickle-{}", std::process::id()));
    if std::fs::write(&f, data).is_ok() {
        let _ = frdeep::load_batch(&f);
    }
}

/// The FITS reader (header checks, then fitsrs) on arbitrary bytes, and the MiraBest recipe
/// on whatever it accepts.
pub fn fits(data: &[u8]) {
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
}

/// One PNG stamp's bytes.
pub fn png(data: &[u8]) {
    if let Ok(img) = png::decode_png(data, Path::new("fuzz.png")) {
        assert_eq!(img.pixels.len(), img.size * img.size);
        assert!(img.size <= png::MAX_PNG_SIDE as usize);
    }
}

/// A checkpoint: safetensors bytes (tensors plus string metadata) through the public loaders
/// `lobes_ppl::io::load_tensors`, `ParamStore::load` and `RunMetadata::from_map`.
pub fn checkpoint(data: &[u8]) {
    // `load_tensors` starts with this; bytes it refuses need no file (keeps the target fast).
    if safetensors::SafeTensors::deserialize(data).is_err() {
        return;
    }
    let f = std::env::temp_dir().join(format!(
        "lobes-fuzz-ckpt-{}.safetensors",
        std::process::id()
    ));
    if std::fs::write(&f, data).is_err() {
        return;
    }
    let device = Device::default();
    if let Ok((_, meta)) = lobes_ppl::io::load_tensors(&f, &device) {
        let _ = lobes_models::vae::RunMetadata::from_map(&meta, &f);
    }
    let _ = ParamStore::load(&f, &device);
}

/// The `--data` spec parser. Paths stay relative to the working directory (a spec may name
/// any folder; walking the whole disk is not the point): absolute paths and `..` are skipped.
pub fn data_spec(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A valid `synthetic[:N]` makes images: generation, not parsing, and the same images
    // whatever the bytes (slow, too: a corpus drifting toward it ran at a few executions per
    // second). Its parse errors (a bad or out-of-range N) return at once and are fuzzed.
    if let Some(n) = s.strip_prefix("synthetic")
        && (n.is_empty()
            || n == ":"
            || n.strip_prefix(':')
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| (1..=lobes_models::data::MAX_SYNTHETIC).contains(&n)))
    {
        return;
    }
    let path = s.split_once(':').map_or(s, |(_, p)| p);
    if s.starts_with('/') || path.starts_with('/') || s.contains("..") || path.starts_with('~') {
        return;
    }
    let _ = load_spec(s);
}
