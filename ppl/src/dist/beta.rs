//! The Beta distribution.

use super::gamma::gamma_draws;
use super::special::standard_gamma_rsample;
use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, support,
};
use crate::constraints::Constraint;
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Beta(concentration1 = α, concentration0 = β) on `(0, 1)`.
///
/// Reparameterisable: [`Distribution::rsample`] is `X / (X + Y)` with `X ~ Gamma(α, 1)` and
/// `Y ~ Gamma(β, 1)` drawn with implicit reparameterisation gradients (see [`super::Gamma`]),
/// so the pathwise gradient reaches both concentrations. (torch differentiates its Beta draw
/// through the Beta CDF directly, `_dirichlet_grad`; both estimators are unbiased.)
#[derive(Clone, Debug)]
pub struct Beta {
    /// α (> 0), the exponent of `x`.
    pub concentration1: DTensor,
    /// β (> 0), the exponent of `1 - x`.
    pub concentration0: DTensor,
    batch: Vec<usize>,
}

impl Beta {
    /// A Beta(α, β).
    pub fn new(
        concentration1: impl Into<DTensor>,
        concentration0: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        let (c1, c0) = (concentration1.into(), concentration0.into());
        let batch = broadcast_params("Beta", &[&c1, &c0])?;
        Ok(Beta {
            concentration1: c1,
            concentration0: c0,
            batch,
        })
    }
}

impl Distribution for Beta {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::UnitInterval)
    }
    fn name(&self) -> String {
        "Beta".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let x = standard_gamma_rsample(&self.concentration1.expand(&self.batch)?);
        let y = standard_gamma_rsample(&self.concentration0.expand(&self.batch)?);
        // Kept inside (0, 1) in floating point, as torch clamps its Beta draws.
        Ok((&x / (&x + &y)).clamp(f32::MIN_POSITIVE as f64, 1.0 - f32::EPSILON as f64 / 2.0))
    }
    fn sample(&self) -> DTensor {
        // X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β).
        let a = self
            .concentration1
            .expand(&self.batch)
            .expect("batch broadcasts");
        let b = self
            .concentration0
            .expand(&self.batch)
            .expect("batch broadcasts");
        let x = gamma_draws(&a.to_vec());
        let y = gamma_draws(&b.to_vec());
        let v: Vec<f32> = x.iter().zip(&y).map(|(x, y)| x / (x + y)).collect();
        DTensor::from_floats(v, &self.batch, &a.device()).expect("one draw per element")
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let (a, b) = (&self.concentration1, &self.concentration0);
        let lbeta = a.lgamma() + b.lgamma() - (a + b).lgamma();
        Ok((a - 1.0) * value.log() + (b - 1.0) * (-value).log1p() - lbeta)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.concentration1.all_gt(0.0),
            "Beta",
            "concentration1",
            "positive",
            &self.concentration1,
        )?;
        require(
            self.concentration0.all_gt(0.0),
            "Beta",
            "concentration0",
            "positive",
            &self.concentration0,
        )
    }
    fn check_support(&self, value: &DTensor) -> Result<(), DistError> {
        support(
            value.all_gt(0.0) && value.lt_scalar(1.0).all_eq(1.0),
            self,
            "(0, 1)",
            value,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Beta::new(
            self.concentration1.expand(batch)?,
            self.concentration0.expand(batch)?,
        )?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
