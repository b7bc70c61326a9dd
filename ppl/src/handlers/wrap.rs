//! Handlers that turn a model into a new model (Pyro's `poutine.condition(model, data)`,
//! `poutine.do(model, data)`, `poutine.block(model, hide=...)`, ...): each returns a function
//! of the same arguments, usable wherever a model is (`Svi`, `Predictive`, `Mcmc`, an
//! autoguide), beside the run-now forms of [`crate::handlers`] that wrap one call.
//!
//! ```
//! use lobes_ppl::prelude::*;
//! use lobes_ppl::handlers::wrap;
//! use std::collections::HashMap;
//! let d = Device::flex();
//! let model = |_: &()| -> Result<DTensor> {
//!     let z: DTensor = sample("z", Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?)?;
//!     sample("x", Normal::new(z, DTensor::scalar(1.0, &d))?)
//! };
//! // poutine.condition(model, data={"x": 2.0})
//! let conditioned = wrap::condition(model, HashMap::from([("x".to_string(), DTensor::scalar(2.0, &d))]));
//! let (_, tr) = trace(|| conditioned(&()))?;
//! assert!(tr.get("x").unwrap().is_observed && !tr.get("z").unwrap().is_observed);
//! # Ok::<(), PplError>(())
//! ```

use super::{BlockSpec, LocScaleReparam};
use crate::dist::Distribution;
use crate::error::Result;
use crate::tensor::DTensor;
use std::collections::HashMap;
use std::sync::Arc;

/// `poutine.condition(model, data)`: the named sample sites observed at the given values.
pub fn condition<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    data: HashMap<String, DTensor>,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::condition(data.clone(), || model(a))
}

/// `poutine.do(model, data)`: an intervention, the named sites' downstream code seeing the
/// given values (see [`super::do_`]).
pub fn do_<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    data: HashMap<String, DTensor>,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::do_(data.clone(), || model(a))
}

/// `poutine.substitute(model, data)`: the named params take the given values.
pub fn substitute<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    data: HashMap<String, DTensor>,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::substitute(data.clone(), || model(a))
}

/// `poutine.block(model, hide=[...])` and its other forms: the sites `spec` selects hidden from
/// every handler outside.
pub fn block<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    spec: BlockSpec,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::block_with(spec.clone(), || model(a))
}

/// `poutine.uncondition(model)`: observed sites drawn instead.
pub fn uncondition<A: ?Sized, R>(model: impl Fn(&A) -> Result<R>) -> impl Fn(&A) -> Result<R> {
    move |a| super::uncondition(|| model(a))
}

/// `poutine.seed(model, rng_seed)`: every call draws from the generator reset to `seed`.
pub fn seed<A: ?Sized, R>(model: impl Fn(&A) -> Result<R>, seed: u64) -> impl Fn(&A) -> Result<R> {
    move |a| super::seed(seed, || model(a))
}

/// `poutine.scale(model, scale)`: every log-density multiplied by `factor`.
pub fn scale<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    factor: f64,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::scale(factor, || model(a))
}

/// `poutine.mask(model, mask)`: log-densities masked where `mask` is zero.
pub fn mask<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    mask: DTensor,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::mask(mask.clone(), || model(a))
}

/// `poutine.reparam(model, config)`: the named sites reparameterised.
pub fn reparam<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    config: HashMap<String, LocScaleReparam>,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::reparam(config.clone(), || model(a))
}

/// `poutine.lift(model, prior)`: the named params drawn from their priors (see
/// [`super::lift`]).
pub fn lift<A: ?Sized, R>(
    model: impl Fn(&A) -> Result<R>,
    priors: HashMap<String, Arc<dyn Distribution>>,
) -> impl Fn(&A) -> Result<R> {
    move |a| super::lift(priors.clone(), || model(a))
}
