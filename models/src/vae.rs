//! The VAE and conditional VAE of Bastien et al. (2021), Table 2, as model/guide pairs.
//!
//! The model and guide functions below are the public face of the project: they read line for
//! line like the paper's Pyro code.

use crate::dropout::dropout;
use crate::error::ModelError;
use crate::linear::linear;
use burn::nn::{Dropout, DropoutConfig, LeakyRelu, LeakyReluConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};
use lobes_ppl::prelude::*;

/// How the guide's encoder head becomes the Normal scale of q(z | x).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuideScale {
    /// `exp(head)`, the paper's code. Unbounded both ways: a head above ~88 overflows f32, and
    /// one below ~-42 makes `scale²` underflow to 0, so the Normal's gradient is `0 / 0`.
    #[default]
    Exp,
    /// `softplus(head)`: grows linearly, never overflows (a departure from the paper, offered
    /// against diverging runs). Below 0 it is `exp` again, with the same underflow.
    Softplus,
    /// `exp(clamp(head, LOG_SCALE_MIN, LOG_SCALE_MAX))`: the paper's `exp` wherever the head
    /// lies in [`GuideScale::LOG_SCALE_MIN`, `GuideScale::LOG_SCALE_MAX`], bounded outside (a
    /// departure from the paper; the clamped elements pass no gradient, as in torch's
    /// `clamp`). A network trained with `exp` whose heads stay inside the range computes the
    /// same function, so a run can switch to it on `--resume`.
    ExpClamp,
}

impl GuideScale {
    /// Every choice, by [`GuideScale::name`].
    pub const ALL: [GuideScale; 3] = [GuideScale::Exp, GuideScale::Softplus, GuideScale::ExpClamp];

    /// The lowest log-scale [`GuideScale::ExpClamp`] passes: scale 3.1e-7, whose cube (in the
    /// Normal's gradient) is still a normal f32.
    pub const LOG_SCALE_MIN: f64 = -15.0;

    /// The highest log-scale [`GuideScale::ExpClamp`] passes: scale 2.2e4, far wider than a
    /// N(0, I) prior's latent ever needs.
    pub const LOG_SCALE_MAX: f64 = 10.0;

    /// `exp`, `softplus` or `exp-clamp`.
    pub fn name(self) -> &'static str {
        match self {
            GuideScale::Exp => "exp",
            GuideScale::Softplus => "softplus",
            GuideScale::ExpClamp => "exp-clamp",
        }
    }

    /// Parses [`GuideScale::name`]; an unknown name is an error listing the choices.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown guide scale '{s}' (exp, softplus, exp-clamp)"
                ))
            })
    }

    fn apply(self, head: Tensor<2>) -> Tensor<2> {
        match self {
            GuideScale::Exp => head.exp(),
            GuideScale::Softplus => softplus(head, 1.0),
            GuideScale::ExpClamp => head.clamp(Self::LOG_SCALE_MIN, Self::LOG_SCALE_MAX).exp(),
        }
    }
}

/// Network sizes (Table 2 by default; everything is a parameter so tests run tiny nets).
#[derive(Clone, Debug, PartialEq)]
pub struct VaeConfig {
    /// Input pixels (100 x 100).
    pub pixels: usize,
    /// Latent dimension d.
    pub latent: usize,
    /// Encoder hidden widths, first to last; the decoder uses them in reverse.
    pub hidden: Vec<usize>,
    /// Dropout after each hidden layer.
    pub dropout: f64,
    /// Leaky-ReLU slope (the paper states 0.001).
    pub slope: f64,
    /// Number of classes conditioned on (0: VAE, 2: CVAE).
    pub classes: usize,
    /// The guide's scale function (the paper: `exp`).
    pub scale: GuideScale,
}

impl VaeConfig {
    /// The paper's network for latent dimension `latent`: 10000 → 4096 → 2048 → 1024 → 512 →
    /// 256 → d and back.
    pub fn paper(latent: usize, conditional: bool) -> Self {
        VaeConfig {
            pixels: 10_000,
            latent,
            hidden: vec![4096, 2048, 1024, 512, 256],
            dropout: 0.2,
            slope: 0.001,
            classes: if conditional { 2 } else { 0 },
            scale: GuideScale::Exp,
        }
    }

