//! `AutoMultivariateNormal`: one Normal with a full covariance over all latent sites packed
//! into a single unconstrained vector (Pyro's `pyro.infer.autoguide.AutoMultivariateNormal`).

use super::continuous::{AutoContinuous, Posterior};
use crate::constraints::Constraint;
use crate::dist::{Distribution, MultivariateNormal};
use crate::error::{PplError, Result};
use crate::primitives::{get_param, param_constrained};
use crate::tensor::DTensor;
use std::sync::Arc;

/// Pyro's `AutoMultivariateNormal(model, init_loc_fn=init_to_median, init_scale=0.1)`.
///
/// Parameters, as Pyro names and constrains them, for `N` packed coordinates:
/// `AutoMultivariateNormal.loc` (`[N]`), `AutoMultivariateNormal.scale` (`[N]`,
/// softplus-positive, initialised to `init_scale`) and `AutoMultivariateNormal.scale_tril`
/// (`[N, N]`, lower triangular with a unit diagonal, initialised to the identity). The
/// auxiliary site `_AutoMultivariateNormal_latent` is drawn from
/// `MultivariateNormal(loc, scale_tril = scale[:, None] * scale_tril)`, so the posterior's
/// correlations between sites are learnt. See [`AutoContinuous`].
pub type AutoMultivariateNormal<M> = AutoContinuous<M, FullRank>;

/// The posterior of [`AutoMultivariateNormal`]: a MultivariateNormal with a learnt Cholesky
/// factor.
#[derive(Debug)]
pub struct FullRank;

impl Posterior for FullRank {
    const NAME: &'static str = "AutoMultivariateNormal";

    fn posterior(
        loc: DTensor,
        init_scale: f64,
        _rank: Option<usize>,
    ) -> Result<Arc<dyn Distribution>> {
        let n = loc.numel();
        let device = loc.device();
        let scale: DTensor = param_constrained(
            "AutoMultivariateNormal.scale",
            DTensor::full(&[n], init_scale as f32, &device),
            Constraint::SoftplusPositive,
        )?;
        // The identity, built on the device (its diagonal band of a matrix of ones).
        let eye = DTensor::ones(&[n, n], &device).tril(0).triu(0);
        let tril: DTensor = param_constrained(
            "AutoMultivariateNormal.scale_tril",
            eye,
            Constraint::UnitLowerCholesky,
        )?;
        let scale_tril = scale.reshape(&[n, 1])?.mul(&tril);
        let q = MultivariateNormal::new(loc, scale_tril)
            .map_err(|e| PplError::at_site("_AutoMultivariateNormal_latent", e))?;
        Ok(Arc::new(q))
    }
    fn marginal_scale(n: usize) -> Result<Option<DTensor>> {
        // sqrt(diag(L Lᵀ)), L = scale[:, None] * scale_tril: row norms of L.
        let scale: DTensor = get_param("AutoMultivariateNormal.scale")?;
        let tril: DTensor = get_param("AutoMultivariateNormal.scale_tril")?;
        Ok(Some(
            (scale.reshape(&[n, 1])? * tril)
                .square()
                .sum_rightmost(1)
                .sqrt(),
        ))
    }
}
