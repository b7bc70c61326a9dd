//! The logistic distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// Logistic(loc, scale): density `e^(-z) / (scale (1 + e^(-z))²)` with
    /// `z = (x - loc) / scale`, reparameterisable (Pyro's `Logistic`).
    Logistic {
        /// Location (mean and median).
        loc,
        /// Scale (> 0).
        scale,
    }
}

impl Logistic {
    /// A logistic distribution with location `loc` and scale `scale`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(loc.into(), scale.into())
    }
}

impl Distribution for Logistic {
    batched_boilerplate!(Logistic);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Logistic has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // x = loc + scale logit(u).
        let u = uniform_noise(&self.batch, &self.loc).clamp(1e-7, 1.0 - 1e-7);
        Ok(&self.loc + &self.scale * (u.log() - (1.0 - &u).log()))
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let z = (value - &self.loc) / &self.scale;
        // -z - 2 ln(1 + e^(-z)), written with softplus so it holds for large |z|.
        Ok(-&z - (-&z).softplus() * 2.0 - self.scale.log())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Logistic",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn entropy(&self) -> Option<DTensor> {
        (self.scale.log() + 2.0).expand(&self.batch).ok()
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
}
