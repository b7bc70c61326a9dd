//! `AutoLaplaceApproximation`: a MAP point over all latent sites packed into one
//! unconstrained vector, then a Gaussian at it whose covariance is the inverse Hessian of the
//! negative log joint there (Pyro's `pyro.infer.autoguide.AutoLaplaceApproximation`).

use super::continuous::{AutoContinuous, Posterior};
use super::multivariate_normal::AutoMultivariateNormal;
use crate::constraints::Constraint;
use crate::dist::{Delta, Distribution};
use crate::error::{PplError, Result};
use crate::infer::init::InitLoc;
use crate::infer::mcmc::adapt::cholesky;
use crate::infer::mcmc::potential::Potential;
use crate::params::with_active_store;
use crate::primitives::get_param;
use crate::tensor::DTensor;
use std::sync::Arc;

/// Pyro's `AutoLaplaceApproximation(model)`: train it with `Svi` like
/// [`AutoDelta`](super::AutoDelta) (its parameter `AutoLaplaceApproximation.loc` is the
/// packed MAP point in unconstrained space), then call
/// [`laplace_approximation`](AutoContinuous::laplace_approximation) for an
/// [`AutoMultivariateNormal`] centred there with covariance `H⁻¹`, `H` the Hessian of
/// `-log p(x, T(u)) - log|det J_T(u)|` at the point.
///
/// The Hessian is taken by central differences of the autodiff gradient (burn has no
/// second-order autodiff): `2N` gradient evaluations, accurate to about `10⁻⁴` relative in
/// f32; Pyro differentiates twice.
pub type AutoLaplaceApproximation<M> = AutoContinuous<M, MapPoint>;

/// The "posterior" of [`AutoLaplaceApproximation`] while it trains: a point at `loc`.
#[derive(Debug)]
pub struct MapPoint;

impl Posterior for MapPoint {
    const NAME: &'static str = "AutoLaplaceApproximation";

    fn posterior(
        loc: DTensor,
        _init_scale: f64,
        _rank: Option<usize>,
    ) -> Result<Arc<dyn Distribution>> {
        let q = Delta::new(loc, 1)
            .map_err(|e| PplError::at_site("_AutoLaplaceApproximation_latent", e))?;
        Ok(Arc::new(q))
    }
    fn marginal_scale(_n: usize) -> Result<Option<DTensor>> {
        Ok(None)
    }
}

impl<M: Clone> AutoContinuous<M, MapPoint> {
    /// The Laplace approximation at the current MAP point (Pyro's
    /// `laplace_guide.laplace_approximation(*args)`): writes `AutoMultivariateNormal.loc`,
    /// `.scale` and `.scale_tril` into the active parameter store and returns that guide.
    /// Fails, naming the guide, where the Hessian is not positive definite (not a maximum).
    pub fn laplace_approximation<A: ?Sized, R>(&self, args: &A) -> Result<AutoMultivariateNormal<M>>
    where
        M: Fn(&A) -> Result<R>,
    {
        let fail = |reason: String| PplError::Autoguide {
            guide: "AutoLaplaceApproximation",
            site: "AutoLaplaceApproximation.loc".into(),
            reason,
        };
        let loc: DTensor = get_param("AutoLaplaceApproximation.loc").map_err(|_| {
            fail("not trained yet: run the guide (Svi) before the approximation".into())
        })?;
        let model = self.model.clone();
        let values = self.median()?.into_iter().collect();
        let (potential, _) = Potential::new(&model, args, &InitLoc::value(values))?;
        let z: Vec<f64> = loc.to_vec().into_iter().map(f64::from).collect();
        let n = z.len();
        if potential.dim() != n {
            return Err(fail(format!(
                "{} coordinates in the model, {n} in loc",
                potential.dim()
            )));
        }
        let mut hessian = vec![0.0; n * n];
        for j in 0..n {
            let h = 1e-2 * z[j].abs().max(1.0);
            let mut up = z.clone();
            let mut down = z.clone();
            up[j] += h;
            down[j] -= h;
            let (_, gu) = potential.value_and_grad(&up)?;
            let (_, gd) = potential.value_and_grad(&down)?;
            for i in 0..n {
                hessian[i * n + j] = (gu[i] - gd[i]) / (2.0 * h);
            }
        }
        for i in 0..n {
            for j in 0..i {
                let m = 0.5 * (hessian[i * n + j] + hessian[j * n + i]);
                (hessian[i * n + j], hessian[j * n + i]) = (m, m);
            }
        }
        let not_pd = || {
            fail(
                "the Hessian of the negative log joint is not positive definite at the point"
                    .into(),
            )
        };
        let lh = cholesky(&hessian, n).ok_or_else(not_pd)?;
        let cov = inverse_from_cholesky(&lh, n);
        let l = cholesky(&cov, n).ok_or_else(not_pd)?;
        let device = loc.device();
        let scale: Vec<f32> = (0..n).map(|i| l[i * n + i] as f32).collect();
        let unit: Vec<f32> = (0..n * n)
            .map(|k| (l[k] / l[(k / n) * n + k / n]) as f32)
            .collect();
        with_active_store(|s| {
            s.insert(
                "AutoMultivariateNormal.loc",
                &loc.detach(),
                Constraint::Real,
            )?;
            s.insert(
                "AutoMultivariateNormal.scale",
                &DTensor::from_floats(scale, &[n], &device)?,
                Constraint::SoftplusPositive,
            )?;
            s.insert(
                "AutoMultivariateNormal.scale_tril",
                &DTensor::from_floats(unit, &[n, n], &device)?,
                Constraint::UnitLowerCholesky,
            )
        })?;
        Ok(AutoMultivariateNormal::new(model))
    }
}

/// `A⁻¹` from the lower Cholesky factor `L` of `A` (`A⁻¹ = L⁻ᵀ L⁻¹`), row-major.
fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    // Columns of L⁻¹ by forward substitution, then L⁻ᵀ L⁻¹.
    let mut linv = vec![0.0; n * n];
    for c in 0..n {
        for i in c..n {
            let s: f64 = (c..i).map(|k| l[i * n + k] * linv[k * n + c]).sum();
            linv[i * n + c] = (if i == c { 1.0 } else { 0.0 } - s) / l[i * n + i];
        }
    }
    (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            (0..n).map(|m| linv[m * n + i] * linv[m * n + j]).sum()
        })
        .collect()
}
