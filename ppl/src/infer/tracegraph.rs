//! `TraceGraph_ELBO`: `Trace_ELBO` whose score-function terms see only the cost downstream of
//! their site, less a decaying-average baseline (Schulman et al. 2015, "Gradient Estimation
//! Using Stochastic Computation Graphs"; Mnih & Gregor 2014, "Neural Variational Inference and
//! Learning in Belief Networks"), as Pyro's `pyro/infer/tracegraph_elbo.py`.

use super::elbo::{Elbo, get_traces, signed_cost};
use crate::error::{PplError, Result};
use crate::shape::Dims;
use crate::site::{Site, SiteKind};
use crate::tensor::DTensor;
use crate::trace::Trace;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

const ALGORITHM: &str = "TraceGraph_ELBO";

/// Pyro's `TraceGraph_ELBO(num_particles)`, with Pyro's decaying-average baselines.
///
/// The ELBO and the pathwise terms are [`TraceElbo`](super::TraceElbo)'s. The score-function
/// term of a non-reparameterised guide site `z` is `(cost_z - b_z) · ∇ ln q(z)`, where:
///
/// - `cost_z` is the downstream cost, `ln p - ln q` over the sites `z` can influence: the guide
///   sites from `z` on, and the model sites from the first of those on (the order in which
///   the model ran them). This is Pyro's rule for a trace recorded as a dense graph (each site
///   depends on every earlier one), the one its `TraceGraph_ELBO` used before provenance
///   tracking. Each term is also summed onto `z`'s plates, as `Trace_ELBO` Rao-Blackwellises.
/// - `b_z` is, when the baseline is on, the average of `z`'s earlier downstream costs decaying
///   by `β` per particle (`b ← β b + (1 - β) cost`, from 0; Pyro's
///   `__baseline_avg_downstream_cost_z`), one per element of the cost (one per plate element).
///   The baseline does not depend on the current draw, so the estimate stays unbiased.
///
/// Pyro turns the baseline on per site, with `infer={"baseline": {"use_decaying_avg_baseline":
/// True, "baseline_beta": 0.95}}`; here [`TraceGraphElbo::use_decaying_avg_baseline`] turns it
/// on for every non-reparameterised site (off by default, as Pyro), and a site's
/// [`InferConfig::flags`](crate::InferConfig) override it: [`TraceGraphElbo::BASELINE_FLAG`]
/// (`"true"`, `"false"`) and [`TraceGraphElbo::BETA_FLAG`] (a number in `[0, 1)`). Pyro's
/// `nn_baseline` and `baseline_value` are not supported (an error naming the site). The
/// averages live on this struct: a plate whose size changes between steps is an error (as in
/// Pyro) until [`TraceGraphElbo::reset_baselines`]; evaluating the loss without gradients
/// leaves them alone. Guide `factor`s without `has_rsample` get no score-function term, as
/// Pyro tracks only latent sites.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let model = |x: &DTensor| -> Result<()> {
///     let z: DTensor = sample("z", Bernoulli::from_probs(0.3)?)?;
///     observe("x", Normal::new(z.mul_scalar(2.0).add_scalar(-1.0), 1.0)?, x.clone())?;
///     Ok(())
/// };
/// let guide = |_: &DTensor| -> Result<()> {
///     let theta: DTensor = param("theta", DTensor::scalar(0.0, &Device::flex()))?;
///     sample::<DTensor>("z", Bernoulli::from_logits(theta)?)?;
///     Ok(())
/// };
/// // TraceGraph_ELBO() with infer={"baseline": {"use_decaying_avg_baseline": True,
/// // "baseline_beta": 0.95}} at "z":
/// let elbo = TraceGraphElbo::new(1)
///     .use_decaying_avg_baseline(true)
///     .baseline_beta(0.95);
/// let mut svi = Svi::new(model, guide, Adam::new(0.05), elbo);
/// let x = DTensor::scalar(0.8, &Device::flex());
/// for _ in 0..10 {
///     svi.step(&x)?;
/// }
/// assert!(svi.loss.baseline_average("z").is_some_and(|b| b[0] < 0.0));
/// # Ok::<(), PplError>(())
/// ```
#[derive(Debug)]
pub struct TraceGraphElbo {
    /// Particles averaged per estimate, one after another (default 1).
    pub num_particles: usize,
    /// Whether every non-reparameterised guide site gets a decaying-average baseline (default
    /// false, as Pyro; a site's flags override it).
    pub use_decaying_avg_baseline: bool,
    /// The decay rate `β` of the averages (default 0.90, Pyro's `baseline_beta`).
    pub baseline_beta: f64,
    averages: Mutex<HashMap<String, Average>>,
}