    /// Checks that the sizes make a network: at least one pixel, a latent dimension and
    /// hidden widths of at least 1, a dropout probability in [0, 1) and a finite slope.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Config(what));
        if self.pixels == 0 {
            return bad("the network needs at least one input pixel".into());
        }
        if self.latent == 0 {
            return bad("the latent dimension must be at least 1, got 0".into());
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad(format!(
                "hidden widths must be one or more positive numbers, got {:?}",
                self.hidden
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        match self.checked_num_params() {
            Some(n) if n <= Self::MAX_PARAMS => {}
            n => {
                return bad(format!(
                    "a network of {} parameters is more than the {} this build accepts \
                     ({} pixels, latent {}, hidden {:?})",
                    n.map_or("too many to count".to_string(), |n| n.to_string()),
                    Self::MAX_PARAMS,
                    self.pixels,
                    self.latent,
                    self.hidden
                ));
            }
        }
        if !self.slope.is_finite() {
            return bad(format!(
                "the leaky-ReLU slope must be finite, got {}",
                self.slope
            ));
        }
        Ok(())
    }

    /// Builds the encoder and decoder on `device` (sizes as [`VaeConfig::validate`] accepts;
    /// others panic).
    pub fn init(&self, device: &Device) -> Vae {
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        let c = self.classes;
        let h = &self.hidden;
        let mut enc = vec![];
        for w in h.windows(2) {
            enc.push(lin(w[0], w[1]));
        }
        let last = *h.last().expect("at least one hidden layer");
        let mut dec = vec![lin(self.latent + c, last)];
        for w in h.windows(2).rev() {
            dec.push(lin(w[1], w[0]));
        }
        let vae = Vae {
            encoder: Encoder {
                first: lin(self.pixels + c, h[0]),
                layers: enc,
                loc: lin(last, self.latent),
                scale: lin(last, self.latent),
                scale_fn: self.scale,
                dropout: DropoutConfig::new(self.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(self.slope)
                    .init(),
            },
            decoder: Decoder {
                layers: dec,
                out: lin(h[0], self.pixels),
                dropout: DropoutConfig::new(self.dropout).init(),
                leaky: LeakyReluConfig::new()
                    .with_negative_slope(self.slope)
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

    /// The most parameters a network may have: 2^32 (16 GiB of f32 weights, 40 times the
    /// paper's largest). Sizes read from a file (a checkpoint's metadata) above it are refused
    /// before anything is allocated.
    pub const MAX_PARAMS: usize = 1 << 32;

    /// Number of parameters (sizes as [`VaeConfig::validate`] accepts).
    pub fn num_params(&self) -> usize {
        self.checked_num_params()
            .expect("a validated network's size fits a usize")
    }

    /// Number of parameters, `None` when the count overflows (or there is no hidden layer).
    pub fn checked_num_params(&self) -> Option<usize> {
        let c = self.classes;
        let h = &self.hidden;
        let lin = |i: usize, o: usize| i.checked_mul(o)?.checked_add(o);
        let last = *h.last()?;
        let first = *h.first()?;
        let mut n = lin(self.pixels.checked_add(c)?, first)?
            .checked_add(lin(last, self.latent)?.checked_mul(2)?)?
            .checked_add(lin(self.latent.checked_add(c)?, last)?)?
            .checked_add(lin(first, self.pixels)?)?;
        // Encoder w[0] → w[1], decoder w[1] → w[0]: the biases differ.
        for w in h.windows(2) {
            n = n
                .checked_add(lin(w[0], w[1])?)?
                .checked_add(lin(w[1], w[0])?)?;
        }
        Some(n)
    }
}

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
        let h = crate::sparse::sparse_linear(&self.first, x);
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
/// parameter store).
#[derive(Module, Debug)]
pub struct Vae {
    /// q(z | x).
    pub encoder: Encoder,
    /// p(x | z).
    pub decoder: Decoder,
}

/// One batch: flattened images `[B, 10000]` in [0, 1] and one-hot labels `[B, 2]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Images.
    pub x: Tensor<2>,
    /// One-hot classes (FRI, FRII).
    pub y: Tensor<2>,
}

/// The VAE's model: p(z) p(x | z).
pub fn vae_model(vae: &Vae, batch: &Batch) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let [b, _] = batch.x.dims();
    let d = vae.decoder.latent_dim();
    let dev = batch.x.device();
    plate("data", b).run(|_| {
        // Prior: z ~ Normal(0, I).
        let z_loc = Tensor::<2>::zeros([b, d], &dev);
        let z_scale = Tensor::<2>::ones([b, d], &dev);
        let z: Tensor<2> = sample("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        // Likelihood: each pixel a Bernoulli of its decoded brightness.
        let loc_img = decoder.forward(z);
        observe(
            "obs",
            Bernoulli::from_probs(loc_img)?.to_event(1),
            batch.x.clone(),
        )?;
        Ok(())
    })
}

/// The VAE's guide: q(z | x).
pub fn vae_guide(vae: &Vae, batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    plate("data", batch.x.dims()[0]).run(|_| {
        let (z_loc, z_scale) = encoder.forward(batch.x.clone());
        sample::<DTensor>("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        Ok(())
    })
}

/// The CVAE's model: p(y) p(z) p(x | z, y), with the class prior π = (1/2, 1/2) observed.
pub fn cvae_model(vae: &Vae, batch: &Batch) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let [b, _] = batch.x.dims();
    let d = vae.decoder.latent_dim() - 2;
    let dev = batch.x.device();
    plate("data", b).run(|_| {
        let pi = Tensor::<2>::full([b, 2], 0.5, &dev);
        let y: Tensor<2> = observe("y", OneHotCategorical::from_probs(pi)?, batch.y.clone())?;
        let z_loc = Tensor::<2>::zeros([b, d], &dev);
        let z_scale = Tensor::<2>::ones([b, d], &dev);
        let z: Tensor<2> = sample("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        let loc_img = decoder.forward(Tensor::cat(vec![z, y], 1));
        observe(
            "obs",
            Bernoulli::from_probs(loc_img)?.to_event(1),
            batch.x.clone(),
        )?;
        Ok(())
    })
}

/// The CVAE's guide: q(z | x, y).
pub fn cvae_guide(vae: &Vae, batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    plate("data", batch.x.dims()[0]).run(|_| {
        let (z_loc, z_scale) =
            encoder.forward(Tensor::cat(vec![batch.x.clone(), batch.y.clone()], 1));
        sample::<DTensor>("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        Ok(())
    })
}

impl Decoder {
    /// Width of the decoder's input (latent dim, plus classes for the CVAE).
    pub fn latent_dim(&self) -> usize {
        self.layers[0].weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradient of a reparameterised Normal draw's log-density with respect to the
    /// encoder's scale head, as `Trace_ELBO` takes it for the guide.
    fn head_gradient(scale: GuideScale, head: &[f32]) -> Vec<f32> {
        let dev = Device::flex().autodiff();
        let n = head.len();
        let h = Tensor::<1>::from_floats(head, &dev)
            .reshape([1, n])
            .require_grad();
        let loc = Tensor::<2>::full([1, n], 0.5, &dev);
        let q = Normal::new(loc, scale.apply(h.clone())).unwrap();
        lobes_ppl::rng::set_rng_seed(1);
        let z = q.rsample().unwrap();
        let grads = q.log_prob(&z).unwrap().sum().backward();
        let g: Tensor<2> = h.grad(&grads).unwrap();
        g.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn an_exp_scale_that_underflows_gives_a_nan_gradient_and_exp_clamp_does_not() {
        // The long run's epoch 29 (docs/reproduction.md): one image's head reached -72 under
        // dropout; exp(-72)² underflows to 0 and the Normal's gradient is 0 / 0.
        let head = [-72.0, -3.0, 0.0, 8.1, 95.0];
        let exp = head_gradient(GuideScale::Exp, &head[..4]);
        assert!(exp[0].is_nan(), "{exp:?}");
        let clamped = head_gradient(GuideScale::ExpClamp, &head);
        assert!(clamped.iter().all(|g| g.is_finite()), "{clamped:?}");
        // Outside the bounds no gradient passes; inside, d/dh of (-ln σ) is -1, as with exp.
        assert_eq!(clamped[0], 0.0);
        assert_eq!(clamped[4], 0.0);
        for (c, e) in clamped[1..4].iter().zip(&exp[1..4]) {
            assert!((c - e).abs() < 1e-6 && (c + 1.0).abs() < 1e-5, "{c} vs {e}");
        }
    }

    #[test]
    fn exp_clamp_is_exp_inside_its_bounds() {
        let dev = Device::flex();
        let h =
            Tensor::<1>::from_floats([-20.0, -15.0, -2.5, 0.0, 10.0, 30.0], &dev).reshape([1, 6]);
        let v = |g: GuideScale| g.apply(h.clone()).try_into_vec_as::<f32>().unwrap();
        let (e, c) = (v(GuideScale::Exp), v(GuideScale::ExpClamp));
        assert_eq!(&c[1..5], &e[1..5]);
        assert_eq!(c[0], (GuideScale::LOG_SCALE_MIN as f32).exp());
        assert_eq!(c[5], (GuideScale::LOG_SCALE_MAX as f32).exp());
        for g in GuideScale::ALL {
            assert_eq!(GuideScale::parse(g.name()).unwrap(), g);
        }
    }

    #[test]
    fn the_parameter_count_is_the_built_networks() {
        for conditional in [false, true] {
            let cfg = VaeConfig {
                pixels: 30,
                hidden: vec![16, 8, 4],
                ..VaeConfig::paper(3, conditional)
            };
            let built = cfg.init(&Device::flex()).num_params();
            assert_eq!(cfg.num_params(), built, "conditional {conditional}");
        }
        // Table 2 at d = 32: the count Pyro's `sum(p.numel())` gives (bench/pyro_vae.py).
        assert_eq!(VaeConfig::paper(32, false).num_params(), 104_252_752);
    }
}
