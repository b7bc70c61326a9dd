//! `TraceMeanField_ELBO`: analytic KL terms where the registry has one.

use super::elbo::{Elbo, get_traces};
use super::particles::ParticlePlate;
use crate::dist::kl_divergence;
use crate::error::{PplError, Result};
use crate::tensor::DTensor;
use crate::trace::{Trace, scale_and_mask};

/// Pyro's `TraceMeanField_ELBO`: for a guide that factorises over the model's latent sites,
/// `ELBO = E_q[log p(x | z)] - Σ_sites KL(q(z_i) ‖ p(z_i))`, with each KL in closed form when
/// the registry has one for the pair, and estimated from the sample otherwise. Guide sites
/// without a closed-form KL must be reparameterisable.
#[derive(Clone, Debug)]
pub struct TraceMeanFieldElbo {
    /// Particles averaged per estimate (default 1).
    pub num_particles: usize,
    /// Run every particle at once inside an outermost plate (default false).
    pub vectorize_particles: bool,
    particle_plate: ParticlePlate,
}

impl Default for TraceMeanFieldElbo {
    fn default() -> Self {
        TraceMeanFieldElbo::new(1)
    }
}

impl TraceMeanFieldElbo {
    /// A `TraceMeanField_ELBO` averaging `num_particles` particles, one after another.
    pub fn new(num_particles: usize) -> Self {
        TraceMeanFieldElbo {
            num_particles,
            vectorize_particles: false,
            particle_plate: ParticlePlate::default(),
        }
    }
    super::particles::particle_builders!();
}

impl Elbo for TraceMeanFieldElbo {
    fn num_particles(&self) -> usize {
        self.num_particles
    }

    fn particle_plate(&self) -> Option<&ParticlePlate> {
        self.vectorize_particles.then_some(&self.particle_plate)
    }

    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)> {
        let (model_tr, guide_tr) = get_traces(model, guide, args)?;
        let mut terms: Vec<DTensor> = vec![];
        for m in model_tr.sample_sites() {
            if m.is_observed {
                terms.push(m.log_prob_sum.clone().expect("computed"));
            }
        }
        for g in guide_tr.stochastic_sites() {
            let m = model_tr
                .get(&g.name)
                .expect("checked by check_model_guide_match");
            let (gd, md) = (
                g.dist.as_ref().expect("sample site"),
                m.dist.as_ref().expect("sample site"),
            );
            match kl_divergence(&**gd, &**md) {
                Some(kl) => {
                    let kl = kl.map_err(|e| PplError::at_site(&g.name, e))?;
                    let kl = scale_and_mask(&kl, g.scale, g.weights.as_ref(), g.mask.as_ref())
                        .map_err(|source| PplError::SiteShape {
                            site: g.name.clone(),
                            source,
                        })?;
                    terms.push(kl.sum().neg());
                }
                None if gd.has_rsample() => {
                    terms.push(m.log_prob_sum.clone().expect("computed"));
                    terms.push(g.log_prob_sum.clone().expect("computed").neg());
                }
                None => {
                    return Err(PplError::ModelGuideMismatch(format!(
                        "TraceMeanField_ELBO: guide site '{}' ({}) has no closed-form KL against the model's {} and is not reparameterisable; use Trace_ELBO",
                        g.name,
                        gd.name(),
                        md.name()
                    )));
                }
            }
        }
        let device = guide_tr
            .device()
            .or_else(|| model_tr.device())
            .unwrap_or_default();
        let surrogate = terms
            .into_iter()
            .reduce(|a, b| a.add(&b))
            .unwrap_or_else(|| DTensor::scalar(0.0, &device));
        Ok((surrogate.detach(), surrogate, model_tr, guide_tr))
    }
}
