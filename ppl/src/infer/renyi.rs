//! `RenyiELBO`: Rényi's α-divergence bound (Li & Turner 2016) from `num_particles` importance
//! weights; α = 0 is the importance-weighted bound of Burda et al. (2016), the IWAE.
//!
//! With `w_k = log p(x, z_k) − log q(z_k)` for `K` draws `z_k ~ q`,
//!
//! ```text
//! L_α = 1 / (1 − α) · log( 1/K Σ_k exp((1 − α) w_k) )
//! ```
//!
//! which is the ELBO at α → 1, rises as α falls, and at α = 0 tends to log p(x) as K grows.
//! Its gradient (pathwise, through reparameterised draws) weighs each particle's by its
//! self-normalised weight `exp((1 − α) w_k) / Σ_j exp((1 − α) w_j)`, as Pyro's `RenyiELBO`
//! does.

use super::elbo::{Elbo, ElboEstimate, get_traces};
use super::importance::log_mean_exp;
use crate::error::{PplError, Result};
use crate::tensor::DTensor;
use crate::trace::Trace;
use std::collections::HashSet;

/// Pyro's `RenyiELBO(alpha, num_particles)`.
///
/// Every guide site must be reparameterised (Pyro raises `NotImplementedError` for the
/// score-function case too); the whole model is one importance weight per particle, so
/// mini-batches are not supported (Pyro's warning), and a data plate's elements share each
/// particle's weight.
///
/// ```
/// use lobes_ppl::infer::RenyiElbo;
/// let iwae = RenyiElbo::new(0.0, 8).unwrap();
/// assert!(RenyiElbo::new(1.0, 8).is_err()); // α = 1 is the ELBO: TraceElbo
/// ```
#[derive(Clone, Debug)]
pub struct RenyiElbo {
    /// The order α (≠ 1); α ≥ 0 gives a lower bound on log p(x).
    pub alpha: f64,
    /// Particles per estimate.
    pub num_particles: usize,
}

impl RenyiElbo {
    /// α and the number of particles; α = 1 (the ELBO itself: use `TraceElbo`), a non-finite
    /// α or no particles are errors.
    pub fn new(alpha: f64, num_particles: usize) -> Result<Self> {
        let bad = |reason: String| {
            Err(PplError::InvalidInference {
                algorithm: "RenyiElbo",
                reason,
            })
        };
        if alpha == 1.0 {
            return bad(
                "the order alpha should not be equal to 1: that is the ELBO, use TraceElbo".into(),
            );
        }
        if !alpha.is_finite() {
            return bad(format!("alpha must be finite, got {alpha}"));
        }
        if num_particles == 0 {
            return bad("num_particles must be at least 1".into());
        }
        Ok(RenyiElbo {
            alpha,
            num_particles,
        })
    }
}

fn sum_of(sites: impl Iterator<Item = DTensor>) -> Option<DTensor> {
    sites.reduce(|a, b| a.add(&b))
}

impl Elbo for RenyiElbo {
    fn num_particles(&self) -> usize {
        self.num_particles
    }

    /// One particle: its log weight `log p − log q` (detached) and the differentiable one.
    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)> {
        let (model_tr, guide_tr) = get_traces(model, guide, args)?;
        if let Some(s) = guide_tr
            .sample_sites()
            .find(|s| !s.is_observed && !s.dist.as_ref().is_some_and(|d| d.has_rsample()))
        {
            return Err(PplError::InvalidInference {
                algorithm: "RenyiElbo",
                reason: format!(
                    "guide site '{}' is not reparameterised: RenyiElbo needs pathwise \
                     gradients (use TraceElbo, or a reparameterised distribution)",
                    s.name
                ),
            });
        }
        let lp = |s: &crate::site::Site| s.log_prob_sum.clone().expect("computed");
        let p = sum_of(model_tr.sample_sites().map(lp));
        let q = sum_of(guide_tr.sample_sites().map(lp));
        let device = model_tr.device().unwrap_or_default();
        let zero = || DTensor::scalar(0.0, &device);
        let w = p.unwrap_or_else(zero).sub(&q.unwrap_or_else(zero));
        Ok((w.detach(), w, model_tr, guide_tr))
    }

    fn estimate<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<ElboEstimate> {
        let k = self.num_particles.max(1);
        let mut visible = HashSet::new();
        let (mut weights, mut surrogates, mut last) = (vec![], vec![], None);
        for _ in 0..k {
            let (w, s, m, g) = self.particle(model, guide, args)?;
            for site in m.param_sites().chain(g.param_sites()) {
                visible.insert(site.name.clone());
            }
            weights.push((1.0 - self.alpha) * w.item() as f64);
            surrogates.push(s);
            last = Some((m, g));
        }
        crate::params::with_active_store(|s| s.retain_leaves(|name| visible.contains(name)));
        let (model_trace, guide_trace) = last.expect("at least one particle");
        let log_mean = log_mean_exp(&weights);
        let elbo = log_mean / (1.0 - self.alpha);
        // Self-normalised weights, constants of the surrogate (Pyro's `normalized_weights`).
        let surrogate = surrogates
            .iter()
            .zip(&weights)
            .map(|(s, w)| s.mul_scalar((w - log_mean).exp() / k as f64))
            .reduce(|a, b| a.add(&b))
            .expect("at least one particle");
        let device = model_trace.device().unwrap_or_default();
        Ok(ElboEstimate {
            elbo: DTensor::scalar(elbo as f32, &device),
            surrogate,
            model_trace,
            guide_trace,
        })
    }
}
