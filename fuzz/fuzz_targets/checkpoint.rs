//! A checkpoint: safetensors bytes (tensors plus string metadata) through the public loaders
//! `lobes_ppl::io::load_tensors`, `ParamStore::load` and `RunMetadata::from_map`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobes_ppl::ParamStore;
use lobes_ppl::prelude::Device;

fuzz_target!(|data: &[u8]| {
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
});
