//! The classifier that defines RAMIS, for inference: the HMT network ([`Hmt`], written once in
//! [`crate::ramis::network`]) loaded from the published PyTorch weights (converted to
//! safetensors); RAMIS itself ([`ramis`]) and the count of correct predictions.

pub use super::network::SIDE;

use super::network::{Hmt, images_tensor};
use crate::data::{Class, Image};
use crate::error::ModelError;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use std::collections::HashMap;
use std::path::Path;

/// The published RAMIS classifier, ready for inference: the [`Hmt`] network with the file's
/// weights, on the plain default device (batch norm in its running statistics, dropout off).
pub struct Classifier {
    net: Hmt,
    device: Device,
}

impl Classifier {
    /// Loads `hmt-frdeepf.safetensors` (PyTorch tensor names), or a classifier written by
    /// `lobes classifier train`. A tensor holding a NaN or an infinity is an error naming the
    /// file and the tensor: every score would be NaN.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let device = Device::default();
        let (tensors, _) = lobes_ppl::io::load_tensors(path, &device)?;
        for (name, t) in &tensors {
            let values = t.to_vec();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::NonFinite {
                    path: path.to_path_buf(),
                    problem: format!("tensor '{name}' holds {} at element {i}", values[i]),
                });
            }
        }
        let t: HashMap<String, lobes_ppl::DTensor> = tensors.into_iter().collect();
        Ok(Classifier {
            net: Hmt::from_named(&t, path, &device)?,
            device,
        })
    }

    /// Logits `[B, 2]` (FRI, FRII) of 150x150 images.
    pub fn logits(&self, images: &[Image]) -> Result<Tensor<2>, ModelError> {
        if let Some(bad) = images.iter().find(|i| i.size != SIDE) {
            return Err(ModelError::ClassifierImageSize {
                image: None,
                side: bad.size,
            });
        }
        Ok(self.net.forward(images_tensor(images, &self.device)))
    }

    /// The penultimate-layer features (256 per image) of 150x150 images, in batches of 50:
    /// the space of the Fréchet distance ([`crate::ramis::frechet`]).
    pub fn features(&self, images: &[Image]) -> Result<Vec<Vec<f64>>, ModelError> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(50) {
            if let Some(bad) = chunk.iter().find(|i| i.size != SIDE) {
                return Err(ModelError::ClassifierImageSize {
                    image: None,
                    side: bad.size,
                });
            }
            let f = self.net.features(images_tensor(chunk, &self.device));
            let width = f.dims()[1];
            let v = f
                .try_into_vec_as::<f32>()
                .map_err(|e| ModelError::tensor_read("the classifier's features", e))?;
            out.extend(
                v.chunks(width)
                    .map(|r| r.iter().map(|&x| x as f64).collect()),
            );
        }
        Ok(out)
    }

    /// Class probabilities p(y | x), `n x 2` row-major, in batches of 50.
    pub fn probs(&self, images: &[Image]) -> Result<Vec<[f64; 2]>, ModelError> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(50) {
            let p = softmax(self.logits(chunk)?, 1)
                .try_into_vec_as::<f32>()
                .map_err(|e| ModelError::tensor_read("the class probabilities", e))?;
            out.extend(p.chunks(2).map(|c| [c[0] as f64, c[1] as f64]));
        }
        Ok(out)
    }
}

/// RAMIS = exp( mean over images of KL(p(y|x) ‖ p(y)) ), p(y) the mean of p(y|x) over the set,
/// with `eps` inside the logarithms (the radio morphology inception score).
pub fn ramis(probs: &[[f64; 2]], eps: f64) -> f64 {
    let n = probs.len().max(1) as f64;
    let py = [
        probs.iter().map(|p| p[0]).sum::<f64>() / n,
        probs.iter().map(|p| p[1]).sum::<f64>() / n,
    ];
    let kl: f64 = probs
        .iter()
        .map(|p| {
            (0..2)
                .map(|k| p[k] * ((p[k] + eps).ln() - (py[k] + eps).ln()))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n;
    kl.exp()
}

/// How many of `probs` (p(y | x), FRI then FRII) put the higher probability on the true class.
pub fn correct(probs: &[[f64; 2]], labels: &[Class]) -> usize {
    probs
        .iter()
        .zip(labels)
        .filter(|(p, l)| (if p[1] > p[0] { Class::FRII } else { Class::FRI }) == **l)
        .count()
}
