//! The PPL's overhead: one `SVI.step` (Trace_ELBO, Adam) of an MLP VAE against a hand-written
//! burn training loop with the same network, the same Monte-Carlo ELBO and Adam.
//!
//! `cargo bench --bench svi_overhead [-- --hidden 512 --latent 32 --batch 100 --steps 30]`
//!
//! Prints images/s of each and their ratio; the figures are recorded in docs/performance.md.

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{sigmoid, softplus};
use lobes::ppl::prelude::*;
use std::time::Instant;

const PIXELS: usize = 10_000;

#[derive(Module, Debug)]
struct Encoder {
    fc1: Linear,
    loc: Linear,
    scale: Linear,
}

impl Encoder {
    fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = softplus(self.fc1.forward(x), 1.0);
        (self.loc.forward(h.clone()), self.scale.forward(h).exp())
    }
}

#[derive(Module, Debug)]
struct Decoder {
    fc1: Linear,
    fc2: Linear,
}

impl Decoder {
    fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        sigmoid(self.fc2.forward(softplus(self.fc1.forward(z), 1.0)))
    }
}

#[derive(Module, Debug)]
struct Vae {
    encoder: Encoder,
    decoder: Decoder,
}

impl Vae {
    fn new(hidden: usize, latent: usize, d: &Device) -> Self {
        Vae {
            encoder: Encoder {
                fc1: LinearConfig::new(PIXELS, hidden).init(d),
                loc: LinearConfig::new(hidden, latent).init(d),
                scale: LinearConfig::new(hidden, latent).init(d),
            },
            decoder: Decoder {
                fc1: LinearConfig::new(latent, hidden).init(d),
                fc2: LinearConfig::new(hidden, PIXELS).init(d),
            },
        }
    }
}

// The model and guide, as the Pyro VAE tutorial writes them.
fn model(vae: &Vae, latent: usize, x: &Tensor<2>) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let b = x.dims()[0];
    let d = x.device();
    plate("data", b).run(|_| {
        let prior = Normal::new(
            Tensor::<2>::zeros([b, latent], &d),
            Tensor::<2>::ones([b, latent], &d),
        )?;
        let z: Tensor<2> = sample("latent", prior.to_event(1))?;
        observe::<DTensor>(
            "obs",
            Bernoulli::from_probs(decoder.forward(z))?.to_event(1),
            x.clone(),
        )?;
        Ok(())
    })
}

fn guide(vae: &Vae, x: &Tensor<2>) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    plate("data", x.dims()[0]).run(|_| {
        let (loc, scale) = encoder.forward(x.clone());
        sample::<DTensor>("latent", Normal::new(loc, scale)?.to_event(1))?;
        Ok(())
    })
}

/// The same loss by hand: -[ln p(x|z) + ln p(z) - ln q(z)], z = loc + scale * eps.
fn hand_loss(vae: &Vae, x: Tensor<2>, eps: Tensor<2>) -> Tensor<1> {
    let (loc, scale) = vae.encoder.forward(x.clone());
    let z = loc.clone() + scale.clone() * eps.clone();
    let p = vae
        .decoder
        .forward(z.clone())
        .clamp(f32::EPSILON, 1.0 - f32::EPSILON);
    let log_lik = (x.clone() * p.clone().log() + (x.neg() + 1.0) * (p.neg() + 1.0).log()).sum();
    let log_prior = (z.square() * -0.5).sum();
    let log_q = (eps.square() * -0.5 - scale.log()).sum();
    (log_lik + log_prior - log_q).neg()
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    lobes::tune_allocator();
    let (hidden, latent, batch, steps) = (
        arg("--hidden", 512),
        arg("--latent", 32),
        arg("--batch", 100),
        arg("--steps", 30),
    );
    let warmup = 5;
    let dev = Device::flex().autodiff();
    dev.seed(0);
    lobes::ppl::rng::set_rng_seed(0);
    // Sparse images in [0, 1], ~98.5% zeros like FRDEEP.
    let u = lobes::ppl::rng::uniforms(batch * PIXELS);
    let px: Vec<f32> = u
        .iter()
        .map(|&v| if v > 0.985 { (v - 0.985) / 0.015 } else { 0.0 })
        .collect();
    let x = Tensor::<1>::from_floats(px.as_slice(), &dev.clone().without_autodiff())
        .reshape([batch, PIXELS]);
    println!(
        "MLP VAE {PIXELS}-{hidden}-{latent}, batch {batch}, Adam(lr 1e-3, eps 1e-8), {steps} timed steps after {warmup}"
    );

    let rounds = arg("--rounds", 3);
    println!("{rounds} rounds alternating the three, median images/s of each");

    // Hand-written burn loop.
    let mut vae = Some(Vae::new(hidden, latent, &dev));
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut hand_step = || {
        let v = vae.take().expect("model");
        let eps =
            Tensor::<1>::from_floats(lobes::ppl::rng::normals(batch * latent).as_slice(), &dev)
                .reshape([batch, latent]);
        let loss = hand_loss(&v, x.clone(), eps);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &v);
        vae = Some(optim.step(1e-3, v, grads));
    };

    // The same with the PPL.
    let template = Vae::new(hidden, latent, &dev);
    let m = |x: &Tensor<2>| model(&template, latent, x);
    let g = |x: &Tensor<2>| guide(&template, x);
    let mut svi = Svi::new(m, g, Adam::new(1e-3), TraceElbo::default());

    let mut results: Vec<Vec<f64>> = vec![vec![]; 3];
    for _ in 0..rounds {
        for (k, res) in results.iter_mut().enumerate() {
            lobes::ppl::enable_validation(k == 1);
            let mut total = 0.0;
            for i in 0..warmup + steps {
                let t = Instant::now();
                if k == 0 {
                    hand_step();
                } else {
                    svi.step(&x).expect("step");
                }
                if i >= warmup {
                    total += t.elapsed().as_secs_f64();
                }
            }
            res.push((steps * batch) as f64 / total);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let names = [
        "hand-written burn loop",
        "SVI.step, validation on",
        "SVI.step, validation off",
    ];
    let med: Vec<f64> = results.iter_mut().map(median).collect();
    for (name, ips) in names.iter().zip(&med) {
        println!(
            "{name:28} {ips:8.1} images/s   {:5.3}x the hand-written loop",
            ips / med[0]
        );
    }
}
