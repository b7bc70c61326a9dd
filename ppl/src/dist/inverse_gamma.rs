//! The inverse-Gamma distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::special::standard_gamma_rsample;
use super::{DistError, Distribution, Gamma, check_value, require, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// InverseGamma(concentration, rate): `1/X` for `X ~ Gamma(concentration, rate)`, density
    /// `β^α x^(-α-1) e^(-β/x) / Γ(α)` on `x > 0`, reparameterisable through the Gamma's
    /// implicit gradients (Pyro's `InverseGamma`).
    InverseGamma {
        /// Shape α (> 0).
        concentration,
        /// Rate β (> 0) of the Gamma it inverts (the inverse-Gamma's scale).
        rate,
    }
}

impl InverseGamma {
    /// An inverse-Gamma with shape `concentration` and scale `rate`.
    pub fn new(
        concentration: impl Into<DTensor>,
        rate: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(concentration.into(), rate.into())
    }
}

impl Distribution for InverseGamma {
    batched_boilerplate!(InverseGamma);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        // 1 / Gamma(α, rate β).
        let gamma = Gamma::new(self.concentration.detach(), self.rate.detach())
            .expect("the parameters broadcast, as checked when built");
        gamma.sample().recip()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let a = self.concentration.expand(&self.batch)?;
        Ok(&self.rate / standard_gamma_rsample(&a))
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (a, b) = (&self.concentration, &self.rate);
        Ok(a * b.log() - a.lgamma() - (a + 1.0) * value.log() - b / value)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "InverseGamma",
            "concentration",
            "positive",
            &self.concentration,
        )?;
        require(
            self.rate.all_gt(0.0),
            "InverseGamma",
            "rate",
            "positive",
            &self.rate,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_gt(0.0), self, "positive reals", value)
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
}
