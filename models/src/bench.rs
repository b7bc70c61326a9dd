//! `lobes bench` and `cargo bench --bench svi_overhead`: images per second of one `SVI.step`
//! (Trace_ELBO, our Adam) on the paper's VAE against a hand-written burn training loop on the
//! same network and the same single-sample Monte-Carlo ELBO, once with the PPL's fused Adam
//! (the loop built the same way as `SVI.step`: the difference is the PPL's own cost) and once
//! with burn's Adam (epsilon 1e-8). Batch 100 by default, dropout on. The variants alternate
//! over several rounds; the best round of each is reported.

use crate::data::synthetic::Synthetic;
use crate::error::ModelError;
use crate::vae::batch_of;
use crate::vae::{Batch, Vae, VaeConfig, guide, model, paper_guide, paper_model};
use burn::module::{ModuleMapper, Param};
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
    /// Particles per ELBO estimate for two more rows, when more than one: `SVI.step` on the
    /// paper's model ([`paper_model`]) with the particles in turn and vectorised
    /// (`TraceElbo::new(k)` and `.vectorize_particles(true)`), validation off.
    pub particles: usize,
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
            particles: 1,
        }
    }
}

impl BenchConfig {
    /// The network this measures (Table 2's with these widths and latent dimension).
    fn net(&self) -> VaeConfig {
        VaeConfig {
            hidden: self.hidden.clone(),
            ..VaeConfig::paper(self.latent, false)
        }
    }

    /// Checks the network's sizes and that batch, steps and rounds are at least 1.
    pub fn validate(&self) -> Result<(), ModelError> {
        self.net().validate()?;
        let counts = [
            ("--batch", self.batch),
            ("--steps", self.steps),
            ("--rounds", self.rounds),
            ("--particles", self.particles),
        ];
        if let Some(&(option, value)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(ModelError::invalid_option(
                option,
                value,
                format!(
                    "bench needs batch, steps, rounds and particles of at least 1, got {}, {}, \
                     {}, {}",
                    self.batch, self.steps, self.rounds, self.particles
                ),
            ));
        }
        Ok(())
    }
}

/// One measured variant.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// What ran.
    pub name: String,
    /// Best images per second over the rounds.
    pub images_per_s: f64,
    /// The weights whose gradient this variant's last step computed inside Adam's update,
    /// never written whole (`SVI.step`'s deferred gradients, [`lobes_ppl::optim::deferred`]).
    pub deferred: Vec<String>,
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

/// Applies one of the PPL's optimisers to every parameter of a burn module, as a hand-written
/// loop would: the gradient is taken out of `grads` and the parameter out of the module, so
/// the fused CPU update runs in place, exactly as in `SVI.step`.
struct PplUpdate<'a, O: Optimizer> {
    grads: GradientsParams,
    optim: &'a mut O,
    path: Vec<String>,
}

impl<O: Optimizer> ModuleMapper for PplUpdate<'_, O> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let new = self.optim.update(
            &self.path.join("."),
            DTensor::from_tensor(tensor.inner()),
            DTensor::from_tensor(grad),
        );
        let new = new.to_tensor::<D>().expect("the optimiser keeps the shape");
        Param::from_mapped_value(id, Tensor::from_inner(new).require_grad(), mapper)
    }
}

/// One step of the hand-written loop with one of the PPL's optimisers: returns the updated
/// module and the loss.
fn ppl_optim_step<O: Optimizer>(v: Vae, optim: &mut O, x: Tensor<2>, eps: Tensor<2>) -> (Vae, f32) {
    let loss = hand_loss(&v, x, eps);
    let value = loss.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(loss.backward(), &v);
    optim.begin_step();
    let v = v.map(&mut PplUpdate {
        grads,
        optim,
        path: vec![],
    });
    (v, value)
}

/// A one-line description of the configuration and the machine.
pub fn describe(cfg: &BenchConfig) -> String {
    let net = cfg.net();
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
    ) + &if cfg.particles > 1 {
        format!("; the last two rows {} particles per step", cfg.particles)
    } else {
        String::new()
    } + &format!(
        "\nCPU: {}; products: {}",
        cpu_model(),
        crate::kernels::precision::matmul_precision().kernel()
    )
}

