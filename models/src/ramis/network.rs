//! The HMT network of Tang et al. (2019), the classifier that defines RAMIS, written once: as
//! a burn module that `lobes classifier train` trains ([`crate::ramis::hmt`]) and that
//! [`Classifier`](crate::ramis::classifier::Classifier) loads from the published PyTorch
//! weights for inference (on a plain device batch norm uses its running statistics and
//! dropout is off). Input: 150x150 images in [0, 1] (uint8 / 255).
//!
//! conv1 1→6 k11 pad5, ReLU, bnorm1, maxpool 2; conv2 6→16 k5 pad2, ReLU, bnorm2, maxpool 3;
//! conv3 16→24 k3, ReLU, bnorm3; conv4 24→24 k3, ReLU, bnorm4; conv5 24→16 k3, ReLU, bnorm5,
//! maxpool 5 (16x5x5 = 400); fc1 400→256, ReLU; fc2 256→256, ReLU; fc2 *again*, ReLU (the
//! published network applies the same layer twice); fc3 256→2 (FRI, FRII logits).

use crate::data::{DataError, Image};
use crate::error::ModelError;
use burn::module::{Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use lobes_ppl::DTensor;
use std::collections::HashMap;
use std::path::Path;

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

/// (in, out, kernel, padding, max-pool) of the five convolutional blocks.
const CONVS: [(usize, usize, usize, usize, Option<usize>); 5] = [
    (1, 6, 11, 5, Some(2)),
    (6, 16, 5, 2, Some(3)),
    (16, 24, 3, 1, None),
    (24, 24, 3, 1, None),
    (24, 16, 3, 1, Some(5)),
];

/// The HMT network, trainable. Layer names follow the published PyTorch model.
#[derive(Module, Debug)]
pub struct Hmt {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    dropout: Dropout,
}

impl Hmt {
    /// A freshly initialised network with dropout `p`: [`Hmt::seeded`] with seed 0.
    pub fn new(dropout: f64, device: &Device) -> Self {
        Hmt::seeded(dropout, 0, device)
    }

    /// A freshly initialised network with dropout `p`, its weights and biases drawn on the host
    /// from `seed` ([`crate::init`]: PyTorch's and burn's default `U(-1/√fan_in, 1/√fan_in)`,
    /// one stream per PyTorch parameter name), the same on every device.
    pub fn seeded(dropout: f64, seed: u64, device: &Device) -> Self {
        let convs = CONVS
            .iter()
            .enumerate()
            .map(|(n, &(i, o, k, p, _))| {
                // burn's parameters are lazy: replaced before first use, never drawn.
                let mut conv = Conv2dConfig::new([i, o], [k, k])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                    .init(device);
                let name = format!("conv{}", n + 1);
                let fan_in = i * k * k;
                conv.weight = crate::init::uniform_param(
                    seed,
                    &format!("{name}.weight"),
                    [o, i, k, k],
                    fan_in,
                    device,
                );
                conv.bias = Some(crate::init::uniform_param(
                    seed,
                    &format!("{name}.bias"),
                    [o],
                    fan_in,
                    device,
                ));
                conv
            })
            .collect();
        let norms = CONVS
            .iter()
            .map(|&(_, o, ..)| BatchNormConfig::new(o).init(device))
            .collect();
        Hmt {
            convs,
            norms,
            fc1: crate::init::linear(seed, "fc1", 400, 256, device),
            fc2: crate::init::linear(seed, "fc2", 256, 256, device),
            fc3: crate::init::linear(seed, "fc3", 256, 2, device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// Logits `[B, 2]` (FRI, FRII) of images `[B, 1, 150, 150]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.fc3.forward(self.features(x))
    }

    /// The penultimate layer `[B, 256]` of images `[B, 1, 150, 150]`: what the last layer
    /// classifies, and the feature space of the Fréchet distance
    /// ([`crate::ramis::frechet`]).
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for ((conv, norm), &(.., pool)) in self.convs.iter().zip(&self.norms).zip(&CONVS) {
            x = norm.forward(relu(conv.forward(x)));
            if let Some(k) = pool {
                x = max_pool(x, k);
            }
        }
        let n = x.dims()[0];
        let h = x.reshape([n, 400]);
        let h = self.dropout.forward(relu(self.fc1.forward(h)));
        let h = self.dropout.forward(relu(self.fc2.forward(h)));
        // The published network applies fc2 twice.
        self.dropout.forward(relu(self.fc2.forward(h)))
    }

    /// The network in `tensors` (PyTorch's names and layouts, as
    /// [`Hmt::named_tensors`] writes them and the published `hmt-frdeepf.safetensors` holds
    /// them, loaded on `device`), dropout off. A missing tensor or one of another shape is an
    /// error naming the file (`path`), the tensor and both shapes.
    pub fn from_named(
        tensors: &HashMap<String, DTensor>,
        path: &Path,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut net = Hmt::new(0.0, device);
        let get = |name: &str, want: &[usize]| -> Result<DTensor, ModelError> {
            let t = tensors.get(name).ok_or_else(|| {
                ModelError::Data(DataError::format(path, format!("tensor '{name}' missing")))
            })?;
            if t.shape() != want {
                return Err(ModelError::Data(DataError::format(
                    path,
                    format!(
                        "tensor '{name}' has shape {:?}, the network's is {want:?}",
                        t.shape()
                    ),
                )));
            }
            Ok(t.clone())
        };
        fn tensor<const D: usize>(t: DTensor) -> Tensor<D> {
            t.to_tensor::<D>()
                .expect("shape checked against the network's")
        }
        for (i, (c, n)) in net.convs.iter_mut().zip(net.norms.iter_mut()).enumerate() {
            let k = i + 1;
            let w = get(&format!("conv{k}.weight"), &c.weight.dims())?;
            c.weight = Param::from_tensor(tensor(w));
            let o = c.weight.dims()[0];
            c.bias = Some(Param::from_tensor(tensor(get(
                &format!("conv{k}.bias"),
                &[o],
            )?)));
            n.gamma = Param::from_tensor(tensor(get(&format!("bnorm{k}.weight"), &[o])?));
            n.beta = Param::from_tensor(tensor(get(&format!("bnorm{k}.bias"), &[o])?));
            n.running_mean =
                RunningState::new(tensor(get(&format!("bnorm{k}.running_mean"), &[o])?));
            n.running_var = RunningState::new(tensor(get(&format!("bnorm{k}.running_var"), &[o])?));
        }
        for (k, l) in [(1, &mut net.fc1), (2, &mut net.fc2), (3, &mut net.fc3)] {
            let [i, o] = l.weight.dims();
            // PyTorch stores Linear weights as [out, in], burn as [in, out].
            let w: Tensor<2> = tensor(get(&format!("fc{k}.weight"), &[o, i])?);
            l.weight = Param::from_tensor(w.transpose());
            l.bias = Some(Param::from_tensor(tensor(get(
                &format!("fc{k}.bias"),
                &[o],
            )?)));
        }
        Ok(net)
    }

    /// The parameters and batch-norm statistics under PyTorch's names (`conv1.weight`,
    /// `bnorm1.running_var`, `fc1.weight` as `[out, in]`, ...).
    pub fn named_tensors(&self) -> Vec<(String, DTensor)> {
        let mut out = vec![];
        let mut put = |name: String, t: DTensor| out.push((name, t));
        for (i, (c, n)) in self.convs.iter().zip(&self.norms).enumerate() {
            let k = i + 1;
            put(
                format!("conv{k}.weight"),
                DTensor::from_tensor(c.weight.val()),
            );
            if let Some(b) = &c.bias {
                put(format!("conv{k}.bias"), DTensor::from_tensor(b.val()));
            }
            put(
                format!("bnorm{k}.weight"),
                DTensor::from_tensor(n.gamma.val()),
            );
            put(format!("bnorm{k}.bias"), DTensor::from_tensor(n.beta.val()));
            put(
                format!("bnorm{k}.running_mean"),
                DTensor::from_tensor(n.running_mean.value()),
            );
            put(
                format!("bnorm{k}.running_var"),
                DTensor::from_tensor(n.running_var.value()),
            );
        }
        for (k, l) in [(1, &self.fc1), (2, &self.fc2), (3, &self.fc3)] {
            // burn stores Linear weights as [in, out], PyTorch as [out, in].
            put(
                format!("fc{k}.weight"),
                DTensor::from_tensor(l.weight.val().transpose()),
            );
            if let Some(b) = &l.bias {
                put(format!("fc{k}.bias"), DTensor::from_tensor(b.val()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_reads_back_from_its_named_tensors_and_bad_files_are_named() {
        let dev = Device::flex();
        let net = Hmt::new(0.0, &dev);
        let named: HashMap<String, DTensor> = net.named_tensors().into_iter().collect();
        let path = Path::new("hmt.safetensors");
        let back = Hmt::from_named(&named, path, &dev).unwrap();
        let x = Tensor::<4>::ones([1, 1, SIDE, SIDE], &dev);
        let (a, b): (Vec<f32>, Vec<f32>) = (
            net.forward(x.clone()).try_into_vec_as::<f32>().unwrap(),
            back.forward(x).try_into_vec_as::<f32>().unwrap(),
        );
        // The same network: equal up to the summation order of a transposed weight's product.
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{a:?} vs {b:?}");
        }
        let mut wrong = named.clone();
        wrong.insert("fc3.weight".into(), DTensor::zeros(&[3, 256], &dev));
        let e = Hmt::from_named(&wrong, path, &dev)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("hmt.safetensors") && e.contains("fc3.weight") && e.contains("[3, 256]"),
            "{e}"
        );
        let mut missing = named;
        missing.remove("bnorm2.running_var");
        let e = Hmt::from_named(&missing, path, &dev)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("bnorm2.running_var") && e.contains("missing"),
            "{e}"
        );
    }
}
