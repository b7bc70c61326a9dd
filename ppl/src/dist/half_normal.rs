//! The HalfNormal distribution: `|X|` for `X ~ Normal(0, scale)`.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, normal_noise, require, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

batched_params! {
    /// HalfNormal(scale) on `[0, ∞)`, reparameterisable: density `2 N(x; 0, scale)` for
    /// `x >= 0`.
    HalfNormal {
        /// Scale of the underlying Normal (> 0).
        scale,
    }
}

impl HalfNormal {
    /// A HalfNormal folding `Normal(0, scale)`.
    pub fn new(scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(scale.into())
    }
    /// The mean, `scale √(2/π)`.
    pub fn mean(&self) -> DTensor {
        &self.scale * (2.0 / std::f64::consts::PI).sqrt()
    }
    /// The variance, `scale² (1 - 2/π)`.
    pub fn variance(&self) -> DTensor {
        self.scale.square() * (1.0 - 2.0 / std::f64::consts::PI)
    }
}

impl Distribution for HalfNormal {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
    batched_boilerplate!(HalfNormal);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("HalfNormal has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let eps = normal_noise(self.scale.shape(), &self.scale);
        Ok((&self.scale * &eps).abs())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // As torch: Normal(0, scale).log_prob(x) + ln 2, and -inf below zero.
        let lp = -0.5 * (value / &self.scale).square() - self.scale.log()
            + (std::f64::consts::LN_2 - HALF_LN_2PI);
        Ok(lp.where_zero(&value.ge_scalar(0.0), f64::NEG_INFINITY))
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "HalfNormal",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_ge(0.0), self, "non-negative reals", value)
    }
    fn entropy(&self) -> Option<DTensor> {
        // ½ ln(π σ² / 2) + ½
        Some(self.scale.log() + (0.5 * (std::f64::consts::PI / 2.0).ln() + 0.5))
    }
}
