//! `AutoDiagonalNormal`: one Normal with a diagonal covariance over all latent sites packed
//! into a single unconstrained vector (Pyro's `pyro.infer.autoguide.AutoDiagonalNormal`).

use super::init::InitLoc;
use super::normal::sample_transformed;
use super::prototype::{LatentSite, Prototype, in_plates};
use crate::constraints::Constraint;
use crate::dist::{DistExt, Normal};
use crate::error::{PplError, Result};
use crate::primitives::{get_param, param, param_constrained, sample_with};
use crate::site::InferConfig;
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parameter holding the packed locations.
pub const LOC: &str = "AutoDiagonalNormal.loc";
/// The parameter holding the packed scales.
pub const SCALE: &str = "AutoDiagonalNormal.scale";
/// The auxiliary site of the packed latent vector.
pub const LATENT: &str = "_AutoDiagonalNormal_latent";

/// Pyro's `AutoDiagonalNormal(model, init_loc_fn=init_to_median, init_scale=0.1)`.
///
/// The unconstrained values of every latent site, flattened in execution order, form one
/// vector of length `N`, with parameters `AutoDiagonalNormal.loc` and
/// `AutoDiagonalNormal.scale` of shape `[N]`. Each call draws the auxiliary site
/// `_AutoDiagonalNormal_latent ~ Normal(loc, scale).to_event(1)`, cuts it into the sites'
/// shapes, and samples each site, inside its plates, as a point mass at
/// `biject_to(support)(piece)` with the log-Jacobian as log-density (Pyro's `AutoContinuous`).
pub struct AutoDiagonalNormal<M> {
    model: M,
    init_loc: InitLoc,
    init_scale: f64,
    prototype: Prototype,
}

impl<M> AutoDiagonalNormal<M> {
    /// The guide of `model`, initialised to the prior median with scale 0.1.
    pub fn new(model: M) -> Self {
        AutoDiagonalNormal {
            model,
            init_loc: InitLoc::default(),
            init_scale: 0.1,
            prototype: Prototype::default(),
        }
    }

    /// How the locations are initialised (Pyro's `init_loc_fn`).
    pub fn init_loc_fn(mut self, init: InitLoc) -> Self {
        self.init_loc = init;
        self
    }

    /// The initial scale of every coordinate (Pyro's `init_scale`).
    pub fn init_scale(mut self, scale: f64) -> Self {
        self.init_scale = scale;
        self
    }

    /// The latent sites found in the model, once the guide has run, in packing order.
    pub fn latents(&self) -> Option<Vec<LatentSite>> {
        self.prototype.latents().map(|l| (*l).clone())
    }

    /// Runs the guide: samples every latent site of the model, returning their values.
    pub fn call<A: ?Sized, R>(&self, args: &A) -> Result<BTreeMap<String, DTensor>>
    where
        M: Fn(&A) -> Result<R>,
    {
        if !(self.init_scale > 0.0 && self.init_scale.is_finite()) {
            return Err(PplError::InvalidParam {
                name: "AutoDiagonalNormal.init_scale".into(),
                reason: format!("must be positive and finite, got {}", self.init_scale),
            });
        }
        let latents =
            self.prototype
                .get("AutoDiagonalNormal", &self.model, args, &self.init_loc)?;
        let Some(device) = latents.first().map(|s| s.init.device()) else {
            return Ok(BTreeMap::new());
        };
        let init: Vec<f32> = latents
            .iter()
            .flat_map(|s| s.init_unconstrained.to_vec())
            .collect();
        let n = init.len();
        let loc: DTensor = param(LOC, DTensor::from_floats(init, &[n], &device)?)?;
        let scale: DTensor = param_constrained(
            SCALE,
            DTensor::full(&[n], self.init_scale as f32, &device),
            Constraint::Positive,
        )?;
        let q = Normal::new(loc, scale)
            .map_err(|e| PplError::at_site(LATENT, e))?
            .to_event(1);
        let infer = InferConfig {
            is_auxiliary: true,
            ..Default::default()
        };
        let latent: DTensor = sample_with(LATENT, Arc::new(q), None, infer)?;
        let out = unpack(&latent, &latents)?
            .into_iter()
            .zip(latents.iter())
            .map(|(u, site)| {
                let v = in_plates(&site.plates, &Default::default(), |_| {
                    sample_transformed(site, &u)
                })?;
                Ok((site.name.clone(), v))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        Ok(out)
    }

    /// The posterior median of every latent site, `biject_to(support)` of its piece of
    /// `loc`; reads the active parameter store (after the guide has run).
    pub fn median(&self) -> Result<BTreeMap<String, DTensor>> {
        let latents = self.prototype.latents().unwrap_or_default();
        if latents.is_empty() {
            return Ok(BTreeMap::new());
        }
        let loc: DTensor = get_param(LOC)?;
        let pieces = unpack(&loc.detach(), &latents)?;
        Ok(latents
            .iter()
            .zip(pieces)
            .map(|(s, u)| (s.name.clone(), s.support.transform(&u)))
            .collect())
    }
}

/// Cuts a packed vector into the unconstrained values of `latents` (Pyro's `_unpack_latent`),
/// keeping the autodiff graph.
pub fn unpack(packed: &DTensor, latents: &[LatentSite]) -> Result<Vec<DTensor>> {
    let flat: Tensor<1> = packed.to_tensor()?;
    let mut offset = 0;
    let mut out = Vec::with_capacity(latents.len());
    for s in latents {
        let len: usize = s.shape().iter().product();
        let piece = DTensor::from_tensor(flat.clone().narrow(0, offset, len));
        out.push(piece.reshape(s.shape())?);
        offset += len;
    }
    Ok(out)
}
