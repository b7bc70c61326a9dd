//! `AutoDelta`: a point estimate of every latent site, which makes SVI compute the MAP
//! (Pyro's `pyro.infer.autoguide.AutoDelta`).

use super::prototype::{LatentSite, Prototype, draw_plates, in_plates, select_subsample};
use crate::dist::Delta;
use crate::error::{PplError, Result};
use crate::infer::init::InitLoc;
use crate::primitives::{get_param, param_constrained, sample_with};
use crate::site::InferConfig;
use crate::tensor::DTensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pyro's `AutoDelta(model, init_loc_fn=init_to_median)`.
///
/// Each latent `z` gets one parameter `AutoDelta.z`, constrained to `z`'s support, and is
/// sampled, inside its plates, as `Delta(AutoDelta.z)`. The ELBO is then the log-joint at the
/// point, so SVI climbs to the MAP in the support's own coordinates (no Jacobian).
pub struct AutoDelta<M> {
    model: M,
    init_loc: InitLoc,
    prototype: Prototype,
}

impl<M> AutoDelta<M> {
    /// The guide of `model`, initialised to the prior median.
    pub fn new(model: M) -> Self {
        AutoDelta {
            model,
            init_loc: InitLoc::default(),
            prototype: Prototype::default(),
        }
    }

    /// How the points are initialised (Pyro's `init_loc_fn`).
    pub fn init_loc_fn(mut self, init: InitLoc) -> Self {
        self.init_loc = init;
        self
    }

    /// The latent sites found in the model, once the guide has run.
    pub fn latents(&self) -> Option<Vec<LatentSite>> {
        self.prototype.latents().map(|l| (*l).clone())
    }

    fn param_name(name: &str) -> String {
        format!("AutoDelta.{name}")
    }

    /// Runs the guide: samples every latent site of the model, returning their values.
    pub fn call<A: ?Sized, R>(&self, args: &A) -> Result<BTreeMap<String, DTensor>>
    where
        M: Fn(&A) -> Result<R>,
    {
        let latents = self
            .prototype
            .get("AutoDelta", &self.model, args, &self.init_loc)?;
        let drawn = draw_plates(&latents)?;
        let mut out = BTreeMap::new();
        for site in latents.iter() {
            let value = in_plates(&site.plates, &drawn, |subsample| {
                let v: DTensor = param_constrained(
                    &Self::param_name(&site.name),
                    site.init.clone(),
                    site.support,
                )?;
                let v = select_subsample(&v, site.event_dim, subsample)?;
                let point =
                    Delta::new(v, site.event_dim).map_err(|e| PplError::at_site(&site.name, e))?;
                sample_with(&site.name, Arc::new(point), None, InferConfig::default())
            })?;
            out.insert(site.name.clone(), value);
        }
        Ok(out)
    }

    /// The point estimate of every latent site (Pyro's `AutoDelta.median()`); reads the
    /// active parameter store (after the guide has run).
    pub fn median(&self) -> Result<BTreeMap<String, DTensor>> {
        let latents = self.prototype.latents().unwrap_or_default();
        latents
            .iter()
            .map(|s| {
                Ok((
                    s.name.clone(),
                    get_param::<DTensor>(&Self::param_name(&s.name))?.detach(),
                ))
            })
            .collect()
    }
}
