//! `SVI`: stochastic variational inference, one optimiser step per call.

use super::elbo::{Elbo, ElboEstimate};
use crate::error::{PplError, Result};
use crate::grad::no_grad;
use crate::optim::Optimizer;
use crate::optim::deferred::{self, DeferredGrad};
use crate::params::{ParamStore, with_param_store};
use crate::rng;
use crate::runtime::is_validation_enabled;
use burn::prelude::Device;
use std::collections::HashMap;
use std::marker::PhantomData;

/// Pyro's `SVI(model, guide, optim, loss)`, owning its parameter store.
///
/// `model` and `guide` are functions of the same arguments `A`; `step(args)` runs both under
/// the ELBO, differentiates the surrogate and updates every parameter the step touched.
pub struct Svi<A: ?Sized, M, G, O, L> {
    /// The model.
    pub model: M,
    /// The guide.
    pub guide: G,
    /// The optimiser.
    pub optim: O,
    /// The ELBO estimator.
    pub loss: L,
    pub(super) store: ParamStore,
    pub(super) steps: u64,
    seed: Option<(u64, Option<Device>)>,
    schedule: Option<Box<dyn Fn(u64) -> f64>>,
    reducer: Option<Box<dyn super::reduce::GradientReducer>>,
    defer: bool,
    deferred: Vec<String>,
    _args: PhantomData<fn(&A)>,
}

