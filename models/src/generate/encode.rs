//! Encoding samples (the guide's posterior), scoring them (test loss, log-likelihood) and
//! reconstructing them.

use super::Generator;
use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use crate::vae::{ModelKind, batch_of};
use burn::prelude::*;
use lobes_ppl::{module, no_grad, with_param_store};

impl Generator {
    /// The guide's mean latent of each sample.
    pub fn encode(&mut self, samples: &[Sample]) -> Result<Vec<f32>, ModelError> {
        Ok(self.posterior(samples)?.0)
    }

    /// The guide's q(z | x) of each sample: `(loc, scale)`, each `samples.len() x latent`
    /// values, row by row (dropout off).
    pub fn posterior(&mut self, samples: &[Sample]) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        self.check_inputs(samples)?;
        let refs: Vec<&Sample> = samples.iter().collect();
        let b = batch_of(&refs, self.side(), &self.device);
        let x = if self.kind == ModelKind::Cvae {
            Tensor::cat(vec![b.x, b.y], 1)
        } else {
            b.x
        };
        let enc = &self.template.encoder;
        let (loc, scale) =
            with_param_store(&mut self.store, || no_grad(|| module("encoder", enc)))?.forward(x);
        let values = |t: Tensor<2>| {
            t.try_into_vec_as::<f32>()
                .map_err(|e| ModelError::tensor_read("the guide's posterior", e))
        };
        Ok((values(loc)?, values(scale)?))
    }

    /// The test loss, -ELBO per image of `samples` (one guide draw per image, the PPL's
    /// generator seeded with `seed`), batches of `batch`. With `dropout` false this is
    /// `lobes train`'s `test_loss` (evaluation mode); with `dropout` true the networks keep
    /// their dropout, as the paper's script evaluates: Pyro's `evaluate_loss` does not switch
    /// modules to evaluation mode and the script never calls `vae.eval()`.
    pub fn test_loss(
        &mut self,
        samples: &[Sample],
        batch: usize,
        dropout: bool,
        seed: u64,
    ) -> Result<f64, ModelError> {
        use crate::vae::{Batch, guide, model};
        use lobes_ppl::infer::{Elbo, TraceElbo};
        self.check_inputs(samples)?;
        let side = self.side();
        let device = self.device.clone();
        // Dropout acts only on the autodiff device, outside `no_grad`.
        let template = if dropout {
            self.net.init(&device.clone().autodiff())
        } else {
            self.template.clone()
        };
        let m = |b: &Batch| model(&template, b);
        let g = |b: &Batch| guide(&template, b);
        lobes_ppl::rng::set_rng_seed(seed);
        let mut total = 0.0;
        with_param_store(&mut self.store, || {
            for chunk in samples.chunks(batch.max(1)) {
                let refs: Vec<&Sample> = chunk.iter().collect();
                let b = batch_of(&refs, side, &device);
                total += if dropout {
                    TraceElbo::default().estimate(&m, &g, &b)?.loss()
                } else {
                    TraceElbo::default().loss(&m, &g, &b)?
                };
            }
            Ok::<_, lobes_ppl::PplError>(())
        })?;
        Ok(total / samples.len() as f64)
    }

    /// The importance-sampled log-likelihood `log p(x)` of each image of `samples` (Burda et
    /// al. 2015; for a CVAE `log p(x | y)` with the image's own class): `k` weights
    /// `log p(x, z) − log q(z | x)` from the guide, drawn `chunk` at a time as a batch of copies
    /// of the image ([`lobes_ppl::infer::importance::log_weights_along`] over the plate
    /// `data`), then `log (1/k) Σ exp w`. Evaluation mode (dropout off); the PPL's generator is
    /// seeded with `seed`. Its expectation is the importance-weighted bound, at least the
    /// ELBO, rising towards `log p(x)` with `k`.
    pub fn log_likelihood(
        &mut self,
        samples: &[Sample],
        k: usize,
        chunk: usize,
        seed: u64,
    ) -> Result<Vec<f64>, ModelError> {
        use crate::vae::{Batch, guide, model};
        use lobes_ppl::infer::importance::{log_mean_exp, log_weights_along};
        self.check_inputs(samples)?;
        let (k, chunk) = (k.max(1), chunk.max(1));
        let side = self.side();
        let device = self.device.clone();
        let template = self.template.clone();
        let m = |b: &Batch| model(&template, b);
        let g = |b: &Batch| guide(&template, b);
        lobes_ppl::rng::set_rng_seed(seed);
        let mut out = Vec::with_capacity(samples.len());
        with_param_store(&mut self.store, || {
            for s in samples {
                let mut w = Vec::with_capacity(k);
                while w.len() < k {
                    let copies = vec![s; chunk.min(k - w.len())];
                    w.extend(log_weights_along(
                        &m,
                        &g,
                        &batch_of(&copies, side, &device),
                        "data",
                    )?);
                }
                out.push(log_mean_exp(&w));
            }
            Ok::<_, lobes_ppl::PplError>(())
        })?;
        Ok(out)
    }

    /// Reconstructions of `samples` (decoded from their mean latents, with their own classes).
    pub fn reconstruct(&mut self, samples: &[Sample]) -> Result<Vec<Image>, ModelError> {
        let z = self.encode(samples)?;
        let classes: Vec<Class> = samples.iter().map(|s| s.label).collect();
        self.decode(&z, &classes)
    }
}
