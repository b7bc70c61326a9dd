//! The multivariate Normal distribution, parameterised by a Cholesky factor.

use super::{DistError, Distribution, check_expand, check_value, normal_noise, require};
use crate::constraints::Constraint;
use crate::shape::broadcast_shapes;
use crate::tensor::DTensor;
use burn::prelude::Tensor;
use burn::tensor::TensorData;
use std::any::Any;
use std::sync::Arc;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// MultivariateNormal(loc, scale_tril): `loc + L ε` for `ε ~ Normal(0, I)`, covariance
/// `L Lᵀ`, reparameterisable. `loc` has shape `batch + [D]` (event shape `[D]`) and
/// `scale_tril` shape `batch + [D, D]`, a lower-triangular matrix with a positive diagonal
/// (torch's `lower_cholesky`); their batch shapes broadcast.
#[derive(Clone, Debug)]
pub struct MultivariateNormal {
    /// Mean, shape `batch + [D]`.
    pub loc: DTensor,
    /// Lower Cholesky factor of the covariance, shape `batch + [D, D]`.
    pub scale_tril: DTensor,
    batch: Vec<usize>,
    pub(crate) dim: usize,
}

fn bad_shape(param: &'static str, constraint: &'static str, t: &DTensor) -> DistError {
    DistError::InvalidParameter {
        dist: "MultivariateNormal",
        param,
        constraint,
        found: format!("shape {}", t.dims()),
    }
}

impl MultivariateNormal {
    /// A MultivariateNormal with mean `loc` (`batch + [D]`) and Cholesky factor `scale_tril`
    /// (`batch + [D, D]`).
    pub fn new(loc: impl Into<DTensor>, scale_tril: impl Into<DTensor>) -> Result<Self, DistError> {
        let (loc, scale_tril) = (loc.into(), scale_tril.into());
        if loc.rank() == 0 {
            return Err(bad_shape("loc", "a tensor with at least one dim", &loc));
        }
        let (lr, sr) = (loc.rank(), scale_tril.rank());
        let dim = loc.shape()[lr - 1];
        if sr < 2 || scale_tril.shape()[sr - 1] != dim || scale_tril.shape()[sr - 2] != dim {
            return Err(bad_shape(
                "scale_tril",
                "a batch of D x D matrices, D the last dim of loc",
                &scale_tril,
            ));
        }
        let batch = broadcast_shapes(&loc.shape()[..lr - 1], &scale_tril.shape()[..sr - 2])
            .map_err(|source| DistError::ParamShapes {
                dist: "MultivariateNormal",
                source,
            })?;
        Ok(MultivariateNormal {
            loc,
            scale_tril,
            batch,
            dim,
        })
    }
    /// A MultivariateNormal with mean `loc` (`batch + [D]`) and covariance
    /// `covariance_matrix` (`batch + [D, D]`, symmetric positive definite), as torch's
    /// `covariance_matrix=` argument: the Cholesky factor is computed in tensor ops, so
    /// gradients reach the covariance. A matrix that is not symmetric, or whose factorisation
    /// breaks down (not positive definite), is an error naming `covariance_matrix`.
    pub fn from_covariance_matrix(
        loc: impl Into<DTensor>,
        covariance_matrix: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let cov = covariance_matrix.into();
        let r = cov.rank();
        if r < 2 || cov.shape()[r - 1] != cov.shape()[r - 2] {
            return Err(bad_shape(
                "covariance_matrix",
                "a batch of D x D matrices",
                &cov,
            ));
        }
        let d = cov.shape()[r - 1];
        let b: usize = cov.shape()[..r - 2].iter().product();
        let a: Tensor<3> = cov.reshape(&[b, d, d])?.to_tensor()?;
        let asym = DTensor::from_tensor(a.clone() - a.clone().swap_dims(1, 2)).abs();
        let tol = 1e-6 * f64::from(cov.abs().max_value()).max(1.0);
        require(
            asym.all_le(tol),
            "MultivariateNormal",
            "covariance_matrix",
            "symmetric",
            &asym,
        )?;
        let l = DTensor::from_tensor(cholesky(a)).reshape(cov.shape())?;
        let mvn = Self::new(loc, l)?;
        let diag = mvn.diag();
        require(
            diag.all_finite() && diag.all_gt(0.0),
            "MultivariateNormal",
            "covariance_matrix",
            "positive definite",
            &diag,
        )?;
        Ok(mvn)
    }
    /// The diagonal of `scale_tril`, shape `batch' + [D]`.
    pub(crate) fn diag(&self) -> DTensor {
        let d = self.dim;
        let eye: Vec<f32> = (0..d * d)
            .map(|i| if i / d == i % d { 1.0 } else { 0.0 })
            .collect();
        let eye =
            DTensor::from_floats(eye, &[d, d], &self.scale_tril.device()).expect("d*d values");
        (&self.scale_tril * &eye).sum_rightmost(1)
    }
    /// The mean, `loc` broadcast to `batch + [D]`.
    pub fn mean(&self) -> DTensor {
        self.loc
            .expand(&[&self.batch[..], &[self.dim]].concat())
            .expect("batch shape broadcasts")
    }
    /// The marginal variances, the diagonal of `L Lᵀ` (row sums of `L²`), `batch + [D]`.
    pub fn variance(&self) -> DTensor {
        self.scale_tril
            .square()
            .sum_rightmost(1)
            .expand(&[&self.batch[..], &[self.dim]].concat())
            .expect("batch shape broadcasts")
    }
    /// The covariance matrix `L Lᵀ`, shape `batch + [D, D]`.
    pub fn covariance_matrix(&self) -> Result<DTensor, DistError> {
        let d = self.dim;
        let full = [&self.batch[..], &[d, d]].concat();
        let b: usize = self.batch.iter().product();
        let l: Tensor<3> = self
            .scale_tril
            .expand(&full)?
            .reshape(&[b, d, d])?
            .to_tensor()?;
        let cov = l.clone().matmul(l.swap_dims(1, 2));
        Ok(DTensor::from_tensor(cov).reshape(&full)?)
    }
}

