//! The `--data` spec parser. Paths stay relative to the working directory (a spec may name
//! any folder; walking the whole disk is not the point): absolute paths and `..` are skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lobes_models::data::load_spec;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // `synthetic:N` makes N images per class (`synthetic` and `synthetic:` 300): fine to
    // check small ones, pointless (and slow: libFuzzer reports a timeout) to make hundreds.
    if let Some(n) = s.strip_prefix("synthetic")
        && (n.is_empty()
            || n == ":"
            || n.strip_prefix(':')
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n > 4))
    {
        return;
    }
    let path = s.split_once(':').map_or(s, |(_, p)| p);
    if s.starts_with('/') || path.starts_with('/') || s.contains("..") || path.starts_with('~') {
        return;
    }
    let _ = load_spec(s);
});
