//! The Cauchy distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::{DistError, Distribution, check_value, require};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::f64::consts::PI;

/// Standard Cauchy noise `tan(π (u - ½))` of `shape` on the device of `like`.
pub(crate) fn cauchy_noise(shape: &[usize], like: &DTensor) -> DTensor {
    let n = shape.iter().product();
    let v = crate::rng::uniforms(n)
        .into_iter()
        .map(|u| (PI * (u as f64 - 0.5)).tan() as f32)
        .collect();
    DTensor::from_floats(v, shape, &like.device()).expect("noise has the shape it was drawn for")
}

batched_params! {
    /// Cauchy(loc, scale), reparameterisable: density `1 / (π scale (1 + ((x - loc)/scale)²))`.
    /// Its mean is undefined and its variance infinite.
    Cauchy {
        /// Location (median).
        loc,
        /// Scale, the half width at half maximum (> 0).
        scale,
    }
}

impl Cauchy {
    /// A Cauchy with location `loc` and scale `scale` (shapes broadcast).
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        Self::from_params(loc.into(), scale.into())
    }
}

impl Distribution for Cauchy {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    batched_boilerplate!(Cauchy);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Cauchy has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let eps = cauchy_noise(&self.batch, &self.loc);
        Ok(&self.loc + &self.scale * &eps)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let z = (value - &self.loc) / &self.scale;
        Ok(-(z.square().log1p() + self.scale.log() + PI.ln()))
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Cauchy",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(self.loc.all_finite(), "Cauchy", "loc", "finite", &self.loc)
    }
    fn entropy(&self) -> Option<DTensor> {
        // ln(4π scale)
        (self.scale.log() + (4.0 * PI).ln())
            .expand(&self.batch)
            .ok()
    }
}