/// One site's decaying average of its downstream cost.
#[derive(Clone, Debug)]
struct Average {
    shape: Vec<usize>,
    values: Vec<f64>,
}

impl Clone for TraceGraphElbo {
    fn clone(&self) -> Self {
        let averages = self.lock().clone();
        TraceGraphElbo {
            num_particles: self.num_particles,
            use_decaying_avg_baseline: self.use_decaying_avg_baseline,
            baseline_beta: self.baseline_beta,
            averages: Mutex::new(averages),
        }
    }
}

impl Default for TraceGraphElbo {
    fn default() -> Self {
        TraceGraphElbo::new(1)
    }
}

impl TraceGraphElbo {
    /// The [`InferConfig::flags`](crate::InferConfig) key that turns a site's baseline on
    /// (`"true"`) or off (`"false"`): Pyro's `use_decaying_avg_baseline`.
    pub const BASELINE_FLAG: &'static str = "baseline.use_decaying_avg_baseline";
    /// The flags key of a site's decay rate, a number in `[0, 1)`: Pyro's `baseline_beta`.
    pub const BETA_FLAG: &'static str = "baseline.baseline_beta";

    /// A `TraceGraph_ELBO` averaging `num_particles` particles, without baselines.
    pub fn new(num_particles: usize) -> Self {
        TraceGraphElbo {
            num_particles,
            use_decaying_avg_baseline: false,
            baseline_beta: 0.90,
            averages: Mutex::new(HashMap::new()),
        }
    }
    /// Averages `n` particles per estimate.
    pub fn num_particles(mut self, n: usize) -> Self {
        self.num_particles = n;
        self
    }
    /// Gives every non-reparameterised guide site a decaying-average baseline.
    pub fn use_decaying_avg_baseline(mut self, on: bool) -> Self {
        self.use_decaying_avg_baseline = on;
        self
    }
    /// The decay rate of the averages, in `[0, 1)` (checked at the first estimate).
    pub fn baseline_beta(mut self, beta: f64) -> Self {
        self.baseline_beta = beta;
        self
    }
    /// The current average downstream cost of `site` (row-major, one per plate element), if
    /// it has a baseline and an estimate has run.
    pub fn baseline_average(&self, site: &str) -> Option<Vec<f64>> {
        self.lock().get(site).map(|a| a.values.clone())
    }
    /// Forgets every average (they restart from 0).
    pub fn reset_baselines(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Average>> {
        self.averages.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The decay rate of `site`'s baseline, `None` without one.
    fn beta_at(&self, site: &Site) -> Result<Option<f64>> {
        let bad = |reason: String| PplError::InvalidInference {
            algorithm: ALGORITHM,
            reason: format!("site '{}': {reason}", site.name),
        };
        let (mut on, mut beta) = (self.use_decaying_avg_baseline, self.baseline_beta);
        for (key, value) in &site.infer.flags {
            if key == Self::BASELINE_FLAG {
                on = value.parse().map_err(|_| {
                    bad(format!(
                        "flag '{key}' must be \"true\" or \"false\", not \"{value}\""
                    ))
                })?;
            } else if key == Self::BETA_FLAG {
                beta = value
                    .parse()
                    .map_err(|_| bad(format!("flag '{key}' must be a number, not \"{value}\"")))?;
            } else if key.starts_with("baseline.") {
                return Err(bad(format!(
                    "unrecognized baseline option '{key}' (supported: '{}', '{}'; Pyro's \
                     nn_baseline and baseline_value are not)",
                    Self::BASELINE_FLAG,
                    Self::BETA_FLAG
                )));
            }
        }
        if on && !(0.0..1.0).contains(&beta) {
            return Err(bad(format!(
                "baseline_beta must lie in [0, 1), found {beta}"
            )));
        }
        Ok(on.then_some(beta))
    }

    /// `site`'s current average (0 at first), then folds `cost` into it.
    fn baseline(&self, site: &str, cost: &DTensor, beta: f64) -> Result<DTensor> {
        let current = cost.to_vec();
        let mut averages = self.lock();
        let old = match averages.get(site) {
            None => vec![0.0; current.len()],
            Some(a) if a.shape == cost.shape() => a.values.clone(),
            Some(a) => {
                return Err(PplError::InvalidInference {
                    algorithm: ALGORITHM,
                    reason: format!(
                        "site '{site}': expected the downstream cost to have its baseline's \
                         shape {}, found {} (a plate changed size); reset_baselines() restarts \
                         the averages",
                        Dims(a.shape.clone()),
                        cost.dims()
                    ),
                });
            }
        };
        let values = old
            .iter()
            .zip(&current)
            .map(|(&o, &c)| beta * o + (1.0 - beta) * c as f64)
            .collect();
        averages.insert(
            site.to_string(),
            Average {
                shape: cost.shape().to_vec(),
                values,
            },
        );
        let old = old.into_iter().map(|v| v as f32).collect();
        Ok(DTensor::from_floats(old, cost.shape(), &cost.device())?)
    }
}

/// The cost the guide site at `pos` can influence, summed onto its plates: the guide's latent
/// sites from `pos` on, and the model's sample sites from the first of those on.
fn downstream_cost(model: &Trace, guide: &Trace, pos: usize) -> DTensor {
    let target = &guide.sites()[pos].plates;
    let later: Vec<&Site> = guide.sites()[pos..]
        .iter()
        .filter(|s| s.is_latent())
        .collect();
    let names: HashSet<&str> = later.iter().map(|s| s.name.as_str()).collect();
    let first = model
        .sites()
        .iter()
        .position(|s| names.contains(s.name.as_str()))
        .unwrap_or(model.len());
    let model_terms = model.sites()[first..]
        .iter()
        .filter(|s| s.kind == SiteKind::Sample)
        .map(|s| (s, 1.0));
    signed_cost(
        model_terms.chain(later.iter().map(|s| (*s, -1.0))),
        target,
        model,
        guide,
    )
}

impl Elbo for TraceGraphElbo {
    fn num_particles(&self) -> usize {
        self.num_particles
    }

    fn particle<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<(DTensor, DTensor, Trace, Trace)> {
        let (model_tr, guide_tr) = get_traces(model, guide, args)?;
        let mut elbo: Vec<DTensor> = vec![];
        let mut surrogate: Vec<DTensor> = vec![];
        for s in model_tr.sample_sites() {
            let Some(lp) = &s.log_prob_sum else { continue };
            elbo.push(lp.detach());
            surrogate.push(lp.clone());
        }
        let learning = crate::grad::is_grad_enabled();
        for (pos, s) in guide_tr.sites().iter().enumerate() {
            if s.kind != SiteKind::Sample {
                continue;
            }
            let (Some(lp), Some(score)) = (&s.log_prob_sum, &s.unscaled_log_prob) else {
                continue;
            };
            elbo.push(lp.detach().neg());
            if s.dist.as_ref().is_some_and(|d| d.has_rsample()) {
                surrogate.push(lp.neg());
                continue;
            }
            if s.is_observed {
                continue;
            }
            let mut cost = downstream_cost(&model_tr, &guide_tr, pos);
            if learning && let Some(beta) = self.beta_at(s)? {
                cost = cost.sub(&self.baseline(&s.name, &cost, beta)?);
            }
            // The score `ln q` is unscaled: the cost carries the scale (Pyro's
            // `ScoreParts.scale_and_mask`).
            surrogate.push(cost.mul(score).sum());
        }
        let device = model_tr.device().unwrap_or_default();
        let total = |terms: Vec<DTensor>| {
            terms
                .into_iter()
                .reduce(|a, b| a.add(&b))
                .unwrap_or_else(|| DTensor::scalar(0.0, &device))
        };
        Ok((total(elbo), total(surrogate), model_tr, guide_tr))
    }
}
