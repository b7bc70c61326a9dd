//! The paper's conditional VAE: the FRI/FRII class enters both the model (a OneHotCategorical
//! prior, observed) and the guide. After training, the same latent points are decoded as FRI
//! and as FRII.
//!
//! Run: `cargo run --release --example cvae`

use lobes::models::data::{Class, synthetic::Synthetic};
use lobes::models::generate::{Generator, Sampling};
use lobes::models::train::{Kind, batch_of};
use lobes::models::vae::{Batch, Vae, VaeConfig};
use lobes::ppl::prelude::*;

/// p(y) p(z) p(x | z, y).
fn model(vae: &Vae, batch: &Batch) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let [b, _] = batch.x.dims();
    let d = vae.decoder.latent_dim() - 2;
    let dev = batch.x.device();
    plate("data", b).run(|_| {
        let pi = Tensor::<2>::full([b, 2], 0.5, &dev);
        let y: Tensor<2> = observe("y", OneHotCategorical::from_probs(pi)?, batch.y.clone())?;
        let prior = Normal::new(
            Tensor::<2>::zeros([b, d], &dev),
            Tensor::<2>::ones([b, d], &dev),
        )?;
        let z: Tensor<2> = sample("latent", prior.to_event(1))?;
        let loc_img = decoder.forward(Tensor::cat(vec![z, y], 1));
        observe(
            "obs",
            Bernoulli::from_probs(loc_img)?.to_event(1),
            batch.x.clone(),
        )?;
        Ok(())
    })
}

/// q(z | x, y).
fn guide(vae: &Vae, batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    plate("data", batch.x.dims()[0]).run(|_| {
        let (z_loc, z_scale) =
            encoder.forward(Tensor::cat(vec![batch.x.clone(), batch.y.clone()], 1));
        sample::<DTensor>("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        Ok(())
    })
}

fn main() -> Result<()> {
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
    let mut g = Generator::from_store(Kind::Cvae, net, svi.store().clone());
    let z = g.latents(4, Sampling::Prior, 1);
    for class in Class::ALL {
        let imgs = g
            .decode(&z, &[class; 4])
            .map_err(|e| PplError::InvalidHandler {
                handler: "decode",
                reason: e.to_string(),
            })?;
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
