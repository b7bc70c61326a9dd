//! Generation from a trained VAE/CVAE: prior or uniform latents, per-class for the CVAE,
//! reconstructions, all in evaluation mode (dropout off).

use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use crate::vae::{ModelKind, Prior, RunMetadata, Vae, VaeConfig, batch_of, images_of, one_hot};
use burn::prelude::*;
use lobes_ppl::{ParamStore, module, no_grad, with_param_store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

pub mod write;

/// Where latent points come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// The prior, N(0, I).
    Prior,
    /// Uniform on `[lo, hi]` in every dimension (the paper's uniform(-4, 4)).
    Uniform(f64, f64),
}

impl Sampling {
    /// Parses `prior` or `uniform:LO,HI`; `None` for anything else, or for a box
    /// [`Sampling::check`] refuses.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_option("", s).ok()
    }

    /// Parses the value `s` of the command-line option `option` (e.g. `--sampling`): `prior`,
    /// or `uniform:LO,HI` with bounds [`Sampling::check`] accepts. An error names the option,
    /// the value and what is wrong, before anything is read or written.
    pub fn from_option(option: &'static str, s: &str) -> Result<Self, ModelError> {
        let bad = |why: &str| {
            ModelError::invalid_option(
                option,
                s,
                format!(
                    "{option}{}'{s}': {why}",
                    if option.is_empty() { "" } else { " " }
                ),
            )
        };
        if s == "prior" {
            return Ok(Sampling::Prior);
        }
        let (lo, hi) = s
            .strip_prefix("uniform:")
            .and_then(|r| r.split_once(','))
            .ok_or_else(|| bad("expected prior or uniform:LO,HI"))?;
        let (lo, hi): (f64, f64) = match (lo.trim().parse(), hi.trim().parse()) {
            (Ok(lo), Ok(hi)) => (lo, hi),
            _ => return Err(bad("LO and HI of uniform:LO,HI must be numbers")),
        };
        let sampling = Sampling::Uniform(lo, hi);
        sampling.check().map_err(|why| bad(&why))?;
        Ok(sampling)
    }

    /// A uniform box must have finite bounds that a latent (`f32`) can hold, `LO < HI`, and a
    /// finite width `HI - LO` (`-1e308,1e308` overflows); the prior is always fine.
    pub fn check(&self) -> Result<(), String> {
        let Sampling::Uniform(lo, hi) = *self else {
            return Ok(());
        };
        // 1e308 is shown as such, not as 309 digits.
        let show = |v: f64| {
            if v.abs() >= 1e15 {
                format!("{v:e}")
            } else {
                v.to_string()
            }
        };
        let (l, h) = (show(lo), show(hi));
        if !lo.is_finite() || !hi.is_finite() {
            return Err(format!("the bounds must be finite, got {l} and {h}"));
        }
        if lo >= hi {
            return Err(format!("LO must be below HI, got {l} and {h}"));
        }
        if !(hi - lo).is_finite() {
            return Err(format!(
                "the width HI - LO of {l} and {h} overflows to {}",
                hi - lo
            ));
        }
        if !(lo as f32).is_finite() || !(hi as f32).is_finite() {
            return Err(format!(
                "a latent is an f32: the bounds must lie within ±{:e}, got {l} and {h}",
                f32::MAX
            ));
        }
        Ok(())
    }
}

