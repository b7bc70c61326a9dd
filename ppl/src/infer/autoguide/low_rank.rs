//! `AutoLowRankMultivariateNormal`: a Normal whose covariance is a low-rank factor plus a
//! diagonal, over all latent sites packed into one unconstrained vector (Pyro's
//! `pyro.infer.autoguide.AutoLowRankMultivariateNormal`).

use super::continuous::{AutoContinuous, Posterior};
use crate::constraints::Constraint;
use crate::dist::{Distribution, LowRankMultivariateNormal};
use crate::error::{PplError, Result};
use crate::primitives::{get_param, param, param_constrained};
use crate::tensor::DTensor;
use std::sync::Arc;

/// Pyro's `AutoLowRankMultivariateNormal(model, init_loc_fn=init_to_median, init_scale=0.1,
/// rank=None)`: between the diagonal and the full-rank guide, for models with many latents.
///
/// Parameters for `N` packed coordinates and rank `R` (default `round(√N)`, Pyro's):
/// `AutoLowRankMultivariateNormal.loc` (`[N]`), `.scale` (`[N]`, softplus-positive,
/// initialised to `√½ · init_scale`) and `.cov_factor` (`[N, R]`, drawn from
/// `Normal(0, 1/√R)` once). The auxiliary site is drawn from
/// `LowRankMultivariateNormal(loc, cov_factor · scale[:, None], scale²)`. See
/// [`AutoContinuous`].
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::infer::autoguide::AutoLowRankMultivariateNormal;
/// let d = Device::flex();
/// let model = |_: &()| -> Result<()> {
///     plate("i", 9).run(|_| sample::<DTensor>("z", Normal::new(DTensor::scalar(0.0, &d), DTensor::scalar(1.0, &d))?))?;
///     Ok(())
/// };
/// let guide = AutoLowRankMultivariateNormal::new(model).rank(2);
/// let mut store = ParamStore::new();
/// with_param_store(&mut store, || guide.call(&()))?;
/// assert_eq!(store.get("AutoLowRankMultivariateNormal.cov_factor").unwrap().shape(), &[9, 2]);
/// # Ok::<(), PplError>(())
/// ```
pub type AutoLowRankMultivariateNormal<M> = AutoContinuous<M, LowRank>;

impl<M> AutoContinuous<M, LowRank> {
    /// The rank `R` of the covariance factor (Pyro's `rank`; default `round(√N)`).
    pub fn rank(mut self, rank: usize) -> Self {
        self.rank = Some(rank.max(1));
        self
    }
}

/// The posterior of [`AutoLowRankMultivariateNormal`].
#[derive(Debug)]
pub struct LowRank;

impl Posterior for LowRank {
    const NAME: &'static str = "AutoLowRankMultivariateNormal";

    fn posterior(
        loc: DTensor,
        init_scale: f64,
        rank: Option<usize>,
    ) -> Result<Arc<dyn Distribution>> {
        let n = loc.numel();
        let device = loc.device();
        let r = rank.unwrap_or_else(|| ((n as f64).sqrt().round() as usize).max(1));
        let scale: DTensor = param_constrained(
            "AutoLowRankMultivariateNormal.scale",
            DTensor::full(&[n], (0.5f64.sqrt() * init_scale) as f32, &device),
            Constraint::SoftplusPositive,
        )?;
        let noise: Vec<f32> = crate::rng::normals(n * r)
            .into_iter()
            .map(|v| v / (r as f32).sqrt())
            .collect();
        let cov_factor: DTensor = param(
            "AutoLowRankMultivariateNormal.cov_factor",
            DTensor::from_floats(noise, &[n, r], &device)?,
        )?;
        let factor = &cov_factor * scale.reshape(&[n, 1])?;
        let q = LowRankMultivariateNormal::new(loc, factor, scale.square())
            .map_err(|e| PplError::at_site("_AutoLowRankMultivariateNormal_latent", e))?;
        Ok(Arc::new(q))
    }
    fn marginal_scale(n: usize) -> Result<Option<DTensor>> {
        // sqrt(diag(F Fᵀ) + s²), F = cov_factor · s[:, None].
        let scale: DTensor = get_param("AutoLowRankMultivariateNormal.scale")?;
        let w: DTensor = get_param("AutoLowRankMultivariateNormal.cov_factor")?;
        let factor = w * scale.reshape(&[n, 1])?;
        Ok(Some(
            (factor.square().sum_rightmost(1) + scale.square()).sqrt(),
        ))
    }
}
