//! KL annealing: the latent site's log p (model) and log q (guide) scaled by a factor β while
//! training, as Pyro's DMM example wraps its latents in `poutine.scale(scale=annealing_factor)`.
//! The loss is then `-E[log p(x | z)] + β KL(q(z | x) ‖ p(z))`; β < 1 asks less of the
//! posterior's closeness to the prior, which keeps more latent dimensions in use. Test losses
//! are always the ELBO itself (β = 1).

use lobes_ppl::Result;
use lobes_ppl::runtime::{Messenger, with_handler};
use lobes_ppl::{Site, SiteKind};
use std::cell::Cell;

/// The latent site's name in `vae::model` and `vae::guide`.
pub const LATENT: &str = "latent";

struct AnnealMessenger {
    beta: f64,
}

impl Messenger for AnnealMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample && site.name == LATENT {
            site.scale *= self.beta;
        }
        Ok(())
    }
}

/// Runs `f` with the latent site's log-density scaled by `beta` (no handler when it is 1).
pub fn anneal<R>(beta: f64, f: impl FnOnce() -> Result<R>) -> Result<R> {
    if beta == 1.0 {
        return f();
    }
    with_handler(AnnealMessenger { beta }, f).map(|(r, _)| r)
}

/// The factor in use: the training factor, or 1 while the test loss is measured.
#[derive(Debug)]
pub struct KlScale {
    train: f64,
    now: Cell<f64>,
}

impl KlScale {
    /// A factor of `train` while training.
    pub fn new(train: f64) -> Self {
        KlScale {
            train,
            now: Cell::new(train),
        }
    }
    /// The factor in use now.
    pub fn get(&self) -> f64 {
        self.now.get()
    }
    /// Runs `f` with the factor at 1 (the ELBO itself), then back to the training factor.
    pub fn unannealed<R>(&self, f: impl FnOnce() -> R) -> R {
        self.now.set(1.0);
        let r = f();
        self.now.set(self.train);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lobes_ppl::prelude::*;

    #[test]
    fn only_the_latent_site_is_scaled() {
        let run = || {
            sample::<DTensor>(LATENT, Normal::new(0.0, 1.0)?)?;
            observe(
                "obs",
                Normal::new(0.0, 1.0)?,
                DTensor::scalar(0.3, &Device::flex()),
            )?;
            Ok(())
        };
        let (_, tr) = trace(|| anneal(0.25, run)).unwrap();
        assert_eq!(tr.get(LATENT).unwrap().scale, 0.25);
        assert_eq!(tr.get("obs").unwrap().scale, 1.0);
        let beta = KlScale::new(0.5);
        assert_eq!(beta.unannealed(|| beta.get()), 1.0);
        assert_eq!(beta.get(), 0.5);
    }
}
