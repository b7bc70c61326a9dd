//! `AutoNormal`: a mean-field Normal guide in unconstrained space, one `loc` and one `scale`
//! parameter per latent site (Pyro's `pyro.infer.autoguide.AutoNormal`).

use super::prototype::{LatentSite, Prototype, draw_plates, in_plates, select_subsample};
use crate::constraints::Constraint;
use crate::dist::{DistExt, Distribution, Normal};
use crate::error::{PplError, Result};
use crate::infer::init::InitLoc;
use crate::infer::support::log_abs_det_jacobian;
use crate::primitives::{get_param, param, param_constrained, sample_with};
use crate::site::InferConfig;
use crate::tensor::DTensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pyro's `AutoNormal(model, init_loc_fn=init_to_feasible, init_scale=0.1)`.
///
/// On its first call the guide runs the model once, hidden from every handler, to find the
/// latent sites. Each latent `z` gets parameters `AutoNormal.locs.z` (unconstrained) and
/// `AutoNormal.scales.z` (positive), an auxiliary site `z_unconstrained ~ Normal(loc,
/// scale)` inside `z`'s plates, and the site `z` itself as a point mass at
/// `biject_to(support)(z_unconstrained)` whose log-density is the inverse transform's
/// log-Jacobian, so that `log q` is the density of `z` in its own support.
///
/// Pass it to [`Svi`](crate::infer::Svi) or [`Predictive`](crate::infer::Predictive) as
/// `|x| guide.call(x)`. The scales are stored through softplus
/// ([`Constraint::SoftplusPositive`]), as Pyro's.
pub struct AutoNormal<M> {
    model: M,
    init_loc: InitLoc,
    init_scale: f64,
    prototype: Prototype,
}

impl<M> AutoNormal<M> {
    /// The guide of `model`, initialised as Pyro's `AutoNormal` is, to a feasible point
    /// (`init_to_feasible`: zero in unconstrained space) with scale 0.1; the packed guides
    /// and `AutoDelta` start at the prior median, as Pyro's.
    pub fn new(model: M) -> Self {
        AutoNormal {
            model,
            init_loc: InitLoc::Feasible,
            init_scale: 0.1,
            prototype: Prototype::default(),
        }
    }

    /// How the locations are initialised (Pyro's `init_loc_fn`).
    pub fn init_loc_fn(mut self, init: InitLoc) -> Self {
        self.init_loc = init;
        self
    }

    /// The initial scale of every site in unconstrained space (Pyro's `init_scale`).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    /// The latent sites found in the model, once the guide has run.
    pub fn latents(&self) -> Option<Vec<LatentSite>> {
        self.prototype.latents().map(|l| (*l).clone())
    }

    fn loc_name(name: &str) -> String {
        format!("AutoNormal.locs.{name}")
    }

    fn scale_name(name: &str) -> String {
        format!("AutoNormal.scales.{name}")
    }

    /// Runs the guide: samples every latent site of the model, returning their values.
    pub fn call<A: ?Sized, R>(&self, args: &A) -> Result<BTreeMap<String, DTensor>>
    where
        M: Fn(&A) -> Result<R>,
    {
        if !(self.init_scale > 0.0 && self.init_scale.is_finite()) {
            return Err(PplError::InvalidParam {
                name: "AutoNormal.init_scale".into(),
                reason: format!("must be positive and finite, got {}", self.init_scale),
            });
        }
        let latents = self
            .prototype
            .get("AutoNormal", &self.model, args, &self.init_loc)?;
        let drawn = draw_plates(&latents)?;
        let mut out = BTreeMap::new();
        for site in latents.iter() {
            let value = in_plates(&site.plates, &drawn, |subsample| {
                let u0 = &site.init_unconstrained;
                let loc: DTensor = param(&Self::loc_name(&site.name), u0.clone())?;
                let init_scale = DTensor::full(u0.shape(), self.init_scale as f32, &u0.device());
                let scale: DTensor = param_constrained(
                    &Self::scale_name(&site.name),
                    init_scale,
                    Constraint::SoftplusPositive,
                )?;
                let loc = select_subsample(&loc, site.event_dim, subsample)?;
                let scale = select_subsample(&scale, site.event_dim, subsample)?;
                let base = Normal::new(loc, scale).map_err(|e| PplError::at_site(&site.name, e))?;
                let q: Arc<dyn Distribution> = if site.event_dim > 0 {
                    Arc::new(base.to_event(site.event_dim))
                } else {
                    Arc::new(base)
                };
                let infer = InferConfig {
                    is_auxiliary: true,
                    ..Default::default()
                };
                let aux = format!("{}_unconstrained", site.name);
                let u: DTensor = sample_with(&aux, q, None, infer)?;
                sample_transformed(site, &u)
            })?;
            out.insert(site.name.clone(), value);
        }
        Ok(out)
    }

    /// The posterior median of every latent site, `biject_to(support)(loc)` (Pyro's
    /// `AutoNormal.median()`); reads the active parameter store, so call it after the guide
    /// has run, e.g. inside `with_param_store(svi.store_mut(), ..)`.
    pub fn median(&self) -> Result<BTreeMap<String, DTensor>> {
        let latents = self.prototype.latents().unwrap_or_default();
        let mut out = BTreeMap::new();
        for site in latents.iter() {
            let loc: DTensor = get_param(&Self::loc_name(&site.name))?;
            out.insert(site.name.clone(), site.support.transform(&loc.detach()));
        }
        Ok(out)
    }
}

/// Samples the site `site.name` as the point mass at `biject_to(support)(u)`, with the
/// inverse transform's log-Jacobian as its log-density (Pyro's autoguide `Delta` sites).
pub(super) fn sample_transformed(site: &LatentSite, u: &DTensor) -> Result<DTensor> {
    let x = site.support.transform(u);
    let ladj = log_abs_det_jacobian(site.support, u).ok_or_else(|| PplError::Autoguide {
        guide: "autoguide",
        site: site.name.clone(),
        reason: format!("the {} support has no bijection", site.support.as_str()),
    })?;
    let log_density = ladj.sum_rightmost(site.event_dim).neg();
    let point = crate::dist::Delta::new(x, site.event_dim)
        .map(|d| d.with_log_density(log_density))
        .map_err(|e| PplError::at_site(&site.name, e))?;
    sample_with(&site.name, Arc::new(point), None, InferConfig::default())
}
