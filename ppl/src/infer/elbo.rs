//! `Trace_ELBO`: the ELBO estimated from sampled traces, with pathwise gradients through
//! reparameterised sites and score-function (REINFORCE) terms for the others, Rao-Blackwellised
//! along plates as Pyro does.

use super::checks::{check_model_guide_match, check_site_shape, max_plate_nesting};
use super::particles::{ParticlePlate, in_particle_plate, particle_dim};
use crate::error::Result;
use crate::handlers::{replay, trace};
use crate::site::{PlateFrame, Site};
use crate::tensor::DTensor;
use crate::trace::Trace;
use std::collections::HashSet;

/// One ELBO estimate.
pub struct ElboEstimate {
    /// The ELBO estimate (detached scalar), averaged over particles.
    pub elbo: DTensor,
    /// A scalar whose gradient is the ELBO's gradient estimate (maximise it).
    pub surrogate: DTensor,
    /// The model trace of the last particle.
    pub model_trace: Trace,
    /// The guide trace of the last particle.
    pub guide_trace: Trace,
}

impl ElboEstimate {
    /// The loss, `-ELBO`, read back as a number.
    pub fn loss(&self) -> f64 {
        -(self.elbo.item() as f64)
    }
}

/// Runs the guide under `trace`, then the model under `trace(replay(model, guide_trace))`, and
/// checks that they agree; under validation, also that every sample site's log-prob has only
/// the batch dims its plates declare (Pyro's `check_site_shape`).
pub fn get_traces<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
) -> Result<(Trace, Trace)> {
    let (_, mut guide_tr) = trace(|| guide(args))?;
    let (_, mut model_tr) = trace(|| replay(&guide_tr, || model(args)))?;
    check_model_guide_match(&model_tr, &guide_tr)?;
    model_tr.compute_log_prob()?;
    guide_tr.compute_log_prob()?;
    if crate::runtime::is_validation_enabled() {
        let nesting = max_plate_nesting(&model_tr, &guide_tr);
        for s in model_tr.sample_sites().chain(guide_tr.sample_sites()) {
            check_site_shape(s, nesting)?;
        }
    }
    Ok((model_tr, guide_tr))
}

/// An ELBO estimator: `Trace_ELBO` or `TraceMeanField_ELBO`.
pub trait Elbo {
    /// Number of particles averaged per estimate.
    fn num_particles(&self) -> usize;

    /// The particle plate when particles are vectorised (one run of model and guide for all
    /// of them), `None` when they run one after another (the default).
    fn particle_plate(&self) -> Option<&ParticlePlate> {
        None
    }

    /// One particle: `(elbo, surrogate, model_trace, guide_trace)`.
    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)>;

    /// The ELBO and its surrogate, averaged over `num_particles` particles.
    ///
    /// Afterwards the active store keeps autodiff leaves only for the parameters some trace
    /// recorded (see [`ParamStore::retain_leaves`]): a parameter hidden by `block` (Pyro's
    /// `poutine.block(model, hide_types=["param"])`) is not updated by `Svi`.
    ///
    /// [`ParamStore::retain_leaves`]: crate::params::ParamStore::retain_leaves
    fn estimate<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<ElboEstimate> {
        let n = self.num_particles().max(1);
        let mut visible = HashSet::new();
        let mut record = |m: &Trace, g: &Trace| {
            for s in m.param_sites().chain(g.param_sites()) {
                visible.insert(s.name.clone());
            }
        };
        let (mut elbo, mut sur, mut mt, mut gt);
        if let Some(pp) = self.particle_plate() {
            // One run for every particle: each site's log-density sums over the particle
            // plate, so the mean is the sum over particles divided by their number.
            let dim = particle_dim(pp.nesting(model, guide, args)?);
            let vmodel = |a: &A| in_particle_plate(n, dim, model, a);
            let vguide = |a: &A| in_particle_plate(n, dim, guide, a);
            (elbo, sur, mt, gt) = self.particle(&vmodel, &vguide, args)?;
            record(&mt, &gt);
        } else {
            (elbo, sur, mt, gt) = self.particle(model, guide, args)?;
            record(&mt, &gt);
            for _ in 1..n {
                let (e, s, m, g) = self.particle(model, guide, args)?;
                record(&m, &g);
                elbo = elbo.add(&e);
                sur = sur.add(&s);
                (mt, gt) = (m, g);
            }
        }
        crate::params::with_active_store(|s| s.retain_leaves(|name| visible.contains(name)));
        let k = 1.0 / n as f64;
        Ok(ElboEstimate {
            elbo: elbo.mul_scalar(k),
            surrogate: sur.mul_scalar(k),
            model_trace: mt,
            guide_trace: gt,
        })
    }

    /// `-ELBO` as a number, without gradients (Pyro's `loss`).
    fn loss<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<f64> {
        crate::grad::no_grad(|| self.estimate(model, guide, args).map(|e| e.loss()))
    }
}

