//! The model and the guide: one pair for the VAE and the CVAE, as the paper's Pyro code.

use super::Vae;
use burn::prelude::*;
use lobes_ppl::PlateContext;
use lobes_ppl::prelude::*;
use std::sync::Arc;

/// One batch: flattened images `[B, 10000]` in [0, 1] and one-hot labels `[B, 2]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Images.
    pub x: Tensor<2>,
    /// One-hot classes (FRI, FRII).
    pub y: Tensor<2>,
    /// `Some` when these rows are one replica's shard of a larger batch (data-parallel
    /// training, [`crate::train::Replicas`]): the data plate then keeps the whole batch's size
    /// and subsamples the shard's rows. `None`: the batch is the whole batch.
    pub shard: Option<Shard>,
}

/// The rows of a whole batch one data-parallel replica holds.
///
/// Inside the data plate, `plate("data", size).subsample(indices)` scales every log-density by
/// `size / k` (`k` = this shard's rows), so each replica's ELBO estimates the whole batch's,
/// and the replicas' mean loss and gradient (what [`lobes_ppl::infer::reduce`] computes) are
/// the whole batch's. When the rows do not split evenly, the shards are also scaled by
/// `replicas · k / size`, so that the mean over replicas is exactly the sum over the whole
/// batch (each replica's loss is then `replicas` times its rows' sum), as one process computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Images in the whole batch.
    pub size: usize,
    /// This shard's rows of the whole batch, in the order of the batch's tensors.
    pub indices: Vec<usize>,
    /// The number of replicas sharing the batch.
    pub replicas: usize,
}

impl Shard {
    /// Rows `rank, rank + replicas, ...` of a batch of `size` images (`rank < replicas`).
    pub fn strided(size: usize, rank: usize, replicas: usize) -> Shard {
        Shard {
            size,
            indices: (rank..size).step_by(replicas.max(1)).collect(),
            replicas: replicas.max(1),
        }
    }

    /// The factor beyond the plate's `size / k` that makes the replicas' mean the whole batch's
    /// sum: exactly 1 when the rows split evenly.
    pub fn correction(&self) -> f64 {
        self.replicas as f64 * self.indices.len() as f64 / self.size as f64
    }
}

/// Runs `f` inside the data plate of `batch`: `plate("data", B)` for a whole batch of `B`
/// images, `plate("data", size).subsample(rows)` for a shard (see [`Shard`]).
pub fn in_data_plate<R>(batch: &Batch, f: impl FnOnce(&PlateContext) -> Result<R>) -> Result<R> {
    match &batch.shard {
        None => plate("data", batch.x.dims()[0]).run(f),
        Some(s) => {
            let p = plate("data", s.size).subsample(s.indices.clone());
            let c = s.correction();
            if c == 1.0 {
                p.run(f)
            } else {
                scale(c, || p.run(f))
            }
        }
    }
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
    in_data_plate(batch, |_| {
        let y = if cfg.classes > 0 {
            let pi = Tensor::<2>::full([b, cfg.classes], 1.0 / cfg.classes as f64, &dev);
            let y: Tensor<2> = observe("y", OneHotCategorical::from_probs(pi)?, batch.y.clone())?;
            Some(y)
        } else {
            None
        };
        // Prior: z ~ Normal(0, I) (or the configuration's; a class-conditional one reads y).
        let prior = cfg.prior.distribution(b, cfg.latent, y.as_ref(), &dev)?;
        let z: Tensor<2> = sample("latent", prior)?;
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
    in_data_plate(batch, |_| {
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
