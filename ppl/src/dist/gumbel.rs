//! The Gumbel (type-I extreme value) distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

/// The Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

batched_params! {
    /// Gumbel(loc, scale): density `exp(-(z + e^(-z))) / scale` with `z = (x - loc) / scale`,
    /// reparameterisable (torch's `Gumbel`).
    Gumbel {
        /// Location (the mode).
        loc,
        /// Scale (> 0).
        scale,
    }
}

impl Gumbel {
    /// A Gumbel with location `loc` and scale `scale`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(loc.into(), scale.into())
    }
}

impl Distribution for Gumbel {
    batched_boilerplate!(Gumbel);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Gumbel has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // x = loc - scale ln(-ln u), u ~ U(0, 1) kept off the end points.
        let u = uniform_noise(&self.batch, &self.loc).clamp(1e-7, 1.0 - 1e-7);
        Ok(&self.loc - &self.scale * (-u.log()).log())
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let z = (value - &self.loc) / &self.scale;
        Ok(-(&z + (-&z).exp()) - self.scale.log())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Gumbel",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn entropy(&self) -> Option<DTensor> {
        (self.scale.log() + 1.0 + EULER_GAMMA)
            .expand(&self.batch)
            .ok()
    }
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
}
