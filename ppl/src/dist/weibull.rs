//! The Weibull distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require, support, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// Weibull(scale, concentration) (torch's argument order): density
    /// `(k/λ) (x/λ)^(k-1) e^(-(x/λ)^k)` on `x > 0`, reparameterisable.
    Weibull {
        /// Scale λ (> 0).
        scale,
        /// Concentration (shape) k (> 0).
        concentration,
    }
}

impl Weibull {
    /// A Weibull with scale `scale` and concentration `concentration`.
    pub fn new(
        scale: impl Into<DTensor>,
        concentration: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(scale.into(), concentration.into())
    }
}

impl Distribution for Weibull {
    batched_boilerplate!(Weibull);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Weibull has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // x = λ (-ln(1 - u))^(1/k).
        let u = uniform_noise(&self.batch, &self.scale).clamp(0.0, 1.0 - 1e-7);
        let e = -(1.0 - u).log();
        Ok(&self.scale * (e.log() / &self.concentration).exp())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (k, lambda) = (&self.concentration, &self.scale);
        let log_z = value.log() - lambda.log();
        Ok(k.log() - lambda.log() + (k - 1.0) * &log_z - (k * &log_z).exp())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Weibull",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(
            self.concentration.all_gt(0.0),
            "Weibull",
            "concentration",
            "positive",
            &self.concentration,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_gt(0.0), self, "positive reals", value)
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
}
