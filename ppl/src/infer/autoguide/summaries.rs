//! Reading a trained autoguide: medians and quantiles of every latent site (Pyro's
//! `guide.median()` and `guide.quantiles([...])`), from a parameter store given by reference,
//! so no store is swapped by hand.

use super::continuous::{AutoContinuous, Posterior, unpack};
use super::delta::AutoDelta;
use super::normal::AutoNormal;
use crate::error::{PplError, Result};
use crate::infer::mcmc::diagnostics::probit;
use crate::params::{ParamStore, with_param_store};
use crate::primitives::get_param;
use crate::tensor::DTensor;
use std::collections::BTreeMap;

/// Site name to value.
pub type SiteValues = BTreeMap<String, DTensor>;

/// Runs `f` with a copy of `store` active (parameters are reference-counted tensors: the copy
/// is cheap).
fn in_store<R>(store: &ParamStore, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let mut s = store.clone();
    with_param_store(&mut s, f)
}

fn check_quantiles(guide: &'static str, qs: &[f64]) -> Result<()> {
    match qs.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
        Some(q) => Err(PplError::Autoguide {
            guide,
            site: "quantiles".into(),
            reason: format!("a quantile must lie in (0, 1), got {q}"),
        }),
        None => Ok(()),
    }
}

/// `transform(loc + scale Φ⁻¹(q))` for each `q`, stacked along a new leading dim.
fn normal_quantiles(
    loc: &DTensor,
    scale: &DTensor,
    qs: &[f64],
    map: impl Fn(&DTensor) -> DTensor,
) -> Result<DTensor> {
    let rows: Vec<DTensor> = qs
        .iter()
        .map(|&q| map(&(loc + scale * probit(q))))
        .collect();
    Ok(DTensor::stack(&rows)?)
}

impl<M> AutoNormal<M> {
    /// [`AutoNormal::median`] read from `store` (e.g. `svi.store()`).
    pub fn median_in(&self, store: &ParamStore) -> Result<SiteValues> {
        in_store(store, || self.median())
    }

    /// Each site's marginal quantiles `qs` (Pyro's `AutoNormal.quantiles`), in its support:
    /// shape `[qs.len()] + site shape`.
    pub fn quantiles_in(&self, store: &ParamStore, qs: &[f64]) -> Result<SiteValues> {
        check_quantiles("AutoNormal", qs)?;
        in_store(store, || {
            let mut out = BTreeMap::new();
            for site in self.latents().unwrap_or_default() {
                let loc: DTensor = get_param(&format!("AutoNormal.locs.{}", site.name))?;
                let scale: DTensor = get_param(&format!("AutoNormal.scales.{}", site.name))?;
                let q = normal_quantiles(&loc.detach(), &scale.detach(), qs, |u| {
                    site.support.transform(u)
                })?;
                out.insert(site.name.clone(), q);
            }
            Ok(out)
        })
    }
}

impl<M> AutoDelta<M> {
    /// [`AutoDelta::median`] (the point itself) read from `store`.
    pub fn median_in(&self, store: &ParamStore) -> Result<SiteValues> {
        in_store(store, || self.median())
    }
}

impl<M, F: Posterior> AutoContinuous<M, F> {
    /// [`AutoContinuous::median`] read from `store` (e.g. `svi.store()`).
    pub fn median_in(&self, store: &ParamStore) -> Result<SiteValues> {
        in_store(store, || self.median())
    }

    /// Each site's marginal quantiles `qs` under the Gaussian over the packed vector (Pyro's
    /// `AutoContinuous.quantiles`), mapped into its support: `[qs.len()] + site shape`. A
    /// family without a scale ([`AutoLaplaceApproximation`](super::AutoLaplaceApproximation)
    /// before its approximation) is an error naming it.
    pub fn quantiles_in(&self, store: &ParamStore, qs: &[f64]) -> Result<SiteValues> {
        check_quantiles(F::NAME, qs)?;
        in_store(store, || {
            let latents = self.latents().unwrap_or_default();
            let loc: DTensor = get_param(&format!("{}.loc", F::NAME))?;
            let scale = F::marginal_scale(loc.numel())?.ok_or_else(|| PplError::Autoguide {
                guide: F::NAME,
                site: format!("{}.loc", F::NAME),
                reason: "a point has no quantiles (take its laplace_approximation first)".into(),
            })?;
            let locs = unpack(&loc.detach(), &latents)?;
            let scales = unpack(&scale.detach(), &latents)?;
            let mut out = BTreeMap::new();
            for ((site, l), s) in latents.iter().zip(locs).zip(scales) {
                out.insert(
                    site.name.clone(),
                    normal_quantiles(&l, &s, qs, |u| site.support.transform(u))?,
                );
            }
            Ok(out)
        })
    }
}
