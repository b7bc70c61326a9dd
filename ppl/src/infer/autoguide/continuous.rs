//! `AutoContinuous`: one joint posterior over all latent sites packed into a single
//! unconstrained vector (Pyro's `pyro.infer.autoguide.AutoContinuous`), with the family of
//! that posterior a type parameter: [`AutoDiagonalNormal`](super::AutoDiagonalNormal),
//! [`AutoMultivariateNormal`](super::AutoMultivariateNormal).

use super::normal::sample_transformed;
use super::prototype::{LatentSite, Prototype, in_plates};
use crate::dist::Distribution;
use crate::error::{PplError, Result};
use crate::infer::init::InitLoc;
use crate::primitives::{get_param, param, sample_with};
use crate::site::InferConfig;
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// The posterior family of an [`AutoContinuous`] guide (Pyro's `get_posterior`).
pub trait Posterior {
    /// The guide's name as Pyro spells it: the prefix of its parameters
    /// (`AutoDiagonalNormal.loc`) and of its auxiliary site (`_AutoDiagonalNormal_latent`).
    const NAME: &'static str;
    /// Declares the family's parameters other than `loc` (through [`param`] and
    /// [`crate::param_constrained`], named `{NAME}.scale` and so on), initialised from
    /// `init_scale`, and returns the posterior over the packed vector: a distribution of
    /// event shape `[N]`, `N` the length of `loc`. `rank` is the low-rank family's option
    /// (`None` for its default); the other families ignore it.
    fn posterior(
        loc: DTensor,
        init_scale: f64,
        rank: Option<usize>,
    ) -> Result<Arc<dyn Distribution>>;
    /// The marginal standard deviation of each of the `n` packed coordinates, from the
    /// active store's parameters (`None` for a point).
    fn marginal_scale(n: usize) -> Result<Option<DTensor>>;
}

/// Pyro's `AutoContinuous(model, init_loc_fn=init_to_median)` with the posterior family `F`.
///
/// The unconstrained values of every latent site, flattened in execution order, form one
/// vector of length `N` with the location parameter `{F::NAME}.loc` of shape `[N]`. Each call
/// draws the auxiliary site `_{F::NAME}_latent` from `F`'s posterior, cuts it into the sites'
/// shapes, and samples each site, inside its plates, as a point mass at
/// `biject_to(support)(piece)` with the log-Jacobian as log-density. Latents inside a
/// subsampled plate are refused, as Pyro's `AutoContinuous` refuses them.
pub struct AutoContinuous<M, F> {
    pub(super) model: M,
    init_loc: InitLoc,
    init_scale: f64,
    pub(super) rank: Option<usize>,
    prototype: Prototype,
    family: PhantomData<F>,
}

impl<M, F: Posterior> AutoContinuous<M, F> {
    /// The guide of `model`, initialised to the prior median with scale 0.1.
    pub fn new(model: M) -> Self {
        AutoContinuous {
            model,
            init_loc: InitLoc::default(),
            init_scale: 0.1,
            rank: None,
            prototype: Prototype::default(),
            family: PhantomData,
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
                name: format!("{}.init_scale", F::NAME),
                reason: format!("must be positive and finite, got {}", self.init_scale),
            });
        }
        let latents = self
            .prototype
            .get(F::NAME, &self.model, args, &self.init_loc)?;
        // One packed vector cannot follow a subsample (Pyro: "AutoContinuous does not support
        // subsampling").
        for site in latents.iter() {
            if let Some(f) = site.plates.iter().find(|f| f.subsample_size != f.size) {
                return Err(PplError::Autoguide {
                    guide: F::NAME,
                    site: site.name.clone(),
                    reason: format!(
                        "plate '{}' is subsampled ({} of {}); {} packs every latent into one \
                         vector and cannot follow a subsample (use AutoNormal)",
                        f.name,
                        f.subsample_size,
                        f.size,
                        F::NAME
                    ),
                });
            }
        }
        let Some(device) = latents.first().map(|s| s.init.device()) else {
            return Ok(BTreeMap::new());
        };
        let init: Vec<f32> = latents
            .iter()
            .flat_map(|s| s.init_unconstrained.to_vec())
            .collect();
        let n = init.len();
        let loc: DTensor = param(
            &format!("{}.loc", F::NAME),
            DTensor::from_floats(init, &[n], &device)?,
        )?;
        let q = F::posterior(loc, self.init_scale, self.rank)?;
        let infer = InferConfig {
            is_auxiliary: true,
            ..Default::default()
        };
        let latent: DTensor = sample_with(&format!("_{}_latent", F::NAME), q, None, infer)?;
        unpack(&latent, &latents)?
            .into_iter()
            .zip(latents.iter())
            .map(|(u, site)| {
                let v = in_plates(&site.plates, &Default::default(), |_| {
                    sample_transformed(site, &u)
                })?;
                Ok((site.name.clone(), v))
            })
            .collect()
    }

    /// The posterior median of every latent site, `biject_to(support)` of its piece of
    /// `loc`; reads the active parameter store (after the guide has run).
    pub fn median(&self) -> Result<BTreeMap<String, DTensor>> {
        let latents = self.prototype.latents().unwrap_or_default();
        if latents.is_empty() {
            return Ok(BTreeMap::new());
        }
        let loc: DTensor = get_param(&format!("{}.loc", F::NAME))?;
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
