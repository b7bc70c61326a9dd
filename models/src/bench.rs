//! `lobes bench` and `cargo bench --bench svi_overhead`: images per second of one `SVI.step`
//! (Trace_ELBO, our Adam) on the paper's VAE against a hand-written burn training loop on the
//! same network, the same single-sample Monte-Carlo ELBO and burn's Adam (epsilon 1e-8).
//! Batch 100 by default, dropout on. The variants alternate over several rounds; the best
//! round of each is reported.

use crate::data::synthetic::Synthetic;
use crate::train::batch_of;
use crate::vae::{Batch, Vae, VaeConfig, vae_guide, vae_model};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use lobes_ppl::prelude::*;
use std::time::Instant;

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Encoder hidden widths (Table 2: 4096, 2048, 1024, 512, 256).
    pub hidden: Vec<usize>,
    /// Latent dimension.
    pub latent: usize,
    /// Images per step.
    pub batch: usize,
    /// Timed steps per round.
    pub steps: usize,
    /// Rounds (the best is reported).
    pub rounds: usize,
    /// Untimed steps before each round.
    pub warmup: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            hidden: vec![4096, 2048, 1024, 512, 256],
            latent: 32,
            batch: 100,
            steps: 6,
            rounds: 2,
            warmup: 2,
        }
    }
}

/// One measured variant.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// What ran.
    pub name: &'static str,
    /// Best images per second over the rounds.
    pub images_per_s: f64,
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

/// A one-line description of the configuration and the machine.
pub fn describe(cfg: &BenchConfig) -> String {
    let net = VaeConfig {
        hidden: cfg.hidden.clone(),
        ..VaeConfig::paper(cfg.latent, false)
    };
    let widths: Vec<String> = cfg.hidden.iter().map(|h| h.to_string()).collect();
    format!(
        "VAE 10000-{}-{}, {} parameters, batch {}, Adam(lr 1e-3, eps 1e-8), dropout {}; {} rounds of {} steps after {}; device {:?}, {} threads",
        widths.join("-"),
        cfg.latent,
        net.num_params(),
        cfg.batch,
        net.dropout,
        cfg.rounds,
        cfg.steps,
        cfg.warmup,
        Device::default(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )
}

/// Runs the hand-written loop and `SVI.step` (validation on and off), alternating.
pub fn run(cfg: &BenchConfig) -> Vec<BenchRow> {
    let net = VaeConfig {
        hidden: cfg.hidden.clone(),
        ..VaeConfig::paper(cfg.latent, false)
    };
    let plain = Device::default();
    let dev = plain.clone().autodiff();
    plain.seed(0);
    let data = Synthetic::default().dataset(cfg.batch.div_ceil(2), 0, 0);
    let refs: Vec<_> = data.train.iter().take(cfg.batch).collect();
    let b: Batch = batch_of(&refs, 100, &plain);
    let (batch, latent) = (refs.len(), cfg.latent);

    let mut vae = Some(net.init(&dev));
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut hand_step = || {
        let v = vae.take().expect("model");
        let eps =
            Tensor::<1>::from_floats(lobes_ppl::rng::normals(batch * latent).as_slice(), &dev)
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
    let was = lobes_ppl::runtime::is_validation_enabled();
    let mut best = [0.0f64; 3];
    for _ in 0..cfg.rounds {
        for (k, best) in best.iter_mut().enumerate() {
            lobes_ppl::enable_validation(k == 1);
            let mut total = 0.0;
            for i in 0..cfg.warmup + cfg.steps {
                let t = Instant::now();
                if k == 0 {
                    hand_step();
                } else {
                    svi.step(&b).expect("step");
                }
                if i >= cfg.warmup {
                    total += t.elapsed().as_secs_f64();
                }
            }
            *best = best.max((cfg.steps * batch) as f64 / total);
        }
    }
    lobes_ppl::enable_validation(was);
    let names = [
        "hand-written burn loop",
        "SVI.step, validation on",
        "SVI.step, validation off",
    ];
    names
        .iter()
        .zip(best)
        .map(|(&name, images_per_s)| BenchRow { name, images_per_s })
        .collect()
}

/// The table `lobes bench` prints.
pub fn table(rows: &[BenchRow]) -> String {
    let base = rows.first().map_or(1.0, |r| r.images_per_s);
    rows.iter()
        .map(|r| {
            format!(
                "{:28} {:8.1} images/s   {:5.3}x the hand-written loop\n",
                r.name,
                r.images_per_s,
                r.images_per_s / base
            )
        })
        .collect()
}
