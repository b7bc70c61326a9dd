//! Normalizing flows in a VAE: the paper's VAE (Table 2's layout, a small network) with its
//! Normal guide, with an inverse autoregressive flow after the Normal guide (Kingma et al.
//! 2016, "Improved variational inference with inverse autoregressive flow"; Pyro's
//! `AffineAutoregressive`, the flow of Pyro's `AutoIAFNormal`), and with a flow prior
//! p(z) = IAF(Normal(0, I)) instead of Normal(0, I) (Chen et al. 2017, "Variational lossy
//! autoencoder"). Each is trained with the same data, seed, optimiser and number of steps on
//! the built-in synthetic population; the test set's −ELBO and its importance-sampled
//! −log p(x) (K guide draws per image, Burda et al. 2016) are printed side by side, as Pyro's
//! `examples/vae/vae_comparison.py` prints its two VAEs' losses.
//!
//! Run: `cargo run --release --example vae_flows [epochs] [seed]` (default 20 epochs, seed 0).

use lobes::models::data::synthetic::Synthetic;
use lobes::models::vae::{Batch, Vae, VaeConfig, batch_of, in_data_plate};
use lobes::ppl::flows::{AffineAutoregressive, affine_autoregressive};
use lobes::ppl::infer::importance::{log_mean_exp, log_weights_along};
use lobes::ppl::prelude::*;
use lobes::ppl::{ParamStore, with_param_store};
use std::sync::Arc;

const LATENT: usize = 8;
const FLOWS: usize = 2;
const K: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    Plain,
    IafGuide,
    FlowPrior,
}

/// `FLOWS` IAFs registered under `name.{i}`, ready for a `TransformedDistribution`.
fn flows(name: &str, templates: &[AffineAutoregressive]) -> Result<Vec<Arc<dyn Transform>>> {
    let mut out: Vec<Arc<dyn Transform>> = vec![];
    for (i, t) in templates.iter().enumerate() {
        out.push(Arc::new(module(&format!("{name}.{i}"), t)?));
    }
    Ok(out)
}

/// The paper's model; with `FlowPrior`, z ~ IAF(Normal(0, I)).
fn model(v: Variant, vae: &Vae, prior: &[AffineAutoregressive], batch: &Batch) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let [b, _] = batch.x.dims();
    let dev = batch.x.device();
    in_data_plate(batch, |_| {
        let base = Normal::new(
            Tensor::<2>::zeros([b, LATENT], &dev),
            Tensor::<2>::ones([b, LATENT], &dev),
        )?
        .to_event(1);
        let z: Tensor<2> = match v {
            Variant::FlowPrior => sample(
                "latent",
                TransformedDistribution::new(Arc::new(base), flows("prior_flow", prior)?)?,
            )?,
            _ => sample("latent", base)?,
        };
        let loc_img = decoder.forward(z);
        observe(
            "obs",
            Bernoulli::from_probs(loc_img)?.to_event(1),
            batch.x.clone(),
        )?;
        Ok(())
    })
}

/// The paper's guide; with `IafGuide`, the Normal's draw pushed through `FLOWS` IAFs.
fn guide(v: Variant, vae: &Vae, iafs: &[AffineAutoregressive], batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    in_data_plate(batch, |_| {
        let (z_loc, z_scale) = encoder.forward(batch.x.clone());
        let q = Normal::new(z_loc, z_scale)?.to_event(1);
        match v {
            Variant::IafGuide => sample::<DTensor>(
                "latent",
                TransformedDistribution::new(Arc::new(q), flows("guide_iaf", iafs)?)?,
            )?,
            _ => sample::<DTensor>("latent", q)?,
        };
        Ok(())
    })
}

/// Test −ELBO per image (mean of 10 estimates) and importance-sampled −log p(x) per image.
struct Scores {
    neg_elbo: f64,
    neg_log_px: f64,
}

fn run(v: Variant, epochs: usize, seed: u64, dev: &Device) -> Result<Scores> {
    let data = Synthetic::default().dataset(400, 50, seed);
    let net = VaeConfig {
        hidden: vec![256, 64],
        ..VaeConfig::paper(LATENT, false)
    };
    dev.seed(seed);
    let vae = net.init(&dev.clone().autodiff());
    let iaf = || -> Result<Vec<AffineAutoregressive>> {
        (0..FLOWS)
            .map(|_| Ok(affine_autoregressive(LATENT, Some(&[40]), dev)?))
            .collect()
    };
    let (prior, post) = (iaf()?, iaf()?);
    let mut svi = Svi::new(
        |b: &Batch| model(v, &vae, &prior, b),
        |b: &Batch| guide(v, &vae, &post, b),
        Adam::new(1e-3),
        TraceElbo::default(),
    )
    .with_seed(seed, Some(dev.clone()));
    let train: Vec<_> = data.train.iter().collect();
    for _ in 0..epochs {
        for chunk in train.chunks(50) {
            svi.step(&batch_of(chunk, 100, dev))?;
        }
    }
    let test: Vec<_> = data.test.iter().collect();
    let test_batch = batch_of(&test, 100, dev);
    let mut neg_elbo = 0.0;
    for _ in 0..10 {
        neg_elbo += svi.evaluate_loss(&test_batch)? / (10 * test.len()) as f64;
    }
    // K copies of each test image in one batch: one importance weight per copy.
    let copies: Vec<_> = test
        .iter()
        .flat_map(|s| std::iter::repeat_n(*s, K))
        .collect();
    let big = batch_of(&copies, 100, dev);
    let weights = with_param_store(svi.store_mut(), || {
        log_weights_along(
            &|b: &Batch| model(v, &vae, &prior, b),
            &|b: &Batch| guide(v, &vae, &post, b),
            &big,
            "data",
        )
    })?;
    let log_px: f64 = weights.chunks(K).map(log_mean_exp).sum();
    Ok(Scores {
        neg_elbo,
        neg_log_px: -log_px / test.len() as f64,
    })
}

fn main() -> Result<()> {
    lobes::tune_allocator();
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let dev = Device::default();
    println!(
        "synthetic FRI/FRII stamps (400 train, 50 test), VAE 10000-256-64-{LATENT}, Adam 1e-3, \
         {epochs} epochs of batch 50, seed {seed}; {FLOWS} IAFs (MADE hidden 40); K = {K}"
    );
    println!("{:28} {:>12} {:>16}", "", "test −ELBO", "test −log p(x)");
    for v in [Variant::Plain, Variant::IafGuide, Variant::FlowPrior] {
        let mut store = ParamStore::new();
        let s = with_param_store(&mut store, || run(v, epochs, seed, &dev))?;
        let name = match v {
            Variant::Plain => "Normal guide, Normal prior",
            Variant::IafGuide => "IAF guide, Normal prior",
            Variant::FlowPrior => "Normal guide, IAF prior",
        };
        println!("{name:28} {:12.2} {:16.2}", s.neg_elbo, s.neg_log_px);
    }
    Ok(())
}
