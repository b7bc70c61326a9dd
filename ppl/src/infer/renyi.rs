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
//! does. As in Pyro, a plate every model site sits in (a VAE's data plate) gives one weight
//! per element: the bound is the sum over data points of each point's bound, so a batch of
//! images is K particles per image, not K particles for the batch.

use super::elbo::{Elbo, ElboEstimate, get_traces, sum_to};
use super::importance::log_mean_exp;
use super::particles::{ParticlePlate, in_particle_plate, particle_dim};
use crate::error::{PplError, Result};
use crate::site::PlateFrame;
use crate::tensor::DTensor;
use crate::trace::Trace;
use std::collections::HashSet;

/// Pyro's `RenyiELBO(alpha, num_particles)`.
///
/// Every guide site must be reparameterised (Pyro raises `NotImplementedError` for the
/// score-function case too). Log-densities are summed over every dim but those of the plates
/// common to all model sites, which keep one weight per element (Pyro's
/// `get_dependent_plate_dims`).
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
    /// Run every particle at once inside an outermost plate (default false).
    pub vectorize_particles: bool,
    particle_plate: ParticlePlate,
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
            vectorize_particles: false,
            particle_plate: ParticlePlate::default(),
        })
    }
    /// Runs the particles in one vectorised run of model and guide (Pyro's
    /// `vectorize_particles`); see [`particles`](super::particles).
    pub fn vectorize_particles(mut self, on: bool) -> Self {
        self.vectorize_particles = on;
        self
    }
    /// The number of plate dims model and guide nest, at most (guessed from a first trace
    /// when not given).
    pub fn max_plate_nesting(mut self, n: usize) -> Self {
        self.particle_plate = ParticlePlate::new(Some(n));
        self
    }
}

/// The plates every model sample site sits in (Pyro's `get_dependent_plate_dims` keeps these
/// and sums the others): the elements of these plates get one weight each.
fn common_plates(model: &Trace) -> Vec<PlateFrame> {
    let mut sites = model.sample_sites();
    let Some(first) = sites.next() else {
        return vec![];
    };
    let mut common = first.plates.clone();
    for s in sites {
        common.retain(|f| s.plates.iter().any(|g| g.name == f.name && g.dim == f.dim));
    }
    common
}

impl Elbo for RenyiElbo {
    fn num_particles(&self) -> usize {
        self.num_particles
    }

    fn particle_plate(&self) -> Option<&ParticlePlate> {
        self.vectorize_particles.then_some(&self.particle_plate)
    }

    /// One particle: its log weights `log p − log q`, one per element of the plates common to
    /// every model site (a scalar when there are none), detached and differentiable.
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
        let common = common_plates(&model_tr);
        let terms = model_tr
            .sample_sites()
            .map(|s| (s, 1.0))
            .chain(guide_tr.sample_sites().map(|s| (s, -1.0)));
        let mut w: Option<DTensor> = None;
        for (s, sign) in terms {
            let lp = s.log_prob.as_ref().expect("computed");
            let part = sum_to(lp, &s.plates, &common).mul_scalar(sign);
            w = Some(match w {
                None => part,
                Some(t) => t.try_add(&part).map_err(|source| PplError::SiteShape {
                    site: s.name.clone(),
                    source,
                })?,
            });
        }
        let device = model_tr.device().unwrap_or_default();
        let w = w.unwrap_or_else(|| DTensor::scalar(0.0, &device));
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
        // Runs of model and guide: each gives log weights `w` (one row per particle it holds,
        // one column per element of the common plates) and the surrogate `w` with gradients.
        let mut runs: Vec<(usize, DTensor, DTensor)> = vec![];
        let mut last = None;
        let mut run = |rows: usize, (w, s, m, g): (DTensor, DTensor, Trace, Trace)| {
            for site in m.param_sites().chain(g.param_sites()) {
                visible.insert(site.name.clone());
            }
            runs.push((rows, w, s));
            last = Some((m, g));
        };
        if let Some(pp) = self.particle_plate() {
            // The particle plate is common to every site, and the leftmost: `w` is [k, ...].
            let dim = particle_dim(pp.nesting(model, guide, args)?);
            let vmodel = |a: &A| in_particle_plate(k, dim, model, a);
            let vguide = |a: &A| in_particle_plate(k, dim, guide, a);
            run(k, self.particle(&vmodel, &vguide, args)?);
        } else {
            for _ in 0..k {
                run(1, self.particle(model, guide, args)?);
            }
        }
        crate::params::with_active_store(|s| s.retain_leaves(|name| visible.contains(name)));
        let (model_trace, guide_trace) = last.expect("at least one particle");
        // Per particle: (1 − α) times its log weights, one per element.
        let mut weights: Vec<Vec<f64>> = vec![];
        for (rows, w, _) in &runs {
            let all: Vec<f64> = w
                .to_vec()
                .iter()
                .map(|&v| (1.0 - self.alpha) * v as f64)
                .collect();
            let per_row = all.len() / rows;
            for row in all.chunks(per_row.max(1)) {
                if let Some(first) = weights.first().map(Vec::len)
                    && first != row.len()
                {
                    return Err(PplError::InvalidInference {
                        algorithm: "RenyiElbo",
                        reason: format!(
                            "the particles' weights differ in number ({first} vs {}): the \
                             plates common to every site changed between particles",
                            row.len()
                        ),
                    });
                }
                weights.push(row.to_vec());
            }
        }
        let elements = weights[0].len();
        // Element by element: log mean_k exp((1 − α) w_k), and the self-normalised weights.
        let log_means: Vec<f64> = (0..elements)
            .map(|e| log_mean_exp(&weights.iter().map(|w| w[e]).collect::<Vec<_>>()))
            .collect();
        let elbo = log_means.iter().sum::<f64>() / (1.0 - self.alpha);
        let device = model_trace.device().unwrap_or_default();
        let mut surrogate: Option<DTensor> = None;
        let mut rows = weights.iter();
        for (n, _, s) in &runs {
            let norm: Vec<f32> = rows
                .by_ref()
                .take(*n)
                .flat_map(|w| {
                    w.iter()
                        .zip(&log_means)
                        .map(|(w, m)| ((w - m).exp() / k as f64) as f32)
                })
                .collect();
            let norm = DTensor::from_floats(norm, s.shape(), &device)?;
            let term = s.try_mul(&norm)?.sum();
            surrogate = Some(match surrogate {
                None => term,
                Some(t) => t.add(&term),
            });
        }
        Ok(ElboEstimate {
            elbo: DTensor::scalar(elbo as f32, &device),
            surrogate: surrogate.expect("at least one particle"),
            model_trace,
            guide_trace,
        })
    }
}
