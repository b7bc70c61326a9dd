//! The PPL's overhead: one `SVI.step` (Trace_ELBO, our Adam) of the paper's VAE networks
//! against a hand-written burn training loop on the same networks, the same Monte-Carlo ELBO
//! and burn's Adam (epsilon 1e-8). Batch 100, dropout on.
//!
//! ```sh
//! cargo bench --bench svi_overhead -- --hidden 512 --rounds 5                  # a small MLP VAE
//! cargo bench --bench svi_overhead -- --hidden 4096,2048,1024,512,256 --steps 6 --rounds 2   # Table 2
//! ```
//!
//! The variants alternate over several rounds; the best round of each is reported. The
//! figures are recorded in docs/performance.md.

use burn::optim::{AdamConfig, GradientsParams};
use lobes::models::train::batch_of;
use lobes::models::vae::{Batch, Vae, VaeConfig, vae_guide, vae_model};
use lobes::ppl::prelude::*;
use std::time::Instant;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn num(name: &str, default: usize) -> usize {
    arg(name, &default.to_string()).parse().unwrap_or(default)
}

/// -[ln p(x|z) + ln p(z) - ln q(z)] with z = loc + scale * eps, written out.
fn hand_loss(vae: &Vae, x: Tensor<2>, eps: Tensor<2>) -> Tensor<1> {
    let (loc, scale) = vae.encoder.forward(x.clone());
    let z = loc + scale.clone() * eps.clone();
    let p = vae
        .decoder
        .forward(z.clone())
        .clamp(f32::EPSILON, 1.0 - f32::EPSILON);
    let log_lik = (x.clone() * p.clone().log() + (x.neg() + 1.0) * (p.neg() + 1.0).log()).sum();
    let log_prior = (z.square() * -0.5).sum();
    let log_q = (eps.square() * -0.5 - scale.log()).sum();
    (log_lik + log_prior - log_q).neg()
}

fn main() {
    lobes::tune_allocator();
    let (steps, rounds, latent, batch) = (
        num("--steps", 20),
        num("--rounds", 3),
        num("--latent", 32),
        100,
    );
    let hidden: Vec<usize> = arg("--hidden", "512")
        .split(',')
        .filter_map(|h| h.parse().ok())
        .collect();
    let warmup = 3;
    let net = VaeConfig {
        hidden,
        ..VaeConfig::paper(latent, false)
    };
    println!(
        "VAE 10000-{}-{latent}, {} parameters, batch {batch}, Adam(lr 1e-3, eps 1e-8); {rounds} rounds of {steps} steps after {warmup}",
        net.hidden
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        net.num_params()
    );
    let plain = Device::flex();
    let dev = plain.clone().autodiff();
    plain.seed(0);
    let data = lobes::models::data::synthetic::Synthetic::default().dataset(batch / 2, 0, 0);
    let refs: Vec<_> = data.train.iter().collect();
    let b: Batch = batch_of(&refs, 100, &plain);

    let mut vae = Some(net.init(&dev));
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut hand_step = || {
        let v = vae.take().expect("model");
        let eps =
            Tensor::<1>::from_floats(lobes::ppl::rng::normals(batch * latent).as_slice(), &dev)
                .reshape([batch, latent]);
        let loss = hand_loss(&v, b.x.clone(), eps);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &v);
        vae = Some(optim.step(1e-3, v, grads));
    };
    let template = net.init(&dev);
    let mut svi = Svi::new(
        |x: &Batch| vae_model(&template, x),
        |x: &Batch| vae_guide(&template, x),
        Adam::new(1e-3),
        TraceElbo::default(),
    );
    let mut res: Vec<Vec<f64>> = vec![vec![]; 3];
    for _ in 0..rounds {
        for (k, r) in res.iter_mut().enumerate() {
            lobes::ppl::enable_validation(k == 1);
            let mut total = 0.0;
            for i in 0..warmup + steps {
                let t = Instant::now();
                if k == 0 {
                    hand_step();
                } else {
                    svi.step(&b).expect("step");
                }
                if i >= warmup {
                    total += t.elapsed().as_secs_f64();
                }
            }
            r.push((steps * batch) as f64 / total);
        }
    }
    let names = [
        "hand-written burn loop",
        "SVI.step, validation on",
        "SVI.step, validation off",
    ];
    let best: Vec<f64> = res
        .iter()
        .map(|r| r.iter().cloned().fold(0.0, f64::max))
        .collect();
    for (n, v) in names.iter().zip(&best) {
        println!(
            "{n:28} {v:8.1} images/s   {:5.3}x the hand-written loop",
            v / best[0]
        );
    }
}
