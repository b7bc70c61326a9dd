//! `TraceEnum_ELBO`: the ELBO with discrete sites enumerated in parallel. Sites enumerated in
//! the model are summed out exactly (variable elimination over plates); sites enumerated in
//! the guide are averaged exactly under the guide's probabilities; the rest are sampled, with
//! score-function terms Rao-Blackwellised along plates (Pyro's Dice estimator,
//! `pyro/infer/traceenum_elbo.py` and `pyro/infer/util.py`).

use super::chain::{Factors, dims_reused, eliminate_in_order};
use super::checks::{check_model_guide_match_within, check_site_shape_enum};
use super::contract::{EnumVar, Ordinal, Ring, contract, ordinal, plate_dims};
use super::elbo::Elbo;
use super::particles::ParticlePlate;
use crate::error::{PplError, Result};
use crate::handlers::{enumerate_from, replay, sequential, trace};
use crate::site::Site;
use crate::tensor::DTensor;
use crate::trace::{Trace, scale_and_mask};
use std::collections::HashMap;

/// Pyro's `TraceEnum_ELBO(max_plate_nesting=...)`; [`TraceEnumElbo::default`] is Pyro's
/// `TraceEnum_ELBO()`, which finds the nesting from a first run of guide and model.
///
/// Mark discrete sites with [`config_enumerate`](crate::handlers::config_enumerate); each
/// gets a dim of its own left of the `max_plate_nesting` plate dims, guide sites first. A
/// model site enumerated must not appear in the guide; its plates must be tree-structured.
#[derive(Clone, Debug)]
pub struct TraceEnumElbo {
    /// The number of plate dims the model and guide nest, at most.
    pub max_plate_nesting: usize,
    /// Particles averaged per estimate (default 1).
    pub num_particles: usize,
    /// Run every particle at once inside a plate left of the `max_plate_nesting` plate dims,
    /// enumeration starting one dim further left (default false).
    pub vectorize_particles: bool,
    particle_plate: ParticlePlate,
    /// Whether `max_plate_nesting` is to be found from a first run (then remembered).
    guess: bool,
    guessed: std::sync::OnceLock<usize>,
}

impl Default for TraceEnumElbo {
    /// Pyro's `TraceEnum_ELBO()` without `max_plate_nesting`: the first estimate traces guide
    /// and model once (without gradients, hidden from enclosing handlers, the random stream
    /// restored afterwards) and takes the deepest plate nesting it sees, as Pyro's
    /// `_guess_max_plate_nesting`. A model whose plates vary between runs should give it.
    fn default() -> Self {
        TraceEnumElbo {
            guess: true,
            particle_plate: ParticlePlate::new(None),
            ..Self::new(0)
        }
    }
}

impl TraceEnumElbo {
    /// A `TraceEnum_ELBO` whose plates use at most `max_plate_nesting` dims.
    pub fn new(max_plate_nesting: usize) -> Self {
        TraceEnumElbo {
            max_plate_nesting,
            num_particles: 1,
            vectorize_particles: false,
            particle_plate: ParticlePlate::new(Some(max_plate_nesting)),
            guess: false,
            guessed: std::sync::OnceLock::new(),
        }
    }

    /// The plate nesting: the one given, or the one a first run shows.
    fn nesting<A: ?Sized, RM, RG>(
        &self,
        model: &impl Fn(&A) -> Result<RM>,
        guide: &impl Fn(&A) -> Result<RG>,
        args: &A,
    ) -> Result<usize> {
        if !self.guess {
            return Ok(self.max_plate_nesting);
        }
        if let Some(&n) = self.guessed.get() {
            return Ok(n);
        }
        let n = super::particles::guess_max_plate_nesting(model, guide, args)?;
        Ok(*self.guessed.get_or_init(|| n))
    }
    /// Averages `n` particles per estimate.
    pub fn num_particles(mut self, n: usize) -> Self {
        self.num_particles = n;
        self
    }
    /// Runs the particles in one vectorised run of model and guide (Pyro's
    /// `vectorize_particles`); see [`particles`](super::particles).
    pub fn vectorize_particles(mut self, on: bool) -> Self {
        self.vectorize_particles = on;
        self
    }
}

/// Runs the guide under enumeration from dim `-1 - max_plate_nesting`, then the model against
/// it, the model's enumerated sites taking dims left of the guide's (Pyro's
/// `TraceEnum_ELBO._get_traces`).
pub fn get_enum_traces<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
    max_plate_nesting: usize,
) -> Result<(Trace, Trace)> {
    get_enum_traces_with(model, guide, args, max_plate_nesting, HashMap::new())
        .map(|(m, g, _)| (m, g))
}

