//! The Normal distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, normal_noise, require};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

batched_params! {
    /// Normal(loc, scale), reparameterisable.
    Normal {
        /// Mean.
        loc,
        /// Standard deviation (> 0).
        scale,
    }
}

impl Normal {
    /// A Normal with mean `loc` and standard deviation `scale` (shapes broadcast).
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(loc.into(), scale.into())
    }
}

impl Distribution for Normal {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    batched_boilerplate!(Normal);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Normal has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let eps = normal_noise(&self.batch, &self.loc);
        Ok(&self.loc + &self.scale * &eps)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let z = (value - &self.loc) / &self.scale;
        Ok(-0.5 * z.square() - self.scale.log() - HALF_LN_2PI)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Normal",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(self.loc.all_finite(), "Normal", "loc", "finite", &self.loc)
    }
    fn entropy(&self) -> Option<DTensor> {
        (self.scale.log() + (0.5 + HALF_LN_2PI))
            .expand(&self.batch)
            .ok()
    }
}
