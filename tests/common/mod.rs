//! What tests/ranks.rs and tests/mpi.rs share: running `lobes` on flex, the tiny training run
//! both compare, and a safetensors file's tensors.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `lobes ARGS` on flex with `env` and asserts it succeeds; returns its output.
pub fn lobes(args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lobes"));
    c.env("BURN_DEVICE", "flex").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run lobes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "lobes {args:?}: {text}");
    text
}

/// A tiny run: 12 synthetic images, two rotations, batches of 24 (one step an epoch).
pub fn train_args<'a>(out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        "synthetic:12",
        "--latent",
        "2",
        "--hidden",
        "32",
        "--batch",
        "24",
        "--augment-step",
        "180",
        "--eval-every",
        "1",
        "--dropout",
        "0.1",
        "--seed",
        "4",
        "--epochs",
        epochs,
        "--out",
        out,
    ]
}

/// (name, shape, bytes) of every tensor of a safetensors file, sorted by name.
pub fn tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec(), t.data().to_vec()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
