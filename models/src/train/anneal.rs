//! KL annealing: the latent site's log p (model) and log q (guide) scaled by a factor β while
//! training, as Pyro's DMM example wraps its latents in `poutine.scale(scale=annealing_factor)`.
//! The loss is then `-E[log p(x | z)] + β KL(q(z | x) ‖ p(z))`; β < 1 asks less of the
//! posterior's closeness to the prior, which keeps more latent dimensions in use. β is either
//! constant or warmed up linearly over the first epochs, step by step, with the DMM example's
//! formula ([`KlSchedule`]). Test losses are always the ELBO itself (β = 1).

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

/// β for each training step: `to` after `warmup_epochs` epochs, and before that a linear ramp
/// from `from`, as Pyro's DMM example computes its `annealing_factor`:
/// `from + (to - from) · (step + 1) / (warmup_epochs · steps_per_epoch)` for the `step`-th
/// step (counted from 0 over the whole run), so the first step already has β > `from` and
/// the last warm-up step has β = `to`. A step's β depends only on its position, so a resumed
/// run continues the ramp exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KlSchedule {
    /// β at the start of the warm-up (Pyro's `minimum_annealing_factor`); unused without one.
    pub from: f64,
    /// β after the warm-up (the constant β without one; 1 is the paper's ELBO).
    pub to: f64,
    /// Epochs of the warm-up (Pyro's `annealing_epochs`); 0: β is `to` throughout.
    pub warmup_epochs: usize,
}

impl KlSchedule {
    /// β of step `step` (0-based) of epoch `epoch` (1-based), of `steps_per_epoch` steps.
    pub fn beta(&self, epoch: usize, step: usize, steps_per_epoch: usize) -> f64 {
        if epoch > self.warmup_epochs || steps_per_epoch == 0 {
            return self.to;
        }
        // In f64: a huge warm-up must not overflow.
        let m = steps_per_epoch as f64;
        let done = (epoch - 1) as f64 * m + (step + 1) as f64;
        let total = self.warmup_epochs as f64 * m;
        self.from + (self.to - self.from) * (done / total).min(1.0)
    }
    /// Whether every step has β = 1 (the paper's ELBO, no handler at all).
    pub fn is_plain(&self) -> bool {
        self.to == 1.0 && (self.warmup_epochs == 0 || self.from == 1.0)
    }
}

/// The factor in use: the training step's β, or 1 while the test loss is measured.
#[derive(Debug)]
pub struct KlScale {
    now: Cell<f64>,
}

impl KlScale {
    /// A factor of `beta` until [`KlScale::set`] changes it.
    pub fn new(beta: f64) -> Self {
        KlScale {
            now: Cell::new(beta),
        }
    }
    /// The factor in use now.
    pub fn get(&self) -> f64 {
        self.now.get()
    }
    /// Sets the factor of the next training steps.
    pub fn set(&self, beta: f64) {
        self.now.set(beta);
    }
    /// Runs `f` with the factor at 1 (the ELBO itself), then back to the training factor.
    pub fn unannealed<R>(&self, f: impl FnOnce() -> R) -> R {
        let train = self.now.replace(1.0);
        let r = f();
        self.now.set(train);
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

    /// Pyro's DMM formula: with 2 warm-up epochs of 4 steps from 0.2, step k (0-based) has
    /// β = 0.2 + 0.8 (k + 1) / 8; from epoch 3 on β = 1.
    #[test]
    fn the_warm_up_ramps_linearly_to_the_target_as_pyros_dmm() {
        let s = KlSchedule {
            from: 0.2,
            to: 1.0,
            warmup_epochs: 2,
        };
        let betas: Vec<f64> = (1..=3)
            .flat_map(|e| (0..4).map(move |i| (e, i)))
            .map(|(e, i)| s.beta(e, i, 4))
            .collect();
        for (k, b) in betas.iter().enumerate().take(8) {
            assert!(
                (b - (0.2 + 0.8 * (k + 1) as f64 / 8.0)).abs() < 1e-12,
                "{k}: {b}"
            );
        }
        assert_eq!(betas[7], 1.0);
        assert!(betas[8..].iter().all(|&b| b == 1.0));
        assert!(!s.is_plain());
        let constant = |b| KlSchedule {
            from: b,
            to: b,
            warmup_epochs: 0,
        };
        assert!(constant(1.0).is_plain());
        assert!(!constant(0.5).is_plain());
        assert_eq!(constant(0.5).beta(1, 0, 4), 0.5);
    }
}
