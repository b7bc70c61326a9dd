//! The paper's model and guide, written out as Pyro's VAE tutorial writes them (Bastien et
//! al. 2021, §3.1 and Table 2; the paper's `PYTHON/` scripts):
//!
//! ```text
//! y ~ OneHotCategorical(1/2, 1/2)          (the CVAE only; observed)
//! z ~ Normal(0, I)                         z ∈ ℝᵈ
//! x | z, y ~ Bernoulli(decoder(z, y))      one per pixel
//! q(z | x, y) = Normal(encoder(x, y))
//! ```
//!
//! [`model`](super::model) serves every prior and likelihood a [`VaeConfig`] names; these two
//! hold only for the paper's choices (a `Normal(0, I)` prior, a `Bernoulli` per pixel) and
//! give the same ELBO on the same seed (tested in `tests/pyro_tutorials.rs`). They also
//! broadcast over sample dims left of the data plate: with vectorised particles
//! (`TraceElbo::default().num_particles(k).vectorize_particles(true)`) `z` is `[k, B, d]` and
//! the decoder runs on `k · B` rows at once.
//!
//! [`VaeConfig`]: super::VaeConfig

use super::program::{Batch, in_data_plate};
use super::{Decoder, Vae};
use burn::prelude::*;
use lobes_ppl::prelude::*;

/// The paper's model: p(z) p(x | z), or p(y) p(z) p(x | z, y) for the CVAE.
///
/// # Shapes
/// - `batch.x`: `[B, pixels]`, `batch.y`: `[B, 2]`
/// - `latent`: `[..., B, d]` (`[B, d]` unless particles or draws are vectorised)
pub fn paper_model(vae: &Vae, batch: &Batch) -> Result<()> {
    let decoder = module("decoder", &vae.decoder)?;
    let (classes, d) = (vae.config.classes, vae.config.latent);
    let [b, _] = batch.x.dims();
    let dev = batch.x.device();
    in_data_plate(batch, |_| {
        let y = if classes > 0 {
            let pi = Tensor::<2>::full([b, classes], 1.0 / classes as f64, &dev);
            let y: Tensor<2> = observe("y", OneHotCategorical::from_probs(pi)?, batch.y.clone())?;
            Some(y)
        } else {
            None
        };
        // z ~ Normal(0, I)
        let prior = Normal::new(
            Tensor::<2>::zeros([b, d], &dev),
            Tensor::<2>::ones([b, d], &dev),
        )?;
        let z: DTensor = sample("latent", prior.to_event(1))?;
        // x | z, y ~ Bernoulli(decoder(z, y))
        let loc_img = decode(&decoder, &z, y)?;
        observe(
            "obs",
            Bernoulli::from_probs(loc_img)?.to_event(1),
            batch.x.clone(),
        )?;
        Ok(())
    })
}

/// The paper's guide: q(z | x) = Normal(encoder(x)), or q(z | x, y) for the CVAE.
pub fn paper_guide(vae: &Vae, batch: &Batch) -> Result<()> {
    let encoder = module("encoder", &vae.encoder)?;
    in_data_plate(batch, |_| {
        let input = match vae.config.classes {
            0 => batch.x.clone(),
            _ => Tensor::cat(vec![batch.x.clone(), batch.y.clone()], 1),
        };
        let (z_loc, z_scale) = encoder.forward(input);
        sample::<DTensor>("latent", Normal::new(z_loc, z_scale)?.to_event(1))?;
        Ok(())
    })
}

/// The decoder on latents `[..., B, d]` (and classes `[B, c]`, repeated along the leading
/// dims): pixel probabilities `[..., B, pixels]`.
fn decode(decoder: &Decoder, z: &DTensor, y: Option<Tensor<2>>) -> Result<DTensor> {
    let shape = z.shape();
    let d = *shape.last().expect("a latent vector");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let flat: Tensor<2> = z.reshape(&[rows, d])?.to_tensor()?;
    let input = match y {
        None => flat,
        Some(y) => {
            let [b, c] = y.dims();
            let repeated = y
                .unsqueeze::<3>()
                .expand([rows / b, b, c])
                .reshape([rows, c]);
            Tensor::cat(vec![flat, repeated], 1)
        }
    };
    let out = decoder.forward(input);
    let pixels = out.dims()[1];
    let mut out_shape = shape[..shape.len() - 1].to_vec();
    out_shape.push(pixels);
    Ok(DTensor::from(out).reshape(&out_shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::{VaeConfig, guide, model};
    use lobes_ppl::infer::{Elbo, TraceElbo};
    use lobes_ppl::rng::set_rng_seed;
    use lobes_ppl::{ParamStore, with_param_store};

    fn small(classes: usize) -> (Vae, Batch) {
        let dev = Device::flex();
        let config = VaeConfig {
            pixels: 12,
            latent: 3,
            hidden: vec![8],
            dropout: 0.0,
            classes,
            ..VaeConfig::paper(3, false)
        };
        let vae = config.init_seeded(3, &dev);
        let x: Vec<f32> = (0..4 * 12).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
        let y = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let batch = Batch {
            x: Tensor::<1>::from_floats(x.as_slice(), &dev).reshape([4, 12]),
            y: Tensor::<1>::from_floats(y.as_slice(), &dev).reshape([4, 2]),
            shard: None,
        };
        (vae, batch)
    }

    /// `-ELBO` of one pair on a fresh store and seed.
    fn loss(
        elbo: &TraceElbo,
        m: impl Fn(&Batch) -> Result<()>,
        g: impl Fn(&Batch) -> Result<()>,
        batch: &Batch,
    ) -> f64 {
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            set_rng_seed(11);
            elbo.estimate(&m, &g, batch).unwrap().loss()
        })
    }

    #[test]
    fn the_papers_model_scores_as_the_configurable_one() {
        for classes in [0, 2] {
            let (vae, batch) = small(classes);
            let elbo = TraceElbo::new(3);
            let configurable = loss(&elbo, |b| model(&vae, b), |b| guide(&vae, b), &batch);
            let paper = loss(
                &elbo,
                |b| paper_model(&vae, b),
                |b| paper_guide(&vae, b),
                &batch,
            );
            assert!(
                (configurable - paper).abs() < 1e-3,
                "classes {classes}: {configurable} vs {paper}"
            );
        }
    }

    #[test]
    fn the_papers_model_takes_vectorised_particles() {
        for classes in [0, 2] {
            let (vae, batch) = small(classes);
            let run = |elbo: TraceElbo| {
                loss(
                    &elbo,
                    |b| paper_model(&vae, b),
                    |b| paper_guide(&vae, b),
                    &batch,
                )
            };
            let sequential = run(TraceElbo::new(4));
            let vectorised = run(TraceElbo::new(4).vectorize_particles(true));
            assert!(
                (sequential - vectorised).abs() < 1e-3,
                "classes {classes}: {sequential} vs {vectorised}"
            );
        }
    }
}