/// Mixes a base seed and a step count into the seed of that step.
fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<A: ?Sized, M, G, O, L, RM, RG> Svi<A, M, G, O, L>
where
    M: Fn(&A) -> Result<RM>,
    G: Fn(&A) -> Result<RG>,
    O: Optimizer,
    L: Elbo,
{
    /// SVI with an empty parameter store.
    pub fn new(model: M, guide: G, optim: O, loss: L) -> Self {
        Svi {
            model,
            guide,
            optim,
            loss,
            store: ParamStore::new(),
            steps: 0,
            seed: None,
            schedule: None,
            reducer: None,
            defer: true,
            deferred: vec![],
            _args: PhantomData,
        }
    }

    /// Makes every step reproducible: before step `t` the PPL's generator is seeded from
    /// `(seed, t)`, and so is burn's generator on `device` (dropout), if given. A run resumed
    /// from a checkpoint then continues exactly as an uninterrupted one.
    pub fn with_seed(mut self, seed: u64, device: Option<Device>) -> Self {
        self.seed = Some((seed, device));
        self
    }

    /// A learning-rate schedule: the optimiser's rate before step `t` is `schedule(t)`.
    pub fn with_schedule(mut self, schedule: impl Fn(u64) -> f64 + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Data-parallel steps: this is one replica of several, each stepping on its shard of the
    /// batch, and `reducer` averages their losses and gradients so every replica takes the same
    /// step (see [`super::reduce`]). Each replica seeds its own generator (another seed per
    /// replica, so their draws differ).
    pub fn with_reducer(mut self, reducer: impl super::reduce::GradientReducer + 'static) -> Self {
        self.reducer = Some(Box::new(reducer));
        self
    }

    /// Whether a layer may hand a weight's gradient to the optimiser as a recipe computed
    /// inside its update ([`crate::optim::deferred`]; on by default, and never with a reducer).
    /// For a weight used once, through such a layer, the parameters come out the same bit for
    /// bit either way (a weight with several contributions may differ by their order of
    /// summation); off, every gradient is written whole first.
    pub fn with_deferred_gradients(mut self, on: bool) -> Self {
        self.defer = on;
        self
    }

    /// The parameters whose gradient the last step took as a recipe computed inside the
    /// optimiser's update ([`Svi::with_deferred_gradients`]), in update order.
    pub fn deferred_last_step(&self) -> &[String] {
        &self.deferred
    }

    /// The parameter store.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The parameter store, mutably (e.g. to run `Predictive` under it).
    pub fn store_mut(&mut self) -> &mut ParamStore {
        &mut self.store
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    fn estimate(&mut self, args: &A) -> Result<ElboEstimate> {
        let Svi {
            model,
            guide,
            loss,
            store,
            ..
        } = self;
        with_param_store(store, || loss.estimate(model, guide, args))
    }

    fn seed_step(&self) {
        if let Some((seed, device)) = &self.seed {
            let s = step_seed(*seed, self.steps);
            rng::set_rng_seed(s);
            if let Some(d) = device {
                d.seed(s);
            }
        }
    }

    /// One step: estimates the ELBO, differentiates, updates the parameters; returns the loss
    /// (`-ELBO`).
    ///
    /// A step that touches no parameter (a model with latents and an empty guide, or an
    /// auxiliary loss with nothing to train on this batch) returns its loss and updates
    /// nothing, as Pyro's `SVI.step` does.
    ///
    /// # Errors
    /// - [`PplError::NonFiniteLoss`] for a NaN or infinite loss, naming the first site whose
    ///   log-prob is not finite, with both traces' shape tables; the parameters are then left
    ///   unchanged and the step is not counted.
    /// - [`PplError::NonFiniteGradient`] when the loss was finite but a gradient held NaN or
    ///   infinite values: the optimiser finds this while it applies the update (in the fused
    ///   CPU pass, at no extra cost), so the parameters it names are then non-finite. Restore a
    ///   checkpoint before stepping again (`lobes train` rolls back to its last checkpoint and
    ///   lowers the learning rate).
    pub fn step(&mut self, args: &A) -> Result<f64> {
        // The step owns the autodiff leaves the store hands out: none before, none after,
        // whichever way it ends.
        self.store.clear_leaves();
        let out = self.step_with_leaves(args);
        self.store.clear_leaves();
        out
    }

    fn step_with_leaves(&mut self, args: &A) -> Result<f64> {
        self.deferred.clear();
        if let Some(s) = &self.schedule {
            let lr = s(self.steps);
            self.optim.set_lr(lr);
        }
        self.seed_step();
        // One process: a layer may hand a weight's gradient to the optimiser as a recipe
        // (`optim::deferred`). Replicas exchange whole gradients, so not with a reducer; and
        // a step that does not defer hides any outer step's scope.
        let mut scope = if self.defer && self.reducer.is_none() {
            deferred::Scope::open()
        } else {
            deferred::Scope::suppressed()
        };
        let mut est = match self.estimate(args) {
            Ok(est) => est,
            Err(e) => {
                // The other replicas wait for this one's loss: a NaN makes the step a bad one
                // on all of them (none is left waiting), then this replica reports its error.
                if let Some(r) = &mut self.reducer {
                    r.mean_loss(f64::NAN)?;
                }
                return Err(e);
            }
        };
        let loss = match &mut self.reducer {
            // Every replica learns whether any loss was not finite before any gradient is
            // exchanged: all take the same decision.
            Some(r) => r.mean_loss(est.loss())?,
            None => est.loss(),
        };
        if !loss.is_finite() {
            return Err(nonfinite(loss, &mut est));
        }
        if !est.surrogate.is_tracked() {
            // Nothing tracked: no parameter took part (Pyro skips `backward` then too). The
            // other replicas still exchange gradients: take part with none (replicas that have
            // some then stop with `ReplicaMismatch`, every one of them).
            drop(est);
            if let Some(r) = &mut self.reducer {
                r.mean_gradients(&mut [])?;
            }
            self.steps += 1;
            return Ok(loss);
        }
        // Offers are taken during this backward pass only, not one the model ran for itself.
        let mut grads = scope.accept(|| est.surrogate.neg().backward());
        drop(est);
        self.optim.begin_step();
        let mut names: Vec<String> = self.store.leaves().keys().cloned().collect();
        names.sort();
        // Take each gradient out of the container, then drop the autodiff leaves, so that the
        // optimiser holds the only handle to a parameter and its gradient (the fused CPU
        // update then works in place).
        let mut without = vec![];
        let mut dense: Vec<(String, crate::DTensor)> = vec![];
        let mut recipes: HashMap<String, DeferredGrad> = HashMap::new();
        for name in names {
            let (d, r) = self.store.take_grad(&name, &mut grads, &mut scope);
            if d.is_none() && r.is_none() {
                without.push(name);
                continue;
            }
            if let Some(r) = r {
                recipes.insert(name.clone(), r);
            }
            if let Some(d) = d {
                dense.push((name, d));
            }
        }
        drop(grads);
        // The replicas exchange gradients before any replica can stop: every one reaches the
        // same collectives.
        if let Some(r) = &mut self.reducer {
            r.mean_gradients(&mut dense)?;
        }
        let with: Vec<&String> = dense.iter().map(|(n, _)| n).chain(recipes.keys()).collect();
        if let Some((module, params)) = untrained(&without, &with) {
            if is_validation_enabled() {
                return Err(PplError::UntrainedParameters { module, params });
            }
            crate::warnings::warn(crate::warnings::PplWarning::UntrainedParameters {
                module,
                params,
            });
        }
        // The optimiser then holds the only handle to each parameter (fused in-place updates).
        self.store.clear_leaves();
        let mut dense: HashMap<String, crate::DTensor> = dense.into_iter().collect();
        let mut order: Vec<String> = dense.keys().chain(recipes.keys()).cloned().collect();
        order.sort();
        order.dedup();
        for name in order {
            let (p, constraint) = self
                .store
                .take_unconstrained(&name)
                .expect("a leaf comes from the store");
            let d = dense.remove(&name);
            let new = match (recipes.remove(&name), d) {
                (Some(r), d) => {
                    self.deferred.push(name.clone());
                    self.optim.update_deferred(&name, p, d, r)
                }
                (None, Some(g)) => self.optim.update(&name, p, g),
                (None, None) => unreachable!("listed because it has a gradient"),
            };
            self.store.set_unconstrained(&name, new, constraint);
        }
        drop(scope);
        let params = self.optim.take_nonfinite();
        if !params.is_empty() {
            return Err(PplError::NonFiniteGradient {
                step: self.steps,
                loss,
                params,
            });
        }
        self.steps += 1;
        Ok(loss)
    }

    /// The loss without gradients or updates, modules in evaluation mode (dropout off).
    pub fn evaluate_loss(&mut self, args: &A) -> Result<f64> {
        no_grad(|| self.estimate(args)).map(|e| e.loss())
    }

    /// [`Svi::evaluate_loss`] under another estimator than the one the steps train with: a
    /// model trained with the IWAE bound (`RenyiElbo` at α = 0) scored by the ELBO, say, as
    /// Pyro's `Trace_ELBO().loss(model, guide, ...)` on the same parameters.
    ///
    /// ```
    /// use lobes_ppl::infer::{RenyiElbo, Svi, TraceElbo};
    /// use lobes_ppl::optim::Adam;
    /// use lobes_ppl::prelude::*;
    /// let dev = Device::flex();
    /// let model = |x: &DTensor| -> Result<()> {
    ///     let mu: DTensor = sample("mu", Normal::new(DTensor::scalar(0.0, &dev), DTensor::scalar(1.0, &dev))?)?;
    ///     observe("x", Normal::new(mu, DTensor::scalar(1.0, &dev))?, x.clone())?;
    ///     Ok(())
    /// };
    /// let guide = |_: &DTensor| -> Result<()> {
    ///     let loc: DTensor = param("loc", DTensor::scalar(0.0, &dev))?;
    ///     sample::<DTensor>("mu", Normal::new(loc, DTensor::scalar(1.0, &dev))?)?;
    ///     Ok(())
    /// };
    /// let iwae = RenyiElbo::new(0.0, 5)?;
    /// let mut svi = Svi::new(model, guide, Adam::new(0.01), iwae);
    /// let x = DTensor::scalar(1.0, &dev);
    /// svi.step(&x)?;
    /// let elbo_loss = svi.evaluate_loss_with(&TraceElbo::default(), &x)?;
    /// assert!(elbo_loss.is_finite());
    /// # Ok::<(), lobes_ppl::PplError>(())
    /// ```
    pub fn evaluate_loss_with(&mut self, elbo: &impl Elbo, args: &A) -> Result<f64> {
        let Svi {
            model,
            guide,
            store,
            ..
        } = self;
        with_param_store(store, || elbo.loss(model, guide, args))
    }
}

fn nonfinite(loss: f64, est: &mut ElboEstimate) -> PplError {
    let mut site =
        "none found (the log-probs are finite; check the guide's entropy terms)".to_string();
    for (which, tr) in [
        ("model", &mut est.model_trace),
        ("guide", &mut est.guide_trace),
    ] {
        if let Ok(Some(s)) = tr.first_nonfinite_site() {
            let dist = s.dist.as_ref().map(|d| d.name()).unwrap_or_default();
            site = format!("'{}' in the {which} ({dist})", s.name);
            break;
        }
    }
    let table = format!(
        "model trace:\n{}guide trace:\n{}",
        est.model_trace.format_shapes(),
        est.guide_trace.format_shapes()
    );
    PplError::NonFiniteLoss { loss, site, table }
}

/// The first module (a name's first `.`-separated component) some of whose parameters got a
/// gradient this step while others (`without`) got none, with those others: parameters that
/// never train (see [`crate::warnings::PplWarning::UntrainedParameters`]). Parameters outside
/// modules (no `.`) and modules of which no parameter got a gradient are not reported: Pyro
/// lets a step leave them alone.
fn untrained(without: &[String], with: &[&String]) -> Option<(String, Vec<String>)> {
    let module = |n: &str| n.split_once('.').map(|(m, _)| m.to_string());
    let trained: std::collections::BTreeSet<String> =
        with.iter().filter_map(|n| module(n)).collect();
    let first = without
        .iter()
        .filter_map(|n| module(n))
        .find(|m| trained.contains(m))?;
    let params = without
        .iter()
        .filter(|n| module(n).as_deref() == Some(first.as_str()))
        .cloned()
        .collect();
    Some((first, params))
}
