//! `AutoDiagonalNormal`: one Normal with a diagonal covariance over all latent sites packed
//! into a single unconstrained vector (Pyro's `pyro.infer.autoguide.AutoDiagonalNormal`).

use super::continuous::{AutoContinuous, Posterior};
use crate::constraints::Constraint;
use crate::dist::{DistExt, Distribution, Normal};
use crate::error::{PplError, Result};
use crate::primitives::{get_param, param_constrained};
use crate::tensor::DTensor;
use std::sync::Arc;

/// Pyro's `AutoDiagonalNormal(model, init_loc_fn=init_to_median, init_scale=0.1)`.
///
/// Parameters `AutoDiagonalNormal.loc` and `AutoDiagonalNormal.scale` (softplus-positive, as
/// Pyro's), both of shape `[N]` for `N` packed coordinates; the auxiliary site
/// `_AutoDiagonalNormal_latent ~ Normal(loc, scale).to_event(1)`. See [`AutoContinuous`].
pub type AutoDiagonalNormal<M> = AutoContinuous<M, Diagonal>;

/// The posterior of [`AutoDiagonalNormal`]: `Normal(loc, scale).to_event(1)`.
#[derive(Debug)]
pub struct Diagonal;

impl Posterior for Diagonal {
    const NAME: &'static str = "AutoDiagonalNormal";

    fn posterior(
        loc: DTensor,
        init_scale: f64,
        _rank: Option<usize>,
    ) -> Result<Arc<dyn Distribution>> {
        let scale: DTensor = param_constrained(
            "AutoDiagonalNormal.scale",
            DTensor::full(loc.shape(), init_scale as f32, &loc.device()),
            Constraint::SoftplusPositive,
        )?;
        let q = Normal::new(loc, scale)
            .map_err(|e| PplError::at_site("_AutoDiagonalNormal_latent", e))?
            .to_event(1);
        Ok(Arc::new(q))
    }
    fn marginal_scale(_n: usize) -> Result<Option<DTensor>> {
        Ok(Some(get_param("AutoDiagonalNormal.scale")?))
    }
}
