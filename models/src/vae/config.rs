//! Network sizes and the choices of the model: Table 2 by default.

use super::{GuideScale, Likelihood, Prior, Vae};
use crate::error::ModelError;
use burn::prelude::*;

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
    /// p(x | z) (the paper: Bernoulli).
    pub likelihood: Likelihood,
    /// p(z) (the paper: a standard Normal).
    pub prior: Prior,
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
            likelihood: Likelihood::Bernoulli,
            prior: Prior::Normal,
        }
    }

    /// Checks that the sizes make a network: at least one pixel, a latent dimension and
    /// hidden widths of at least 1, a dropout probability in [0, 1) and a finite slope.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |option: &'static str, value: String, message: String| {
            Err(ModelError::invalid_option(option, value, message))
        };
        let hidden = || {
            self.hidden
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        if self.pixels == 0 {
            return bad(
                "pixels",
                "0".into(),
                "the network needs at least one input pixel".into(),
            );
        }
        if self.latent == 0 {
            return bad(
                "--latent",
                "0".into(),
                "the latent dimension must be at least 1, got 0".into(),
            );
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad(
                "--hidden",
                hidden(),
                format!(
                    "hidden widths must be one or more positive numbers, got {:?}",
                    self.hidden
                ),
            );
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "--dropout",
                self.dropout.to_string(),
                format!("dropout must be in [0, 1), got {}", self.dropout),
            );
        }
        match self.checked_num_params() {
            Some(n) if n <= Self::MAX_PARAMS => {}
            n => {
                // The widths (with the image and latent sizes) make the count.
                return bad(
                    "--hidden",
                    hidden(),
                    format!(
                        "a network of {} parameters is more than the {} this build accepts \
                     ({} pixels, latent {}, hidden {:?})",
                        n.map_or("too many to count".to_string(), |n| n.to_string()),
                        Self::MAX_PARAMS,
                        self.pixels,
                        self.latent,
                        self.hidden
                    ),
                );
            }
        }
        if !self.slope.is_finite() {
            return bad(
                "--slope",
                self.slope.to_string(),
                format!("the leaky-ReLU slope must be finite, got {}", self.slope),
            );
        }
        Ok(())
    }

    /// Builds the encoder and decoder on `device` (sizes as [`VaeConfig::validate`] accepts;
    /// others panic) with the initial values of seed 0 ([`VaeConfig::init_seeded`]). The
    /// likelihood's and the prior's own parameters, if any, are made by the model on its first
    /// run, as Pyro's `pyro.param` does.
    pub fn init(&self, device: &Device) -> Vae {
        Vae::new(self, device)
    }

    /// [`VaeConfig::init`] with the initial weights and biases drawn on the host from `seed`
    /// ([`Vae::seeded`]): one seed, one initial model, whatever the device.
    pub fn init_seeded(&self, seed: u64, device: &Device) -> Vae {
        Vae::seeded(self, seed, device)
    }

    /// The most parameters a network may have: 2^32 (16 GiB of f32 weights, 40 times the
    /// paper's largest). Sizes read from a file (a checkpoint's metadata) above it are refused
    /// before anything is allocated.
    pub const MAX_PARAMS: usize = 1 << 32;

    /// Number of network parameters, encoder and decoder (sizes as [`VaeConfig::validate`]
    /// accepts); the likelihood's and the prior's are [`VaeConfig::model_param_names`].
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
            .checked_add(lin(first, self.decoder_outputs()?)?)?;
        // Encoder w[0] → w[1], decoder w[1] → w[0]: the biases differ.
        for w in h.windows(2) {
            n = n
                .checked_add(lin(w[0], w[1])?)?
                .checked_add(lin(w[1], w[0])?)?;
        }
        Some(n)
    }

    /// The decoder's outputs: the likelihood's [`channels`](super::Likelihood::channels) per
    /// pixel (`None` on overflow).
    pub fn decoder_outputs(&self) -> Option<usize> {
        self.pixels.checked_mul(self.likelihood.channels())
    }

    /// The names of the parameters the model itself makes (beside the networks'): the
    /// likelihood's and the prior's, e.g. `obs.scale`.
    pub fn model_param_names(&self) -> Vec<&'static str> {
        [self.likelihood.param_names(), self.prior.param_names()].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Table 2 at d = 32: the count Pyro's `sum(p.numel())` gives (scripts/pyro_vae.py).
        assert_eq!(VaeConfig::paper(32, false).num_params(), 104_252_752);
    }
}
