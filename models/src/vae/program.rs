//! The model and the guide: one pair for the VAE and the CVAE, as the paper's Pyro code.

use super::Vae;
use burn::prelude::*;
use lobes_ppl::prelude::*;
use std::sync::Arc;

/// One batch: flattened images `[B, 10000]` in [0, 1] and one-hot labels `[B, 2]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Images.
    pub x: Tensor<2>,
    /// One-hot classes (FRI, FRII).
    pub y: Tensor<2>,
}

/// A pixel likelihood p(x | z) for [`model_with`]: the library's choices are
/// [`Likelihood`](super::Likelihood); one's own implements this (examples/custom_likelihood.rs).
pub trait PixelLikelihood {
    /// The distribution of a batch of images given the decoder's output in (0, 1). It may make
    /// parameters of its own with `param`, as Pyro's `pyro.param`.
    ///
    /// # Shapes
    /// - decoded: `[batch, pixels]`
    /// - output: batch shape `[batch]`, event shape `[pixels]`
    fn distribution(&self, decoded: Tensor<2>) -> Result<Arc<dyn Distribution>>;

    /// The value [`PixelLikelihood::distribution`] scores: the observed pixels, unchanged unless
    /// the distribution has no density at some of them (the Beta's 0 and 1).
    fn observed(&self, x: Tensor<2>) -> Tensor<2> {
        x
    }
}

/// The model: p(z) p(x | z) for the VAE; p(y) p(z) p(x | z, y) for the CVAE (`classes > 0`),
/// with the class prior π uniform and y observed. The paper's prior is Normal(0, I) and its
/// likelihood a Bernoulli per pixel; [`VaeConfig::prior`](super::VaeConfig::prior) and
/// [`VaeConfig::likelihood`](super::VaeConfig::likelihood) swap them.
pub fn model(vae: &Vae, batch: &Batch) -> Result<()> {
    model_with(vae, batch, &vae.config.likelihood)
}

/// [`model`] with a likelihood of one's own instead of the configuration's.
pub fn model_with(vae: &Vae, batch: &Batch, likelihood: &impl PixelLikelihood) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let cfg = &vae.config;
    let [b, _] = batch.x.dims();
    let dev = batch.x.device();
    plate("data", b).run(|_| {
        let y = if cfg.classes > 0 {
            let pi = Tensor::<2>::full([b, cfg.classes], 1.0 / cfg.classes as f64, &dev);
            let y: Tensor<2> = observe("y", OneHotCategorical::from_probs(pi)?, batch.y.clone())?;
            Some(y)
        } else {
            None
        };
        // Prior: z ~ Normal(0, I).
        let z: Tensor<2> = sample("latent", cfg.prior.distribution(b, cfg.latent, &dev)?)?;
        let input = match y {
            Some(y) => Tensor::cat(vec![z, y], 1),
            None => z,
        };
        // Likelihood: each pixel a Bernoulli of its decoded brightness.
        let loc_img = decoder.forward(input);
        let x = likelihood.observed(batch.x.clone());
        observe("obs", likelihood.distribution(loc_img)?, x)?;
        Ok(())
    })
}

/// The guide: q(z | x), or q(z | x, y) for the CVAE, a Normal from the encoder.
pub fn guide(vae: &Vae, batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    plate("data", batch.x.dims()[0]).run(|_| {
        let input = if vae.config.classes > 0 {
            Tensor::cat(vec![batch.x.clone(), batch.y.clone()], 1)
        } else {
            batch.x.clone()
        };
        let (z_loc, z_scale) = encoder.forward(input);
        sample::<DTensor>("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        Ok(())
    })
}
