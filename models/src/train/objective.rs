//! What the training steps maximise: the paper's ELBO (`Trace_ELBO`, with free bits when asked:
//! [`lobes_ppl::infer::FreeBits`]) or the importance-weighted bound of Burda et al. (2016)
//! with K particles (`RenyiElbo` at α = 0, the IWAE), one type for the training loop.
//! Validation and test losses are the ELBO under either ([`Objective::evaluation`]), so they
//! compare with the paper's.

use lobes_ppl::Result;
use lobes_ppl::infer::particles::ParticlePlate;
use lobes_ppl::infer::{Elbo, ElboEstimate, FreeBits, RenyiElbo, TraceElbo};
use lobes_ppl::tensor::DTensor;
use lobes_ppl::trace::Trace;

/// The training objective.
#[derive(Clone, Debug)]
pub enum Objective {
    /// `Trace_ELBO`, one particle, with a free-bits floor (0: none, the paper's ELBO).
    Elbo(FreeBits<TraceElbo>),
    /// The IWAE bound with K particles, one after another (α = 0).
    Iwae(RenyiElbo),
}

impl Objective {
    /// The objective the options name: the IWAE with `iwae` particles when given, else the
    /// ELBO with `free_bits` nats per latent dimension.
    pub fn new(free_bits: f64, iwae: Option<usize>) -> Result<Objective> {
        Ok(match iwae {
            Some(k) => Objective::Iwae(RenyiElbo::new(0.0, k)?),
            None => Objective::Elbo(FreeBits::new(TraceElbo::default(), free_bits)?),
        })
    }

    /// What validation and test losses are computed with: the ELBO (single particle).
    pub fn evaluation() -> TraceElbo {
        TraceElbo::default()
    }
}

impl Elbo for Objective {
    fn num_particles(&self) -> usize {
        match self {
            Objective::Elbo(e) => e.num_particles(),
            Objective::Iwae(e) => e.num_particles(),
        }
    }

    fn particle_plate(&self) -> Option<&ParticlePlate> {
        match self {
            Objective::Elbo(e) => e.particle_plate(),
            Objective::Iwae(e) => e.particle_plate(),
        }
    }

    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)> {
        match self {
            Objective::Elbo(e) => e.particle(model, guide, args),
            Objective::Iwae(e) => e.particle(model, guide, args),
        }
    }

    fn estimate<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<ElboEstimate> {
        match self {
            Objective::Elbo(e) => e.estimate(model, guide, args),
            Objective::Iwae(e) => e.estimate(model, guide, args),
        }
    }
}
