//! The LKJ distribution over Cholesky factors of correlation matrices.

use super::{DistError, Distribution, check_expand, check_value, require};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use rand::Rng;
use rand_distr::{Distribution as _, StandardNormal};
use std::any::Any;
use std::f64::consts::PI;
use std::sync::Arc;

/// LKJCholesky(dim, concentration): lower Cholesky factors `L` of `dim × dim` correlation
/// matrices `L Lᵀ` with density proportional to `det(L Lᵀ)^(η - 1)` (Lewandowski, Kurowicka
/// & Joe 2009; torch's and NumPyro's `LKJCholesky`, event shape `[dim, dim]`). η = 1 is uniform over
/// correlation matrices; larger η concentrates on the identity. Drawn by the onion method.
#[derive(Clone, Debug)]
pub struct LkjCholesky {
    /// The matrices' size D (≥ 2).
    pub dim: usize,
    /// η (> 0), of the batch shape.
    pub concentration: DTensor,
}

impl LkjCholesky {
    /// LKJ over `dim × dim` correlation matrices with concentration `concentration`.
    pub fn new(dim: usize, concentration: impl Into<DTensor>) -> Result<Self, DistError> {
        if dim < 2 {
            return Err(DistError::InvalidParameter {
                dist: "LKJCholesky",
                param: "dim",
                constraint: "at least 2",
                found: dim.to_string(),
            });
        }
        Ok(LkjCholesky {
            dim,
            concentration: concentration.into(),
        })
    }
}

impl Distribution for LkjCholesky {
    fn name(&self) -> String {
        "LKJCholesky".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.concentration.shape().to_vec()
    }
    fn event_shape(&self) -> Vec<usize> {
        vec![self.dim, self.dim]
    }
    fn sample(&self) -> DTensor {
        let d = self.dim;
        let etas = self.concentration.to_vec();
        let v: Vec<f32> = crate::rng::with_rng(|r| {
            etas.iter()
                .flat_map(|&eta| onion(r, d, eta as f64))
                .collect()
        });
        let shape = [self.concentration.shape(), &[d, d]].concat();
        DTensor::from_floats(v, &shape, &self.concentration.device())
            .expect("d * d values per matrix")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let d = self.dim;
        let eta = &self.concentration;
        // Σ_{i=1}^{D-1} (2(η - 1) + D - 1 - i) ln L_ii (the diagonal after the first).
        let eye: Vec<f32> = (0..d * d)
            .map(|i| if i / d == i % d && i > 0 { 1.0 } else { 0.0 })
            .collect();
        let eye = DTensor::from_floats(eye, &[d, d], &value.device())?;
        let log_diag = (value * &eye + (1.0 - &eye)).log() * &eye; // ln L_ii on the diagonal, 0 off it
        let order: Vec<f32> = (0..d * d)
            .map(|i| (d as f32 - 1.0 - (i / d) as f32) * f32::from(i / d == i % d))
            .collect();
        let order = DTensor::from_floats(order, &[d, d], &value.device())?;
        let eta_m1 = (eta - 1.0).reshape(&[eta.shape(), &[1, 1]].concat())?;
        let unnormalised = ((eta_m1 * 2.0 * &eye + order) * log_diag).sum_rightmost(2);
        // The normaliser (torch's): π term + multivariate lgamma − lgamma.
        let dm1 = (d - 1) as f64;
        let alpha = eta + 0.5 * dm1;
        let mut mvlgamma = alpha.zeros_like() + dm1 * (dm1 - 1.0) / 4.0 * PI.ln();
        for j in 1..d {
            mvlgamma = mvlgamma + (&alpha - 0.5 + (1.0 - j as f64) / 2.0).lgamma();
        }
        let normaliser = mvlgamma - alpha.lgamma() * dm1 + 0.5 * dm1 * PI.ln();
        Ok(unnormalised - normaliser)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "LKJCholesky",
            "concentration",
            "positive",
            &self.concentration,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        super::support(
            Constraint::CorrCholesky.check(value),
            self,
            "corr_cholesky",
            value,
        )
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::CorrCholesky)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(LkjCholesky::new(
            self.dim,
            self.concentration.expand(batch)?,
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One `d × d` factor by the onion method (NumPyro's `LKJCholesky._onion`), row-major.
fn onion(r: &mut impl Rng, d: usize, eta: f64) -> Vec<f32> {
    let marginal = eta + 0.5 * (d as f64 - 2.0);
    let mut out = vec![0.0f32; d * d];
    out[0] = 1.0;
    for i in 1..d {
        // Row i: a uniform direction in its first i entries, of squared length
        // y ~ Beta(i/2, β - (i-1)/2) (the paper's §3.2 and NumPyro's; so that every
        // correlation's marginal is 2 Beta(β, β) - 1 with β = η + (D-2)/2).
        let offset = 0.5 * (i - 1) as f64;
        let y = rand_distr::Beta::new(offset + 0.5, marginal - offset)
            .map(|b| b.sample(r))
            .unwrap_or(0.5);
        let u: Vec<f64> = (0..i).map(|_| r.sample(StandardNormal)).collect();
        let norm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let mut sq = 0.0;
        for (j, x) in u.iter().enumerate() {
            let w = y.sqrt() * x / norm;
            sq += w * w;
            out[i * d + j] = w as f32;
        }
        out[i * d + i] = (1.0 - sq).max(1e-12).sqrt() as f32;
    }
    out
}
