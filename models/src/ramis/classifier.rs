//! The classifier that defines RAMIS: the "HMT" network of Tang et al. (2019), loaded from the
//! published PyTorch weights (converted to safetensors), evaluated with batch norm in its
//! running statistics and dropout off. Input: 150x150 images in [0, 1] (uint8 / 255).
//!
//! conv1 1→6 k11 pad5, ReLU, bnorm1, maxpool 2; conv2 6→16 k5 pad2, ReLU, bnorm2, maxpool 3;
//! conv3 16→24 k3, ReLU, bnorm3; conv4 24→24 k3, ReLU, bnorm4; conv5 24→16 k3, ReLU, bnorm5,
//! maxpool 5 (16x5x5 = 400); fc1 400→256, ReLU; fc2 256→256, ReLU; fc2 *again*, ReLU (the
//! published network applies the same layer twice); fc3 256→2 (FRI, FRII logits).

use crate::data::{Class, DataError, Image};
use crate::error::ModelError;
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use std::collections::HashMap;
use std::path::Path;

const BN_EPS: f64 = 1e-5;

/// Side of the classifier's square input images.
pub const SIDE: usize = 150;

/// Images `[B, 1, SIDE, SIDE]` on `device` (every image must be `SIDE x SIDE`).
pub(crate) fn images_tensor(images: &[Image], device: &Device) -> Tensor<4> {
    let px: Vec<f32> = images
        .iter()
        .flat_map(|i| i.pixels.iter().copied())
        .collect();
    Tensor::<1>::from_floats(px.as_slice(), device).reshape([images.len(), 1, SIDE, SIDE])
}

struct Conv {
    w: Tensor<4>,
    b: Tensor<1>,
    pad: usize,
}

struct Norm {
    scale: Tensor<1>,
    shift: Tensor<1>,
}

struct Dense {
    w: Tensor<2>,
    b: Tensor<1>,
}

/// Max-pooling with a `k x k` window and stride `k`, flooring (PyTorch's `MaxPool2d(k)`).
pub(crate) fn max_pool(x: Tensor<4>, k: usize) -> Tensor<4> {
    max_pool2d(
        x,
        MaxPoolOptions {
            kernel_size: [k, k],
            stride: [k, k],
            padding: [(0, 0); 2],
            dilation: [1, 1],
            ceil_mode: false,
        },
    )
}

/// The published RAMIS classifier, ready for inference.
pub struct Classifier {
    convs: Vec<Conv>,
    norms: Vec<Norm>,
    fc: Vec<Dense>,
    device: Device,
}

impl Classifier {
    /// Loads `hmt-frdeepf.safetensors` (PyTorch tensor names).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let device = Device::default();
        let (tensors, _) = lobes_ppl::io::load_tensors(path, &device)?;
        let t: HashMap<String, lobes_ppl::DTensor> = tensors.into_iter().collect();
        let get = |name: &str| {
            t.get(name).cloned().ok_or_else(|| {
                ModelError::Data(DataError::format(path, format!("tensor '{name}' missing")))
            })
        };
        let shape_err = |name: &str, e: lobes_ppl::shape::ShapeError| {
            ModelError::Data(DataError::format(path, format!("tensor '{name}': {e}")))
        };
        let mut convs = vec![];
        for (i, pad) in [(1, 5), (2, 2), (3, 1), (4, 1), (5, 1)] {
            let (wn, bn) = (format!("conv{i}.weight"), format!("conv{i}.bias"));
            convs.push(Conv {
                w: get(&wn)?.to_tensor::<4>().map_err(|e| shape_err(&wn, e))?,
                b: get(&bn)?.to_tensor::<1>().map_err(|e| shape_err(&bn, e))?,
                pad,
            });
        }
        let mut norms = vec![];
        for i in 1..=5 {
            let g = |k: &str| {
                let n = format!("bnorm{i}.{k}");
                get(&n)?.to_tensor::<1>().map_err(|e| shape_err(&n, e))
            };
            let (gamma, beta, mean, var) = (
                g("weight")?,
                g("bias")?,
                g("running_mean")?,
                g("running_var")?,
            );
            // Eval-mode batch norm as an affine map: y = x * scale + shift.
            let scale = gamma / (var + BN_EPS).sqrt();
            let shift = beta - mean * scale.clone();
            norms.push(Norm { scale, shift });
        }
        let mut fc = vec![];
        for i in 1..=3 {
            let (wn, bn) = (format!("fc{i}.weight"), format!("fc{i}.bias"));
            // PyTorch stores Linear weights as [out, in].
            fc.push(Dense {
                w: get(&wn)?
                    .to_tensor::<2>()
                    .map_err(|e| shape_err(&wn, e))?
                    .transpose(),
                b: get(&bn)?.to_tensor::<1>().map_err(|e| shape_err(&bn, e))?,
            });
        }
        Ok(Classifier {
            convs,
            norms,
            fc,
            device,
        })
    }

    fn block(&self, x: Tensor<4>, i: usize, pool: Option<usize>) -> Tensor<4> {
        let c = &self.convs[i];
        let opts = ConvOptions {
            stride: [1, 1],
            padding: [(c.pad, c.pad); 2],
            dilation: [1, 1],
            groups: 1,
        };
        let y = relu(conv2d(x, c.w.clone(), Some(c.b.clone()), opts));
        let ch = self.norms[i].scale.dims()[0];
        let y = y * self.norms[i].scale.clone().reshape([1, ch, 1, 1])
            + self.norms[i].shift.clone().reshape([1, ch, 1, 1]);
        match pool {
            Some(k) => max_pool(y, k),
            None => y,
        }
    }

    /// Logits `[B, 2]` (FRI, FRII) of 150x150 images.
    pub fn logits(&self, images: &[Image]) -> Result<Tensor<2>, ModelError> {
        if let Some(bad) = images.iter().find(|i| i.size != SIDE) {
            return Err(ModelError::Config(format!(
                "the classifier takes 150x150 images, got {0}x{0}",
                bad.size
            )));
        }
        let n = images.len();
        let x = images_tensor(images, &self.device);
        let x = self.block(x, 0, Some(2));
        let x = self.block(x, 1, Some(3));
        let x = self.block(x, 2, None);
        let x = self.block(x, 3, None);
        let x = self.block(x, 4, Some(5));
        let h: Tensor<2> = x.reshape([n, 400]);
        let dense = |d: &Dense, h: Tensor<2>| h.matmul(d.w.clone()) + d.b.clone().unsqueeze::<2>();
        let h = relu(dense(&self.fc[0], h));
        let h = relu(dense(&self.fc[1], h));
        let h = relu(dense(&self.fc[1], h));
        Ok(dense(&self.fc[2], h))
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