/// The CPU's model name (`/proc/cpuinfo`), or `unknown CPU`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Runs the hand-written loop (the PPL's Adam, then burn's) and `SVI.step` (validation on and
/// off), alternating. Options [`BenchConfig::validate`] refuses are an error.
pub fn run(cfg: &BenchConfig) -> Result<Vec<BenchRow>, ModelError> {
    cfg.validate()?;
    let net = cfg.net();
    let plain = Device::default();
    let dev = plain.clone().autodiff();
    plain.seed(0);
    let data = Synthetic::default().dataset(cfg.batch.div_ceil(2), 0, 0);
    let refs: Vec<_> = data.train.iter().take(cfg.batch).collect();
    let b: Batch = batch_of(&refs, 100, &plain);
    let (batch, latent) = (refs.len(), cfg.latent);

    let draw_eps = || {
        Tensor::<1>::from_floats(lobes_ppl::rng::normals(batch * latent).as_slice(), &dev)
            .reshape([batch, latent])
    };
    let mut vae = Some(net.init(&dev));
    let mut ppl_adam = Adam::new(1e-3);
    let mut same_optim_step = || {
        let v = vae.take().expect("model");
        vae = Some(ppl_optim_step(v, &mut ppl_adam, b.x.clone(), draw_eps()).0);
    };
    let mut burn_vae = Some(net.init(&dev));
    let mut burn_adam = AdamConfig::new().with_epsilon(1e-8).init();
    let mut burn_optim_step = || {
        let v = burn_vae.take().expect("model");
        let loss = hand_loss(&v, b.x.clone(), draw_eps());
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &v);
        burn_vae = Some(burn_adam.step(1e-3, v, grads));
    };
    let template = net.init(&dev);
    let mut svi = Svi::new(
        |x: &Batch| model(&template, x),
        |x: &Batch| guide(&template, x),
        Adam::new(1e-3),
        TraceElbo::default(),
    );
    let n = cfg.particles;
    let particles = |elbo: TraceElbo| {
        Svi::new(
            |x: &Batch| paper_model(&template, x),
            |x: &Batch| paper_guide(&template, x),
            Adam::new(1e-3),
            elbo,
        )
    };
    let mut in_turn = particles(TraceElbo::new(n));
    let mut vectorised = particles(TraceElbo::new(n).vectorize_particles(true));
    let was = lobes_ppl::runtime::is_validation_enabled();
    let variants = if n > 1 { 6 } else { 4 };
    let mut best = vec![0.0f64; variants];
    let mut measure = || -> Result<(), ModelError> {
        for _ in 0..cfg.rounds {
            for (k, best) in best.iter_mut().enumerate() {
                lobes_ppl::enable_validation(k == 2);
                let mut total = 0.0;
                for i in 0..cfg.warmup + cfg.steps {
                    let t = Instant::now();
                    match k {
                        0 => same_optim_step(),
                        1 => burn_optim_step(),
                        2 | 3 => {
                            svi.step(&b)?;
                        }
                        4 => {
                            in_turn.step(&b)?;
                        }
                        _ => {
                            vectorised.step(&b)?;
                        }
                    }
                    if i >= cfg.warmup {
                        total += t.elapsed().as_secs_f64();
                    }
                }
                *best = best.max((cfg.steps * batch) as f64 / total);
            }
        }
        Ok(())
    };
    let measured = measure();
    lobes_ppl::enable_validation(was);
    measured?;
    let mut deferred = vec![vec![], vec![], svi.deferred_last_step().to_vec()];
    deferred.push(deferred[2].clone());
    deferred.push(in_turn.deferred_last_step().to_vec());
    deferred.push(vectorised.deferred_last_step().to_vec());
    let names = [
        "hand-written loop, PPL Adam".to_string(),
        "hand-written loop, burn Adam".into(),
        "SVI.step, validation on".into(),
        "SVI.step, validation off".into(),
        format!("SVI.step, {n} particles in turn"),
        format!("SVI.step, {n} particles vectorised"),
    ];
    Ok(names
        .into_iter()
        .zip(best)
        .zip(deferred)
        .map(|((name, images_per_s), deferred)| BenchRow {
            name,
            images_per_s,
            deferred,
        })
        .collect())
}