/// Generated image `i`, named `generated_00000`, ..., of `class` (alternating FRI/FRII when
/// `None`).
fn generated(i: usize, image: Image, class: Option<Class>) -> Sample {
    Sample {
        image,
        label: class.unwrap_or(Class::ALL[i % 2]),
        name: format!("generated_{i:05}"),
        meta: Default::default(),
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
    /// The checkpoint it was read from, for messages (`None`: built from a store).
    source: Option<PathBuf>,
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
            source: None,
        }
    }

    /// From a checkpoint written by `lobes train` (or a model file from [`crate::export`]).
    pub fn load(checkpoint: &Path) -> Result<Self, ModelError> {
        let (meta, store) = Self::read(checkpoint)?;
        let mut g = Self::from_store(meta.kind, meta.net, store);
        g.source = Some(checkpoint.to_path_buf());
        Ok(g)
    }

    /// A checkpoint's metadata and parameters, checked against each other: the network the
    /// metadata describes holds exactly the file's parameters, and every value is finite (a
    /// NaN or an infinity, left by a run whose training blew up, is an error naming the file
    /// and the parameter).
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
            return Err(ModelError::checkpoint(
                checkpoint,
                format!(
                    "parameter '{n}' is not one of the networks' nor of the {} likelihood's or \
                     the {} prior's",
                    net.likelihood.name(),
                    net.prior.name()
                ),
            ));
        }
        let held: usize = store
            .names()
            .iter()
            .filter(|n| n.starts_with("encoder.") || n.starts_with("decoder."))
            .filter_map(|n| store.get(n))
            .map(|t| t.numel())
            .sum();
        if held != net.num_params() {
            return Err(ModelError::checkpoint(
                checkpoint,
                format!(
                    "the metadata describes a {} of {} parameters, the file holds {held}",
                    kind.name(),
                    net.num_params()
                ),
            ));
        }
        if let Some(bad) = store.first_non_finite() {
            return Err(ModelError::NonFinite {
                path: checkpoint.to_path_buf(),
                problem: bad.to_string(),
            });
        }
        Ok((meta, store))
    }

    /// The model, for messages: its checkpoint's path, or `the model`.
    pub fn name(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => "the model".to_string(),
        }
    }

    /// Refuses inputs the network cannot take: an empty set, or an image smaller than its
    /// input (larger ones are centre-cropped), naming the image and both sizes.
    pub fn check_inputs(&self, samples: &[Sample]) -> Result<(), ModelError> {
        if samples.is_empty() {
            return Err(ModelError::no_images(
                None,
                format!("no images to give {}", self.name()),
            ));
        }
        crate::vae::check_inputs(samples, self.side(), &self.name())
    }

    /// Refuses to decode `n` points when the images would not fit in memory (see
    /// [`crate::memory`]): the pixels are held about four times over while decoding, besides
    /// the hidden layers' activations.
    fn check_decode_memory(&self, n: usize) -> Result<(), ModelError> {
        let hidden: usize = self.net.hidden.iter().sum();
        let each = 4 * (4 * self.net.pixels as u128 + 2 * hidden as u128 + self.net.latent as u128);
        crate::memory::check(
            &format!("decoding {n} images of {}", self.name()),
            crate::memory::total(n, each, 0),
        )
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
        self.check_decode_memory(n)?;
        let mut input = Tensor::<1>::from_floats(z, &self.device).reshape([n, d]);
        if self.kind == ModelKind::Cvae {
            if classes.len() != n {
                return Err(ModelError::ClassCount {
                    points: n,
                    classes: classes.len(),
                });
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
        sampling.check().map_err(|why| {
            ModelError::invalid_option(
                "sampling",
                format!("{sampling:?}"),
                format!("sampling {sampling:?}: {why}"),
            )
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = self.net.latent;
        let values = n.checked_mul(d).filter(|v| v.checked_mul(4).is_some());
        let Some(values) = values else {
            return Err(ModelError::invalid_option(
                "--n",
                n,
                format!(
                    "{n} latent points of {d} dimensions are more values than memory can address"
                ),
            ));
        };
        crate::memory::check(
            &format!("{n} latent points of {d} dimensions"),
            crate::memory::total(values, 4, 0),
        )?;
        Ok(match (sampling, self.net.prior) {
            (Sampling::Prior, Prior::Normal) => (0..values)
                .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
                .collect(),
            (Sampling::Uniform(lo, hi), _) => (0..values)
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
            .map(|(i, image)| generated(i, image, class))
            .collect())
    }

    /// [`Generator::generate_samples`] a chunk of at most `chunk` images at a time, each chunk
    /// handed to `each` as soon as it is decoded, so that `n` images need the memory of one
    /// chunk (and of the `n` latent points, drawn at once). The images, names and classes are
    /// those of one call; bit for bit when `n <= chunk`.
    pub fn generate_chunks(
        &mut self,
        n: usize,
        class: Option<Class>,
        sampling: Sampling,
        seed: u64,
        chunk: usize,
        mut each: impl FnMut(Vec<Sample>) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let z = self.latents(n, sampling, seed)?;
        let d = self.net.latent;
        let chunk = chunk.max(1);
        for start in (0..n).step_by(chunk) {
            let end = n.min(start + chunk);
            let classes: Vec<Class> = (start..end)
                .map(|i| class.unwrap_or(Class::ALL[i % 2]))
                .collect();
            let images = self.decode(&z[start * d..end * d], &classes)?;
            each(
                images
                    .into_iter()
                    .zip(start..)
                    .map(|(image, i)| generated(i, image, class))
                    .collect(),
            )?;
        }
        Ok(())
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Generator {
        let net = VaeConfig {
            pixels: 100,
            hidden: vec![8],
            ..VaeConfig::paper(2, true)
        };
        let template = net.init(&Device::default());
        Generator::with_template(ModelKind::Cvae, net, ParamStore::new(), template)
    }

    #[test]
    fn a_uniform_box_needs_finite_bounds_a_finite_width_and_lo_below_hi() {
        assert_eq!(
            Sampling::from_option("--sampling", "uniform:-4,4").unwrap(),
            Sampling::Uniform(-4.0, 4.0)
        );
        assert_eq!(Sampling::parse("prior"), Some(Sampling::Prior));
        for (value, why) in [
            ("uniform:-inf,inf", "must be finite"),
            ("uniform:NaN,1", "must be finite"),
            ("uniform:-1e308,1e308", "overflows"),
            ("uniform:-1e300,1e300", "a latent is an f32"),
            ("uniform:4,-4", "LO must be below HI"),
            ("uniform:1,1", "LO must be below HI"),
            ("uniform:a,1", "must be numbers"),
            ("gauss", "expected prior or uniform:LO,HI"),
        ] {
            let e = Sampling::from_option("--sampling", value)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("--sampling '{value}': ")) && e.contains(why),
                "{value}: {e}"
            );
            assert_eq!(Sampling::parse(value), None, "{value}");
        }
        // A box built in code is checked before drawing: no panic in the generator.
        let e = tiny()
            .latents(3, Sampling::Uniform(f64::NEG_INFINITY, 0.0), 0)
            .unwrap_err();
        assert!(e.to_string().contains("must be finite"), "{e}");
    }

    #[test]
    fn counts_beyond_memory_are_errors_not_overflows_or_aborts() {
        let mut g = tiny();
        for n in [usize::MAX, 100_000_000_000_000] {
            let e = g.latents(n, Sampling::Prior, 0).unwrap_err().to_string();
            assert!(e.contains("latent points"), "{e}");
        }
    }

    #[test]
    fn chunks_hold_the_images_names_and_classes_of_one_call() {
        let mut g = tiny();
        let all = g.generate_samples(7, None, Sampling::Prior, 5).unwrap();
        let mut chunks = vec![];
        g.generate_chunks(7, None, Sampling::Prior, 5, 3, |c| {
            chunks.push(c.len());
            for s in c {
                let a = all.iter().find(|a| a.name == s.name).expect("same names");
                assert_eq!(a.label, s.label);
                let diff = a
                    .image
                    .pixels
                    .iter()
                    .zip(&s.image.pixels)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                assert!(diff < 1e-6, "{}: {diff}", s.name);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(chunks, [3, 3, 1]);
    }
}