/// The lower Cholesky factor of symmetric positive-definite matrices `a` (`[B, D, D]`), column
/// by column in tensor ops (Cholesky–Crout), so gradients flow into `a`. A non-positive pivot
/// gives NaN entries.
fn cholesky(a: Tensor<3>) -> Tensor<3> {
    let [b, d, _] = a.dims();
    let device = a.device();
    let mut cols: Vec<Tensor<2>> = Vec::with_capacity(d);
    for j in 0..d {
        // v = A[:, :, j] - Σ_{k<j} L[:, :, k] L[:, j, k]
        let mut v = a.clone().narrow(2, j, 1).reshape([b, d]);
        for c in &cols {
            v = v - c.clone() * c.clone().narrow(1, j, 1);
        }
        let pivot = v.clone().narrow(1, j, 1).sqrt();
        let below: Vec<f32> = (0..d).map(|i| if i >= j { 1.0 } else { 0.0 }).collect();
        let mask = Tensor::<2>::from_data(TensorData::new(below, [1, d]), &device);
        cols.push(v / pivot * mask);
    }
    Tensor::stack(cols, 2)
}

/// Solves `L z = y` for lower-triangular `L` (`[B, D, D]`) and `y` (`[B, D]`) by forward
/// substitution in tensor ops, so gradients flow into both.
pub(crate) fn solve_lower(l: Tensor<3>, y: Tensor<2>) -> Tensor<2> {
    let [b, d, _] = l.dims();
    let mut cols: Vec<Tensor<2>> = Vec::with_capacity(d);
    for i in 0..d {
        let row = l.clone().narrow(1, i, 1).reshape([b, d]);
        let mut rhs = y.clone().narrow(1, i, 1);
        if i > 0 {
            let prev = Tensor::cat(cols.clone(), 1);
            rhs = rhs - (row.clone().narrow(1, 0, i) * prev).sum_dim(1);
        }
        cols.push(rhs / row.narrow(1, i, 1));
    }
    Tensor::cat(cols, 1)
}

impl Distribution for MultivariateNormal {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    fn name(&self) -> String {
        "MultivariateNormal".into()
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
            .expect("MultivariateNormal has rsample")
            .detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let d = self.dim;
        let eps = normal_noise(&[&self.batch[..], &[1, d]].concat(), &self.loc);
        // (L ε)_i = Σ_j L_ij ε_j: broadcast ε along the rows, sum along the last dim.
        let le = (&self.scale_tril * &eps).sum_rightmost(1);
        Ok(&self.loc + le)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        let vb = check_value(self, value)?;
        let d = self.dim;
        let b: usize = vb.iter().product();
        let diff: Tensor<2> = (value - &self.loc)
            .expand(&[&vb[..], &[d]].concat())?
            .reshape(&[b, d])?
            .to_tensor()?;
        let l: Tensor<3> = self
            .scale_tril
            .expand(&[&vb[..], &[d, d]].concat())?
            .reshape(&[b, d, d])?
            .to_tensor()?;
        let z = solve_lower(l, diff);
        let maha = DTensor::from_tensor(z.square().sum_dim(1)).reshape(&vb)?;
        let half_log_det = self.diag().log().sum_rightmost(1);
        Ok(-0.5 * maha - half_log_det - d as f64 * HALF_LN_2PI)
    }
    fn validate(&self) -> Result<(), DistError> {
        let l = &self.scale_tril;
        let t: Tensor<6> = l.to_tensor()?;
        let upper = DTensor::from_tensor(t.triu(1));
        require(
            upper.all_eq(0.0),
            "MultivariateNormal",
            "scale_tril",
            "lower triangular",
            &upper,
        )?;
        let diag = self.diag();
        require(
            diag.all_gt(0.0),
            "MultivariateNormal",
            "scale_tril",
            "lower triangular with a positive diagonal",
            &diag,
        )?;
        require(
            self.loc.all_finite(),
            "MultivariateNormal",
            "loc",
            "finite",
            &self.loc,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        let d = self.dim;
        Ok(Arc::new(MultivariateNormal::new(
            self.loc.expand(&[batch, &[d]].concat())?,
            self.scale_tril.expand(&[batch, &[d, d]].concat())?,
        )?))
    }
    fn entropy(&self) -> Option<DTensor> {
        // D/2 (1 + ln 2π) + Σ ln L_ii
        (self.diag().log().sum_rightmost(1) + self.dim as f64 * (0.5 + HALF_LN_2PI))
            .expand(&self.batch)
            .ok()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