/// The guide's sequentially enumerated sites met in one run, with their support sizes.
type SequentialSites = Vec<(String, usize)>;

/// [`get_enum_traces`] with the guide's sequentially enumerated sites taking the values
/// `assignment` numbers (the first where unassigned); also returns those sites and their
/// support sizes.
fn get_enum_traces_with<A: ?Sized, RM, RG>(
    model: &impl Fn(&A) -> Result<RM>,
    guide: &impl Fn(&A) -> Result<RG>,
    args: &A,
    max_plate_nesting: usize,
    assignment: HashMap<String, usize>,
) -> Result<(Trace, Trace, SequentialSites)> {
    let first = -1 - max_plate_nesting as isize;
    let mut next = first;
    let mut met = vec![];
    let (_, mut guide_tr) = trace(|| {
        let (r, n) = enumerate_from(first, || {
            let (r, m) = sequential(assignment, || guide(args))?;
            met = m;
            Ok(r)
        })?;
        next = n;
        Ok(r)
    })?;
    let (_, mut model_tr) =
        trace(|| enumerate_from(next, || replay(&guide_tr, || model(args))).map(|(r, _)| r))?;
    check_model_guide_match_within(&model_tr, &guide_tr, Some(max_plate_nesting))?;
    model_tr.compute_log_prob()?;
    guide_tr.compute_log_prob()?;
    if crate::runtime::is_validation_enabled() {
        for s in model_tr.sample_sites().chain(guide_tr.sample_sites()) {
            check_site_shape_enum(s, max_plate_nesting)?;
        }
    }
    Ok((model_tr, guide_tr, met))
}

fn lp(s: &Site) -> &DTensor {
    s.log_prob.as_ref().expect("log-probs were computed")
}

/// The unscaled, masked log-density of a site (Pyro's `masked_log_prob`).
fn masked(s: &Site) -> Result<DTensor> {
    let u = s
        .unscaled_log_prob
        .as_ref()
        .expect("log-probs were computed");
    scale_and_mask(u, 1.0, None, s.mask.as_ref()).map_err(|source| PplError::SiteShape {
        site: s.name.clone(),
        source,
    })
}

/// The model's costs by ordinal, with its enumerated sites summed out (Pyro's
/// `_compute_model_factors` followed by `contract_tensor_tree`).
fn model_costs(model: &Trace, guide: &Trace) -> Result<Vec<(Ordinal, DTensor)>> {
    let sum: Vec<EnumVar> = model
        .sample_sites()
        .filter(|s| !guide.contains(&s.name))
        .filter_map(EnumVar::of)
        .collect();
    let mut costs = vec![];
    if sum.is_empty() {
        for s in model.sample_sites() {
            costs.push((ordinal(s), lp(s).clone()));
        }
        return Ok(costs);
    }
    let keep: Vec<EnumVar> = guide.sample_sites().filter_map(EnumVar::of).collect();
    if dims_reused(&sum) && !keep.is_empty() {
        return Err(PplError::Enumeration {
            site: keep[0].name.clone(),
            reason: "enumerated in the guide while the model reuses enumeration dims (markov): \
                     not supported"
                .into(),
        });
    }
    let mut factors = Factors::for_vars(&sum);
    let mut scales: Vec<(f64, &str)> = vec![];
    for s in model.sample_sites() {
        let enumerated = sum.iter().any(|v| v.name == s.name);
        if enumerated || sum.iter().any(|v| v.in_tensor(lp(s))) {
            // The mask inside the log-sum-exp, the scale outside it.
            let tensor = if enumerated {
                s.unscaled_log_prob.clone().expect("computed")
            } else {
                masked(s)?
            };
            factors.push(s, tensor, &sum);
            if s.weights.is_some() {
                return Err(PplError::Enumeration {
                    site: s.name.clone(),
                    reason: "it depends on an enumerated site and has per-element weights \
                             (`scale_by`): the sum over the enumerated values takes one number \
                             as its scale; use `scale` with a number, or `mask`"
                        .into(),
                });
            }
            scales.push((s.scale, &s.name));
        } else {
            costs.push((ordinal(s), lp(s).clone()));
        }
    }
    let (scale, first) = scales[0];
    if let Some((other, name)) = scales.iter().find(|(c, _)| *c != scale) {
        return Err(PplError::Enumeration {
            site: name.to_string(),
            reason: format!(
                "its scale {other} differs from the scale {scale} of site '{first}': all \
                 sites that depend on an enumerated site must share one scale (subsampling or \
                 `scale`)"
            ),
        });
    }
    let plates = plate_dims(model.sample_sites());
    let results = match factors {
        Factors::Chain(chain) => eliminate_in_order(chain, &sum, &plates, Ring::LogSum, false)?.0,
        Factors::Plated(factors) => {
            contract(factors, &sum, &keep, &plates, Ring::LogSum, false)?.results
        }
    };
    for f in results {
        let t = if scale == 1.0 {
            f.tensor
        } else {
            f.tensor.mul_scalar(scale)
        };
        costs.push((f.ordinal, t));
    }
    Ok(costs)
}

