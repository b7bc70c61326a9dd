//! The networks of Table 2: a fully-connected encoder and decoder.

use super::{GuideScale, VaeConfig};
use crate::kernels::dropout::dropout;
use crate::kernels::linear::linear;
use burn::nn::{Dropout, DropoutConfig, LeakyRelu, LeakyReluConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};

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
    /// others panic), with burn's initialisation drawn now.
    pub fn new(config: &VaeConfig, device: &Device) -> Vae {
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        let c = config.classes;
        let h = &config.hidden;
        let mut enc = vec![];
        for w in h.windows(2) {
            enc.push(lin(w[0], w[1]));
        }
        let last = *h.last().expect("at least one hidden layer");
        let mut dec = vec![lin(config.latent + c, last)];
        for w in h.windows(2).rev() {
            dec.push(lin(w[1], w[0]));
        }
        let vae = Vae {
            config: config.clone(),
            encoder: Encoder {
                first: lin(config.pixels + c, h[0]),
                layers: enc,
                loc: lin(last, config.latent),
                scale: lin(last, config.latent),
                scale_fn: config.scale,
                dropout: DropoutConfig::new(config.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(config.slope)
                    .init(),
            },
            decoder: Decoder {
                layers: dec,
                out: lin(h[0], config.pixels),
                dropout: DropoutConfig::new(config.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(config.slope)
                    .init(),
            },
        };
        // burn initialises parameters lazily, on first use, from its random generator. Force
        // it now, so the draws happen here (after the caller seeded the generator) and never in
        // the middle of training, where they would shift dropout's random stream.
        struct Touch;
        impl burn::module::ModuleVisitor for Touch {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                let _ = p.val();
            }
        }
        vae.visit(&mut Touch);
        vae
    }
}

impl Decoder {
    /// Width of the decoder's input: the latent dimension, plus the classes for the CVAE.
    pub fn input_width(&self) -> usize {
        self.layers[0].weight.dims()[0]
    }
}
