//! The primitives a model or guide calls: `sample`, `observe`, `param`, `deterministic`,
//! `factor` (and `plate` and `module` in their own files).

use crate::constraints::Constraint;
use crate::dist::{Delta, DistExt, Distribution, Unit};
use crate::error::{PplError, Result};
use crate::runtime::apply_stack;
use crate::site::{InferConfig, Site, SiteKind};
use crate::tensor::{DTensor, FromDTensor};
use std::sync::Arc;

fn convert<T: FromDTensor>(site: &Site) -> Result<T> {
    let v = site.value.clone().ok_or_else(|| PplError::IncompleteSite {
        stage: "apply_stack",
        site: site.name.clone(),
        missing: "value",
    })?;
    T::from_dtensor(v).map_err(|source| PplError::SiteShape {
        site: site.name.clone(),
        source,
    })
}

/// The general sample statement: `name ~ dist`, observed when `obs` is given.
/// Returns the site's value after every handler has seen it.
pub fn sample_with<T: FromDTensor>(
    name: &str,
    dist: Arc<dyn Distribution>,
    obs: Option<DTensor>,
    infer: InferConfig,
) -> Result<T> {
    let mut site = Site::new(name, SiteKind::Sample);
    site.dist = Some(dist);
    site.is_observed = obs.is_some();
    site.value = obs;
    site.infer = infer;
    apply_stack(&mut site)?;
    convert(&site)
}

/// Draws a latent variable: `pyro.sample(name, dist)`.
///
/// ```
/// # use lobes_ppl::prelude::*;
/// # let d = Device::flex();
/// let z: Tensor<1> = sample("z", Normal::new(Tensor::<1>::zeros([3], &d), Tensor::<1>::ones([3], &d))?)?;
/// assert_eq!(z.dims(), [3]);
/// # Ok::<(), PplError>(())
/// ```
pub fn sample<T: FromDTensor>(name: &str, dist: impl Distribution) -> Result<T> {
    sample_with(name, Arc::new(dist), None, InferConfig::default())
}

/// `pyro.sample(name, dist, obs=obs)` with `obs` possibly `None`: observed when `obs` is
/// `Some`, drawn otherwise (the semi-supervised VAE's label, present for some batches only).
///
/// ```
/// # use lobes_ppl::prelude::*;
/// # let d = Device::flex();
/// let label: Option<DTensor> = None;
/// let y: DTensor = sample_obs("y", Bernoulli::from_probs(DTensor::scalar(0.5, &d))?, label)?;
/// assert!(y.item() == 0.0 || y.item() == 1.0);
/// let (_, tr) = trace(|| sample_obs::<DTensor>("y", Bernoulli::from_probs(DTensor::scalar(0.5, &d))?, Some(DTensor::scalar(1.0, &d))))?;
/// assert!(tr.get("y").unwrap().is_observed);
/// # Ok::<(), PplError>(())
/// ```
pub fn sample_obs<T: FromDTensor>(
    name: &str,
    dist: impl Distribution,
    obs: Option<impl Into<DTensor>>,
) -> Result<T> {
    sample_with(
        name,
        Arc::new(dist),
        obs.map(Into::into),
        InferConfig::default(),
    )
}

/// Scores observed data: `pyro.sample(name, dist, obs=value)`. Returns the site's value as
/// the observation's own type (a `Tensor<D>` or a `DTensor`): the observation itself, or a
/// draw where a handler (`uncondition`) makes the site latent.
pub fn observe<V: Into<DTensor> + FromDTensor>(
    name: &str,
    dist: impl Distribution,
    obs: V,
) -> Result<V> {
    sample_with(
        name,
        Arc::new(dist),
        Some(obs.into()),
        InferConfig::default(),
    )
}

/// A learnable parameter on the real line: `pyro.param(name, init)`. `init` is used only the
/// first time `name` is seen by the active store.
pub fn param<T: FromDTensor>(name: &str, init: impl Into<DTensor>) -> Result<T> {
    param_constrained(name, init, Constraint::Real)
}

/// A learnable parameter with a constraint: `pyro.param(name, init, constraint=...)`.
pub fn param_constrained<T: FromDTensor>(
    name: &str,
    init: impl Into<DTensor>,
    constraint: Constraint,
) -> Result<T> {
    let mut site = Site::new(name, SiteKind::Param);
    site.init = Some(init.into());
    site.constraint = constraint;
    apply_stack(&mut site)?;
    convert(&site)
}

/// An existing parameter: `pyro.param(name)`. Errors if the active store lacks it.
pub fn get_param<T: FromDTensor>(name: &str) -> Result<T> {
    let mut site = Site::new(name, SiteKind::Param);
    apply_stack(&mut site)?;
    convert(&site)
}

/// Records a deterministic function of other sites (`pyro.deterministic`): it appears in
/// traces and `Predictive` output, contributes nothing to the log-density.
pub fn deterministic<T: FromDTensor>(
    name: &str,
    value: impl Into<DTensor>,
    event_dim: usize,
) -> Result<T> {
    let value = value.into();
    let zero = DTensor::scalar(0.0, &value.device());
    let dist = Delta::new(value.clone(), event_dim)
        .map_err(|e| PplError::at_site(name, e))?
        .mask(zero);
    let infer = InferConfig {
        deterministic: true,
        ..Default::default()
    };
    sample_with(name, Arc::new(dist), Some(value), infer)
}

/// Adds `log_factor` to the model's log-density (`pyro.factor`). In a guide, use
/// [`factor_with`], which says whether the factor is reparameterised.
pub fn factor(name: &str, log_factor: impl Into<DTensor>) -> Result<()> {
    factor_site(name, Unit::new(log_factor))
}

/// `pyro.factor(name, log_factor, has_rsample=...)`. In a guide a factor is a term of
/// `log q`: it adds `-log_factor` to the ELBO, with a pathwise gradient when `has_rsample`
/// (e.g. the log-Jacobian of a transform of a reparameterised draw) and a score-function
/// gradient otherwise (e.g. from discrete draws). In a model `has_rsample` is ignored.
pub fn factor_with(name: &str, log_factor: impl Into<DTensor>, has_rsample: bool) -> Result<()> {
    factor_site(name, Unit::with_rsample(log_factor, has_rsample))
}

fn factor_site(name: &str, unit: Unit) -> Result<()> {
    let obs = unit.sample();
    let infer = InferConfig {
        is_auxiliary: true,
        ..Default::default()
    };
    sample_with::<DTensor>(name, Arc::new(unit), Some(obs), infer).map(|_| ())
}
