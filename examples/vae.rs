//! The paper's VAE, trained as Pyro's `examples/vae/vae.py` is: a model, a guide, and an SVI
//! loop. The model and guide are the library's `paper_model` and `paper_guide`
//! (models/src/vae/paper.rs), written line for line as the Pyro tutorial's: `z ~ Normal(0, I)`,
//! `x | z ~ Bernoulli(decoder(z))`, `q(z | x) = Normal(encoder(x))`. (`lobes train` runs
//! `model` and `guide`, which give the same ELBO and also serve the other priors and
//! likelihoods.) A small network on the built-in synthetic population so it runs in seconds.
//!
//! With an argument K > 1 the ELBO averages K particles, vectorised (Pyro's
//! `Trace_ELBO(num_particles=K, vectorize_particles=True)`, compared with sequential particles
//! in Pyro's `tests/infer/test_gradient.py`): the guide's `z` is `[K, 50, 8]` and the decoder
//! runs on `K · 50` rows.
//!
//! Run: `cargo run --release --example vae [K]`

use lobes::models::data::augment::{Augmented, Interp};
use lobes::models::data::synthetic::Synthetic;
use lobes::models::vae::{Batch, VaeConfig, paper_guide, paper_model};
use lobes::models::vae::{batch_from, batch_of};
use lobes::ppl::prelude::*;

fn main() -> Result<()> {
    lobes::tune_allocator();
    let dev = Device::default();
    let data = Synthetic::default().dataset(200, 20, 0);
    let net = VaeConfig {
        hidden: vec![256, 64],
        latent: 8,
        ..VaeConfig::paper(8, false)
    };
    let vae = net.init(&dev.clone().autodiff());
    let k: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let elbo = TraceElbo::default()
        .num_particles(k)
        .vectorize_particles(k > 1);
    let mut svi = Svi::new(
        |b: &Batch| paper_model(&vae, b),
        |b: &Batch| paper_guide(&vae, b),
        Adam::new(1e-3),
        elbo,
    )
    .with_seed(0, Some(dev.clone()));
    let test: Vec<_> = data.test.iter().collect();
    let test_batch = batch_of(&test, 100, &dev);
    for epoch in 1..=5 {
        let mut aug = Augmented::new(&data.train, 90.0, 100, Interp::Bilinear, epoch);
        let (mut total, mut n) = (0.0, 0);
        for b in aug.epoch(50) {
            let k = b.labels.len();
            let batch = batch_from(&b.pixels, &b.labels, 10_000, &dev);
            total += svi.step(&batch)?;
            n += k;
        }
        let test_loss = svi.evaluate_loss(&test_batch)? / test.len() as f64;
        println!(
            "epoch {epoch}  train loss {:8.2}  test loss {test_loss:8.2}",
            total / n as f64
        );
    }
    Ok(())
}
