//! The Pareto distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require, support, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// Pareto(scale, alpha): density `α s^α / x^(α+1)` on `x ≥ s`, reparameterisable
    /// (torch's `Pareto`).
    Pareto {
        /// Scale s (> 0): the smallest value.
        scale,
        /// Shape α (> 0): the tail index.
        alpha,
    }
}

impl Pareto {
    /// A Pareto with scale `scale` and tail index `alpha`.
    pub fn new(scale: impl Into<DTensor>, alpha: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(scale.into(), alpha.into())
    }
}

impl Distribution for Pareto {
    batched_boilerplate!(Pareto);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Pareto has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // x = s u^(-1/α), u ~ U(0, 1] (an Exponential(α) pushed through s e^y).
        let u = (1.0 - uniform_noise(&self.batch, &self.scale)).clamp(1e-7, 1.0);
        Ok(&self.scale * (-u.log() / &self.alpha).exp())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let a = &self.alpha;
        Ok(a.log() + a * self.scale.log() - (a + 1.0) * value.log())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Pareto",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(
            self.alpha.all_gt(0.0),
            "Pareto",
            "alpha",
            "positive",
            &self.alpha,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        let above = (value - &self.scale).all_ge(0.0);
        support(above, self, "x >= scale", value)
    }
    fn entropy(&self) -> Option<DTensor> {
        let a = &self.alpha;
        ((&self.scale / a).log() + a.recip() + 1.0)
            .expand(&self.batch)
            .ok()
    }
    fn support(&self) -> Option<Constraint> {
        // The support's lower end is a parameter: a bijection exists when it is one number.
        let (lo, hi) = (self.scale.min_value(), self.scale.max_value());
        (lo == hi).then_some(Constraint::GreaterThan { lower: lo })
    }
}
