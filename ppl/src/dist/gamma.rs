//! The Gamma distribution (shape-rate parameterisation, as torch), reparameterisable by
//! implicit reparameterisation gradients as `torch._standard_gamma`.

use super::batched::{batched_boilerplate, batched_params};
use super::special::standard_gamma_rsample;
use super::{DistError, Distribution, check_value, require, support};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use rand_distr::Distribution as _;

batched_params! {
    /// Gamma(concentration, rate): density `β^α x^(α-1) e^(-βx) / Γ(α)` on `x > 0`.
    ///
    /// [`Distribution::rsample`] draws `x ~ Gamma(α, 1)` on the host and carries the implicit
    /// gradient `dx/dα` (Figurnov et al. 2018, as torch's `_standard_gamma_grad`) into `α`; the
    /// rate enters as `x / β`, an ordinary differentiable op.
    Gamma {
        /// Shape α (> 0).
        concentration,
        /// Rate β (> 0).
        rate,
    }
}

impl Gamma {
    /// A Gamma with shape `concentration` and `rate`.
    pub fn new(
        concentration: impl Into<DTensor>,
        rate: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(concentration.into(), rate.into())
    }
}

/// Host-side Gamma(α, 1) draws, one per element of `alpha`.
pub(crate) fn gamma_draws(alpha: &[f32]) -> Vec<f32> {
    crate::rng::with_rng(|r| {
        alpha
            .iter()
            .map(|&a| {
                rand_distr::Gamma::new(a as f64, 1.0)
                    .map(|g| g.sample(r) as f32)
                    .unwrap_or(f32::NAN)
            })
            .collect()
    })
}

impl Distribution for Gamma {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Positive)
    }
    batched_boilerplate!(Gamma);
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let a = self.concentration.expand(&self.batch)?;
        Ok(standard_gamma_rsample(&a) / &self.rate)
    }
    fn sample(&self) -> DTensor {
        let a = self
            .concentration
            .expand(&self.batch)
            .expect("batch shape broadcasts");
        let g = DTensor::from_floats(gamma_draws(&a.to_vec()), &self.batch, &a.device())
            .expect("one draw per element");
        g / self.rate.detach()
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let a = &self.concentration;
        Ok(a * self.rate.log() + (a - 1.0) * value.log() - &self.rate * value - a.lgamma())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration.all_gt(0.0),
            "Gamma",
            "concentration",
            "positive",
            &self.concentration,
        )?;
        require(
            self.rate.all_gt(0.0),
            "Gamma",
            "rate",
            "positive",
            &self.rate,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(value.all_gt(0.0), self, "positive reals", value)
    }
}
