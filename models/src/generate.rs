//! Generation from a trained VAE/CVAE: prior or uniform latents, per-class for the CVAE,
//! reconstructions, all in evaluation mode (dropout off).

use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use crate::vae::{ModelKind, Prior, RunMetadata, Vae, VaeConfig, batch_of, images_of, one_hot};
use burn::prelude::*;
use lobes_ppl::{ParamStore, module, no_grad, with_param_store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Where latent points come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// The prior, N(0, I).
    Prior,
    /// Uniform on `[lo, hi]` in every dimension (the paper's uniform(-4, 4)).
    Uniform(f64, f64),
}

impl Sampling {
    /// Parses `prior` or `uniform:LO,HI`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "prior" {
            return Some(Sampling::Prior);
        }
        let (lo, hi) = s.strip_prefix("uniform:")?.split_once(',')?;
        let (lo, hi): (f64, f64) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        (lo < hi).then_some(Sampling::Uniform(lo, hi))
    }
}

/// A trained network with its parameter store.
pub struct Generator {
    /// VAE or CVAE.
    pub kind: ModelKind,
    /// Network sizes.
    pub net: VaeConfig,
    store: ParamStore,
    template: Vae,
    device: Device,
}

impl Generator {
    /// From a store of trained parameters.
    pub fn from_store(kind: ModelKind, net: VaeConfig, store: ParamStore) -> Self {
        let template = net.init(&Device::default());
        Self::with_template(kind, net, store, template)
    }

    /// From a store and a network already built for `net` on the default device (its values
    /// are used only for parameters the store lacks), so repeated measurements do not build
    /// the network again.
    pub fn with_template(
        kind: ModelKind,
        net: VaeConfig,
        store: ParamStore,
        template: Vae,
    ) -> Self {
        Generator {
            kind,
            template,
            net,
            store,
            device: Device::default(),
        }
    }

    /// From a checkpoint written by `lobes train` (or a model file from [`crate::export`]).
    pub fn load(checkpoint: &Path) -> Result<Self, ModelError> {
        let (meta, store) = Self::read(checkpoint)?;
        Ok(Self::from_store(meta.kind, meta.net, store))
    }

    /// A checkpoint's metadata and parameters, checked against each other: the network the
    /// metadata describes holds exactly the file's parameters.
    pub fn read(checkpoint: &Path) -> Result<(RunMetadata, ParamStore), ModelError> {
        let (store, map) = ParamStore::load_with_metadata(checkpoint, &Device::default())?;
        let meta = RunMetadata::from_map(&map, checkpoint)?;
        let (kind, net) = (meta.kind, &meta.net);
        // The metadata must describe the tensors the file holds before the network is built:
        // the networks' and, beside them, only the likelihood's and the prior's own.
        let own = net.model_param_names();
        if let Some(n) = store.names().iter().find(|n| {
            !n.starts_with("encoder.") && !n.starts_with("decoder.") && !own.contains(&n.as_str())
        }) {
            return Err(ModelError::Config(format!(
                "{}: parameter '{n}' is not one of the networks' nor of the {} likelihood's or \
                 the {} prior's",
                checkpoint.display(),
                net.likelihood.name(),
                net.prior.name()
            )));
        }
        let held: usize = store
            .names()
            .iter()
            .filter(|n| n.starts_with("encoder.") || n.starts_with("decoder."))
            .filter_map(|n| store.get(n))
            .map(|t| t.numel())
            .sum();
        if held != net.num_params() {
            return Err(ModelError::Config(format!(
                "{}: the metadata describes a {} of {} parameters, the file holds {held}",
                checkpoint.display(),
                kind.name(),
                net.num_params()
            )));
        }
        Ok((meta, store))
    }

    /// The side of the square images the network decodes.
    pub fn side(&self) -> usize {
        (self.net.pixels as f64).sqrt().round() as usize
    }

