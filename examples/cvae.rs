//! The paper's conditional VAE: the FRI/FRII class enters both the model (a OneHotCategorical
//! prior, observed) and the guide. After training, the same latent points are decoded as FRI
//! and as FRII. The model and guide are the library's (`lobes::models::vae::{model, guide}`,
//! in models/src/vae/program.rs): one pair serves the VAE and the CVAE.
//!
//! Run: `cargo run --release --example cvae`

use lobes::models::data::{Class, synthetic::Synthetic};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::vae::{Batch, VaeConfig, guide, model};
use lobes::models::vae::{ModelKind, batch_of};
use lobes::ppl::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    lobes::tune_allocator();
    let dev = Device::default();
    let data = Synthetic::default().dataset(150, 15, 0);
    let net = VaeConfig {
        hidden: vec![256, 64],
        ..VaeConfig::paper(4, true)
    };
    let vae = net.init(&dev.clone().autodiff());
    let mut svi = Svi::new(
        |b: &Batch| model(&vae, b),
        |b: &Batch| guide(&vae, b),
        Adam::new(2e-3),
        TraceElbo::default(),
    )
    .with_seed(0, Some(dev.clone()));
    let train: Vec<_> = data.train.iter().collect();
    for epoch in 1..=15 {
        let mut total = 0.0;
        for chunk in train.chunks(50) {
            total += svi.step(&batch_of(chunk, 100, &dev))?;
        }
        println!(
            "epoch {epoch:2}  loss per image {:8.2}",
            total / train.len() as f64
        );
    }
    // The same latent points, decoded as each class.
    let mut g = Generator::from_store(ModelKind::Cvae, net, svi.store().clone());
    let z = g.latents(4, Sampling::Prior, 1)?;
    for class in Class::ALL {
        let imgs = g.decode(&z, &[class; 4])?;
        let centre: Vec<String> = imgs
            .iter()
            .map(|im| format!("{:.2}", im.at(49, 49)))
            .collect();
        println!(
            "{}: centre pixel of 4 decoded stamps {}",
            class.name(),
            centre.join(" ")
        );
    }
    Ok(())
}
