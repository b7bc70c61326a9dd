//! The multivariate Normal with a low-rank-plus-diagonal covariance.

use super::{
    DistError, Distribution, MultivariateNormal, check_expand, check_value, normal_noise, require,
};
use crate::constraints::Constraint;
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use std::any::Any;
use std::sync::Arc;

/// LowRankMultivariateNormal(loc, cov_factor, cov_diag): covariance `W Wᵀ + diag(d)` with
/// `W` of shape `batch + [D, R]` (torch's), reparameterisable. Drawing costs `O(D R)`; the
/// density is the full MultivariateNormal's (its `D × D` Cholesky factor, computed in tensor
/// ops), which suits the `D` of a model's latents.
#[derive(Clone, Debug)]
pub struct LowRankMultivariateNormal {
    /// Mean, `batch + [D]`.
    pub loc: DTensor,
    /// `W`, `batch + [D, R]`.
    pub cov_factor: DTensor,
    /// `d` (> 0), `batch + [D]`.
    pub cov_diag: DTensor,
    batch: Vec<usize>,
    dim: usize,
    rank: usize,
}

fn bad(param: &'static str, constraint: &'static str, t: &DTensor) -> DistError {
    DistError::InvalidParameter {
        dist: "LowRankMultivariateNormal",
        param,
        constraint,
        found: format!("shape {}", t.dims()),
    }
}

impl LowRankMultivariateNormal {
    /// Mean `loc` (`batch + [D]`), factor `cov_factor` (`batch + [D, R]`) and diagonal
    /// `cov_diag` (`batch + [D]`).
    pub fn new(
        loc: impl Into<DTensor>,
        cov_factor: impl Into<DTensor>,
        cov_diag: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let (loc, cov_factor, cov_diag) = (loc.into(), cov_factor.into(), cov_diag.into());
        if loc.rank() == 0 {
            return Err(bad("loc", "a tensor with at least one dim", &loc));
        }
        let dim = loc.shape()[loc.rank() - 1];
        let fr = cov_factor.rank();
        if fr < 2 || cov_factor.shape()[fr - 2] != dim {
            return Err(bad(
                "cov_factor",
                "a batch of D x R matrices, D the last dim of loc",
                &cov_factor,
            ));
        }
        if cov_diag.rank() == 0 || cov_diag.shape()[cov_diag.rank() - 1] != dim {
            return Err(bad(
                "cov_diag",
                "a batch of D-vectors, D the last dim of loc",
                &cov_diag,
            ));
        }
        let rank = cov_factor.shape()[fr - 1];
        let shapes = [
            &loc.shape()[..loc.rank() - 1],
            &cov_factor.shape()[..fr - 2],
            &cov_diag.shape()[..cov_diag.rank() - 1],
        ];
        let param_shapes = |source| DistError::ParamShapes {
            dist: "LowRankMultivariateNormal",
            source,
        };
        let batch = broadcast_shapes(shapes[0], shapes[1])
            .and_then(|b| broadcast_shapes(&b, shapes[2]))
            .map_err(param_shapes)?;
        Ok(LowRankMultivariateNormal {
            loc,
            cov_factor,
            cov_diag,
            batch,
            dim,
            rank,
        })
    }

    /// `W Wᵀ + diag(d)`, `batch + [D, D]`.
    pub fn covariance_matrix(&self) -> Result<DTensor, DistError> {
        let (d, r) = (self.dim, self.rank);
        let b: usize = self.batch.iter().product();
        let w: Tensor<3> = self
            .cov_factor
            .expand(&[&self.batch[..], &[d, r]].concat())?
            .reshape(&[b, d, r])?
            .to_tensor()?;
        let ww = DTensor::from_tensor(w.clone().matmul(w.swap_dims(1, 2)));
        let eye: Vec<f32> = (0..d * d)
            .map(|i| if i / d == i % d { 1.0 } else { 0.0 })
            .collect();
        let eye = DTensor::from_floats(eye, &[d, d], &self.loc.device())?;
        let diag = self
            .cov_diag
            .expand(&[&self.batch[..], &[d]].concat())?
            .reshape(&[b, d, 1])?;
        Ok((ww + diag * eye).reshape(&[&self.batch[..], &[d, d]].concat())?)
    }

    fn full(&self) -> Result<MultivariateNormal, DistError> {
        MultivariateNormal::from_covariance_matrix(self.loc.clone(), self.covariance_matrix()?)
    }
}

impl Distribution for LowRankMultivariateNormal {
    fn name(&self) -> String {
        "LowRankMultivariateNormal".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.dim]
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample()
            .expect("LowRankMultivariateNormal has rsample")
            .detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // loc + W ε_R + sqrt(d) ε_D.
        let eps_r = normal_noise(&[&self.batch[..], &[1, self.rank]].concat(), &self.loc);
        let eps_d = normal_noise(&[&self.batch[..], &[self.dim]].concat(), &self.loc);
        Ok(&self.loc + (&self.cov_factor * eps_r).sum_rightmost(1) + self.cov_diag.sqrt() * eps_d)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        self.full()?.log_prob(value)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.cov_diag.all_gt(0.0),
            "LowRankMultivariateNormal",
            "cov_diag",
            "positive",
            &self.cov_diag,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let (d, r) = (self.dim, self.rank);
        Ok(Arc::new(Self::new(
            self.loc.expand(&[batch, &[d]].concat())?,
            self.cov_factor.expand(&[batch, &[d, r]].concat())?,
            self.cov_diag.expand(&[batch, &[d]].concat())?,
        )?))
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
