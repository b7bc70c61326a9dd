//! Shared helpers for tests that read `../shared/data`.

#![allow(dead_code)]

use lobes_models::train::TrainOptions;
use lobes_models::vae::ModelKind;
use lobes_models::vae::VaeConfig;
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
    lobes_ppl::io::scratch_dir("lobes-models", name).unwrap()
}

/// Training options for a tiny network on the synthetic data (fast in tests).
pub fn tiny(kind: ModelKind, out: std::path::PathBuf, epochs: usize) -> TrainOptions {
    TrainOptions {
        kind,
        net: VaeConfig {
            pixels: 10_000,
            latent: 4,
            hidden: vec![64, 32],
            dropout: 0.1,
            slope: 0.01,
            classes: 0,
            scale: Default::default(),
            likelihood: Default::default(),
            prior: Default::default(),
        },
        scale: None,
        data: "synthetic".into(),
        epochs,
        lr: 2e-3,
        optim: "adam".into(),
        lr_milestones: None,
        lr_gamma: None,
        clip_norm: None,
        kl_scale: 1.0,
        kl_warmup: None,
        kl_warmup_from: None,
        free_bits: None,
        iwae: None,
        max_bad_steps: 5,
        ramis: None,
        validation: None,
        split_seed: None,
        lr_plateau: None,
        early_stop: None,
        batch: 32,
        augment_step: 90.0,
        reflect: false,
        eval_every: 1,
        checkpoint_every: 2,
        keep_checkpoints: 0,
        seed: 3,
        out,
        resume: false,
        overwrite: false,
        progress: false,
    }
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the lock of tests that train: burn's CPU generator is process-wide, so trainings in
/// parallel test threads of one binary would draw each other's initial weights.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