/// Pyro's `Trace_ELBO(num_particles, vectorize_particles, max_plate_nesting)`.
///
/// ```
/// use lobes_ppl::infer::TraceElbo;
/// let sequential = TraceElbo::new(8); // Trace_ELBO(num_particles=8)
/// // Trace_ELBO(num_particles=8, vectorize_particles=True, max_plate_nesting=1)
/// let vectorised = TraceElbo::default()
///     .num_particles(8)
///     .vectorize_particles(true)
///     .max_plate_nesting(1);
/// ```
#[derive(Clone, Debug)]
pub struct TraceElbo {
    /// Particles averaged per estimate (default 1).
    pub num_particles: usize,
    /// Run every particle at once inside an outermost plate (default false).
    pub vectorize_particles: bool,
    particle_plate: ParticlePlate,
}

impl Default for TraceElbo {
    fn default() -> Self {
        TraceElbo::new(1)
    }
}

impl TraceElbo {
    /// A `Trace_ELBO` averaging `num_particles` particles, one after another.
    pub fn new(num_particles: usize) -> Self {
        TraceElbo {
            num_particles,
            vectorize_particles: false,
            particle_plate: ParticlePlate::default(),
        }
    }
    super::particles::particle_builders!();
}

fn same_frame(a: &PlateFrame, b: &PlateFrame) -> bool {
    a.name == b.name && a.dim == b.dim
}

/// Sums a log-prob over every batch dim that is not one of `target`'s plates, keeping the
/// plate dims right-aligned so the result broadcasts against a site inside `target`.
pub(crate) fn sum_to(value: &DTensor, frames: &[PlateFrame], target: &[PlateFrame]) -> DTensor {
    let rank = value.rank();
    let mut v = value.clone();
    for pos in 0..rank {
        let offset = pos as isize - rank as isize;
        let kept = frames
            .iter()
            .any(|f| f.dim == offset && target.iter().any(|t| same_frame(t, f)));
        if !kept && v.shape()[pos] != 1 {
            v = v.sum_dim_keep(pos);
        }
    }
    let keep = target
        .iter()
        .map(|f| (-f.dim) as usize)
        .max()
        .unwrap_or(0)
        .min(rank);
    let shape = v.shape()[rank - keep..].to_vec();
    v.reshape(&shape).expect("only size-one dims are dropped")
}

/// The downstream cost `log p - log q` seen by a site inside the plates `target`: every
/// model sample site's and guide latent site's log-prob (not the guide's factors), summed
/// over the dims of plates the target is not in (Pyro's `_compute_log_r` followed by
/// `sum_to`).
pub(crate) fn log_r_for(model: &Trace, guide: &Trace, target: &[PlateFrame]) -> DTensor {
    let sites = model
        .sample_sites()
        .map(|s| (s, 1.0))
        .chain(guide.stochastic_sites().map(|s| (s, -1.0)));
    signed_cost(sites, target, model, guide)
}

/// `Σ sign · log-prob` of `sites` (detached), each summed onto the plates `target`; zero on
/// the traces' device when no site has a log-prob.
pub(crate) fn signed_cost<'a>(
    sites: impl Iterator<Item = (&'a Site, f64)>,
    target: &[PlateFrame],
    model: &Trace,
    guide: &Trace,
) -> DTensor {
    let mut total: Option<DTensor> = None;
    for (s, sign) in sites {
        let Some(lp) = &s.log_prob else { continue };
        let part = sum_to(&lp.detach(), &s.plates, target).mul_scalar(sign);
        total = Some(match total {
            None => part,
            Some(t) => t.add(&part),
        });
    }
    total.unwrap_or_else(|| {
        let device = guide
            .device()
            .or_else(|| model.device())
            .unwrap_or_default();
        DTensor::scalar(0.0, &device)
    })
}

fn lp_sum(s: &Site) -> &DTensor {
    s.log_prob_sum.as_ref().expect("log-probs were computed")
}

impl Elbo for TraceElbo {
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
        let mut elbo: Option<DTensor> = None;
        let mut surrogate: Option<DTensor> = None;
        let add = |acc: &mut Option<DTensor>, t: DTensor| {
            *acc = Some(match acc.take() {
                None => t,
                Some(a) => a.add(&t),
            })
        };
        for s in model_tr.sample_sites() {
            let lp = lp_sum(s);
            add(&mut elbo, lp.detach());
            add(&mut surrogate, lp.clone());
        }
        // Every guide sample site is a term of log q, the guide's `factor`s (observed Unit
        // sites) included, as in Pyro's Trace_ELBO.
        for s in guide_tr.sample_sites() {
            let lp = lp_sum(s);
            add(&mut elbo, lp.detach().neg());
            let reparam = s.dist.as_ref().is_some_and(|d| d.has_rsample());
            if reparam {
                add(&mut surrogate, lp.neg());
            } else {
                // The downstream cost carries the scale (subsampling, `scale`); the score
                // `ln q` must not carry it again: Pyro's `ScoreParts.scale_and_mask` leaves
                // the score-function part unscaled and unmasked.
                let log_r = log_r_for(&model_tr, &guide_tr, &s.plates);
                let score = s
                    .unscaled_log_prob
                    .as_ref()
                    .expect("log-probs were computed");
                add(&mut surrogate, log_r.mul(score).sum());
            }
        }
        let device = model_tr.device().unwrap_or_default();
        let zero = || DTensor::scalar(0.0, &device);
        Ok((
            elbo.unwrap_or_else(zero),
            surrogate.unwrap_or_else(zero),
            model_tr,
            guide_tr,
        ))
    }
}