/// The table `lobes bench` prints: each row's ratio is to the first, the hand-written loop
/// with the same optimiser as `SVI.step`.
pub fn table(rows: &[BenchRow]) -> String {
    let base = rows.first().map_or(1.0, |r| r.images_per_s);
    let mut out: String = rows
        .iter()
        .map(|r| {
            format!(
                "{:34} {:8.1} images/s   {:5.3}x the first row\n",
                r.name,
                r.images_per_s,
                r.images_per_s / base
            )
        })
        .collect();
    if let Some(r) = rows.iter().find(|r| !r.deferred.is_empty()) {
        out += &format!(
            "weight gradients computed inside Adam's update ({}): {}; the others written whole\n",
            r.name,
            r.deferred.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::ModuleVisitor;

    /// Every float parameter's values, in the module's order.
    struct Values(Vec<Vec<f32>>);
    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0
                .push(p.val().into_data().try_to_vec::<f32>().expect("f32"));
        }
    }
    fn values(v: &Vae) -> Vec<Vec<f32>> {
        let mut out = Values(vec![]);
        v.visit(&mut out);
        out.0
    }

    /// The hand-written loop with the PPL's Adam follows burn's Adam (same loss, same
    /// epsilon) parameter for parameter over several steps: every parameter is updated, each
    /// with its own state.
    #[test]
    fn the_ppl_optimiser_loop_matches_burns_adam() {
        let net = VaeConfig {
            pixels: 30,
            hidden: vec![16, 8],
            dropout: 0.0,
            ..VaeConfig::paper(3, false)
        };
        let dev = Device::flex().autodiff();
        let a = net.init(&dev);
        let b = a.clone();
        let initial = values(&a);
        assert_eq!(initial, values(&b));
        let x = Tensor::<1>::from_floats(
            (0..120)
                .map(|i| if i % 7 == 0 { 0.8 } else { 0.0 })
                .collect::<Vec<f32>>()
                .as_slice(),
            &dev,
        )
        .reshape([4, 30]);
        let (mut a, mut b) = (Some(a), Some(b));
        let mut ours = Adam::new(1e-2);
        let mut theirs = AdamConfig::new().with_epsilon(1e-8).init();
        let mut losses = vec![];
        for step in 0..5u32 {
            let eps = Tensor::<1>::from_floats(
                (0..12)
                    .map(|i| ((i * 5 + step) % 7) as f32 / 3.0 - 1.0)
                    .collect::<Vec<f32>>()
                    .as_slice(),
                &dev,
            )
            .reshape([4, 3]);
            let (next, loss) = ppl_optim_step(a.take().unwrap(), &mut ours, x.clone(), eps.clone());
            a = Some(next);
            losses.push(loss);
            let v = b.take().unwrap();
            let grads = GradientsParams::from_grads(hand_loss(&v, x.clone(), eps).backward(), &v);
            b = Some(theirs.step(1e-2, v, grads));
        }
        let (a, b) = (values(&a.unwrap()), values(&b.unwrap()));
        assert_eq!(a.len(), initial.len());
        for (k, (pa, pb)) in a.iter().zip(&b).enumerate() {
            for (x, y) in pa.iter().zip(pb) {
                assert!(
                    (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                    "parameter {k}: {x} vs {y}"
                );
            }
        }
        // The parameters moved (5 steps of lr 1e-2), and the loss fell.
        for (k, (pa, p0)) in a.iter().zip(&initial).enumerate() {
            let moved = pa.iter().zip(p0).filter(|(x, y)| (*x - *y).abs() > 1e-3);
            assert!(moved.count() > 0, "parameter {k} never moved");
        }
        assert!(losses[4] < losses[0], "{losses:?}");
    }
}
