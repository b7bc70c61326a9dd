//! The networks of Table 2: a fully-connected encoder and decoder.

use super::{GuideScale, VaeConfig};
use crate::kernels::dropout::dropout;
use crate::kernels::linear::linear;
use crate::kernels::sigmoid::sigmoid;
use burn::nn::{Dropout, DropoutConfig, LeakyRelu, LeakyReluConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::softplus;

/// The encoder: x (and the class, for the CVAE) to the latent's loc and scale.
#[derive(Module, Debug)]
pub struct Encoder {
    first: Linear,
    layers: Vec<Linear>,
    loc: Linear,
    scale: Linear,
    #[module(skip)]
    scale_fn: GuideScale,
    dropout: Dropout,
    leaky: LeakyRelu,
}

impl Encoder {
    /// `(loc, scale)` of q(z | x), `scale = exp(head)` as in the paper's code (or as
    /// [`VaeConfig::scale`] says).
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        // The input is data, ~98% zeros: the first layer skips the all-zero columns.
        let h = crate::kernels::sparse::sparse_linear(&self.first, x);
        let mut h = dropout(&self.dropout, softplus(h, 1.0));
        for l in &self.layers {
            h = dropout(&self.dropout, self.leaky.forward(linear(l, h)));
        }
        (
            linear(&self.loc, h.clone()),
            self.scale_fn.apply(linear(&self.scale, h)),
        )
    }
}

/// The decoder: z (and the class) to Bernoulli pixel probabilities.
#[derive(Module, Debug)]
pub struct Decoder {
    layers: Vec<Linear>,
    out: Linear,
    dropout: Dropout,
    leaky: LeakyRelu,
}

impl Decoder {
    /// Pixel probabilities in (0, 1).
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let mut h = z;
        for l in &self.layers {
            h = dropout(&self.dropout, self.leaky.forward(linear(l, h)));
        }
        sigmoid(linear(&self.out, h))
    }
}

/// Encoder and decoder together (the templates `module` registers; trained values live in the
/// parameter store), with the configuration the model and guide read.
#[derive(Module, Debug)]
pub struct Vae {
    /// What was built, and the likelihood and prior the model uses.
    #[module(skip)]
    pub config: VaeConfig,
    /// q(z | x).
    pub encoder: Encoder,
    /// p(x | z).
    pub decoder: Decoder,
}

impl Vae {
    /// The networks `config` describes, on `device` (sizes as [`VaeConfig::validate`] accepts;
    /// others panic), with the initial values of seed 0: [`Vae::seeded`].
    pub fn new(config: &VaeConfig, device: &Device) -> Vae {
        Vae::seeded(config, 0, device)
    }

    /// The networks `config` describes, on `device`, their initial weights and biases drawn on
    /// the host from `seed` ([`crate::init`]: burn's default distribution for a linear layer,
    /// `U(-1/√fan_in, 1/√fan_in)`, one generator stream per parameter name) and uploaded. The
    /// same seed gives the same initial model on every device; burn's generator is not used.
    pub fn seeded(config: &VaeConfig, seed: u64, device: &Device) -> Vae {
        let lin = |name: &str, i, o| crate::init::linear(seed, name, i, o, device);
        let c = config.classes;
        let h = &config.hidden;
        let mut enc = vec![];
        for (k, w) in h.windows(2).enumerate() {
            enc.push(lin(&format!("encoder.layers.{k}"), w[0], w[1]));
        }
        let last = *h.last().expect("at least one hidden layer");
        let mut dec = vec![lin("decoder.layers.0", config.latent + c, last)];
        for w in h.windows(2).rev() {
            let k = dec.len();
            dec.push(lin(&format!("decoder.layers.{k}"), w[1], w[0]));
        }
        Vae {
            config: config.clone(),
            encoder: Encoder {
                first: lin("encoder.first", config.pixels + c, h[0]),
                layers: enc,
                loc: lin("encoder.loc", last, config.latent),
                scale: lin("encoder.scale", last, config.latent),
                scale_fn: config.scale,
                dropout: DropoutConfig::new(config.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(config.slope)
                    .init(),
            },
            decoder: Decoder {
                layers: dec,
                out: lin(
                    "decoder.out",
                    h[0],
                    config.pixels * config.likelihood.channels(),
                ),
                dropout: DropoutConfig::new(config.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(config.slope)
                    .init(),
            },
        }
    }
}

impl Decoder {
    /// Width of the decoder's input: the latent dimension, plus the classes for the CVAE.
    pub fn input_width(&self) -> usize {
        self.layers[0].weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter of `vae` by its name in the parameter store, as values.
    fn params(vae: &Vae) -> Vec<(String, Vec<f32>)> {
        let mut store = lobes_ppl::ParamStore::new();
        lobes_ppl::with_param_store(&mut store, || {
            lobes_ppl::module("encoder", &vae.encoder).unwrap();
            lobes_ppl::module("decoder", &vae.decoder).unwrap();
        });
        let mut names = store.names().to_vec();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let v = store.get(&n).unwrap().to_vec();
                (n, v)
            })
            .collect()
    }

    #[test]
    fn one_seed_gives_one_initial_model_and_another_seed_another() {
        for classes in [0, 2] {
            let cfg = VaeConfig {
                pixels: 50,
                hidden: vec![24, 12, 6],
                ..VaeConfig::paper(3, classes > 0)
            };
            let dev = Device::flex();
            let a = params(&cfg.init_seeded(7, &dev));
            // Built again, on the autodiff device: the same values.
            assert_eq!(a, params(&cfg.init_seeded(7, &dev.clone().autodiff())));
            // burn's generator plays no part.
            dev.seed(123);
            assert_eq!(a, params(&cfg.init_seeded(7, &dev)));
            let b = params(&cfg.init_seeded(8, &dev));
            assert_eq!(a.len(), b.len());
            for ((name, x), (_, y)) in a.iter().zip(&b) {
                assert_ne!(x, y, "{name}: seeds 7 and 8 agree");
            }
            // Each tensor is its stream under its store name, U(-k, k) with k = 1/√fan_in.
            for (name, v) in &a {
                let fan_in = if name.ends_with(".bias") {
                    let w = a
                        .iter()
                        .find(|(n, _)| *n == name.replace(".bias", ".weight"));
                    w.unwrap().1.len() / v.len()
                } else {
                    let bias = a
                        .iter()
                        .find(|(n, _)| *n == name.replace(".weight", ".bias"));
                    v.len() / bias.unwrap().1.len()
                };
                let k = (1.0 / (fan_in as f64).sqrt()) as f32;
                assert_eq!(
                    *v,
                    crate::init::uniform_values(7, name, v.len(), k),
                    "{name}"
                );
            }
        }
    }
}
