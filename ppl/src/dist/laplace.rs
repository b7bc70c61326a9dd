//! The Laplace distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require, uniform_noise};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// Laplace(loc, scale), reparameterisable.
    Laplace {
        /// Location (median).
        loc,
        /// Scale (> 0).
        scale,
    }
}

impl Laplace {
    /// A Laplace with location `loc` and scale `scale`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(loc.into(), scale.into())
    }
}

impl Distribution for Laplace {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    batched_boilerplate!(Laplace);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Laplace has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // u ~ U(-1, 1) (kept off the end points); x = loc - scale * sign(u) * ln(1 - |u|).
        let u = (uniform_noise(&self.batch, &self.loc) * 2.0 - 1.0).clamp(-1.0 + 1e-7, 1.0 - 1e-7);
        let mag = (1.0 - u.abs()).log();
        Ok(&self.loc - &self.scale * u.sign() * mag)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let dev = (value - &self.loc).abs() / &self.scale;
        Ok(-dev - (&self.scale * 2.0).log())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Laplace",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn entropy(&self) -> Option<DTensor> {
        ((&self.scale * 2.0).log() + 1.0).expand(&self.batch).ok()
    }
}
