//! Shared helpers for tests that read `../shared/data`.

#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data` beside the project root. Returns `None` (the test then skips) when it is
/// missing, except under CI (`CI` set), where a missing data folder is a failure.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if p.join("README.md").exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but {} is missing: tests that need the real data must not skip",
            p.display()
        );
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

/// A fresh temporary folder for one test.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lobes-models-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
