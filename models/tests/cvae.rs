//! The conditional VAE (tiny) on the synthetic population. In a file of its own: burn's CPU
//! random generator (dropout) is process-wide, so trainings in parallel test threads would
//! perturb each other's reproducibility.

#[path = "support/mod.rs"]
mod common;

use common::tiny;
use lobes_models::data::{Class, Image, synthetic::Synthetic};
use lobes_models::generate::{Generator, Sampling};
use lobes_models::train::train_on;
use lobes_models::vae::ModelKind;

fn lobe_to_core(img: &Image) -> f64 {
    let n = img.size;
    let c = (n as f64 - 1.0) / 2.0;
    let dist = |i: usize| (((i / n) as f64 - c).powi(2) + ((i % n) as f64 - c).powi(2)).sqrt();
    let core: f64 = (0..n * n)
        .filter(|&i| dist(i) <= 3.5)
        .map(|i| img.pixels[i] as f64)
        .sum::<f64>();
    let outer: f64 = (0..n * n)
        .filter(|&i| dist(i) > 10.0)
        .map(|i| img.pixels[i] as f64)
        .sum::<f64>();
    outer / core.max(1e-6)
}

#[test]
fn a_tiny_cvae_draws_brighter_lobes_for_frii_than_for_fri_from_the_same_latents() {
    let ds = Synthetic::default().dataset(60, 6, 2);
    let out = common::tmp("cvae");
    let mut opts = tiny(ModelKind::Cvae, out.clone(), 12);
    opts.checkpoint_every = 12;
    train_on(&opts, &ds).unwrap();
    let mut g = Generator::load(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(g.kind, ModelKind::Cvae);
    let n = 64;
    let z = g.latents(n, Sampling::Prior, 5).unwrap();
    let fri = g.decode(&z, &vec![Class::FRI; n]).unwrap();
    let frii = g.decode(&z, &vec![Class::FRII; n]).unwrap();
    let mean = |v: &[Image]| v.iter().map(lobe_to_core).sum::<f64>() / v.len() as f64;
    let (a, b) = (mean(&fri), mean(&frii));
    assert!(b > a, "lobe-to-core: FRII {b} vs FRI {a}");
}
