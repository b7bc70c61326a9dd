//! Generation from a trained VAE/CVAE: prior or uniform latents, per-class for the CVAE,
//! reconstructions, all in evaluation mode (dropout off).

use crate::data::{Class, Image, Sample};
use crate::error::ModelError;
use crate::vae::{ModelKind, RunMetadata, Vae, VaeConfig, images_of, one_hot};
use burn::prelude::*;
use lobes_ppl::{ParamStore, module, no_grad, with_param_store};
use std::path::{Path, PathBuf};

mod draw;
mod encode;
mod sampling;
pub mod write;

pub use sampling::Sampling;

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
        Self::load_with_metadata(checkpoint).map(|(g, _)| g)
    }

    /// [`Generator::load`] with the checkpoint's run metadata (its seed, epoch, settings),
    /// from one read of the file.
    pub fn load_with_metadata(checkpoint: &Path) -> Result<(Self, RunMetadata), ModelError> {
        let (meta, store) = Self::read(checkpoint)?;
        let mut g = Self::from_store(meta.kind, meta.net.clone(), store);
        g.source = Some(checkpoint.to_path_buf());
        Ok((g, meta))
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
}
