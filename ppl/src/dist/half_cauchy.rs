//! The HalfCauchy distribution: `|X|` for `X ~ Cauchy(0, scale)`.

use super::batched::{batched_boilerplate, batched_params};
use super::cauchy::cauchy_noise;
use super::{DistError, Distribution, check_value, require, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::f64::consts::{LN_2, PI};

batched_params! {
    /// HalfCauchy(scale) on `[0, ∞)`, reparameterisable: density `2 Cauchy(x; 0, scale)` for
    /// `x >= 0`. Its mean and variance are infinite.
    HalfCauchy {
        /// Scale of the underlying Cauchy (> 0).
        scale,
    }
}

impl HalfCauchy {
    /// A HalfCauchy folding `Cauchy(0, scale)`.
    pub fn new(scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(scale.into())
    }
}

impl Distribution for HalfCauchy {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
    batched_boilerplate!(HalfCauchy);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("HalfCauchy has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let eps = cauchy_noise(self.scale.shape(), &self.scale);
        Ok((&self.scale * &eps).abs())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        // As torch: Cauchy(0, scale).log_prob(x) + ln 2, and -inf below zero.
        let lp = -((value / &self.scale).square().log1p() + self.scale.log() + (PI.ln() - LN_2));
        Ok(lp.where_zero(&value.ge_scalar(0.0), f64::NEG_INFINITY))
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "HalfCauchy",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_ge(0.0), self, "non-negative reals", value)
    }
    fn entropy(&self) -> Option<DTensor> {
        // ln(2π scale)
        Some(self.scale.log() + (2.0 * PI).ln())
    }
}