    /// Decodes `n` latent points (`z` holds `n * latent` values) into images, each the mean
    /// of the likelihood ([`Likelihood::mean`](crate::vae::Likelihood::mean): the decoder's
    /// output but for the continuous Bernoulli); the CVAE needs a class for each.
    pub fn decode(&mut self, z: &[f32], classes: &[Class]) -> Result<Vec<Image>, ModelError> {
        let d = self.net.latent;
        let n = z.len() / d;
        let mut input = Tensor::<1>::from_floats(z, &self.device).reshape([n, d]);
        if self.kind == ModelKind::Cvae {
            if classes.len() != n {
                return Err(ModelError::Config(format!(
                    "the CVAE needs a class for each of the {n} latent points"
                )));
            }
            input = Tensor::cat(vec![input, one_hot(classes, &self.device)], 1);
        }
        let dec = &self.template.decoder;
        let decoded = with_param_store(&mut self.store, || no_grad(|| module("decoder", dec)))?
            .forward(input);
        let px: Vec<f32> = self
            .net
            .likelihood
            .mean(decoded)
            .try_into_vec_as::<f32>()
            .map_err(|e| ModelError::tensor_read("the decoded pixels", e))?;
        Ok(images_of(&px, self.side()))
    }

    /// `n` latent points (`n * latent` values, point by point) drawn as `sampling` says: from
    /// the model's prior (with its trained parameters, for a learnable one) or uniform. The
    /// paper's Normal(0, I) and the uniform box draw from ChaCha8 seeded with `seed`; the other
    /// priors from their distribution, with the PPL's generator seeded with `seed` for the draw
    /// and restored after it.
    pub fn latents(
        &mut self,
        n: usize,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<f32>, ModelError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = self.net.latent;
        Ok(match (sampling, self.net.prior) {
            (Sampling::Prior, Prior::Normal) => (0..n * d)
                .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
                .collect(),
            (Sampling::Uniform(lo, hi), _) => (0..n * d)
                .map(|_| rng.random_range(lo..hi) as f32)
                .collect(),
            (Sampling::Prior, prior) => {
                // Seeded draws that leave the PPL's generator as they found it (training's
                // stream, when RAMIS is measured between epochs).
                let before = lobes_ppl::rng::get_rng_state();
                lobes_ppl::rng::set_rng_seed(seed);
                let dev = self.device.clone();
                let z = with_param_store(&mut self.store, || {
                    no_grad(|| prior.distribution(n, d, &dev).map(|p| p.sample()))
                });
                lobes_ppl::rng::set_rng_state(&before);
                z?.to_vec()
            }
        })
    }

    /// `n` new images. For the CVAE, of `class`, or alternating FRI/FRII when `None`.
    pub fn generate(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<Image>, ModelError> {
        let z = self.latents(n, sampling, seed)?;
        let classes: Vec<Class> = (0..n).map(|i| class.unwrap_or(Class::ALL[i % 2])).collect();
        self.decode(&z, &classes)
    }

    /// [`Generator::generate`] as samples named `generated_00000`, ... with their classes (a
    /// VAE's, which have none, alternate FRI/FRII like the CVAE's without `class`).
    pub fn generate_samples(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
    ) -> Result<Vec<Sample>, ModelError> {
        let images = self.generate(n, class, sampling, seed)?;
        Ok(images
            .into_iter()
            .enumerate()
            .map(|(i, image)| Sample {
                image,
                label: class.unwrap_or(Class::ALL[i % 2]),
                name: format!("generated_{i:05}"),
                meta: Default::default(),
            })
            .collect())
    }

    /// The guide's mean latent of each sample.
    pub fn encode(&mut self, samples: &[Sample]) -> Result<Vec<f32>, ModelError> {
        Ok(self.posterior(samples)?.0)
    }

    /// The guide's q(z | x) of each sample: `(loc, scale)`, each `samples.len() x latent`
    /// values, row by row (dropout off).
    pub fn posterior(&mut self, samples: &[Sample]) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
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
        Ok(total / samples.len().max(1) as f64)
    }

    /// Reconstructions of `samples` (decoded from their mean latents, with their own classes).
    pub fn reconstruct(&mut self, samples: &[Sample]) -> Result<Vec<Image>, ModelError> {
        let z = self.encode(samples)?;
        let classes: Vec<Class> = samples.iter().map(|s| s.label).collect();
        self.decode(&z, &classes)
    }
}