/// The Dice ELBO of one pair of traces: every cost times the probability factors of the guide
/// sites upstream of it (the guide sites whose plates it sits in), summed. Enumerated guide
/// sites weigh by `q`; sampled sites without a reparameterised draw by
/// `exp(log q - detach(log q))`, which is one in value and carries the score function.
pub(crate) fn dice_elbo(model: &Trace, guide: &Trace) -> Result<DTensor> {
    let mut costs = model_costs(model, guide)?;
    for s in guide.sample_sites() {
        costs.push((ordinal(s), lp(s).neg()));
    }
    let mut dice: Vec<(Ordinal, DTensor)> = vec![];
    for s in guide.sample_sites() {
        // The score function is neither scaled nor masked (Pyro's `ScoreParts.scale_and_mask`).
        let score = s
            .unscaled_log_prob
            .clone()
            .expect("log-probs were computed");
        if s.infer.enum_dim.is_some() || s.infer.sequential {
            dice.push((ordinal(s), score));
        } else if !s.dist.as_ref().is_some_and(|d| d.has_rsample()) {
            dice.push((ordinal(s), score.sub(&score.detach())));
        }
    }
    let mut total: Option<DTensor> = None;
    for (t, cost) in costs {
        let mut factor: Option<DTensor> = None;
        for (_, d) in dice.iter().filter(|(s, _)| s.is_subset(&t)) {
            factor = Some(match factor {
                None => d.clone(),
                Some(f) => f.try_add(d)?,
            });
        }
        let term = match factor {
            None => cost.sum(),
            Some(f) => {
                // Values the guide gives probability zero do not count (Pyro keeps only
                // `prob > 0`), so an infinite cost there is not 0 * inf.
                let w = f.exp();
                let positive = w.gt_scalar(0.0);
                let (w, cost) = DTensor::broadcast_pair(&w, &cost)?;
                let cost = cost.select_where(&positive, &cost.zeros_like());
                w.mul(&cost).sum()
            }
        };
        total = Some(match total {
            None => term,
            Some(a) => a.add(&term),
        });
    }
    Ok(total.unwrap_or_else(|| {
        let device = model
            .device()
            .or_else(|| guide.device())
            .unwrap_or_default();
        DTensor::scalar(0.0, &device)
    }))
}

impl Elbo for TraceEnumElbo {
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
        // Vectorised particles hold the dim left of the plates: enumeration starts beyond it.
        let nesting = self.nesting(model, guide, args)? + usize::from(self.vectorize_particles);
        // One run per combination of the guide's sequentially enumerated values (depth
        // first, as Pyro's queue): a run that meets an unassigned one is replaced by one run
        // per value of it.
        let mut queue = vec![HashMap::new()];
        let mut sum: Option<(DTensor, Trace, Trace)> = None;
        while let Some(assignment) = queue.pop() {
            let (model_tr, guide_tr, met) =
                get_enum_traces_with(model, guide, args, nesting, assignment.clone())?;
            if let Some((name, k)) = met.iter().find(|(n, _)| !assignment.contains_key(n)) {
                for v in (0..*k).rev() {
                    let mut a = assignment.clone();
                    a.insert(name.clone(), v);
                    queue.push(a);
                }
                continue;
            }
            let elbo = dice_elbo(&model_tr, &guide_tr)?;
            sum = Some(match sum {
                None => (elbo, model_tr, guide_tr),
                Some((total, _, _)) => (total.add(&elbo), model_tr, guide_tr),
            });
        }
        let (elbo, model_tr, guide_tr) = sum.expect("at least one run completes");
        Ok((elbo.detach(), elbo, model_tr, guide_tr))
    }
}
